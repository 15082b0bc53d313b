//! Tokens the municipal portal signs (ES256) for its signed-in users.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecoplan::id::NodeKind;
use ecoplan::service::auth::PortalSettings;
use ecoplan::service::policy::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use p256::SecretKey;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{Backend, TestApp, assert_error_code, both, data, global_id};

const ISSUER: &str = "https://portal.example";
const AUDIENCE: &str = "ecoplan";

/// The portal's signing key.
struct PortalKey {
    secret: SecretKey,
    kid: Option<String>,
}

impl PortalKey {
    fn new(kid: Option<&str>) -> Self {
        Self {
            secret: SecretKey::generate(),
            kid: kid.map(str::to_owned),
        }
    }

    fn public_pem(&self) -> String {
        self.secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    /// The public key as one entry of a JSON Web Key Set.
    fn jwk(&self) -> Value {
        let point = self.secret.public_key().to_sec1_point(false);
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let pem = self.secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = self.kid.clone();
        encode(
            &header,
            claims,
            &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

/// Portal claims for a username, valid for ten minutes.
fn claims_for(username: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "sub": "portal-user-1",
        "preferred_username": username,
    })
}

/// A server that accepts the portal's tokens, checked with the key file `contents`.
async fn spawn_with_portal(backend: Backend, contents: String) -> (TestApp, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key_file: PathBuf = dir.path().join("portal-key");
    std::fs::write(&key_file, contents).unwrap();
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.portal = Some(PortalSettings {
            key_file,
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            username_claim: "preferred_username".into(),
        });
    })
    .await;
    (app, dir)
}

const ME: &str = "{ me { username role } plans { key } }";

async fn a_portal_token_signs_in_an_existing_active_user(backend: Backend) {
    let key = PortalKey::new(None);
    let (app, _dir) = spawn_with_portal(backend, key.public_pem()).await;
    app.create_user("citizen-view", Role::Portal, None).await;

    let token = key.sign(&claims_for("Citizen-View"));
    let response = app.graphql_as(&token, ME, json!({})).await;

    assert_eq!(
        data(&response).clone(),
        json!({ "me": { "username": "citizen-view", "role": "PORTAL" }, "plans": [{ "key": "tangshan-2022" }] })
    );
}
both!(a_portal_token_signs_in_an_existing_active_user);

async fn a_portal_token_for_an_unknown_or_deactivated_user_is_refused(backend: Backend) {
    let key = PortalKey::new(None);
    let (app, _dir) = spawn_with_portal(backend, key.public_pem()).await;
    let (username, _) = app.create_user("leaving", Role::Leadership, None).await;
    let token = key.sign(&claims_for(&username));
    data(&app.graphql_as(&token, ME, json!({})).await);

    let unknown = key.sign(&claims_for("nobody-at-all"));
    assert_error_code(
        &app.graphql_as(&unknown, ME, json!({})).await,
        "UNAUTHENTICATED",
    );

    let admin = app.admin_token().await;
    let id = global_id(NodeKind::User, app.user_row(&username).await.id);
    data(
        &app.graphql_as(
            &admin,
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": id }),
        )
        .await,
    );
    assert_error_code(
        &app.graphql_as(&token, ME, json!({})).await,
        "UNAUTHENTICATED",
    );
}
both!(a_portal_token_for_an_unknown_or_deactivated_user_is_refused);

async fn a_portal_token_for_another_audience_or_issuer_is_refused(backend: Backend) {
    let key = PortalKey::new(None);
    let (app, _dir) = spawn_with_portal(backend, key.public_pem()).await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;
    let valid = claims_for(&username);
    data(&app.graphql_as(&key.sign(&valid), ME, json!({})).await);

    let mut other_audience = valid.clone();
    other_audience["aud"] = json!("another-service");
    let mut other_issuer = valid.clone();
    other_issuer["iss"] = json!("https://evil.example");
    let mut expired = valid.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    let mut no_username = valid.clone();
    no_username
        .as_object_mut()
        .unwrap()
        .remove("preferred_username");
    let other_key = PortalKey::new(None);

    for (flaw, token) in [
        ("another audience", key.sign(&other_audience)),
        ("another issuer", key.sign(&other_issuer)),
        ("expired", key.sign(&expired)),
        ("without a username", key.sign(&no_username)),
        ("signed by another key", other_key.sign(&valid)),
    ] {
        let response = app.graphql_as(&token, ME, json!({})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "a portal token {flaw}: {response:#}"
        );
    }
}
both!(a_portal_token_for_another_audience_or_issuer_is_refused);

async fn portal_keys_can_come_as_a_key_set(backend: Backend) {
    let current = PortalKey::new(Some("2026-01"));
    let previous = PortalKey::new(Some("2025-07"));
    let key_set = json!({ "keys": [previous.jwk(), current.jwk()] });
    let (app, _dir) = spawn_with_portal(backend, key_set.to_string()).await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;

    for key in [&current, &previous] {
        let token = key.sign(&claims_for(&username));
        let response = app.graphql_as(&token, ME, json!({})).await;
        assert_eq!(data(&response)["me"]["username"], "citizen-view");
    }

    // A key the set does not hold, under a name it does, is refused.
    let impostor = PortalKey {
        secret: SecretKey::generate(),
        kid: Some("2026-01".into()),
    };
    let response = app
        .graphql_as(&impostor.sign(&claims_for(&username)), ME, json!({}))
        .await;
    assert_error_code(&response, "UNAUTHENTICATED");
}
both!(portal_keys_can_come_as_a_key_set);

async fn portal_tokens_are_refused_when_no_portal_is_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;
    let key = PortalKey::new(None);

    let response = app
        .graphql_as(&key.sign(&claims_for(&username)), ME, json!({}))
        .await;

    assert_error_code(&response, "UNAUTHENTICATED");
}
both!(portal_tokens_are_refused_when_no_portal_is_configured);
