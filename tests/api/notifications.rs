//! Notifications: the outcome of a review told to the department (with the reason of a
//! rejection), reminders before a deadline and escalations after it, each made once
//! however often and on however many instances the scheduler runs; each caller reads
//! and marks only its own.

use std::time::{Duration, Instant};

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, error_code};
use crate::lights::clock_on;
use crate::steps::{approved, draft_report, rejected, submitted};

const NOTIFICATIONS: &str = r#"query($unreadOnly: Boolean) {
    notifications(unreadOnly: $unreadOnly) {
        totalCount nodes { id kind message read items { id label period } } } }"#;

async fn notifications_of(app: &TestApp, token: &str, unread_only: bool) -> Vec<Value> {
    let response = app
        .graphql_as(token, NOTIFICATIONS, json!({ "unreadOnly": unread_only }))
        .await;
    data(&response)["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(notices: &[Value]) -> Vec<String> {
    notices
        .iter()
        .map(|notice| notice["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_department_hears_of_its_reviews_and_only_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    assert!(notifications_of(&app, &finance, false).await.is_empty());
    let back = rejected(&app, &leadership, &sent, "請補充採購明細").await;
    let again = submitted(&app, &finance, &back).await;
    approved(&app, &leadership, &again).await;

    let notices = notifications_of(&app, &finance, false).await;
    // Unread first, then newest: the approval before the rejection.
    assert_eq!(kinds(&notices), ["APPROVED", "REJECTED"]);
    let rejection = &notices[1];
    let message = rejection["message"].as_str().unwrap();
    assert!(
        message.contains("請補充採購明細") && message.contains("task 36"),
        "{message}"
    );
    assert_eq!(rejection["items"][0]["id"], draft.id.as_str());
    assert_eq!(rejection["items"][0]["period"], "2022-Q2");
    // Nobody else hears of it.
    assert!(notifications_of(&app, &audit, false).await.is_empty());
    assert!(notifications_of(&app, &leadership, false).await.is_empty());

    // Another department cannot mark it; nothing is marked then.
    let mark = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id read readAt } }";
    let ids = json!({ "ids": [rejection["id"]] });
    let refused = app.graphql_as(&audit, mark, ids.clone()).await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"));
    let refused = app.graphql_as(&leadership, mark, ids.clone()).await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"));
    assert_eq!(notifications_of(&app, &finance, true).await.len(), 2);
    // One of its own and one of another's: refused whole.
    let both_ids = json!({ "ids": [rejection["id"], "Tm90aWZpY2F0aW9uOjk5OTk5"] });
    let refused = app.graphql_as(&finance, mark, both_ids).await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"));
    assert_eq!(notifications_of(&app, &finance, true).await.len(), 2);

    let marked = app.graphql_as(&finance, mark, ids).await;
    assert_eq!(data(&marked)["markNotificationsRead"][0]["read"], true);
    let unread = notifications_of(&app, &finance, true).await;
    assert_eq!(kinds(&unread), ["APPROVED"]);
    // Read ones come after the unread ones.
    let all = notifications_of(&app, &finance, false).await;
    assert_eq!(kinds(&all), ["APPROVED", "REJECTED"]);
    assert_eq!(all[1]["read"], true);

    let portal = app.token_for(Role::Portal, None).await;
    let response = app.graphql_as(&portal, NOTIFICATIONS, json!({})).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    let response = app.graphql(NOTIFICATIONS, json!({})).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
}
both!(a_department_hears_of_its_reviews_and_only_it);

/// A server on `app`'s database on that day, running the scheduler every 200 ms.
async fn scheduler_on(app: &TestApp, year: i32, month: u32, day: u32) -> TestApp {
    app.spawn_second_server_with(|settings| {
        settings.clock = clock_on(year, month, day);
        settings.reminders.interval = Duration::from_millis(200);
    })
    .await
}

/// Waits until `token` has at least `count` notifications.
async fn wait_for_notifications(app: &TestApp, token: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let notices = notifications_of(app, token, false).await;
        if notices.len() >= count {
            return notices;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} notifications came: {notices:#?}",
            notices.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn reminders_and_escalations_are_sent_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    // Five days before 2022-Q2's deadline: a reminder for each of finance's items.
    let near = scheduler_on(&app, 2022, 7, 5).await;
    let reminders = wait_for_notifications(&near, &finance, 2).await;
    assert!(kinds(&reminders).iter().all(|kind| kind == "REMINDER"));
    let labels: Vec<&str> = reminders
        .iter()
        .map(|notice| notice["items"][0]["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"task 36"), "{labels:?}");
    assert!(
        reminders
            .iter()
            .any(|notice| notice["message"].as_str().unwrap().contains("2022-07-10"))
    );
    assert!(
        reminders
            .iter()
            .all(|notice| notice["items"][0]["period"] == "2022-Q2")
    );

    // A second instance, and more runs of both: nothing twice.
    let twin = scheduler_on(&app, 2022, 7, 5).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let settled = notifications_of(&near, &finance, false).await.len();
    assert_eq!(settled, reminders.len());
    // After a restart, still nothing twice.
    drop(twin);
    drop(near);
    let restarted = scheduler_on(&app, 2022, 7, 5).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        notifications_of(&restarted, &finance, false).await.len(),
        settled
    );
    drop(restarted);

    // Finance sends its report in; after the deadline the missing value escalates, the
    // report does not.
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    submitted(&app, &finance, &draft).await;
    let after = scheduler_on(&app, 2022, 7, 12).await;
    let escalations = wait_for_notifications(&after, &leadership, 1).await;
    assert!(kinds(&escalations).iter().all(|kind| kind == "ESCALATION"));
    let about_task_36 = escalations
        .iter()
        .filter(|notice| {
            notice["items"][0]["label"] == "task 36" && notice["items"][0]["period"] == "2022-Q2"
        })
        .count();
    assert_eq!(about_task_36, 0, "{escalations:#?}");
    let first_count = escalations.len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let again = notifications_of(&after, &leadership, false).await;
    assert_eq!(again.len(), first_count);
    assert!(again.iter().any(|notice| {
        notice["message"]
            .as_str()
            .unwrap()
            .contains("deadline missed")
    }));
    // Finance is not told of the escalations.
    assert!(
        notifications_of(&after, &finance, false)
            .await
            .iter()
            .all(|notice| notice["kind"] == "REMINDER")
    );
}
both!(reminders_and_escalations_are_sent_once);
