//! Departments write progress reports and indicator values: drafts, versions, periods and
//! who may write what.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error_code, both, data, global_id};
use crate::steps::{
    Item, draft_report, draft_value, report_input, save_report, save_value, submit, submitted,
    value_input,
};

async fn a_department_drafts_a_report_on_the_task_it_leads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    let response = save_report(
        &app,
        &finance,
        None,
        json!({
            "taskId": task,
            "period": "2022-Q2",
            "status": "IN_PROGRESS",
            "workDone": "開展政府綠色採購",
            "problems": "部分單位採購意識不強",
            "nextSteps": "加強培訓",
        }),
    )
    .await;

    let report = &data(&response)["saveProgressReport"];
    assert_eq!(report["version"], 1);
    assert_eq!(report["reviewStatus"], "DRAFT");
    assert_eq!(report["late"], false);
    assert_eq!(report["period"], "2022-Q2");
    assert_eq!(report["status"], "IN_PROGRESS");
    assert_eq!(report["workDone"], "開展政府綠色採購");
    assert_eq!(report["problems"], "部分單位採購意識不強");
    assert_eq!(report["nextSteps"], "加強培訓");
    assert_eq!(report["department"]["code"], "finance");
    assert_eq!(report["task"]["code"], "36");
    assert_eq!(report["submittedAt"], Value::Null);
    assert_eq!(report["reviewedAt"], Value::Null);

    let listed = app
        .graphql_as(
            &finance,
            r#"{ task(code: "36") { progressReports { nodes { id reviewStatus } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data(&listed)["task"]["progressReports"]["nodes"],
        json!([{ "id": report["id"], "reviewStatus": "DRAFT" }])
    );
}
both!(a_department_drafts_a_report_on_the_task_it_leads);

async fn a_department_drafts_a_value_of_an_indicator_it_answers_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let indicator = app.indicator_id("36", 0).await;

    let response = save_value(
        &app,
        &finance,
        None,
        value_input(&indicator, "2022-Q2", 85.0),
    )
    .await;

    let value = &data(&response)["saveIndicatorValue"];
    assert_eq!(value["version"], 1);
    assert_eq!(value["reviewStatus"], "DRAFT");
    assert_eq!(value["period"], "2022-Q2");
    assert_eq!(value["value"], 85.0);
    assert_eq!(value["source"], "市財政局統計");
    assert_eq!(value["department"]["code"], "finance");
    assert_eq!(value["indicator"]["name"], "綠色產品政府採購比例");
}
both!(a_department_drafts_a_value_of_an_indicator_it_answers_for);

async fn a_second_draft_for_the_same_task_and_period_names_the_existing_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;

    let again = save_report(
        &app,
        &finance,
        None,
        report_input(&task, "2022-Q2", "COMPLETED", "再報一次"),
    )
    .await;
    assert_error_code(&again, "ALREADY_EXISTS");
    assert_eq!(again["errors"][0]["extensions"]["currentVersion"], 1);
    assert_eq!(
        again["errors"][0]["extensions"]["existingId"],
        report.id.as_str()
    );

    let again = save_value(
        &app,
        &finance,
        None,
        value_input(&indicator, "2022-Q2", 90.0),
    )
    .await;
    assert_error_code(&again, "ALREADY_EXISTS");
    assert_eq!(again["errors"][0]["extensions"]["currentVersion"], 1);
    assert_eq!(
        again["errors"][0]["extensions"]["existingId"],
        value.id.as_str()
    );

    // Another period is another report.
    draft_report(&app, &finance, &task, "2022-Q3", "IN_PROGRESS").await;
    draft_value(&app, &finance, &indicator, "2022-Q3", 86.0).await;
}
both!(a_second_draft_for_the_same_task_and_period_names_the_existing_one);

