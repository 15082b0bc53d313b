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
