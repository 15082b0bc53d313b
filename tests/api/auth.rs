//! Signing in, managing users, and the tokens that stop working when they must.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_error_code, both, data, error_code, global_id, unique_name,
};

const PLANS: &str = "{ plans { key } }";
const ME: &str = "{ me { username role active department { code } } }";

#[track_caller]
fn assert_token_works(response: &Value) {
    assert_eq!(data(response)["plans"][0]["key"], "tangshan-2022");
}

async fn anonymous_callers_can_only_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let task_1 = app.task_id("1").await;

    for query in [
        "{ plans { key } }",
        "{ plan { key } }",
        "{ sections { number } }",
        "{ departments { code } }",
        r#"{ department(code: "finance") { code } }"#,
        "{ tasks { totalCount } }",
        r#"{ task(code: "1") { code } }"#,
        "{ indicators { totalCount } }",
        &format!(
            r#"{{ indicator(id: "{}") {{ name }} }}"#,
            global_id(NodeKind::Indicator, 1)
        ),
        &format!(r#"{{ node(id: "{task_1}") {{ id }} }}"#),
        "{ users { totalCount } }",
    ] {
        let response = app.graphql(query, json!({})).await;
        assert_error_code(&response, "UNAUTHENTICATED");
        // `data: null`, or the field `null` in its place when its type allows it.
        let nothing = match &response["data"] {
            Value::Null => true,
            Value::Object(fields) => fields.values().all(Value::is_null),
            _ => false,
        };
        assert!(nothing, "{query} gives data: {response}");
    }

    let response = app.graphql("{ me { id } }", json!({})).await;
    assert_eq!(data(&response).clone(), json!({ "me": null }));
    let response = app
        .graphql("{ __typename __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        data(&response).clone(),
        json!({ "__typename": "Query", "__schema": { "queryType": { "name": "Query" } } })
    );

    let token = app.admin_token().await;
    assert_token_works(&app.graphql_as(&token, PLANS, json!({})).await);
}
both!(anonymous_callers_can_only_sign_in);

const CREATE_USER: &str = "mutation($input: CreateUserInput!) {
    createUser(input: $input) { id username displayName role active department { code } } }";

async fn an_administrator_creates_changes_deactivates_and_lists_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let finance = global_id(NodeKind::Department, app.department_id("finance").await);
    let audit = global_id(NodeKind::Department, app.department_id("audit").await);

    let response = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "input": {
                "username": "  Finance.Clerk ", "displayName": "財政局 王",
                "password": "correct horse battery", "role": "DEPARTMENT", "departmentId": finance } }),
        )
        .await;
    let created = data(&response)["createUser"].clone();
    assert_eq!(created["username"], "finance.clerk");
    assert_eq!(created["displayName"], "財政局 王");
    assert_eq!(created["role"], "DEPARTMENT");
    assert_eq!(created["active"], true);
    assert_eq!(created["department"]["code"], "finance");
    let id = created["id"].as_str().unwrap().to_owned();
    let clerk = app.login("finance.clerk", "correct horse battery").await;
    assert_eq!(
        data(&app.graphql_as(&clerk, ME, json!({})).await)["me"]["department"]["code"],
        "finance"
    );

    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!, $input: UpdateUserInput!) {
                updateUser(id: $id, input: $input) { displayName department { code } } }",
            json!({ "id": id, "input": { "displayName": "審計局 王", "departmentId": audit } }),
        )
        .await;
    assert_eq!(
        data(&response)["updateUser"],
        json!({ "displayName": "審計局 王", "department": { "code": "audit" } })
    );

    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&response)["deactivateUser"]["active"], false);
    let refused = app
        .graphql(
            r#"mutation { login(username: "finance.clerk", password: "correct horse battery") { token } }"#,
            json!({}),
        )
        .await;
    assert_error_code(&refused, "INVALID_CREDENTIALS");

    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { reactivateUser(id: $id) { active } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&response)["reactivateUser"]["active"], true);

    let response = app
        .graphql_as(
            &admin,
            r#"mutation($id: ID!) { resetPassword(id: $id, password: "a brand new secret") { username } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&response)["resetPassword"]["username"],
        "finance.clerk"
    );
    app.login("finance.clerk", "a brand new secret").await;

    let response = app
        .graphql_as(
            &admin,
            "{ users(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { username } } } }",
            json!({}),
        )
        .await;
    let users = &data(&response)["users"];
    assert_eq!(users["totalCount"], 2);
    assert_eq!(users["edges"][0]["node"]["username"], "admin");
    assert_eq!(users["pageInfo"]["hasNextPage"], true);
    let response = app
        .graphql_as(
            &admin,
            "query($after: String) { users(after: $after) { edges { node { username active } } } }",
            json!({ "after": users["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        data(&response)["users"]["edges"],
        json!([{ "node": { "username": "finance.clerk", "active": true } }])
    );
}
both!(an_administrator_creates_changes_deactivates_and_lists_users);

async fn a_password_shorter_than_ten_characters_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (username, password) = app.create_user("short-user", Role::Leadership, None).await;
    let id = global_id(NodeKind::User, app.user_row(&username).await.id);
    let own = app.login(&username, &password).await;

    let create = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "input": { "username": "shorty", "password": "123456789", "role": "PORTAL" } }),
        )
        .await;
    assert_error_code(&create, "BAD_USER_INPUT");
    let reset = app
        .graphql_as(
            &admin,
            r#"mutation($id: ID!) { resetPassword(id: $id, password: "nine char") { id } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_error_code(&reset, "BAD_USER_INPUT");
    let change = app
        .graphql_as(
            &own,
            r#"mutation($current: String!) { changePassword(current: $current, new: "too short") { token } }"#,
            json!({ "current": password }),
        )
        .await;
    assert_error_code(&change, "BAD_USER_INPUT");

    // Ten characters are enough.
    let create = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "input": { "username": "shorty", "password": "1234567890", "role": "PORTAL" } }),
        )
        .await;
    assert_eq!(data(&create)["createUser"]["username"], "shorty");
    // The refused attempts changed nothing.
    app.login(&username, &password).await;
}
both!(a_password_shorter_than_ten_characters_is_refused);

