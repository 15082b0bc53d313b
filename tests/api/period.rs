//! Reporting periods: their dates and deadline, and closing them to changes.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{
    Item, approve, draft_report, draft_value, pdf, report_input, save_report, save_value, submit,
    submitted, upload, value_input,
};

const CLOSE: &str = "mutation($plan: ID!, $period: String!) {
    closePeriod(planId: $plan, period: $period) { period closed changedAt changedBy { username } } }";
const REOPEN: &str = "mutation($plan: ID!, $period: String!, $reason: String!) {
    reopenPeriod(planId: $plan, period: $period, reason: $reason) { period closed } }";
const PERIOD: &str = "query($plan: ID!, $period: String!) {
    reportingPeriod(planId: $plan, period: $period) { period startsOn endsOn deadline closed changedAt } }";

async fn close(app: &TestApp, token: &str, plan: &str, period: &str) -> Value {
    app.graphql_as(token, CLOSE, json!({ "plan": plan, "period": period }))
        .await
}

async fn reopen_period(
    app: &TestApp,
    token: &str,
    plan: &str,
    period: &str,
    reason: &str,
) -> Value {
    app.graphql_as(
        token,
        REOPEN,
        json!({ "plan": plan, "period": period, "reason": reason }),
    )
    .await
}

async fn a_reporting_period_shows_its_dates_deadline_and_state(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let plan = app.plan_id().await;

    let response = app
        .graphql_as(
            &finance,
            PERIOD,
            json!({ "plan": plan, "period": "2022-Q4" }),
        )
        .await;

    assert_eq!(
        data(&response)["reportingPeriod"],
        json!({ "period": "2022-Q4", "startsOn": "2022-10-01", "endsOn": "2022-12-31",
                "deadline": "2023-01-10", "closed": false, "changedAt": null })
    );
    for period in ["2022-05", "2022-Q5", "abc", "2021-Q4", "2028-Q1"] {
        let response = app
            .graphql_as(&finance, PERIOD, json!({ "plan": plan, "period": period }))
            .await;
        assert_error_code(&response, "BAD_USER_INPUT");
    }
    let anonymous = app
        .graphql(PERIOD, json!({ "plan": plan, "period": "2022-Q2" }))
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
}
both!(a_reporting_period_shows_its_dates_deadline_and_state);

async fn a_closed_period_takes_no_saves_submissions_or_reviews(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.account(Role::Leadership, None).await;
    let plan = app.plan_id().await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;
    let value = submitted(&app, &finance, &value).await;

    let closed = close(&app, &leadership.token, &plan, "2022-Q2").await;
    let closed = &data(&closed)["closePeriod"];
    assert_eq!(closed["closed"], true);
    assert_eq!(
        closed["changedBy"]["username"],
        leadership.username.as_str()
    );
    let audit_entries = app.count_rows("audit_log").await;

    let response = save_report(
        &app,
        &finance,
        Some(&report),
        report_input(&task, "2022-Q2", "COMPLETED", "關賬後修改"),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");
    assert_error_code(&submit(&app, &finance, &report).await, "INVALID_STATE");
    assert_error_code(
        &approve(&app, &leadership.token, &value).await,
        "INVALID_STATE",
    );
    let response = save_value(
        &app,
        &finance,
        None,
        value_input(&indicator, "2022-Q2", 90.0),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");
    assert_eq!(app.count_rows("audit_log").await, audit_entries);

    // Other periods are open.
    draft_report(&app, &finance, &task, "2022-Q3", "IN_PROGRESS").await;

    let shown = app
        .graphql_as(
            &finance,
            PERIOD,
            json!({ "plan": plan, "period": "2022-Q2" }),
        )
        .await;
    assert_eq!(data(&shown)["reportingPeriod"]["closed"], true);
    assert!(data(&shown)["reportingPeriod"]["changedAt"].is_string());

    let reopened = reopen_period(&app, &leadership.token, &plan, "2022-Q2", "補報遺漏數據").await;
    assert_eq!(data(&reopened)["reopenPeriod"]["closed"], false);
    data(&submit(&app, &finance, &report).await);
    data(&approve(&app, &leadership.token, &value).await);
}
both!(a_closed_period_takes_no_saves_submissions_or_reviews);

async fn closing_twice_is_a_conflict_and_reopening_needs_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let plan = app.plan_id().await;

    assert_error_code(
        &reopen_period(&app, &leadership, &plan, "2022-Q2", "未關閉").await,
        "INVALID_STATE",
    );
    data(&close(&app, &leadership, &plan, "2022-Q2").await);
    assert_error_code(
        &close(&app, &leadership, &plan, "2022-Q2").await,
        "INVALID_STATE",
    );
    assert_error_code(
        &reopen_period(&app, &leadership, &plan, "2022-Q2", "  ").await,
        "BAD_USER_INPUT",
    );
    assert_error_code(
        &close(&app, &leadership, &plan, "2022-Q9").await,
        "BAD_USER_INPUT",
    );
    data(&reopen_period(&app, &leadership, &plan, "2022-Q2", "補報").await);
    // Closed again after reopening.
    data(&close(&app, &leadership, &plan, "2022-Q2").await);
}
both!(closing_twice_is_a_conflict_and_reopening_needs_a_reason);

async fn only_the_leadership_group_and_administrators_close_and_reopen_periods(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let plan = app.plan_id().await;
    let admin = app.admin_token().await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let portal = app.token_for(Role::Portal, None).await;

    for token in [&finance, &portal] {
        assert_error_code(&close(&app, token, &plan, "2022-Q2").await, "FORBIDDEN");
    }
    let anonymous = app
        .graphql(CLOSE, json!({ "plan": plan, "period": "2022-Q2" }))
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");

    data(&close(&app, &admin, &plan, "2022-Q2").await);
    for token in [&finance, &portal] {
        assert_error_code(
            &reopen_period(&app, token, &plan, "2022-Q2", "想重開").await,
            "FORBIDDEN",
        );
    }
    data(&reopen_period(&app, &admin, &plan, "2022-Q2", "管理員重開").await);
}
both!(only_the_leadership_group_and_administrators_close_and_reopen_periods);

async fn a_closed_period_takes_no_evidence_for_its_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let plan = app.plan_id().await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;
    let attached = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "採購通知", "progressReportId": report.id }),
        "通知.pdf",
        pdf(),
    )
    .await;
    let attached = Item::from_response(&attached, "uploadEvidence");
    data(&close(&app, &leadership, &plan, "2022-Q2").await);

    for input in [
        json!({ "taskId": task, "title": "補充材料", "progressReportId": report.id }),
        json!({ "taskId": task, "title": "補充材料", "indicatorValueId": value.id }),
    ] {
        let response = upload(&app, Some(&finance), input, "補充.pdf", pdf()).await;
        assert_error_code(&response, "INVALID_STATE");
    }
    let response = app
        .graphql_as(
            &finance,
            "mutation($id: ID!) { deleteEvidence(id: $id, version: 1) { deletedEvidenceId } }",
            json!({ "id": attached.id }),
        )
        .await;
    assert_error_code(&response, "INVALID_STATE");
    assert_eq!(app.count_rows("evidence").await, 1);
    assert_eq!(app.stored_files().len(), 1);

    // Evidence that backs no report or value belongs to no period.
    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "工作方案" }),
        "方案.pdf",
        pdf(),
    )
    .await;
    data(&response);
}
both!(a_closed_period_takes_no_evidence_for_its_reports);
