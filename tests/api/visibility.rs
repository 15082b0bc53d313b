//! Who sees which submissions: a department its own, the leadership group all, the portal
//! only approved reports and values, without the names of the people behind them.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{approved, draft_report, draft_value, submit, submitted};

const TASK_9: &str = r#"query($ecology: ID!, $water: ID!) {
    task(code: "9") { progressReports { nodes { id department { code } } } }
    ecology: node(id: $ecology) { id }
    water: node(id: $water) { id } }"#;

fn departments_of(reports: &Value) -> Vec<String> {
    let mut codes: Vec<String> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|report| report["department"]["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

async fn a_department_sees_only_its_own_departments_submissions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let water = app
        .token_for(Role::Department, Some("water-resources"))
        .await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("9").await;
    let theirs = draft_report(&app, &ecology, &task, "2022-Q2", "IN_PROGRESS").await;
    let ours = draft_report(&app, &water, &task, "2022-Q2", "IN_PROGRESS").await;
    let ids = json!({ "ecology": theirs.id, "water": ours.id });

    let seen = app.graphql_as(&water, TASK_9, ids.clone()).await;
    let seen = data(&seen);
    assert_eq!(
        departments_of(&seen["task"]["progressReports"]["nodes"]),
        ["water-resources"]
    );
    assert_eq!(seen["ecology"], Value::Null);
    assert_eq!(seen["water"]["id"], ours.id.as_str());

    let seen = app.graphql_as(&leadership, TASK_9, ids).await;
    let seen = data(&seen);
    assert_eq!(
        departments_of(&seen["task"]["progressReports"]["nodes"]),
        ["ecology-environment", "water-resources"]
    );
    assert_eq!(seen["ecology"]["id"], theirs.id.as_str());
}
both!(a_department_sees_only_its_own_departments_submissions);

const SHARED_VALUES: &str = "query($id: ID!) { indicator(id: $id) { values { nodes {
    id version period achieved text department { code }
    history { nodes { action actor { username } } } } } } }";

async fn username(app: &TestApp, token: &str) -> String {
    let me = app
        .graphql_as(token, "{ me { username } }", json!({}))
        .await;
    data(&me)["me"]["username"].as_str().unwrap().to_owned()
}

