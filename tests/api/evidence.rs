//! Evidence files: uploaded as GraphQL multipart requests, checked by their bytes, kept
//! with their hash, served under the same access rules, and deleted while still drafts.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, Store, TestApp, assert_error_code, data, global_id, stores};
use crate::steps::{
    Item, approved, draft_evidence, draft_report, draft_value, elf, pdf, png, rejected, sha256_hex,
    submitted, text_file, upload,
};

const DELETE: &str = "mutation($id: ID!, $version: Int!) { deleteEvidence(id: $id, version: $version) { deletedEvidenceId task { code } } }";

async fn delete(app: &TestApp, token: &str, item: &Item) -> Value {
    app.graphql_as(
        token,
        DELETE,
        json!({ "id": item.id, "version": item.version }),
    )
    .await
}

async fn a_department_uploads_evidence_and_its_type_size_and_hash_are_recorded(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;

    let files = [
        ("採購通知.pdf", pdf(), "application/pdf"),
        ("現場照片.png", png(), "image/png"),
        ("情況說明.txt", text_file(), "text/plain"),
        // No extension: the bytes decide.
        ("說明", text_file(), "text/plain"),
    ];
    for (name, bytes, content_type) in files {
        let response = upload(
            &app,
            Some(&finance),
            json!({ "taskId": task, "title": "佐證材料", "progressReportId": report.id }),
            name,
            bytes.clone(),
        )
        .await;
        let evidence = &data(&response)["uploadEvidence"];
        assert_eq!(evidence["contentType"], content_type, "{name}");
        assert_eq!(evidence["fileName"], name);
        assert_eq!(evidence["size"], bytes.len());
        assert_eq!(evidence["sha256"], sha256_hex(&bytes).as_str());
        assert_eq!(evidence["reviewStatus"], "DRAFT");
        assert_eq!(evidence["version"], 1);
        assert_eq!(evidence["progressReportId"], report.id.as_str());
        assert_eq!(evidence["indicatorValueId"], Value::Null);
        assert_eq!(evidence["department"]["code"], "finance");
        assert_eq!(evidence["task"]["code"], "36");
        let id = evidence["id"].as_str().unwrap();
        assert_eq!(evidence["downloadUrl"], format!("/files/{id}").as_str());
    }

    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "採購統計表", "indicatorValueId": value.id }),
        "統計.pdf",
        pdf(),
    )
    .await;
    assert_eq!(
        data(&response)["uploadEvidence"]["indicatorValueId"],
        value.id.as_str()
    );

    let listed = app
        .graphql_as(
            &finance,
            r#"{ task(code: "36") { evidence { nodes { fileName } }
                progressReports { nodes { evidence { fileName } } }
                indicators { values { nodes { evidence { fileName } } } } } }"#,
            json!({}),
        )
        .await;
    let task = &data(&listed)["task"];
    assert_eq!(task["evidence"]["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(
        task["progressReports"]["nodes"][0]["evidence"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        task["indicators"][0]["values"]["nodes"][0]["evidence"],
        json!([{ "fileName": "統計.pdf" }])
    );
    assert_eq!(app.stored_objects().await.len(), 5);
}
stores!(a_department_uploads_evidence_and_its_type_size_and_hash_are_recorded);

async fn the_file_is_served_to_those_who_may_see_it_and_to_nobody_else(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let bytes = pdf();
    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "採購通知" }),
        "通知.pdf",
        bytes.clone(),
    )
    .await;
    let url = data(&response)["uploadEvidence"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let colleague = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;
    for token in [&finance, &colleague, &leadership, &admin] {
        let response = app.get(Some(token), &url).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    }

    let audit = app.token_for(Role::Department, Some("audit")).await;
    let portal = app.token_for(Role::Portal, None).await;
    for token in [&audit, &portal] {
        assert_eq!(app.get(Some(token), &url).await.status(), 404);
    }
    assert_eq!(app.get(None, &url).await.status(), 401);
    assert_eq!(app.get(Some("not a token"), &url).await.status(), 401);
    let missing = format!("/files/{}", global_id(NodeKind::Evidence, 999_999));
    assert_eq!(app.get(Some(&leadership), &missing).await.status(), 404);
}
stores!(the_file_is_served_to_those_who_may_see_it_and_to_nobody_else);

/// Asserts that an upload was refused as the caller's mistake, and left nothing behind.
async fn assert_refused_and_nothing_kept(app: &TestApp, response: &Value) {
    assert_error_code(response, "BAD_USER_INPUT");
    assert_eq!(app.count_rows("evidence").await, 0);
    assert_eq!(app.stored_objects().await, Vec::<String>::new());
    assert_eq!(app.count_audit_entries("evidence.upload").await, 0);
}

