//! The error codes are a typed contract: the schema's `ErrorCode` enum lists and describes
//! every code, and each code carries what a client needs to act on it.

use std::collections::BTreeSet;

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error_code, both, data, described_error_codes, error_code,
};
use crate::steps::{approve, draft_report, report_input, save_report, submitted};

fn extension<'r>(response: &'r Value, name: &str) -> &'r Value {
    &response["errors"][0]["extensions"][name]
}

/// The printed schema (which a test keeps equal to the served one) is what clients
/// generate their types from; no field returns the enum, so introspection does not show it.
#[test]
fn the_schema_lists_and_describes_every_error_code() {
    let described = described_error_codes();
    for (code, description) in &described {
        assert!(description.len() > 20, "{code} has no description");
    }
    let codes: BTreeSet<&str> = described.iter().map(|(code, _)| code.as_str()).collect();
    for code in [
        "BAD_USER_INPUT",
        "INVALID_CREDENTIALS",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "STALE_VERSION",
        "INVALID_STATE",
        "ALREADY_EXISTS",
        "TOO_MANY_ATTEMPTS",
        "TOO_MANY_REQUESTS",
        "TOO_MANY_ERRORS",
        "PERSISTED_QUERY_NOT_FOUND",
        "TIMEOUT",
        "INTERNAL",
    ] {
        assert!(codes.contains(code), "{code} is missing from {codes:?}");
    }
    assert!(!codes.contains("CONFLICT"), "{codes:?}");
}

async fn a_stale_version_says_the_current_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let input = report_input(&task, "2022-Q2", "IN_PROGRESS", "第二版");
    data(&save_report(&app, &finance, Some(&draft), input.clone()).await);

    let stale = save_report(&app, &finance, Some(&draft), input).await;
    assert_error_code(&stale, "STALE_VERSION");
    assert_eq!(extension(&stale, "currentVersion"), draft.version + 1);
}
both!(a_stale_version_says_the_current_one);

async fn a_change_the_state_refuses_says_the_state(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;

    let approving_a_draft = approve(&app, &leadership, &draft).await;
    assert_error_code(&approving_a_draft, "INVALID_STATE");
    assert_eq!(extension(&approving_a_draft, "state"), "DRAFT");

    let sent = submitted(&app, &finance, &draft).await;
    let input = report_input(&task, "2022-Q2", "COMPLETED", "提交後再改");
    let changing_a_submitted_one = save_report(&app, &finance, Some(&sent), input).await;
    assert_error_code(&changing_a_submitted_one, "INVALID_STATE");
    assert_eq!(extension(&changing_a_submitted_one, "state"), "SUBMITTED");

    let plan = app.plan_id().await;
    let close =
        "mutation($plan: ID!) { closePeriod(planId: $plan, period: \"2022-Q3\") { closed } }";
    data(
        &app.graphql_as(&leadership, close, json!({ "plan": plan }))
            .await,
    );
    let closing_again = app
        .graphql_as(&leadership, close, json!({ "plan": plan }))
        .await;
    assert_error_code(&closing_again, "INVALID_STATE");
    assert_eq!(extension(&closing_again, "state"), "CLOSED");
    let into_a_closed_period = save_report(
        &app,
        &finance,
        None,
        report_input(&task, "2022-Q3", "IN_PROGRESS", "關賬後"),
    )
    .await;
    assert_error_code(&into_a_closed_period, "INVALID_STATE");
    assert_eq!(extension(&into_a_closed_period, "state"), "CLOSED");
}
both!(a_change_the_state_refuses_says_the_state);

async fn a_username_taken_names_the_user_who_has_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let create = "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }";
    let input = json!({ "input": {
        "username": "duplicate.name", "password": "long enough password", "role": "PORTAL" } });
    let first = app.graphql_as(&admin, create, input.clone()).await;
    let first_id = data(&first)["createUser"]["id"].clone();

    let second = app.graphql_as(&admin, create, input).await;
    assert_error_code(&second, "ALREADY_EXISTS");
    assert_eq!(extension(&second, "existingId"), &first_id);
}
both!(a_username_taken_names_the_user_who_has_it);

async fn bad_user_input_names_the_field_to_blame(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let cases = [
        (
            "input.workDone",
            report_input(&task, "2022-Q2", "IN_PROGRESS", "  "),
        ),
        (
            "input.period",
            report_input(&task, "2022 second quarter", "IN_PROGRESS", "x"),
        ),
        (
            "input.taskId",
            report_input("not an id", "2022-Q2", "IN_PROGRESS", "x"),
        ),
    ];
    for (field, input) in cases {
        let response = save_report(&app, &finance, None, input).await;
        assert_error_code(&response, "BAD_USER_INPUT");
        assert_eq!(extension(&response, "field"), field, "{response:#}");
    }

    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    let no_reason = crate::steps::reject(&app, &leadership, &sent, " ").await;
    assert_error_code(&no_reason, "BAD_USER_INPUT");
    assert_eq!(extension(&no_reason, "field"), "reason");
}
both!(bad_user_input_names_the_field_to_blame);

async fn a_failed_sign_in_is_not_a_missing_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let login = "mutation { login(username: \"nobody\", password: \"a wrong guess\") { token } }";
    let failed = app.graphql(login, json!({})).await;
    assert_error_code(&failed, "INVALID_CREDENTIALS");

    let anonymous = app.graphql("{ plans { key } }", json!({})).await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
    let forged = app
        .graphql_as("not.a.token", "{ plans { key } }", json!({}))
        .await;
    assert_eq!(error_code(&forged), Some("UNAUTHENTICATED"));
}
both!(a_failed_sign_in_is_not_a_missing_token);