async fn only_department_users_have_a_department(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let finance = global_id(NodeKind::Department, app.department_id("finance").await);

    let without = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "input": { "username": "no-department", "password": "long enough password", "role": "DEPARTMENT" } }),
        )
        .await;
    assert_error_code(&without, "BAD_USER_INPUT");
    let unknown = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "input": { "username": "ghost-department", "password": "long enough password",
                "role": "DEPARTMENT", "departmentId": global_id(NodeKind::Department, 999) } }),
        )
        .await;
    assert_error_code(&unknown, "BAD_USER_INPUT");
    for role in ["ADMIN", "LEADERSHIP", "PORTAL"] {
        let with = app
            .graphql_as(
                &admin,
                CREATE_USER,
                json!({ "input": { "username": "with-department", "password": "long enough password",
                    "role": role, "departmentId": finance } }),
            )
            .await;
        assert_error_code(&with, "BAD_USER_INPUT");
    }

    // Making a leadership user a department user needs a department too.
    let (leader, _) = app.create_user("leader", Role::Leadership, None).await;
    let id = global_id(NodeKind::User, app.user_row(&leader).await.id);
    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { updateUser(id: $id, input: { role: DEPARTMENT }) { role } }",
            json!({ "id": id }),
        )
        .await;
    assert_error_code(&response, "BAD_USER_INPUT");
    let response = app
        .graphql_as(
            &admin,
            "mutation($id: ID!, $finance: ID!) {
                updateUser(id: $id, input: { role: DEPARTMENT, departmentId: $finance }) { role department { code } } }",
            json!({ "id": id, "finance": finance }),
        )
        .await;
    assert_eq!(
        data(&response)["updateUser"],
        json!({ "role": "DEPARTMENT", "department": { "code": "finance" } })
    );
}
both!(only_department_users_have_a_department);

async fn a_taken_username_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    app.create_user("finance-clerk", Role::Portal, None).await;

    for username in ["finance-clerk", "Finance-Clerk", " finance-clerk "] {
        let response = app
            .graphql_as(
                &admin,
                CREATE_USER,
                json!({ "input": { "username": username, "password": "long enough password", "role": "PORTAL" } }),
            )
            .await;
        assert_error_code(&response, "ALREADY_EXISTS");
    }
}
both!(a_taken_username_is_a_conflict);

