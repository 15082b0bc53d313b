//! Abusive operations are refused with a clear error before any database work; the
//! frontend's own queries fit the default limits with room to spare.

use std::time::{Duration, Instant};

use ecoplan::service::policy::Role;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};

/// The frontend's deepest query: the whole plan tree, every task with its parts, lead
/// departments, indicators (responsible departments, target, latest value, status) and
/// progress reports with their evidence.
const FRONTEND_PLAN_TREE: &str = r#"
fragment DepartmentChip on Department { id code name aliases }
fragment EvidenceItem on Evidence {
    id title fileName contentType size sha256 downloadUrl reviewStatus version late
    department { ...DepartmentChip }
}
fragment IndicatorRow on Indicator {
    id name unit better
    responsibleDepartments { ...DepartmentChip }
    target { kind value text year }
    milestones { kind value text year }
    latestValue {
        id period value achieved text source note reviewStatus
        department { ...DepartmentChip }
        evidence { ...EvidenceItem }
    }
    status
}
fragment TaskRow on Task {
    id code title leadsAsWritten dueOn status
    leadDepartments { ...DepartmentChip }
    indicators { ...IndicatorRow }
    progressReports {
        nodes {
            id period status workDone problems nextSteps reviewStatus version late submittedAt
            department { ...DepartmentChip }
            evidence { ...EvidenceItem }
        }
    }
}
query PlanTree {
    plan {
        id key title year reportingCadence
        goals { year text }
        sections {
            id number title
            tasks {
                ...TaskRow
                subtasks { ...TaskRow }
            }
        }
    }
}"#;

/// Sends a query and returns the response with the SQL statements it ran beyond those
/// that authenticating its token takes (measured with a request that reads nothing).
async fn send_counting(app: &TestApp, token: Option<&str>, query: &str) -> (Value, u64) {
    let send = |query: String| async move {
        match token {
            Some(token) => app.graphql_as(token, &query, json!({})).await,
            None => app.graphql(&query, json!({})).await,
        }
    };
    let before = app.statements();
    data(&send("{ __typename }".to_owned()).await);
    let authentication = app.statements() - before;

    let before = app.statements();
    let response = send(query.to_owned()).await;
    let used = app.statements() - before;
    (response, used.saturating_sub(authentication))
}

/// Asserts a refusal: BAD_USER_INPUT, a message that says why, no data, and no SQL.
#[track_caller]
fn assert_refused(response: &Value, statements: u64, says: &str) {
    assert_error_code(response, "BAD_USER_INPUT");
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains(says),
        "the message should say `{says}`: {response:#}"
    );
    assert!(
        response.get("data").is_none_or(Value::is_null),
        "a refused operation returns no data: {response:#}"
    );
    assert_eq!(statements, 0, "a refused operation ran SQL: {response:#}");
}

/// `{ task(code: "2.1") { parent { subtasks { parent { … code } } } } }`, `levels` deep.
fn nested(levels: usize) -> String {
    let mut query = String::from("{ task(code: \"2.1\") { ");
    let hops = levels.saturating_sub(2);
    for hop in 0..hops {
        query.push_str(if hop % 2 == 0 {
            "parent { "
        } else {
            "subtasks { "
        });
    }
    query.push_str("code");
    query.push_str(&" }".repeat(hops + 1));
    query.push_str(" }");
    query
}

async fn the_frontends_deepest_query_passes_the_default_limits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app.graphql_as(&token, FRONTEND_PLAN_TREE, json!({})).await;

    let plan = &data(&response)["plan"];
    let sections = plan["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 6);
    let top_level: usize = sections
        .iter()
        .map(|section| section["tasks"].as_array().unwrap().len())
        .sum();
    assert_eq!(top_level, 38);
    assert_eq!(
        sections[0]["tasks"][1]["subtasks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Room to spare: the same query passes with a third less depth and complexity.
    let tight = TestApp::spawn_with(backend, |settings| {
        settings.limits.max_depth = 10;
        settings.limits.max_complexity = 3000;
    })
    .await;
    let token = tight.token_for(Role::Leadership, None).await;
    let response = tight
        .graphql_as(&token, FRONTEND_PLAN_TREE, json!({}))
        .await;
    data(&response);
}
both!(the_frontends_deepest_query_passes_the_default_limits);

async fn an_operation_nested_too_deep_is_refused_before_any_sql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let (at_the_limit, _) = send_counting(&app, Some(&token), &nested(15)).await;
    data(&at_the_limit);

    for token in [None, Some(token.as_str())] {
        let (response, statements) = send_counting(&app, token, &nested(16)).await;
        assert_refused(&response, statements, "nested too deep");
    }
}
both!(an_operation_nested_too_deep_is_refused_before_any_sql);

async fn an_operation_too_complex_is_refused_before_any_sql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    // One root field and 5000 leaves: 5001 fields.
    let query = format!("{{ task(code: \"1\") {{ {} }} }}", "code ".repeat(5000));

    for token in [None, Some(token.as_str())] {
        let (response, statements) = send_counting(&app, token, &query).await;
        assert_refused(&response, statements, "too complex");
    }
}
both!(an_operation_too_complex_is_refused_before_any_sql);

