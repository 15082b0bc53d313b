//! What a department may not see is, to it, not there: every query and mutation that takes
//! an id answers for another department's item exactly as for an id that names nothing, so
//! that no answer tells which ids exist.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, global_id};
use crate::steps::{
    Item, SAVE_REPORT, SAVE_VALUE, draft_evidence, draft_report, draft_value, pdf, report_input,
    submit, upload, value_input,
};

/// The part of an answer a caller could tell apart: its code, message and data.
fn refusal(response: &Value) -> (Value, Value, Value) {
    let error = &response["errors"][0];
    assert!(error.is_object(), "expected a refusal: {response:#}");
    (
        error["extensions"]["code"].clone(),
        error["message"].clone(),
        response["data"].clone(),
    )
}

#[track_caller]
fn same_answer(hidden: &Value, missing: &Value) {
    assert_eq!(
        refusal(hidden),
        refusal(missing),
        "hidden: {hidden:#}\nmissing: {missing:#}"
    );
    assert_eq!(refusal(hidden).0, "NOT_FOUND");
}

fn missing(kind: NodeKind) -> String {
    global_id(kind, 987_654)
}

async fn another_departments_items_answer_as_ids_that_name_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let own_task = app.task_id("36").await;
    let their_task = app.task_id("9").await;
    let their_indicator = app.indicator_id("9", 1).await;
    let their_report = draft_report(&app, &ecology, &their_task, "2022-Q2", "IN_PROGRESS").await;
    let their_measured = app.indicator_id("9", 0).await;
    let their_value = draft_value(&app, &ecology, &their_measured, "2022-Q2", 1.0).await;
    let their_file = draft_evidence(&app, &ecology, &their_task).await;
    let nothing = |kind| Item {
        id: missing(kind),
        version: 1,
    };

    // Reporting on a task or indicator the department does not lead.
    let save = |task: String| {
        let app = &app;
        let finance = &finance;
        async move {
            app.graphql_as(
                finance,
                SAVE_REPORT,
                json!({ "input": report_input(&task, "2022-Q2", "IN_PROGRESS", "越權") }),
            )
            .await
        }
    };
    same_answer(
        &save(their_task.clone()).await,
        &save(missing(NodeKind::Task)).await,
    );
    let save = |indicator: String| {
        let app = &app;
        let finance = &finance;
        async move {
            app.graphql_as(
                finance,
                SAVE_VALUE,
                json!({ "input": value_input(&indicator, "2022-Q2", 1.0) }),
            )
            .await
        }
    };
    same_answer(
        &save(their_indicator.clone()).await,
        &save(missing(NodeKind::Indicator)).await,
    );

    // Changing, submitting and deleting another department's drafts.
    let change_report = |item: Item| {
        let (app, finance, task) = (&app, &finance, own_task.clone());
        async move {
            app.graphql_as(
                finance,
                SAVE_REPORT,
                json!({ "id": item.id, "version": item.version,
                        "input": report_input(&task, "2022-Q2", "COMPLETED", "改") }),
            )
            .await
        }
    };
    same_answer(
        &change_report(their_report.clone()).await,
        &change_report(nothing(NodeKind::ProgressReport)).await,
    );
    for (theirs, kind) in [
        (&their_report, NodeKind::ProgressReport),
        (&their_value, NodeKind::IndicatorValue),
        (&their_file, NodeKind::Evidence),
    ] {
        same_answer(
            &submit(&app, &finance, theirs).await,
            &submit(&app, &finance, &nothing(kind)).await,
        );
    }
    let delete = |id: String| {
        let (app, finance) = (&app, &finance);
        async move {
            app.graphql_as(
                finance,
                "mutation($id: ID!) { deleteEvidence(id: $id, version: 1) { deletedEvidenceId } }",
                json!({ "id": id }),
            )
            .await
        }
    };
    same_answer(
        &delete(their_file.id.clone()).await,
        &delete(missing(NodeKind::Evidence)).await,
    );

    // Attaching a file to another department's report or value.
    for (field, theirs, kind) in [
        ("progressReportId", &their_report, NodeKind::ProgressReport),
        ("indicatorValueId", &their_value, NodeKind::IndicatorValue),
    ] {
        let attach = |id: String| {
            let (app, finance, task) = (&app, &finance, own_task.clone());
            async move {
                upload(
                    app,
                    Some(finance),
                    json!({ "taskId": task, "title": "佐證", field: id }),
                    "通知.pdf",
                    pdf(),
                )
                .await
            }
        };
        same_answer(
            &attach(theirs.id.clone()).await,
            &attach(missing(kind)).await,
        );
    }

    // Reading them: `node` is null, the file's link answers 404, alike.
    let node = "query($id: ID!) { node(id: $id) { id } }";
    for (theirs, kind) in [
        (&their_report, NodeKind::ProgressReport),
        (&their_value, NodeKind::IndicatorValue),
        (&their_file, NodeKind::Evidence),
    ] {
        let hidden = app
            .graphql_as(&finance, node, json!({ "id": theirs.id }))
            .await;
        let nothing = app
            .graphql_as(&finance, node, json!({ "id": missing(kind) }))
            .await;
        assert_eq!(data(&hidden), data(&nothing));
        assert_eq!(data(&hidden)["node"], Value::Null);
    }
    let hidden = app
        .get(Some(&finance), &format!("/files/{}", their_file.id))
        .await;
    let nothing = app
        .get(
            Some(&finance),
            &format!("/files/{}", missing(NodeKind::Evidence)),
        )
        .await;
    assert_eq!(hidden.status(), 404);
    assert_eq!(nothing.status(), 404);
    assert_eq!(hidden.text().await.unwrap(), nothing.text().await.unwrap());
}
both!(another_departments_items_answer_as_ids_that_name_nothing);
