//! Requests that are not GraphQL requests the server can run (not UTF-8, not JSON, a
//! batch, broken multipart bodies, another content type), answers with too many errors,
//! too many directives, and requests refused unread for the sign-in rate of their
//! address: each is answered in the GraphQL JSON error format, with a code and the
//! request id.

use ecoplan::service::policy::Role;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// What the server answered: status, content type, request id header and body.
struct Reply {
    status: StatusCode,
    content_type: String,
    request_id: String,
    body: Value,
    bytes: usize,
}

async fn read_reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(CONTENT_TYPE.as_str());
    let request_id = header("x-request-id");
    let text = response.text().await.expect("the answer has a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("the answer ({status}, {content_type}) is not JSON: {text}"));
    Reply {
        status,
        content_type,
        request_id,
        body,
        bytes: text.len(),
    }
}

/// Posts `body` as it is, under the given content type and accepted media type.
async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = app.client.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    read_reply(request.send().await.expect("the server answers")).await
}

/// A request error: the status, JSON of the accepted media type, one error without
/// `data`, `BAD_USER_INPUT`, the request id of the header, and a message that says `says`.
#[track_caller]
fn assert_request_error(reply: &Reply, status: StatusCode, media_type: &str, says: &str) {
    assert_eq!(reply.status, status, "{:#}", reply.body);
    assert!(
        reply.content_type.starts_with(media_type),
        "{} for {:#}",
        reply.content_type,
        reply.body
    );
    assert!(reply.body.get("data").is_none(), "{:#}", reply.body);
    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{:#}", reply.body);
    let error = &errors[0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(!reply.request_id.is_empty());
    assert_eq!(error["extensions"]["requestId"], reply.request_id.as_str());
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains(says), "`{message}` does not say `{says}`");
}

async fn bodies_that_are_not_graphql_requests_are_json_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let json_type = Some("application/json");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "invalid UTF-8",
            b"{\"query\":\"{ __typename \xff\xfe }\"}".to_vec(),
            "not UTF-8",
        ),
        (
            "invalid JSON",
            b"{\"query\": \"{ __typename }\"".to_vec(),
            "not valid JSON",
        ),
        (
            "a batch",
            br#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#.to_vec(),
            "batched requests",
        ),
        (
            "no query",
            br#"{"qeury":"{ __typename }"}"#.to_vec(),
            "no `query`",
        ),
        (
            "a query that is not a string",
            br#"{"query":["{ __typename }"]}"#.to_vec(),
            "not a GraphQL request",
        ),
        ("no body", Vec::new(), "empty"),
    ];
    for (what, body, says) in cases {
        // GraphQL over HTTP: a request that is not well-formed is a 4xx for either media
        // type, answered in the one the client accepts.
        let reply = post_raw(&app, json_type, None, body.clone()).await;
        assert_request_error(&reply, StatusCode::BAD_REQUEST, "application/json", says);
        let reply = post_raw(&app, json_type, Some(GRAPHQL_RESPONSE), body).await;
        assert_request_error(&reply, StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE, says);
        println!("{what}: refused");
    }

    // The same request, well-formed, runs.
    let reply = post_raw(&app, json_type, None, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(data(&reply.body)["__typename"], "Query");
}
both!(bodies_that_are_not_graphql_requests_are_json_errors);

async fn a_body_in_another_content_type_is_a_415_json_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let query = r#"{"query":"{ __typename }"}"#;

    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let reply = post_raw(&app, Some(content_type), None, query).await;
        assert_request_error(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
            content_type,
        );
    }
    let reply = post_raw(&app, None, Some(GRAPHQL_RESPONSE), query).await;
    assert_request_error(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        GRAPHQL_RESPONSE,
        "no Content-Type",
    );
    // With a charset, JSON is JSON.
    let reply = post_raw(&app, Some("application/json; charset=utf-8"), None, query).await;
    assert_eq!(data(&reply.body)["__typename"], "Query");
}
both!(a_body_in_another_content_type_is_a_415_json_error);

