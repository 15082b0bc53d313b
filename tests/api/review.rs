//! The review: a department submits, the leadership group approves or rejects, and an
//! approved item stays locked until it is reopened.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, assert_error_code, both, data};
use crate::steps::{
    Item, approve, approved, draft_report, draft_value, reject, rejected, reopen, report_input,
    save_report, submit, submitted,
};

/// An app with finance's draft report on task 36 for 2022-Q2.
struct Scene {
    app: TestApp,
    finance: Account,
    leadership: Account,
    task: String,
    draft: Item,
}

async fn scene(backend: Backend) -> Scene {
    let app = TestApp::spawn(backend).await;
    let finance = app.account(Role::Department, Some("finance")).await;
    let leadership = app.account(Role::Leadership, None).await;
    let task = app.task_id("36").await;
    let draft = draft_report(&app, &finance.token, &task, "2022-Q2", "IN_PROGRESS").await;
    Scene {
        app,
        finance,
        leadership,
        task,
        draft,
    }
}

async fn submitting_records_who_and_when_and_bumps_the_version(backend: Backend) {
    let Scene {
        app,
        finance,
        draft,
        ..
    } = scene(backend).await;

    let response = submit(&app, &finance.token, &draft).await;

    let moved = &data(&response)["submit"];
    assert_eq!(moved["reviewStatus"], "SUBMITTED");
    assert_eq!(moved["version"], 2);
    assert_eq!(moved["submittedBy"]["username"], finance.username.as_str());
    assert!(moved["submittedAt"].is_string(), "{moved:#}");
    assert_eq!(moved["reviewedAt"], Value::Null);
    assert_eq!(moved["reviewedBy"], Value::Null);
}
both!(submitting_records_who_and_when_and_bumps_the_version);

async fn only_the_department_that_made_an_item_submits_it(backend: Backend) {
    let Scene {
        app,
        leadership,
        draft,
        ..
    } = scene(backend).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let admin = app.admin_token().await;

    for token in [&leadership.token, &admin, &portal] {
        assert_error_code(&submit(&app, token, &draft).await, "FORBIDDEN");
    }
    assert_error_code(&submit(&app, &audit, &draft).await, "NOT_FOUND");
    let anonymous = app
        .graphql(
            "mutation($id: ID!) { submit(id: $id, version: 1) { id } }",
            json!({ "id": draft.id }),
        )
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
}
both!(only_the_department_that_made_an_item_submits_it);

async fn a_stale_version_cannot_submit_or_review(backend: Backend) {
    let Scene {
        app,
        finance,
        leadership,
        task,
        draft,
    } = scene(backend).await;
    let changed = save_report(
        &app,
        &finance.token,
        Some(&draft),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "改過了"),
    )
    .await;
    data(&changed);

    let stale = submit(&app, &finance.token, &draft).await;
    assert_error_code(&stale, "STALE_VERSION");
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);

    let sent = submitted(
        &app,
        &finance.token,
        &Item {
            version: 2,
            ..draft
        },
    )
    .await;
    let stale = approve(
        &app,
        &leadership.token,
        &Item {
            version: 2,
            ..sent.clone()
        },
    )
    .await;
    assert_error_code(&stale, "STALE_VERSION");
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 3);
    let stale = reject(
        &app,
        &leadership.token,
        &Item { version: 1, ..sent },
        "舊版本",
    )
    .await;
    assert_error_code(&stale, "STALE_VERSION");
}
both!(a_stale_version_cannot_submit_or_review);

async fn a_department_cannot_approve_its_own_submission(backend: Backend) {
    let Scene {
        app,
        finance,
        leadership,
        draft,
        ..
    } = scene(backend).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let portal = app.token_for(Role::Portal, None).await;
    let sent = submitted(&app, &finance.token, &draft).await;

    for token in [&finance.token, &audit, &portal] {
        assert_error_code(&approve(&app, token, &sent).await, "FORBIDDEN");
        assert_error_code(&reject(&app, token, &sent, "自己退回").await, "FORBIDDEN");
    }
    let approved = approved(&app, &leadership.token, &sent).await;
    for token in [&finance.token, &audit, &portal] {
        assert_error_code(
            &reopen(&app, token, &approved, "自己重開").await,
            "FORBIDDEN",
        );
    }
}
both!(a_department_cannot_approve_its_own_submission);

async fn reviewing_a_draft_is_a_conflict(backend: Backend) {
    let Scene {
        app,
        leadership,
        draft,
        ..
    } = scene(backend).await;

    assert_error_code(
        &approve(&app, &leadership.token, &draft).await,
        "INVALID_STATE",
    );
    assert_error_code(
        &reject(&app, &leadership.token, &draft, "還是草稿").await,
        "INVALID_STATE",
    );
    assert_error_code(
        &reopen(&app, &leadership.token, &draft, "還是草稿").await,
        "INVALID_STATE",
    );
}
both!(reviewing_a_draft_is_a_conflict);

