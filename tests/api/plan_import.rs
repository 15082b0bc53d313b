//! Plans from their documents: preview, import as a draft, correct, publish; a draft is
//! invisible to departments and the portal until it is published.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};

/// A plan of another city in the form of the 2022 plan (`tests/fixtures/plans`).
pub const QIANAN_2023: &str = include_str!("../fixtures/plans/qianan-2023.txt");
const TANGSHAN_2022_TEXT: &str = include_str!("../fixtures/plans/tangshan-2022.txt");

const IMPORT: &str = "mutation($file: Upload!, $key: String!) {
    importPlanDocument(file: $file, key: $key, year: 2023) {
        plan { id key published sections { tasks { id code indicators { id name } } } }
        review { taskCode subject message line }
    } }";

/// Imports the Qian'an document as a draft plan under `key`; returns the payload.
pub async fn import_draft(app: &TestApp, admin: &str, key: &str) -> Value {
    let (response, _) = app
        .graphql_multipart(
            Some(admin),
            IMPORT,
            json!({ "key": key }),
            "qianan-2023.txt",
            QIANAN_2023.as_bytes().to_vec(),
        )
        .await;
    data(&response)["importPlanDocument"].clone()
}

/// The id of a draft's task (top-level) and of its first indicator, by code.
pub fn draft_task(payload: &Value, code: &str) -> (String, Option<String>) {
    let task = payload["plan"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["tasks"].as_array().unwrap())
        .find(|task| task["code"] == code)
        .unwrap_or_else(|| panic!("the draft has no task {code}"));
    let indicator = task["indicators"][0]["id"].as_str().map(str::to_owned);
    (task["id"].as_str().unwrap().to_owned(), indicator)
}