/// Indicator 9's second one is answered by 市生態環境局 and 市水利局 together: one value a
/// period, which either may draft, revise and submit, and a department that does not
/// answer for it neither sees nor touches.
async fn departments_that_share_an_indicator_work_on_its_one_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let water = app
        .token_for(Role::Department, Some("water-resources"))
        .await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let shared = app.indicator_id("9", 1).await;
    let drafted = app
        .graphql_as(
            &ecology,
            crate::steps::SAVE_VALUE,
            json!({ "input": { "indicatorId": shared, "period": "2022-Q2", "achieved": true } }),
        )
        .await;
    let drafted = crate::steps::Item::from_response(&drafted, "saveIndicatorValue");

    // The other department sees the value its partner drafted, and is told of it rather
    // than refused for something it cannot see when it tries to draft a second one.
    let seen = app
        .graphql_as(&water, SHARED_VALUES, json!({ "id": shared }))
        .await;
    let nodes = &data(&seen)["indicator"]["values"]["nodes"];
    assert_eq!(nodes.as_array().unwrap().len(), 1, "{seen:#}");
    assert_eq!(nodes[0]["id"], drafted.id.as_str());
    assert_eq!(nodes[0]["department"]["code"], "ecology-environment");
    let second = app
        .graphql_as(
            &water,
            crate::steps::SAVE_VALUE,
            json!({ "input": { "indicatorId": shared, "period": "2022-Q2", "achieved": false } }),
        )
        .await;
    assert_error_code(&second, "ALREADY_EXISTS");
    assert_eq!(second["errors"][0]["extensions"]["currentVersion"], 1);

    // It revises the value, and its partner's stale copy is refused.
    let revised = app
        .graphql_as(
            &water,
            crate::steps::SAVE_VALUE,
            json!({ "id": drafted.id, "version": 1, "input": {
                "indicatorId": shared, "period": "2022-Q2", "achieved": false, "text": "水功能區達標率待核" } }),
        )
        .await;
    let revised = crate::steps::Item::from_response(&revised, "saveIndicatorValue");
    assert_eq!(revised.version, 2);
    let stale = app
        .graphql_as(
            &ecology,
            crate::steps::SAVE_VALUE,
            json!({ "id": drafted.id, "version": 1, "input": {
                "indicatorId": shared, "period": "2022-Q2", "achieved": true } }),
        )
        .await;
    assert_error_code(&stale, "STALE_VERSION");

    // A department that does not answer for the indicator finds nothing there.
    let seen = app
        .graphql_as(&finance, SHARED_VALUES, json!({ "id": shared }))
        .await;
    assert_eq!(data(&seen)["indicator"], Value::Null);
    let foreign = app
        .graphql_as(
            &finance,
            crate::steps::SAVE_VALUE,
            json!({ "id": drafted.id, "version": 2, "input": {
                "indicatorId": shared, "period": "2022-Q2", "achieved": true } }),
        )
        .await;
    assert_error_code(&foreign, "NOT_FOUND");
    assert_error_code(&submit(&app, &finance, &revised).await, "NOT_FOUND");

    // Either partner may send it for review; the history says who did what.
    submitted(&app, &ecology, &revised).await;
    let seen = app
        .graphql_as(&water, SHARED_VALUES, json!({ "id": shared }))
        .await;
    let value = &data(&seen)["indicator"]["values"]["nodes"][0];
    assert_eq!(value["achieved"], false);
    assert_eq!(value["text"], "水功能區達標率待核");
    let history: Vec<(String, String)> = value["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap().to_owned(),
                entry["actor"]["username"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (ecology_user, water_user) = (username(&app, &ecology).await, username(&app, &water).await);
    assert_eq!(
        history,
        [
            ("indicatorValue.create".to_owned(), ecology_user.clone()),
            ("indicatorValue.update".to_owned(), water_user),
            ("indicatorValue.submit".to_owned(), ecology_user),
        ]
    );
}
both!(departments_that_share_an_indicator_work_on_its_one_value);

async fn the_portal_sees_only_approved_reports_and_values_and_no_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let q1 = draft_report(&app, &finance, &task, "2022-Q1", "IN_PROGRESS").await;
    let q1 = submitted(&app, &finance, &q1).await;
    let q1 = approved(&app, &leadership, &q1).await;
    let q2 = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    submitted(&app, &finance, &q2).await;
    draft_report(&app, &finance, &task, "2022-Q3", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q1", 85.0).await;
    let value = submitted(&app, &finance, &value).await;
    let value = approved(&app, &leadership, &value).await;
    draft_value(&app, &finance, &indicator, "2022-Q2", 70.0).await;

    let query = r#"query($q2: ID!) { task(code: "36") {
            progressReports { nodes { id period reviewStatus submittedBy { username } reviewedBy { username } history { nodes { action } } } }
            indicators { values { nodes { id period submittedBy { username } reviewedBy { username } } }
                         latestValue { id } } }
        hidden: node(id: $q2) { id } }"#;
    let seen = app.graphql_as(&portal, query, json!({ "q2": q2.id })).await;
    let seen = data(&seen);
    assert_eq!(
        seen["task"]["progressReports"]["nodes"],
        json!([{ "id": q1.id, "period": "2022-Q1", "reviewStatus": "APPROVED",
                 "submittedBy": null, "reviewedBy": null, "history": { "nodes": [] } }])
    );
    assert_eq!(
        seen["task"]["indicators"][0]["values"]["nodes"],
        json!([{ "id": value.id, "period": "2022-Q1", "submittedBy": null, "reviewedBy": null }])
    );
    assert_eq!(
        seen["task"]["indicators"][0]["latestValue"]["id"],
        value.id.as_str()
    );
    assert_eq!(seen["hidden"], Value::Null);

    // The leadership group sees every report, with names.
    let seen = app
        .graphql_as(&leadership, query, json!({ "q2": q2.id }))
        .await;
    let seen = data(&seen);
    let reports = seen["task"]["progressReports"]["nodes"].as_array().unwrap();
    let periods: Vec<&str> = reports
        .iter()
        .map(|report| report["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, ["2022-Q3", "2022-Q2", "2022-Q1"]);
    assert!(reports[2]["submittedBy"]["username"].is_string());
    assert!(reports[2]["reviewedBy"]["username"].is_string());
    assert_eq!(
        seen["task"]["indicators"][0]["values"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(seen["hidden"]["id"], q2.id.as_str());
}
both!(the_portal_sees_only_approved_reports_and_values_and_no_names);
