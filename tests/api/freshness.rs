//! Reads come from an in-memory plan snapshot and shared answers: a read after a write
//! sees the write, on the instance that made it and on another instance on the same
//! database, whatever either had kept before.

use ecoplan::service::policy::Role;
use ecoplan::service::seed::seed_plan;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data};
use crate::steps::{approved_report, approved_value};

const INDICATOR: &str =
    "query($id: ID!) { indicator(id: $id) { status latestValue { value period } } }";
const TASK: &str = r#"{ task(code: "36") { dueOn status } }"#;
const PLANS: &str = "{ plans { key } }";
const OWN_TASKS: &str = "{ tasks { totalCount edges { node { code } } } }";

async fn read(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    data(&app.graphql_as(token, query, variables).await).clone()
}

/// Reads the same answers twice through both servers, so that each holds its snapshot and
/// its shared answers before the write.
async fn warm(servers: [&TestApp; 2], token: &str, indicator: &str) {
    for server in servers {
        for _ in 0..2 {
            read(server, token, INDICATOR, json!({ "id": indicator })).await;
            read(server, token, TASK, json!({})).await;
            read(server, token, PLANS, json!({})).await;
        }
    }
}

fn plan_keys(answer: &Value) -> Vec<String> {
    answer["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plan| plan["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn reads_see_every_kind_of_write_on_both_instances(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = first.spawn_second_server().await;
    let servers = [&first, &second];
    let leadership = first.token_for(Role::Leadership, None).await;
    let finance = first.token_for(Role::Department, Some("finance")).await;
    let indicator = first.indicator_id("36", 0).await;
    warm(servers, &leadership, &indicator).await;

    // A new approved value, approved through the first server.
    let before = read(&second, &leadership, INDICATOR, json!({ "id": indicator })).await;
    assert!(before["indicator"]["latestValue"].is_null(), "{before}");
    approved_value(&first, &finance, &leadership, &indicator, "2022-Q2", 87.5).await;
    for server in servers {
        let after = read(server, &leadership, INDICATOR, json!({ "id": indicator })).await;
        assert_eq!(after["indicator"]["latestValue"]["value"], 87.5, "{after}");
        assert_eq!(after["indicator"]["latestValue"]["period"], "2022-Q2");
    }

    // A task's due date, set through the second server.
    let set = second
        .graphql_as(
            &leadership,
            "mutation($task: ID!) { setTaskDueDate(taskId: $task, dueOn: \"2023-06-30\") { dueOn } }",
            json!({ "task": first.task_id("36").await }),
        )
        .await;
    assert_eq!(data(&set)["setTaskDueDate"]["dueOn"], "2023-06-30");
    for server in servers {
        let after = read(server, &leadership, TASK, json!({})).await;
        assert_eq!(after["task"]["dueOn"], "2023-06-30", "{after}");
    }

    // An approved report moves the task's status on both servers.
    approved_report(
        &first,
        &finance,
        &leadership,
        &first.task_id("36").await,
        "2022-Q2",
        "COMPLETED",
    )
    .await;
    for server in servers {
        let after = read(server, &leadership, TASK, json!({})).await;
        assert_eq!(after["task"]["status"], "COMPLETED", "{after}");
    }

    // A plan loaded into the database (as `ecoplan seed --plan-file` does).
    let copy = ecoplan::service::seed::TANGSHAN_2022
        .replacen("key = \"tangshan-2022\"", "key = \"tangshan-2023\"", 1)
        .replacen("year = 2022", "year = 2023", 1);
    seed_plan(&first.db, &copy)
        .await
        .map_err(|error| error.message())
        .unwrap();
    for server in servers {
        let keys = plan_keys(&read(server, &leadership, PLANS, json!({})).await);
        assert_eq!(keys, ["tangshan-2023", "tangshan-2022"], "{keys:?}");
    }
}
both!(reads_see_every_kind_of_write_on_both_instances);

async fn a_users_new_department_decides_what_it_reads_on_both_instances(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = first.spawn_second_server().await;
    let (username, password) = first
        .create_user("moving-clerk", Role::Department, Some("finance"))
        .await;
    let token = first.login(&username, &password).await;
    let as_finance = read(&second, &token, OWN_TASKS, json!({})).await;
    read(&second, &token, OWN_TASKS, json!({})).await;

    let admin = first.login("admin", &first.admin_password.clone()).await;
    let user = first.user_row(&username).await;
    let moved = first
        .graphql_as(
            &admin,
            "mutation($id: ID!, $department: ID) { updateUser(id: $id, input: { departmentId: $department }) { department { code } } }",
            json!({
                "id": crate::helpers::global_id(ecoplan::id::NodeKind::User, user.id),
                "department": crate::helpers::global_id(
                    ecoplan::id::NodeKind::Department,
                    first.department_id("ecology-environment").await,
                ),
            }),
        )
        .await;
    assert_eq!(
        data(&moved)["updateUser"]["department"]["code"],
        "ecology-environment"
    );

    // The old token is refused on the other server at once; a new one reads the new
    // department's tasks there, not the answer kept for the old department.
    let refused = second.graphql_as(&token, OWN_TASKS, json!({})).await;
    crate::helpers::assert_error_code(&refused, "UNAUTHENTICATED");
    let token = second.login(&username, &password).await;
    let as_ecology = read(&second, &token, OWN_TASKS, json!({})).await;
    assert_ne!(as_ecology, as_finance);
    let ecology = first
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    assert_eq!(
        as_ecology,
        read(&first, &ecology, OWN_TASKS, json!({})).await
    );
}
both!(a_users_new_department_decides_what_it_reads_on_both_instances);

async fn shared_answers_are_not_served_across_departments_or_to_the_portal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let portal = app.token_for(Role::Portal, None).await;
    let query = "{ plans { sections { tasks { code subtasks { code } } } } }";
    let for_finance = read(&app, &finance, query, json!({})).await;
    assert_eq!(for_finance, read(&app, &finance, query, json!({})).await);
    let for_ecology = read(&app, &ecology, query, json!({})).await;
    assert_ne!(for_finance, for_ecology);
    let for_portal = read(&app, &portal, query, json!({})).await;
    assert_ne!(for_portal, for_finance);
    assert_ne!(for_portal, for_ecology);
    // An answer that read the database (who is asking) is never shared.
    let me = "{ me { username } plans { key } }";
    let mine = read(&app, &finance, me, json!({})).await;
    let other = app.token_for(Role::Department, Some("finance")).await;
    assert_ne!(mine, read(&app, &other, me, json!({})).await);
}
both!(shared_answers_are_not_served_across_departments_or_to_the_portal);

async fn a_mutations_answer_shows_its_own_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    // The snapshot is read before the change, and kept by both servers' caches.
    let before = read(&app, &finance, TASK, json!({})).await;
    assert_ne!(before["task"]["status"], "COMPLETED", "{before}");
    let draft = crate::steps::draft_report(&app, &finance, &task, "2022-Q2", "COMPLETED").await;
    let sent = crate::steps::submitted(&app, &finance, &draft).await;
    let approved = app
        .graphql_as(
            &leadership,
            "mutation($id: ID!, $version: Int!) { approve(id: $id, version: $version) {
                ... on ProgressReport { reviewStatus task { status } } } }",
            json!({ "id": sent.id, "version": sent.version }),
        )
        .await;
    assert_eq!(
        data(&approved)["approve"],
        json!({ "reviewStatus": "APPROVED", "task": { "status": "COMPLETED" } })
    );
}
both!(a_mutations_answer_shows_its_own_change);