async fn preview_answers_the_plan_and_its_review_list_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let plans_before = app.count_rows("plan").await;
    let departments_before = app.count_rows("department").await;

    let (response, _) = app
        .graphql_multipart(
            Some(&admin),
            "mutation($file: Upload!) { previewPlanDocument(file: $file, key: \"tangshan-2022-again\", year: 2022) {
                title issuer issuedOn sourceFile
                sections { number title }
                tasks { code parentCode title leadCodes indicators { kind value unit better targetText milestones { year value } } }
                departments { code isNew }
                review { taskCode subject line }
                planFile } }",
            json!({}),
            "tangshan-2022.txt",
            TANGSHAN_2022_TEXT.as_bytes().to_vec(),
        )
        .await;
    let preview = &data(&response)["previewPlanDocument"];
    assert_eq!(preview["issuer"], "唐山市人民政府辦公室");
    assert_eq!(preview["issuedOn"], "2022-04-15");
    assert_eq!(preview["sourceFile"], "tangshan-2022.txt");
    assert_eq!(preview["sections"].as_array().unwrap().len(), 6);
    let tasks = preview["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 43, "38 tasks and 5 parts");
    let task = |code: &str| tasks.iter().find(|t| t["code"] == code).unwrap();
    assert_eq!(task("2.3")["parentCode"], "2");
    assert_eq!(
        task("9")["leadCodes"],
        json!(["ecology-environment", "water-resources", "urban-management"])
    );
    assert_eq!(
        task("32")["indicators"][0]["milestones"],
        json!([{ "year": 2025, "value": 100.0 }])
    );
    assert_eq!(task("31")["indicators"][1]["unit"], "m²/人");
    assert!(
        preview["departments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["isNew"] == false)
    );
    let review = preview["review"].as_array().unwrap();
    assert!(
        review
            .iter()
            .any(|item| item["taskCode"] == "34" && item["subject"] == "TITLE")
    );
    assert!(
        preview["planFile"]
            .as_str()
            .unwrap()
            .contains("key = \"tangshan-2022-again\"")
    );

    assert_eq!(app.count_rows("plan").await, plans_before);
    assert_eq!(app.count_rows("department").await, departments_before);
}
both!(preview_answers_the_plan_and_its_review_list_and_writes_nothing);

async fn an_imported_plan_is_a_draft_invisible_to_departments_and_the_portal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let payload = import_draft(&app, &admin, "qianan-2023").await;
    assert_eq!(payload["plan"]["published"], false);
    let plan = payload["plan"]["id"].as_str().unwrap().to_owned();
    let (task, indicator) = draft_task(&payload, "6");
    let indicator = indicator.unwrap();
    let review = payload["review"].as_array().unwrap();
    assert!(review.iter().any(|item| item["subject"] == "DEPARTMENT"
        && item["line"].as_str().unwrap().contains("市行政审批局")));

    let leadership = app.token_for(Role::Leadership, None).await;
    // Finance leads the draft's task 6, and still does not see it.
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let looks = "query($plan: ID!, $task: ID!, $indicator: ID!) {
        plans { key }
        plan(id: $plan) { key }
        indicator(id: $indicator) { name }
        node(id: $task) { id }
        department(code: \"finance\") { tasks { code plan { key } } }
        current: plan { key } }";
    let variables = json!({ "plan": plan, "task": task, "indicator": indicator });
    // The lists of a plan's items, each asked on its own (for a plan the caller does not
    // see, each is NOT_FOUND, as for a plan that does not exist).
    let lists = [
        "query($plan: ID!) { sections(planId: $plan) { number } }",
        "query($plan: ID!) { tasks(planId: $plan) { totalCount } }",
        "query($plan: ID!) { task(planId: $plan, code: \"6\") { code } }",
        "query($plan: ID!) { indicators(planId: $plan) { totalCount } }",
    ];
    for token in [&admin, &leadership] {
        let seen = app.graphql_as(token, looks, variables.clone()).await;
        let seen = data(&seen);
        assert_eq!(seen["plan"]["key"], "qianan-2023");
        assert!(!seen["node"].is_null());
        assert!(!seen["indicator"].is_null());
        assert!(
            seen["plans"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["key"] == "qianan-2023")
        );
        // What a query means by "the plan" stays the published one.
        assert_eq!(seen["current"]["key"], "tangshan-2022");
        let tasks = app
            .graphql_as(token, lists[1], json!({ "plan": plan }))
            .await;
        assert_eq!(data(&tasks)["tasks"]["totalCount"], 8);
        let six = app
            .graphql_as(token, lists[2], json!({ "plan": plan }))
            .await;
        assert_eq!(data(&six)["task"]["code"], "6");
    }
    for token in [&finance, &portal] {
        let seen = app.graphql_as(token, looks, variables.clone()).await;
        let seen = data(&seen);
        assert!(seen["plan"].is_null());
        assert!(seen["indicator"].is_null());
        assert!(seen["node"].is_null());
        assert!(
            !seen["plans"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["key"] == "qianan-2023")
        );
        assert_eq!(seen["current"]["key"], "tangshan-2022");
        let led = seen["department"]["tasks"].as_array().unwrap();
        assert!(led.iter().all(|t| t["plan"]["key"] == "tangshan-2022"));
        for list in lists {
            let answer = app.graphql_as(token, list, json!({ "plan": plan })).await;
            assert_error_code(&answer, "NOT_FOUND");
        }
    }

    // Nor can a department report on it.
    let report = app
        .graphql_as(
            &finance,
            r#"mutation($task: ID!) { saveProgressReport(input: {
                taskId: $task, period: "2023-Q1", status: IN_PROGRESS, workDone: "节能" }) { id } }"#,
            json!({ "task": task }),
        )
        .await;
    assert_error_code(&report, "NOT_FOUND");

    // Published, it is there for everyone, and the publication is audited.
    let published = app
        .graphql_as(
            &leadership,
            "mutation($plan: ID!) { publishPlan(id: $plan) { key published } }",
            json!({ "plan": plan }),
        )
        .await;
    assert_eq!(data(&published)["publishPlan"]["published"], true);
    assert_eq!(app.count_audit_entries("plan.publish").await, 1);
    assert_eq!(app.count_audit_entries("plan.import").await, 1);
    for token in [&finance, &portal] {
        let seen = app.graphql_as(token, looks, variables.clone()).await;
        let seen = data(&seen);
        assert_eq!(seen["plan"]["key"], "qianan-2023");
        assert!(!seen["node"].is_null());
        let six = app
            .graphql_as(token, lists[2], json!({ "plan": plan }))
            .await;
        assert_eq!(data(&six)["task"]["code"], "6");
    }
    let again = app
        .graphql_as(
            &admin,
            "mutation($plan: ID!) { publishPlan(id: $plan) { key } }",
            json!({ "plan": plan }),
        )
        .await;
    assert_error_code(&again, "BAD_USER_INPUT");
}
both!(an_imported_plan_is_a_draft_invisible_to_departments_and_the_portal);

