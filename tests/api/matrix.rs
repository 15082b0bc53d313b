//! Every root field of the schema, asked by every kind of caller, with the outcome each
//! must get. A new query or mutation needs one row here, or the coverage test fails.

use std::collections::{BTreeMap, BTreeSet};

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, error_code, global_id};
use crate::plan_import::{QIANAN_2023, draft_task, import_draft};
use crate::steps::{approved, draft_evidence, pdf, submitted};

/// Who asks. The objects the rows ask about belong to 市財政局 (`finance`): the "own"
/// department user is from there, the "other" one from 市審計局.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    Admin,
    Leadership,
    OwnDepartment,
    OtherDepartment,
    Portal,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Admin,
    Caller::Leadership,
    Caller::OwnDepartment,
    Caller::OtherDepartment,
    Caller::Portal,
];

/// What a caller gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Data, and not empty.
    Allowed,
    /// No error, but `null`, an empty list or `totalCount: 0`: the object is not visible.
    Invisible,
    Unauthenticated,
    Forbidden,
    /// `NOT_FOUND`: the object asked about does not exist for the caller (it may exist,
    /// but the caller may not see it).
    NotFound,
}

use Outcome::{Allowed as A, Forbidden as F, Invisible as I, NotFound as N, Unauthenticated as U};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Root {
    Query,
    Mutation,
}

/// One root field, the request that exercises it, and the outcome for each caller in
/// the order of `CALLERS`: anonymous, admin, leadership, own department, other
/// department, portal.
///
/// Variables every request may use: `$task` and `$indicator` (finance's task 36 and its
/// indicator), `$externalIndicator` (an indicator with an externally set target), `$plan`
/// (the 2022 plan), `$financeDepartment` (市財政局), `$draftPlan`, `$draftTask` and `$draftIndicator` (a draft plan, its
/// task 6, which finance leads, and that task's indicator), `$victim` (a user the mutations act on), `$loginName` and
/// `$loginPassword` (a user who can sign in), `$password` (the caller's own password) and
/// `$newName` (a username nobody has).
///
/// Objects that a change uses up are made afresh for each caller, when the request names
/// them (see `fixtures`): `$draftEvidence`, `$submittedEvidence` and `$approvedEvidence`
/// (finance's evidence on task 36, at version 1, 2 and 3), `$freshPeriod` (an open period
/// of the plan), `$closedPeriod` (a closed one), `$newPlanKey` (a plan key not used yet)
/// and `$freshDraft` (a draft plan just imported).
struct Row {
    field: &'static str,
    root: Root,
    request: &'static str,
    body: Body,
    expected: [Outcome; 6],
}

/// How a row's request is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// A JSON body.
    Json,
    /// A GraphQL multipart request, with a small PDF as the variable `$file`.
    Multipart,
    /// A GraphQL multipart request, with a plan document (Qian'an's 2023 plan) as `$file`.
    PlanDocument,
}

const fn query(field: &'static str, request: &'static str, expected: [Outcome; 6]) -> Row {
    Row {
        field,
        root: Root::Query,
        request,
        body: Body::Json,
        expected,
    }
}

const fn mutation(field: &'static str, request: &'static str, expected: [Outcome; 6]) -> Row {
    Row {
        field,
        root: Root::Mutation,
        request,
        body: Body::Json,
        expected,
    }
}

/// A mutation that takes a file, sent as a GraphQL multipart request.
const fn upload(field: &'static str, request: &'static str, expected: [Outcome; 6]) -> Row {
    Row {
        field,
        root: Root::Mutation,
        request,
        body: Body::Multipart,
        expected,
    }
}

/// A mutation that takes a plan document, sent as a GraphQL multipart request.
const fn document(field: &'static str, request: &'static str, expected: [Outcome; 6]) -> Row {
    Row {
        field,
        root: Root::Mutation,
        request,
        body: Body::PlanDocument,
        expected,
    }
}

