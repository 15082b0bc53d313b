//! The HTTP layer: reads the bearer token, builds the request context, and hands the
//! request to GraphQL (or serves files, spreadsheets and health checks).

pub mod client_address;
pub mod export;
mod files;
pub mod graphiql;
pub mod graphql_request;
pub mod head;
pub mod live;

pub mod middleware;
pub mod persisted_queries;

pub mod response_cache;

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use sea_orm::DatabaseConnection;

use crate::db::StatementCounter;
use crate::error::AppError;
use crate::graphql::context::{ApiSettings, RequestContext, RequestParts};
use crate::graphql::limits::ShapeLimits;
use crate::graphql::loaders::run_batched;
use crate::graphql::null_propagation::OutputTypes;
use crate::graphql::schema::AppSchema;
use crate::messages::{self, Language};
use crate::metrics::Metrics;
use crate::service::auth::{self, TokenKeys};
use crate::service::evidence::UploadPolicy;
use crate::service::policy::Viewer;
use crate::service::snapshot::SnapshotStore;
use crate::storage::FileStore;
use actix_web::HttpMessage;

/// What every handler shares.
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    /// The schema's output types, to put the nulls of field errors in their place.
    pub output_types: OutputTypes,
    /// Checked before an operation runs (see `ShapeLimits::check_request`).
    pub shape_limits: ShapeLimits,
    pub token_keys: Arc<TokenKeys>,
    /// The user row and revisions every signed-in request reads, shared by the requests
    /// that wait at the same moment.
    pub user_reads: Arc<crate::service::user_reads::UserReads>,
    pub metrics: Arc<Metrics>,
    pub api: ApiSettings,
    pub statements: StatementCounter,
    pub files: Arc<dyn FileStore>,
    pub upload_policy: UploadPolicy,
    pub http: HttpSettings,
    /// The plan snapshot, shared by every request.
    pub snapshots: Arc<SnapshotStore>,
    /// Shared answers; `None` when switched off.
    pub responses: Option<response_cache::ResponseCache>,
    /// The dashboard's counts kept between requests; `None` when switched off with the
    /// shared answers.
    pub kept_counts: Option<Arc<crate::service::dashboard::KeptCounts>>,
    /// Submission events as they commit, for subscriptions.
    pub submission_feed: Arc<crate::service::submission_events::SubmissionFeed>,
    /// The documents of automatic persisted queries, by their hash.
    pub persisted_queries: persisted_queries::PersistedQueries,
    /// The WebSocket connections open, in all and per user.
    pub live_connections: Arc<live::LiveConnections>,
    /// Operations that may run at once.
    pub operations: tokio::sync::Semaphore,
    /// Places for the requests without a signed token (see `anonymous_concurrency`).
    pub anonymous: Arc<tokio::sync::Semaphore>,
    /// Requests without a signed token waiting for a place.
    pub anonymous_waiting: std::sync::atomic::AtomicUsize,
    /// Refusals of such requests held until their retry time (see `middleware`).
    pub held_refusals: Arc<tokio::sync::Semaphore>,
}

/// How many refusals of requests without a token are held at once until their retry time;
/// beyond, they are answered at once. Each costs a sleeping task and an open connection.
pub const HELD_REFUSALS: usize = 1024;

/// Limits and switches of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The largest request body outside uploads.
    pub max_body_bytes: u64,
    /// The largest evidence file; multipart requests may be a little larger.
    pub max_upload_bytes: u64,
    /// The longest a GraphQL operation may run.
    pub request_timeout: std::time::Duration,
    /// A token that `GET /metrics` requires, if set.
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on the main address (false when it has an address of its own).
    pub metrics_on_main: bool,
    /// The memory shared answers may take; 0 switches sharing off.
    pub response_cache_bytes: usize,
    /// The text of the persisted documents kept at once.
    pub persisted_query_bytes: usize,
    /// How often the live feed reads new events while someone subscribes.
    pub subscription_poll: std::time::Duration,
    /// How often a subscription checks its token again between events.
    pub subscription_recheck: std::time::Duration,
    /// WebSocket connections open at once, in all.
    pub max_live_connections: usize,
    /// WebSocket connections one user may have open at once.
    pub max_live_connections_per_user: usize,
    /// How long a WebSocket connection may stay open without its `connection_init`.
    pub live_init_timeout: std::time::Duration,
    /// GraphQL operations that may run at once.
    pub max_concurrent_operations: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client_address::TrustedProxies,
    /// The origin clients reach the server at, for absolute links (no trailing `/`);
    /// `None`: the scheme and `Host` each request came with.
    pub public_url: Option<String>,
    /// GraphQL requests without a signed token (sign-ins, mostly) in progress at once;
    /// the others wait their turn, parked, so a flood of them cannot crowd out the
    /// requests of signed-in users.
    pub anonymous_concurrency: usize,
    /// Requests without a signed token that may wait for a place; beyond, they are refused
    /// before their body is read.
    pub anonymous_queue: usize,
}

