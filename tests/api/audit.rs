//! The audit trail: every change, who made it in which role, the item before and after,
//! and the request; readable by the leadership group, unchangeable by anyone.

use ecoplan::service::policy::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{
    Item, SAVE_REPORT, approve, draft_evidence, draft_report, report_input, save_report, submit,
    submitted, upload,
};

pub const AUDIT_LOG: &str = "query($filter: AuditLogFilter, $first: Int, $after: String) {
    auditLog(filter: $filter, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { action actorRole actor { username } itemType itemId before after requestId at } } } }";

/// The entries of the audit log that match a filter, oldest first.
pub async fn entries(app: &TestApp, token: &str, filter: Value) -> Vec<Value> {
    let response = app
        .graphql_as(token, AUDIT_LOG, json!({ "filter": filter, "first": 500 }))
        .await;
    data(&response)["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

async fn every_change_is_recorded_with_its_actor_role_item_and_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.account(Role::Department, Some("finance")).await;
    let leadership = app.account(Role::Leadership, None).await;
    let task = app.task_id("36").await;

    let (created, create_request) = app
        .graphql_traced(
            &finance.token,
            SAVE_REPORT,
            json!({ "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "初稿") }),
        )
        .await;
    let draft = Item::from_response(&created, "saveProgressReport");
    let (updated, update_request) = app
        .graphql_traced(
            &finance.token,
            SAVE_REPORT,
            json!({ "id": draft.id, "version": 1,
                    "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "修改稿") }),
        )
        .await;
    let draft = Item::from_response(&updated, "saveProgressReport");
    let (sent, submit_request) = app
        .graphql_traced(
            &finance.token,
            "mutation($id: ID!, $version: Int!) { submit(id: $id, version: $version) { id version } }",
            json!({ "id": draft.id, "version": draft.version }),
        )
        .await;
    let sent = Item::from_response(&sent, "submit");
    let (_, approve_request) = app
        .graphql_traced(
            &leadership.token,
            "mutation($id: ID!, $version: Int!) { approve(id: $id, version: $version) { id } }",
            json!({ "id": sent.id, "version": sent.version }),
        )
        .await;

    let log = entries(&app, &leadership.token, json!({ "itemId": draft.id })).await;
    let summary: Vec<(&str, &str, &str, &str)> = log
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap(),
                entry["actorRole"].as_str().unwrap(),
                entry["actor"]["username"].as_str().unwrap(),
                entry["requestId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "progressReport.create",
                "DEPARTMENT",
                finance.username.as_str(),
                create_request.as_str()
            ),
            (
                "progressReport.update",
                "DEPARTMENT",
                finance.username.as_str(),
                update_request.as_str()
            ),
            (
                "progressReport.submit",
                "DEPARTMENT",
                finance.username.as_str(),
                submit_request.as_str()
            ),
            (
                "progressReport.approve",
                "LEADERSHIP",
                leadership.username.as_str(),
                approve_request.as_str()
            ),
        ]
    );
    for entry in &log {
        assert_eq!(entry["itemType"], "ProgressReport");
        assert_eq!(entry["itemId"], draft.id.as_str());
    }
    assert_eq!(log[0]["before"], Value::Null);
    assert_eq!(log[0]["after"]["work_done"], "初稿");
    assert_eq!(log[1]["before"]["work_done"], "初稿");
    assert_eq!(log[1]["after"]["work_done"], "修改稿");
    assert_eq!(log[2]["before"]["review_status"], "DRAFT");
    assert_eq!(log[2]["after"]["review_status"], "SUBMITTED");
    assert_eq!(log[3]["after"]["review_status"], "APPROVED");
    assert_eq!(log[3]["after"]["version"], 4);
}
both!(every_change_is_recorded_with_its_actor_role_item_and_request);

async fn the_leadership_groups_own_changes_are_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let leadership = app.account(Role::Leadership, None).await;
    let plan = app.plan_id().await;
    let task = app.task_id("36").await;
    let external = app.indicator_id("8", 0).await;

    let steps = [
        (
            "mutation($plan: ID!) { closePeriod(planId: $plan, period: \"2022-Q1\") { closed } }",
            "period.close",
        ),
        (
            "mutation($plan: ID!) { reopenPeriod(planId: $plan, period: \"2022-Q1\", reason: \"補報\") { closed } }",
            "period.reopen",
        ),
        (
            "mutation($task: ID!) { setTaskDueDate(taskId: $task, dueOn: \"2023-06-30\") { dueOn } }",
            "task.setDueDate",
        ),
        (
            "mutation($indicator: ID!) { setExternalTarget(indicatorId: $indicator, year: 2022, value: 75) { name } }",
            "indicator.setExternalTarget",
        ),
    ];
    let mut requests = Vec::new();
    for (mutation, _) in steps {
        let (response, request_id) = app
            .graphql_traced(
                &leadership.token,
                mutation,
                json!({ "plan": plan, "task": task, "indicator": external }),
            )
            .await;
        data(&response);
        requests.push(request_id);
    }
    let (response, user_request) = app
        .graphql_traced(
            &admin,
            r#"mutation { createUser(input: { username: "menhu", password: "a long enough password", role: PORTAL }) { id } }"#,
            json!({}),
        )
        .await;
    let portal_user = data(&response)["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for ((_, action), request_id) in steps.iter().zip(&requests) {
        let log = entries(&app, &leadership.token, json!({ "action": action })).await;
        assert_eq!(log.len(), 1, "{action}: {log:#?}");
        assert_eq!(log[0]["actor"]["username"], leadership.username.as_str());
        assert_eq!(log[0]["actorRole"], "LEADERSHIP");
        assert_eq!(log[0]["requestId"], request_id.as_str());
    }
    let reopened = entries(&app, &admin, json!({ "action": "period.reopen" })).await;
    assert_eq!(reopened[0]["after"]["reason"], "補報");
    assert_eq!(reopened[0]["before"]["closed"], true);

    let created = entries(&app, &admin, json!({ "itemId": portal_user })).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["action"], "user.create");
    assert_eq!(created[0]["actorRole"], "ADMIN");
    assert_eq!(created[0]["requestId"], user_request.as_str());
    let by_leadership = entries(&app, &admin, json!({ "actorId": leadership.id })).await;
    let (sign_ins, changes): (Vec<&Value>, Vec<&Value>) = by_leadership
        .iter()
        .partition(|entry| entry["action"] == "user.login");
    assert_eq!(changes.len(), 4, "{by_leadership:#?}");
    assert_eq!(sign_ins.len(), 1, "the sign-in is recorded too");
}
both!(the_leadership_groups_own_changes_are_recorded);

async fn a_refused_change_records_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let entries_before = app.count_rows("audit_log").await;

    let refusals = [
        save_report(
            &app,
            &finance,
            Some(&Item {
                version: 9,
                ..draft.clone()
            }),
            report_input(&task, "2022-Q2", "IN_PROGRESS", "舊版本"),
        )
        .await,
        save_report(
            &app,
            &audit,
            None,
            report_input(&task, "2022-Q2", "IN_PROGRESS", "越權"),
        )
        .await,
        submit(&app, &audit, &draft).await,
        approve(&app, &leadership, &draft).await,
        approve(&app, &finance, &draft).await,
        upload(
            &app,
            Some(&finance),
            json!({ "taskId": task, "title": "偽裝" }),
            "report.pdf",
            crate::steps::elf(),
        )
        .await,
    ];

    for refusal in &refusals {
        assert!(refusal["errors"].is_array(), "{refusal:#}");
    }
    assert_eq!(app.count_rows("audit_log").await, entries_before);
}
both!(a_refused_change_records_nothing);