//                                                             anon adm lead own oth portal
const MATRIX: &[Row] = &[
    query(
        "node",
        "query($task: ID!) { node(id: $task) { id } }",
        [U, A, A, A, I, A],
    ),
    query("plans", "{ plans { key } }", [U, A, A, A, A, A]),
    query("plan", "{ plan { key } }", [U, A, A, A, A, A]),
    query("sections", "{ sections { number } }", [U, A, A, A, A, A]),
    query(
        "departments",
        "{ departments { code } }",
        [U, A, A, A, A, A],
    ),
    query(
        "department",
        r#"{ department(code: "finance") { code } }"#,
        [U, A, A, A, A, A],
    ),
    query(
        "tasks",
        r#"{ tasks(filter: { departmentCode: "finance" }) { totalCount } }"#,
        [U, A, A, A, I, A],
    ),
    query(
        "task",
        r#"{ task(code: "36") { code } }"#,
        [U, A, A, A, I, A],
    ),
    query(
        "taskByCode",
        r#"{ taskByCode(code: "36") { code } }"#,
        [U, A, A, A, I, A],
    ),
    query(
        "taskById",
        "query($task: ID!) { taskById(id: $task) { code } }",
        [U, A, A, A, I, A],
    ),
    query(
        "departmentByCode",
        r#"{ departmentByCode(code: "finance") { code } }"#,
        [U, A, A, A, A, A],
    ),
    query(
        "departmentById",
        "query($financeDepartment: ID!) { departmentById(id: $financeDepartment) { code } }",
        [U, A, A, A, A, A],
    ),
    query(
        "departmentByName",
        r#"{ departmentByName(name: "市財政局") { code } }"#,
        [U, A, A, A, A, A],
    ),
    query(
        "indicators",
        r#"{ indicators(filter: { departmentCode: "finance" }) { totalCount } }"#,
        [U, A, A, A, I, A],
    ),
    query(
        "indicator",
        "query($indicator: ID!) { indicator(id: $indicator) { name } }",
        [U, A, A, A, I, A],
    ),
    // A draft plan (imported, not published), whose task 6 finance leads: only the
    // administrators and the leadership group see it, its items and their nodes; to the
    // others, a list of its items is a list of a plan that does not exist.
    query(
        "plan",
        "query($draftPlan: ID!) { plan(id: $draftPlan) { key } }",
        [U, A, A, I, I, I],
    ),
    query(
        "sections",
        "query($draftPlan: ID!) { sections(planId: $draftPlan) { number } }",
        [U, A, A, N, N, N],
    ),
    query(
        "tasks",
        "query($draftPlan: ID!) { tasks(planId: $draftPlan) { totalCount } }",
        [U, A, A, N, N, N],
    ),
    query(
        "task",
        r#"query($draftPlan: ID!) { task(planId: $draftPlan, code: "6") { code } }"#,
        [U, A, A, N, N, N],
    ),
    query(
        "taskByCode",
        r#"query($draftPlan: ID!) { taskByCode(planId: $draftPlan, code: "6") { code } }"#,
        [U, A, A, N, N, N],
    ),
    query(
        "taskById",
        "query($draftTask: ID!) { taskById(id: $draftTask) { code } }",
        [U, A, A, I, I, I],
    ),
    query(
        "indicators",
        "query($draftPlan: ID!) { indicators(planId: $draftPlan) { totalCount } }",
        [U, A, A, N, N, N],
    ),
    query(
        "indicator",
        "query($draftIndicator: ID!) { indicator(id: $draftIndicator) { name } }",
        [U, A, A, I, I, I],
    ),
    query(
        "node",
        "query($draftTask: ID!) { node(id: $draftTask) { id } }",
        [U, A, A, I, I, I],
    ),
    query("me", "{ me { username } }", [I, A, A, A, A, A]),
    query("users", "{ users { totalCount } }", [U, A, F, F, F, F]),
    query(
        "dashboard",
        r#"{ dashboard(period: "2022-Q2") { period } }"#,
        [U, A, A, A, A, F],
    ),
    query(
        "auditLog",
        "{ auditLog { totalCount } }",
        [U, A, A, F, F, F],
    ),
    query(
        "reportingPeriod",
        r#"query($plan: ID!) { reportingPeriod(planId: $plan, period: "2022-Q2") { period } }"#,
        [U, A, A, A, A, A],
    ),
    query(
        "reportingPeriod",
        r#"query($draftPlan: ID!) { reportingPeriod(planId: $draftPlan, period: "2023-Q2") { period } }"#,
        [U, A, A, N, N, N],
    ),
    mutation(
        "login",
        "mutation($loginName: String!, $loginPassword: String!) {
            login(username: $loginName, password: $loginPassword) { token } }",
        [A, A, A, A, A, A],
    ),
    mutation(
        "changePassword",
        "mutation($password: String!) { changePassword(current: $password, new: $password) { token } }",
        [U, A, A, A, A, A],
    ),
    mutation(
        "refreshToken",
        "mutation { refreshToken { token expiresAt } }",
        [U, A, A, A, A, A],
    ),
    mutation(
        "createUser",
        r#"mutation($newName: String!) {
            createUser(input: { username: $newName, password: "long enough password", role: PORTAL }) { id } }"#,
        [U, A, F, F, F, F],
    ),
    mutation(
        "updateUser",
        r#"mutation($victim: ID!) { updateUser(id: $victim, input: { displayName: "Renamed" }) { id } }"#,
        [U, A, F, F, F, F],
    ),
    mutation(
        "deactivateUser",
        "mutation($victim: ID!) { deactivateUser(id: $victim) { id } }",
        [U, A, F, F, F, F],
    ),
    mutation(
        "reactivateUser",
        "mutation($victim: ID!) { reactivateUser(id: $victim) { id } }",
        [U, A, F, F, F, F],
    ),
    mutation(
        "resetPassword",
        r#"mutation($victim: ID!) { resetPassword(id: $victim, password: "reset by someone") { id } }"#,
        [U, A, F, F, F, F],
    ),
    mutation(
        "saveProgressReport",
        r#"mutation($task: ID!) { saveProgressReport(input: {
            taskId: $task, period: "2022-Q2", status: IN_PROGRESS, workDone: "開展政府綠色採購" }) { id } }"#,
        [U, F, F, A, N, F],
    ),
    mutation(
        "saveIndicatorValue",
        r#"mutation($indicator: ID!) { saveIndicatorValue(input: {
            indicatorId: $indicator, period: "2022-Q2", value: 85 }) { id } }"#,
        [U, F, F, A, N, F],
    ),
    upload(
        "uploadEvidence",
        r#"mutation($task: ID!, $file: Upload!) {
            uploadEvidence(input: { taskId: $task, title: "採購通知" }, file: $file) { id } }"#,
        [U, F, F, A, N, F],
    ),
    mutation(
        "deleteEvidence",
        "mutation($draftEvidence: ID!) { deleteEvidence(id: $draftEvidence, version: 1) { deletedEvidenceId } }",
        [U, F, F, A, N, F],
    ),
    mutation(
        "submit",
        "mutation($draftEvidence: ID!) { submit(id: $draftEvidence, version: 1) { id } }",
        [U, F, F, A, N, F],
    ),
    mutation(
        "approve",
        "mutation($submittedEvidence: ID!) { approve(id: $submittedEvidence, version: 2) { id } }",
        [U, A, A, F, F, F],
    ),
    mutation(
        "reject",
        r#"mutation($submittedEvidence: ID!) {
            reject(id: $submittedEvidence, version: 2, reason: "請補充") { id } }"#,
        [U, A, A, F, F, F],
    ),
    mutation(
        "reopen",
        r#"mutation($approvedEvidence: ID!) { reopen(id: $approvedEvidence, reason: "重新核對") { id } }"#,
        [U, A, A, F, F, F],
    ),
    mutation(
        "setTaskDueDate",
        r#"mutation($task: ID!) { setTaskDueDate(taskId: $task, dueOn: "2027-12-31") { code } }"#,
        [U, A, A, F, F, F],
    ),
    mutation(
        "setExternalTarget",
        "mutation($externalIndicator: ID!) {
            setExternalTarget(indicatorId: $externalIndicator, year: 2022, value: 75) { name } }",
        [U, A, A, F, F, F],
    ),
    mutation(
        "closePeriod",
        "mutation($plan: ID!, $freshPeriod: String!) {
            closePeriod(planId: $plan, period: $freshPeriod) { closed } }",
        [U, A, A, F, F, F],
    ),
    mutation(
        "reopenPeriod",
        r#"mutation($plan: ID!, $closedPeriod: String!) {
            reopenPeriod(planId: $plan, period: $closedPeriod, reason: "補報") { closed } }"#,
        [U, A, A, F, F, F],
    ),
    document(
        "previewPlanDocument",
        r#"mutation($file: Upload!) {
            previewPlanDocument(file: $file, key: "qianan-preview", year: 2023) { tasks { code } } }"#,
        [U, A, F, F, F, F],
    ),
    document(
        "importPlanDocument",
        "mutation($file: Upload!, $newPlanKey: String!) {
            importPlanDocument(file: $file, key: $newPlanKey, year: 2023) { plan { key } } }",
        [U, A, F, F, F, F],
    ),
    mutation(
        "publishPlan",
        "mutation($freshDraft: ID!) { publishPlan(id: $freshDraft) { published } }",
        [U, A, A, F, F, F],
    ),
    mutation(
        "updateDraftTask",
        r#"mutation($draftTask: ID!) { updateDraftTask(id: $draftTask, input: { title: "倡导绿色生活" }) { code } }"#,
        [U, A, A, F, F, F],
    ),
    // After `reject`, whose rows send finance its notices.
    query(
        "notifications",
        "{ notifications { totalCount } }",
        [U, I, I, A, I, F],
    ),
    mutation(
        "markNotificationsRead",
        "mutation($financeNotice: ID!) { markNotificationsRead(ids: [$financeNotice]) { id } }",
        [U, N, N, A, N, F],
    ),
    mutation(
        "redeliverWebhook",
        "mutation($delivery: ID!) { redeliverWebhook(id: $delivery) { id } }",
        [U, A, F, F, F, F],
    ),
    // After `redeliverWebhook`, whose rows make deliveries.
    query(
        "webhookDeliveries",
        "{ webhookDeliveries { totalCount } }",
        [U, A, F, F, F, F],
    ),
    mutation(
        "updateDraftIndicator",
        r#"mutation($draftIndicator: ID!) {
            updateDraftIndicator(id: $draftIndicator, input: { targetText: "不增加" }) { name } }"#,
        [U, A, A, F, F, F],
    ),
];

