//! The whole reporting cycle, as a department and the leadership group go through it.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::audit::entries;
use crate::dashboard::{counts, dashboard, department_row};
use crate::helpers::{Backend, TestApp, both, data};
use crate::steps::{SAVE_REPORT, SAVE_VALUE, UPLOAD, pdf, report_input, sha256_hex, value_input};

const SUBMIT: &str = "mutation($id: ID!, $version: Int!) { submit(id: $id, version: $version) { id version reviewStatus late } }";
const APPROVE: &str = "mutation($id: ID!, $version: Int!) { approve(id: $id, version: $version) { id version reviewStatus } }";
const REJECT: &str = "mutation($id: ID!, $version: Int!, $reason: String!) { reject(id: $id, version: $version, reason: $reason) { id version reviewStatus rejectionReason } }";

/// One step of the cycle: what the mutation answered (its one field), and its request id.
struct Step {
    answer: Value,
    request_id: String,
}

impl Step {
    fn id(&self) -> String {
        self.answer["id"].as_str().unwrap().to_owned()
    }

    fn version(&self) -> i64 {
        self.answer["version"].as_i64().unwrap()
    }
}

async fn step(app: &TestApp, token: &str, mutation: &str, variables: Value, field: &str) -> Step {
    let (response, request_id) = app.graphql_traced(token, mutation, variables).await;
    Step {
        answer: data(&response)[field].clone(),
        request_id,
    }
}

/// Moves an item with `submit` or `approve`.
async fn move_item(app: &TestApp, token: &str, mutation: &str, item: &Step, field: &str) -> Step {
    step(
        app,
        token,
        mutation,
        json!({ "id": item.id(), "version": item.version() }),
        field,
    )
    .await
}

fn count_of(list: &Value, status: &str) -> i64 {
    counts(list)
        .into_iter()
        .find(|(name, _)| name == status)
        .map_or(0, |(_, count)| count)
}

