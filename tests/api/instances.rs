//! Several instances behind a load balancer, as a city runs them: two servers on one
//! PostgreSQL database and one bucket. Whatever one of them is told, the other acts on at
//! its next request: files, accounts, passwords, sign-in lock-outs, the plan.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Store, TestApp, assert_error_code, data, postgres_url, s3_endpoint};
use crate::steps::{draft_evidence, pdf, upload};

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";
const ME: &str = "{ me { username } }";
/// A read that needs a live token (`me` answers `null` without one).
const PLANS: &str = "{ plans { key } }";

/// Two servers on one PostgreSQL database and one bucket, or `None` (with a notice) where
/// there is no PostgreSQL or S3-protocol server to test on outside CI.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    postgres_url()?;
    s3_endpoint()?;
    let first = TestApp::spawn_on(crate::helpers::Backend::Postgres, Store::Objects).await;
    let second = first.spawn_second_server().await;
    Some((first, second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_through_one_instance_downloads_through_the_other() {
    let Some((first, second)) = two_instances().await else {
        return;
    };
    let finance = first.token_for(Role::Department, Some("finance")).await;
    let task = first.task_id("36").await;
    let response = upload(
        &first,
        Some(&finance),
        json!({ "taskId": task, "title": "採購通知" }),
        "通知.pdf",
        pdf(),
    )
    .await;
    let url = data(&response)["uploadEvidence"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    // The file is in the bucket, not in the folder the two servers also share.
    assert_eq!(first.stored_objects().await.len(), 1);
    assert!(
        first.stored_files().is_empty(),
        "{:?}",
        first.stored_files()
    );
    let downloaded = second.get(Some(&finance), &url).await;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), pdf());

    // Deleted through the second, it is gone through the first.
    let draft = draft_evidence(&second, &finance, &task).await;
    let deleted = first
        .graphql_as(
            &finance,
            "mutation($id: ID!) { deleteEvidence(id: $id, version: 1) { deletedEvidenceId } }",
            json!({ "id": draft.id }),
        )
        .await;
    data(&deleted);
    let url = format!("/files/{}", draft.id);
    assert_eq!(second.get(Some(&finance), &url).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_changed_through_one_instance_is_refused_by_the_other_at_once() {
    let Some((first, second)) = two_instances().await else {
        return;
    };
    let admin = first.admin_token().await;
    let (username, password) = first.create_user("moved", Role::Leadership, None).await;
    let token = second.login(&username, &password).await;
    assert_eq!(
        data(&second.graphql_as(&token, ME, json!({})).await)["me"]["username"],
        username.as_str()
    );
    let id = first.user_row(&username).await.id;
    let id = crate::helpers::global_id(ecoplan::id::NodeKind::User, id);

    // A new password set through the first: the old token and password stop at the second.
    let reset = first
        .graphql_as(
            &admin,
            r#"mutation($id: ID!) { resetPassword(id: $id, password: "a brand new password") { id } }"#,
            json!({ "id": id }),
        )
        .await;
    data(&reset);
    assert_error_code(
        &second.graphql_as(&token, PLANS, json!({})).await,
        "UNAUTHENTICATED",
    );
    let old = second
        .graphql(LOGIN, json!({ "u": username, "p": password }))
        .await;
    assert_error_code(&old, "INVALID_CREDENTIALS");
    let token = second.login(&username, "a brand new password").await;
    data(&first.graphql_as(&token, PLANS, json!({})).await);

    // Deactivated through the second: refused by the first on its next request.
    let deactivated = second
        .graphql_as(
            &admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    data(&deactivated);
    assert_error_code(
        &first.graphql_as(&token, PLANS, json!({})).await,
        "UNAUTHENTICATED",
    );
    let again = first
        .graphql(LOGIN, json!({ "u": username, "p": "a brand new password" }))
        .await;
    assert!(again["errors"][0].is_object(), "{again:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_through_both_instances_count_toward_one_lock_out() {
    let Some((first, second)) = two_instances().await else {
        return;
    };
    let (username, password) = first
        .create_user("target", Role::Department, Some("finance"))
        .await;
    // Five wrong guesses, alternating between the instances, lock the username on both.
    for attempt in 1..=5 {
        let server = if attempt % 2 == 0 { &first } else { &second };
        let response: Value = server
            .graphql(
                LOGIN,
                json!({ "u": username, "p": format!("guess {attempt}") }),
            )
            .await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }
    for server in [&first, &second] {
        let response = server
            .graphql(LOGIN, json!({ "u": username, "p": password }))
            .await;
        assert_error_code(&response, "TOO_MANY_ATTEMPTS");
    }
}
