//! One request runs a fixed number of SQL statements, however large the plan.

use std::fmt::Write;

use ecoplan::entity::plan;
use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use ecoplan::service::seed::{SeedOutcome, seed_plan};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, global_id};
use crate::steps::{draft_report, text_file, upload};

/// A plan's whole tree, every relation the API offers on the way down.
const TREE: &str = r#"
fragment IndicatorTree on Indicator {
    name unit better
    target { kind value text }
    milestones { year kind value text }
    responsibleDepartments { code name aliases }
}
fragment TaskTree on Task {
    code title leadsAsWritten
    leadDepartments { code name }
    indicators { ...IndicatorTree }
}
query Tree($id: ID) {
    plan(id: $id) {
        key title goals { year text }
        sections {
            number title
            tasks {
                ...TaskTree
                subtasks { ...TaskTree }
            }
        }
    }
}"#;

/// The statements a request runs, less those every request runs to check its token.
async fn statements_of(app: &TestApp, token: &str, query: &str, variables: &Value) -> u64 {
    let before = app.statements();
    let baseline = app.graphql_as(token, "{ __typename }", json!({})).await;
    data(&baseline);
    let authentication = app.statements() - before;

    let before = app.statements();
    let response = app.graphql_as(token, query, variables.clone()).await;
    data(&response);
    (app.statements() - before).saturating_sub(authentication)
}

/// The statements of a request, measured `runs` times. Two batches that happen to become
/// ready at the same moment may be loaded together, which only lowers the count; what
/// must never happen is a count that grows with the data.
async fn statements_over_runs(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    runs: usize,
) -> Vec<u64> {
    let mut counts = Vec::with_capacity(runs);
    for _ in 0..runs {
        counts.push(statements_of(app, token, query, &variables).await);
    }
    counts
}

async fn plan_id(app: &TestApp, key: &str) -> String {
    let row = plan::Entity::find()
        .filter(plan::Column::Key.eq(key))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no plan {key}"));
    global_id(NodeKind::Plan, row.id)
}

async fn the_whole_plan_tree_takes_a_few_statements(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    // The first read of a data revision reads the plan snapshot: a fixed number of
    // statements, whatever the plan's size.
    let before = app.statements();
    data(&app.graphql_as(&token, "{ plans { id } }", json!({})).await);
    let first_read = app.statements() - before;
    assert!(
        first_read <= 20,
        "reading the snapshot took {first_read} statements"
    );

    let used = statements_of(&app, &token, TREE, &json!({})).await;
    // After it, only the data revision is read: the tree itself comes from memory.
    assert!(used <= 1, "the plan tree took {used} statements");
    // Sanity: the tree really went all the way down.
    let response = app.graphql_as(&token, TREE, json!({})).await;
    let sections = data(&response)["plan"]["sections"]
        .as_array()
        .unwrap()
        .clone();
    let task_2 = &sections[0]["tasks"][1];
    assert_eq!(
        task_2["subtasks"][2]["leadDepartments"][0]["code"],
        "water-resources"
    );
}
both!(the_whole_plan_tree_takes_a_few_statements);

/// A plan file with `tasks` tasks spread over six sections; every fifth task has a part.
/// Each task has one lead department and one indicator with a milestone, so the tree has
/// the same depth as the 2022 plan's.
fn synthetic_plan(tasks: usize) -> String {
    let codes = [
        "ecology-environment",
        "water-resources",
        "finance",
        "audit",
        "transport",
        "education",
    ];
    let mut file = String::from(
        r#"[plan]
key = "synthetic"
title = "A large synthetic plan"
issuer = "tests"
issued_on = 2021-01-01
year = 2021
reporting_cadence = "QUARTERLY"
purpose = "To count statements."
guiding_idea = "Size must not matter."

[[plan.goals]]
year = 2025
text = "Done."

"#,
    );
    // Departments the file names; they exist already and are shared, not added.
    let names = [
        "市生態環境局",
        "市水利局",
        "市財政局",
        "市審計局",
        "市交通運輸局",
        "市教育局",
    ];
    for (code, name) in codes.iter().zip(names) {
        writeln!(
            file,
            "\n[[departments]]\ncode = \"{code}\"\nname = \"{name}\""
        )
        .unwrap();
    }
    for number in 1..=6 {
        writeln!(
            file,
            "\n[[sections]]\nnumber = {number}\ntitle = \"Section {number}\""
        )
        .unwrap();
    }
    let mut written = 0;
    let mut number = 0;
    while written < tasks {
        number += 1;
        let section = 1 + (number - 1) % 6;
        let mut codes_here = vec![(number.to_string(), None)];
        if number % 5 == 0 {
            codes_here.push((format!("{number}.1"), Some(number.to_string())));
        }
        for (code, parent) in codes_here {
            if written == tasks {
                break;
            }
            let lead = codes[written % codes.len()];
            writeln!(file, "\n[[tasks]]\ncode = \"{code}\"\nsection = {section}").unwrap();
            if let Some(parent) = parent {
                writeln!(file, "parent = \"{parent}\"").unwrap();
            }
            writeln!(
                file,
                "title = \"Task {code}\"\ntext = \"Do task {code}.\"\nleads = [\"{lead}\"]\n\n\
                 [[tasks.indicators]]\nname = \"Indicator {code}\"\nunit = \"%\"\n\
                 kind = \"AT_LEAST\"\nvalue = 50.0\nbetter = \"HIGHER\"\ntarget_text = \"≥50%\"\n\n\
                 [[tasks.indicators.milestones]]\nyear = 2025\nkind = \"AT_LEAST\"\nvalue = 60.0\n\
                 target_text = \"≥60%\""
            )
            .unwrap();
            written += 1;
        }
    }
    file
}

