//! Loading plans: once, whole or not at all, and more than one.

use ecoplan::entity::{
    department, department_alias, indicator, indicator_milestone, indicator_responsible, plan,
    section, task, task_lead,
};
use ecoplan::service::policy::Role;
use ecoplan::service::seed::{SeedOutcome, TANGSHAN_2022, seed_plan};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, both, data};

/// How many rows each plan table holds.
#[derive(Debug, PartialEq, Eq)]
struct RowCounts {
    plans: u64,
    sections: u64,
    tasks: u64,
    task_leads: u64,
    departments: u64,
    aliases: u64,
    indicators: u64,
    responsible: u64,
    milestones: u64,
}

async fn row_counts(db: &DatabaseConnection) -> RowCounts {
    RowCounts {
        plans: plan::Entity::find().count(db).await.unwrap(),
        sections: section::Entity::find().count(db).await.unwrap(),
        tasks: task::Entity::find().count(db).await.unwrap(),
        task_leads: task_lead::Entity::find().count(db).await.unwrap(),
        departments: department::Entity::find().count(db).await.unwrap(),
        aliases: department_alias::Entity::find().count(db).await.unwrap(),
        indicators: indicator::Entity::find().count(db).await.unwrap(),
        responsible: indicator_responsible::Entity::find()
            .count(db)
            .await
            .unwrap(),
        milestones: indicator_milestone::Entity::find().count(db).await.unwrap(),
    }
}

async fn seeding_the_same_plan_again_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = row_counts(&app.db).await;
    assert_eq!(
        (
            before.plans,
            before.tasks,
            before.departments,
            before.indicators
        ),
        (1, 43, 20, 46)
    );

    let outcome = seed_plan(&app.db, TANGSHAN_2022)
        .await
        .map_err(|error| error.message());

    assert_eq!(
        outcome,
        Ok(SeedOutcome::AlreadyPresent {
            plan_key: "tangshan-2022".into()
        })
    );
    assert_eq!(row_counts(&app.db).await, before);
}
both!(seeding_the_same_plan_again_changes_nothing);

/// The built-in plan under another key, so that it would load if nothing were wrong.
fn renamed_plan(key: &str) -> String {
    let renamed = TANGSHAN_2022.replacen("key = \"tangshan-2022\"", &format!("key = \"{key}\""), 1);
    assert_ne!(
        renamed, TANGSHAN_2022,
        "the plan key is where the test expects"
    );
    renamed
}

async fn a_plan_file_that_fails_half_way_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = row_counts(&app.db).await;

    // Passes every check of the file, then breaks on the very last row: the same
    // milestone year twice. A new department comes before it, so a partial load would
    // leave a department, a plan, 43 tasks and 46 indicators behind.
    let mut broken = renamed_plan("tangshan-2022-broken");
    broken.push_str(
        r#"
[[tasks.indicators.milestones]]
year = 2025
kind = "AT_LEAST"
value = 90.0
target_text = "均不低於90%"

[[tasks.indicators.milestones]]
year = 2025
kind = "AT_LEAST"
value = 95.0
target_text = "均不低於95%"

[[departments]]
code = "space-agency"
name = "市航天局"
aliases = ["市航天辦"]
"#,
    );

    let outcome = seed_plan(&app.db, &broken).await;

    let error = outcome.expect_err("the duplicate milestone is refused");
    assert_eq!(error.code(), "INTERNAL");
    assert_eq!(row_counts(&app.db).await, before);
}
both!(a_plan_file_that_fails_half_way_writes_nothing);

async fn a_plan_file_with_an_unknown_kind_or_department_is_refused_whole(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = row_counts(&app.db).await;

    let unknown_kind = renamed_plan("tangshan-2022-kind").replacen(
        "kind = \"IMPROVE\"",
        "kind = \"BETTER_SOMEHOW\"",
        1,
    );
    let unknown_department = renamed_plan("tangshan-2022-department").replacen(
        "leads = [\"finance\"]",
        "leads = [\"treasury\"]",
        1,
    );

    for broken in [unknown_kind, unknown_department] {
        let outcome = seed_plan(&app.db, &broken).await;
        let error = outcome.expect_err("the plan file is refused");
        assert_eq!(error.code(), "BAD_USER_INPUT", "{}", error.message());
        assert_eq!(row_counts(&app.db).await, before);
    }
}
both!(a_plan_file_with_an_unknown_kind_or_department_is_refused_whole);

async fn a_second_plan_loads_beside_the_first_and_becomes_the_newest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let old_plan_id = {
        let response = app.graphql_as(&token, "{ plan { id } }", json!({})).await;
        data(&response)["plan"]["id"].as_str().unwrap().to_owned()
    };
    let departments_before = row_counts(&app.db).await.departments;

    let plan_2023 = renamed_plan("tangshan-2023")
        .replacen("year = 2022", "year = 2023", 1)
        .replacen(
            "title = \"唐山市創建國家生態文明建設示範市2022年度工作方案\"",
            "title = \"唐山市創建國家生態文明建設示範市2023年度工作方案\"",
            1,
        );
    let outcome = seed_plan(&app.db, &plan_2023)
        .await
        .map_err(|error| error.message());
    assert_eq!(
        outcome,
        Ok(SeedOutcome::Loaded {
            plan_key: "tangshan-2023".into(),
            tasks: 43
        })
    );

    let response = app
        .graphql_as(
            &token,
            r#"query($old: ID!) {
                 plans { key year }
                 newest: plan { key year title }
                 old: plan(id: $old) { key }
                 oldTasks: tasks(planId: $old) { totalCount edges { node { plan { key } } } }
                 newTasks: tasks { totalCount edges { node { plan { key } } } }
                 oldTask: task(code: "36", planId: $old) { plan { key } }
                 newTask: task(code: "36") { plan { key } } }"#,
            json!({ "old": old_plan_id }),
        )
        .await;

    let data = data(&response);
    assert_eq!(
        data["plans"],
        json!([
            { "key": "tangshan-2023", "year": 2023 },
            { "key": "tangshan-2022", "year": 2022 }
        ])
    );
    assert_eq!(data["newest"]["key"], "tangshan-2023");
    assert_eq!(
        data["newest"]["title"],
        "唐山市創建國家生態文明建設示範市2023年度工作方案"
    );
    assert_eq!(data["old"]["key"], "tangshan-2022");
    assert_eq!(data["oldTasks"]["totalCount"], 43);
    assert_eq!(data["newTasks"]["totalCount"], 43);
    for (list, key) in [("oldTasks", "tangshan-2022"), ("newTasks", "tangshan-2023")] {
        for edge in data[list]["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["plan"]["key"], key);
        }
    }
    assert_eq!(data["oldTask"]["plan"]["key"], "tangshan-2022");
    assert_eq!(data["newTask"]["plan"]["key"], "tangshan-2023");
    // Departments are shared by the plans, not copied.
    assert_eq!(row_counts(&app.db).await.departments, departments_before);
}
both!(a_second_plan_loads_beside_the_first_and_becomes_the_newest);