/// Each fragment spreads the one before twice: a few hundred bytes that ask for 2^50
/// fields. It must be refused at once, not expanded.
async fn a_fragment_bomb_is_refused_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut query =
        String::from("{ task(code: \"1\") { ...F50 } }\nfragment F0 on Task { code }\n");
    for level in 1..=50 {
        query.push_str(&format!(
            "fragment F{level} on Task {{ ...F{prev} ...F{prev} }}\n",
            prev = level - 1
        ));
    }

    let started = Instant::now();
    let (response, statements) =
        tokio::time::timeout(Duration::from_secs(20), send_counting(&app, None, &query))
            .await
            .expect("the server answers a fragment bomb at once");

    assert_refused(&response, statements, "too complex");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server is still there for everyone else.
    let (response, _) = send_counting(&app, None, "{ __typename }").await;
    data(&response);
}
both!(a_fragment_bomb_is_refused_at_once);

async fn too_many_aliases_are_refused_before_any_sql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let aliased = |count: usize| {
        let aliases: String = (0..count).map(|i| format!("a{i}: title ")).collect();
        format!("{{ task(code: \"1\") {{ {aliases} }} }}")
    };

    let (allowed, _) = send_counting(&app, Some(&token), &aliased(30)).await;
    assert_eq!(data(&allowed)["task"]["a29"], data(&allowed)["task"]["a0"]);

    for token in [None, Some(token.as_str())] {
        let (response, statements) = send_counting(&app, token, &aliased(31)).await;
        assert_refused(&response, statements, "31 aliases");
    }
}
both!(too_many_aliases_are_refused_before_any_sql);

async fn too_many_root_fields_are_refused_before_any_sql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let roots = |count: usize| format!("{{ {} }}", "plans { key } ".repeat(count));

    let (allowed, _) = send_counting(&app, Some(&token), &roots(20)).await;
    assert_eq!(data(&allowed)["plans"][0]["key"], "tangshan-2022");

    for token in [None, Some(token.as_str())] {
        let (response, statements) = send_counting(&app, token, &roots(21)).await;
        assert_refused(&response, statements, "21 root fields");
    }
}
both!(too_many_root_fields_are_refused_before_any_sql);

async fn a_page_larger_than_the_maximum_is_refused_before_any_sql(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;

    let too_large = [
        (&leadership, "{ tasks(first: 501) { totalCount } }"),
        (&leadership, "{ tasks(last: 501) { totalCount } }"),
        (&leadership, "{ indicators(first: 501) { totalCount } }"),
        (&leadership, "{ auditLog(last: 501) { totalCount } }"),
        (&admin, "{ users(first: 501) { totalCount } }"),
    ];
    for (token, query) in too_large {
        let (response, statements) = send_counting(&app, Some(token), query).await;
        assert_error_code(&response, "BAD_USER_INPUT");
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at most 500"),
            "{query}: {response:#}"
        );
        assert_eq!(statements, 0, "{query} ran SQL: {response:#}");
    }
    let (response, _) = send_counting(
        &app,
        Some(&leadership),
        "{ tasks(first: 500) { totalCount } }",
    )
    .await;
    assert_eq!(data(&response)["tasks"]["totalCount"], 43);
}
both!(a_page_larger_than_the_maximum_is_refused_before_any_sql);

