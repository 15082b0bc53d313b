//! The HTTP layer: reads the bearer token, builds the request context, and hands the
//! request to GraphQL (or serves health checks).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use sea_orm::DatabaseConnection;

use crate::db::StatementCounter;
use crate::graphql::context::{ApiSettings, RequestContext};
use crate::graphql::loaders::{loaders, run_batched};
use crate::graphql::schema::AppSchema;
use crate::metrics::Metrics;
use crate::service::auth::{self, TokenKeys};
use crate::service::policy::{ReadScope, Viewer};

/// What every handler shares.
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub token_keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub api: ApiSettings,
    pub statements: StatementCounter,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphql_get))
        .route("/graphiql", web::get().to(graphiql))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
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
    let context = RequestContext {
        db: state.db.clone(),
        viewer,
        loaders: loaders(state.db.clone(), scope),
        settings: state.api.clone(),
        token_keys: state.token_keys.clone(),
        metrics: state.metrics.clone(),
        request_id: request_id.clone(),
    };
    let response = run_batched(state.schema.execute(request.data(context))).await;
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
