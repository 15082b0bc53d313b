//! Messages in the reader's language: Traditional Chinese by default (the plan's script),
//! Simplified Chinese for `zh-CN`/`zh-Hans`, English for `en`; the code never changes.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both};

async fn graphql_in(
    app: &TestApp,
    language: Option<&str>,
    token: Option<&str>,
    query: &str,
) -> Value {
    // A client of its own: the tests' client asks for English.
    let mut request = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON answer")
}

fn first_error(answer: &Value) -> (&str, &str) {
    let error = &answer["errors"][0];
    (
        error["message"].as_str().unwrap_or_default(),
        error["extensions"]["code"].as_str().unwrap_or_default(),
    )
}

async fn every_message_comes_in_the_readers_language_with_the_same_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;

    // A wrong value: its varying part is kept in every language.
    let bad_period = r#"{ dashboard(period: "2022-Q9") { awaitingReviewCount } }"#;
    for (language, expected) in [
        (None, "`2022-Q9` 不是本計畫的報告期：請寫作如 `2022-Q2`"),
        (
            Some("zh-TW"),
            "`2022-Q9` 不是本計畫的報告期：請寫作如 `2022-Q2`",
        ),
        (
            Some("zh-CN,zh;q=0.9"),
            "`2022-Q9` 不是本计划的报告期：请写作如 `2022-Q2`",
        ),
        (
            Some("zh-Hans"),
            "`2022-Q9` 不是本计划的报告期：请写作如 `2022-Q2`",
        ),
        (
            Some("en-US,en;q=0.9"),
            "`2022-Q9` is not a reporting period of this plan: write it like `2022-Q2`",
        ),
    ] {
        let answer = graphql_in(&app, language, Some(&finance), bad_period).await;
        assert_eq!(
            first_error(&answer),
            (expected, "BAD_USER_INPUT"),
            "{language:?}: {answer}"
        );
    }

    // A field refused to the role, and a request without a token.
    let refused = "{ me { username } auditLog(first: 1) { totalCount } }";
    let answer = graphql_in(&app, None, Some(&finance), refused).await;
    assert_eq!(
        first_error(&answer),
        ("只有領導小組辦公室可以執行此操作", "FORBIDDEN"),
        "{answer}"
    );
    let answer = graphql_in(&app, Some("zh-CN"), None, "{ plans { key } }").await;
    assert_eq!(
        first_error(&answer),
        ("请先登入：此操作需要有效的权杖", "UNAUTHENTICATED"),
        "{answer}"
    );

    // A sign-in that fails, and a request the server cannot read at all.
    let answer = graphql_in(
        &app,
        None,
        None,
        r#"mutation { login(username: "finance", password: "wrong") { token } }"#,
    )
    .await;
    assert_eq!(
        first_error(&answer),
        ("使用者名稱或密碼錯誤", "INVALID_CREDENTIALS")
    );
    let unreadable: Value = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        first_error(&unreadable),
        (
            "不支援批次請求（操作的 JSON 陣列）；每個請求請只送一項操作",
            "BAD_USER_INPUT"
        )
    );
}
both!(every_message_comes_in_the_readers_language_with_the_same_code);

