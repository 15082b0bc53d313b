//! Every change of a versioned item takes the version it was made against: a task's due
//! date and a draft task's correction, a period's closing and reopening. A change made
//! against an older version is refused with `STALE_VERSION` and `currentVersion`, and
//! leaves the item as it was.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::plan_import::{draft_task, import_draft};

fn current_version(response: &Value) -> i64 {
    response["errors"][0]["extensions"]["currentVersion"]
        .as_i64()
        .unwrap_or_else(|| panic!("no currentVersion in {response:#}"))
}

const DUE_DATE: &str = "mutation($task: ID!, $dueOn: Date!, $version: Int) {
    setTaskDueDate(taskId: $task, dueOn: $dueOn, version: $version) { dueOn version } }";
const TASK: &str = "query($task: ID!) { taskById(id: $task) { dueOn version } }";

async fn a_due_date_set_against_an_old_version_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;
    let task = app.task_id("36").await;
    let read = app
        .graphql_as(&leadership, TASK, json!({ "task": task }))
        .await;
    assert_eq!(data(&read)["taskById"]["version"], 1, "{read}");

    // Two reviewers read version 1; the first change lands, the second is refused.
    let first = app
        .graphql_as(
            &leadership,
            DUE_DATE,
            json!({ "task": task, "dueOn": "2022-09-30", "version": 1 }),
        )
        .await;
    assert_eq!(
        data(&first)["setTaskDueDate"],
        json!({ "dueOn": "2022-09-30", "version": 2 })
    );
    let second = app
        .graphql_as(
            &admin,
            DUE_DATE,
            json!({ "task": task, "dueOn": "2022-06-30", "version": 1 }),
        )
        .await;
    assert_error_code(&second, "STALE_VERSION");
    assert_eq!(current_version(&second), 2);
    let after = app
        .graphql_as(&leadership, TASK, json!({ "task": task }))
        .await;
    assert_eq!(
        data(&after)["taskById"],
        json!({ "dueOn": "2022-09-30", "version": 2 })
    );

    // A version that was never the task's is stale too; without one, the change is made.
    let ahead = app
        .graphql_as(
            &admin,
            DUE_DATE,
            json!({ "task": task, "dueOn": "2022-06-30", "version": 7 }),
        )
        .await;
    assert_error_code(&ahead, "STALE_VERSION");
    let unchecked = app
        .graphql_as(
            &admin,
            DUE_DATE,
            json!({ "task": task, "dueOn": "2022-06-30" }),
        )
        .await;
    assert_eq!(
        data(&unchecked)["setTaskDueDate"],
        json!({ "dueOn": "2022-06-30", "version": 3 })
    );
}
both!(a_due_date_set_against_an_old_version_is_refused);

async fn a_draft_task_corrected_against_an_old_version_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let payload = import_draft(&app, &admin, "qianan-2023").await;
    let (task, _) = draft_task(&payload, "5");
    let correct = "mutation($task: ID!, $title: String!, $version: Int) {
        updateDraftTask(id: $task, input: { title: $title }, version: $version) { title version } }";

    let first = app
        .graphql_as(
            &admin,
            correct,
            json!({ "task": task, "title": "发展生态农业", "version": 1 }),
        )
        .await;
    assert_eq!(
        data(&first)["updateDraftTask"],
        json!({ "title": "发展生态农业", "version": 2 })
    );
    let stale = app
        .graphql_as(
            &admin,
            correct,
            json!({ "task": task, "title": "发展绿色种植", "version": 1 }),
        )
        .await;
    assert_error_code(&stale, "STALE_VERSION");
    assert_eq!(current_version(&stale), 2);
    let read = app.graphql_as(&admin, TASK, json!({ "task": task })).await;
    assert_eq!(data(&read)["taskById"]["version"], 2);
    let title = app
        .graphql_as(
            &admin,
            "query($task: ID!) { taskById(id: $task) { title } }",
            json!({ "task": task }),
        )
        .await;
    assert_eq!(data(&title)["taskById"]["title"], "发展生态农业");
}
both!(a_draft_task_corrected_against_an_old_version_is_refused);

const CLOSE: &str = "mutation($plan: ID!, $period: String!, $version: Int) {
    closePeriod(planId: $plan, period: $period, version: $version) { closed version } }";
const REOPEN: &str = "mutation($plan: ID!, $period: String!, $version: Int) {
    reopenPeriod(planId: $plan, period: $period, reason: \"補報\", version: $version) { closed version } }";
const PERIOD: &str = "query($plan: ID!, $period: String!) {
    reportingPeriod(planId: $plan, period: $period) { closed version } }";

async fn a_period_closed_or_reopened_against_an_old_version_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let admin = app.admin_token().await;
    let plan = app.plan_id().await;
    let at = |period: &str, version: Option<i64>| json!({ "plan": plan, "period": period, "version": version });

    let never_changed = app
        .graphql_as(&leadership, PERIOD, at("2022-Q2", None))
        .await;
    assert_eq!(
        data(&never_changed)["reportingPeriod"],
        json!({ "closed": false, "version": 0 })
    );

    // Both read version 0: the first close lands, the second is refused as stale (not
    // as "already closed": it was made against a state that is gone).
    let closed = app
        .graphql_as(&leadership, CLOSE, at("2022-Q2", Some(0)))
        .await;
    assert_eq!(
        data(&closed)["closePeriod"],
        json!({ "closed": true, "version": 1 })
    );
    let again = app.graphql_as(&admin, CLOSE, at("2022-Q2", Some(0))).await;
    assert_error_code(&again, "STALE_VERSION");
    assert_eq!(current_version(&again), 1);

    // A reopening made against version 0 is refused and leaves the period closed.
    let stale_reopen = app.graphql_as(&admin, REOPEN, at("2022-Q2", Some(0))).await;
    assert_error_code(&stale_reopen, "STALE_VERSION");
    assert_eq!(current_version(&stale_reopen), 1);
    let still = app
        .graphql_as(&leadership, PERIOD, at("2022-Q2", None))
        .await;
    assert_eq!(
        data(&still)["reportingPeriod"],
        json!({ "closed": true, "version": 1 })
    );

    let reopened = app.graphql_as(&admin, REOPEN, at("2022-Q2", Some(1))).await;
    assert_eq!(
        data(&reopened)["reopenPeriod"],
        json!({ "closed": false, "version": 2 })
    );
    // Another period keeps its own version.
    let other = app
        .graphql_as(&leadership, CLOSE, at("2022-Q3", Some(2)))
        .await;
    assert_error_code(&other, "STALE_VERSION");
    assert_eq!(current_version(&other), 0);
    let unchecked = app
        .graphql_as(&leadership, CLOSE, at("2022-Q3", None))
        .await;
    assert_eq!(
        data(&unchecked)["closePeriod"],
        json!({ "closed": true, "version": 1 })
    );
}
both!(a_period_closed_or_reopened_against_an_old_version_is_refused);
