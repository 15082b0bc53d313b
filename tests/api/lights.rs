//! Traffic lights across a period's life: the same data seen by servers whose clocks
//! stand before, near and after 2022-Q2's deadline (2022-07-10), each light with the rule
//! that set it; the `light` filter; and the dashboard's counts by light.

use chrono::{TimeZone, Utc};
use ecoplan::service::clock::Clock;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data};
use crate::steps::{approved, draft_report, draft_value, rejected, submitted};

/// A clock that reads 09:00 city time on that day.
pub fn clock_on(year: i32, month: u32, day: u32) -> Clock {
    // 09:00 in Tangshan is 01:00 UTC.
    Clock::starting_at(Utc.with_ymd_and_hms(year, month, day, 1, 0, 0).unwrap())
}

/// A server on `app`'s database whose clock reads that day.
pub async fn server_on(app: &TestApp, year: i32, month: u32, day: u32) -> TestApp {
    app.spawn_second_server_with(|settings| settings.clock = clock_on(year, month, day))
        .await
}

const TASK_LIGHT: &str = r#"query($id: ID!, $period: String) {
    node(id: $id) { ... on Task { light(period: $period) lightReason(period: $period) } } }"#;

const INDICATOR_LIGHT: &str = r#"query($id: ID!, $period: String) {
    node(id: $id) { ... on Indicator { light(period: $period) lightReason(period: $period) } } }"#;

/// The light and reason of a task or indicator, as `token` sees it.
async fn light_of(
    app: &TestApp,
    token: &str,
    query: &str,
    id: &str,
    period: Option<&str>,
) -> (String, String) {
    let response = app
        .graphql_as(token, query, json!({ "id": id, "period": period }))
        .await;
    let node = &data(&response)["node"];
    (
        node["light"].as_str().unwrap().to_owned(),
        node["lightReason"].as_str().unwrap().to_owned(),
    )
}

#[track_caller]
fn assert_light(judged: &(String, String), light: &str, reason: &str) {
    assert_eq!(judged.0, light, "{judged:?}");
    assert!(
        judged.1.contains(reason),
        "{judged:?} does not say `{reason}`"
    );
}

async fn a_tasks_light_follows_its_period_from_green_to_red(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let q2 = Some("2022-Q2");

    let before = server_on(&app, 2022, 5, 15).await;
    let judged = light_of(&before, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "GREEN", "on track");

    let near = server_on(&app, 2022, 7, 5).await;
    let judged = light_of(&near, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "YELLOW", "due soon");
    assert!(judged.1.contains("2022-07-10") && judged.1.contains("5 days left"));
    // The department sees the same light on its own task.
    let judged = light_of(&near, &finance, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "YELLOW", "due soon");

    let after = server_on(&app, 2022, 7, 12).await;
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "RED", "deadline missed");
    assert!(judged.1.contains("市財政局"), "{judged:?}");

    // A draft is not a submission; a submitted report is.
    let draft = draft_report(&after, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "RED", "deadline missed");
    let sent = submitted(&after, &finance, &draft).await;
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "GREEN", "on track");

    // Rejected and not sent again: yellow, until it is submitted again.
    let back = rejected(&after, &leadership, &sent, "請補充採購明細").await;
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "YELLOW", "rejected");
    submitted(&after, &finance, &back).await;
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, q2).await;
    assert_light(&judged, "GREEN", "on track");

    // The default period is the one containing today (2022-Q3 on 12 July): not due yet.
    let judged = light_of(&after, &leadership, TASK_LIGHT, &task, None).await;
    assert_light(&judged, "GREEN", "on track");
}
both!(a_tasks_light_follows_its_period_from_green_to_red);

async fn a_task_not_started_late_in_the_year_and_one_past_its_due_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    // 46 days of 364 left, under the default quarter, and Q4's deadline far off.
    let late_in_year = server_on(&app, 2022, 11, 15).await;
    let judged = light_of(&late_in_year, &leadership, TASK_LIGHT, &task, None).await;
    assert_light(&judged, "YELLOW", "running out of time");
    // With a threshold of a tenth, the same day is still green.
    let strict = app
        .spawn_second_server_with(|settings| {
            settings.clock = clock_on(2022, 11, 15);
            settings.lights.time_left_share = 0.1;
        })
        .await;
    let judged = light_of(&strict, &leadership, TASK_LIGHT, &task, None).await;
    assert_light(&judged, "GREEN", "on track");

    let next_year = server_on(&app, 2023, 1, 15).await;
    let judged = light_of(&next_year, &leadership, TASK_LIGHT, &task, None).await;
    assert_light(&judged, "RED", "task overdue");
    assert!(judged.1.contains("2022-12-31"), "{judged:?}");
}
both!(a_task_not_started_late_in_the_year_and_one_past_its_due_date);