async fn only_department_users_write_reports_and_values(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let admin = app.admin_token().await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;

    for token in [&admin, &leadership, &portal] {
        let response = save_report(
            &app,
            token,
            None,
            report_input(&task, "2022-Q2", "IN_PROGRESS", "代為填報"),
        )
        .await;
        assert_error_code(&response, "FORBIDDEN");
        let response =
            save_value(&app, token, None, value_input(&indicator, "2022-Q2", 85.0)).await;
        assert_error_code(&response, "FORBIDDEN");
    }

    let anonymous = app
        .graphql(
            crate::steps::SAVE_REPORT,
            json!({ "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "匿名") }),
        )
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
    let anonymous = app
        .graphql(
            crate::steps::SAVE_VALUE,
            json!({ "input": value_input(&indicator, "2022-Q2", 85.0) }),
        )
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
    assert_eq!(app.count_rows("progress_report").await, 0);
    assert_eq!(app.count_rows("indicator_value").await, 0);
}
both!(only_department_users_write_reports_and_values);

async fn a_department_cannot_report_on_another_departments_task_or_indicator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;

    let response = save_report(
        &app,
        &audit,
        None,
        report_input(&task, "2022-Q2", "IN_PROGRESS", "越權填報"),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    let response = save_value(&app, &audit, None, value_input(&indicator, "2022-Q2", 85.0)).await;
    assert_error_code(&response, "NOT_FOUND");
}
both!(a_department_cannot_report_on_another_departments_task_or_indicator);

async fn a_task_with_parts_is_reported_through_its_parts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;

    for (token, parent, part) in [(&audit, "2", "2.1"), (&ecology, "5", "5.1")] {
        let parent_id = app.task_id(parent).await;
        let response = save_report(
            &app,
            token,
            None,
            report_input(&parent_id, "2022-Q2", "IN_PROGRESS", "報在整個任務上"),
        )
        .await;
        assert_error_code(&response, "BAD_USER_INPUT");

        let part_id = app.task_id(part).await;
        draft_report(&app, token, &part_id, "2022-Q2", "IN_PROGRESS").await;
    }
}
both!(a_task_with_parts_is_reported_through_its_parts);

async fn ids_of_nothing_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let missing_task = global_id(NodeKind::Task, 999_999);
    let missing_indicator = global_id(NodeKind::Indicator, 999_999);
    let missing_report = Item {
        id: global_id(NodeKind::ProgressReport, 999_999),
        version: 1,
    };

    let response = save_report(
        &app,
        &finance,
        None,
        report_input(&missing_task, "2022-Q2", "IN_PROGRESS", "無此任務"),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    let response = save_value(
        &app,
        &finance,
        None,
        value_input(&missing_indicator, "2022-Q2", 85.0),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    let response = save_report(
        &app,
        &finance,
        Some(&missing_report),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "無此報告"),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    assert_error_code(&submit(&app, &finance, &missing_report).await, "NOT_FOUND");
}
both!(ids_of_nothing_are_not_found);

async fn malformed_periods_and_periods_outside_the_plans_years_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;

    for period in [
        "2022-05", "2022-Q5", "2022-Q0", "abc", "", "2021-Q4", "2028-Q1",
    ] {
        let response = save_report(
            &app,
            &finance,
            None,
            report_input(&task, period, "IN_PROGRESS", "期間不對"),
        )
        .await;
        assert_error_code(&response, "BAD_USER_INPUT");
        let response =
            save_value(&app, &finance, None, value_input(&indicator, period, 85.0)).await;
        assert_error_code(&response, "BAD_USER_INPUT");
    }
    // The last reporting year of the plan is still open for reports.
    draft_report(&app, &finance, &task, "2027-Q4", "IN_PROGRESS").await;
    assert_eq!(app.count_rows("progress_report").await, 1);
    assert_eq!(app.count_rows("indicator_value").await, 0);
}
both!(malformed_periods_and_periods_outside_the_plans_years_are_refused);

async fn a_report_needs_its_work_done(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;

    let response = save_report(
        &app,
        &finance,
        None,
        report_input(&task, "2022-Q2", "IN_PROGRESS", "   "),
    )
    .await;

    assert_error_code(&response, "BAD_USER_INPUT");
}
both!(a_report_needs_its_work_done);

async fn a_qualitative_indicator_needs_achieved_and_a_numeric_one_a_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let numeric = app.indicator_id("36", 0).await;
    // Task 9's second indicator: 全域無劣Ⅴ類和黑臭水體.
    let qualitative = app.indicator_id("9", 1).await;

    let response = save_value(
        &app,
        &finance,
        None,
        json!({ "indicatorId": numeric, "period": "2022-Q2", "text": "約八成" }),
    )
    .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    let response = save_value(
        &app,
        &ecology,
        None,
        json!({ "indicatorId": qualitative, "period": "2022-Q2", "value": 0 }),
    )
    .await;
    assert_error_code(&response, "BAD_USER_INPUT");

    let response = save_value(
        &app,
        &ecology,
        None,
        json!({ "indicatorId": qualitative, "period": "2022-Q2", "achieved": true,
                "text": "全域已無劣Ⅴ類和黑臭水體" }),
    )
    .await;
    let value = &data(&response)["saveIndicatorValue"];
    assert_eq!(value["achieved"], true);
    assert_eq!(value["value"], Value::Null);
    assert_eq!(value["text"], "全域已無劣Ⅴ類和黑臭水體");
}
both!(a_qualitative_indicator_needs_achieved_and_a_numeric_one_a_value);

