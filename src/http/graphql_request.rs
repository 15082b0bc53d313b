//! Reads a GraphQL request from HTTP: a JSON body, a GraphQL multipart request (uploads)
//! or a GET query string. Every way a request can fail to be one is an `AppError` that
//! names what is wrong, answered in the GraphQL JSON error format (see `super::refuse`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpRequest, error::PayloadError};
use async_graphql::{ParseRequestError, Request, Variables};
use futures_util::{StreamExt, TryStreamExt};

use crate::error::AppError;

/// The media types a POST body may come in.
const ACCEPTED_TYPES: &str = "application/json, or multipart/form-data for uploads";

/// The body of a JSON request. `query` is optional here only so that its absence gets a
/// message of its own.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonBody {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Variables>,
    extensions: Option<HashMap<String, async_graphql::Value>>,
}

/// The body of a POST to `/graphql`, within `max_body_bytes` (uploads are limited by the
/// body limit of the middleware, which knows multipart requests may be larger).
pub async fn read_post(
    http: &HttpRequest,
    payload: web::Payload,
    max_body_bytes: u64,
) -> Result<Request, AppError> {
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    let Some(content_type) = content_type else {
        return Err(AppError::UnsupportedMediaType(format!(
            "the request has no Content-Type; send {ACCEPTED_TYPES}"
        )));
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "application/graphql-response+json" => {
            let body = read_body(payload, max_body_bytes).await?;
            parse_json(&body)
        }
        "multipart/form-data" => read_multipart(content_type, payload).await,
        _ => Err(AppError::UnsupportedMediaType(format!(
            "a request body of type `{essence}` cannot be read; send {ACCEPTED_TYPES}"
        ))),
    }
}

/// A GET request's query string (`query`, `operationName`, `variables`, `extensions`).
pub fn read_get(http: &HttpRequest) -> Result<Request, AppError> {
    let request = async_graphql::http::parse_query_string(http.query_string())
        .map_err(|error| malformed(format!("the query string cannot be read: {error}")))?;
    if request.query.is_empty() && !request.extensions.contains_key(PERSISTED_QUERY) {
        return Err(missing_query());
    }
    Ok(request)
}

/// The extension of an automatic persisted query.
const PERSISTED_QUERY: &str = "persistedQuery";

fn malformed(message: String) -> AppError {
    AppError::MalformedRequest(message)
}

fn missing_query() -> AppError {
    malformed("the request has no `query`: send the GraphQL document as `query`".to_owned())
}

fn batch_refused() -> AppError {
    malformed(
        "batched requests (a JSON array of operations) are not supported; send one operation per request"
            .to_owned(),
    )
}

/// The whole body, refusing it past `limit` bytes (a body that lied about its length).
async fn read_body(mut payload: web::Payload, limit: u64) -> Result<BytesMut, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(payload_error)?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(AppError::BodyTooLarge {
                length: (body.len() + chunk.len()) as u64,
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn payload_error(error: PayloadError) -> AppError {
    match error {
        PayloadError::Incomplete(_) => {
            malformed("the request body ended before its declared length".to_owned())
        }
        other => malformed(format!("the request body cannot be read: {other}")),
    }
}

/// A JSON request body: UTF-8, one JSON object, with a `query`.
fn parse_json(body: &[u8]) -> Result<Request, AppError> {
    let text = std::str::from_utf8(body).map_err(|error| {
        malformed(format!(
            "the request body is not UTF-8 text (the first bad byte is at offset {})",
            error.valid_up_to()
        ))
    })?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(malformed(
            "the request body is empty; send a JSON object with a `query`".to_owned(),
        ));
    }
    if trimmed.starts_with('[') {
        return Err(batch_refused());
    }
    let body: JsonBody = serde_json::from_str(text).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => malformed(format!(
                "the request body is not a GraphQL request (a JSON object with `query`, `operationName`, `variables`, `extensions`): {error}"
            )),
            _ => malformed(format!("the request body is not valid JSON: {error}")),
        }
    })?;
    let sends_a_hash = body
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.contains_key(PERSISTED_QUERY));
    let query = match body.query {
        Some(query) => query,
        // The document comes from the persisted ones (see `persisted_queries`).
        None if sends_a_hash => String::new(),
        None => return Err(missing_query()),
    };
    let mut request = Request::new(query);
    request.operation_name = body.operation_name;
    if let Some(variables) = body.variables {
        request.variables = variables;
    }
    if let Some(extensions) = body.extensions {
        request.extensions = async_graphql::Extensions(extensions);
    }
    Ok(request)
}