async fn an_indicators_light_says_when_its_value_misses_the_target(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let indicator = app.indicator_id("36", 0).await;
    let q2 = Some("2022-Q2");

    let near = server_on(&app, 2022, 7, 8).await;
    let judged = light_of(&near, &leadership, INDICATOR_LIGHT, &indicator, q2).await;
    assert_light(&judged, "YELLOW", "due soon");

    let after = server_on(&app, 2022, 7, 11).await;
    let judged = light_of(&after, &leadership, INDICATOR_LIGHT, &indicator, q2).await;
    assert_light(&judged, "RED", "deadline missed");

    // A value under the target (≥ 80 %), approved: red for not meeting it.
    let draft = draft_value(&after, &finance, &indicator, "2022-Q2", 60.0).await;
    let sent = submitted(&after, &finance, &draft).await;
    approved(&after, &leadership, &sent).await;
    let judged = light_of(&after, &leadership, INDICATOR_LIGHT, &indicator, q2).await;
    assert_light(&judged, "RED", "target not met");
    assert!(
        judged.1.contains("60") && judged.1.contains("80"),
        "{judged:?}"
    );

    // A value that meets it, for the next period: green.
    let late = server_on(&app, 2022, 10, 2).await;
    let draft = draft_value(&late, &finance, &indicator, "2022-Q3", 85.0).await;
    let sent = submitted(&late, &finance, &draft).await;
    approved(&late, &leadership, &sent).await;
    let judged = light_of(
        &late,
        &leadership,
        INDICATOR_LIGHT,
        &indicator,
        Some("2022-Q3"),
    )
    .await;
    assert_light(&judged, "GREEN", "on track");
}
both!(an_indicators_light_says_when_its_value_misses_the_target);

fn codes_of(response: &Value, field: &str) -> Vec<String> {
    data(response)[field]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn the_light_filter_and_the_dashboards_counts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let after = server_on(&app, 2022, 7, 12).await;
    let task = app.task_id("36").await;

    let tasks = r#"query($light: Light!) {
        tasks(filter: { light: $light, period: "2022-Q2", topLevelOnly: true }) { totalCount nodes { code } } }"#;
    let dashboard = r#"{ dashboard(period: "2022-Q2") {
        tasksByLight { light count } indicatorsByLight { light count }
        departments { department { code } light lightReason } } }"#;
    let count = |response: &Value, field: &str, light: &str| -> u64 {
        data(response)["dashboard"][field]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["light"] == light)
            .map(|row| row["count"].as_u64().unwrap())
            .unwrap()
    };

    let red_before = after
        .graphql_as(&leadership, tasks, json!({ "light": "RED" }))
        .await;
    let red_count = data(&red_before)["tasks"]["totalCount"].as_u64().unwrap();
    assert!(codes_of(&red_before, "tasks").contains(&"36".to_owned()));
    let green = after
        .graphql_as(&leadership, tasks, json!({ "light": "GREEN" }))
        .await;
    assert!(codes_of(&green, "tasks").is_empty(), "{green:#}");
    let board = after.graphql_as(&leadership, dashboard, json!({})).await;
    assert_eq!(count(&board, "tasksByLight", "RED"), red_count);
    assert_eq!(count(&board, "tasksByLight", "GREEN"), 0);
    let finance_row = |board: &Value| {
        data(board)["dashboard"]["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["department"]["code"] == "finance")
            .cloned()
            .unwrap()
    };
    let row = finance_row(&board);
    assert_eq!(row["light"], "RED");
    assert!(
        row["lightReason"].as_str().unwrap().contains("task 36"),
        "{row}"
    );

    let draft = draft_report(&after, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    submitted(&after, &finance, &draft).await;

    let green = after
        .graphql_as(&leadership, tasks, json!({ "light": "GREEN" }))
        .await;
    assert_eq!(codes_of(&green, "tasks"), vec!["36".to_owned()]);
    let red_after = after
        .graphql_as(&leadership, tasks, json!({ "light": "RED" }))
        .await;
    assert_eq!(
        data(&red_after)["tasks"]["totalCount"].as_u64(),
        Some(red_count - 1)
    );
    let board = after.graphql_as(&leadership, dashboard, json!({})).await;
    assert_eq!(count(&board, "tasksByLight", "GREEN"), 1);
    assert_eq!(count(&board, "tasksByLight", "RED"), red_count - 1);
    // The indicator has no value yet: the department stays red for it.
    assert_eq!(finance_row(&board)["light"], "RED");
    let indicators = r#"{ indicators(filter: { light: RED, period: "2022-Q2", departmentCode: "finance" }) {
        totalCount } }"#;
    let red_indicators = after.graphql_as(&finance, indicators, json!({})).await;
    assert!(
        data(&red_indicators)["indicators"]["totalCount"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(count(&board, "indicatorsByLight", "RED") >= 1);
}
both!(the_light_filter_and_the_dashboards_counts);

async fn the_portals_lights_follow_the_plan_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let portal = app.token_for(Role::Portal, None).await;
    let task = app.task_id("36").await;
    // The portal sees no review states: a missing report does not show; a task past its
    // due date does.
    let after = server_on(&app, 2022, 7, 12).await;
    let judged = light_of(&after, &portal, TASK_LIGHT, &task, Some("2022-Q2")).await;
    assert_light(&judged, "GREEN", "on track");
    let next_year = server_on(&app, 2023, 1, 15).await;
    let judged = light_of(&next_year, &portal, TASK_LIGHT, &task, None).await;
    assert_light(&judged, "RED", "task overdue");
}
both!(the_portals_lights_follow_the_plan_alone);

async fn a_period_the_plan_does_not_have_is_bad_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let response = app
        .graphql_as(
            &leadership,
            TASK_LIGHT,
            json!({ "id": task, "period": "2022-Q9" }),
        )
        .await;
    assert_eq!(
        crate::helpers::error_code(&response),
        Some("BAD_USER_INPUT")
    );
}
both!(a_period_the_plan_does_not_have_is_bad_input);
