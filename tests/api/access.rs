//! Who sees what: departments see what they lead and answer for; leadership and the
//! portal see the whole plan.

use std::collections::BTreeSet;

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, codes, data, edge_codes, strings};

const OVERVIEW: &str = r#"query($other: ID!) {
    tasks { totalCount edges { node { code } } }
    top: tasks(filter: { topLevelOnly: true }) { totalCount }
    indicators { totalCount edges { node { name } } }
    plan { sections { number tasks { code subtasks { code } } } }
    task1: task(code: "1") { code }
    task36: task(code: "36") { code indicators { name } }
    other: node(id: $other) { id } }"#;

/// The codes of the top-level tasks of each section, for sections that show any.
fn visible_sections(plan: &Value) -> Vec<(i64, Vec<String>)> {
    plan["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|section| {
            (
                section["number"].as_i64().unwrap(),
                codes(&section["tasks"]),
            )
        })
        .filter(|(_, tasks)| !tasks.is_empty())
        .collect()
}

async fn a_department_sees_only_the_task_it_leads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Department, Some("finance")).await;
    let task_1 = app.task_id("1").await;

    let response = app
        .graphql_as(&token, OVERVIEW, json!({ "other": task_1 }))
        .await;

    let data = data(&response);
    assert_eq!(data["tasks"]["totalCount"], 1);
    assert_eq!(edge_codes(&data["tasks"]), strings(&["36"]));
    assert_eq!(data["top"]["totalCount"], 1);
    assert_eq!(visible_sections(&data["plan"]), vec![(5, strings(&["36"]))]);
    assert_eq!(data["task1"], Value::Null);
    assert_eq!(data["other"], Value::Null);
    assert_eq!(
        data["task36"],
        json!({ "code": "36", "indicators": [{ "name": "綠色產品政府採購比例" }] })
    );
    assert_eq!(data["indicators"]["totalCount"], 1);
}
both!(a_department_sees_only_the_task_it_leads);

async fn a_department_leading_a_part_sees_the_part_and_its_parent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Department, Some("audit")).await;
    let task_1 = app.task_id("1").await;

    let response = app
        .graphql_as(&token, OVERVIEW, json!({ "other": task_1 }))
        .await;

    let overview = data(&response);
    assert_eq!(overview["tasks"]["totalCount"], 2);
    assert_eq!(edge_codes(&overview["tasks"]), strings(&["2", "2.1"]));
    let sections = overview["plan"]["sections"].as_array().unwrap();
    let section_1 = sections.iter().find(|s| s["number"] == 1).unwrap();
    assert_eq!(
        section_1["tasks"],
        json!([{ "code": "2", "subtasks": [{ "code": "2.1" }] }])
    );
    assert_eq!(visible_sections(&overview["plan"]).len(), 1);
    assert_eq!(overview["indicators"]["totalCount"], 0);

    let response = app
        .graphql_as(
            &token,
            r#"{ part: task(code: "2.2") { code } parent: task(code: "2") { code subtasks { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data(&response).clone(),
        json!({ "part": null, "parent": { "code": "2", "subtasks": [{ "code": "2.1" }] } })
    );
}
both!(a_department_leading_a_part_sees_the_part_and_its_parent);

const ALL_INDICATORS: &str = "{ indicators(first: 100) { totalCount edges { node { id name responsibleDepartments { code } } } } }";

