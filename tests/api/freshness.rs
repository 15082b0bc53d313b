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

const COUNTS: &str = r#"{ dashboard(period: "2022-Q2") { awaitingReviewCount
    departments { department { code } reportedThisPeriod awaitingReview } } }"#;

/// What the dashboard counts for one department: (reported this period, awaiting
/// review), and the whole dashboard's awaiting review.
fn counts_of(answer: &Value, code: &str) -> (u64, u64, u64) {
    let dashboard = &answer["dashboard"];
    let department = dashboard["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["department"]["code"] == code)
        .unwrap_or_else(|| panic!("the dashboard has no row for {code}: {answer}"));
    (
        department["reportedThisPeriod"].as_u64().unwrap(),
        department["awaitingReview"].as_u64().unwrap(),
        dashboard["awaitingReviewCount"].as_u64().unwrap(),
    )
}

/// The dashboard's counts are kept between requests: after every review move, made on
/// either instance, both instances count it, for the leadership group and for the
/// department, and another department's counts stay its own.
async fn the_dashboards_counts_follow_every_review_move_on_both_instances(backend: Backend) {
    use crate::steps::{draft_evidence, draft_report, reopen, submitted};
    let first = TestApp::spawn(backend).await;
    let second = first.spawn_second_server().await;
    let servers = [&first, &second];
    let leadership = first.token_for(Role::Leadership, None).await;
    let finance = first.token_for(Role::Department, Some("finance")).await;
    let audit = first.token_for(Role::Department, Some("audit")).await;
    let task = first.task_id("36").await;

    // Each server counts, and keeps, what every viewer sees before the moves.
    let expect =
        |step: &'static str, leadership_sees: (u64, u64, u64), finance_sees: (u64, u64)| {
            let (leadership, finance, audit) = (&leadership, &finance, &audit);
            async move {
                for server in servers {
                    for _ in 0..2 {
                        let all = read(server, leadership, COUNTS, json!({})).await;
                        assert_eq!(counts_of(&all, "finance"), leadership_sees, "{step}: {all}");
                        let own = read(server, finance, COUNTS, json!({})).await;
                        let (reported, awaiting, total) = counts_of(&own, "finance");
                        assert_eq!((reported, awaiting), finance_sees, "{step}: {own}");
                        assert_eq!(total, finance_sees.1, "{step}: {own}");
                        let other = read(server, audit, COUNTS, json!({})).await;
                        assert_eq!(
                            other["dashboard"]["awaitingReviewCount"], 0,
                            "{step}: another department counts only its own: {other}"
                        );
                    }
                }
            }
        };
    expect("before", (0, 0, 0), (0, 0)).await;

    let draft = draft_report(&first, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    expect("a draft counts for nothing", (0, 0, 0), (0, 0)).await;

    let sent = submitted(&second, &finance, &draft).await;
    expect("submitted", (1, 1, 1), (1, 1)).await;

    let evidence = draft_evidence(&first, &finance, &task).await;
    let evidence = submitted(&first, &finance, &evidence).await;
    expect("evidence submitted", (1, 2, 2), (1, 2)).await;

    let turned_back = crate::steps::rejected(&first, &leadership, &sent, "補充數據").await;
    expect("rejected", (0, 1, 1), (0, 1)).await;

    let again = submitted(&second, &finance, &turned_back).await;
    crate::steps::approved(&first, &leadership, &evidence).await;
    expect("submitted again, the evidence approved", (1, 1, 1), (1, 1)).await;

    crate::steps::approved(&second, &leadership, &again).await;
    expect("approved", (1, 0, 0), (1, 0)).await;

    data(&reopen(&first, &leadership, &again, "數據有誤").await);
    expect("reopened", (0, 0, 0), (0, 0)).await;
}
both!(the_dashboards_counts_follow_every_review_move_on_both_instances);