async fn changing_ones_password_needs_the_current_one_and_ends_the_old_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, password) = app
        .create_user("changer", Role::Department, Some("finance"))
        .await;
    let old_token = app.login(&username, &password).await;
    const CHANGE: &str = "mutation($current: String!, $new: String!) {
        changePassword(current: $current, new: $new) { token user { username } } }";

    let wrong = app
        .graphql_as(
            &old_token,
            CHANGE,
            json!({ "current": "not my password", "new": "my new long password" }),
        )
        .await;
    assert_error_code(&wrong, "BAD_USER_INPUT");
    assert_token_works(&app.graphql_as(&old_token, PLANS, json!({})).await);

    let changed = app
        .graphql_as(
            &old_token,
            CHANGE,
            json!({ "current": password, "new": "my new long password" }),
        )
        .await;
    let changed = &data(&changed)["changePassword"];
    assert_eq!(changed["user"]["username"], "changer");
    let new_token = changed["token"].as_str().unwrap();

    assert_error_code(
        &app.graphql_as(&old_token, PLANS, json!({})).await,
        "UNAUTHENTICATED",
    );
    assert_token_works(&app.graphql_as(new_token, PLANS, json!({})).await);
    app.login(&username, "my new long password").await;
    let old_password = app
        .graphql(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            json!({ "u": username, "p": password }),
        )
        .await;
    assert_error_code(&old_password, "INVALID_CREDENTIALS");

    let anonymous = app
        .graphql(
            CHANGE,
            json!({ "current": "x", "new": "my new long password" }),
        )
        .await;
    assert_error_code(&anonymous, "UNAUTHENTICATED");
}
both!(changing_ones_password_needs_the_current_one_and_ends_the_old_token);

/// A user with a live token, and the administrator's token.
struct Revocation {
    admin: String,
    token: String,
    id: String,
    username: String,
    password: String,
}

async fn user_with_token(app: &TestApp) -> Revocation {
    let admin = app.admin_token().await;
    let (username, password) = app
        .create_user(
            &unique_name(Role::Department),
            Role::Department,
            Some("finance"),
        )
        .await;
    let token = app.login(&username, &password).await;
    assert_token_works(&app.graphql_as(&token, PLANS, json!({})).await);
    let id = global_id(NodeKind::User, app.user_row(&username).await.id);
    Revocation {
        admin,
        token,
        id,
        username,
        password,
    }
}

async fn assert_token_is_dead(app: &TestApp, token: &str) {
    assert_error_code(
        &app.graphql_as(token, PLANS, json!({})).await,
        "UNAUTHENTICATED",
    );
    let me = app.graphql_as(token, "{ me { id } }", json!({})).await;
    assert_eq!(data(&me).clone(), json!({ "me": null }));
}

async fn deactivating_a_user_ends_its_tokens_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_with_token(&app).await;

    let response = app
        .graphql_as(
            &user.admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": user.id }),
        )
        .await;
    data(&response);

    assert_token_is_dead(&app, &user.token).await;
}
both!(deactivating_a_user_ends_its_tokens_at_once);

async fn resetting_a_password_ends_the_users_tokens_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_with_token(&app).await;

    let response = app
        .graphql_as(
            &user.admin,
            r#"mutation($id: ID!) { resetPassword(id: $id, password: "reset by the admin") { id } }"#,
            json!({ "id": user.id }),
        )
        .await;
    data(&response);

    assert_token_is_dead(&app, &user.token).await;
    app.login(&user.username, "reset by the admin").await;
}
both!(resetting_a_password_ends_the_users_tokens_at_once);

async fn changing_a_role_or_department_ends_the_users_tokens_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_with_token(&app).await;
    const UPDATE: &str = "mutation($id: ID!, $input: UpdateUserInput!) {
        updateUser(id: $id, input: $input) { role } }";

    // A new display name leaves the token alone.
    let renamed = app
        .graphql_as(
            &user.admin,
            UPDATE,
            json!({ "id": user.id, "input": { "displayName": "Renamed" } }),
        )
        .await;
    data(&renamed);
    assert_token_works(&app.graphql_as(&user.token, PLANS, json!({})).await);

    let audit = global_id(NodeKind::Department, app.department_id("audit").await);
    let moved = app
        .graphql_as(
            &user.admin,
            UPDATE,
            json!({ "id": user.id, "input": { "departmentId": audit } }),
        )
        .await;
    data(&moved);
    assert_token_is_dead(&app, &user.token).await;

    let token = app.login(&user.username, &user.password).await;
    let promoted = app
        .graphql_as(
            &user.admin,
            UPDATE,
            json!({ "id": user.id, "input": { "role": "LEADERSHIP", "departmentId": null } }),
        )
        .await;
    assert_eq!(data(&promoted)["updateUser"]["role"], "LEADERSHIP");
    assert_token_is_dead(&app, &token).await;
}
both!(changing_a_role_or_department_ends_the_users_tokens_at_once);

