//! Tokens the municipal portal signs (ES256) for its signed-in users, checked against a key
//! file or the keys its identity provider publishes (a JWKS server the tests run, which
//! rotates its keys).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecoplan::id::NodeKind;
use ecoplan::service::auth::PortalSettings;
use ecoplan::service::policy::Role;
use ecoplan::service::portal_keys::PortalKeySource;
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
    claims_from(ISSUER, username)
}

/// Claims for a username from another issuer.
fn claims_from(issuer: &str, username: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": issuer,
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
        settings.auth.portal = Some(PortalSettings::new(
            PortalKeySource::File(key_file),
            ISSUER,
            AUDIENCE,
        ));
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

async fn a_portal_token_is_accepted_within_the_clock_skew_leeway(backend: Backend) {
    let key = PortalKey::new(None);
    let dir = tempfile::tempdir().unwrap();
    let key_file: PathBuf = dir.path().join("portal-key");
    std::fs::write(&key_file, key.public_pem()).unwrap();
    let app = TestApp::spawn_with(backend, |settings| {
        let mut portal = PortalSettings::new(PortalKeySource::File(key_file), ISSUER, AUDIENCE);
        portal.leeway = Duration::from_secs(120);
        settings.auth.portal = Some(portal);
    })
    .await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;
    let expired_a_minute_ago = |username: &str| {
        let mut claims = claims_for(username);
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 60);
        claims
    };

    let response = app
        .graphql_as(&key.sign(&expired_a_minute_ago(&username)), ME, json!({}))
        .await;
    assert_eq!(data(&response)["me"]["username"], "citizen-view");

    let mut expired_long_ago = claims_for(&username);
    expired_long_ago["exp"] = json!(chrono::Utc::now().timestamp() - 600);
    assert_error_code(
        &app.graphql_as(&key.sign(&expired_long_ago), ME, json!({}))
            .await,
        "UNAUTHENTICATED",
    );
}
both!(a_portal_token_is_accepted_within_the_clock_skew_leeway);

/// What the identity provider publishes, and how often it was asked.
#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Value>>,
    cache_control: Mutex<String>,
    failing: AtomicBool,
    issuer: Mutex<String>,
    key_set_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

/// A JWKS server on a loopback port, as an identity provider runs one: `/jwks.json` and
/// `/.well-known/openid-configuration`.
struct IdentityProvider {
    published: Arc<Published>,
    base: String,
    server: actix_web::dev::ServerHandle,
}

