//! Webhook delivery of the outbox to a receiver the test starts: signed, in order per
//! item, retried after failures, neither lost nor doubled (per idempotency key) when the
//! server is killed during a delivery, and made once with two instances on one database.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use ecoplan::entity::webhook_delivery;
use ecoplan::service::policy::Role;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::crash::{ServerProcess, Storage, serve};
use crate::helpers::{Backend, Store, TestApp, TestDatabase, both, data};
use crate::steps::{approved, draft_report, rejected, submitted};

const SECRET: &str = "a-webhook-secret-for-the-tests";

/// One request the receiver took.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    /// Requests answered 500 before the receiver starts answering 200.
    failures_left: AtomicUsize,
    /// The first request is held this long before it is answered.
    hold_first: Mutex<Option<Duration>>,
    /// Requests that came in, answered or not.
    arrivals: AtomicUsize,
}

struct Receiver {
    url: String,
    inbox: Arc<Inbox>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

fn header(request: &HttpRequest, name: &str) -> String {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(inbox: web::Data<Inbox>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let first = inbox.arrivals.fetch_add(1, Ordering::SeqCst) == 0;
    let hold = *inbox.hold_first.lock().unwrap();
    if first && let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let failing = inbox
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if failing {
        return HttpResponse::InternalServerError().finish();
    }
    inbox.received.lock().unwrap().push(Received {
        event: header(&request, "x-ecoplan-event"),
        delivery: header(&request, "x-ecoplan-delivery"),
        timestamp: header(&request, "x-ecoplan-timestamp"),
        signature: header(&request, "x-ecoplan-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    HttpResponse::Ok().finish()
}

/// A receiver on a free port that fails its first `failures` requests.
fn start_receiver(failures: usize, hold_first: Option<Duration>) -> Receiver {
    let inbox = Arc::new(Inbox::default());
    inbox.failures_left.store(failures, Ordering::SeqCst);
    *inbox.hold_first.lock().unwrap() = hold_first;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = web::Data::from(inbox.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        inbox,
        handle,
    }
}

fn received(receiver: &Receiver) -> Vec<Received> {
    receiver.inbox.received.lock().unwrap().clone()
}

/// The signature a receiver computes: HMAC-SHA256 of `<timestamp>.<body>`.
fn expected_signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[track_caller]
fn assert_signed(delivery: &Received) {
    assert_eq!(
        delivery.signature,
        expected_signature(&delivery.timestamp, &delivery.body),
        "{delivery:?}"
    );
    let sent_at: i64 = delivery.timestamp.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now - sent_at).abs() < 300, "{delivery:?}");
}

async fn deliveries(db: &DatabaseConnection) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find()
        .order_by_asc(webhook_delivery::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// Waits until every delivery in the database is delivered and the receiver holds each
/// one's key (at least `at_least` deliveries), waiting at most 30 seconds.
async fn wait_for_all_delivered(db: &DatabaseConnection, receiver: &Receiver, at_least: usize) {
    let started = Instant::now();
    loop {
        let rows = deliveries(db).await;
        let keys: HashSet<String> = received(receiver).into_iter().map(|r| r.delivery).collect();
        let done = rows.len() >= at_least
            && rows
                .iter()
                .all(|row| row.state == "DELIVERED" && keys.contains(&row.delivery_key));
        if done {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not everything was delivered: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events the receiver got about one submission, first arrival of each key, in order.
fn events_about(receiver: &Receiver, submission: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    received(receiver)
        .into_iter()
        .filter(|delivery| seen.insert(delivery.delivery.clone()))
        .filter_map(|delivery| {
            let body: Value = serde_json::from_str(&delivery.body).unwrap();
            (body["data"]["id"] == submission).then(|| body["event"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn fast_webhooks(settings: &mut ecoplan::settings::Settings, url: &str) {
    settings.webhooks.urls = vec![url.to_owned()];
    settings.webhooks.secret = Some(SECRET.to_owned());
    settings.webhooks.poll_interval = Duration::from_millis(50);
    settings.webhooks.retry_base = Duration::from_millis(100);
    settings.webhooks.retry_max = Duration::from_millis(400);
    settings.webhooks.lease = Duration::from_secs(2);
}

const WORKFLOW: [&str; 4] = [
    "submission.submitted",
    "submission.rejected",
    "submission.submitted",
    "submission.approved",
];

async fn signed_deliveries_arrive_in_order_after_retries(backend: Backend) {
    let receiver = start_receiver(2, None);
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(backend, |settings| fast_webhooks(settings, &url)).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    let back = rejected(&app, &leadership, &sent, "請補充採購明細").await;
    let again = submitted(&app, &finance, &back).await;
    approved(&app, &leadership, &again).await;

    // Four moves and two notices (the rejection and the approval).
    wait_for_all_delivered(&app.db, &receiver, 6).await;
    assert_eq!(events_about(&receiver, &draft.id), WORKFLOW);
    for delivery in received(&receiver) {
        assert_signed(&delivery);
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["event"], delivery.event.as_str());
    }
    let notices: Vec<Value> = received(&receiver)
        .iter()
        .map(|delivery| serde_json::from_str::<Value>(&delivery.body).unwrap())
        .filter(|body| body["event"] == "notification.created")
        .collect();
    assert_eq!(notices.len(), 2);
    let rejection = notices
        .iter()
        .find(|body| body["data"]["kind"] == "REJECTED")
        .unwrap();
    let message = rejection["data"]["message"].as_str().unwrap();
    assert!(message.contains("請補充採購明細"), "{message}");

    // The two failures were retried: the log says so.
    let admin = app.admin_token().await;
    let log = app
        .graphql_as(
            &admin,
            "{ webhookDeliveries(first: 10) { totalCount nodes { id event attempts state lastStatus lastError } } }",
            json!({}),
        )
        .await;
    let nodes = data(&log)["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(data(&log)["webhookDeliveries"]["totalCount"], 6);
    let retries: i64 = nodes
        .iter()
        .map(|node| node["attempts"].as_i64().unwrap() - 1)
        .sum();
    assert_eq!(retries, 2, "{log:#}");
    for node in &nodes {
        assert_eq!(node["state"], "DELIVERED");
        assert_eq!(node["lastStatus"], 200);
        assert!(node["lastError"].is_null());
    }
    let first = &nodes[0];
    assert_eq!(first["event"], "submission.submitted");

    // Sent again on request, with the same key.
    let before = received(&receiver).len();
    let again = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { redeliverWebhook(id: $id) { state deliveryKey } }",
            json!({ "id": first["id"] }),
        )
        .await;
    let key = data(&again)["redeliverWebhook"]["deliveryKey"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_until(|| received(&receiver).len() > before).await;
    assert_eq!(received(&receiver).last().unwrap().delivery, key);
    // The request is in the audit log, with the state it found.
    let log = app
        .graphql_as(
            &admin,
            "{ auditLog(first: 5, filter: { action: \"webhook.redeliver\" }) { nodes { actorRole before } } }",
            json!({}),
        )
        .await;
    let entries = data(&log)["auditLog"]["nodes"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{log:#}");
    assert_eq!(entries[0]["actorRole"], "ADMIN");
    assert_eq!(entries[0]["before"]["state"], "DELIVERED");
}
both!(signed_deliveries_arrive_in_order_after_retries);

async fn wait_until(condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited in vain"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_instances_deliver_each_event_once(backend: Backend) {
    let receiver = start_receiver(0, None);
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(backend, |settings| fast_webhooks(settings, &url)).await;
    let url = receiver.url.clone();
    let second = app
        .spawn_second_server_with(|settings| fast_webhooks(settings, &url))
        .await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let mut drafts = Vec::new();
    for (index, period) in ["2022-Q1", "2022-Q2", "2022-Q3"].into_iter().enumerate() {
        let server = if index % 2 == 0 { &app } else { &second };
        let draft = draft_report(server, &finance, &task, period, "IN_PROGRESS").await;
        let sent = submitted(server, &finance, &draft).await;
        approved(server, &leadership, &sent).await;
        drafts.push(draft);
    }
    // Three submissions and three approvals, and the three notices of the approvals.
    wait_for_all_delivered(&app.db, &receiver, 9).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let keys: Vec<String> = received(&receiver)
        .into_iter()
        .map(|r| r.delivery)
        .collect();
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(
        keys.len(),
        distinct.len(),
        "a delivery was sent twice: {keys:?}"
    );
    assert_eq!(deliveries(&app.db).await.len(), 9);
    for draft in &drafts {
        assert_eq!(
            events_about(&receiver, &draft.id),
            ["submission.submitted", "submission.approved"]
        );
    }
}
both!(two_instances_deliver_each_event_once);

/// GraphQL against a server process.
async fn graphql_on(
    server: &ServerProcess,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/graphql", server.port))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn sign_in_on(server: &ServerProcess, username: &str, password: &str) -> String {
    let response = graphql_on(
        server,
        None,
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
        json!({ "u": username, "p": password }),
    )
    .await;
    data(&response)["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_delivery_cut_short_by_a_crash_is_sent_again_with_its_key(backend: Backend) {
    let database = TestDatabase::seeded(backend).await;
    let storage = Storage::new(Store::Folder).await;
    // The first request is held long enough for the server to be killed meanwhile.
    let receiver = start_receiver(0, Some(Duration::from_secs(3)));
    let env = [
        ("ECOPLAN_WEBHOOK_URLS", receiver.url.as_str()),
        ("ECOPLAN_WEBHOOK_SECRET", SECRET),
        ("ECOPLAN_WEBHOOK_POLL_MS", "50"),
        ("ECOPLAN_WEBHOOK_RETRY_BASE_MS", "100"),
        ("ECOPLAN_WEBHOOK_LEASE_SECONDS", "1"),
    ];
    // The server migrates and seeds the database; the accounts come after.
    let server = serve(&database.url, &storage, &env).await;
    let (db, _) = ecoplan::db::connect(&database.url, 2).await.unwrap();
    let mut users = Vec::new();
    for (name, role, department) in [
        ("crash-finance", Role::Department, Some("finance")),
        ("crash-leadership", Role::Leadership, None),
    ] {
        let department_id = match department {
            Some(code) => Some(
                ecoplan::entity::department::Entity::find()
                    .filter(ecoplan::entity::department::Column::Code.eq(code))
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            ),
            None => None,
        };
        ecoplan::service::user::create_user(
            &db,
            &ecoplan::service::audit::Caller::system(),
            ecoplan::service::user::NewUser {
                username: name.to_owned(),
                display_name: None,
                password: "a long enough password".to_owned(),
                role,
                department_id,
            },
        )
        .await
        .unwrap();
        users.push(name);
    }
    let finance = sign_in_on(&server, users[0], "a long enough password").await;
    let leadership = sign_in_on(&server, users[1], "a long enough password").await;
    let task = graphql_on(
        &server,
        Some(&finance),
        r#"{ task(code: "36") { id } }"#,
        json!({}),
    )
    .await;
    let task = data(&task)["task"]["id"].as_str().unwrap().to_owned();
    let saved = graphql_on(
        &server,
        Some(&finance),
        "mutation($input: ProgressReportInput!) { saveProgressReport(input: $input) { id version } }",
        json!({ "input": { "taskId": task, "period": "2022-Q2", "status": "IN_PROGRESS", "workDone": "開展政府綠色採購" } }),
    )
    .await;
    let report = data(&saved)["saveProgressReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit =
        "mutation($id: ID!, $version: Int!) { submit(id: $id, version: $version) { version } }";
    data(
        &graphql_on(
            &server,
            Some(&finance),
            submit,
            json!({ "id": report, "version": 1 }),
        )
        .await,
    );

    // The delivery is in flight (held by the receiver) when the server dies.
    wait_until(|| receiver.inbox.arrivals.load(Ordering::SeqCst) >= 1).await;
    drop(server);

    let server = serve(&database.url, &storage, &env).await;
    let reject = "mutation($id: ID!, $version: Int!, $reason: String!) { reject(id: $id, version: $version, reason: $reason) { version } }";
    data(
        &graphql_on(
            &server,
            Some(&leadership),
            reject,
            json!({ "id": report, "version": 2, "reason": "請補充" }),
        )
        .await,
    );
    data(
        &graphql_on(
            &server,
            Some(&finance),
            submit,
            json!({ "id": report, "version": 3 }),
        )
        .await,
    );
    let approve =
        "mutation($id: ID!, $version: Int!) { approve(id: $id, version: $version) { version } }";
    data(
        &graphql_on(
            &server,
            Some(&leadership),
            approve,
            json!({ "id": report, "version": 4 }),
        )
        .await,
    );

    wait_for_all_delivered(&db, &receiver, 6).await;
    // Nothing lost: every event reached the receiver, in order; nothing doubled: the one
    // sent twice came with the same key both times.
    assert_eq!(events_about(&receiver, &report), WORKFLOW);
    let keys: HashSet<String> = received(&receiver)
        .into_iter()
        .map(|r| r.delivery)
        .collect();
    assert_eq!(keys.len(), deliveries(&db).await.len());
    for delivery in received(&receiver) {
        assert_signed(&delivery);
    }
    drop(server);
}
both!(a_delivery_cut_short_by_a_crash_is_sent_again_with_its_key);
