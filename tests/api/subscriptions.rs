//! Subscriptions over WebSocket (`graphql-transport-ws`), as a browser client speaks them:
//! events of the submissions the caller may see, and nothing once its token is revoked.

use std::time::Duration;

use ecoplan::service::policy::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

use crate::helpers::{Backend, TestApp, both, data, postgres_url};
use crate::steps::{approve, draft_report, submitted};

const EVENTS: &str = "subscription { submissionEvents { kind at
    submission { __typename id reviewStatus department { code } } } }";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A connection that has sent `connection_init` with a token.
struct Connection {
    socket: Socket,
}

/// What the server sent next, or how the connection ended.
#[derive(Debug)]
enum Received {
    Message(Value),
    Closed(Option<u16>),
    Nothing,
}

/// Opens a WebSocket to `/graphql` and sends nothing.
async fn upgrade(app: &TestApp) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = app.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await?;
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    Ok(socket)
}

impl Connection {
    async fn open(app: &TestApp, payload: Value) -> Self {
        let socket = upgrade(app).await.expect("the WebSocket opens");
        let mut connection = Self { socket };
        connection
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        connection
    }

    /// A connection signed in with a token, acknowledged.
    async fn signed_in(app: &TestApp, token: &str) -> Self {
        let mut connection =
            Self::open(app, json!({ "authorization": format!("Bearer {token}") })).await;
        match connection.receive().await {
            Received::Message(message) if message["type"] == "connection_ack" => {}
            other => panic!("no connection_ack: {other:?}"),
        }
        connection
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the server reads");
    }

    async fn start(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.start(id, query).await;
        // The server starts listening as it reads the message; give it that moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    /// The next protocol message (pings answered), within a few seconds.
    async fn receive(&mut self) -> Received {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next()).await;
            let message = match next {
                Err(_) => return Received::Nothing,
                Ok(None) => return Received::Closed(None),
                Ok(Some(Err(_))) => return Received::Closed(None),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Received::Message(message);
                }
                Message::Close(frame) => {
                    return Received::Closed(frame.map(|frame| u16::from(frame.code)));
                }
                _ => continue,
            }
        }
    }

    /// The payload of the next `next` message of a subscription.
    async fn next_event(&mut self) -> Value {
        match self.receive().await {
            Received::Message(message) if message["type"] == "next" => message["payload"].clone(),
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

fn event_of(payload: &Value) -> (&str, &str, &str) {
    let event = &data(payload)["submissionEvents"];
    (
        event["kind"].as_str().unwrap(),
        event["submission"]["id"].as_str().unwrap(),
        event["submission"]["department"]["code"].as_str().unwrap(),
    )
}

async fn a_department_hears_its_submissions_move_through_review(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let leadership = app.token_for(Role::Leadership, None).await;

    let mut of_finance = Connection::signed_in(&app, &finance).await;
    let mut of_audit = Connection::signed_in(&app, &audit).await;
    let mut of_leadership = Connection::signed_in(&app, &leadership).await;
    let admin = app.admin_token().await;
    let mut of_admin = Connection::signed_in(&app, &admin).await;
    let portal = app.token_for(Role::Portal, None).await;
    let mut of_portal = Connection::signed_in(&app, &portal).await;
    for connection in [
        &mut of_finance,
        &mut of_audit,
        &mut of_leadership,
        &mut of_admin,
        &mut of_portal,
    ] {
        connection.start("1", EVENTS).await;
    }
    // The server starts listening as it reads the messages; give it that moment.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    data(&approve(&app, &leadership, &sent).await);

    for kind in ["CREATED", "SUBMITTED", "APPROVED"] {
        let payload = of_finance.next_event().await;
        assert_eq!(event_of(&payload), (kind, draft.id.as_str(), "finance"));
        let payload = of_leadership.next_event().await;
        assert_eq!(event_of(&payload), (kind, draft.id.as_str(), "finance"));
        let payload = of_admin.next_event().await;
        assert_eq!(event_of(&payload), (kind, draft.id.as_str(), "finance"));
    }
    // The public view hears of the approval alone.
    let payload = of_portal.next_event().await;
    assert_eq!(
        data(&payload)["submissionEvents"]["kind"],
        "APPROVED",
        "{payload}"
    );

    // Audit heard nothing of finance's report: its first event is its own draft.
    let audit_task = app.task_id("2.1").await;
    let own = draft_report(&app, &audit, &audit_task, "2022-Q2", "IN_PROGRESS").await;
    let payload = of_audit.next_event().await;
    assert_eq!(event_of(&payload), ("CREATED", own.id.as_str(), "audit"));
}
both!(a_department_hears_its_submissions_move_through_review);

async fn a_subscription_ends_when_its_token_is_revoked(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.subscription_recheck = Duration::from_millis(200);
    })
    .await;
    let finance = app.account(Role::Department, Some("finance")).await;
    let mut connection = Connection::signed_in(&app, &finance.token).await;
    connection.subscribe("7", EVENTS).await;

    let admin = app.admin_token().await;
    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": finance.id }),
        )
        .await;
    data(&response);

    match connection.receive().await {
        Received::Message(message) => {
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(message["id"], "7");
            assert_eq!(
                message["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{message}"
            );
        }
        other => panic!("expected the end of the subscription, got {other:?}"),
    }
    match connection.receive().await {
        Received::Message(message) => {
            assert_eq!(message["type"], "complete", "{message}");
            assert_eq!(message["id"], "7");
        }
        other => panic!("expected complete, got {other:?}"),
    }
}
both!(a_subscription_ends_when_its_token_is_revoked);