impl IdentityProvider {
    async fn start(keys: &[&PortalKey], cache_control: &str) -> Self {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let published = Arc::new(Published::default());
        published.publish(keys);
        *published.cache_control.lock().unwrap() = cache_control.to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *published.issuer.lock().unwrap() = base.clone();
        let state = web::Data::from(published.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route(
                    "/jwks.json",
                    web::get().to(|published: web::Data<Published>| async move {
                        published.key_set_fetches.fetch_add(1, Ordering::SeqCst);
                        if published.failing.load(Ordering::SeqCst) {
                            return HttpResponse::ServiceUnavailable().body("down");
                        }
                        let keys = published.keys.lock().unwrap().clone();
                        let cache_control = published.cache_control.lock().unwrap().clone();
                        HttpResponse::Ok()
                            .insert_header(("cache-control", cache_control))
                            .json(json!({ "keys": keys }))
                    }),
                )
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(|published: web::Data<Published>| async move {
                        published.discovery_fetches.fetch_add(1, Ordering::SeqCst);
                        let issuer = published.issuer.lock().unwrap().clone();
                        HttpResponse::Ok().json(json!({
                            "issuer": issuer,
                            "jwks_uri": format!("{issuer}/jwks.json"),
                            "id_token_signing_alg_values_supported": ["ES256"],
                        }))
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            published,
            base,
            server: handle,
        }
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    fn key_set_fetches(&self) -> usize {
        self.published.key_set_fetches.load(Ordering::SeqCst)
    }
}

impl Published {
    fn publish(&self, keys: &[&PortalKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|key| key.jwk()).collect();
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

/// A server that checks portal tokens against the keys the provider publishes at its
/// JWKS URL, fetching again at most once per `refetch` for unknown key ids, and keeping a
/// set at least `min_cache`.
async fn spawn_with_provider(
    backend: Backend,
    provider: &IdentityProvider,
    refetch: Duration,
    min_cache: Duration,
) -> TestApp {
    let jwks_url = provider.jwks_url();
    TestApp::spawn_with(backend, |settings| {
        let mut portal = PortalSettings::new(PortalKeySource::JwksUrl(jwks_url), ISSUER, AUDIENCE);
        portal.fetch.refetch_interval = refetch;
        portal.fetch.min_cache = min_cache;
        settings.auth.portal = Some(portal);
    })
    .await
}

async fn signs_in(app: &TestApp, key: &PortalKey, username: &str) -> bool {
    let response = app
        .graphql_as(&key.sign(&claims_for(username)), ME, json!({}))
        .await;
    match response["data"]["me"]["username"].as_str() {
        Some(name) => name == username,
        None => {
            assert_error_code(&response, "UNAUTHENTICATED");
            false
        }
    }
}

async fn a_rotated_portal_key_is_fetched_without_a_restart_and_the_retired_one_refused(
    backend: Backend,
) {
    let old = PortalKey::new(Some("2026-01"));
    let new = PortalKey::new(Some("2026-02"));
    let provider = IdentityProvider::start(&[&old], "public, max-age=3600").await;
    // Long enough that the steps between two sleeps fit in it on a loaded machine.
    let refetch = Duration::from_secs(2);
    let app = spawn_with_provider(backend, &provider, refetch, Duration::from_secs(60)).await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;

    assert!(signs_in(&app, &old, &username).await);
    assert_eq!(provider.key_set_fetches(), 1);
    assert!(signs_in(&app, &old, &username).await);
    assert_eq!(
        provider.key_set_fetches(),
        1,
        "the set is kept for its max-age"
    );

    // The provider rotates: the new key replaces the old one.
    provider.published.publish(&[&new]);
    tokio::time::sleep(refetch + Duration::from_millis(100)).await;
    assert!(
        signs_in(&app, &new, &username).await,
        "a token naming the new key makes the server fetch it"
    );
    assert_eq!(provider.key_set_fetches(), 2);
    assert!(signs_in(&app, &new, &username).await);

    // The retired key is gone from the set: its tokens are refused, now and after the
    // server has looked again.
    assert!(!signs_in(&app, &old, &username).await);
    tokio::time::sleep(refetch + Duration::from_millis(100)).await;
    assert!(!signs_in(&app, &old, &username).await);
    assert_eq!(provider.key_set_fetches(), 3);
    assert!(signs_in(&app, &new, &username).await);
}
both!(a_rotated_portal_key_is_fetched_without_a_restart_and_the_retired_one_refused);

async fn unknown_key_ids_cannot_flood_the_identity_provider(backend: Backend) {
    let key = PortalKey::new(Some("2026-01"));
    let provider = IdentityProvider::start(&[&key], "max-age=3600").await;
    let refetch = Duration::from_secs(5);
    let app = spawn_with_provider(backend, &provider, refetch, Duration::from_secs(60)).await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 1);

    let flood = || async {
        let tokens: Vec<String> = (0..40)
            .map(|n| {
                let made_up = PortalKey::new(Some(&format!("made-up-{n}")));
                made_up.sign(&claims_for(&username))
            })
            .collect();
        let answers = futures_util::future::join_all(
            tokens
                .iter()
                .map(|token| app.graphql_as(token, ME, json!({}))),
        )
        .await;
        for answer in &answers {
            assert_error_code(answer, "UNAUTHENTICATED");
        }
    };
    // Within the refetch interval of the last fetch: no fetch at all.
    flood().await;
    assert_eq!(provider.key_set_fetches(), 1);
    // After it: one fetch for the whole flood.
    tokio::time::sleep(refetch + Duration::from_millis(100)).await;
    flood().await;
    assert_eq!(provider.key_set_fetches(), 2);
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 2);
}
both!(unknown_key_ids_cannot_flood_the_identity_provider);

async fn the_identity_providers_cache_headers_are_honoured(backend: Backend) {
    let key = PortalKey::new(Some("2026-01"));
    let provider = IdentityProvider::start(&[&key], "public, max-age=2").await;
    let app = spawn_with_provider(
        backend,
        &provider,
        Duration::from_millis(500),
        Duration::from_secs(1),
    )
    .await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;

    assert!(signs_in(&app, &key, &username).await);
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 1, "kept for two seconds");

    // Two seconds on, the set is fetched again; this time it may be kept for an hour.
    *provider.published.cache_control.lock().unwrap() = "public, max-age=3600".into();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 2, "fetched again after max-age");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 2, "kept for the hour it may be");
}
both!(the_identity_providers_cache_headers_are_honoured);