async fn a_plan_of_two_thousand_tasks_takes_as_many_statements_as_the_real_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let outcome = seed_plan(&app.db, &synthetic_plan(2_000))
        .await
        .map_err(|error| error.message());
    assert_eq!(
        outcome,
        Ok(SeedOutcome::Loaded {
            plan_key: "synthetic".into(),
            tasks: 2_000
        })
    );
    let token = app.token_for(Role::Leadership, None).await;
    let real = plan_id(&app, "tangshan-2022").await;
    let large = plan_id(&app, "synthetic").await;

    // The plan snapshot is read once per data revision (a fixed number of statements,
    // whatever the plan's size); the runs measure what every request costs after that.
    data(&app.graphql_as(&token, "{ plans { id } }", json!({})).await);
    let for_real = statements_over_runs(&app, &token, TREE, json!({ "id": real }), 5).await;
    let for_large = statements_over_runs(&app, &token, TREE, json!({ "id": large }), 5).await;

    let most_for_real = for_real.iter().max().copied().unwrap_or_default();
    let most_for_large = for_large.iter().max().copied().unwrap_or_default();
    assert_eq!(
        most_for_large, most_for_real,
        "2,000 tasks took {for_large:?} statements, the 2022 plan {for_real:?}"
    );
    // Only the data revision is read: the plan's structure comes from memory.
    assert!(most_for_large <= 1, "{for_large:?}");
    // Sanity: the large tree was read whole.
    let response = app.graphql_as(&token, TREE, json!({ "id": large })).await;
    let sections = data(&response)["plan"]["sections"]
        .as_array()
        .unwrap()
        .clone();
    let mut tasks = 0;
    let mut indicators = 0;
    for section in &sections {
        for task in section["tasks"].as_array().unwrap() {
            let parts = task["subtasks"].as_array().unwrap();
            tasks += 1 + parts.len();
            indicators += task["indicators"].as_array().unwrap().len();
            for part in parts {
                indicators += part["indicators"].as_array().unwrap().len();
                assert_eq!(part["leadDepartments"].as_array().unwrap().len(), 1);
            }
        }
    }
    assert_eq!((sections.len(), tasks, indicators), (6, 2_000, 2_000));
}
both!(a_plan_of_two_thousand_tasks_takes_as_many_statements_as_the_real_one);

/// A task's and an indicator's own history (due dates, targets entered) changes only with
/// the plan, so it is read with the snapshot, not per request.
async fn the_history_of_tasks_and_indicators_takes_no_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.token_for(Role::Admin, None).await;
    let task = app.task_id("36").await;
    for due in ["2023-06-30", "2023-09-30"] {
        let set = app
            .graphql_as(
                &admin,
                "mutation($task: ID!, $due: Date!) { setTaskDueDate(taskId: $task, dueOn: $due) { dueOn } }",
                json!({ "task": task, "due": due }),
            )
            .await;
        assert_eq!(data(&set)["setTaskDueDate"]["dueOn"], due);
    }
    let query = r#"{ task(code: "36") { history { totalCount nodes { action after } }
        indicators { history { nodes { action } } } } }"#;
    // The first read after the change reads the new snapshot; the next ones only the revision.
    data(&app.graphql_as(&admin, query, json!({})).await);
    let used = statements_of(&app, &admin, query, &json!({})).await;
    assert!(used <= 1, "the histories took {used} statements");

    let answer = app.graphql_as(&admin, query, json!({})).await;
    let history = &data(&answer)["task"]["history"];
    assert_eq!(history["totalCount"], 2);
    assert_eq!(
        history["nodes"][1]["after"],
        json!({ "dueOn": "2023-09-30" })
    );
}
both!(the_history_of_tasks_and_indicators_takes_no_statement);