async fn a_change_takes_the_version_it_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;

    let without_version = app
        .graphql_as(
            &finance,
            crate::steps::SAVE_REPORT,
            json!({ "id": draft.id, "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "沒有版本") }),
        )
        .await;
    assert_error_code(&without_version, "BAD_USER_INPUT");

    let changed = save_report(
        &app,
        &finance,
        Some(&draft),
        report_input(&task, "2022-Q2", "COMPLETED", "已完成"),
    )
    .await;
    let changed = &data(&changed)["saveProgressReport"];
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["status"], "COMPLETED");
    assert_eq!(changed["workDone"], "已完成");
    assert_eq!(changed["reviewStatus"], "DRAFT");

    let stale = save_report(
        &app,
        &finance,
        Some(&draft),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "舊版本"),
    )
    .await;
    assert_error_code(&stale, "STALE_VERSION");
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);
}
both!(a_change_takes_the_version_it_read);

async fn of_two_edits_from_the_same_version_the_second_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Two people of the same department open the same draft.
    let first = app.token_for(Role::Department, Some("finance")).await;
    let second = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &first, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &first, &indicator, "2022-Q2", 85.0).await;

    let saved = save_report(
        &app,
        &first,
        Some(&report),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "第一個人的修改"),
    )
    .await;
    data(&saved);
    let lost = save_report(
        &app,
        &second,
        Some(&report),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "第二個人的修改"),
    )
    .await;
    assert_error_code(&lost, "STALE_VERSION");
    assert_eq!(lost["errors"][0]["extensions"]["currentVersion"], 2);

    let saved = save_value(
        &app,
        &first,
        Some(&value),
        value_input(&indicator, "2022-Q2", 86.0),
    )
    .await;
    data(&saved);
    let lost = save_value(
        &app,
        &second,
        Some(&value),
        value_input(&indicator, "2022-Q2", 99.0),
    )
    .await;
    assert_error_code(&lost, "STALE_VERSION");
    assert_eq!(lost["errors"][0]["extensions"]["currentVersion"], 2);

    let now = app
        .graphql_as(
            &second,
            r#"{ task(code: "36") { progressReports { nodes { workDone version } } indicators { values { nodes { value version } } } } }"#,
            json!({}),
        )
        .await;
    let task = &data(&now)["task"];
    assert_eq!(
        task["progressReports"]["nodes"],
        json!([{ "workDone": "第一個人的修改", "version": 2 }])
    );
    assert_eq!(
        task["indicators"][0]["values"]["nodes"],
        json!([{ "value": 86.0, "version": 2 }])
    );
}
both!(of_two_edits_from_the_same_version_the_second_is_refused);

async fn a_report_keeps_its_task_and_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let task_6 = app.task_id("6").await;
    let task_7 = app.task_id("7").await;
    let draft = draft_report(&app, &ecology, &task_6, "2022-Q2", "IN_PROGRESS").await;

    for input in [
        report_input(&task_6, "2022-Q3", "IN_PROGRESS", "換期間"),
        report_input(&task_7, "2022-Q2", "IN_PROGRESS", "換任務"),
    ] {
        let response = save_report(&app, &ecology, Some(&draft), input).await;
        assert_error_code(&response, "BAD_USER_INPUT");
    }

    let indicator_7 = app.indicator_id("7", 0).await;
    let value = draft_value(&app, &ecology, &indicator_7, "2022-Q2", 100.0).await;
    let response = save_value(
        &app,
        &ecology,
        Some(&value),
        value_input(&indicator_7, "2022-Q3", 100.0),
    )
    .await;
    assert_error_code(&response, "BAD_USER_INPUT");
}
both!(a_report_keeps_its_task_and_period);

async fn a_department_cannot_change_another_departments_report(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Task 9 has three lead departments, each with its own report.
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let water = app
        .token_for(Role::Department, Some("water-resources"))
        .await;
    let task = app.task_id("9").await;
    let theirs = draft_report(&app, &ecology, &task, "2022-Q2", "IN_PROGRESS").await;

    let response = save_report(
        &app,
        &water,
        Some(&theirs),
        report_input(&task, "2022-Q2", "COMPLETED", "改別人的報告"),
    )
    .await;
    assert_error_code(&response, "NOT_FOUND");
    assert_error_code(&submit(&app, &water, &theirs).await, "NOT_FOUND");

    // Each lead department reports on its own.
    draft_report(&app, &water, &task, "2022-Q2", "IN_PROGRESS").await;
    assert_eq!(app.count_rows("progress_report").await, 2);
}
both!(a_department_cannot_change_another_departments_report);

