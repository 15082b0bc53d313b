//! The HTTP surface: health checks, GraphQL over GET and POST.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data};

async fn health_and_readiness_checks_answer_ok(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}
both!(health_and_readiness_checks_answer_ok);

async fn a_query_can_be_sent_with_get(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(data(&body).clone(), json!({ "__typename": "Query" }));
}
both!(a_query_can_be_sent_with_get);

async fn a_mutation_sent_with_get_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = app.admin_password.clone();
    let mutation =
        format!(r#"mutation {{ login(username: "admin", password: "{password}") {{ token }} }}"#);

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", mutation.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
    // Named operations too: the one that would run decides. (async-graphql reads the
    // operation name of a GET request from `operation_name`.)
    let named = format!("query A {{ __typename }} {mutation}");
    let named = named.replacen("mutation {", "mutation B {", 1);
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", named.as_str()), ("operation_name", "B")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
both!(a_mutation_sent_with_get_is_refused);

async fn a_client_asking_for_graphql_response_json_gets_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(data(&body).clone(), json!({ "__typename": "Query" }));
}
both!(a_client_asking_for_graphql_response_json_gets_it);
