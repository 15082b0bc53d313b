//! Signing in: passwords, tokens (ours and the municipal portal's), revocation and the
//! per-username lock-out.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use crate::entity::{login_throttle, user};
use crate::error::{AppError, AppResult};
use crate::service::download_link::{DownloadLinks, LinkQuery, LinkRefused};
use crate::service::hashing::HashPool;
use crate::service::policy::{Access, Role, SignedInUser, Viewer};
use crate::service::portal_keys::{KeyFetchSettings, PortalKey, PortalKeySet, PortalKeySource};
use crate::service::rate_limit::SignInRate;
use crate::service::user_reads::UserReads;

/// How tokens are issued and checked.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The HS256 secret; when `None`, a secret file beside the database is used (loopback only).
    pub jwt_secret: Option<String>,
    pub token_lifetime: Duration,
    /// How long after a sign-in `refreshToken` still gives a new token.
    pub max_session_age: Duration,
    pub lockout_attempts: u32,
    pub lockout_window: Duration,
    pub portal: Option<PortalSettings>,
    /// How many password hashes run and wait at once.
    pub hashing: crate::service::hashing::HashSettings,
    /// Sign-in attempts per client address and minute (0: no limit).
    pub login_rate_per_minute: u32,
    /// How long a signed download link works.
    pub download_link_lifetime: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            token_lifetime: Duration::from_secs(8 * 3600),
            max_session_age: Duration::from_secs(24 * 3600),
            lockout_attempts: 5,
            lockout_window: Duration::from_secs(15 * 60),
            portal: None,
            hashing: crate::service::hashing::HashSettings::default(),
            login_rate_per_minute: DEFAULT_LOGIN_RATE_PER_MINUTE,
            download_link_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

/// Tokens the municipal portal issues for its signed-in users.
#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// A key file, the identity provider's JWKS URL, or discovery from the issuer.
    pub keys: PortalKeySource,
    pub issuer: String,
    pub audience: String,
    /// The claim that holds the ecoplan username.
    pub username_claim: String,
    /// How far a token's times (`exp`, `nbf`) may be off, for clocks that disagree.
    pub leeway: Duration,
    /// How keys are fetched from the identity provider.
    pub fetch: KeyFetchSettings,
}

/// The clock skew allowed by default.
pub const DEFAULT_PORTAL_LEEWAY_SECONDS: u64 = 30;

impl PortalSettings {
    /// Settings with the default username claim, leeway and fetching.
    pub fn new(keys: PortalKeySource, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            username_claim: "preferred_username".to_owned(),
            leeway: Duration::from_secs(DEFAULT_PORTAL_LEEWAY_SECONDS),
            fetch: KeyFetchSettings::default(),
        }
    }
}

/// Enough for everyone in an office behind one address to sign in within a minute.
pub const DEFAULT_LOGIN_RATE_PER_MINUTE: u32 = 60;

const ISSUER: &str = "ecoplan";
pub const MIN_PASSWORD_LENGTH: usize = 10;
const MAX_PASSWORD_LENGTH: usize = 1024;

/// Argon2id with the least memory of the settings OWASP's Password Storage Cheat Sheet
/// gives as equally strong (7 MiB and five passes; 19 MiB and two is another): every hash
/// running at once holds its memory, and the server is sized for a small machine.
const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
const ARGON2_PASSES: u32 = 5;
const ARGON2_LANES: u32 = 1;

/// Whether a stored hash was made with other parameters than today's (an older setting):
/// it is made again at the next sign-in, so that every account costs the same to check.
fn hashed_with_other_parameters(hash: &str) -> bool {
    let Ok(hash) = argon2::PasswordHash::new(hash) else {
        return true;
    };
    let same = hash.algorithm == argon2::ARGON2ID_IDENT
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(&hash).is_ok_and(|params| {
            (params.m_cost(), params.t_cost(), params.p_cost())
                == (ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES)
        });
    !same
}

fn hasher() -> AppResult<Argon2<'static>> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|error| AppError::Unexpected(anyhow::anyhow!("argon2 parameters: {error}")))?;
    Ok(Argon2::new(
        Argon2Algorithm::Argon2id,
        Version::V0x13,
        params,
    ))
}

