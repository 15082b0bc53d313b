//! The `ecoplan` command line, run as a separate process.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ecoplan::entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{Backend, TestApp, TestDatabase, both};

/// `ecoplan` with a clean environment: none of the caller's ECOPLAN_* settings leak in.
fn ecoplan(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecoplan"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ECOPLAN_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("DATABASE_URL", database_url)
        .env("ECOPLAN_LOG", "warn")
        .stdin(Stdio::null());
    command
}

/// Runs a command that must finish on its own, failing the test after a minute.
fn finish(mut command: Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ecoplan binary runs");
    wait_bounded(child, Duration::from_secs(60))
}

fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child
            .try_wait()
            .expect("the child can be waited for")
            .is_some()
        {
            return child.wait_with_output().expect("its output can be read");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("its output can be read");
            panic!(
                "ecoplan did not finish within {limit:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "ecoplan failed ({}): {}{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Refused at start-up: a non-zero exit and one line that names the setting, no panic.
#[track_caller]
fn assert_refused_naming(output: &Output, setting: &str) {
    assert!(
        !output.status.success(),
        "ecoplan started: {}",
        stderr(output)
    );
    let message = stderr(output);
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
    assert!(message.starts_with("ecoplan: "), "{message}");
    assert!(message.contains(setting), "names {setting}: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

async fn migrate_and_seed_prepare_an_empty_database_once(backend: Backend) {
    let database = TestDatabase::empty(backend).await;
    let url = database.url.clone();

    let output = tokio::task::spawn_blocking(move || {
        let mut outputs = Vec::new();
        for args in [&["migrate"][..], &["seed"], &["seed"]] {
            let mut command = ecoplan(&url);
            command.args(args);
            outputs.push(finish(command));
        }
        outputs
    })
    .await
    .unwrap();

    for step in &output {
        assert_success(step);
    }
    assert_eq!(stdout(&output[0]).trim(), "the database is up to date");
    assert_eq!(
        stdout(&output[1]).trim(),
        "loaded plan tangshan-2022 with 43 tasks"
    );
    assert_eq!(
        stdout(&output[2]).trim(),
        "plan tangshan-2022 is already loaded; nothing changed"
    );
}
both!(migrate_and_seed_prepare_an_empty_database_once);

async fn users_are_added_listed_and_deactivated_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.database_url();

    let run = |args: &'static [&'static str], password: Option<&'static str>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut command = ecoplan(&url);
            command.args(args);
            if let Some(password) = password {
                command.env("ECOPLAN_PASSWORD", password);
            }
            finish(command)
        })
    };

    let added = run(
        &[
            "user",
            "add",
            "--username",
            "finance-clerk",
            "--role",
            "department",
            "--department",
            "市财政局",
        ],
        Some("a password from the shell"),
    )
    .await
    .unwrap();
    assert_success(&added);
    assert_eq!(
        stdout(&added).trim(),
        "created user finance-clerk (DEPARTMENT)"
    );
    let row = user::Entity::find()
        .filter(user::Column::Username.eq("finance-clerk"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the user exists");
    assert_eq!(row.department_id, Some(app.department_id("finance").await));
    let token = app
        .login("finance-clerk", "a password from the shell")
        .await;

    let listed = run(&["user", "list"], None).await.unwrap();
    assert_success(&listed);
    let line = stdout(&listed)
        .lines()
        .find(|line| line.starts_with("finance-clerk\t"))
        .map(str::to_owned)
        .expect("the list shows the new user");
    assert!(line.contains("DEPARTMENT\tactive"), "{line}");

    let deactivated = run(&["user", "deactivate", "finance-clerk"], None)
        .await
        .unwrap();
    assert_success(&deactivated);
    assert_eq!(stdout(&deactivated).trim(), "deactivated finance-clerk");
    let listed = run(&["user", "list"], None).await.unwrap();
    assert!(
        stdout(&listed).contains("finance-clerk\tDEPARTMENT\tinactive"),
        "{}",
        stdout(&listed)
    );
    // The running server sees it at once.
    let response = app
        .graphql_as(&token, "{ plans { key } }", serde_json::json!({}))
        .await;
    crate::helpers::assert_error_code(&response, "UNAUTHENTICATED");

    let unknown_department = run(
        &[
            "user",
            "add",
            "--username",
            "ghost",
            "--role",
            "department",
            "--department",
            "市宇宙局",
        ],
        Some("a password from the shell"),
    )
    .await
    .unwrap();
    assert_refused_naming(&unknown_department, "市宇宙局");
}
both!(users_are_added_listed_and_deactivated_from_the_command_line);

#[test]
fn the_schema_command_prints_the_committed_schema() {
    let output = finish({
        let mut command = ecoplan("sqlite::memory:");
        command.arg("schema");
        command
    });
    assert_success(&output);
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql"))
            .expect("schema.graphql is committed");
    assert!(
        stdout(&output) == committed,
        "`ecoplan schema` differs from schema.graphql"
    );
}

#[test]
fn a_bad_address_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ecoplan.db", dir.path().display());
    let mut command = ecoplan(&url);
    command.arg("serve").env("ECOPLAN_ADDR", "nonsense");

    let output = finish(command);

    assert_refused_naming(&output, "ECOPLAN_ADDR");
    assert!(
        !dir.path().join("ecoplan.db").exists(),
        "nothing was created before the settings were checked"
    );
}

#[test]
fn demo_accounts_are_refused_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ecoplan.db", dir.path().display());
    let mut command = ecoplan(&url);
    command
        .args(["serve", "--demo", "--addr", "0.0.0.0:0"])
        .env("ECOPLAN_JWT_SECRET", "x".repeat(48));

    let output = finish(command);

    assert_refused_naming(&output, "--demo");
}

