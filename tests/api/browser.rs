//! What browsers rely on: CORS for the configured origins only, security headers on every
//! response, and a GraphiQL page whose policy lets it run and nothing frame it.

use ecoplan::service::policy::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp, both};

const FRONTEND: &str = "https://plan.tangshan.example.gov.cn";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_owned())
}

async fn no_origin_may_call_the_api_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = preflight(&app, "https://evil.example").await;

    assert_eq!(allowed_origin(&response), None);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&response), None);
}
both!(no_origin_may_call_the_api_by_default);

async fn a_configured_origin_may_call_the_api_and_read_the_request_id(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.cors_origins = vec![FRONTEND.to_owned()];
    })
    .await;

    let response = preflight(&app, FRONTEND).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(allowed_origin(&response).as_deref(), Some(FRONTEND));
    let methods = response.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    assert!(headers.contains("content-type"), "{headers}");

    let token = app.token_for(Role::Leadership, None).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", FRONTEND)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ plans { key } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(allowed_origin(&response).as_deref(), Some(FRONTEND));
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    for stranger in [
        "https://evil.example",
        "http://plan.tangshan.example.gov.cn",
    ] {
        let response = preflight(&app, stranger).await;
        assert_eq!(allowed_origin(&response), None, "{stranger}");
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("origin", stranger)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(allowed_origin(&response), None, "{stranger}");
    }
}
both!(a_configured_origin_may_call_the_api_and_read_the_request_id);

#[track_caller]
fn assert_security_headers(what: &str, response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{what} has no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    let policy = header("content-security-policy");
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    assert!(policy.starts_with("default-src 'none'"), "{what}: {policy}");
    assert!(!header("x-request-id").is_empty(), "{what}");
}

async fn every_response_has_the_security_headers(backend: Backend) {
    let storage = tempfile::tempdir().unwrap();
    let storage_dir = storage.path().to_owned();
    let app = TestApp::spawn_with(backend, |settings| {
        settings.storage_dir = storage_dir;
        settings.http.max_body_bytes = 4096;
    })
    .await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;

    // An evidence file to download.
    let operations = json!({
        "query": "mutation($task: ID!, $file: Upload!) { uploadEvidence(input: { taskId: $task, title: \"採購通知\" }, file: $file) { id downloadUrl } }",
        "variables": { "task": app.task_id("36").await, "file": null },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name("notice.pdf"),
        );
    let uploaded: serde_json::Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&finance)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let download = uploaded["data"]["uploadEvidence"]["downloadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("the upload failed: {uploaded:#}"))
        .to_owned();

    let get = |path: &str, token: Option<&str>| {
        let mut request = app.client.get(app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let responses = [
        ("POST /graphql", {
            app.client
                .post(app.url("/graphql"))
                .bearer_auth(&leadership)
                .json(&json!({ "query": "{ plans { key } }" }))
                .send()
                .await
                .unwrap()
        }),
        ("a GraphQL error", {
            app.client
                .post(app.url("/graphql"))
                .json(&json!({ "query": "{ plans { key } }" }))
                .send()
                .await
                .unwrap()
        }),
        (
            "GET /graphql",
            get("/graphql?query=%7B__typename%7D", None).await.unwrap(),
        ),
        ("/healthz", get("/healthz", None).await.unwrap()),
        ("/readyz", get("/readyz", None).await.unwrap()),
        ("/metrics", get("/metrics", None).await.unwrap()),
        ("a download", get(&download, Some(&finance)).await.unwrap()),
        ("a refused download", get(&download, None).await.unwrap()),
        ("a 404", get("/no-such-page", None).await.unwrap()),
        (
            "the CSV ledger",
            get("/export/plan.csv", Some(&leadership)).await.unwrap(),
        ),
        (
            "the xlsx ledger",
            get("/export/plan.xlsx", Some(&leadership)).await.unwrap(),
        ),
        (
            "a refused export",
            get("/export/plan.csv", None).await.unwrap(),
        ),
        ("a 413", {
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(" ".repeat(5000))
                .send()
                .await
                .unwrap()
        }),
        (
            "a CORS preflight",
            preflight(&app, "https://evil.example").await,
        ),
    ];
    for (what, response) in &responses {
        assert_security_headers(what, response);
    }
    let status = |what: &str| {
        responses
            .iter()
            .find(|(name, _)| *name == what)
            .map(|(_, response)| response.status().as_u16())
    };
    assert_eq!(status("a download"), Some(200));
    assert_eq!(status("the CSV ledger"), Some(200));
    assert_eq!(status("the xlsx ledger"), Some(200));
    assert_eq!(status("a 404"), Some(404));
    assert_eq!(status("a 413"), Some(413));
}
both!(every_response_has_the_security_headers);

async fn graphiql_loads_under_a_policy_that_lets_it_run(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.client.get(app.url("/graphiql")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains("graphiql"), "{html}");

    let directive = |name: &str| -> Vec<String> {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|part| {
                part.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .unwrap_or_else(|| panic!("the policy has no {name}: {policy}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // Nobody may frame it; it may talk only to this server.
    assert_eq!(directive("frame-ancestors"), ["'none'"]);
    assert_eq!(directive("connect-src"), ["'self'"]);
    assert_eq!(directive("default-src"), ["'none'"]);

    // Every script and stylesheet the page loads is allowed, and so is its inline script.
    let scripts = directive("script-src");
    let styles = directive("style-src");
    for (tag, attribute, allowed) in [
        ("<script", "src=\"", &scripts),
        ("<link rel=\"stylesheet\"", "href=\"", &styles),
    ] {
        for element in html.split(tag).skip(1) {
            let element = element.split('>').next().unwrap();
            let Some(url) = element
                .split(attribute)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            else {
                continue;
            };
            let url = if url.starts_with("//") {
                format!("https:{url}")
            } else {
                url.to_owned()
            };
            assert!(
                allowed
                    .iter()
                    .any(|source| url.starts_with(source.as_str())),
                "{url} is not allowed by {allowed:?}"
            );
        }
    }
    let inline: Vec<&str> = html
        .split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split("</script>").next())
        .collect();
    assert!(!inline.is_empty(), "the page has its inline script");
    for body in inline {
        use base64::Engine;
        use sha2::Digest;
        let hash = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
        );
        assert!(scripts.contains(&hash), "{hash} is not in {scripts:?}");
    }
    assert!(
        !scripts.iter().any(|source| source == "'unsafe-inline'"),
        "inline scripts are allowed by their hash only: {scripts:?}"
    );
}
both!(graphiql_loads_under_a_policy_that_lets_it_run);