/// Checks a new password against the rules.
pub fn check_new_password(password: &str) -> AppResult<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(AppError::bad_input(format!(
            "a password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(AppError::bad_input(
            "a password may be at most 1024 characters long",
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> AppResult<String> {
    hasher()?
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Unexpected(anyhow::anyhow!("cannot hash a password: {error}")))
}

fn verify_now(password: &str, hash: &str) -> AppResult<bool> {
    Ok(hasher()?.verify_password(password.as_bytes(), hash).is_ok())
}

/// Hashes a password on the shared hashing pool (argon2 is deliberately slow).
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    HashPool::shared()?.run(move || hash_now(&password)).await
}

/// Verifies a password against a stored hash, on the shared hashing pool.
pub async fn verify_password(password: &str, hash: &str) -> AppResult<bool> {
    let password = password.to_owned();
    let hash = hash.to_owned();
    HashPool::shared()?
        .run(move || verify_now(&password, &hash))
        .await
}

/// A hash to verify against when the username does not exist, so that an unknown user
/// and a wrong password take the same work: the parameters are the ones `hasher` uses,
/// and nobody knows a password that matches. It is a short string; the memory a
/// verification needs is freed when the verification ends.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        use base64::Engine;
        use rand::RngCore;
        let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
        let mut salt = [0u8; 16];
        let mut output = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        rand::rng().fill_bytes(&mut output);
        format!(
            "$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p={ARGON2_LANES}${}${}",
            engine.encode(salt),
            engine.encode(output)
        )
    })
}

/// A random string of letters and digits.
pub fn random_secret(length: usize) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    ver: i32,
    iat: i64,
    exp: i64,
    iss: String,
    /// When the session began: the sign-in, kept by every refresh. Tokens from before
    /// refreshes existed have none; their `iat` stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sat: Option<i64>,
    /// The token's own id, so that two tokens issued in the same second differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

/// Keys for the tokens the server issues and the ones the portal issues.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
    max_session_age: chrono::Duration,
    portal: Option<PortalKeys>,
    lockout_attempts: u32,
    lockout_window: chrono::Duration,
    /// Where sign-ins hash, bounded in running and waiting hashes.
    hashing: Arc<HashPool>,
    /// Sign-in attempts per client address.
    sign_in_rate: SignInRate,
    download_links: DownloadLinks,
}

struct PortalKeys {
    keys: PortalKeySet,
    issuer: String,
    audience: String,
    username_claim: String,
    leeway: u64,
}

impl TokenKeys {
    /// Builds the keys from the settings and the HS256 secret.
    pub fn new(secret: &[u8], settings: &AuthSettings) -> anyhow::Result<Self> {
        let portal = settings.portal.as_ref().map(PortalKeys::load).transpose()?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)
                .context("the signing secret is not usable")?,
            decoding: DecodingKey::from_secret(secret)
                .context("the signing secret is not usable")?,
            lifetime: settings.token_lifetime,
            max_session_age: chrono::Duration::from_std(settings.max_session_age)
                .context("the longest session is too long")?,
            portal,
            lockout_attempts: settings.lockout_attempts.max(1),
            lockout_window: chrono::Duration::from_std(settings.lockout_window)
                .context("the lock-out window is too long")?,
            hashing: Arc::new(HashPool::new(settings.hashing)?),
            sign_in_rate: SignInRate::new(settings.login_rate_per_minute),
            download_links: DownloadLinks::new(secret, settings.download_link_lifetime)?,
        })
    }

    fn issue(&self, user: &user::Model) -> AppResult<(String, DateTime<Utc>)> {
        self.issue_in_session(user, Utc::now())
    }

    /// A token for a session that began at `session_started_at`: it lasts the token
    /// lifetime, but never past the session's end.
    fn issue_in_session(
        &self,
        user: &user::Model,
        session_started_at: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let lifetime = chrono::Duration::from_std(self.lifetime)
            .map_err(|error| AppError::Unexpected(error.into()))?;
        let session_ends_at = session_started_at + self.max_session_age;
        let expires_at = (now + lifetime).min(session_ends_at.max(now));
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.token_version,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.to_owned(),
            sat: Some(session_started_at.timestamp()),
            jti: Some(random_secret(16)),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("cannot sign a token")?;
        Ok((token, expires_at))
    }

    /// Whether a sign-in from `address` would be refused now for the rate of its
    /// address (nothing is taken from it).
    pub fn sign_in_refused(&self, address: Option<IpAddr>) -> AppResult<()> {
        self.sign_in_rate.peek(address)
    }

    /// Signs and checks download links, under a key derived from the token secret.
    pub fn download_links(&self) -> &DownloadLinks {
        &self.download_links
    }

    /// The pool sign-ins hash on.
    pub fn hash_pool(&self) -> Arc<HashPool> {
        self.hashing.clone()
    }
}

