//! Every list that grows with use is a connection: it pages with `first`/`after` (and
//! `last`/`before`) under the page limit, and counts the whole list.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{draft_evidence, draft_report, draft_value};

/// Reads a connection two items at a time and returns the pages' `field` values.
async fn pages(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    at: &[&str],
    field: &str,
) -> (u64, Vec<Vec<Value>>) {
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut variables = variables.clone();
        variables["after"] = json!(after);
        let response = app.graphql_as(token, query, variables).await;
        let mut connection = data(&response).clone();
        for step in at {
            connection = connection[step].clone();
        }
        let total = connection["totalCount"].as_u64().unwrap();
        let page: Vec<Value> = connection["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node[field].clone())
            .collect();
        assert!(page.len() <= 2, "{connection}");
        seen.push(page);
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (total, seen);
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
        assert!(seen.len() < 10, "paging does not end: {connection}");
    }
}

async fn reports_values_evidence_and_history_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    for period in ["2022-Q1", "2022-Q2", "2022-Q3"] {
        draft_report(&app, &finance, &task, period, "IN_PROGRESS").await;
        draft_value(&app, &finance, &indicator, period, 80.0).await;
        draft_evidence(&app, &finance, &task).await;
    }
    for due in ["2022-10-31", "2022-11-30", "2022-12-15"] {
        let set = app
            .graphql_as(
                &leadership,
                "mutation($task: ID!, $due: Date!) { setTaskDueDate(taskId: $task, dueOn: $due) { dueOn } }",
                json!({ "task": task, "due": due }),
            )
            .await;
        data(&set);
    }

    let reports =
        "query($after: String) { task(code: \"36\") { progressReports(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { period } } } }";
    let (total, seen) = pages(
        &app,
        &finance,
        reports,
        json!({}),
        &["task", "progressReports"],
        "period",
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(
        seen,
        [
            vec![json!("2022-Q3"), json!("2022-Q2")],
            vec![json!("2022-Q1")]
        ]
    );

    let values =
        "query($id: ID!, $after: String) { indicator(id: $id) { values(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { period } } } }";
    let (total, seen) = pages(
        &app,
        &finance,
        values,
        json!({ "id": indicator }),
        &["indicator", "values"],
        "period",
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(
        seen,
        [
            vec![json!("2022-Q3"), json!("2022-Q2")],
            vec![json!("2022-Q1")]
        ]
    );

    let files = "query($after: String) { task(code: \"36\") { evidence(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }";
    let (total, seen) = pages(
        &app,
        &finance,
        files,
        json!({}),
        &["task", "evidence"],
        "id",
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);

    let history = "query($after: String) { task(code: \"36\") { history(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { after } } } }";
    let (total, seen) = pages(
        &app,
        &leadership,
        history,
        json!({}),
        &["task", "history"],
        "after",
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(seen[0][0]["dueOn"], "2022-10-31");
    assert_eq!(seen[1][0]["dueOn"], "2022-12-15");

    // The last page, read backwards, and the page limit.
    let last = app
        .graphql_as(
            &finance,
            "{ task(code: \"36\") { progressReports(last: 1) { nodes { period } pageInfo { hasPreviousPage } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&last)["task"]["progressReports"],
        json!({ "nodes": [{ "period": "2022-Q1" }], "pageInfo": { "hasPreviousPage": true } })
    );
    let too_many = app
        .graphql_as(
            &finance,
            "{ task(code: \"36\") { evidence(first: 501) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_error_code(&too_many, "BAD_USER_INPUT");
}
both!(reports_values_evidence_and_history_page);
