//! Mistakes get clear errors with a code; nothing internal leaks.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data, global_id};

/// Words that would betray SQL or the database behind an error message.
const TELLTALES: [&str; 10] = [
    "select ",
    "insert ",
    "from \"",
    "where ",
    "sqlx",
    "sqlite",
    "postgres",
    "syntax",
    "relation ",
    "no such table",
];

#[track_caller]
fn assert_tells_nothing_internal(response: &Value) {
    let text = response.to_string().to_lowercase();
    for telltale in TELLTALES {
        assert!(
            !text.contains(telltale),
            "the response gives away `{telltale}`: {response:#}"
        );
    }
}

async fn malformed_ids_cursors_and_page_sizes_are_bad_user_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let plan_id = global_id(NodeKind::Plan, 1);

    let mistakes = [
        ("a malformed id", r#"{ task(id: "not an id") { code } }"#),
        ("a malformed node id", r#"{ node(id: "%%%") { id } }"#),
        (
            "an id of another type",
            &*format!(r#"{{ task(id: "{plan_id}") {{ code }} }}"#),
        ),
        (
            "a plan id as a department filter",
            &*format!(r#"{{ tasks(filter: {{ departmentId: "{plan_id}" }}) {{ totalCount }} }}"#),
        ),
        ("a bad cursor", r#"{ tasks(after: "nope") { totalCount } }"#),
        (
            "a cursor of something else",
            r#"{ tasks(before: "VGFzazox") { totalCount } }"#,
        ),
        ("a negative first", r#"{ tasks(first: -1) { totalCount } }"#),
        (
            "a negative last",
            r#"{ indicators(last: -5) { totalCount } }"#,
        ),
        (
            "a page too large",
            r#"{ tasks(first: 100000) { totalCount } }"#,
        ),
        (
            "first and last together",
            r#"{ tasks(first: 1, last: 1) { totalCount } }"#,
        ),
        (
            "a task code of letters",
            r#"{ task(code: "abc") { code } }"#,
        ),
        (
            "a task code of three levels",
            r#"{ task(code: "1.2.3") { code } }"#,
        ),
        ("neither id nor code", r#"{ task { code } }"#),
        (
            "a department by two keys",
            r#"{ department(code: "finance", name: "市財政局") { code } }"#,
        ),
        (
            "a filter naming a department twice",
            r#"{ tasks(filter: { departmentCode: "finance", departmentId: "RGVwYXJ0bWVudDox" }) { totalCount } }"#,
        ),
        (
            "a filter naming an unknown department",
            r#"{ tasks(filter: { departmentCode: "treasury" }) { totalCount } }"#,
        ),
        (
            "an empty department name",
            r#"{ department(name: "  ") { code } }"#,
        ),
    ];
    for (mistake, query) in mistakes {
        let response = app.graphql_as(&token, query, json!({})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{mistake}: {response:#}"
        );
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{mistake} has a message"
        );
        assert_tells_nothing_internal(&response);
    }
}
both!(malformed_ids_cursors_and_page_sizes_are_bad_user_input);

async fn an_unknown_task_code_is_null_not_an_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            r#"{ missing: task(code: "99") { code } missingPart: task(code: "2.9") { code } found: task(code: "38") { code } }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        data(&response).clone(),
        json!({ "missing": null, "missingPart": null, "found": { "code": "38" } })
    );
}
both!(an_unknown_task_code_is_null_not_an_error);

async fn naming_a_plan_that_does_not_exist_is_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let unknown = global_id(NodeKind::Plan, 999_999);

    for query in [
        "query($id: ID!) { tasks(planId: $id) { totalCount } }",
        "query($id: ID!) { indicators(planId: $id) { totalCount } }",
        "query($id: ID!) { sections(planId: $id) { number } }",
        r#"query($id: ID!) { task(code: "1", planId: $id) { code } }"#,
    ] {
        let response = app
            .graphql_as(&token, query, json!({ "id": unknown }))
            .await;
        assert_error_code(&response, "NOT_FOUND");
    }
    // Asking for one plan that is not there is simply nothing.
    let response = app
        .graphql_as(
            &token,
            "query($id: ID!) { plan(id: $id) { key } node(id: $id) { id } }",
            json!({ "id": unknown }),
        )
        .await;
    assert_eq!(
        data(&response).clone(),
        json!({ "plan": null, "node": null })
    );
}
both!(naming_a_plan_that_does_not_exist_is_not_found);

async fn an_internal_error_tells_nothing_of_its_cause(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    // Break the database under the server.
    app.db
        .execute_unprepared("DROP TABLE indicator_milestone")
        .await
        .unwrap();

    let response = app
        .graphql_as(
            &token,
            r#"{ task(code: "32") { code indicators { milestones { year } } } }"#,
            json!({}),
        )
        .await;

    assert_error_code(&response, "INTERNAL");
    assert_eq!(response["errors"][0]["message"], "internal error");
    assert!(
        response["errors"][0]["extensions"]["requestId"].is_string(),
        "the error names the request, to find it in the log: {response:#}"
    );
    assert_tells_nothing_internal(&response);
}
both!(an_internal_error_tells_nothing_of_its_cause);