async fn lights_take_one_grouped_statement_whatever_they_are_asked_of(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    data(&app.graphql_as(&token, "{ plans { id } }", json!({})).await);

    let tasks = "{ tasks(first: 100) { nodes { code status } } indicators(first: 100) { nodes { name status } } }";
    let lit = r#"{ tasks(first: 100) { nodes { code light lightReason l2: light(period: "2022-Q2")
        indicators { light(period: "2022-Q2") lightReason(period: "2022-Q2") } } }
        indicators(first: 100) { nodes { name light lightReason } } }"#;
    let without = statements_of(&app, &token, tasks, &json!({})).await;
    let with = statements_of(&app, &token, lit, &json!({})).await;
    // One grouped statement per period asked for (here the current one and 2022-Q2).
    assert_eq!(
        with,
        without + 2,
        "lights took {with} statements, {without} without"
    );

    let dashboard =
        "{ dashboard(period: \"2022-Q2\") { tasksByStatus { status count } departments { led } } }";
    let lit_dashboard = "{ dashboard(period: \"2022-Q2\") { tasksByStatus { status count }
        tasksByLight { light count } indicatorsByLight { light count }
        departments { led light lightReason } } }";
    // Counted once, the dashboard's counts are kept: both answers below take them.
    statements_of(&app, &token, dashboard, &json!({})).await;
    let without = statements_of(&app, &token, dashboard, &json!({})).await;
    let with = statements_of(&app, &token, lit_dashboard, &json!({})).await;
    assert_eq!(
        with,
        without + 1,
        "the dashboard's lights took {with} statements, {without} without"
    );
}
both!(lights_take_one_grouped_statement_whatever_they_are_asked_of);

/// A task page asks for the task's evidence and for each report's evidence: the
/// reports' evidence is taken from the task's, not read again.
async fn a_task_page_reads_its_evidence_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    for period in ["2022-Q1", "2022-Q2", "2022-Q3"] {
        let report = draft_report(&app, &finance, &task, period, "IN_PROGRESS").await;
        for name in ["說明一.txt", "說明二.txt"] {
            let response = upload(
                &app,
                Some(&finance),
                json!({ "taskId": task, "title": "佐證材料", "progressReportId": report.id }),
                name,
                text_file(),
            )
            .await;
            data(&response);
        }
    }

    let page = r#"{ task(code: "36") { code evidence(first: 50) { nodes { id fileName } }
        progressReports(first: 20) { nodes { id workDone } } } }"#;
    let page_with_report_evidence = r#"{ task(code: "36") { code evidence(first: 50) { nodes { id fileName } }
        progressReports(first: 20) { nodes { id workDone evidence { id fileName } } } } }"#;
    let answer = app
        .graphql_as(&finance, page_with_report_evidence, json!({}))
        .await;
    let reports = data(&answer)["task"]["progressReports"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(reports.len(), 3);
    for report in reports {
        assert_eq!(report["evidence"].as_array().unwrap().len(), 2, "{report}");
    }

    let without = statements_of(&app, &finance, page, &json!({})).await;
    let with = statements_of(&app, &finance, page_with_report_evidence, &json!({})).await;
    assert_eq!(
        with, without,
        "the reports' evidence took {with} statements, {without} without"
    );
}
both!(a_task_page_reads_its_evidence_once);

/// The dashboard's counts of submissions (late, awaiting review, per department and in
/// all) come from one grouped statement.
async fn the_dashboard_counts_submissions_in_one_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    data(&app.graphql_as(&token, "{ plans { id } }", json!({})).await);

    let counts =
        "{ dashboard(period: \"2022-Q2\") { tasksByStatus { status count } awaitingReviewCount
        departments { led reportedThisPeriod late overdue awaitingReview } } }";
    let used = statements_of(&app, &token, counts, &json!({})).await;
    assert!(used <= 1, "the dashboard's counts took {used} statements");
}
both!(the_dashboard_counts_submissions_in_one_statement);

/// Counted once, the dashboard's counts are kept until a review move: asked again, the
/// dashboard takes no statement beyond the user row; after a submission it counts again.
async fn the_dashboards_counts_are_kept_until_a_review_move(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let counts = "{ dashboard(period: \"2022-Q2\") { awaitingReviewCount } }";

    // The first request loads the plan snapshot.
    data(&app.graphql_as(&token, "{ plans { id } }", json!({})).await);

    assert_eq!(statements_of(&app, &token, counts, &json!({})).await, 1);
    assert_eq!(statements_of(&app, &token, counts, &json!({})).await, 0);
    // Another period, and another scope, are counted apart.
    let other_period = "{ dashboard(period: \"2022-Q3\") { awaitingReviewCount } }";
    assert_eq!(
        statements_of(&app, &token, other_period, &json!({})).await,
        1
    );
    assert_eq!(statements_of(&app, &finance, counts, &json!({})).await, 1);
    // A draft changes no count, and keeps them.
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    assert_eq!(statements_of(&app, &token, counts, &json!({})).await, 0);

    crate::steps::submitted(&app, &finance, &draft).await;
    assert_eq!(statements_of(&app, &token, counts, &json!({})).await, 1);
    let answer = app.graphql_as(&token, counts, json!({})).await;
    assert_eq!(data(&answer)["dashboard"]["awaitingReviewCount"], 1);
    assert_eq!(statements_of(&app, &token, counts, &json!({})).await, 0);
}
both!(the_dashboards_counts_are_kept_until_a_review_move);
