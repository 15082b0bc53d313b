//! The dashboard: the whole plan for the leadership group, its own items for a department.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{approved, draft_report, draft_value, submitted};

pub const DASHBOARD: &str = r#"query($period: String) { dashboard(period: $period) {
    plan { key } period
    tasksByStatus { status count }
    sections { section { number } total notStarted inProgress completed overdue }
    departments { department { code } led reportedThisPeriod late overdue awaitingReview }
    indicatorsByStatus { status count }
    awaitingReviewCount
    awaitingReview { __typename id reviewStatus } } }"#;

pub async fn dashboard(app: &TestApp, token: &str, period: &str) -> Value {
    let response = app
        .graphql_as(token, DASHBOARD, json!({ "period": period }))
        .await;
    data(&response)["dashboard"].clone()
}

/// `[{status, count}]` as a map from status to count, leaving out zeros.
pub fn counts(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["status"].as_str().unwrap().to_owned(),
                row["count"].as_i64().unwrap(),
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect()
}

fn total(list: &Value) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_i64().unwrap())
        .sum()
}

/// The row of one department.
pub fn department_row<'a>(dashboard: &'a Value, code: &str) -> &'a Value {
    dashboard["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["department"]["code"] == code)
        .unwrap_or_else(|| panic!("no row for {code} in {dashboard:#}"))
}

async fn the_leadership_group_sees_the_whole_plan(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;

    let seen = dashboard(&app, &leadership, "2022-Q2").await;

    assert_eq!(seen["plan"]["key"], "tangshan-2022");
    assert_eq!(seen["period"], "2022-Q2");
    assert_eq!(total(&seen["tasksByStatus"]), 38);
    // Every task was due by the end of 2022.
    assert_eq!(counts(&seen["tasksByStatus"]), [("OVERDUE".to_owned(), 38)]);
    assert_eq!(total(&seen["indicatorsByStatus"]), 46);
    let sections: i64 = seen["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|section| section["total"].as_i64().unwrap())
        .sum();
    assert_eq!(sections, 38);
    assert_eq!(seen["departments"].as_array().unwrap().len(), 20);
    assert_eq!(
        department_row(&seen, "finance"),
        &json!({ "department": { "code": "finance" }, "led": 1, "reportedThisPeriod": 0,
                 "late": 0, "overdue": 1, "awaitingReview": 0 })
    );
    assert_eq!(seen["awaitingReviewCount"], 0);
    assert_eq!(seen["awaitingReview"], json!([]));

    assert_eq!(dashboard(&app, &admin, "2022-Q2").await, seen);
}
both!(the_leadership_group_sees_the_whole_plan);

async fn a_department_sees_only_its_own_items(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let task = app.task_id("36").await;
    // Another department's submission stays out of finance's dashboard.
    let other = draft_report(
        &app,
        &audit,
        &app.task_id("2.1").await,
        "2022-Q2",
        "IN_PROGRESS",
    )
    .await;
    submitted(&app, &audit, &other).await;
    let own = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let own = submitted(&app, &finance, &own).await;

    let seen = dashboard(&app, &finance, "2022-Q2").await;

    assert_eq!(total(&seen["tasksByStatus"]), 1);
    assert_eq!(total(&seen["indicatorsByStatus"]), 1);
    assert_eq!(
        seen["departments"],
        json!([{ "department": { "code": "finance" }, "led": 1, "reportedThisPeriod": 1,
                 "late": 1, "overdue": 1, "awaitingReview": 1 }])
    );
    assert_eq!(seen["awaitingReviewCount"], 1);
    assert_eq!(
        seen["awaitingReview"],
        json!([{ "__typename": "ProgressReport", "id": own.id, "reviewStatus": "SUBMITTED" }])
    );
}
both!(a_department_sees_only_its_own_items);

async fn the_portal_has_no_dashboard_and_anonymous_callers_must_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let portal = app.token_for(Role::Portal, None).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;

    let response = app
        .graphql_as(&portal, DASHBOARD, json!({ "period": "2022-Q2" }))
        .await;
    assert_error_code(&response, "FORBIDDEN");
    let response = app.graphql(DASHBOARD, json!({ "period": "2022-Q2" })).await;
    assert_error_code(&response, "UNAUTHENTICATED");
    let response = app
        .graphql_as(&finance, DASHBOARD, json!({ "period": "2022-05" }))
        .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    // Without a period, the current one.
    let response = app.graphql_as(&finance, DASHBOARD, json!({})).await;
    assert!(data(&response)["dashboard"]["period"].is_string());
}
both!(the_portal_has_no_dashboard_and_anonymous_callers_must_sign_in);

async fn the_dashboard_follows_the_review(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let before = dashboard(&app, &leadership, "2022-Q2").await;
    let no_data_before = counts(&before["indicatorsByStatus"])
        .into_iter()
        .find(|(status, _)| status == "NO_DATA")
        .map_or(0, |(_, count)| count);

    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;
    // Drafts are not awaiting review.
    assert_eq!(
        dashboard(&app, &leadership, "2022-Q2").await["awaitingReviewCount"],
        0
    );
    let report = submitted(&app, &finance, &report).await;
    let value = submitted(&app, &finance, &value).await;

    let during = dashboard(&app, &leadership, "2022-Q2").await;
    assert_eq!(during["awaitingReviewCount"], 2);
    assert_eq!(department_row(&during, "finance")["awaitingReview"], 2);
    assert_eq!(department_row(&during, "finance")["reportedThisPeriod"], 1);
    assert_eq!(department_row(&during, "finance")["late"], 2);
    let waiting: Vec<&str> = during["awaitingReview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, [report.id.as_str(), value.id.as_str()]);

    approved(&app, &leadership, &report).await;
    approved(&app, &leadership, &value).await;

    let after = dashboard(&app, &leadership, "2022-Q2").await;
    assert_eq!(after["awaitingReviewCount"], 0);
    assert_eq!(department_row(&after, "finance")["awaitingReview"], 0);
    assert_eq!(department_row(&after, "finance")["reportedThisPeriod"], 1);
    let indicators = counts(&after["indicatorsByStatus"]);
    assert!(
        indicators.contains(&("MET".to_owned(), 1)),
        "{indicators:?}"
    );
    assert!(
        indicators.contains(&("NO_DATA".to_owned(), no_data_before - 1)),
        "{indicators:?}"
    );
    // Another period has nothing reported.
    let other = dashboard(&app, &leadership, "2022-Q3").await;
    assert_eq!(department_row(&other, "finance")["reportedThisPeriod"], 0);
}
both!(the_dashboard_follows_the_review);