#[test]
fn a_public_address_needs_a_configured_signing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ecoplan.db", dir.path().display());
    let mut command = ecoplan(&url);
    command.args(["serve", "--addr", "0.0.0.0:0"]);

    let output = finish(command);

    assert_refused_naming(&output, "ECOPLAN_JWT_SECRET");
}

async fn a_plan_document_becomes_a_plan_file_that_seeds(backend: Backend) {
    let database = TestDatabase::empty(backend).await;
    let url = database.url.clone();
    let folder = tempfile::tempdir().unwrap();
    let plan_file = folder.path().join("qianan-2023.toml");
    let document =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/qianan-2023.txt");

    let plan_path = plan_file.clone();
    let outputs = tokio::task::spawn_blocking(move || {
        let mut import = ecoplan(&url);
        import
            .args(["plan", "import-text"])
            .arg(&document)
            .args(["--key", "qianan-2023", "--year", "2023", "--output"])
            .arg(&plan_path);
        let written = finish(import);
        let mut to_stdout = ecoplan(&url);
        to_stdout
            .args(["plan", "import-text"])
            .arg(&document)
            .args(["--key", "qianan-2023", "--year", "2023"]);
        let printed = finish(to_stdout);
        let mut seed = ecoplan(&url);
        seed.arg("seed").arg("--plan-file").arg(&plan_path);
        vec![written, printed, finish(seed)]
    })
    .await
    .unwrap();
    for step in &outputs {
        assert_success(step);
    }

    let report = stdout(&outputs[0]);
    assert!(report.starts_with("wrote "), "{report}");
    assert!(report.contains("read 8 tasks and 9 indicators"), "{report}");
    assert!(
        report.contains("review: department: `市行政审批局` is not a known department"),
        "{report}"
    );
    assert!(report.contains("review: task 5, leads: "), "{report}");
    let file = std::fs::read_to_string(&plan_file).unwrap();
    assert!(file.starts_with(
        "# 迁安市创建省级生态文明建设示范市2023年度工作方案\n# Source: qianan-2023.txt, 《"
    ));
    assert!(file.contains("source_file = \"qianan-2023.txt\""));
    // Without --output the plan file is the standard output and the review list goes to
    // standard error.
    assert_eq!(stdout(&outputs[1]), file);
    assert!(stderr(&outputs[1]).contains("review: task 5, leads: "));
    assert_eq!(
        stdout(&outputs[2]).trim(),
        "loaded plan qianan-2023 with 8 tasks"
    );
}
both!(a_plan_document_becomes_a_plan_file_that_seeds);

