//! Where tasks and indicators stand: task status from approved reports and due dates,
//! indicator status from approved values and targets.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{
    approved, approved_report, approved_value, draft_report, draft_value, submitted,
};

const SET_DUE: &str = "mutation($task: ID!, $due: Date!) { setTaskDueDate(taskId: $task, dueOn: $due) { code dueOn status } }";
const SET_TARGET: &str = "mutation($indicator: ID!, $year: Int!, $value: Float!, $note: String) {
    setExternalTarget(indicatorId: $indicator, year: $year, value: $value, note: $note) {
        status externalTargets { year value note setBy { username } } } }";
const INDICATOR: &str = "query($id: ID!) { indicator(id: $id) {
    status latestValue { value period }
    assessment { status comparedWith comparedWithLabel value { value period } } } }";

async fn task_status(app: &TestApp, token: &str, code: &str) -> Value {
    let response = app
        .graphql_as(
            token,
            "query($code: String!) { task(code: $code) { status dueOn } }",
            json!({ "code": code }),
        )
        .await;
    data(&response)["task"]["status"].clone()
}

async fn indicator(app: &TestApp, token: &str, id: &str) -> Value {
    let response = app.graphql_as(token, INDICATOR, json!({ "id": id })).await;
    data(&response)["indicator"].clone()
}

async fn set_due(app: &TestApp, token: &str, task: &str, due: &str) -> Value {
    app.graphql_as(token, SET_DUE, json!({ "task": task, "due": due }))
        .await
}

async fn set_target(app: &TestApp, token: &str, indicator: &str, year: i32, value: f64) -> Value {
    app.graphql_as(
        token,
        SET_TARGET,
        json!({ "indicator": indicator, "year": year, "value": value, "note": "省定考核目標" }),
    )
    .await
}

async fn a_task_not_completed_by_its_due_date_is_overdue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let response = app
        .graphql_as(
            &finance,
            r#"{ task(code: "36") { dueOn status } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data(&response)["task"],
        json!({ "dueOn": "2022-12-31", "status": "OVERDUE" })
    );

    approved_report(&app, &finance, &leadership, &task, "2022-Q4", "COMPLETED").await;
    assert_eq!(task_status(&app, &finance, "36").await, "COMPLETED");
}
both!(a_task_not_completed_by_its_due_date_is_overdue);

async fn a_task_moves_from_not_started_to_completed_as_approved_reports_come_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let response = set_due(&app, &leadership, &task, "2027-12-31").await;
    assert_eq!(
        data(&response)["setTaskDueDate"],
        json!({ "code": "36", "dueOn": "2027-12-31", "status": "NOT_STARTED" })
    );

    // Drafts and submissions do not count until they are approved.
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    assert_eq!(task_status(&app, &finance, "36").await, "NOT_STARTED");
    approved(&app, &leadership, &sent).await;
    assert_eq!(task_status(&app, &finance, "36").await, "IN_PROGRESS");

    approved_report(&app, &finance, &leadership, &task, "2022-Q3", "COMPLETED").await;
    assert_eq!(task_status(&app, &leadership, "36").await, "COMPLETED");
    // What the portal sees is the same.
    let portal = app.token_for(Role::Portal, None).await;
    assert_eq!(task_status(&app, &portal, "36").await, "COMPLETED");
}
both!(a_task_moves_from_not_started_to_completed_as_approved_reports_come_in);

async fn a_task_with_several_leads_is_completed_when_every_lead_says_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("9").await;
    data(&set_due(&app, &leadership, &task, "2027-12-31").await);
    let mut leads = Vec::new();
    for code in ["ecology-environment", "water-resources", "urban-management"] {
        leads.push(app.token_for(Role::Department, Some(code)).await);
    }

    approved_report(&app, &leads[0], &leadership, &task, "2022-Q2", "COMPLETED").await;
    assert_eq!(task_status(&app, &leadership, "9").await, "IN_PROGRESS");
    approved_report(&app, &leads[1], &leadership, &task, "2022-Q2", "COMPLETED").await;
    assert_eq!(task_status(&app, &leadership, "9").await, "IN_PROGRESS");
    approved_report(
        &app,
        &leads[2],
        &leadership,
        &task,
        "2022-Q2",
        "IN_PROGRESS",
    )
    .await;
    assert_eq!(task_status(&app, &leadership, "9").await, "IN_PROGRESS");
    // The latest approved report of each lead is what counts.
    approved_report(&app, &leads[2], &leadership, &task, "2022-Q3", "COMPLETED").await;
    assert_eq!(task_status(&app, &leadership, "9").await, "COMPLETED");
}
both!(a_task_with_several_leads_is_completed_when_every_lead_says_so);