async fn reactivation_does_not_revive_old_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_with_token(&app).await;

    for mutation in [
        "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
        "mutation($id: ID!) { reactivateUser(id: $id) { active } }",
    ] {
        data(
            &app.graphql_as(&user.admin, mutation, json!({ "id": user.id }))
                .await,
        );
    }

    assert_token_is_dead(&app, &user.token).await;
    let fresh = app.login(&user.username, &user.password).await;
    assert_token_works(&app.graphql_as(&fresh, PLANS, json!({})).await);
}
both!(reactivation_does_not_revive_old_tokens);

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

async fn five_failed_sign_ins_lock_the_username(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, password) = app.create_user("target", Role::Leadership, None).await;

    for attempt in 1..=5 {
        let response = app
            .graphql(
                LOGIN,
                json!({ "u": username, "p": format!("wrong guess {attempt}") }),
            )
            .await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }

    let response = app
        .graphql(LOGIN, json!({ "u": username, "p": password }))
        .await;
    assert_error_code(&response, "TOO_MANY_ATTEMPTS");
    // Locked for 15 minutes: the client is told how long to wait.
    let wait = response["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("retryAfterSeconds");
    assert!((1..=900).contains(&wait), "{response:#}");
    // The lock is kept in the database: another server refuses too.
    let second = app.spawn_second_server().await;
    let response = second
        .graphql(LOGIN, json!({ "u": "  TARGET ", "p": password }))
        .await;
    assert_error_code(&response, "TOO_MANY_ATTEMPTS");
    // Other usernames are not locked.
    app.admin_token().await;
}
both!(five_failed_sign_ins_lock_the_username);

async fn four_failed_sign_ins_do_not_lock_the_username(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, password) = app.create_user("target", Role::Leadership, None).await;

    for attempt in 1..=4 {
        let response = app
            .graphql(
                LOGIN,
                json!({ "u": username, "p": format!("wrong guess {attempt}") }),
            )
            .await;
        assert_error_code(&response, "INVALID_CREDENTIALS");
    }

    app.login(&username, &password).await;
}
both!(four_failed_sign_ins_do_not_lock_the_username);

async fn an_unknown_username_and_a_wrong_password_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, _) = app.create_user("someone", Role::Portal, None).await;

    let unknown = app
        .graphql(
            LOGIN,
            json!({ "u": "nobody-here", "p": "some long password" }),
        )
        .await;
    let wrong = app
        .graphql(LOGIN, json!({ "u": username, "p": "some long password" }))
        .await;

    assert_error_code(&unknown, "INVALID_CREDENTIALS");
    assert_eq!(error_code(&unknown), error_code(&wrong));
    assert_eq!(
        unknown["errors"][0]["message"],
        wrong["errors"][0]["message"]
    );
    assert_eq!(unknown["data"], wrong["data"]);
}
both!(an_unknown_username_and_a_wrong_password_look_the_same);