async fn an_executable_named_pdf_is_refused(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "採購報告" }),
        "report.pdf",
        elf(),
    )
    .await;

    assert_refused_and_nothing_kept(&app, &response).await;
}
stores!(an_executable_named_pdf_is_refused);

async fn a_file_whose_name_promises_another_type_is_refused(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    for (name, bytes) in [
        ("照片.pdf", png()),
        ("通知.png", pdf()),
        ("說明.pdf", text_file()),
    ] {
        let response = upload(
            &app,
            Some(&finance),
            json!({ "taskId": task, "title": "偽裝的文件" }),
            name,
            bytes,
        )
        .await;
        assert_refused_and_nothing_kept(&app, &response).await;
    }
}
stores!(a_file_whose_name_promises_another_type_is_refused);

async fn an_empty_or_unrecognisable_file_is_refused(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    for bytes in [Vec::new(), b"\x00\x01\x02binary".to_vec(), elf()] {
        let response = upload(
            &app,
            Some(&finance),
            json!({ "taskId": task, "title": "看不懂的文件" }),
            "data.bin",
            bytes,
        )
        .await;
        assert_refused_and_nothing_kept(&app, &response).await;
    }
}
stores!(an_empty_or_unrecognisable_file_is_refused);

async fn a_file_over_the_limit_is_refused_and_nothing_is_kept(backend: Backend, store: Store) {
    let app =
        TestApp::spawn_on_with(backend, store, |settings| settings.upload.max_bytes = 1024).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "太大的文件" }),
        "大文件.txt",
        "綠".repeat(700).into_bytes(),
    )
    .await;

    assert_refused_and_nothing_kept(&app, &response).await;
    // A file at the limit is fine.
    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "剛好的文件" }),
        "剛好.txt",
        vec![b'a'; 1024],
    )
    .await;
    data(&response);
}
stores!(a_file_over_the_limit_is_refused_and_nothing_is_kept);

async fn only_a_lead_department_uploads_evidence_for_its_task(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let task = app.task_id("36").await;
    let input = json!({ "taskId": task, "title": "佐證" });
    let admin = app.admin_token().await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;

    for token in [&admin, &leadership, &portal] {
        let response = upload(&app, Some(token), input.clone(), "通知.pdf", pdf()).await;
        assert_error_code(&response, "FORBIDDEN");
    }
    // To a department that does not lead it, the task is not there.
    let response = upload(&app, Some(&audit), input.clone(), "通知.pdf", pdf()).await;
    assert_error_code(&response, "NOT_FOUND");
    let response = upload(&app, None, input, "通知.pdf", pdf()).await;
    assert_error_code(&response, "UNAUTHENTICATED");

    let finance = app.token_for(Role::Department, Some("finance")).await;
    let missing = json!({ "taskId": global_id(NodeKind::Task, 999_999), "title": "佐證" });
    let response = upload(&app, Some(&finance), missing, "通知.pdf", pdf()).await;
    assert_error_code(&response, "NOT_FOUND");
    assert_eq!(app.count_rows("evidence").await, 0);
    assert!(app.stored_objects().await.is_empty());
}
stores!(only_a_lead_department_uploads_evidence_for_its_task);

