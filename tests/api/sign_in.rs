//! Sign-in under abuse: a per-address rate, a bounded hashing queue, forwarded addresses
//! believed only from trusted proxies, and every failure in the audit trail.

use ecoplan::service::hashing::HashSettings;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::audit::entries;
use crate::helpers::{Backend, TestApp, assert_error_code, both, data, error_code};

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

/// Signs in, optionally claiming to be forwarded for `forwarded_for`.
async fn login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> Value {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "u": username, "p": password } }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("the answer is JSON")
}

#[track_caller]
fn assert_refused_for_now(response: &Value) {
    assert_error_code(response, "TOO_MANY_REQUESTS");
    let retry_after = response["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("a refusal says when to retry: {response:#}"));
    assert!(retry_after >= 1, "{response:#}");
}

async fn sign_ins_over_the_rate_of_an_address_are_refused_before_any_work(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.login_rate_per_minute = 3;
        settings.auth.lockout_attempts = 100;
    })
    .await;
    let (username, password) = app.create_user("clerk", Role::Leadership, None).await;

    for attempt in 0..3 {
        let response = login_from(&app, None, &username, &format!("wrong guess {attempt}")).await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }
    let failures_before = app.count_rows("login_throttle").await;
    let audited_before = app.count_audit_entries("user.loginFailed").await;

    let response = login_from(&app, None, "somebody.else", "another guess").await;
    assert_refused_for_now(&response);
    // The right password is refused too: the limit is the address's, not the name's.
    let response = login_from(&app, None, &username, &password).await;
    assert_refused_for_now(&response);
    // Nothing was looked up, hashed or written for the refused attempts.
    assert_eq!(app.count_rows("login_throttle").await, failures_before);
    assert_eq!(
        app.count_audit_entries("user.loginFailed").await,
        audited_before
    );
}
both!(sign_ins_over_the_rate_of_an_address_are_refused_before_any_work);

async fn forwarded_addresses_count_only_from_a_trusted_proxy(backend: Backend) {
    // Without a trusted proxy, a forwarded address is ignored: changing it does not help.
    let direct = TestApp::spawn_with(backend, |settings| {
        settings.auth.login_rate_per_minute = 2;
    })
    .await;
    for address in ["203.0.113.1", "203.0.113.2"] {
        let response = login_from(&direct, Some(address), "nobody", "a wrong guess").await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }
    let response = login_from(&direct, Some("203.0.113.3"), "nobody", "a wrong guess").await;
    assert_refused_for_now(&response);

    // Behind a trusted proxy, each forwarded client has a rate of its own.
    let proxied = TestApp::spawn_with(backend, |settings| {
        settings.auth.login_rate_per_minute = 2;
        settings.http.trusted_proxies =
            ecoplan::http::client_address::TrustedProxies::parse(&["127.0.0.1".to_owned()])
                .unwrap();
    })
    .await;
    for _ in 0..2 {
        let response = login_from(
            &proxied,
            Some("203.0.113.7, 127.0.0.1"),
            "nobody",
            "a wrong guess",
        )
        .await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }
    let response = login_from(&proxied, Some("203.0.113.7"), "nobody", "a wrong guess").await;
    assert_refused_for_now(&response);
    let response = login_from(&proxied, Some("203.0.113.8"), "nobody", "a wrong guess").await;
    assert_error_code(&response, "INVALID_CREDENTIALS");

    // The audit trail names the forwarded client.
    let admin = proxied.admin_token().await;
    let failed = entries(&proxied, &admin, json!({ "action": "user.loginFailed" })).await;
    let addresses: Vec<&str> = failed
        .iter()
        .filter_map(|entry| entry["after"]["clientAddress"].as_str())
        .collect();
    assert_eq!(
        addresses,
        ["203.0.113.7", "203.0.113.7", "203.0.113.8"],
        "{failed:#?}"
    );
}
both!(forwarded_addresses_count_only_from_a_trusted_proxy);