#[test]
fn portal_keys_over_plain_http_beyond_this_machine_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ecoplan.db", dir.path().display());
    let portal = |command: &mut Command| {
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("ECOPLAN_PORTAL_ISSUER", "https://sso.tangshan.example")
            .env("ECOPLAN_PORTAL_AUDIENCE", "ecoplan");
    };

    let mut plain_http = ecoplan(&url);
    portal(&mut plain_http);
    plain_http.env(
        "ECOPLAN_PORTAL_JWKS_URL",
        "http://sso.tangshan.example/jwks",
    );
    let output = finish(plain_http);
    assert_refused_naming(&output, "ECOPLAN_PORTAL_JWKS_URL");
    assert!(stderr(&output).contains("HTTPS"), "{}", stderr(&output));

    let mut two_sources = ecoplan(&url);
    portal(&mut two_sources);
    two_sources
        .env(
            "ECOPLAN_PORTAL_JWKS_URL",
            "https://sso.tangshan.example/jwks",
        )
        .env("ECOPLAN_PORTAL_KEY_FILE", dir.path().join("portal.pem"));
    assert_refused_naming(&finish(two_sources), "ECOPLAN_PORTAL_KEY_FILE");

    let mut too_lenient = ecoplan(&url);
    portal(&mut too_lenient);
    too_lenient.env("ECOPLAN_PORTAL_LEEWAY_SECONDS", "3600");
    assert_refused_naming(&finish(too_lenient), "ECOPLAN_PORTAL_LEEWAY_SECONDS");
}

async fn remind_dry_run_lists_and_writes_nothing_and_remind_sends_once(backend: Backend) {
    let database = TestDatabase::seeded(backend).await;
    let url = database.url.clone();
    let run = |dry_run: bool| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut command = ecoplan(&url);
            command.arg("remind").env("ECOPLAN_NOW", "2022-07-05");
            if dry_run {
                command.arg("--dry-run");
            }
            finish(command)
        })
    };
    let seed = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            finish({
                let mut command = ecoplan(&url);
                command.arg("seed");
                command
            })
        })
    };
    assert_success(&seed.await.unwrap());
    let (db, _) = ecoplan::db::connect(&url, 1).await.unwrap();
    let count = || async {
        ecoplan::entity::notification::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .len()
    };

    let listed = run(true).await.unwrap();
    assert_success(&listed);
    let lines = stdout(&listed);
    assert!(
        lines.contains(
            "REMINDER → 市財政局: the progress report on task 36 for 2022-Q2 is due by 2022-07-10"
        ),
        "{lines}"
    );
    let would: usize = lines.lines().filter(|line| line.contains(" → ")).count();
    assert!(
        lines.contains(&format!("{would} notifications would be sent")),
        "{lines}"
    );
    assert_eq!(count().await, 0, "a dry run wrote notifications");
    // The dry run writes no outbox events either.
    let events = ecoplan::entity::outbox_event::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert!(events.is_empty());

    let sent = run(false).await.unwrap();
    assert_success(&sent);
    assert!(
        stdout(&sent).contains(&format!("{would} notifications sent")),
        "{}",
        stdout(&sent)
    );
    assert_eq!(count().await, would);

    // Once: a second run sends nothing, and a dry run lists nothing.
    let again = run(false).await.unwrap();
    assert!(
        stdout(&again).contains("0 notifications sent"),
        "{}",
        stdout(&again)
    );
    let listed = run(true).await.unwrap();
    assert!(stdout(&listed).contains("0 notifications would be sent"));
    assert_eq!(count().await, would);
    db.close().await.unwrap();
}
both!(remind_dry_run_lists_and_writes_nothing_and_remind_sends_once);
