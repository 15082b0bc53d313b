//! The steps of the reporting cycle, as a department and the leadership group take them
//! over GraphQL, and the files a department uploads.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, data};

/// The fields of a progress report the tests look at.
pub const SAVE_REPORT: &str = "mutation($id: ID, $version: Int, $input: ProgressReportInput!) {
    saveProgressReport(id: $id, version: $version, input: $input) {
        id version reviewStatus late period status workDone problems nextSteps
        department { code } task { code }
        submittedAt submittedBy { username } reviewedAt reviewedBy { username } rejectionReason
    } }";

pub const SAVE_VALUE: &str = "mutation($id: ID, $version: Int, $input: IndicatorValueInput!) {
    saveIndicatorValue(id: $id, version: $version, input: $input) {
        id version reviewStatus late period value achieved text source note
        department { code } indicator { name }
    } }";

pub const UPLOAD: &str = "mutation($input: EvidenceInput!, $file: Upload!) {
    uploadEvidence(input: $input, file: $file) {
        id version reviewStatus title fileName contentType size sha256 downloadUrl
        progressReportId indicatorValueId department { code } task { code }
    } }";

const SUBMISSION: &str = "id version reviewStatus late
    submittedAt submittedBy { username } reviewedAt reviewedBy { username } rejectionReason";

/// An item of the cycle: its global id and the version last read.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub version: i64,
}

