//! Stopping and starting: a stop lets requests in flight finish and takes no new ones;
//! start-up waits for a database that is not up yet, and gives up clearly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ecoplan::service::policy::Role;
use ecoplan::settings::Settings;
use ecoplan::startup::Application;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDatabase, both, data, postgres_url};

/// A client that closes every connection after its response: an idle keep-alive
/// connection would otherwise hold a graceful stop until it times out.
fn closing_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// `ecoplan_http_requests_total`, which counts a request as soon as its head arrives
/// (this scrape included).
async fn requests_seen(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("ecoplan_http_requests_total "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the metrics count requests")
}

async fn a_stop_lets_the_request_in_flight_finish_and_takes_no_new_ones(backend: Backend) {
    let storage = tempfile::tempdir().unwrap();
    let storage_dir = storage.path().to_owned();
    let mut app = TestApp::spawn_with(backend, |settings| {
        settings.storage_dir = storage_dir;
        settings.shutdown_grace = Duration::from_secs(20);
    })
    .await;
    app.client = closing_client();
    let token = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    // An evidence upload whose body arrives in two parts; the second waits for `release`.
    let boundary = "ecoplan-slow-upload";
    let operations = json!({
        "query": "mutation($task: ID!, $file: Upload!) { uploadEvidence(input: { taskId: $task, title: \"採購通知\" }, file: $file) { id size } }",
        "variables": { "task": task, "file": null },
    });
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{map}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"slow.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n",
        map = json!({ "0": ["variables.file"] }),
    );
    let file_rest = "1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
    let tail = format!("{file_rest}\r\n--{boundary}--\r\n");
    let length = head.len() + tail.len();
    let file_size = "%PDF-1.4\n".len() + file_rest.len();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures_util::stream::once(async move {
            let _ = released.await;
            Ok(tail)
        }),
    );

    let baseline = requests_seen(&app).await;
    let upload = tokio::spawn(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("content-length", length)
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    // Wait until the server has the upload's head: every scrape counts itself too.
    let started = Instant::now();
    let mut scrapes = 0;
    loop {
        scrapes += 1;
        if requests_seen(&app).await > baseline + scrapes {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the upload never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let handle = app.handle.clone();
    let stopping = tokio::spawn(async move { handle.stop(true).await });

    // The listener closes: new connections are refused while the upload is still open.
    let started = Instant::now();
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server still takes connections after a stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!upload.is_finished(), "the upload is still in flight");

    release.send(()).unwrap();
    let response = upload.await.unwrap().expect("the upload gets an answer");
    assert_eq!(response.status(), 200);
    let response: Value = response.json().await.unwrap();
    assert_eq!(
        data(&response)["uploadEvidence"]["size"].as_u64(),
        Some(file_size as u64)
    );

    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("the stop completes")
        .unwrap();
    app.stopped(Duration::from_secs(20))
        .await
        .expect("run_until_stopped ends without an error");
}
both!(a_stop_lets_the_request_in_flight_finish_and_takes_no_new_ones);

async fn a_stop_with_nothing_in_flight_is_quick(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.client = closing_client();
    let token = app.token_for(Role::Leadership, None).await;
    data(&app.graphql_as(&token, "{ plans { key } }", json!({})).await);

    let started = Instant::now();
    app.handle.stop(true).await;
    app.stopped(Duration::from_secs(10)).await.unwrap();

    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(app.client.get(app.url("/healthz")).send().await.is_err());
}
both!(a_stop_with_nothing_in_flight_is_quick);

#[tokio::test]
async fn start_up_gives_up_on_a_database_that_does_not_answer() {
    let started = Instant::now();

    let error = ecoplan::db::connect_with_retry(
        "postgres://postgres@127.0.0.1:1/ecoplan",
        2,
        Duration::from_secs(2),
    )
    .await
    .expect_err("nothing listens on port 1");

    let message = format!("{error:#}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(
        message.contains("did not answer within 2 seconds"),
        "{message}"
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "it retried: {waited:?}");
    assert!(waited < Duration::from_secs(10), "it gave up: {waited:?}");
}

#[test]
fn serve_exits_with_one_line_when_the_database_never_answers() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecoplan"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ECOPLAN_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let started = Instant::now();
    let output = command
        .arg("serve")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("ECOPLAN_DB_WAIT_SECS", "1")
        .env("ECOPLAN_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .expect("the ecoplan binary runs");

    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
    assert!(message.starts_with("ecoplan: "), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(
        message.contains("did not answer within 1 second"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// The host and port of a URL such as `postgres://user@host:5432/db?x`.
fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").map_or(0, |at| at + 3);
    let end = url[start..].find('/').map_or(url.len(), |at| start + at);
    let host_start = url[start..end]
        .rfind('@')
        .map_or(start, |at| start + at + 1);
    (host_start, end)
}

/// The database comes up a second after the server starts: start-up waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_a_database_that_comes_up_later() {
    if postgres_url().is_none() {
        return;
    }
    let database = TestDatabase::seeded(Backend::Postgres).await;
    let (host_start, host_end) = authority(&database.url);
    let server = database.url[host_start..host_end].to_owned();
    let late_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens on `late_port` for a second; then it forwards to the real server.
    let forwarder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", late_port))
            .await
            .unwrap();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let server = server.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(server).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let late_url = format!(
        "{}127.0.0.1:{late_port}{}",
        &database.url[..host_start],
        &database.url[host_end..]
    );
    let storage = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(late_url, "127.0.0.1:0".parse().unwrap());
    settings.auth.jwt_secret = Some("a-test-secret-that-is-long-enough-to-use".to_owned());
    settings.storage_dir = storage.path().to_owned();
    settings.database_wait = Duration::from_secs(20);
    settings.max_connections = 2;

    let started = Instant::now();
    let app = Application::build(settings)
        .await
        .expect("start-up waits for the database");

    assert!(started.elapsed() >= Duration::from_secs(1));
    let handle = app.handle();
    let port = app.port();
    let server = tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    handle.stop(true).await;
    server.await.unwrap().unwrap();
    forwarder.abort();
}