async fn the_maximum_page_size_is_a_setting(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| settings.max_page_size = 10).await;
    let token = app.token_for(Role::Leadership, None).await;

    let (response, statements) =
        send_counting(&app, Some(&token), "{ tasks(first: 11) { totalCount } }").await;
    assert_error_code(&response, "BAD_USER_INPUT");
    assert_eq!(statements, 0);

    let response = app
        .graphql_as(
            &token,
            "{ tasks(first: 10) { edges { node { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&response)["tasks"]["edges"].as_array().unwrap().len(),
        10
    );
    // Without `first`, a page is no larger than the maximum either.
    let response = app
        .graphql_as(&token, "{ tasks { edges { node { code } } } }", json!({}))
        .await;
    assert!(data(&response)["tasks"]["edges"].as_array().unwrap().len() <= 10);
}
both!(the_maximum_page_size_is_a_setting);

/// A JSON request body of exactly `size` bytes that asks for `{ __typename }`.
fn padded_body(size: usize) -> String {
    let skeleton = json!({ "query": "{ __typename }", "variables": { "pad": "" } }).to_string();
    let pad = "x".repeat(size - skeleton.len());
    json!({ "query": "{ __typename }", "variables": { "pad": pad } }).to_string()
}

async fn a_request_body_over_the_limit_is_refused_with_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let limit = 1024 * 1024;

    let fits = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(padded_body(limit))
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 200);
    let fits: Value = fits.json().await.unwrap();
    assert_eq!(data(&fits)["__typename"], "Query");

    let before = app.statements();
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(padded_body(limit + 1))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_error_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], request_id);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1048576"), "{message}");
    // Not even the token was checked.
    assert_eq!(app.statements() - before, 0);
}
both!(a_request_body_over_the_limit_is_refused_with_413);

async fn the_body_limit_is_a_setting(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| settings.http.max_body_bytes = 4096).await;

    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(padded_body(4097))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_error_code(&body, "BAD_USER_INPUT");
}
both!(the_body_limit_is_a_setting);

async fn a_body_without_a_length_is_refused_with_411(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(body)];

    let before = app.statements();
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 411);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_error_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], request_id);
    assert_eq!(app.statements() - before, 0);
}
both!(a_body_without_a_length_is_refused_with_411);

/// An operation that waits for the database past the time limit is stopped with
/// TIMEOUT, and the server carries on. The wait is made certain: the server gets a pool
/// of one connection, and the test holds it.
async fn an_operation_over_the_time_limit_answers_timeout(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.http.request_timeout = Duration::from_millis(300);
        settings.max_connections = 1;
    })
    .await;
    let sign_in =
        r#"mutation { login(username: "admin", password: "not the password") { token } }"#;

    let held = app.db.begin().await.unwrap();
    let started = Instant::now();
    let response = app.graphql(sign_in, json!({})).await;
    let waited = started.elapsed();
    held.rollback().await.unwrap();

    assert_error_code(&response, "TIMEOUT");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("300 ms"), "{message}");
    assert!(response["errors"][0]["extensions"]["requestId"].is_string());
    assert!(response.get("data").is_none_or(Value::is_null));
    assert!(
        waited < Duration::from_secs(3),
        "stopped at once: {waited:?}"
    );

    // The server and its pool carry on.
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let response = app.graphql("{ __typename }", json!({})).await;
    assert_eq!(data(&response)["__typename"], "Query");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "ecoplan_graphql_operations_total{operation=\"anonymous\",outcome=\"error\"} 1"
        ),
        "{metrics}"
    );
}
both!(an_operation_over_the_time_limit_answers_timeout);

async fn introspection_can_be_switched_off(backend: Backend) {
    let introspection = "{ __schema { types { name } } }";
    let open = TestApp::spawn(backend).await;
    let response = open.graphql(introspection, json!({})).await;
    assert!(
        !data(&response)["__schema"]["types"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let closed =
        TestApp::spawn_with(backend, |settings| settings.limits.introspection = false).await;
    for query in [
        introspection,
        r#"{ __type(name: "Task") { fields { name } } }"#,
    ] {
        let (response, statements) = send_counting(&closed, None, query).await;
        assert_refused(&response, statements, "introspection is switched off");
    }
    // Everything else still works.
    let token = closed.token_for(Role::Leadership, None).await;
    let response = closed
        .graphql_as(&token, "{ plans { key } }", json!({}))
        .await;
    assert_eq!(data(&response)["plans"][0]["key"], "tangshan-2022");
}
both!(introspection_can_be_switched_off);