async fn evidence_backs_only_a_report_or_value_of_its_own_department_and_task(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let water = app
        .token_for(Role::Department, Some("water-resources"))
        .await;
    let task_6 = app.task_id("6").await;
    let task_7 = app.task_id("7").await;
    let task_9 = app.task_id("9").await;
    let report_7 = draft_report(&app, &ecology, &task_7, "2022-Q2", "IN_PROGRESS").await;
    let value_7 = draft_value(
        &app,
        &ecology,
        &app.indicator_id("7", 0).await,
        "2022-Q2",
        100.0,
    )
    .await;
    let report_9 = draft_report(&app, &ecology, &task_9, "2022-Q2", "IN_PROGRESS").await;

    // Another task's report or value.
    for input in [
        json!({ "taskId": task_6, "title": "佐證", "progressReportId": report_7.id }),
        json!({ "taskId": task_6, "title": "佐證", "indicatorValueId": value_7.id }),
    ] {
        let response = upload(&app, Some(&ecology), input, "通知.pdf", pdf()).await;
        assert_error_code(&response, "BAD_USER_INPUT");
    }
    // Another department's report on a task both lead.
    let response = upload(
        &app,
        Some(&water),
        json!({ "taskId": task_9, "title": "佐證", "progressReportId": report_9.id }),
        "通知.pdf",
        pdf(),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    // A report that does not exist.
    let response = upload(
        &app,
        Some(&ecology),
        json!({ "taskId": task_7, "title": "佐證",
                "progressReportId": global_id(NodeKind::ProgressReport, 999_999) }),
        "通知.pdf",
        pdf(),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    // A submitted report takes no more files.
    let sent = submitted(&app, &ecology, &report_7).await;
    let response = upload(
        &app,
        Some(&ecology),
        json!({ "taskId": task_7, "title": "佐證", "progressReportId": sent.id }),
        "通知.pdf",
        pdf(),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");
    assert_eq!(app.count_rows("evidence").await, 0);
    assert!(app.stored_objects().await.is_empty());
}
stores!(evidence_backs_only_a_report_or_value_of_its_own_department_and_task);

async fn a_department_deletes_its_draft_evidence_and_the_file_goes_with_it(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let draft = draft_evidence(&app, &finance, &task).await;
    assert_eq!(app.stored_objects().await.len(), 1);

    let stale = delete(
        &app,
        &finance,
        &Item {
            version: 2,
            ..draft.clone()
        },
    )
    .await;
    assert_error_code(&stale, "STALE_VERSION");
    let response = delete(&app, &finance, &draft).await;

    assert_eq!(
        data(&response)["deleteEvidence"],
        json!({ "deletedEvidenceId": draft.id, "task": { "code": "36" } })
    );
    assert_eq!(app.count_rows("evidence").await, 0);
    assert!(app.stored_objects().await.is_empty());
    let url = format!("/files/{}", draft.id);
    assert_eq!(app.get(Some(&finance), &url).await.status(), 404);
    assert_error_code(&delete(&app, &finance, &draft).await, "NOT_FOUND");

    // Rejected evidence can be deleted too.
    let rejected_file = draft_evidence(&app, &finance, &task).await;
    let rejected_file = submitted(&app, &finance, &rejected_file).await;
    let rejected_file = rejected(&app, &leadership, &rejected_file, "文件不清晰").await;
    data(&delete(&app, &finance, &rejected_file).await);
    assert!(app.stored_objects().await.is_empty());
}
stores!(a_department_deletes_its_draft_evidence_and_the_file_goes_with_it);

async fn submitted_or_another_departments_evidence_cannot_be_deleted(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let task = app.task_id("36").await;
    let draft = draft_evidence(&app, &finance, &task).await;

    for token in [&leadership, &portal] {
        assert_error_code(&delete(&app, token, &draft).await, "FORBIDDEN");
    }
    assert_error_code(&delete(&app, &audit, &draft).await, "NOT_FOUND");
    let anonymous = app
        .graphql(DELETE, json!({ "id": draft.id, "version": draft.version }))
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");

    let sent = submitted(&app, &finance, &draft).await;
    assert_error_code(&delete(&app, &finance, &sent).await, "INVALID_STATE");
    let done = approved(&app, &leadership, &sent).await;
    assert_error_code(&delete(&app, &finance, &done).await, "INVALID_STATE");
    assert_eq!(app.count_rows("evidence").await, 1);
    assert_eq!(app.stored_objects().await.len(), 1);
}
stores!(submitted_or_another_departments_evidence_cannot_be_deleted);

async fn the_portal_never_sees_evidence(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;
    let task = app.task_id("36").await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "採購通知", "progressReportId": report.id }),
        "通知.pdf",
        pdf(),
    )
    .await;
    let file = Item::from_response(&response, "uploadEvidence");
    let report = submitted(&app, &finance, &report).await;
    let file = submitted(&app, &finance, &file).await;
    approved(&app, &leadership, &report).await;
    approved(&app, &leadership, &file).await;

    let seen = app
        .graphql_as(
            &portal,
            r#"query($file: ID!) { task(code: "36") { evidence { nodes { id } } progressReports { nodes { reviewStatus evidence { id } } } }
                node(id: $file) { id } }"#,
            json!({ "file": file.id }),
        )
        .await;

    let seen = data(&seen);
    assert_eq!(seen["task"]["evidence"]["nodes"], json!([]));
    assert_eq!(
        seen["task"]["progressReports"]["nodes"],
        json!([{ "reviewStatus": "APPROVED", "evidence": [] }])
    );
    assert_eq!(seen["node"], Value::Null);
    let url = format!("/files/{}", file.id);
    assert_eq!(app.get(Some(&portal), &url).await.status(), 404);
    assert_eq!(app.get(Some(&leadership), &url).await.status(), 200);
}
stores!(the_portal_never_sees_evidence);