impl PortalKeys {
    fn load(settings: &PortalSettings) -> anyhow::Result<Self> {
        Ok(Self {
            keys: PortalKeySet::load(&settings.keys, &settings.issuer, settings.fetch)?,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            username_claim: settings.username_claim.clone(),
            leeway: settings.leeway.as_secs(),
        })
    }

    /// The ecoplan username a valid portal token names, checked against the keys held
    /// now, or fetched again when the token names a key they do not hold.
    async fn username(&self, token: &str, header: &Header) -> Option<String> {
        let keys = self.keys.for_key_id(header.kid.as_deref()).await;
        self.username_with(token, header, &keys)
    }

    fn username_with(&self, token: &str, header: &Header, keys: &[PortalKey]) -> Option<String> {
        for key in keys {
            if key.algorithm != header.alg {
                continue;
            }
            if let (Some(wanted), Some(have)) = (&header.kid, &key.key_id)
                && wanted != have
            {
                continue;
            }
            let mut validation = Validation::new(key.algorithm);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.leeway = self.leeway;
            if let Ok(data) = decode::<serde_json::Value>(token, &key.key, &validation) {
                return data
                    .claims
                    .get(&self.username_claim)
                    .and_then(|value| value.as_str())
                    .map(normalize_username);
            }
        }
        None
    }
}

/// The caller a signed download link names, when its signature holds, it has not
/// expired, and its user is still active with the same token version.
pub async fn download_link_holder(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    evidence_id: i64,
    query: &LinkQuery,
    now: DateTime<Utc>,
) -> AppResult<Result<Viewer, LinkRefused>> {
    let Some(user_id) = query.user else {
        return Ok(Err(LinkRefused::Invalid));
    };
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .filter(|user| user.active);
    let checked = keys.download_links.check(
        evidence_id,
        query,
        user.as_ref().map(|user| user.token_version),
        now,
    );
    match (checked, user) {
        (Ok(_), Some(user)) => Ok(Ok(viewer_of(&user)?)),
        (Ok(_), None) => Ok(Err(LinkRefused::Invalid)),
        (Err(refused), _) => Ok(Err(refused)),
    }
}

/// Usernames are compared without regard to case or surrounding spaces.
pub fn normalize_username(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn viewer_of(user: &user::Model) -> AppResult<Viewer> {
    let role = Role::parse(&user.role).ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!("user {} has an unknown role", user.id))
    })?;
    Ok(Viewer::User(SignedInUser {
        user_id: user.id,
        access: Access::of_account(role, user.department_id)?,
        token_version: user.token_version,
    }))
}

/// Whether a token carries a valid signature (ours or the portal's) and has not expired,
/// without asking the database or the identity provider (the portal's keys held now):
/// cheap enough to sort requests before any other work.
pub fn token_is_signed(keys: &TokenKeys, token: &str) -> bool {
    let Ok(header) = decode_header(token) else {
        return false;
    };
    match header.alg {
        Algorithm::HS256 => {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_issuer(&[ISSUER]);
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            validation.leeway = 0;
            decode::<Claims>(token, &keys.decoding, &validation).is_ok()
        }
        Algorithm::RS256 | Algorithm::ES256 => keys.portal.as_ref().is_some_and(|portal| {
            portal
                .username_with(token, &header, &portal.keys.held())
                .is_some()
        }),
        _ => false,
    }
}