impl Item {
    /// The item a mutation answered with, after asserting there are no errors.
    #[track_caller]
    pub fn from_response(response: &Value, field: &str) -> Self {
        let object = &data(response)[field];
        Self {
            id: object["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no id in {response:#}"))
                .to_owned(),
            version: object["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("no version in {response:#}")),
        }
    }
}

pub fn report_input(task: &str, period: &str, status: &str, work_done: &str) -> Value {
    json!({ "taskId": task, "period": period, "status": status, "workDone": work_done })
}

pub fn value_input(indicator: &str, period: &str, value: f64) -> Value {
    json!({ "indicatorId": indicator, "period": period, "value": value, "source": "市財政局統計" })
}

/// `saveProgressReport`, as it answers.
pub async fn save_report(app: &TestApp, token: &str, item: Option<&Item>, input: Value) -> Value {
    app.graphql_as(
        token,
        SAVE_REPORT,
        json!({
            "id": item.map(|item| item.id.clone()),
            "version": item.map(|item| item.version),
            "input": input,
        }),
    )
    .await
}

/// `saveIndicatorValue`, as it answers.
pub async fn save_value(app: &TestApp, token: &str, item: Option<&Item>, input: Value) -> Value {
    app.graphql_as(
        token,
        SAVE_VALUE,
        json!({
            "id": item.map(|item| item.id.clone()),
            "version": item.map(|item| item.version),
            "input": input,
        }),
    )
    .await
}

/// A new draft report; panics when it is refused.
pub async fn draft_report(
    app: &TestApp,
    token: &str,
    task: &str,
    period: &str,
    status: &str,
) -> Item {
    let response = save_report(
        app,
        token,
        None,
        report_input(task, period, status, "開展政府綠色採購"),
    )
    .await;
    Item::from_response(&response, "saveProgressReport")
}

/// A new draft value; panics when it is refused.
pub async fn draft_value(
    app: &TestApp,
    token: &str,
    indicator: &str,
    period: &str,
    value: f64,
) -> Item {
    let response = save_value(app, token, None, value_input(indicator, period, value)).await;
    Item::from_response(&response, "saveIndicatorValue")
}

/// `uploadEvidence` with one file, as it answers.
pub async fn upload(
    app: &TestApp,
    token: Option<&str>,
    input: Value,
    file_name: &str,
    bytes: Vec<u8>,
) -> Value {
    app.graphql_multipart(token, UPLOAD, json!({ "input": input }), file_name, bytes)
        .await
        .0
}

/// New draft evidence on a task (a small PDF); panics when it is refused.
pub async fn draft_evidence(app: &TestApp, token: &str, task: &str) -> Item {
    let response = upload(
        app,
        Some(token),
        json!({ "taskId": task, "title": "採購通知" }),
        "通知.pdf",
        pdf(),
    )
    .await;
    Item::from_response(&response, "uploadEvidence")
}

/// `submit`, as it answers.
pub async fn submit(app: &TestApp, token: &str, item: &Item) -> Value {
    app.graphql_as(
        token,
        &format!("mutation($id: ID!, $version: Int!) {{ submit(id: $id, version: $version) {{ {SUBMISSION} }} }}"),
        json!({ "id": item.id, "version": item.version }),
    )
    .await
}

/// `approve`, as it answers.
pub async fn approve(app: &TestApp, token: &str, item: &Item) -> Value {
    app.graphql_as(
        token,
        &format!("mutation($id: ID!, $version: Int!) {{ approve(id: $id, version: $version) {{ {SUBMISSION} }} }}"),
        json!({ "id": item.id, "version": item.version }),
    )
    .await
}

/// `reject`, as it answers.
pub async fn reject(app: &TestApp, token: &str, item: &Item, reason: &str) -> Value {
    app.graphql_as(
        token,
        &format!("mutation($id: ID!, $version: Int!, $reason: String!) {{ reject(id: $id, version: $version, reason: $reason) {{ {SUBMISSION} }} }}"),
        json!({ "id": item.id, "version": item.version, "reason": reason }),
    )
    .await
}

/// `reopen`, as it answers.
pub async fn reopen(app: &TestApp, token: &str, item: &Item, reason: &str) -> Value {
    app.graphql_as(
        token,
        &format!("mutation($id: ID!, $reason: String!) {{ reopen(id: $id, reason: $reason) {{ {SUBMISSION} }} }}"),
        json!({ "id": item.id, "reason": reason }),
    )
    .await
}

/// Submits an item; panics when it is refused.
pub async fn submitted(app: &TestApp, token: &str, item: &Item) -> Item {
    Item::from_response(&submit(app, token, item).await, "submit")
}

/// Approves an item; panics when it is refused.
pub async fn approved(app: &TestApp, token: &str, item: &Item) -> Item {
    Item::from_response(&approve(app, token, item).await, "approve")
}

/// Rejects an item; panics when it is refused.
pub async fn rejected(app: &TestApp, token: &str, item: &Item, reason: &str) -> Item {
    Item::from_response(&reject(app, token, item, reason).await, "reject")
}

/// A draft value taken through submission and approval.
pub async fn approved_value(
    app: &TestApp,
    department: &str,
    leadership: &str,
    indicator: &str,
    period: &str,
    value: f64,
) -> Item {
    let draft = draft_value(app, department, indicator, period, value).await;
    let sent = submitted(app, department, &draft).await;
    approved(app, leadership, &sent).await
}

/// A draft report taken through submission and approval.
pub async fn approved_report(
    app: &TestApp,
    department: &str,
    leadership: &str,
    task: &str,
    period: &str,
    status: &str,
) -> Item {
    let draft = draft_report(app, department, task, period, status).await;
    let sent = submitted(app, department, &draft).await;
    approved(app, leadership, &sent).await
}

/// A tiny but well-formed PDF.
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
      2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
      trailer\n<< /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

/// The PNG signature and an image header chunk: enough to be recognised as a PNG.
pub fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(
        b"\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
    );
    bytes.extend_from_slice(b"\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82");
    bytes
}

/// The start of an ELF executable, padded to a full header.
pub fn elf() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\x00".to_vec();
    bytes.resize(64, 0);
    bytes
}

/// Plain UTF-8 text.
pub fn text_file() -> Vec<u8> {
    "一季度綠色採購情況說明\n採購金額:1200萬元\n"
        .as_bytes()
        .to_vec()
}

/// The SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