/// A file larger than one upload part (8 MiB) comes back whole, with its length and
/// checksum, or one byte range of it (a resumed download). That it went up in parts is not
/// visible afterwards: committing copies the object, which gets a single-part ETag.
async fn a_large_file_comes_back_whole_with_its_length_and_checksum_or_by_range(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let mut bytes = pdf();
    // 9 MiB of varied bytes: more than one 8 MiB part, and no two parts alike.
    bytes.extend((0..9 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes.extend_from_slice(b"\n%%EOF\n");
    let response = upload(
        &app,
        Some(&finance),
        json!({ "taskId": task, "title": "年度監測報告" }),
        "監測報告.pdf",
        bytes.clone(),
    )
    .await;
    let evidence = &data(&response)["uploadEvidence"];
    let url = evidence["downloadUrl"].as_str().unwrap().to_owned();
    let sha256 = evidence["sha256"].as_str().unwrap().to_owned();
    assert_eq!(app.stored_objects().await.len(), 1);

    let whole = app.get(Some(&finance), &url).await;
    assert_eq!(whole.status(), 200);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-length"], bytes.len().to_string().as_str());
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["etag"], format!("\"{sha256}\"").as_str());
    assert!(
        headers["repr-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha-256=:"),
        "{headers:?}"
    );
    let body = whole.bytes().await.unwrap();
    assert_eq!(format!("{:x}", Sha256::digest(&body)), sha256);
    assert!(body == bytes, "the file comes back as it was sent");

    let ranged = |range: &'static str| {
        let request = app
            .client
            .get(app.url(&url))
            .bearer_auth(&finance)
            .header("range", range);
        async move { request.send().await.unwrap() }
    };
    let middle = ranged("bytes=8388600-8388615").await;
    assert_eq!(middle.status(), 206);
    assert_eq!(
        middle.headers()["content-range"],
        format!("bytes 8388600-8388615/{}", bytes.len()).as_str()
    );
    assert_eq!(middle.headers()["content-length"], "16");
    assert_eq!(middle.bytes().await.unwrap(), &bytes[8_388_600..8_388_616]);
    let tail = ranged("bytes=-7").await;
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), &b"\n%%EOF\n"[..]);
    let beyond = ranged("bytes=99999999-").await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{}", bytes.len()).as_str()
    );
}
stores!(a_large_file_comes_back_whole_with_its_length_and_checksum_or_by_range);

const LINK: &str =
    "query($id: ID!) { node(id: $id) { ... on Evidence { downloadLink { url expiresAt } } } }";

async fn download_link(app: &TestApp, token: &str, evidence: &str) -> (String, String) {
    let response = app.graphql_as(token, LINK, json!({ "id": evidence })).await;
    let link = &data(&response)["node"]["downloadLink"];
    (
        link["url"].as_str().unwrap().to_owned(),
        link["expiresAt"].as_str().unwrap().to_owned(),
    )
}

/// A plain GET, as a browser follows a link: no token.
async fn follow(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("the server answers")
}

