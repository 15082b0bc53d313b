//! What every request goes through: a request id (in the logs, the `x-request-id` header
//! and GraphQL error extensions), a request log line, security headers, a body limit, and
//! the refusal, unread, of requests without a token from an address over its sign-in rate.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::error::AppError;
use crate::http::AppState;

/// The id of the current request, kept in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Routes that read and limit their own request bodies (`crate::http::export`).
const IMPORT_PATH_PREFIX: &str = "/import/";

/// The GraphQL endpoint, whose requests without a token are sign-ins (or introspection).
const GRAPHQL_PATH: &str = "/graphql";

/// The largest body of a request refused unread that is skipped to keep its connection
/// open; a larger one is left unread, and the connection closes.
const SKIPPED_BODY_BYTES: u64 = 16 * 1024;

/// Why a request to `/graphql` is refused before its body is read: it carries no validly
/// signed token, and its address has used up its sign-in rate, or the requests without a
/// token already fill their places and the queue for them. Its body could only be a
/// sign-in (refused anyway) or a query for the schema; reading, parsing and running it
/// would give a flood of them the workers' time that signed-in users need.
fn refused_unread(request: &ServiceRequest, state: &AppState) -> Option<AppError> {
    if request.path() != GRAPHQL_PATH {
        return None;
    }
    let signed = crate::http::bearer_token(request.request())
        .is_some_and(|token| crate::service::auth::token_is_signed(&state.token_keys, token));
    if signed {
        return None;
    }
    let address = state.http.trusted_proxies.client_address(request.request());
    if let Err(refused) = state.token_keys.sign_in_refused(address) {
        return Some(refused);
    }
    crate::http::anonymous_queue_is_full(state).then_some(AppError::TooManyRequests {
        retry_after_seconds: 1,
    })
}

/// The longest a refusal is held.
const LONGEST_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

/// Holds a refusal for its retry time (at most `LONGEST_HOLD`) before it is answered, so
/// that a refusal costs the client its wait rather than the server its work: a client that
/// asks again as soon as it is answered (as a flood does) asks once a second, not thousands
/// of times. At most `HELD_REFUSALS` are held at once; beyond, they are answered at once.
async fn hold_refusal(request: &ServiceRequest, error: &AppError) {
    let AppError::TooManyRequests {
        retry_after_seconds,
    } = error
    else {
        return;
    };
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return;
    };
    if let Ok(_held) = state.held_refusals.clone().try_acquire_owned() {
        let hold = std::time::Duration::from_secs(*retry_after_seconds).min(LONGEST_HOLD);
        tokio::time::sleep(hold).await;
    }
}

/// Gives the request an id, logs it, refuses bodies over the limit, and adds the security
/// headers to the response.
pub async fn observe(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = crate::http::new_request_id();
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let span = tracing::info_span!("request", request_id = %request_id, method = %request.method(), path = %request.path());
    let started = Instant::now();

    // The import reads its workbook itself, up to its own, larger limit, and answers an
    // oversized one in its own error shape; every other body is limited here.
    let reads_own_body = request.path().starts_with(IMPORT_PATH_PREFIX);
    let limit = request
        .app_data::<web::Data<AppState>>()
        .filter(|_| !reads_own_body)
        .map(|state| {
            let multipart = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("multipart/"));
            if multipart {
                state.http.max_upload_request_bytes()
            } else {
                state.http.max_body_bytes
            }
        });
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        state.metrics.http_requests.inc();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let chunked = request
        .headers()
        .get(header::TRANSFER_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));

    let shed = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| refused_unread(&request, state));
    if shed.is_some()
        && let Some(state) = request.app_data::<web::Data<AppState>>()
    {
        state.metrics.refused_unread.inc();
    }
    let refusal = match (shed, limit, declared) {
        (Some(refused), _, _) => Some(refused),
        (None, Some(limit), Some(length)) if length > limit => {
            Some(AppError::BodyTooLarge { length, limit })
        }
        // Without a declared length the body could be of any size: the client must say.
        (None, Some(_), None) if chunked => Some(AppError::LengthRequired),
        _ => None,
    };
    // A refusal for the rate is logged below `info`: a flood of them would otherwise be
    // a flood of log lines too (they are counted in the metrics instead).
    let quiet = matches!(refusal, Some(AppError::TooManyRequests { .. }));
    let mut response = match refusal {
        Some(error) => {
            if quiet && declared.is_some_and(|length| length <= SKIPPED_BODY_BYTES) {
                // Skipped, not parsed, so that the connection stays open for the client's
                // next request: a closed one would make every refusal a new connection.
                let mut payload = request.take_payload();
                while let Some(Ok(_)) = payload.next().await {}
            }
            if quiet {
                hold_refusal(&request, &error).await;
            }
            let refusal = crate::http::refuse(error, &request_id, request.headers());
            request.into_response(refusal)
        }
        None => next
            .call(request)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    let status = response.status().as_u16();
    span.in_scope(|| {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        if quiet {
            tracing::debug!(status, elapsed_ms, "request refused unread");
        } else {
            tracing::info!(status, elapsed_ms, "request finished");
        }
    });
    Ok(response)
}