/// Enough waiting sign-ins for an office signing in at once; a flood beyond it is refused
/// from its headers alone.
pub const DEFAULT_ANONYMOUS_QUEUE: usize = 64;

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: crate::service::evidence::DEFAULT_MAX_UPLOAD_BYTES,
            request_timeout: std::time::Duration::from_secs(30),
            metrics_token: None,
            metrics_on_main: true,
            response_cache_bytes: 16 * 1024 * 1024,
            persisted_query_bytes: 4 * 1024 * 1024,
            subscription_poll: std::time::Duration::from_millis(250),
            subscription_recheck: std::time::Duration::from_secs(5),
            max_live_connections: 1024,
            max_live_connections_per_user: 8,
            live_init_timeout: std::time::Duration::from_secs(10),
            max_concurrent_operations: std::thread::available_parallelism()
                .map(|cores| cores.get() * 4)
                .unwrap_or(8)
                .max(8),
            trusted_proxies: client_address::TrustedProxies::default(),
            public_url: None,
            anonymous_concurrency: default_anonymous_concurrency(),
            anonymous_queue: DEFAULT_ANONYMOUS_QUEUE,
        }
    }
}

/// Enough for every hash slot and queue place of the sign-in pool, and one per core for
/// the sign-ins being refused.
pub fn default_anonymous_concurrency() -> usize {
    let pool = crate::service::hashing::HashSettings::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    pool.concurrency + pool.queue + cores
}

impl HttpSettings {
    pub fn max_upload_request_bytes(&self) -> u64 {
        self.max_upload_bytes.saturating_add(1024 * 1024)
    }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/graphql", web::post().to(graphql))
        .route(
            "/graphql",
            web::get()
                .guard(actix_web::guard::Header("upgrade", "websocket"))
                .to(live::subscriptions),
        )
        .route("/graphql", web::get().to(graphql_get))
        .route("/files/{id}", web::get().to(files::download))
        .route("/metrics", web::get().to(metrics_on_main))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .configure(graphiql::routes)
        .configure(export::routes);
}

/// The bearer token of a request, if it sent one.
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The caller of a request. A missing or refused token makes an anonymous caller, who can
/// only sign in; every other field then answers `UNAUTHENTICATED`.
pub async fn viewer_of(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Viewer, crate::error::AppError> {
    Ok(caller_of(state, request).await?.viewer)
}

/// The origin of the absolute links an answer gives: the configured public address, or
/// the scheme and `Host` the request came with. Forwarded headers are not read: behind a
/// proxy, `ECOPLAN_PUBLIC_URL` says the address.
pub(crate) fn public_origin(settings: &HttpSettings, request: &HttpRequest) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let config = request.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        })
        .unwrap_or_else(|| config.host());
    format!("{scheme}://{host}")
}