/// Who makes the objects that a row's change uses up, and what they belong to.
struct Maker {
    finance: String,
    leadership: String,
    task: String,
    plan: String,
    /// Periods not used yet, from 2023-Q1 on (2022-Q2 is where the reports go).
    next_period: u32,
    admin: String,
    /// Plan keys used so far by imports.
    next_plan: u32,
}

impl Maker {
    fn new_plan_key(&mut self) -> String {
        self.next_plan += 1;
        format!("matrix-import-{}", self.next_plan)
    }
}

impl Maker {
    fn fresh_period(&mut self) -> String {
        let n = self.next_period;
        self.next_period += 1;
        assert!(n < 24, "the plan has no more periods to close");
        format!("{}-Q{}", 2022 + n / 4, n % 4 + 1)
    }
}

/// Makes the objects a request names (and only those), for one caller.
async fn fixtures(app: &TestApp, maker: &mut Maker, request: &str) -> Vec<(&'static str, Value)> {
    let mut made = Vec::new();
    if request.contains("$draftEvidence") {
        let draft = draft_evidence(app, &maker.finance, &maker.task).await;
        made.push(("draftEvidence", json!(draft.id)));
    }
    if request.contains("$submittedEvidence") {
        let draft = draft_evidence(app, &maker.finance, &maker.task).await;
        let sent = submitted(app, &maker.finance, &draft).await;
        made.push(("submittedEvidence", json!(sent.id)));
    }
    if request.contains("$approvedEvidence") {
        let draft = draft_evidence(app, &maker.finance, &maker.task).await;
        let sent = submitted(app, &maker.finance, &draft).await;
        let done = approved(app, &maker.leadership, &sent).await;
        made.push(("approvedEvidence", json!(done.id)));
    }
    if request.contains("$financeNotice") {
        made.push(("financeNotice", json!(finance_notice(app).await)));
    }
    if request.contains("$delivery") {
        made.push(("delivery", json!(webhook_delivery(app).await)));
    }
    if request.contains("$newPlanKey") {
        made.push(("newPlanKey", json!(maker.new_plan_key())));
    }
    if request.contains("$freshDraft") {
        let key = maker.new_plan_key();
        let payload = import_draft(app, &maker.admin, &key).await;
        made.push(("freshDraft", payload["plan"]["id"].clone()));
    }
    if request.contains("$freshPeriod") {
        made.push(("freshPeriod", json!(maker.fresh_period())));
    }
    if request.contains("$closedPeriod") {
        let period = maker.fresh_period();
        let response = app
            .graphql_as(
                &maker.leadership,
                "mutation($plan: ID!, $period: String!) { closePeriod(planId: $plan, period: $period) { closed } }",
                json!({ "plan": maker.plan, "period": period }),
            )
            .await;
        data(&response);
        made.push(("closedPeriod", json!(period)));
    }
    made
}

