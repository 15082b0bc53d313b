//! What the API tells a viewer it may do (`viewerCan…` and `User.can…`), for every role,
//! agreeing with what the mutations then allow.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data};
use crate::steps::{
    Item, approved, draft_evidence, draft_report, draft_value, rejected, submitted,
};

const ABILITIES: &str = "query($id: ID!) { node(id: $id) {
    ... on Submission { viewerCanEdit viewerCanSubmit viewerCanReview } } }";

/// The roles asked, with their tokens.
struct Viewers {
    admin: String,
    leadership: String,
    finance: String,
    portal: String,
}

impl Viewers {
    async fn of(app: &TestApp) -> Self {
        Self {
            admin: app.admin_token().await,
            leadership: app.token_for(Role::Leadership, None).await,
            finance: app.token_for(Role::Department, Some("finance")).await,
            portal: app.token_for(Role::Portal, None).await,
        }
    }
}

/// `(edit, submit, review)` for a viewer, or `None` when the item is not visible to it.
async fn abilities(app: &TestApp, token: &str, item: &Item) -> Option<(bool, bool, bool)> {
    let response = app
        .graphql_as(token, ABILITIES, json!({ "id": item.id }))
        .await;
    let node = &data(&response)["node"];
    if node.is_null() {
        return None;
    }
    let flag = |name: &str| {
        node[name]
            .as_bool()
            .unwrap_or_else(|| panic!("no {name} in {response}"))
    };
    Some((
        flag("viewerCanEdit"),
        flag("viewerCanSubmit"),
        flag("viewerCanReview"),
    ))
}

const NOTHING: Option<(bool, bool, bool)> = Some((false, false, false));
const CHANGE: Option<(bool, bool, bool)> = Some((true, true, false));
const REVIEW: Option<(bool, bool, bool)> = Some((false, false, true));

#[track_caller]
fn assert_abilities(
    what: &str,
    seen: [Option<(bool, bool, bool)>; 4],
    expected: [Option<(bool, bool, bool)>; 4],
) {
    assert_eq!(seen, expected, "{what}: admin, leadership, finance, portal");
}

async fn all_abilities(
    app: &TestApp,
    viewers: &Viewers,
    item: &Item,
) -> [Option<(bool, bool, bool)>; 4] {
    [
        abilities(app, &viewers.admin, item).await,
        abilities(app, &viewers.leadership, item).await,
        abilities(app, &viewers.finance, item).await,
        abilities(app, &viewers.portal, item).await,
    ]
}

async fn each_submission_says_who_may_edit_submit_and_review_it_now(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewers = Viewers::of(&app).await;
    let task = app.task_id("36").await;
    let indicator = app.indicator_id("36", 0).await;

    let report = draft_report(&app, &viewers.finance, &task, "2022-Q2", "IN_PROGRESS").await;
    let value = draft_value(&app, &viewers.finance, &indicator, "2022-Q2", 61.0).await;
    let file = draft_evidence(&app, &viewers.finance, &task).await;
    for (what, item) in [
        ("a draft report", &report),
        ("a draft value", &value),
        ("draft evidence", &file),
    ] {
        assert_abilities(
            what,
            all_abilities(&app, &viewers, item).await,
            [NOTHING, NOTHING, CHANGE, None],
        );
    }

    let report = submitted(&app, &viewers.finance, &report).await;
    assert_abilities(
        "a submitted report",
        all_abilities(&app, &viewers, &report).await,
        [REVIEW, REVIEW, NOTHING, None],
    );
    let rejected_report = rejected(&app, &viewers.leadership, &report, "補充數據").await;
    assert_abilities(
        "a rejected report",
        all_abilities(&app, &viewers, &rejected_report).await,
        [NOTHING, NOTHING, CHANGE, None],
    );
    let report = submitted(&app, &viewers.finance, &rejected_report).await;
    let report = approved(&app, &viewers.leadership, &report).await;
    assert_abilities(
        "an approved report",
        all_abilities(&app, &viewers, &report).await,
        [NOTHING, NOTHING, NOTHING, NOTHING],
    );

    // A closed period stops every move, whatever the state.
    let value = submitted(&app, &viewers.finance, &value).await;
    let late_draft = draft_report(&app, &viewers.finance, &task, "2022-Q3", "IN_PROGRESS").await;
    for period in ["2022-Q2", "2022-Q3"] {
        let closed = app
            .graphql_as(
                &viewers.leadership,
                "mutation($plan: ID!, $period: String!) { closePeriod(planId: $plan, period: $period) { closed } }",
                json!({ "plan": app.plan_id().await, "period": period }),
            )
            .await;
        assert_eq!(data(&closed)["closePeriod"]["closed"], true);
    }
    assert_abilities(
        "a submitted value in a closed period",
        all_abilities(&app, &viewers, &value).await,
        [NOTHING, NOTHING, NOTHING, None],
    );
    assert_abilities(
        "a draft report in a closed period",
        all_abilities(&app, &viewers, &late_draft).await,
        [NOTHING, NOTHING, NOTHING, None],
    );
    // And the mutations agree: the review the flag denies is refused.
    let refused = crate::steps::approve(&app, &viewers.leadership, &value).await;
    assert_eq!(
        crate::helpers::error_code(&refused),
        Some("INVALID_STATE"),
        "{refused}"
    );
}
both!(each_submission_says_who_may_edit_submit_and_review_it_now);

async fn tasks_indicators_and_users_say_what_their_viewer_may_do(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewers = Viewers::of(&app).await;
    let query = r#"{ task(code: "36") { viewerCanReport indicators { viewerCanReport } }
        me { role canReview canManageUsers canClosePeriods } }"#;
    let answer = |response: Value| {
        let data = data(&response).clone();
        (
            data["task"]["viewerCanReport"].as_bool(),
            data["task"]["indicators"][0]["viewerCanReport"].as_bool(),
            [
                data["me"]["canReview"].as_bool().unwrap(),
                data["me"]["canManageUsers"].as_bool().unwrap(),
                data["me"]["canClosePeriods"].as_bool().unwrap(),
            ],
        )
    };
    let expected = [
        (
            &viewers.admin,
            (Some(false), Some(false), [true, true, true]),
        ),
        (
            &viewers.leadership,
            (Some(false), Some(false), [true, false, true]),
        ),
        (
            &viewers.finance,
            (Some(true), Some(true), [false, false, false]),
        ),
        (
            &viewers.portal,
            (Some(false), Some(false), [false, false, false]),
        ),
    ];
    for (token, expected) in expected {
        let response = app.graphql_as(token, query, json!({})).await;
        assert_eq!(answer(response.clone()), expected, "{response}");
    }

    // Another department does not see task 36 at all; on its own task it may report.
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let own = app
        .graphql_as(
            &audit,
            "{ tasks(first: 100) { nodes { code viewerCanReport subtasks { code } } } }",
            json!({}),
        )
        .await;
    let tasks = data(&own)["tasks"]["nodes"].as_array().unwrap().clone();
    assert!(!tasks.is_empty());
    assert!(tasks.iter().all(|task| task["code"] != "36"), "{own}");
    for task in &tasks {
        // A task reported through its parts takes no report of its own.
        let has_parts = task["subtasks"]
            .as_array()
            .is_some_and(|parts| !parts.is_empty());
        assert_eq!(task["viewerCanReport"], !has_parts, "{task}");
    }
}
both!(tasks_indicators_and_users_say_what_their_viewer_may_do);
