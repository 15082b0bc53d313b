//! Answers with refused fields still match the schema: a refused field is `null` in its
//! place when its type allows it, and otherwise its `null` goes up to the nearest parent
//! that allows one, or to `data` (the GraphQL specification, "Handling Execution Errors").

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, error_code};

fn error_paths(response: &Value) -> Vec<Value> {
    response["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|error| error["path"].clone()).collect())
        .unwrap_or_default()
}

async fn a_refused_nullable_field_is_null_beside_the_fields_that_answered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let department = app.token_for(Role::Department, Some("finance")).await;

    let response = app
        .graphql_as(
            &department,
            "{ me { username } auditLog(first: 1) { totalCount } dashboard { period } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
    assert_eq!(error_paths(&response), vec![json!(["auditLog"])]);
    let answered = &response["data"];
    assert!(answered["me"]["username"].is_string(), "{response}");
    assert!(answered["dashboard"]["period"].is_string(), "{response}");
    assert!(
        answered.get("auditLog").is_some_and(Value::is_null),
        "{response}"
    );

    // Under an alias, in a fragment, and alone: still `null` in its place, not `data: null`.
    let portal = app.token_for(Role::Portal, None).await;
    let response = app
        .graphql_as(
            &portal,
            "query { ...Home } fragment Home on Query { board: dashboard { period } users { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
    assert_eq!(
        response["data"],
        json!({ "board": null, "users": null }),
        "{response}"
    );
}
both!(a_refused_nullable_field_is_null_beside_the_fields_that_answered);

async fn a_refused_non_null_field_takes_data_with_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let department = app.token_for(Role::Department, Some("finance")).await;
    // A mutation's payload is never `null`: one refused takes the whole `data`.
    let response = app
        .graphql_as(
            &department,
            r#"mutation { createUser(input: { username: "someone-new", password: "long enough password", role: PORTAL }) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
    assert_eq!(error_paths(&response), vec![json!(["createUser"])]);
    assert!(
        response.get("data").is_some_and(Value::is_null),
        "data must be present and null: {response}"
    );

    // With no error, nothing changes.
    let admin = app.token_for(Role::Admin, None).await;
    let answered = app
        .graphql_as(
            &admin,
            "{ me { username } auditLog(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(data(&answered)["auditLog"]["totalCount"].is_number());
}
both!(a_refused_non_null_field_takes_data_with_it);