/// A query the schema does not allow: the validator's message is in the reader's language
/// too, with the names it quotes left as they are.
async fn a_query_the_schema_refuses_is_explained_in_the_readers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let misspelt = "{ plans { keyy } }";
    let mut codes = Vec::new();
    for (language, expected) in [
        (None, "類型「Plan」沒有欄位「keyy」。是否要寫 \"key\"？"),
        (
            Some("zh-CN"),
            "类型「Plan」没有栏位「keyy」。是否要写 \"key\"？",
        ),
        (
            Some("en"),
            "Unknown field \"keyy\" on type \"Plan\". Did you mean \"key\"?",
        ),
    ] {
        let answer = graphql_in(&app, language, Some(&leadership), misspelt).await;
        let (message, code) = first_error(&answer);
        assert_eq!(message, expected, "{language:?}: {answer}");
        codes.push(code.to_owned());
    }
    assert!(
        codes
            .iter()
            .all(|code| code == &codes[0] && !code.is_empty())
    );

    let answer = graphql_in(
        &app,
        None,
        Some(&leadership),
        "{ tasks(first: \"ten\") { totalCount } }",
    )
    .await;
    assert_eq!(
        first_error(&answer).0,
        "參數的值無效：「first」應為類型「Int」",
        "{answer}"
    );
    // A document that does not parse: where it stops, then what was expected there.
    let unparsed = "{ plans { key }";
    let answer = graphql_in(&app, None, Some(&leadership), unparsed).await;
    let (message, code) = first_error(&answer);
    assert!(
        message.starts_with("GraphQL 文件有語法錯誤：") && message.contains("= 此處應為 "),
        "{answer}"
    );
    assert!(
        message.contains(unparsed),
        "the document is quoted as it is: {answer}"
    );
    let english = graphql_in(&app, Some("en"), Some(&leadership), unparsed).await;
    assert!(first_error(&english).0.contains("= expected "), "{english}");
    assert_eq!(first_error(&english).1, code);
    let answer = graphql_in(&app, None, Some(&leadership), "{ plans }").await;
    assert_eq!(
        first_error(&answer).0,
        "欄位「plans」的類型為「Plan」，須選取其子欄位",
        "{answer}"
    );
}
both!(a_query_the_schema_refuses_is_explained_in_the_readers_language);

async fn a_spreadsheets_errors_come_in_the_readers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let plan = app.plan_id().await;
    for (language, expected) in [
        (
            "zh-TW",
            "請求內容不是 Excel 活頁簿（.xlsx）：請送出由 /export/plan.xlsx 匯出並填妥的檔案",
        ),
        (
            "en",
            "the body is not an Excel workbook (.xlsx): send the file exported from /export/plan.xlsx, filled in",
        ),
    ] {
        let answer: Value = reqwest::Client::new()
            .post(app.url(&format!("/import/indicator-values?planId={plan}")))
            .bearer_auth(&finance)
            .header("accept-language", language)
            .body("not a workbook")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["code"], "BAD_USER_INPUT", "{answer}");
        assert_eq!(answer["message"], expected, "{language}: {answer}");
    }
}
both!(a_spreadsheets_errors_come_in_the_readers_language);

/// The plain-text answers of `/files` come in the reader's language too, with the same
/// status.
async fn a_files_refusal_comes_in_the_readers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let get = |language: Option<&'static str>, token: Option<String>, path: &'static str| {
        let request = reqwest::Client::new().get(app.url(path));
        let request = match language {
            Some(language) => request.header("accept-language", language),
            None => request,
        };
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move {
            let response = request.send().await.expect("the server answers");
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let nobody = "/files/RXZpZGVuY2U6OTk5OTk5";
    assert_eq!(get(None, None, nobody).await, (401, "請先登入".to_owned()));
    assert_eq!(
        get(Some("en"), None, nobody).await,
        (401, "sign in first".to_owned())
    );
    let (status, simplified) = get(Some("zh-CN"), None, nobody).await;
    assert_eq!(status, 401);
    assert!(simplified.starts_with("请"), "{simplified}");

    for (language, expected) in [(None, "找不到"), (Some("en"), "not found")] {
        assert_eq!(
            get(language, Some(finance.clone()), nobody).await,
            (404, expected.to_owned())
        );
    }
    let forged = "/files/RXZpZGVuY2U6OTk5OTk5?user=1&expires=1&signature=abc";
    let (status, body) = get(None, None, forged).await;
    assert_eq!(status, 403);
    assert!(body.starts_with("連結"), "{body}");
}
both!(a_files_refusal_comes_in_the_readers_language);