async fn a_connection_without_a_valid_token_is_closed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for payload in [json!({}), json!({ "authorization": "Bearer not-a-token" })] {
        let mut connection = Connection::open(&app, payload.clone()).await;
        match connection.receive().await {
            Received::Closed(code) => assert_eq!(code, Some(4403), "{payload}"),
            other => panic!("{payload}: expected the connection closed, got {other:?}"),
        }
    }
}
both!(a_connection_without_a_valid_token_is_closed);

/// With two instances on one PostgreSQL database, a subscriber on one hears the changes
/// made through the other. (Several instances need PostgreSQL.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_instance_hears_changes_made_on_another() {
    if postgres_url().is_none() {
        eprintln!("no PostgreSQL at TEST_DATABASE_URL: two instances cannot be tested");
        return;
    }
    let first = TestApp::spawn(Backend::Postgres).await;
    let second = first.spawn_second_server().await;
    let leadership = first.token_for(Role::Leadership, None).await;
    let finance = first.token_for(Role::Department, Some("finance")).await;
    let mut connection = Connection::signed_in(&second, &leadership).await;
    connection.subscribe("1", EVENTS).await;

    let task = first.task_id("36").await;
    let draft = draft_report(&first, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let payload = connection.next_event().await;
    assert_eq!(
        event_of(&payload),
        ("CREATED", draft.id.as_str(), "finance")
    );
}

async fn queries_and_mutations_go_over_http_not_the_websocket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let mut connection = Connection::signed_in(&app, &admin).await;
    for (id, operation) in [
        ("q", "{ me { username } }"),
        ("m", "mutation { refreshToken { token } }"),
    ] {
        connection.start(id, operation).await;
        let payload = connection.next_event().await;
        assert_eq!(
            payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{payload}"
        );
        assert!(payload["data"].is_null(), "{payload}");
        match connection.receive().await {
            Received::Message(message) if message["type"] == "complete" => {
                assert_eq!(message["id"], id);
            }
            other => panic!("expected complete, got {other:?}"),
        }
    }
}
both!(queries_and_mutations_go_over_http_not_the_websocket);

