//! What browsers rely on: CORS for the configured origins only, security headers on every
//! response, `HEAD` like `GET`, and a GraphiQL page that loads from this server alone under
//! a policy that lets nothing else in and nothing frame it. The same page in a real browser
//! (headless Chromium with no network beyond the server) is `tests/browser/graphiql.mjs`.

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
            "authorization, content-type, apollographql-client-name, apollographql-client-version, accept-language",
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
    for header in [
        "authorization",
        "content-type",
        "apollographql-client-name",
        "apollographql-client-version",
        "accept-language",
    ] {
        assert!(headers.contains(header), "{header} in {headers}");
    }

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
    // A page reads the request id, and a download's file name.
    for header in ["x-request-id", "content-disposition"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }

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

/// The `src` or `href` of every `<tag …>` element of a page.
fn references<'a>(html: &'a str, tag: &str, attribute: &str) -> Vec<&'a str> {
    html.split(tag)
        .skip(1)
        .filter_map(|element| {
            let element = element.split('>').next()?;
            element
                .split(&format!(" {attribute}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
        })
        .collect()
}

async fn graphiql_loads_from_this_server_alone(backend: Backend) {
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
    // Scripts, styles and requests from this server only; nobody may frame it.
    assert_eq!(directive("default-src"), ["'none'"]);
    assert_eq!(directive("script-src"), ["'self'"]);
    assert_eq!(directive("style-src"), ["'self'"]);
    assert_eq!(directive("connect-src"), ["'self'"]);
    assert_eq!(directive("frame-ancestors"), ["'none'"]);
    for source in directive("img-src")
        .into_iter()
        .chain(directive("font-src"))
    {
        assert!(
            source == "'self'" || source == "data:",
            "images and fonts come from the server or inline: {policy}"
        );
    }
    // No inline script or style, which the policy would refuse.
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<style"), "{html}");
    assert!(!html.contains(" style="), "{html}");

    let scripts = references(&html, "<script", "src");
    let styles = references(&html, "<link rel=\"stylesheet\"", "href");
    assert_eq!(
        scripts.len(),
        4,
        "React, ReactDOM, GraphiQL and its start: {html}"
    );
    assert_eq!(styles.len(), 2, "GraphiQL's style and the page's: {html}");
    for (kind, url) in scripts
        .iter()
        .map(|url| ("text/javascript", url))
        .chain(styles.iter().map(|url| ("text/css", url)))
    {
        assert!(
            url.starts_with("graphiql/assets/"),
            "{url} is not one of the server's own files"
        );
        // Relative to the page at /graphiql.
        let response = app
            .client
            .get(app.url(&format!("/{url}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{url}: {content_type}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        let body = response.bytes().await.unwrap();
        assert!(body.len() > 100, "{url} is {} bytes", body.len());
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("unpkg.com") && !text.contains("cdn.jsdelivr"),
            "{url} loads from a CDN"
        );
    }
    // The production builds, not the development ones.
    assert!(
        scripts
            .iter()
            .any(|url| url.ends_with("react.production.min.js"))
    );
    assert!(
        scripts
            .iter()
            .any(|url| url.ends_with("react-dom.production.min.js"))
    );
    assert!(scripts.iter().any(|url| url.ends_with("graphiql.min.js")));

    let missing = app
        .client
        .get(app.url("/graphiql/assets/graphiql-4.1.2/no-such-file.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
both!(graphiql_loads_from_this_server_alone);

async fn head_answers_like_get_on_every_page(backend: Backend) {
    let storage = tempfile::tempdir().unwrap();
    let storage_dir = storage.path().to_owned();
    let app = TestApp::spawn_with(backend, |settings| {
        settings.storage_dir = storage_dir;
    })
    .await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let operations = json!({
        "query": "mutation($task: ID!, $file: Upload!) { uploadEvidence(input: { taskId: $task, title: \"採購通知\" }, file: $file) { downloadUrl } }",
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
    let page = app
        .client
        .get(app.url("/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut pages: Vec<(String, Option<&str>)> = vec![
        ("/graphiql".into(), None),
        ("/healthz".into(), None),
        ("/readyz".into(), None),
        ("/metrics".into(), None),
        (
            "/graphql?query=%7B%20plans%20%7B%20key%20%7D%20%7D".into(),
            Some(&leadership),
        ),
        (download, Some(&finance)),
        ("/export/plan.csv".into(), Some(&leadership)),
        ("/export/plan.xlsx".into(), Some(&leadership)),
        ("/no-such-page".into(), None),
    ];
    for url in references(&page, "<script", "src")
        .into_iter()
        .chain(references(&page, "<link rel=\"stylesheet\"", "href"))
    {
        pages.push((format!("/{url}"), None));
    }

    for (path, token) in &pages {
        let ask = |method: reqwest::Method| {
            let mut request = app.client.request(method, app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        let get = ask(reqwest::Method::GET).await.unwrap();
        let head = ask(reqwest::Method::HEAD).await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        for name in ["content-type", "cache-control", "content-disposition"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "HEAD {path}: {name}"
            );
        }
        // A fixed answer declares the same length; none sends a body.
        let get_length = get.headers().get("content-length").cloned();
        let found = get.status().is_success();
        let get_body = get.bytes().await.unwrap();
        // (The metrics count this very request, and the workbook names the second it
        // was made: their lengths may differ.)
        let same_every_time =
            !path.starts_with("/metrics") && !path.starts_with("/export/plan.xlsx");
        if same_every_time && let Some(length) = &get_length {
            assert_eq!(
                head.headers().get("content-length"),
                Some(length),
                "HEAD {path}"
            );
        }
        if found {
            assert!(!get_body.is_empty(), "GET {path} has a body");
        }
        let head_body = head.bytes().await.unwrap();
        assert!(
            head_body.is_empty(),
            "HEAD {path} sent {} bytes",
            head_body.len()
        );
    }
    // The pages a load balancer asks are among them, and answer.
    let healthz = app.client.head(app.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
}
both!(head_answers_like_get_on_every_page);