/// `(id, name)` of every indicator in a response.
fn indicator_ids(response: &Value) -> BTreeSet<(String, String)> {
    data(response)["indicators"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge["node"]["id"].as_str().unwrap().to_owned(),
                edge["node"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_department_sees_only_the_indicators_it_answers_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let everything = app.graphql_as(&leadership, ALL_INDICATORS, json!({})).await;
    let all = indicator_ids(&everything);
    assert_eq!(all.len(), 46);

    for department in [
        "urban-management",
        "ecology-environment",
        "finance",
        "audit",
    ] {
        let expected: BTreeSet<(String, String)> = data(&everything)["indicators"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|edge| {
                edge["node"]["responsibleDepartments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["code"] == department)
            })
            .map(|edge| {
                (
                    edge["node"]["id"].as_str().unwrap().to_owned(),
                    edge["node"]["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let token = app.token_for(Role::Department, Some(department)).await;

        let response = app.graphql_as(&token, ALL_INDICATORS, json!({})).await;

        assert_eq!(
            data(&response)["indicators"]["totalCount"],
            expected.len(),
            "{department}"
        );
        assert_eq!(indicator_ids(&response), expected, "{department}");
        let (hidden_id, _) = all
            .difference(&expected)
            .next()
            .expect("some indicator is someone else's");
        let hidden = app
            .graphql_as(
                &token,
                "query($id: ID!) { indicator(id: $id) { name } node(id: $id) { id } }",
                json!({ "id": hidden_id }),
            )
            .await;
        assert_eq!(
            data(&hidden).clone(),
            json!({ "indicator": null, "node": null }),
            "{department}"
        );
    }
    // Counted by hand from the document.
    let urban = app
        .token_for(Role::Department, Some("urban-management"))
        .await;
    let response = app
        .graphql_as(&urban, "{ indicators { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&response)["indicators"]["totalCount"], 10);
}
both!(a_department_sees_only_the_indicators_it_answers_for);

async fn a_department_does_not_see_other_departments_tasks_through_relations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Department, Some("finance")).await;

    let response = app
        .graphql_as(
            &token,
            r#"{ ecology: department(code: "ecology-environment") { name tasks { code } }
                 finance: department(code: "finance") { tasks { code } }
                 filtered: tasks(filter: { departmentCode: "ecology-environment" }) { totalCount }
                 searched: tasks(filter: { search: "林草覆盖率" }) { totalCount }
                 indicators(filter: { departmentCode: "ecology-environment" }) { totalCount } }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        data(&response).clone(),
        json!({
            "ecology": { "name": "市生態環境局", "tasks": [] },
            "finance": { "tasks": [{ "code": "36" }] },
            "filtered": { "totalCount": 0 },
            "searched": { "totalCount": 0 },
            "indicators": { "totalCount": 0 }
        })
    );
}
both!(a_department_does_not_see_other_departments_tasks_through_relations);

async fn leadership_sees_every_task(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let task_1 = app.task_id("1").await;

    let response = app
        .graphql_as(&token, OVERVIEW, json!({ "other": task_1 }))
        .await;

    let data = data(&response);
    assert_eq!(data["tasks"]["totalCount"], 43);
    assert_eq!(data["top"]["totalCount"], 38);
    assert_eq!(data["indicators"]["totalCount"], 46);
    assert_eq!(visible_sections(&data["plan"]).len(), 6);
    assert_eq!(data["task1"]["code"], "1");
    assert_eq!(data["other"]["id"], task_1.as_str());
}
both!(leadership_sees_every_task);

async fn the_portal_sees_the_public_plan_but_not_the_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Portal, None).await;
    let task_1 = app.task_id("1").await;

    let response = app
        .graphql_as(&token, OVERVIEW, json!({ "other": task_1 }))
        .await;
    let overview = data(&response);
    assert_eq!(overview["tasks"]["totalCount"], 43);
    assert_eq!(overview["top"]["totalCount"], 38);
    assert_eq!(overview["indicators"]["totalCount"], 46);

    let users = app
        .graphql_as(&token, "{ users { totalCount } }", json!({}))
        .await;
    assert_error_code(&users, "FORBIDDEN");
    let me = app.graphql_as(&token, "{ me { role } }", json!({})).await;
    assert_eq!(data(&me)["me"]["role"], "PORTAL");
}
both!(the_portal_sees_the_public_plan_but_not_the_users);

async fn a_department_account_without_a_department_cannot_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, password) = app
        .create_user("stray-clerk", Role::Department, Some("finance"))
        .await;
    let token = app.login(&username, &password).await;
    // The account loses its department behind the API's back (the API refuses to do it).
    // Where the database's own check refuses that too, such an account cannot exist.
    let row = app.user_row(&username).await;
    let mut row: ecoplan::entity::user::ActiveModel = row.into();
    row.department_id = sea_orm::Set(None);
    if let Err(error) = sea_orm::ActiveModelTrait::update(row, &app.db).await {
        assert!(
            error.to_string().to_lowercase().contains("check"),
            "{error}"
        );
        return;
    }

    let with_old_token = app
        .graphql_as(&token, "{ tasks { totalCount } }", json!({}))
        .await;
    assert_error_code(&with_old_token, "FORBIDDEN");
    let message = with_old_token["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("no department"), "{message}");

    let sign_in = app
        .graphql(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            json!({ "u": username, "p": password }),
        )
        .await;
    assert_error_code(&sign_in, "FORBIDDEN");
}
both!(a_department_account_without_a_department_cannot_sign_in);