async fn only_the_leadership_group_and_administrators_read_the_audit_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;

    for token in [&finance, &portal] {
        let response = app.graphql_as(token, AUDIT_LOG, json!({})).await;
        assert_error_code(&response, "FORBIDDEN");
    }
    assert_error_code(&app.graphql(AUDIT_LOG, json!({})).await, "UNAUTHENTICATED");
    for token in [&leadership, &admin] {
        let response = app.graphql_as(token, AUDIT_LOG, json!({})).await;
        // The users the test made are recorded.
        assert!(data(&response)["auditLog"]["totalCount"].as_i64().unwrap() >= 4);
    }
}
both!(only_the_leadership_group_and_administrators_read_the_audit_log);

async fn the_audit_log_is_read_a_page_at_a_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    for _ in 0..3 {
        draft_evidence(&app, &finance, &task).await;
    }
    let filter = json!({ "action": "evidence.upload" });

    let first = app
        .graphql_as(
            &leadership,
            AUDIT_LOG,
            json!({ "filter": filter, "first": 2 }),
        )
        .await;
    let first = &data(&first)["auditLog"];
    assert_eq!(first["totalCount"], 3);
    assert_eq!(first["edges"].as_array().unwrap().len(), 2);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = app
        .graphql_as(
            &leadership,
            AUDIT_LOG,
            json!({ "filter": filter, "first": 2, "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    let second = &data(&second)["auditLog"];
    assert_eq!(second["edges"].as_array().unwrap().len(), 1);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    let ids: Vec<&Value> = first["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["edges"].as_array().unwrap())
        .map(|edge| &edge["node"]["itemId"])
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{ids:?}");
}
both!(the_audit_log_is_read_a_page_at_a_time);

async fn the_audit_table_refuses_updates_and_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    draft_report(
        &app,
        &finance,
        &app.task_id("36").await,
        "2022-Q2",
        "IN_PROGRESS",
    )
    .await;
    let entries_before = app.count_rows("audit_log").await;
    assert!(entries_before > 0);

    let update = app
        .db
        .execute_unprepared("UPDATE audit_log SET action = 'nothing.happened'")
        .await;
    assert!(update.is_err(), "an UPDATE of the audit log went through");
    let delete = app.db.execute_unprepared("DELETE FROM audit_log").await;
    assert!(delete.is_err(), "a DELETE from the audit log went through");

    assert_eq!(app.count_rows("audit_log").await, entries_before);
    let leadership = app.token_for(Role::Leadership, None).await;
    let log = entries(
        &app,
        &leadership,
        json!({ "action": "progressReport.create" }),
    )
    .await;
    assert_eq!(log.len(), 1);
}
both!(the_audit_table_refuses_updates_and_deletes);

async fn an_items_history_is_shown_to_whoever_may_see_the_item(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let sent = submitted(&app, &finance, &draft).await;
    data(&approve(&app, &leadership, &sent).await);
    let file = draft_evidence(&app, &finance, &task).await;
    let query = "query($id: ID!) { node(id: $id) { ... on ProgressReport { history { nodes { action } } } ... on Evidence { history { nodes { action } } } } }";
    let actions = json!([
        { "action": "progressReport.create" },
        { "action": "progressReport.submit" },
        { "action": "progressReport.approve" },
    ]);

    for token in [&finance, &leadership] {
        let seen = app
            .graphql_as(token, query, json!({ "id": draft.id }))
            .await;
        assert_eq!(data(&seen)["node"]["history"]["nodes"], actions);
        let seen = app.graphql_as(token, query, json!({ "id": file.id })).await;
        assert_eq!(
            data(&seen)["node"]["history"]["nodes"],
            json!([{ "action": "evidence.upload" }])
        );
    }
    let seen = app
        .graphql_as(&portal, query, json!({ "id": draft.id }))
        .await;
    assert_eq!(data(&seen)["node"]["history"]["nodes"], json!([]));
    let seen = app
        .graphql_as(&audit, query, json!({ "id": draft.id }))
        .await;
    assert_eq!(data(&seen)["node"], Value::Null);
}
both!(an_items_history_is_shown_to_whoever_may_see_the_item);

/// An audit entry, asked for by its id, is there for the administrators and the leadership
/// group only; to a department and the portal it is not there, as an id that names nothing.
async fn an_audit_entry_by_id_is_read_only_by_those_who_read_the_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let department = app.token_for(Role::Department, Some("finance")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let log = app
        .graphql_as(
            &leadership,
            "{ auditLog(first: 1) { nodes { id action } } }",
            json!({}),
        )
        .await;
    let entry = data(&log)["auditLog"]["nodes"][0].clone();
    let id = entry["id"].as_str().unwrap().to_owned();
    let node = "query($id: ID!) { node(id: $id) { id ... on AuditEntry { action } } }";
    let seen = app.graphql_as(&leadership, node, json!({ "id": id })).await;
    assert_eq!(data(&seen)["node"]["action"], entry["action"]);
    for token in [&department, &portal] {
        let seen = app.graphql_as(token, node, json!({ "id": id })).await;
        assert_eq!(data(&seen)["node"], Value::Null, "{seen:#}");
    }
}
both!(an_audit_entry_by_id_is_read_only_by_those_who_read_the_log);