async fn only_the_leadership_group_sets_due_dates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let task = app.task_id("36").await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let admin = app.admin_token().await;

    for token in [&finance, &portal] {
        assert_error_code(
            &set_due(&app, token, &task, "2027-12-31").await,
            "FORBIDDEN",
        );
    }
    let anonymous = app
        .graphql(SET_DUE, json!({ "task": task, "due": "2027-12-31" }))
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
    assert_error_code(
        &set_due(&app, &admin, &task, "2021-12-31").await,
        "BAD_USER_INPUT",
    );
    assert_error_code(
        &set_due(&app, &admin, &task, "not a date").await,
        "BAD_USER_INPUT",
    );

    let response = set_due(&app, &admin, &task, "2023-06-30").await;
    assert_eq!(data(&response)["setTaskDueDate"]["dueOn"], "2023-06-30");
    let history = app
        .graphql_as(
            &admin,
            r#"{ task(code: "36") { history { nodes { action actorRole before after } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data(&history)["task"]["history"]["nodes"],
        json!([{ "action": "task.setDueDate", "actorRole": "ADMIN",
                 "before": { "dueOn": null }, "after": { "dueOn": "2023-06-30" } }])
    );
}
both!(only_the_leadership_group_sets_due_dates);

async fn an_at_least_indicator_is_met_by_its_latest_approved_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    // 綠色產品政府採購比例 ≥ 80.
    let id = app.indicator_id("36", 0).await;

    let seen = indicator(&app, &finance, &id).await;
    assert_eq!(seen["status"], "NO_DATA");
    assert_eq!(seen["latestValue"], Value::Null);

    // A value that is not approved does not count.
    let draft = draft_value(&app, &finance, &id, "2022-Q2", 85.0).await;
    let sent = submitted(&app, &finance, &draft).await;
    assert_eq!(indicator(&app, &finance, &id).await["status"], "NO_DATA");
    approved(&app, &leadership, &sent).await;
    assert_eq!(
        indicator(&app, &finance, &id).await,
        json!({ "status": "MET", "latestValue": { "value": 85.0, "period": "2022-Q2" },
                "assessment": { "status": "MET", "comparedWith": 80.0, "comparedWithLabel": "target",
                                "value": { "value": 85.0, "period": "2022-Q2" } } })
    );

    approved_value(&app, &finance, &leadership, &id, "2022-Q3", 70.0).await;
    let seen = indicator(&app, &finance, &id).await;
    assert_eq!(seen["status"], "NOT_MET");
    assert_eq!(seen["latestValue"]["value"], 70.0);

    // A later draft leaves the latest approved value where it is.
    draft_value(&app, &finance, &id, "2022-Q4", 95.0).await;
    let seen = indicator(&app, &finance, &id).await;
    assert_eq!(seen["status"], "NOT_MET");
    assert_eq!(seen["latestValue"]["period"], "2022-Q3");
}
both!(an_at_least_indicator_is_met_by_its_latest_approved_value);

