//! What every request goes through: a request id (in the logs, the `x-request-id` header
//! and GraphQL error extensions), a request log line, security headers and a body limit.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use tracing::Instrument;

use crate::http::AppState;

/// The id of the current request, kept in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Routes that read and limit their own request bodies (`crate::http::export`).
const IMPORT_PATH_PREFIX: &str = "/import/";

fn json_refusal(
    status: actix_web::http::StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code, "requestId": request_id } }]
    }))
}

/// Gives the request an id, logs it, refuses bodies over the limit, and adds the security
/// headers to the response.
pub async fn observe(
    request: ServiceRequest,
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

    let mut response = match (limit, declared) {
        (Some(limit), Some(length)) if length > limit => {
            let refusal = json_refusal(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_USER_INPUT",
                &format!("the request body is {length} bytes; the limit is {limit} bytes"),
                &request_id,
            );
            request.into_response(refusal)
        }
        // Without a declared length the body could be of any size: the client must say.
        (Some(_), None) if chunked => {
            let refusal = json_refusal(
                actix_web::http::StatusCode::LENGTH_REQUIRED,
                "BAD_USER_INPUT",
                "send the request body with a Content-Length",
                &request_id,
            );
            request.into_response(refusal)
        }
        _ => next
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
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    Ok(response)
}