/// A multipart body from its parts, each `(name, file name, content)`, between
/// `boundary` lines; `closed` adds the closing boundary.
fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &str)], closed: bool) -> Vec<u8> {
    let mut body = String::new();
    for (name, file_name, content) in parts {
        body.push_str(&format!("--{boundary}\r\n"));
        match file_name {
            Some(file_name) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(content);
        body.push_str("\r\n");
    }
    if closed {
        body.push_str(&format!("--{boundary}--\r\n"));
    }
    body.into_bytes()
}

async fn broken_multipart_requests_are_json_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.admin_token().await;
    let operations = r#"{"query":"mutation($file: Upload!) { previewPlanDocument(file: $file, key: \"x-2023\", year: 2023) { sourceFile } }","variables":{"file":null}}"#;
    let map = r#"{"0":["variables.file"]}"#;
    let boundary = "ecoplan-boundary";
    let form = format!("multipart/form-data; boundary={boundary}");
    let whole = [
        ("operations", None, operations),
        ("map", None, map),
        ("0", Some("說明.txt"), "情況說明"),
    ];
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        (
            "a boundary the body does not use",
            "multipart/form-data; boundary=another-boundary".to_owned(),
            multipart(boundary, &whole, true),
            "multipart",
        ),
        (
            "no boundary",
            "multipart/form-data".to_owned(),
            multipart(boundary, &whole, true),
            "boundary",
        ),
        (
            "no operations part",
            form.clone(),
            multipart(boundary, &whole[1..], true),
            "no `operations` part",
        ),
        (
            "no map part",
            form.clone(),
            multipart(boundary, &[whole[0], whole[2]], true),
            "no `map` part",
        ),
        (
            "a map naming a file that is not there",
            form.clone(),
            multipart(boundary, &whole[..2], true),
            "names a file part",
        ),
        (
            "a map that is not a map",
            form.clone(),
            multipart(
                boundary,
                &[whole[0], ("map", None, "[\"0\"]"), whole[2]],
                true,
            ),
            "`map` part is not",
        ),
        (
            "operations that are not JSON",
            form.clone(),
            multipart(
                boundary,
                &[("operations", None, "{\"query\":"), whole[1], whole[2]],
                true,
            ),
            "`operations` part",
        ),
        (
            "a truncated last part",
            form.clone(),
            {
                let mut body = multipart(boundary, &whole, true);
                body.truncate(body.len() - 30);
                body
            },
            "multipart",
        ),
    ];
    for (what, content_type, body, says) in cases {
        let reply = read_reply(
            app.client
                .post(app.url("/graphql"))
                .bearer_auth(&token)
                .header(CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        println!("{what}: {:#}", reply.body);
        assert_request_error(&reply, StatusCode::BAD_REQUEST, "application/json", says);
    }

    // The whole request is read: the file reaches the mutation, which reads it as a plan
    // document (one without tasks, a field error).
    let reply = read_reply(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, form)
            .body(multipart(boundary, &whole, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let error = &reply.body["errors"][0];
    assert_eq!(error["path"], json!(["previewPlanDocument"]), "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no numbered tasks"),
        "{error:#}"
    );
}
both!(broken_multipart_requests_are_json_errors);

async fn get_requests_without_a_query_or_with_a_mutation_are_json_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let reply = read_reply(app.client.get(app.url("/graphql")).send().await.unwrap()).await;
    assert_request_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "application/json",
        "no `query`",
    );
    let reply = read_reply(
        app.client
            .get(app.url("/graphql?query=%7B__typename%7D&variables=%7Bnot-json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_request_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "application/json",
        "variables",
    );
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[ALLOW], "POST");
    let reply = read_reply(response).await;
    assert_request_error(
        &reply,
        StatusCode::METHOD_NOT_ALLOWED,
        "application/json",
        "POST",
    );
}
both!(get_requests_without_a_query_or_with_a_mutation_are_json_errors);

async fn an_answer_holds_at_most_100_errors_and_says_how_many_were_left_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 1,000 fields Plan does not have: validation finds an error in each.
    let unknown: String = (0..1000).map(|n| format!("noSuchField{n} ")).collect();
    let query = format!("{{ plans {{ {unknown} }} }}");
    let body = json!({ "query": query }).to_string();

    let reply = post_raw(&app, Some("application/json"), None, body.clone()).await;

    // A document that does not validate is a well-formed request: 200 under
    // application/json, 400 under the newer media type.
    assert_eq!(reply.status, StatusCode::OK);
    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 100);
    for error in &errors[..99] {
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["requestId"], reply.request_id.as_str());
        assert!(error["message"].as_str().unwrap().contains("noSuchField"));
    }
    let last = &errors[99];
    assert_eq!(last["extensions"]["code"], "TOO_MANY_ERRORS", "{last:#}");
    assert_eq!(last["extensions"]["leftOut"], 901);
    assert_eq!(last["extensions"]["requestId"], reply.request_id.as_str());
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("901 more errors"),
        "{last:#}"
    );
    // The answer is no longer many times the size of the request.
    assert!(reply.bytes < 2 * body.len(), "{} bytes", reply.bytes);

    let reply = post_raw(&app, Some("application/json"), Some(GRAPHQL_RESPONSE), body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"].as_array().unwrap().len(), 100);
}
both!(an_answer_holds_at_most_100_errors_and_says_how_many_were_left_out);