async fn a_full_hashing_queue_refuses_sign_ins_at_once_unknown_names_included(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.hashing = HashSettings {
            concurrency: 1,
            queue: 0,
        };
        settings.auth.login_rate_per_minute = 0;
        settings.auth.lockout_attempts = 1_000;
    })
    .await;
    let (username, password) = app.create_user("clerk", Role::Leadership, None).await;

    // Unknown names: their decoy verification runs in the pool like any other.
    let attempts = (0..32).map(|n| {
        let app = &app;
        async move { login_from(app, None, &format!("nobody-{n}"), "a wrong guess").await }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let codes: Vec<Option<&str>> = responses.iter().map(error_code).collect();
    assert!(
        codes
            .iter()
            .all(|code| matches!(code, Some("INVALID_CREDENTIALS" | "TOO_MANY_REQUESTS"))),
        "{codes:?}"
    );
    let refused: Vec<&Value> = responses
        .iter()
        .filter(|response| error_code(response) == Some("TOO_MANY_REQUESTS"))
        .collect();
    assert!(!refused.is_empty(), "one slot and no queue: {codes:?}");
    for response in refused {
        assert_refused_for_now(response);
    }
    assert!(codes.contains(&Some("INVALID_CREDENTIALS")), "{codes:?}");

    // Once the burst is over, signing in works again.
    let response = login_from(&app, None, &username, &password).await;
    data(&response);
}
both!(a_full_hashing_queue_refuses_sign_ins_at_once_unknown_names_included);

async fn failed_sign_ins_are_audited_with_name_address_and_reason_never_the_password(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.lockout_attempts = 2;
    })
    .await;
    let (username, password) = app.create_user("clerk", Role::Leadership, None).await;
    let user_id = crate::helpers::global_id(
        ecoplan::id::NodeKind::User,
        app.user_row(&username).await.id,
    );

    let secret_guess = "my-secret-guess-1234";
    let unknown = login_from(&app, None, "No.Such.User", secret_guess).await;
    assert_error_code(&unknown, "INVALID_CREDENTIALS");
    for _ in 0..2 {
        let wrong = login_from(&app, None, &username, secret_guess).await;
        assert_error_code(&wrong, "INVALID_CREDENTIALS");
    }
    let locked = login_from(&app, None, &username, &password).await;
    assert_error_code(&locked, "TOO_MANY_ATTEMPTS");

    let admin = app.admin_token().await;
    let failed = entries(&app, &admin, json!({ "action": "user.loginFailed" })).await;
    let seen: Vec<(&str, &str, &str)> = failed
        .iter()
        .map(|entry| {
            (
                entry["after"]["username"].as_str().unwrap_or_default(),
                entry["after"]["reason"].as_str().unwrap_or_default(),
                entry["after"]["clientAddress"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("no.such.user", "unknownUser", "127.0.0.1"),
            (username.as_str(), "wrongPassword", "127.0.0.1"),
            (username.as_str(), "wrongPassword", "127.0.0.1"),
            (username.as_str(), "lockedOut", "127.0.0.1"),
        ]
    );
    for entry in &failed {
        assert_eq!(entry["actorRole"], "ANONYMOUS");
        assert_eq!(entry["actor"], Value::Null);
        assert_eq!(entry["itemType"], "User");
    }
    assert_eq!(failed[1]["itemId"], user_id.as_str());
    assert!(
        !failed[1]["requestId"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );

    // Neither password is anywhere in the audit trail.
    let everything = serde_json::to_string(&entries(&app, &admin, json!({})).await).unwrap();
    assert!(!everything.contains(secret_guess));
    assert!(!everything.contains(&password));
    // The log stays closed to the departments.
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let response = app
        .graphql_as(
            &finance,
            crate::audit::AUDIT_LOG,
            json!({ "filter": { "action": "user.loginFailed" } }),
        )
        .await;
    assert_error_code(&response, "FORBIDDEN");
}
both!(failed_sign_ins_are_audited_with_name_address_and_reason_never_the_password);

async fn requests_without_a_signed_token_wait_their_turn_and_signed_in_ones_do_not(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.hashing = HashSettings {
            concurrency: 1,
            queue: 0,
        };
        settings.auth.login_rate_per_minute = 0;
        settings.http.anonymous_concurrency = 1;
    })
    .await;
    let reader = app.token_for(Role::Leadership, None).await;

    // One place: the sign-ins take turns instead of piling up on the hashing pool, so
    // none finds the pool full.
    let attempts = (0..16).map(|n| {
        let app = &app;
        async move { login_from(app, None, &format!("nobody-{n}"), "a wrong guess").await }
    });
    let read = app.graphql_as(&reader, "{ plans { key } }", json!({}));
    let (responses, read) = tokio::join!(futures_util::future::join_all(attempts), read);
    let codes: Vec<Option<&str>> = responses.iter().map(error_code).collect();
    assert!(
        codes
            .iter()
            .all(|code| *code == Some("INVALID_CREDENTIALS")),
        "{codes:?}"
    );
    assert_eq!(data(&read)["plans"][0]["key"], "tangshan-2022");
}
both!(requests_without_a_signed_token_wait_their_turn_and_signed_in_ones_do_not);