/// Who sent a request.
#[derive(Clone)]
struct RequestCaller {
    viewer: Viewer,
    /// The data revision read with the user row (`None` for an anonymous caller).
    revision: Option<i64>,
    /// The submission revision read with it.
    submission_revision: Option<i64>,
    /// When the session of a token ecoplan issued began (for `refreshToken`).
    session_started_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl RequestCaller {
    const ANONYMOUS: Self = Self {
        viewer: Viewer::Anonymous,
        revision: None,
        submission_revision: None,
        session_started_at: None,
    };
}

/// The caller of a request.
async fn caller_of(
    state: &AppState,
    request: &HttpRequest,
) -> Result<RequestCaller, crate::error::AppError> {
    match bearer_token(request) {
        None => Ok(RequestCaller::ANONYMOUS),
        Some(token) => {
            match auth::authenticate(&state.db, &state.user_reads, &state.token_keys, token).await {
                Ok(found) => Ok(RequestCaller {
                    viewer: found.viewer,
                    revision: Some(found.data_revision),
                    submission_revision: Some(found.submission_revision),
                    session_started_at: found.session_started_at,
                }),
                Err(crate::error::AppError::Unauthenticated) => Ok(RequestCaller::ANONYMOUS),
                Err(other) => Err(other),
            }
        }
    }
}

/// A fresh id for a request, for logs, the `x-request-id` header and error extensions.
pub fn new_request_id() -> String {
    crate::service::auth::random_secret(16).to_ascii_lowercase()
}

/// The name an operation is counted under in the metrics: the `operationName` the client
/// sent, or else the name the document gives its only operation.
fn operation_label(request: &mut async_graphql::Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    // Parsed once: the schema reuses this parse.
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        _ => None,
    }
}

/// The type of the operation a request runs; `None` when its document does not parse or
/// does not say which operation to run (the schema then says why).
pub(crate) fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => match &operation_name {
            Some(name) => operations.get(name.as_str()),
            None if operations.len() == 1 => operations.values().next(),
            None => None,
        },
    };
    operation.map(|operation| operation.node.ty)
}

/// Whether the operation a request runs is a query (the only kind whose answer may be
/// shared).
fn is_query(request: &mut async_graphql::Request) -> bool {
    operation_type(request) == Some(OperationType::Query)
}

async fn execute(
    state: &AppState,
    http: &HttpRequest,
    mut request: async_graphql::Request,
) -> HttpResponse {
    let request_id = request_id_of(http);
    let operation_name = operation_label(&mut request);
    let caller = match caller_of(state, http).await {
        Ok(caller) => caller,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![error.into_server_error()]);
            return respond(response, &request_id, http);
        }
    };
    let started = std::time::Instant::now();
    let revision = caller.revision;

    // A query may be answered with the bytes of an earlier, identical one: read the
    // data revision first, then look the answer up under it.
    let shared = match &state.responses {
        Some(cache) if is_query(&mut request) => {
            let snapshot = match revision {
                Some(revision) => state.snapshots.at_least(&state.db, revision).await,
                None => state.snapshots.current(&state.db).await,
            };
            let snapshot = match snapshot {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    let response =
                        async_graphql::Response::from_errors(vec![error.into_server_error()]);
                    return respond(response, &request_id, http);
                }
            };
            let variables = serde_json::to_string(&request.variables).unwrap_or_default();
            let key = response_cache::AnswerKey::new(
                &request.query,
                request.operation_name.as_deref(),
                &variables,
                caller.viewer.scope(),
                state.api.clock.today(),
                snapshot.revision,
            );
            Some((cache, key, snapshot))
        }
        _ => None,
    };

    let Some((cache, key, snapshot)) = shared else {
        // The revision came with the user row: for a query, the snapshot it names costs
        // no statement. A mutation reads the snapshot only after its change.
        let snapshot = match revision {
            Some(revision) if is_query(&mut request) => {
                state.snapshots.at_least(&state.db, revision).await.ok()
            }
            _ => None,
        };
        let (response, _) =
            run_operation(state, http, request, caller, &request_id, snapshot).await;
        state.metrics.observe_operation(
            operation_name.as_deref(),
            response.errors.is_empty(),
            started.elapsed(),
        );
        return respond(response, &request_id, http);
    };
    let revision = snapshot.revision;
    let slot = match cache.lookup(key, revision) {
        response_cache::Lookup::Hit(bytes) => {
            state
                .metrics
                .observe_operation(operation_name.as_deref(), true, started.elapsed());
            return respond_with_body(bytes, &request_id, http, false);
        }
        response_cache::Lookup::Fill(slot) => slot,
    };
    // One execution fills the slot; requests for the same answer wait for it. When the
    // answer may not be shared, each of them runs its own.
    let mut own: Option<async_graphql::Response> = None;
    let mut pending = Some(request);
    let filled = slot
        .get_or_init(|| async {
            let request = pending.take()?;
            let (response, read_the_database) = run_operation(
                state,
                http,
                request,
                caller.clone(),
                &request_id,
                Some(snapshot.clone()),
            )
            .await;
            let shareable = response.errors.is_empty() && !read_the_database;
            let bytes = shareable.then(|| serialize(&response, false)).flatten();
            own = Some(response);
            bytes
        })
        .await
        .clone();
    if let Some(response) = own {
        cache.settle(key, revision, filled.as_ref());
        state.metrics.observe_operation(
            operation_name.as_deref(),
            response.errors.is_empty(),
            started.elapsed(),
        );
        return match filled {
            Some(bytes) => respond_with_body(bytes, &request_id, http, false),
            None => respond(response, &request_id, http),
        };
    }
    match filled {
        Some(bytes) => {
            state
                .metrics
                .observe_operation(operation_name.as_deref(), true, started.elapsed());
            respond_with_body(bytes, &request_id, http, false)
        }
        None => {
            let Some(request) = pending else {
                return HttpResponse::InternalServerError().finish();
            };
            let (response, _) =
                run_operation(state, http, request, caller, &request_id, Some(snapshot)).await;
            state.metrics.observe_operation(
                operation_name.as_deref(),
                response.errors.is_empty(),
                started.elapsed(),
            );
            respond(response, &request_id, http)
        }
    }
}