async fn thousands_of_directives_are_refused_with_one_error_before_validation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    // `$x` is not even declared: validation would report every use of it.
    let included = "key @include(if: $x) ".repeat(5000);
    let query = format!("{{ plans {{ {included} }} }}");
    let body = json!({ "query": query }).to_string();

    let reply = read_reply(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;

    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{:#}", reply.body);
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        errors[0]["extensions"]["requestId"],
        reply.request_id.as_str()
    );
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("5000 directives"), "{message}");
    assert!(message.contains("at most 100"), "{message}");
    assert!(reply.bytes < 1024, "{} bytes", reply.bytes);

    // On one field: async-graphql's own limit per field.
    let query = format!("{{ plans {{ key {} }} }}", "@include(if: true) ".repeat(9));
    let response = app.graphql_as(&token, &query, json!({})).await;
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("directives on the field"), "{message}");
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    // A few are fine.
    let response = app
        .graphql_as(
            &token,
            "query($x: Boolean!) { plans { key @include(if: $x) title @skip(if: $x) } }",
            json!({ "x": true }),
        )
        .await;
    assert_eq!(data(&response)["plans"][0]["key"], "tangshan-2022");
    assert!(data(&response)["plans"][0].get("title").is_none());
}
both!(thousands_of_directives_are_refused_with_one_error_before_validation);

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