/// A user has at most `max_live_connections_per_user` connections open: one more is
/// refused at `connection_init` with 4429, other users are not held back, and a place
/// closed is a place given back.
async fn one_user_holds_a_bounded_number_of_connections(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.max_live_connections_per_user = 2;
    })
    .await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let mut first = Connection::signed_in(&app, &finance).await;
    let _second = Connection::signed_in(&app, &finance).await;

    let bearer = |token: &str| json!({ "authorization": format!("Bearer {token}") });
    let mut third = Connection::open(&app, bearer(&finance)).await;
    match third.receive().await {
        Received::Closed(code) => assert_eq!(code, Some(4429)),
        other => panic!("expected the third connection closed, got {other:?}"),
    }
    let _other_user = Connection::signed_in(&app, &leadership).await;

    first.socket.close(None).await.unwrap();
    drop(first);
    // The server notices the close and gives the place back.
    let mut acknowledged = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut again = Connection::open(&app, bearer(&finance)).await;
        if let Received::Message(message) = again.receive().await
            && message["type"] == "connection_ack"
        {
            acknowledged = true;
            break;
        }
    }
    assert!(
        acknowledged,
        "the closed connection's place was not given back"
    );
}
both!(one_user_holds_a_bounded_number_of_connections);

/// At most `max_live_connections` are open in all: one more upgrade is refused with 429
/// and `Retry-After`, before any WebSocket is made.
async fn the_server_holds_a_bounded_number_of_connections(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.max_live_connections = 2;
    })
    .await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let _first = Connection::signed_in(&app, &finance).await;
    let _second = Connection::signed_in(&app, &leadership).await;
    match upgrade(&app).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(
                response.headers().contains_key("retry-after"),
                "{response:?}"
            );
        }
        Err(other) => panic!("expected a 429, got {other:?}"),
        Ok(_) => panic!("a third connection was opened"),
    }
}
both!(the_server_holds_a_bounded_number_of_connections);

/// A connection that never sends `connection_init` is closed with 4408 when its time is up.
async fn a_connection_that_never_signs_in_is_closed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.live_init_timeout = Duration::from_millis(300);
    })
    .await;
    let socket = upgrade(&app).await.expect("the WebSocket opens");
    let mut connection = Connection { socket };
    match connection.receive().await {
        Received::Closed(code) => assert_eq!(code, Some(4408)),
        other => panic!("expected the connection closed, got {other:?}"),
    }
}
both!(a_connection_that_never_signs_in_is_closed);

/// Writes an approval's audit entry in a transaction of its own, left open.
async fn open_approval(app: &TestApp, item_id: i64) -> sea_orm::DatabaseTransaction {
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};
    let txn = app.db.begin().await.unwrap();
    ecoplan::entity::audit_log::ActiveModel {
        at: Set(chrono::Utc::now()),
        actor_id: Set(None),
        actor_role: Set("LEADERSHIP".to_owned()),
        action: Set("progressReport.approve".to_owned()),
        item_type: Set("PROGRESS_REPORT".to_owned()),
        item_id: Set(item_id),
        before: Set(None),
        after: Set(None),
        request_id: Set("test".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .unwrap();
    txn
}

/// The next event the feed hands out within two seconds, by its submission's id.
async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<
        std::sync::Arc<ecoplan::service::submission_events::SubmissionEvent>,
    >,
) -> Option<i64> {
    tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .ok()
        .map(|event| event.expect("the feed keeps up").submission_id)
}

/// An entry's id is taken when it is written and seen when it commits: on PostgreSQL an
/// earlier id can commit after a later one was read, and its event must not be lost. On
/// SQLite writers take turns, so the case is a rolled-back entry that never commits.
async fn an_event_whose_change_commits_late_is_still_heard(backend: Backend) {
    use ecoplan::service::submission_events::SubmissionFeed;
    let app = TestApp::spawn(backend).await;
    let feed = SubmissionFeed::start(app.db.clone(), Duration::from_millis(20));
    let mut events = feed.listen().await.unwrap();
    if backend == Backend::Postgres {
        let slow = open_approval(&app, 1).await;
        open_approval(&app, 2).await.commit().await.unwrap();
        assert_eq!(next_event(&mut events).await, Some(2));
        slow.commit().await.unwrap();
        assert_eq!(next_event(&mut events).await, Some(1));
    } else {
        open_approval(&app, 1).await.rollback().await.unwrap();
        open_approval(&app, 2).await.commit().await.unwrap();
        assert_eq!(next_event(&mut events).await, Some(2));
    }
    // Each is heard once.
    open_approval(&app, 3).await.commit().await.unwrap();
    assert_eq!(next_event(&mut events).await, Some(3));
}
both!(an_event_whose_change_commits_late_is_still_heard);