async fn a_failing_identity_provider_leaves_the_last_good_keys_in_use(backend: Backend) {
    let key = PortalKey::new(Some("2026-01"));
    let provider = IdentityProvider::start(&[&key], "max-age=1").await;
    let app = spawn_with_provider(
        backend,
        &provider,
        Duration::from_millis(1500),
        Duration::from_secs(1),
    )
    .await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;
    assert!(signs_in(&app, &key, &username).await);

    provider.published.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert!(
        signs_in(&app, &key, &username).await,
        "the expired set stays in use while the provider fails"
    );
    assert_eq!(provider.key_set_fetches(), 2, "the server did ask again");
    // Refused attempts are not repeated on every request.
    assert!(signs_in(&app, &key, &username).await);
    assert_eq!(provider.key_set_fetches(), 2);
}
both!(a_failing_identity_provider_leaves_the_last_good_keys_in_use);

async fn portal_keys_are_found_by_openid_connect_discovery(backend: Backend) {
    let key = PortalKey::new(Some("2026-01"));
    let provider = IdentityProvider::start(&[&key], "max-age=3600").await;
    let issuer = provider.base.clone();
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.portal = Some(PortalSettings::new(
            PortalKeySource::Discovery,
            &issuer,
            AUDIENCE,
        ));
    })
    .await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;

    let response = app
        .graphql_as(&key.sign(&claims_from(&issuer, &username)), ME, json!({}))
        .await;

    assert_eq!(data(&response)["me"]["username"], "citizen-view");
    assert_eq!(
        provider.published.discovery_fetches.load(Ordering::SeqCst),
        1
    );
    assert_eq!(provider.key_set_fetches(), 1);
    // A token of another issuer, signed with the same key, is still refused.
    let response = app
        .graphql_as(&key.sign(&claims_for(&username)), ME, json!({}))
        .await;
    assert_error_code(&response, "UNAUTHENTICATED");
}
both!(portal_keys_are_found_by_openid_connect_discovery);

async fn a_discovery_document_naming_another_issuer_gives_no_keys(backend: Backend) {
    let key = PortalKey::new(Some("2026-01"));
    let provider = IdentityProvider::start(&[&key], "max-age=3600").await;
    let issuer = provider.base.clone();
    *provider.published.issuer.lock().unwrap() = "https://impostor.example".into();
    let app = TestApp::spawn_with(backend, |settings| {
        settings.auth.portal = Some(PortalSettings::new(
            PortalKeySource::Discovery,
            &issuer,
            AUDIENCE,
        ));
    })
    .await;
    let (username, _) = app.create_user("citizen-view", Role::Portal, None).await;

    let response = app
        .graphql_as(&key.sign(&claims_from(&issuer, &username)), ME, json!({}))
        .await;

    assert_error_code(&response, "UNAUTHENTICATED");
    assert_eq!(
        provider.published.discovery_fetches.load(Ordering::SeqCst),
        1
    );
    assert_eq!(
        provider.key_set_fetches(),
        0,
        "its jwks_uri is not followed"
    );
}
both!(a_discovery_document_naming_another_issuer_gives_no_keys);