async fn a_report_value_and_evidence_go_through_the_whole_cycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.account(Role::Department, Some("finance")).await;
    let leadership = app.account(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let before = dashboard(&app, &leadership.token, "2022-Q2").await;
    assert_eq!(before["awaitingReviewCount"], 0);
    assert_eq!(count_of(&before["tasksByStatus"], "OVERDUE"), 38);

    // The department drafts a report and a value and uploads the evidence.
    let report = step(
        &app,
        &finance.token,
        SAVE_REPORT,
        json!({ "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "開展政府綠色採購") }),
        "saveProgressReport",
    )
    .await;
    let value = step(
        &app,
        &finance.token,
        SAVE_VALUE,
        json!({ "input": value_input(&indicator, "2022-Q2", 85.0) }),
        "saveIndicatorValue",
    )
    .await;
    let (uploaded, upload_request) = app
        .graphql_multipart(
            Some(&finance.token),
            UPLOAD,
            json!({ "input": { "taskId": task, "title": "政府綠色採購通知", "progressReportId": report.id() } }),
            "採購通知.pdf",
            pdf(),
        )
        .await;
    let evidence = Step {
        answer: data(&uploaded)["uploadEvidence"].clone(),
        request_id: upload_request,
    };
    assert_eq!(evidence.answer["sha256"], sha256_hex(&pdf()).as_str());
    assert_eq!(evidence.answer["progressReportId"], report.id().as_str());

    // It submits all three.
    let report_sent = move_item(&app, &finance.token, SUBMIT, &report, "submit").await;
    let value_sent = move_item(&app, &finance.token, SUBMIT, &value, "submit").await;
    let evidence_sent = move_item(&app, &finance.token, SUBMIT, &evidence, "submit").await;
    for sent in [&report_sent, &value_sent, &evidence_sent] {
        assert_eq!(sent.answer["reviewStatus"], "SUBMITTED");
        assert_eq!(sent.answer["late"], true);
    }
    let during = dashboard(&app, &leadership.token, "2022-Q2").await;
    assert_eq!(during["awaitingReviewCount"], 3);
    assert_eq!(department_row(&during, "finance")["awaitingReview"], 3);
    assert_eq!(department_row(&during, "finance")["reportedThisPeriod"], 1);
    let own = dashboard(&app, &finance.token, "2022-Q2").await;
    assert_eq!(own["awaitingReviewCount"], 3);

    // The leadership group sends the report back; the department corrects it.
    let report_rejected = step(
        &app,
        &leadership.token,
        REJECT,
        json!({ "id": report.id(), "version": report_sent.version(), "reason": "請補充採購明細" }),
        "reject",
    )
    .await;
    assert_eq!(report_rejected.answer["reviewStatus"], "REJECTED");
    assert_eq!(report_rejected.answer["rejectionReason"], "請補充採購明細");
    let report_corrected = step(
        &app,
        &finance.token,
        SAVE_REPORT,
        json!({ "id": report.id(), "version": report_rejected.version(),
                "input": report_input(&task, "2022-Q2", "COMPLETED", "全年綠色採購比例達85%,明細見附件") }),
        "saveProgressReport",
    )
    .await;
    assert_eq!(report_corrected.answer["reviewStatus"], "REJECTED");
    let report_resent = move_item(&app, &finance.token, SUBMIT, &report_corrected, "submit").await;
    assert_eq!(report_resent.answer["reviewStatus"], "SUBMITTED");

    // The leadership group approves everything.
    let report_approved =
        move_item(&app, &leadership.token, APPROVE, &report_resent, "approve").await;
    let value_approved = move_item(&app, &leadership.token, APPROVE, &value_sent, "approve").await;
    let evidence_approved =
        move_item(&app, &leadership.token, APPROVE, &evidence_sent, "approve").await;
    for done in [&report_approved, &value_approved, &evidence_approved] {
        assert_eq!(done.answer["reviewStatus"], "APPROVED");
    }

    let seen = app
        .graphql_as(
            &finance.token,
            r#"{ task(code: "36") { status indicators { status latestValue { value } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data(&seen)["task"],
        json!({ "status": "COMPLETED", "indicators": [{ "status": "MET", "latestValue": { "value": 85.0 } }] })
    );
    let after = dashboard(&app, &leadership.token, "2022-Q2").await;
    assert_eq!(after["awaitingReviewCount"], 0);
    assert_eq!(count_of(&after["tasksByStatus"], "COMPLETED"), 1);
    assert_eq!(count_of(&after["tasksByStatus"], "OVERDUE"), 37);
    assert_eq!(
        count_of(&after["indicatorsByStatus"], "MET"),
        count_of(&before["indicatorsByStatus"], "MET") + 1
    );
    assert_eq!(
        count_of(&after["indicatorsByStatus"], "NO_DATA"),
        count_of(&before["indicatorsByStatus"], "NO_DATA") - 1
    );
    assert_eq!(department_row(&after, "finance")["awaitingReview"], 0);
    assert_eq!(department_row(&after, "finance")["overdue"], 0);

    // The audit log tells the story, step by step.
    let log: Vec<Value> = entries(&app, &leadership.token, json!({}))
        .await
        .into_iter()
        .filter(|entry| !entry["action"].as_str().unwrap().starts_with("user."))
        .map(|entry| {
            json!([
                entry["action"],
                entry["actor"]["username"],
                entry["actorRole"],
                entry["itemId"],
                entry["requestId"]
            ])
        })
        .collect();
    let by =
        |who: &crate::helpers::Account, role: &str, action: &str, item: &Step, request: &Step| {
            json!([action, who.username, role, item.id(), request.request_id])
        };
    let expected = vec![
        by(
            &finance,
            "DEPARTMENT",
            "progressReport.create",
            &report,
            &report,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "indicatorValue.create",
            &value,
            &value,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "evidence.upload",
            &evidence,
            &evidence,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "progressReport.submit",
            &report,
            &report_sent,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "indicatorValue.submit",
            &value,
            &value_sent,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "evidence.submit",
            &evidence,
            &evidence_sent,
        ),
        by(
            &leadership,
            "LEADERSHIP",
            "progressReport.reject",
            &report,
            &report_rejected,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "progressReport.update",
            &report,
            &report_corrected,
        ),
        by(
            &finance,
            "DEPARTMENT",
            "progressReport.submit",
            &report,
            &report_resent,
        ),
        by(
            &leadership,
            "LEADERSHIP",
            "progressReport.approve",
            &report,
            &report_approved,
        ),
        by(
            &leadership,
            "LEADERSHIP",
            "indicatorValue.approve",
            &value,
            &value_approved,
        ),
        by(
            &leadership,
            "LEADERSHIP",
            "evidence.approve",
            &evidence,
            &evidence_approved,
        ),
    ];
    assert_eq!(log, expected);
}
both!(a_report_value_and_evidence_go_through_the_whole_cycle);