/// Runs one operation within the time limit and the bound on operations at once; says
/// whether it read the database beyond the plan snapshot.
async fn run_operation(
    state: &AppState,
    http: &HttpRequest,
    mut request: async_graphql::Request,
    caller: RequestCaller,
    request_id: &str,
    snapshot: Option<std::sync::Arc<crate::service::snapshot::PlanSnapshot>>,
) -> (async_graphql::Response, bool) {
    if let Err(error) = state.shape_limits.check_request(&mut request) {
        return (async_graphql::Response::from_errors(vec![error]), false);
    }
    // Kept for the rare answer with field errors, to follow their paths through it.
    let query = request.query.clone();
    let operation_name = request.operation_name.clone();
    let database_use = crate::graphql::context::DatabaseUse::default();
    let kept_counts = match (
        &state.kept_counts,
        caller.revision,
        caller.submission_revision,
    ) {
        (Some(kept), Some(data), Some(submissions)) => Some((
            kept.clone(),
            crate::service::dashboard::Revisions { data, submissions },
        )),
        _ => None,
    };
    let context = RequestContext::new(RequestParts {
        db: state.db.clone(),
        viewer: caller.viewer,
        session_started_at: caller.session_started_at,
        settings: state.api.clone(),
        token_keys: state.token_keys.clone(),
        metrics: state.metrics.clone(),
        files: state.files.clone(),
        upload_policy: state.upload_policy.clone(),
        request_id: request_id.to_owned(),
        client_address: state.http.trusted_proxies.client_address(http),
        public_origin: public_origin(&state.http, http),
        snapshots: state.snapshots.clone(),
        snapshot,
        database_use: database_use.clone(),
        kept_counts,
    });
    let response = tokio::time::timeout(state.http.request_timeout, async {
        // Large answers are built one at a time per permit, so memory does not grow with
        // the number of clients asking at once.
        let _permit = state.operations.acquire().await;
        run_batched(state.schema.execute(request.data(context))).await
    })
    .await;
    let response = match response {
        Ok(mut response) => {
            state
                .output_types
                .propagate_nulls(&mut response, &query, operation_name.as_deref());
            response
        }
        Err(_) => async_graphql::Response::from_errors(vec![
            AppError::Timeout(format!(
                "the operation took longer than {} and was stopped",
                describe_duration(state.http.request_timeout)
            ))
            .into_server_error(),
        ]),
    };
    (response, database_use.happened())
}

/// `30 seconds`, `1 second`, or `250 ms` for a limit under a second.
fn describe_duration(duration: std::time::Duration) -> String {
    match duration.as_secs() {
        0 => format!("{} ms", duration.as_millis()),
        1 => "1 second".to_owned(),
        seconds => format!("{seconds} seconds"),
    }
}