/// Turns a bearer token into the viewer, checking the user against the database on every
/// request (a primary-key read shared with the requests waiting at the same moment, see
/// `user_reads`, or a unique-key read for the portal's tokens) so that revocation takes
/// effect at once.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    reads: &Arc<UserReads>,
    keys: &TokenKeys,
    token: &str,
) -> AppResult<Authenticated> {
    let header = decode_header(token).map_err(|_| AppError::Unauthenticated)?;
    match header.alg {
        Algorithm::HS256 => {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_issuer(&[ISSUER]);
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            validation.leeway = 0;
            let claims = decode::<Claims>(token, &keys.decoding, &validation)
                .map_err(|_| AppError::Unauthenticated)?
                .claims;
            let user_id: i64 = claims.sub.parse().map_err(|_| AppError::Unauthenticated)?;
            let found = reads.user_by_id(user_id).await?;
            let session_started_at = DateTime::from_timestamp(claims.sat.unwrap_or(claims.iat), 0);
            match found {
                Some(found) if found.user.active && found.user.token_version == claims.ver => {
                    let mut authenticated = found.to_authenticated()?;
                    authenticated.session_started_at = session_started_at;
                    Ok(authenticated)
                }
                _ => Err(AppError::Unauthenticated),
            }
        }
        Algorithm::RS256 | Algorithm::ES256 => {
            let portal = keys.portal.as_ref().ok_or(AppError::Unauthenticated)?;
            let username = portal
                .username(token, &header)
                .await
                .ok_or(AppError::Unauthenticated)?;
            let found =
                with_revision(user::Entity::find().filter(user::Column::Username.eq(username)))
                    .one(db)
                    .await?;
            match found {
                Some(found) if found.user.active => found.to_authenticated(),
                _ => Err(AppError::Unauthenticated),
            }
        }
        _ => Err(AppError::Unauthenticated),
    }
}

/// The caller a token names, and the data revision read in the same statement, so that a
/// request checks its token and the freshness of the plan snapshot in one round trip.
pub struct Authenticated {
    pub viewer: Viewer,
    pub data_revision: i64,
    /// The submission revision read in the same statement (see `bump_submission_revision`).
    pub submission_revision: i64,
    /// When the session of a token ecoplan issued began; `None` for the portal's tokens,
    /// which the portal renews.
    pub session_started_at: Option<DateTime<Utc>>,
}

/// A user row with the revisions read in the same statement.
#[derive(sea_orm::FromQueryResult)]
pub(crate) struct UserAndRevision {
    #[sea_orm(nested)]
    pub(crate) user: user::Model,
    data_revision: i64,
    submission_revision: i64,
}

impl UserAndRevision {
    fn to_authenticated(&self) -> AppResult<Authenticated> {
        Ok(Authenticated {
            viewer: viewer_of(&self.user)?,
            data_revision: self.data_revision,
            submission_revision: self.submission_revision,
            session_started_at: None,
        })
    }
}

/// A user query that also reads the data revision.
pub(crate) fn with_revision(
    select: sea_orm::Select<user::Entity>,
) -> sea_orm::Selector<sea_orm::SelectModel<UserAndRevision>> {
    use sea_orm::QuerySelect;
    select
        .column_as(
            sea_orm::sea_query::Expr::cust("(SELECT revision FROM data_revision WHERE id = 1)"),
            "data_revision",
        )
        .column_as(
            sea_orm::sea_query::Expr::cust(
                "(SELECT submission_revision FROM data_revision WHERE id = 1)",
            ),
            "submission_revision",
        )
        .into_model::<UserAndRevision>()
}

/// A successful sign-in.
pub struct SignIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// Whole seconds from `now` to `until`, rounded up, so a client that waits them finds the
/// lock gone.
fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(0) as u64;
    millis.div_ceil(1000).max(1)
}

fn invalid_credentials() -> AppError {
    AppError::BadCredentials
}

/// Why a sign-in failed, as the audit trail records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureReason {
    UnknownUser,
    WrongPassword,
    InactiveAccount,
    LockedOut,
}

impl FailureReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknownUser",
            Self::WrongPassword => "wrongPassword",
            Self::InactiveAccount => "inactiveAccount",
            Self::LockedOut => "lockedOut",
        }
    }
}

/// Where a sign-in comes from.
pub struct SignInRequest<'a> {
    pub request_id: &'a str,
    /// The client's address, as the HTTP layer found it (see `TrustedProxies`).
    pub client_address: Option<IpAddr>,
}

/// The longest a refused sign-in is held before its answer.
const LONGEST_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// A place in the hashing pool for a sign-in, or the refusal (the address is over its
/// rate, or the pool and its queue are full). A refusal is answered only after its retry
/// time (at most a second): a client that asks again as soon as it is answered, as a flood
/// does, then asks once a second and keeps its place in line no busier than that.
async fn admit_sign_in(
    keys: &TokenKeys,
    request: &SignInRequest<'_>,
) -> AppResult<crate::service::hashing::Admission> {
    let refused = match keys.sign_in_rate.check(request.client_address) {
        Err(refused) => {
            tracing::debug!(target: "ecoplan::auth", client = ?request.client_address, "sign-in over the rate of its address");
            refused
        }
        Ok(()) => match keys.hashing.admit() {
            Ok(admission) => return Ok(admission),
            Err(refused) => {
                tracing::debug!(target: "ecoplan::auth", "sign-in refused: the hashing queue is full");
                refused
            }
        },
    };
    if let AppError::TooManyRequests {
        retry_after_seconds,
    } = &refused
    {
        tokio::time::sleep(std::time::Duration::from_secs(*retry_after_seconds).min(LONGEST_HOLD))
            .await;
    }
    Err(refused)
}

