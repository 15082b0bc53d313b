//! The HTTP layer: reads the bearer token, builds the request context, and hands the
//! request to GraphQL (or serves health checks).

pub mod metrics;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use sea_orm::DatabaseConnection;

use crate::db::StatementCounter;
use crate::graphql::context::{ApiSettings, RequestContext};
use crate::graphql::loaders::loaders;
use crate::graphql::schema::AppSchema;
use crate::metrics::Metrics;
use crate::service::auth::{self, TokenKeys};
use crate::service::evidence::UploadPolicy;
use crate::service::policy::{ReadScope, Viewer};
use crate::service::submission::SubmissionScope;
use crate::storage::FileStore;

/// What every handler shares.
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub token_keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub api: ApiSettings,
    pub statements: StatementCounter,
    pub files: Arc<dyn FileStore>,
    pub upload_policy: UploadPolicy,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphql_get))
        .route("/graphiql", web::get().to(graphiql))
        .route("/files/{id}", web::get().to(download))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics::metrics));
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
    match bearer_token(request) {
        None => Ok(Viewer::Anonymous),
        Some(token) => match auth::authenticate(&state.db, &state.token_keys, token).await {
            Ok(viewer) => Ok(viewer),
            Err(crate::error::AppError::Unauthenticated) => Ok(Viewer::Anonymous),
            Err(other) => Err(other),
        },
    }
}

/// A fresh id for a request, for logs, the `x-request-id` header and error extensions.
pub fn new_request_id() -> String {
    crate::service::auth::random_secret(16).to_ascii_lowercase()
}

async fn execute(
    state: &AppState,
    http: &HttpRequest,
    request: async_graphql::Request,
) -> HttpResponse {
    let request_id = new_request_id();
    let viewer = match viewer_of(state, http).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
            ]);
            return respond(response, &request_id, http);
        }
    };
    // An anonymous caller reads nothing, so its loaders get the narrowest scope.
    let scope = viewer.read_scope().unwrap_or(ReadScope::Department(-1));
    let submissions = SubmissionScope::of(&viewer).unwrap_or(SubmissionScope::Department(-1));
    let context = RequestContext {
        db: state.db.clone(),
        viewer,
        loaders: loaders(state.db.clone(), scope, submissions),
        settings: state.api.clone(),
        token_keys: state.token_keys.clone(),
        metrics: state.metrics.clone(),
        files: state.files.clone(),
        upload_policy: state.upload_policy.clone(),
        request_id: request_id.clone(),
    };
    let response = state.schema.execute(request.data(context)).await;
    respond(response, &request_id, http)
}

fn respond(
    mut response: async_graphql::Response,
    request_id: &str,
    http: &HttpRequest,
) -> HttpResponse {
    for error in &mut response.errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", request_id);
    }
    let mut reply = actix_web::Responder::respond_to(GraphQLResponse::from(response), http);
    if let Ok(value) = header::HeaderValue::from_str(request_id) {
        reply
            .headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), value);
    }
    reply.map_into_boxed_body()
}

async fn graphql(
    state: web::Data<AppState>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> HttpResponse {
    execute(&state, &http, request.into_inner()).await
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

async fn graphql_get(
    state: web::Data<AppState>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> HttpResponse {
    let request = request.into_inner();
    if is_mutation(&request) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .body("mutations must be sent with POST");
    }
    execute(&state, &http, request).await
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(error) => {
            tracing::warn!(%error, "the database does not answer");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("the database does not answer")
        }
    }
}

/// `filename*` of a Content-Disposition header (RFC 6266 / RFC 8187), so that Chinese file
/// names arrive intact.
fn content_disposition(file_name: &str) -> String {
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

/// `GET /files/{id}`: an evidence file, under the same token and the same access rules as
/// the API. Anything the caller may not see is simply not found.
async fn download(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let not_found = || {
        HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found")
    };
    let viewer = match viewer_of(&state, &http).await {
        Ok(Viewer::Anonymous) => {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain")
                .body("sign in first");
        }
        Ok(viewer) => viewer,
        Err(error) => {
            tracing::error!(error = ?error, "cannot check a download's token");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let Ok(id) = crate::id::NodeId::decode_as(&path, crate::id::NodeKind::Evidence) else {
        return not_found();
    };
    let evidence = match crate::service::evidence::find_for_download(&state.db, &viewer, id).await {
        Ok(Some(evidence)) => evidence,
        Ok(None) => return not_found(),
        Err(error) => {
            if let crate::error::AppError::Unexpected(cause) = &error {
                tracing::error!(error = ?cause, "cannot look up evidence");
            }
            return not_found();
        }
    };
    match state.files.open(&evidence.storage_key).await {
        Ok(file) => HttpResponse::Ok()
            .content_type(evidence.content_type.as_str())
            .insert_header((
                header::CONTENT_DISPOSITION,
                content_disposition(&evidence.file_name),
            ))
            .insert_header(("x-content-type-options", "nosniff"))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .streaming(tokio_util::io::ReaderStream::new(file)),
        Err(error) => {
            tracing::error!(error = ?error, "an evidence file is missing from storage");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body("the file cannot be read")
        }
    }
}