async fn an_address_over_its_sign_in_rate_is_refused_unread_and_signed_in_requests_pass(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.login_rate_per_minute = 3;
    })
    .await;
    // One sign-in of the three: the reader's.
    let reader = app.token_for(Role::Leadership, None).await;
    for attempt in 0..2 {
        let response = app
            .graphql(
                LOGIN,
                json!({ "u": "nobody", "p": format!("wrong guess {attempt}") }),
            )
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "INVALID_CREDENTIALS",
            "{response:#}"
        );
    }
    let audited = app.count_audit_entries("user.loginFailed").await;

    // The address has used its rate: what it sends without a token is refused from the
    // headers alone. The body is not even read: an unreadable one is refused the same.
    let login = json!({ "query": LOGIN, "variables": { "u": "nobody", "p": "another" } });
    for body in [login.to_string().into_bytes(), b"{\"query\": \xff".to_vec()] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let retry_after: u64 = response.headers()[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let reply = read_reply(response).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(reply.content_type.starts_with("application/json"));
        let error = &reply.body["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "TOO_MANY_REQUESTS",
            "{error:#}"
        );
        assert_eq!(error["extensions"]["retryAfterSeconds"], retry_after);
        assert!(retry_after >= 1);
        assert_eq!(error["extensions"]["requestId"], reply.request_id.as_str());
    }
    // A token that is not validly signed is no token.
    let reply = read_reply(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth("not.a.token")
            .json(&json!({ "query": "{ plans { key } }" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.count_audit_entries("user.loginFailed").await,
        audited,
        "a refused request does no sign-in work"
    );

    // A signed-in request from the same address is served.
    let response = app
        .graphql_as(&reader, "{ plans { key } }", json!({}))
        .await;
    assert_eq!(data(&response)["plans"][0]["key"], "tangshan-2022");

    // The refusals are counted.
    let metrics = app.get(None, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ecoplan_http_refused_unread_total 3"),
        "{metrics}"
    );

    // A refusal is answered only after its retry time, so that a client asking again at
    // once asks once a second; signed-in requests are served meanwhile.
    let held = tokio::spawn({
        let request = app
            .client
            .post(app.url("/graphql"))
            .header(CONTENT_TYPE, "application/json")
            .body(login.to_string());
        async move {
            let asked = std::time::Instant::now();
            let response = request.send().await.unwrap();
            (response.status(), asked.elapsed())
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let response = app
        .graphql_as(&reader, "{ plans { key } }", json!({}))
        .await;
    assert_eq!(data(&response)["plans"][0]["key"], "tangshan-2022");
    assert!(
        !held.is_finished(),
        "the refusal is still held while the signed-in request is answered"
    );
    let (status, waited) = held.await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "answered after {waited:?}"
    );
}
both!(an_address_over_its_sign_in_rate_is_refused_unread_and_signed_in_requests_pass);

async fn sign_ins_beyond_the_places_and_their_queue_are_refused_unread(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.hashing = ecoplan::service::hashing::HashSettings {
            concurrency: 1,
            queue: 0,
        };
        settings.http.anonymous_concurrency = 1;
        settings.http.anonymous_queue = 1;
    })
    .await;
    let reader = app.token_for(Role::Leadership, None).await;

    // Sixteen at once, each hashing for a while: one holds the place, one waits, and the
    // others find the queue full.
    let attempts = (0..16).map(|n| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/graphql"))
                .json(&json!({ "query": LOGIN, "variables": { "u": format!("nobody-{n}"), "p": "a wrong guess" } }))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            (read_reply(response).await, retry_after)
        }
    });
    let read = app.graphql_as(&reader, "{ plans { key } }", json!({}));
    let (replies, read) = tokio::join!(futures_util::future::join_all(attempts), read);

    let mut refused = 0;
    for (reply, retry_after) in &replies {
        match reply.body["errors"][0]["extensions"]["code"].as_str() {
            Some("INVALID_CREDENTIALS") => assert_eq!(reply.status, StatusCode::OK),
            Some("TOO_MANY_REQUESTS") => {
                assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(retry_after.as_ref().unwrap(), "1");
                assert_eq!(
                    reply.body["errors"][0]["extensions"]["requestId"],
                    reply.request_id.as_str()
                );
                refused += 1;
            }
            other => panic!("unexpected {other:?}: {:#}", reply.body),
        }
    }
    assert!(refused >= 1, "none of the sixteen was refused");
    assert!(
        refused <= 14,
        "the one with the place and the one waiting are served"
    );
    assert_eq!(data(&read)["plans"][0]["key"], "tangshan-2022");
    let metrics = app.get(None, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!("ecoplan_http_refused_unread_total {refused}")),
        "{metrics}"
    );
}
both!(sign_ins_beyond_the_places_and_their_queue_are_refused_unread);