/// A sign-in whose password matched an active account: its failures are forgotten, it is
/// audited, and a token is issued.
async fn signed_in<C>(
    db: &C,
    keys: &TokenKeys,
    request: &SignInRequest<'_>,
    username: &str,
    user: user::Model,
) -> AppResult<SignIn>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    login_throttle::Entity::delete_by_id(username.to_owned())
        .exec(&txn)
        .await?;
    let viewer = viewer_of(&user)?;
    let caller = crate::service::audit::Caller {
        viewer: &viewer,
        request_id: request.request_id,
        clock: crate::service::clock::Clock::real(),
    };
    crate::service::audit::record(
        &txn,
        &caller,
        "user.login",
        crate::service::audit::ItemType::User,
        user.id,
        None::<&()>,
        None::<&()>,
    )
    .await?;
    txn.commit().await?;
    let (token, expires_at) = keys.issue(&user)?;
    Ok(SignIn {
        token,
        expires_at,
        user,
    })
}

/// Signs a user in with a password. Unknown users and wrong passwords give the same error
/// after the same work; too many failures lock the username for a while. Too many
/// attempts from one address, or a full hashing queue, are refused before any work (and
/// answered after their retry time, see `admit_sign_in`).
pub async fn login<C>(
    db: &C,
    keys: &TokenKeys,
    request: &SignInRequest<'_>,
    username: &str,
    password: &str,
) -> AppResult<SignIn>
where
    C: ConnectionTrait + TransactionTrait,
{
    let admission = admit_sign_in(keys, request).await?;
    let username = normalize_username(username);
    if username.is_empty() || username.len() > 64 || password.len() > MAX_PASSWORD_LENGTH {
        return Err(invalid_credentials());
    }
    let now = Utc::now();
    if let Some(throttle) = login_throttle::Entity::find_by_id(username.clone())
        .one(db)
        .await?
        && let Some(until) = throttle.locked_until.filter(|until| *until > now)
    {
        audit_failure(db, request, &username, None, FailureReason::LockedOut).await?;
        return Err(AppError::TooManyAttempts {
            retry_after_seconds: seconds_until(now, until),
        });
    }

    let user = user::Entity::find()
        .filter(user::Column::Username.eq(&username))
        .one(db)
        .await?;
    let hash = match &user {
        Some(user) => user.password_hash.clone(),
        None => decoy_hash().to_owned(),
    };
    let typed = password.to_owned();
    let password_matches = keys
        .hashing
        .run_admitted(admission, move || verify_now(&typed, &hash))
        .await?;
    match user {
        Some(user) if password_matches && user.active => {
            // The rehash is for later sign-ins: a full hashing queue or a failed write
            // leaves the old hash in place and does not refuse a right password.
            let user = match rehash_if_outdated(db, keys, &user, password).await {
                Ok(Some(rehashed)) => rehashed,
                Ok(None) => user,
                Err(error) => {
                    tracing::warn!(target: "ecoplan::auth", error = ?error, "the password is not rehashed this time");
                    user
                }
            };
            signed_in(db, keys, request, &username, user).await
        }
        user => {
            let reason = match &user {
                None => FailureReason::UnknownUser,
                Some(_) if password_matches => FailureReason::InactiveAccount,
                Some(_) => FailureReason::WrongPassword,
            };
            let txn = crate::db::begin_write(db).await?;
            record_failure(&txn, keys, &username, now).await?;
            audit_failure(&txn, request, &username, user.as_ref(), reason).await?;
            txn.commit().await?;
            tracing::info!(target: "ecoplan::auth", reason = reason.as_str(), "failed sign-in");
            Err(invalid_credentials())
        }
    }
}