async fn a_signed_link_downloads_without_a_token_for_its_user_and_file_alone(
    backend: Backend,
    store: Store,
) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.account(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let bytes = pdf();
    let mut files = Vec::new();
    for name in ["通知.pdf", "附件.pdf"] {
        let response = upload(
            &app,
            Some(&finance.token),
            json!({ "taskId": task, "title": "採購通知" }),
            name,
            bytes.clone(),
        )
        .await;
        files.push(
            data(&response)["uploadEvidence"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    let (url, expires_at) = download_link(&app, &finance.token, &files[0]).await;
    assert!(
        url.starts_with(&app.url("/files/")),
        "{url} is not absolute"
    );
    let expires_at = chrono::DateTime::parse_from_rfc3339(&expires_at).unwrap();
    let minutes = (expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (9..=10).contains(&minutes),
        "the link lasts {minutes} minutes"
    );
    let answer = follow(&url).await;
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E9%80%9A%E7%9F%A5.pdf")
    );
    assert_eq!(answer.bytes().await.unwrap().to_vec(), bytes);

    // The signature opens that file alone, for that user alone, until that time.
    let (_, query) = url.split_once('?').unwrap();
    let other_file = format!("{}?{query}", app.url(&format!("/files/{}", files[1])));
    assert_eq!(follow(&other_file).await.status(), 403);
    let user = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("user="))
        .unwrap();
    let other_user = url.replace(
        &format!("user={user}"),
        &format!("user={}", user.parse::<i64>().unwrap() + 1),
    );
    assert_eq!(follow(&other_user).await.status(), 403);
    let expires = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("expires="))
        .unwrap();
    let longer = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires.parse::<i64>().unwrap() + 86_400),
    );
    assert_eq!(follow(&longer).await.status(), 403);
    let forged = format!("{}signature=AAAA", &url[..url.find("signature=").unwrap()]);
    assert_eq!(follow(&forged).await.status(), 403);

    // The file's access rules still hold: a link of another department's user opens
    // nothing of finance's.
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let response = app
        .graphql_as(&audit, LINK, json!({ "id": files[0] }))
        .await;
    assert!(response["data"]["node"].is_null(), "{response}");

    // The leadership group's link opens it; submitted or not, drafts are theirs to see.
    let leadership = app.token_for(Role::Leadership, None).await;
    let (url_of_leadership, _) = download_link(&app, &leadership, &files[0]).await;
    assert_eq!(follow(&url_of_leadership).await.status(), 200);

    // Revoking the user's tokens (here, moving them to another department) ends the link.
    let admin = app.admin_token().await;
    let audit_id = global_id(NodeKind::Department, app.department_id("audit").await);
    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }",
            json!({ "id": finance.id, "input": { "departmentId": audit_id } }),
        )
        .await;
    data(&response);
    assert_eq!(follow(&url).await.status(), 403);
    assert_eq!(follow(&url_of_leadership).await.status(), 200);
}
stores!(a_signed_link_downloads_without_a_token_for_its_user_and_file_alone);

async fn a_signed_link_stops_working_when_it_expires(backend: Backend, store: Store) {
    let app = TestApp::spawn_on_with(backend, store, |settings| {
        settings.auth.download_link_lifetime = std::time::Duration::from_secs(2);
    })
    .await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let evidence = draft_evidence(&app, &finance, &app.task_id("36").await).await;
    let (url, _) = download_link(&app, &finance, &evidence.id).await;
    assert_eq!(follow(&url).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let answer = follow(&url).await;
    assert_eq!(answer.status(), 403);
    // A plain link carries no language of its own: the plan's script is the default.
    assert_eq!(answer.text().await.unwrap(), "連結已過期，請重新取得");
    // A new read gives a new link.
    let (renewed, _) = download_link(&app, &finance, &evidence.id).await;
    assert_eq!(follow(&renewed).await.status(), 200);
}
stores!(a_signed_link_stops_working_when_it_expires);

async fn evidence_names_the_report_or_value_it_backs_as_objects(backend: Backend, store: Store) {
    let app = TestApp::spawn_on(backend, store).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(
        &app,
        &finance,
        &app.indicator_id("36", 0).await,
        "2022-Q2",
        85.0,
    )
    .await;
    let query = "query($task: ID!) { node(id: $task) { ... on Task { evidence(first: 10) { nodes {
        title progressReport { id period reviewStatus } indicatorValue { id value } } } } } }";
    for (title, backs) in [
        ("報告佐證", json!({ "progressReportId": report.id })),
        ("數值佐證", json!({ "indicatorValueId": value.id })),
        ("任務佐證", json!({})),
    ] {
        let mut input = json!({ "taskId": task, "title": title });
        input
            .as_object_mut()
            .unwrap()
            .extend(backs.as_object().unwrap().clone());
        data(&upload(&app, Some(&finance), input, "說明.txt", text_file()).await);
    }
    for viewer in [&finance, &app.token_for(Role::Leadership, None).await] {
        let answer = app.graphql_as(viewer, query, json!({ "task": task })).await;
        let nodes = data(&answer)["node"]["evidence"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        let by_title = |title: &str| {
            nodes
                .iter()
                .find(|node| node["title"] == title)
                .unwrap_or_else(|| panic!("no {title} in {answer}"))
                .clone()
        };
        let of_report = by_title("報告佐證");
        assert_eq!(of_report["progressReport"]["id"], report.id.as_str());
        assert_eq!(of_report["progressReport"]["period"], "2022-Q2");
        assert!(of_report["indicatorValue"].is_null());
        let of_value = by_title("數值佐證");
        assert_eq!(of_value["indicatorValue"]["id"], value.id.as_str());
        assert_eq!(of_value["indicatorValue"]["value"], 85.0);
        assert!(of_value["progressReport"].is_null());
        let of_task = by_title("任務佐證");
        assert!(of_task["progressReport"].is_null() && of_task["indicatorValue"].is_null());
    }
}
stores!(evidence_names_the_report_or_value_it_backs_as_objects);