async fn an_external_indicator_is_judged_once_its_target_for_the_year_is_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let leadership = app.account(Role::Leadership, None).await;
    // 優良天數比例: 完成國家及省定考核目標任務.
    let id = app.indicator_id("8", 0).await;

    assert_eq!(
        indicator(&app, &ecology, &id).await["status"],
        "TARGET_NOT_SET"
    );
    approved_value(&app, &ecology, &leadership.token, &id, "2022-Q2", 80.0).await;
    let seen = indicator(&app, &ecology, &id).await;
    assert_eq!(seen["status"], "TARGET_NOT_SET");
    assert_eq!(seen["latestValue"]["value"], 80.0);

    // A target for another year does not judge a 2022 value.
    data(&set_target(&app, &leadership.token, &id, 2023, 70.0).await);
    assert_eq!(
        indicator(&app, &ecology, &id).await["status"],
        "TARGET_NOT_SET"
    );

    let response = set_target(&app, &leadership.token, &id, 2022, 75.0).await;
    let set = &data(&response)["setExternalTarget"];
    assert_eq!(set["status"], "MET");
    assert_eq!(
        set["externalTargets"],
        json!([
            { "year": 2022, "value": 75.0, "note": "省定考核目標", "setBy": { "username": leadership.username } },
            { "year": 2023, "value": 70.0, "note": "省定考核目標", "setBy": { "username": leadership.username } },
        ])
    );
    let seen = indicator(&app, &ecology, &id).await;
    assert_eq!(seen["assessment"]["comparedWith"], 75.0);
    assert_eq!(
        seen["assessment"]["comparedWithLabel"],
        "target set for 2022"
    );

    data(&set_target(&app, &leadership.token, &id, 2022, 85.0).await);
    let seen = indicator(&app, &ecology, &id).await;
    assert_eq!(seen["status"], "NOT_MET");
    assert_eq!(seen["assessment"]["comparedWith"], 85.0);

    // The indicator's history holds the targets entered; the portal's view holds none.
    let query =
        "query($id: ID!) { indicator(id: $id) { history { nodes { action actorRole after } } } }";
    let history = app.graphql_as(&ecology, query, json!({ "id": id })).await;
    let history = data(&history)["indicator"]["history"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let actions: Vec<&str> = history
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["indicator.setExternalTarget"; 3]);
    assert_eq!(history[2]["actorRole"], "LEADERSHIP");
    assert_eq!(history[2]["after"]["value"], 85.0);
    let portal = app.token_for(Role::Portal, None).await;
    let history = app.graphql_as(&portal, query, json!({ "id": id })).await;
    assert_eq!(data(&history)["indicator"]["history"]["nodes"], json!([]));
}
both!(an_external_indicator_is_judged_once_its_target_for_the_year_is_set);

async fn external_targets_are_set_by_the_leadership_group_on_external_indicators_only(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let portal = app.token_for(Role::Portal, None).await;
    let external = app.indicator_id("8", 0).await;
    let at_least = app.indicator_id("36", 0).await;

    assert_error_code(
        &set_target(&app, &leadership, &at_least, 2022, 80.0).await,
        "BAD_USER_INPUT",
    );
    for year in [2021, 2028] {
        assert_error_code(
            &set_target(&app, &leadership, &external, year, 80.0).await,
            "BAD_USER_INPUT",
        );
    }
    for token in [&ecology, &portal] {
        assert_error_code(
            &set_target(&app, token, &external, 2022, 80.0).await,
            "FORBIDDEN",
        );
    }
    let anonymous = app
        .graphql(
            SET_TARGET,
            json!({ "indicator": external, "year": 2022, "value": 80.0 }),
        )
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
    assert_eq!(app.count_rows("external_target").await, 0);
}
both!(external_targets_are_set_by_the_leadership_group_on_external_indicators_only);

async fn improve_and_no_decrease_indicators_compare_with_the_previous_approved_value(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let leadership = app.token_for(Role::Leadership, None).await;
    // 一般工業固體廢物綜合利用率: 保持穩定或持續改善 (IMPROVE, higher is better).
    let improve = app.indicator_id("25", 0).await;
    // 特有性或指示性水生物種保持率: 不降低 (NO_DECREASE).
    let no_decrease = app.indicator_id("13", 0).await;

    for id in [&improve, &no_decrease] {
        assert_eq!(indicator(&app, &ecology, id).await["status"], "NO_DATA");
        approved_value(&app, &ecology, &leadership, id, "2022-Q1", 80.0).await;
        // One approved value has nothing to be compared with.
        assert_eq!(
            indicator(&app, &ecology, id).await["status"],
            "TARGET_NOT_SET"
        );

        approved_value(&app, &ecology, &leadership, id, "2022-Q2", 85.0).await;
        let seen = indicator(&app, &ecology, id).await;
        assert_eq!(
            seen["assessment"],
            json!({ "status": "MET", "comparedWith": 80.0,
                    "comparedWithLabel": "approved value of 2022-Q1",
                    "value": { "value": 85.0, "period": "2022-Q2" } })
        );

        approved_value(&app, &ecology, &leadership, id, "2022-Q3", 70.0).await;
        let seen = indicator(&app, &ecology, id).await;
        assert_eq!(seen["status"], "NOT_MET");
        assert_eq!(seen["assessment"]["comparedWith"], 85.0);
    }
}
both!(improve_and_no_decrease_indicators_compare_with_the_previous_approved_value);