/// A GraphQL multipart request, read as it streams in (files go to temporary files). The
/// body arrives on this worker's thread; the parser wants a stream it can send between
/// threads, so the chunks are handed over through a small channel.
async fn read_multipart(content_type: String, payload: web::Payload) -> Result<Request, AppError> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, PayloadError>>(16);
    let mut payload = payload;
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            if sender.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let body = chunks
        .map_err(|error| match error {
            PayloadError::Incomplete(_) => std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            other => std::io::Error::other(other.to_string()),
        })
        .into_async_read();
    let request = async_graphql::http::receive_batch_body(
        Some(content_type),
        body,
        async_graphql::http::MultipartOptions::default(),
    )
    .await
    .map_err(multipart_error)?;
    let request = request.into_single().map_err(multipart_error)?;
    if request.query.is_empty() {
        return Err(missing_query());
    }
    Ok(request)
}

fn multipart_error(error: ParseRequestError) -> AppError {
    match error {
        ParseRequestError::InvalidMultipart(cause) => {
            malformed(format!("the multipart body cannot be read: {cause}"))
        }
        ParseRequestError::Io(cause) if cause.kind() == std::io::ErrorKind::UnexpectedEof => {
            malformed("the multipart body ended before its last part was complete".to_owned())
        }
        // Other I/O errors can come from the server's own temporary files, whose text may
        // name a path: the cause is logged, not answered.
        ParseRequestError::Io(cause) => {
            tracing::debug!(error = %cause, "a multipart body could not be read");
            malformed("the multipart body cannot be read".to_owned())
        }
        ParseRequestError::MissingOperatorsPart => malformed(
            "the multipart request has no `operations` part (the GraphQL request as JSON)"
                .to_owned(),
        ),
        ParseRequestError::MissingMapPart => malformed(
            "the multipart request has no `map` part (which file goes to which variable)"
                .to_owned(),
        ),
        ParseRequestError::InvalidFilesMap(cause) => malformed(format!(
            "the `map` part is not a JSON object of file part names to lists of variable paths: {cause}"
        )),
        ParseRequestError::MissingFiles => {
            malformed("the `map` part names a file part that the request does not hold".to_owned())
        }
        ParseRequestError::NotUpload => {
            malformed("the `map` part points at a variable that is not an upload".to_owned())
        }
        ParseRequestError::InvalidRequest(cause) => malformed(format!(
            "the `operations` part is not a GraphQL request as JSON: {cause}"
        )),
        ParseRequestError::UnsupportedBatch => batch_refused(),
        other => malformed(format!("the multipart request cannot be read: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Request, AppError>) -> String {
        match result {
            Ok(_) => "accepted".to_owned(),
            Err(error) => error.message(),
        }
    }

    #[test]
    fn json_bodies_are_read_or_refused_with_a_reason() {
        let request =
            parse_json(br#"{"query":"{ plans { key } }","operationName":null,"variables":null}"#);
        assert!(request.is_ok_and(|request| request.query == "{ plans { key } }"));
        assert!(message(parse_json(b"{\"query\":\"\xff\"}")).contains("not UTF-8"));
        assert!(message(parse_json(b"{\"query\":")).contains("not valid JSON"));
        assert!(message(parse_json(b" [{\"query\":\"{ plans { key } }\"}]")).contains("batched"));
        assert!(message(parse_json(b"{\"qeury\":\"{ plans { key } }\"}")).contains("no `query`"));
        assert!(message(parse_json(b"{\"query\":1}")).contains("not a GraphQL request"));
        assert!(message(parse_json(b"  ")).contains("empty"));
    }
}