/// The body of an answer: `data` (absent for a request error, which has none), `errors`
/// and `extensions`, serialized once straight into bytes.
fn serialize(response: &async_graphql::Response, request_error: bool) -> Option<Bytes> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a async_graphql::Value>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        errors: &'a [async_graphql::ServerError],
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
    }
    let body = Body {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(error) => {
            tracing::error!(%error, "cannot serialize a response");
            None
        }
    }
}

fn respond(
    mut response: async_graphql::Response,
    request_id: &str,
    http: &HttpRequest,
) -> HttpResponse {
    crate::graphql::limits::cap_errors(&mut response.errors);
    let language = language_of(http.headers());
    for error in &mut response.errors {
        if let Cow::Owned(translated) = messages::translate(&error.message, language) {
            error.message = translated;
        }
        let extensions = error.extensions.get_or_insert_with(Default::default);
        // Errors from parsing, validation and the limits carry no code of their own: they
        // are all the caller's to fix.
        if extensions.get("code").is_none() {
            extensions.set("code", AppError::code_of_uncoded_errors());
        }
        extensions.set("requestId", request_id);
    }
    // A request error (the document could not be parsed, validated or run at all) has no
    // `data`, unlike a field error, which has a path.
    let request_error = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty());
    match serialize(&response, request_error) {
        Some(body) => respond_with_body(body, request_id, http, request_error),
        None => HttpResponse::InternalServerError().finish(),
    }
}

/// The language the client reads messages in (see `messages`).
pub(crate) fn language_of(headers: &header::HeaderMap) -> Language {
    Language::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    )
}

/// Whether the client asked for `application/graphql-response+json`, the newer media type
/// of GraphQL over HTTP.
fn wants_graphql_response(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/graphql-response+json"))
}

/// The content type of a GraphQL answer for the media type the client accepts.
fn answer_content_type(headers: &header::HeaderMap) -> &'static str {
    if wants_graphql_response(headers) {
        "application/graphql-response+json; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    }
}

