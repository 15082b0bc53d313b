//! Request ids (header, error extensions, logs), JSON logs, and the Prometheus metrics.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDatabase, assert_error_code, both, data};

fn request_id_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{} has no x-request-id", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn every_response_carries_a_request_id_and_errors_repeat_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut seen = HashSet::new();

    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/graphiql",
        "/no-such-page",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let id = request_id_of(&response);
        assert!(!id.is_empty());
        assert!(seen.insert(id), "every request gets its own id");
    }

    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ plans { key } }" }))
        .send()
        .await
        .unwrap();
    let id = request_id_of(&response);
    let body: Value = response.json().await.unwrap();
    assert_error_code(&body, "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id);
    assert!(seen.insert(id));

    // A request error (the document does not validate) carries it too.
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap();
    let id = request_id_of(&response);
    let body: Value = response.json().await.unwrap();
    assert_error_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id);
}
both!(every_response_carries_a_request_id_and_errors_repeat_it);

/// A port nobody listens on at the moment.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `ecoplan serve` with JSON logs, makes a failing request, stops it with SIGTERM,
/// and reads what it logged.
async fn the_request_id_is_in_the_json_log_lines_of_its_request(backend: Backend) {
    let database = TestDatabase::seeded(backend).await;
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecoplan"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ECOPLAN_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let mut server = command
        .arg("serve")
        .env("DATABASE_URL", &database.url)
        .env("ECOPLAN_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "ECOPLAN_JWT_SECRET",
            "a-test-secret-that-is-long-enough-to-use",
        )
        .env("ECOPLAN_STORAGE_DIR", storage.path())
        .env("ECOPLAN_LOG_FORMAT", "json")
        .env("ECOPLAN_LOG", "info")
        .env("ECOPLAN_SHUTDOWN_GRACE_SECS", "5")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ecoplan binary runs");
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(url("/healthz")).send().await
            && response.status() == 200
        {
            break;
        }
        if let Some(status) = server.try_wait().unwrap() {
            let output = server.wait_with_output().unwrap();
            panic!(
                "ecoplan serve exited ({status}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ecoplan serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let response = client
        .post(url("/graphql"))
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap();
    let id = request_id_of(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id);

    // SIGTERM: the server stops gracefully, and says so.
    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let output = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        while server.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(30) {
                let _ = server.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{}: {log}", output.status);

    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("a log line is not JSON: {line}"))
        })
        .collect();
    let of_the_request: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["request_id"] == id.as_str())
        .collect();
    assert!(
        !of_the_request.is_empty(),
        "no log line names the request {id}: {log}"
    );
    let finished = of_the_request
        .iter()
        .find(|line| line["fields"]["message"] == "request finished")
        .unwrap_or_else(|| panic!("the request's last line is missing: {log}"));
    assert_eq!(finished["span"]["path"], "/graphql");
    assert_eq!(finished["fields"]["status"], 200);
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["message"] == "stopped"),
        "the server says it stopped: {log}"
    );
}
both!(the_request_id_is_in_the_json_log_lines_of_its_request);

/// The value of one series (`name` or `name{label="…"}`) in the Prometheus text.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|value| value.trim().parse::<f64>().unwrap())
        })
        .unwrap_or(0.0)
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    response.text().await.unwrap()
}