async fn a_rejection_needs_a_reason(backend: Backend) {
    let Scene {
        app,
        finance,
        leadership,
        draft,
        ..
    } = scene(backend).await;
    let sent = submitted(&app, &finance.token, &draft).await;

    for reason in ["", "   "] {
        assert_error_code(
            &reject(&app, &leadership.token, &sent, reason).await,
            "BAD_USER_INPUT",
        );
    }
    let long = "太".repeat(2001);
    assert_error_code(
        &reject(&app, &leadership.token, &sent, &long).await,
        "BAD_USER_INPUT",
    );
}
both!(a_rejection_needs_a_reason);

async fn a_rejected_report_is_corrected_and_submitted_again(backend: Backend) {
    let Scene {
        app,
        finance,
        leadership,
        task,
        draft,
    } = scene(backend).await;
    let sent = submitted(&app, &finance.token, &draft).await;

    let response = reject(&app, &leadership.token, &sent, "請補充採購明細").await;
    let back = &data(&response)["reject"];
    assert_eq!(back["reviewStatus"], "REJECTED");
    assert_eq!(back["rejectionReason"], "請補充採購明細");
    assert_eq!(back["reviewedBy"]["username"], leadership.username.as_str());
    assert!(back["reviewedAt"].is_string());
    assert_eq!(back["version"], 3);

    let corrected = save_report(
        &app,
        &finance.token,
        Some(&Item::from_response(&response, "reject")),
        report_input(&task, "2022-Q2", "IN_PROGRESS", "已補充採購明細"),
    )
    .await;
    let corrected = Item::from_response(&corrected, "saveProgressReport");
    assert_eq!(corrected.version, 4);

    let again = submit(&app, &finance.token, &corrected).await;
    let again = &data(&again)["submit"];
    assert_eq!(again["reviewStatus"], "SUBMITTED");
    assert_eq!(again["version"], 5);
    assert_eq!(again["reviewedAt"], Value::Null);
}
both!(a_rejected_report_is_corrected_and_submitted_again);

async fn an_approved_item_is_locked_until_the_leadership_group_reopens_it(backend: Backend) {
    let Scene {
        app,
        finance,
        leadership,
        task,
        draft,
    } = scene(backend).await;
    let sent = submitted(&app, &finance.token, &draft).await;

    let response = approve(&app, &leadership.token, &sent).await;
    let done = &data(&response)["approve"];
    assert_eq!(done["reviewStatus"], "APPROVED");
    assert_eq!(done["reviewedBy"]["username"], leadership.username.as_str());
    assert_eq!(done["submittedBy"]["username"], finance.username.as_str());
    assert_eq!(done["version"], 3);
    let done = Item::from_response(&response, "approve");

    let locked = save_report(
        &app,
        &finance.token,
        Some(&done),
        report_input(&task, "2022-Q2", "COMPLETED", "通過後再改"),
    )
    .await;
    assert_error_code(&locked, "INVALID_STATE");
    assert_error_code(&submit(&app, &finance.token, &done).await, "INVALID_STATE");
    assert_error_code(
        &approve(&app, &leadership.token, &done).await,
        "INVALID_STATE",
    );
    assert_error_code(
        &reopen(&app, &leadership.token, &done, " ").await,
        "BAD_USER_INPUT",
    );

    let response = reopen(&app, &leadership.token, &done, "數據口徑有誤,請更正").await;
    let reopened = &data(&response)["reopen"];
    assert_eq!(reopened["reviewStatus"], "REJECTED");
    assert_eq!(reopened["rejectionReason"], "數據口徑有誤,請更正");
    assert_eq!(reopened["version"], 4);
    let reopened = Item::from_response(&response, "reopen");

    let corrected = save_report(
        &app,
        &finance.token,
        Some(&reopened),
        report_input(&task, "2022-Q2", "COMPLETED", "已更正"),
    )
    .await;
    assert_eq!(data(&corrected)["saveProgressReport"]["version"], 5);
}
both!(an_approved_item_is_locked_until_the_leadership_group_reopens_it);

async fn an_administrator_reviews_like_the_leadership_group(backend: Backend) {
    let Scene {
        app,
        finance,
        draft,
        ..
    } = scene(backend).await;
    let admin = app.admin_token().await;
    let indicator = app.indicator_id("36", 0).await;
    let value = draft_value(&app, &finance.token, &indicator, "2022-Q2", 85.0).await;
    let report = submitted(&app, &finance.token, &draft).await;
    let value = submitted(&app, &finance.token, &value).await;

    let report = approved(&app, &admin, &report).await;
    let value = rejected(&app, &admin, &value, "請附數據來源").await;
    let reopened = reopen(&app, &admin, &report, "重新核對").await;

    assert_eq!(data(&reopened)["reopen"]["reviewStatus"], "REJECTED");
    assert_eq!(value.version, 3);
}
both!(an_administrator_reviews_like_the_leadership_group);