async fn a_submitted_or_approved_item_is_locked_for_its_department(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;
    let report = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &finance, &indicator, "2022-Q2", 85.0).await;
    let report = submitted(&app, &finance, &report).await;
    let value = submitted(&app, &finance, &value).await;

    let response = save_report(
        &app,
        &finance,
        Some(&report),
        report_input(&task, "2022-Q2", "COMPLETED", "提交後再改"),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");
    let response = save_value(
        &app,
        &finance,
        Some(&value),
        value_input(&indicator, "2022-Q2", 90.0),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");

    let report = crate::steps::approved(&app, &leadership, &report).await;
    let response = save_report(
        &app,
        &finance,
        Some(&report),
        report_input(&task, "2022-Q2", "COMPLETED", "通過後再改"),
    )
    .await;
    assert_error_code(&response, "INVALID_STATE");
    assert_eq!(response["errors"][0]["extensions"]["currentVersion"], 3);
}
both!(a_submitted_or_approved_item_is_locked_for_its_department);

async fn a_submission_after_the_deadline_is_marked_late(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let task = app.task_id("36").await;
    let plan = app.plan_id().await;

    let period = app
        .graphql_as(
            &finance,
            "query($plan: ID!) { reportingPeriod(planId: $plan, period: \"2022-Q2\") { period startsOn endsOn deadline closed } }",
            json!({ "plan": plan }),
        )
        .await;
    assert_eq!(
        data(&period)["reportingPeriod"],
        json!({ "period": "2022-Q2", "startsOn": "2022-04-01", "endsOn": "2022-06-30",
                "deadline": "2022-07-10", "closed": false })
    );

    // Every 2022 period is long past its deadline; the plan's last one is not (until
    // 2028-01-10, when this test must move on to a later plan).
    let past = draft_report(&app, &finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let past = submit(&app, &finance, &past).await;
    assert_eq!(data(&past)["submit"]["late"], true);
    assert_eq!(data(&past)["submit"]["reviewStatus"], "SUBMITTED");
    let future = draft_report(&app, &finance, &task, "2027-Q4", "IN_PROGRESS").await;
    let future = submit(&app, &finance, &future).await;
    assert_eq!(data(&future)["submit"]["late"], false);
}
both!(a_submission_after_the_deadline_is_marked_late);

async fn the_leadership_groups_actions_on_ids_of_nothing_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let missing = |kind| global_id(kind, 999_999);
    let report = Item {
        id: missing(NodeKind::ProgressReport),
        version: 2,
    };
    let value = Item {
        id: missing(NodeKind::IndicatorValue),
        version: 2,
    };
    let file = Item {
        id: missing(NodeKind::Evidence),
        version: 2,
    };

    for item in [&report, &value, &file] {
        assert_error_code(
            &crate::steps::approve(&app, &leadership, item).await,
            "NOT_FOUND",
        );
        assert_error_code(
            &crate::steps::reject(&app, &leadership, item, "無此項").await,
            "NOT_FOUND",
        );
        assert_error_code(
            &crate::steps::reopen(&app, &leadership, item, "無此項").await,
            "NOT_FOUND",
        );
    }
    let plan = missing(NodeKind::Plan);
    let requests = [
        (
            "mutation($id: ID!) { setTaskDueDate(taskId: $id, dueOn: \"2023-06-30\") { code } }",
            missing(NodeKind::Task),
        ),
        (
            "mutation($id: ID!) { setExternalTarget(indicatorId: $id, year: 2022, value: 75) { name } }",
            missing(NodeKind::Indicator),
        ),
        (
            "mutation($id: ID!) { closePeriod(planId: $id, period: \"2022-Q2\") { closed } }",
            plan.clone(),
        ),
        (
            "mutation($id: ID!) { reopenPeriod(planId: $id, period: \"2022-Q2\", reason: \"補報\") { closed } }",
            plan.clone(),
        ),
        (
            "query($id: ID!) { reportingPeriod(planId: $id, period: \"2022-Q2\") { closed } }",
            plan.clone(),
        ),
        (
            "query($id: ID!) { dashboard(planId: $id, period: \"2022-Q2\") { period } }",
            plan,
        ),
    ];
    for (request, id) in requests {
        let response = app
            .graphql_as(&leadership, request, json!({ "id": id }))
            .await;
        assert_error_code(&response, "NOT_FOUND");
    }
}
both!(the_leadership_groups_actions_on_ids_of_nothing_are_not_found);