/// Hashes the password again with today's parameters when the stored hash has others.
/// Only the hash changes: the token version stays, so no session ends.
/// `None` when the hash is already today's.
async fn rehash_if_outdated(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    user: &user::Model,
    password: &str,
) -> AppResult<Option<user::Model>> {
    if !hashed_with_other_parameters(&user.password_hash) {
        return Ok(None);
    }
    let password = password.to_owned();
    let rehashed = keys.hashing.run(move || hash_now(&password)).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(rehashed.clone()))
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::PasswordHash.eq(&user.password_hash))
        .exec(db)
        .await?;
    Ok(Some(user::Model {
        password_hash: rehashed,
        ..user.clone()
    }))
}

/// What the audit trail keeps of a failed sign-in: the name tried, the address and the
/// reason; never the password.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FailedSignIn<'a> {
    username: &'a str,
    client_address: Option<String>,
    reason: &'static str,
}

/// Appends `user.loginFailed`; the item is the user when the name exists, else item 0.
async fn audit_failure(
    db: &impl ConnectionTrait,
    request: &SignInRequest<'_>,
    username: &str,
    user: Option<&user::Model>,
    reason: FailureReason,
) -> AppResult<()> {
    let caller = crate::service::audit::Caller {
        viewer: &Viewer::Anonymous,
        request_id: request.request_id,
        clock: crate::service::clock::Clock::real(),
    };
    crate::service::audit::record(
        db,
        &caller,
        "user.loginFailed",
        crate::service::audit::ItemType::User,
        user.map_or(0, |user| user.id),
        None::<&()>,
        Some(&FailedSignIn {
            username,
            client_address: request.client_address.map(|address| address.to_string()),
            reason: reason.as_str(),
        }),
    )
    .await
}

async fn record_failure(
    txn: &impl ConnectionTrait,
    keys: &TokenKeys,
    username: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let existing = login_throttle::Entity::find_by_id(username.to_owned())
        .one(txn)
        .await?;
    let (failures, first_failure_at) = match &existing {
        Some(row) if now - row.first_failure_at <= keys.lockout_window => {
            (row.failures + 1, row.first_failure_at)
        }
        _ => (1, now),
    };
    let locked_until =
        (failures >= keys.lockout_attempts as i32).then(|| now + keys.lockout_window);
    let row = login_throttle::ActiveModel {
        username: Set(username.to_owned()),
        failures: Set(if locked_until.is_some() { 0 } else { failures }),
        first_failure_at: Set(first_failure_at),
        locked_until: Set(locked_until),
    };
    if existing.is_some() {
        row.update(txn).await?;
    } else {
        row.insert(txn).await?;
    }
    Ok(())
}

/// A new token for the caller's session, before its token expires: it keeps the session's
/// start, so refreshing never outlasts the longest session (`max_session_age`), and it
/// carries the user's token version, so a revocation ends the old and the new alike.
pub async fn refresh_token(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    viewer: &Viewer,
    session_started_at: Option<DateTime<Utc>>,
) -> AppResult<SignIn> {
    viewer.require_signed_in()?;
    let user_id = viewer
        .user()
        .map(|user| user.user_id)
        .ok_or_else(|| AppError::forbidden("only a signed-in user's token can be refreshed"))?;
    let session_started_at = session_started_at.ok_or_else(|| {
        AppError::forbidden("a token of the municipal portal is renewed by the portal")
    })?;
    if Utc::now() >= session_started_at + keys.max_session_age {
        return Err(AppError::Unauthenticated);
    }
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .filter(|user| user.active)
        .ok_or(AppError::Unauthenticated)?;
    let (token, expires_at) = keys.issue_in_session(&user, session_started_at)?;
    Ok(SignIn {
        token,
        expires_at,
        user,
    })
}

/// Issues a fresh token for a user (after a password change, say).
pub fn issue_token(keys: &TokenKeys, user: &user::Model) -> AppResult<SignIn> {
    let (token, expires_at) = keys.issue(user)?;
    Ok(SignIn {
        token,
        expires_at,
        user: user.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hash_with_todays_parameters_is_kept() {
        let today = hash_now("a long enough password").unwrap();
        assert!(!hashed_with_other_parameters(&today));
        assert!(!hashed_with_other_parameters(decoy_hash()));
        let older = today.replace("m=7168,t=5", "m=19456,t=2");
        assert_ne!(older, today);
        assert!(hashed_with_other_parameters(&older));
        assert!(hashed_with_other_parameters(
            &today.replace("$argon2id$", "$argon2i$")
        ));
        assert!(hashed_with_other_parameters("not a hash"));
    }
}