async fn expired_malformed_and_forged_tokens_are_refused(backend: Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    let app = TestApp::spawn(backend).await;
    let (username, _) = app.create_user("holder", Role::Leadership, None).await;
    let row = app.user_row(&username).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({ "sub": row.id.to_string(), "ver": row.token_version, "iat": now - 7200, "exp": exp, "iss": "ecoplan" });
    let sign = |claims: &Value, secret: &str| {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    };

    // A token made the same way, but valid, works: the refusals below are about the flaw.
    let valid = sign(&claims(now + 600), &app.jwt_secret);
    assert_token_works(&app.graphql_as(&valid, PLANS, json!({})).await);

    let expired = sign(&claims(now - 60), &app.jwt_secret);
    let other_secret = sign(&claims(now + 600), &"x".repeat(48));
    let other_issuer = sign(
        &json!({ "sub": row.id.to_string(), "ver": row.token_version, "exp": now + 600, "iss": "someone-else" }),
        &app.jwt_secret,
    );
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(now + 600).to_string())
    );
    let tampered = {
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        let mut forged = claims(now + 600);
        forged["sub"] = json!("1");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        parts.join(".")
    };
    for (flaw, token) in [
        ("expired", expired.as_str()),
        ("malformed", "abc"),
        ("empty", ""),
        ("signed with another secret", other_secret.as_str()),
        ("issued by someone else", other_issuer.as_str()),
        ("alg none", unsigned.as_str()),
        ("tampered", tampered.as_str()),
    ] {
        let response = app.graphql_as(token, PLANS, json!({})).await;
        assert_eq!(
            error_code(&response),
            Some("UNAUTHENTICATED"),
            "a token {flaw}: {response:#}"
        );
    }

    let basic = app
        .client
        .post(app.url("/graphql"))
        .header("Authorization", format!("Basic {valid}"))
        .json(&json!({ "query": PLANS }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_error_code(&basic, "UNAUTHENTICATED");
}
both!(expired_malformed_and_forged_tokens_are_refused);

const REFRESH: &str = "mutation { refreshToken { token expiresAt user { username } } }";

fn expires_at(payload: &Value) -> chrono::DateTime<chrono::Utc> {
    payload["expiresAt"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| panic!("no expiresAt in {payload}"))
}

async fn a_token_is_refreshed_for_its_user_and_a_revocation_ends_both(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_with_token(&app).await;

    let refreshed = app.graphql_as(&user.token, REFRESH, json!({})).await;
    let refreshed = &data(&refreshed)["refreshToken"];
    assert_eq!(refreshed["user"]["username"], user.username.as_str());
    let new_token = refreshed["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, user.token, "each token has its own id");
    let me = app.graphql_as(&new_token, ME, json!({})).await;
    assert_eq!(data(&me)["me"]["username"], user.username.as_str());
    // The new token can be refreshed in its turn.
    data(&app.graphql_as(&new_token, REFRESH, json!({})).await);

    // Without a token there is nothing to refresh.
    assert_error_code(&app.graphql(REFRESH, json!({})).await, "UNAUTHENTICATED");

    let response = app
        .graphql_as(
            &user.admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": user.id }),
        )
        .await;
    data(&response);
    for token in [&user.token, &new_token] {
        assert_token_is_dead(&app, token).await;
        assert_error_code(
            &app.graphql_as(token, REFRESH, json!({})).await,
            "UNAUTHENTICATED",
        );
    }
}
both!(a_token_is_refreshed_for_its_user_and_a_revocation_ends_both);

async fn refreshing_never_carries_a_session_past_its_longest_age(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.token_lifetime = std::time::Duration::from_secs(3600);
        settings.auth.max_session_age = std::time::Duration::from_secs(3);
    })
    .await;
    let user = user_with_token(&app).await;
    let signed_in_at = chrono::Utc::now();

    let refreshed = app.graphql_as(&user.token, REFRESH, json!({})).await;
    let refreshed = &data(&refreshed)["refreshToken"];
    let session_end = signed_in_at + chrono::Duration::seconds(4);
    assert!(
        expires_at(refreshed) <= session_end,
        "a refreshed token outlasts its session: {refreshed}"
    );
    let new_token = refreshed["token"].as_str().unwrap().to_owned();

    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    for token in [&user.token, &new_token] {
        assert_error_code(
            &app.graphql_as(token, REFRESH, json!({})).await,
            "UNAUTHENTICATED",
        );
    }
    // A new sign-in starts a new session.
    let token = app.login(&user.username, &user.password).await;
    data(&app.graphql_as(&token, REFRESH, json!({})).await);
}
both!(refreshing_never_carries_a_session_past_its_longest_age);

/// A hash made under an older setting (OWASP's 19 MiB and two passes) still signs in, and
/// is made again with today's parameters, without ending the user's sessions.
async fn a_password_hashed_under_an_older_setting_is_rehashed_at_sign_in(backend: Backend) {
    use argon2::PasswordHasher;
    use ecoplan::entity::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let app = TestApp::spawn(backend).await;
    let (username, password) = app
        .create_user("old-hash", Role::Department, Some("finance"))
        .await;
    let older = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(19 * 1024, 2, 1, None).unwrap(),
    )
    .hash_password_with_salt(password.as_bytes(), b"a salt of sixteen")
    .unwrap()
    .to_string();
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(older.clone()))
        .filter(user::Column::Username.eq(&username))
        .exec(&app.db)
        .await
        .unwrap();
    let stored = || async {
        user::Entity::find()
            .filter(user::Column::Username.eq(&username))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };

    let first = app.login(&username, &password).await;
    let rehashed = stored().await;
    assert_ne!(rehashed, older);
    assert!(rehashed.contains("$m=7168,t=5,p=1$"), "{rehashed}");
    // The session from before the rehash goes on, and the new hash signs in.
    assert_token_works(&app.graphql_as(&first, PLANS, json!({})).await);
    app.login(&username, &password).await;
    assert_eq!(stored().await, rehashed, "a current hash is left as it is");
    assert_error_code(
        &app.graphql(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            json!({ "u": username, "p": "not the password" }),
        )
        .await,
        "INVALID_CREDENTIALS",
    );
}
both!(a_password_hashed_under_an_older_setting_is_rehashed_at_sign_in);