async fn metrics_count_requests_operations_statements_and_failed_logins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let before = metrics_text(&app).await;

    let response = app
        .graphql_as(&token, "query PlanKeys { plans { key } }", json!({}))
        .await;
    data(&response);
    let response = app
        .graphql_as(
            &token,
            "query Broken { task(id: \"nope\") { code } }",
            json!({}),
        )
        .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    let wrong = app
        .graphql(
            "mutation { login(username: \"admin\", password: \"not the password\") { token } }",
            json!({}),
        )
        .await;
    assert!(wrong.get("errors").is_some());
    let after = metrics_text(&app).await;

    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        grew("ecoplan_graphql_operations_total{operation=\"PlanKeys\",outcome=\"ok\"}"),
        1.0
    );
    assert_eq!(
        grew("ecoplan_graphql_operations_total{operation=\"Broken\",outcome=\"error\"}"),
        1.0
    );
    assert_eq!(
        grew("ecoplan_graphql_operation_duration_seconds_count{operation=\"PlanKeys\"}"),
        1.0
    );
    assert_eq!(
        grew(
            "ecoplan_graphql_operation_duration_seconds_bucket{operation=\"PlanKeys\",le=\"+Inf\"}"
        ),
        1.0
    );
    assert!(grew("ecoplan_graphql_operation_duration_seconds_sum{operation=\"PlanKeys\"}") > 0.0);
    assert_eq!(grew("ecoplan_failed_logins_total"), 1.0);
    // The three operations and the second scrape.
    assert_eq!(grew("ecoplan_http_requests_total"), 4.0);
    assert!(grew("ecoplan_sql_statements_total") >= 3.0);
    for state in ["in_use", "idle"] {
        assert!(
            after.contains(&format!(
                "ecoplan_db_pool_connections{{state=\"{state}\"}} "
            )),
            "the pool gauge has {state}: {after}"
        );
    }
    for family in [
        "# TYPE ecoplan_http_requests_total counter",
        "# TYPE ecoplan_sql_statements_total counter",
        "# TYPE ecoplan_graphql_operations_total counter",
        "# TYPE ecoplan_graphql_operation_duration_seconds histogram",
        "# TYPE ecoplan_db_pool_connections gauge",
        "# TYPE ecoplan_failed_logins_total counter",
        "# TYPE ecoplan_uploads_total counter",
        "# TYPE ecoplan_upload_bytes_total counter",
    ] {
        assert!(after.contains(family), "{family} is missing: {after}");
    }
}
both!(metrics_count_requests_operations_statements_and_failed_logins);

async fn an_evidence_upload_counts_in_the_metrics(backend: Backend) {
    let storage = tempfile::tempdir().unwrap();
    let storage_dir = storage.path().to_owned();
    let app = TestApp::spawn_with(backend, |settings| settings.storage_dir = storage_dir).await;
    let token = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let file = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let size = file.len() as f64;
    let before = metrics_text(&app).await;

    let operations = json!({
        "query": "mutation($task: ID!, $file: Upload!) { uploadEvidence(input: { taskId: $task, title: \"採購通知\" }, file: $file) { id size contentType } }",
        "variables": { "task": task, "file": null },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(file)
                .file_name("通知.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let response: Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence = &data(&response)["uploadEvidence"];
    assert_eq!(evidence["contentType"], "application/pdf");
    assert_eq!(evidence["size"].as_f64(), Some(size));

    let after = metrics_text(&app).await;
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(grew("ecoplan_uploads_total"), 1.0);
    assert_eq!(grew("ecoplan_upload_bytes_total"), size);
}
both!(an_evidence_upload_counts_in_the_metrics);

async fn the_metrics_can_require_a_token(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.metrics_token = Some("scrape-me-with-this".to_owned());
    })
    .await;

    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("x-request-id"));
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-with-that")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A user's token is not the metrics token either.
    let user = app.token_for(Role::Admin, None).await;
    let user = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(user)
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 401);

    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-with-this")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("ecoplan_http_requests_total")
    );
}
both!(the_metrics_can_require_a_token);

async fn the_metrics_can_have_an_address_of_their_own(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics_port = app.metrics_port.expect("the metrics have their own port");
    assert_ne!(metrics_port, app.port);

    let own = app
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.headers().contains_key("x-request-id"));
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    assert!(
        own.text()
            .await
            .unwrap()
            .contains("ecoplan_sql_statements_total")
    );

    let main = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404);
    // The API is not served on the metrics address.
    let api = app
        .client
        .post(format!("http://127.0.0.1:{metrics_port}/graphql"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}
both!(the_metrics_can_have_an_address_of_their_own);