async fn a_draft_is_corrected_before_it_is_published_and_not_after(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let payload = import_draft(&app, &admin, "qianan-2023").await;
    let plan = payload["plan"]["id"].as_str().unwrap().to_owned();
    let (task, _) = draft_task(&payload, "5");
    let (_, indicator) = draft_task(&payload, "1");
    let leadership = app.token_for(Role::Leadership, None).await;

    let corrected = app
        .graphql_as(
            &leadership,
            r#"mutation($task: ID!) { updateDraftTask(id: $task, input: {
                title: "发展生态农业和绿色种植", leadDepartmentCodes: ["agriculture-rural", "finance"] }) {
                title leadDepartments { code } } }"#,
            json!({ "task": task }),
        )
        .await;
    let corrected = &data(&corrected)["updateDraftTask"];
    assert_eq!(corrected["title"], "发展生态农业和绿色种植");
    assert_eq!(
        corrected["leadDepartments"],
        json!([{ "code": "agriculture-rural" }, { "code": "finance" }])
    );

    let target = app
        .graphql_as(
            &admin,
            r#"mutation($indicator: ID!) { updateDraftIndicator(id: $indicator, input: {
                kind: AT_MOST, value: 35, unit: "μg/m³", targetText: "不高于35微克/立方米" }) {
                unit target { kind value text } } }"#,
            json!({ "indicator": indicator }),
        )
        .await;
    let target = &data(&target)["updateDraftIndicator"];
    assert_eq!(
        target["target"],
        json!({ "kind": "AT_MOST", "value": 35.0, "text": "不高于35微克/立方米" })
    );
    assert_eq!(target["unit"], "μg/m³");
    assert_eq!(app.count_audit_entries("task.correctDraft").await, 1);
    assert_eq!(app.count_audit_entries("indicator.correctDraft").await, 1);

    let wrong = app
        .graphql_as(
            &admin,
            r#"mutation($indicator: ID!) { updateDraftIndicator(id: $indicator, input: { kind: EXTERNAL, value: 3 }) { name } }"#,
            json!({ "indicator": indicator }),
        )
        .await;
    assert_error_code(&wrong, "BAD_USER_INPUT");
    let unknown = app
        .graphql_as(
            &admin,
            r#"mutation($task: ID!) { updateDraftTask(id: $task, input: { leadDepartmentCodes: ["nobody"] }) { code } }"#,
            json!({ "task": task }),
        )
        .await;
    assert_error_code(&unknown, "BAD_USER_INPUT");

    data(
        &app.graphql_as(
            &admin,
            "mutation($plan: ID!) { publishPlan(id: $plan) { key } }",
            json!({ "plan": plan }),
        )
        .await,
    );
    let late = app
        .graphql_as(
            &admin,
            r#"mutation($task: ID!) { updateDraftTask(id: $task, input: { title: "太晚了" }) { code } }"#,
            json!({ "task": task }),
        )
        .await;
    assert_error_code(&late, "BAD_USER_INPUT");
    // The published 2022 plan cannot be corrected this way either.
    let published_task = app.task_id("36").await;
    let refused = app
        .graphql_as(
            &admin,
            r#"mutation($task: ID!) { updateDraftTask(id: $task, input: { title: "改" }) { code } }"#,
            json!({ "task": published_task }),
        )
        .await;
    assert_error_code(&refused, "BAD_USER_INPUT");
}
both!(a_draft_is_corrected_before_it_is_published_and_not_after);

async fn an_import_refuses_a_key_in_use_and_a_document_that_is_not_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (response, _) = app
        .graphql_multipart(
            Some(&admin),
            IMPORT,
            json!({ "key": "tangshan-2022" }),
            "qianan-2023.txt",
            QIANAN_2023.as_bytes().to_vec(),
        )
        .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    let (response, _) = app
        .graphql_multipart(
            Some(&admin),
            IMPORT,
            json!({ "key": "qianan-2023" }),
            "plan.pdf",
            vec![0xff, 0xfe, 0x00, 0x25],
        )
        .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    assert_eq!(app.count_rows("plan").await, 1);
}
both!(an_import_refuses_a_key_in_use_and_a_document_that_is_not_text);
