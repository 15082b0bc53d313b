//! Automatic persisted queries, as Apollo's clients send them: the hash alone, then the
//! document with its hash when the server does not hold it, then the hash alone again.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, both, data, error_code};

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn get(app: &TestApp, token: &str, query: &[(&str, String)]) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn a_hash_is_registered_once_and_then_enough(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let document =
        "query Home($first: Int) { me { username } tasks(first: $first) { totalCount } }";
    let hash = sha256_hex(document);
    let variables = json!({ "first": 5 });

    // The hash alone, before the document was ever sent.
    let (status, answer) = post(
        &app,
        &finance,
        json!({ "variables": variables, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        error_code(&answer),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["message"], "PersistedQueryNotFound");

    // The document with its hash registers it and is answered.
    let (status, registered) = post(
        &app,
        &finance,
        json!({ "query": document, "variables": variables, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    let expected = data(&registered).clone();

    // Then the hash alone is enough, by POST and by GET, for other users too.
    let (_, by_hash) = post(
        &app,
        &finance,
        json!({ "variables": variables, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(data(&by_hash), &expected);
    let leadership = app.token_for(Role::Leadership, None).await;
    let (status, by_get) = get(
        &app,
        &leadership,
        &[
            ("variables", variables.to_string()),
            ("extensions", persisted(&hash).to_string()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{by_get}");
    assert!(data(&by_get)["tasks"]["totalCount"].as_i64().is_some());
    assert_ne!(
        data(&by_get)["me"],
        expected["me"],
        "answered for its own caller"
    );
}
both!(a_hash_is_registered_once_and_then_enough);

async fn a_wrong_hash_or_version_is_the_callers_mistake(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let document = "{ me { username } }";

    let (_, wrong_hash) = post(
        &app,
        &finance,
        json!({ "query": document, "extensions": persisted(&sha256_hex("{ plans { id } }")) }),
    )
    .await;
    assert_eq!(error_code(&wrong_hash), Some("BAD_USER_INPUT"));
    assert_eq!(
        wrong_hash["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.sha256Hash"
    );
    // Nothing was registered under the wrong hash.
    let (_, still_missing) = post(
        &app,
        &finance,
        json!({ "extensions": persisted(&sha256_hex("{ plans { id } }")) }),
    )
    .await;
    assert_eq!(
        error_code(&still_missing),
        Some("PERSISTED_QUERY_NOT_FOUND")
    );

    let (_, wrong_version) = post(
        &app,
        &finance,
        json!({ "query": document,
            "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(document) } } }),
    )
    .await;
    assert_eq!(error_code(&wrong_version), Some("BAD_USER_INPUT"));
    assert_eq!(
        wrong_version["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.version"
    );

    let (_, not_hex) = post(
        &app,
        &finance,
        json!({ "extensions": persisted("not a hash") }),
    )
    .await;
    assert_eq!(error_code(&not_hex), Some("BAD_USER_INPUT"));
}
both!(a_wrong_hash_or_version_is_the_callers_mistake);

async fn a_mutation_by_hash_is_not_run_by_get(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let document = "mutation { refreshToken { token } }";
    let hash = sha256_hex(document);
    let (_, registered) = post(
        &app,
        &admin,
        json!({ "query": document, "extensions": persisted(&hash) }),
    )
    .await;
    data(&registered);
    let (status, by_get) = get(
        &app,
        &admin,
        &[("extensions", persisted(&hash).to_string())],
    )
    .await;
    assert_eq!(status, 405, "{by_get}");
}
both!(a_mutation_by_hash_is_not_run_by_get);