fn respond_with_body(
    body: Bytes,
    request_id: &str,
    http: &HttpRequest,
    request_error: bool,
) -> HttpResponse {
    // GraphQL over HTTP: the newer media type, with 4xx for request errors, only for
    // clients that ask for it; plain JSON (always 200 for a request it could read) for
    // the others.
    let status = if request_error && wants_graphql_response(http.headers()) {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    let mut reply = HttpResponse::build(status);
    reply.content_type(answer_content_type(http.headers()));
    if let Ok(value) = header::HeaderValue::from_str(request_id) {
        reply.insert_header((header::HeaderName::from_static("x-request-id"), value));
    }
    reply.body(body)
}

/// Refuses a request that is not a GraphQL request the server can run (unreadable, too
/// large, too many from its address, …): the error in the GraphQL JSON error format,
/// under the status of the error whatever the media type (GraphQL over HTTP answers a
/// request that is not well-formed with 4xx under `application/json` too), with
/// `Retry-After` when the client is told to wait.
pub fn refuse(error: AppError, request_id: &str, headers: &header::HeaderMap) -> HttpResponse {
    let status = error.http_status();
    let retry_after = error.retry_after_seconds();
    let mut server_error = error.into_server_error();
    if let Cow::Owned(translated) = messages::translate(&server_error.message, language_of(headers))
    {
        server_error.message = translated;
    }
    server_error
        .extensions
        .get_or_insert_with(Default::default)
        .set("requestId", request_id);
    let response = async_graphql::Response::from_errors(vec![server_error]);
    let Some(body) = serialize(&response, true) else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut reply = HttpResponse::build(status);
    reply.content_type(answer_content_type(headers));
    if let Ok(value) = header::HeaderValue::from_str(request_id) {
        reply.insert_header((header::HeaderName::from_static("x-request-id"), value));
    }
    if let Some(seconds) = retry_after {
        reply.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    reply.body(body)
}

/// The id the middleware gave the request.
fn request_id_of(http: &HttpRequest) -> String {
    http.extensions()
        .get::<middleware::RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_else(new_request_id)
}

async fn graphql(
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    // The body is read before a place is taken: a client sending it slowly must not hold
    // one of the few places of the requests without a token.
    let mut request =
        match graphql_request::read_post(&http, payload, state.http.max_body_bytes).await {
            Ok(request) => request,
            Err(error) => return refuse(error, &request_id_of(&http), http.headers()),
        };
    if let Err(error) = state.persisted_queries.resolve(&mut request) {
        return refuse(error, &request_id_of(&http), http.headers());
    }
    let _place = anonymous_place(&state, &http).await;
    execute(&state, &http, request).await
}

/// For a request without a signed token, a place among those in progress (waiting for
/// one costs nothing); `None` for a signed-in caller, who never waits here.
async fn anonymous_place(
    state: &AppState,
    http: &HttpRequest,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if bearer_token(http).is_some_and(|token| auth::token_is_signed(&state.token_keys, token)) {
        return None;
    }
    if let Ok(place) = state.anonymous.clone().try_acquire_owned() {
        return Some(place);
    }
    let _waiting = Waiting::count(&state.anonymous_waiting);
    state.anonymous.clone().acquire_owned().await.ok()
}

/// Counts a request among those waiting for an anonymous place while it waits (a
/// request whose client goes away stops counting too).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a std::sync::atomic::AtomicUsize) -> Self {
        waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether a request without a signed token would find every anonymous place taken and
/// the queue for them full.
pub(crate) fn anonymous_queue_is_full(state: &AppState) -> bool {
    state.anonymous.available_permits() == 0
        && state
            .anonymous_waiting
            .load(std::sync::atomic::Ordering::Relaxed)
            >= state.http.anonymous_queue
}

/// Whether the operation a GET request would run is a mutation, which GET may not run.
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    match &document.operations {
        DocumentOperations::Single(operation) => operation.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(operations) => match &request.operation_name {
            Some(name) => operations
                .get(name.as_str())
                .is_some_and(|operation| operation.node.ty == OperationType::Mutation),
            None => false,
        },
    }
}

async fn graphql_get(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let mut request = match graphql_request::read_get(&http) {
        Ok(request) => request,
        Err(error) => return refuse(error, &request_id_of(&http), http.headers()),
    };
    if let Err(error) = state.persisted_queries.resolve(&mut request) {
        return refuse(error, &request_id_of(&http), http.headers());
    }
    if is_mutation(&request) {
        let mut refusal = refuse(
            AppError::MethodNotAllowed("mutations must be sent with POST".to_owned()),
            &request_id_of(&http),
            http.headers(),
        );
        refusal
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return refusal;
    }
    let _place = anonymous_place(&state, &http).await;
    execute(&state, &http, request).await
}

/// `GET /metrics` on the main address: not there when the metrics have an address of
/// their own, which is usually reachable only from inside the network.
async fn metrics_on_main(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    if !state.http.metrics_on_main {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found");
    }
    metrics(state, http).await
}

/// `GET /metrics`: Prometheus text format; behind a token when one is configured.
pub async fn metrics(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    if let Some(expected) = &state.http.metrics_token {
        let given = bearer_token(&http).unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain")
                .body("the metrics need their token");
        }
    }
    let pool = pool_state(&state.db);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.statements.get(), pool))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Connections in the pool and how many of them are idle.
fn pool_state(db: &DatabaseConnection) -> Option<(u32, usize)> {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        _ => None,
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Ready when the database and the file store both answer.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if let Err(error) = state.db.ping().await {
        tracing::warn!(%error, "the database does not answer");
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("the database does not answer");
    }
    if let Err(error) = state.files.check().await {
        tracing::warn!(error = ?error, "the file store does not answer");
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("the file store does not answer");
    }
    HttpResponse::Ok().content_type("text/plain").body("ready")
}

/// `filename*` of a Content-Disposition header (RFC 6266 / RFC 8187), so that Chinese file
/// names arrive intact.
pub(crate) fn content_disposition(file_name: &str) -> String {
    let mut encoded = String::new();
    for byte in file_name.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(byte) {
            encoded.push(char::from(*byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}