/// A notification to finance, written as the review workflow writes one.
async fn finance_notice(app: &TestApp) -> String {
    use ecoplan::service::notification::{NewNotification, NotificationKind, Recipient, notify};
    let finance = app.department_id("finance").await;
    let notice = NewNotification {
        recipient: Recipient::Department(finance),
        kind: NotificationKind::Approved,
        message: "the progress report on task 36 was approved".to_owned(),
        items: Vec::new(),
        once_key: None,
    };
    let row = notify(&app.db, notice, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    global_id(NodeKind::Notification, row.id)
}

/// A webhook delivery of an event, delivered already.
async fn webhook_delivery(app: &TestApp) -> String {
    use ecoplan::entity::{outbox_event, webhook_delivery};
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let event = outbox_event::ActiveModel {
        event: Set("plan.published".to_owned()),
        item_key: Set("Plan:0".to_owned()),
        payload: Set("{}".to_owned()),
        created_at: Set(now),
        fanned_out: Set(true),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let delivery = webhook_delivery::ActiveModel {
        event_id: Set(event.id),
        endpoint: Set("http://127.0.0.1:9/hook".to_owned()),
        event: Set(event.event.clone()),
        item_key: Set(event.item_key.clone()),
        delivery_key: Set(format!("{}-matrix", event.id)),
        state: Set("DELIVERED".to_owned()),
        attempts: Set(1),
        last_status: Set(Some(200)),
        last_error: Set(None),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        delivered_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    global_id(NodeKind::WebhookDelivery, delivery.id)
}

/// What a response amounts to, or why it amounts to none of the outcomes.
fn outcome_of(response: &Value, field: &str) -> Result<Outcome, String> {
    if let Some(code) = error_code(response) {
        // A refused field is `null` in its place, or, when its type forbids `null`, takes
        // `data` with it: never a key missing that the schema promises.
        if let Some(data) = response.get("data")
            && !data.is_null()
            && !data.get(field).is_some_and(Value::is_null)
        {
            return Err(format!("a refused `{field}` must be null: {response}"));
        }
        return match code {
            "UNAUTHENTICATED" => Ok(U),
            "FORBIDDEN" => Ok(F),
            "NOT_FOUND" => Ok(N),
            other => Err(format!(
                "the error {other}: {}",
                response["errors"][0]["message"]
            )),
        };
    }
    let value = response["data"]
        .get(field)
        .ok_or_else(|| format!("no `{field}` in {response}"))?;
    let empty = value.is_null()
        || value.as_array().is_some_and(Vec::is_empty)
        || value.get("totalCount").is_some_and(|count| count == 0);
    Ok(if empty { I } else { A })
}

/// A signed-in caller: its username and password.
type Account = (String, String);

async fn accounts(app: &TestApp) -> BTreeMap<Caller, Account> {
    let mut accounts = BTreeMap::new();
    accounts.insert(
        Caller::Admin,
        ("admin".to_owned(), app.admin_password.clone()),
    );
    for (caller, role, department) in [
        (Caller::Leadership, Role::Leadership, None),
        (Caller::OwnDepartment, Role::Department, Some("finance")),
        (Caller::OtherDepartment, Role::Department, Some("audit")),
        (Caller::Portal, Role::Portal, None),
    ] {
        let name = format!("matrix-{caller:?}").to_ascii_lowercase();
        accounts.insert(caller, app.create_user(&name, role, department).await);
    }
    accounts
}

async fn sign_in_all(
    app: &TestApp,
    accounts: &BTreeMap<Caller, Account>,
) -> BTreeMap<Caller, String> {
    let mut tokens = BTreeMap::new();
    for (caller, (username, password)) in accounts {
        tokens.insert(*caller, app.login(username, password).await);
    }
    tokens
}

async fn every_root_field_gives_each_caller_the_outcome_the_matrix_states(backend: Backend) {
    // The matrix signs in an account per role and department from one address, more than
    // the per-address sign-in rate allows in a minute.
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.login_rate_per_minute = 0;
    })
    .await;
    let accounts = accounts(&app).await;
    let (login_name, login_password) = app.create_user("matrix-login", Role::Portal, None).await;
    let (victim, _) = app
        .create_user("matrix-victim", Role::Department, Some("audit"))
        .await;
    let victim = global_id(NodeKind::User, app.user_row(&victim).await.id);
    let task = app.task_id("36").await;
    let leadership = app
        .login(
            &accounts[&Caller::Leadership].0,
            &accounts[&Caller::Leadership].1,
        )
        .await;
    let indicator = data(
        &app.graphql_as(
            &leadership,
            r#"{ task(code: "36") { indicators { id } } }"#,
            json!({}),
        )
        .await,
    )["task"]["indicators"][0]["id"]
        .clone();
    // 優良天數比例, whose target the leadership group enters each year.
    let external_indicator = app.indicator_id("8", 0).await;
    let plan = app.plan_id().await;
    let finance_department = global_id(NodeKind::Department, app.department_id("finance").await);
    // Not `admin` itself, whose sessions a row ends (changePassword).
    let admin = app.token_for(Role::Admin, None).await;
    let draft = import_draft(&app, &admin, "matrix-draft").await;
    let draft_plan = draft["plan"]["id"].clone();
    let (draft_task, draft_indicator) = draft_task(&draft, "6");
    let mut maker = Maker {
        admin,
        next_plan: 0,
        finance: app.token_for(Role::Department, Some("finance")).await,
        leadership: app.token_for(Role::Leadership, None).await,
        task: task.clone(),
        plan: plan.clone(),
        next_period: 4,
    };

    let mut tokens = sign_in_all(&app, &accounts).await;
    let mut wrong = Vec::new();
    for row in MATRIX {
        for (caller, expected) in CALLERS.iter().zip(row.expected) {
            let password = accounts
                .get(caller)
                .map_or("not signed in at all", |(_, password)| password.as_str());
            let mut variables = json!({
                "task": task,
                "indicator": indicator,
                "externalIndicator": external_indicator,
                "plan": plan,
                "victim": victim,
                "loginName": login_name,
                "loginPassword": login_password,
                "password": password,
                "newName": format!("made-by-{caller:?}").to_ascii_lowercase(),
                "draftPlan": draft_plan,
                "draftTask": draft_task,
                "draftIndicator": draft_indicator,
                "financeDepartment": finance_department,
            });
            for (name, value) in fixtures(&app, &mut maker, row.request).await {
                variables[name] = value;
            }
            let token = tokens.get(caller).map(String::as_str);
            let response = match (row.body, token) {
                (Body::Json, Some(token)) => app.graphql_as(token, row.request, variables).await,
                (Body::Json, None) => app.graphql(row.request, variables).await,
                (Body::Multipart, token) => {
                    app.graphql_multipart(token, row.request, variables, "通知.pdf", pdf())
                        .await
                        .0
                }
                (Body::PlanDocument, token) => {
                    let document = QIANAN_2023.as_bytes().to_vec();
                    app.graphql_multipart(
                        token,
                        row.request,
                        variables,
                        "qianan-2023.txt",
                        document,
                    )
                    .await
                    .0
                }
            };
            match outcome_of(&response, row.field) {
                Ok(outcome) if outcome == expected => {}
                Ok(outcome) => wrong.push(format!(
                    "{} as {caller:?}: expected {expected:?}, got {outcome:?}",
                    row.field
                )),
                Err(surprise) => wrong.push(format!(
                    "{} as {caller:?}: expected {expected:?}, got {surprise}",
                    row.field
                )),
            }
        }
        // A mutation may end the caller's session (changePassword does).
        if row.root == Root::Mutation {
            tokens = sign_in_all(&app, &accounts).await;
        }
    }
    assert!(
        wrong.is_empty(),
        "the access matrix does not hold:\n{}",
        wrong.join("\n")
    );
}
both!(every_root_field_gives_each_caller_the_outcome_the_matrix_states);

async fn the_matrix_lists_every_root_field_of_the_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .graphql(
            "{ __schema { queryType { fields(includeDeprecated: true) { name } } mutationType { fields(includeDeprecated: true) { name } } } }",
            json!({}),
        )
        .await;

    let names = |root: &str| -> BTreeSet<String> {
        data(&response)["__schema"][root]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let in_matrix = |root: Root| -> BTreeSet<String> {
        MATRIX
            .iter()
            .filter(|row| row.root == root)
            .map(|row| row.field.to_owned())
            .collect()
    };
    assert_eq!(
        names("queryType"),
        in_matrix(Root::Query),
        "every query field needs a row in the access matrix (tests/api/matrix.rs)"
    );
    assert_eq!(
        names("mutationType"),
        in_matrix(Root::Mutation),
        "every mutation field needs a row in the access matrix (tests/api/matrix.rs)"
    );
}
both!(the_matrix_lists_every_root_field_of_the_schema);
