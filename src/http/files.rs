//! `GET /files/{id}`: an evidence file, under the same token and the same access rules as
//! the API. Anything the caller may not see is simply not found. The answer streams from
//! the store (folder or object store) with its length, one byte range when asked
//! (`Range: bytes=…`, for resuming a large download), and the checksum kept at upload.

use std::ops::Range;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;

use crate::http::{AppState, content_disposition, viewer_of};
use crate::service::auth;
use crate::service::download_link::{LinkQuery, LinkRefused};
use crate::service::policy::Viewer;

/// A plain-text answer's body, in the language the request asks for.
fn text(http: &HttpRequest, message: &'static str) -> String {
    crate::messages::translate(message, crate::http::language_of(http.headers())).into_owned()
}

fn not_found(http: &HttpRequest) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body(text(http, "not found"))
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    /// A range that lies outside the file.
    Unsatisfiable,
}

/// One range of `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; several ranges, or
/// a header that is not understood, get the whole file (as RFC 9110 allows).
fn wanted(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|raw| raw.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(first), Ok(last)) if first <= last => first..last.saturating_add(1).min(size),
        (Ok(first), Err(_)) if last.is_empty() => first..size,
        (Err(_), Ok(suffix)) if first.is_empty() => size.saturating_sub(suffix)..size,
        _ => return Wanted::Whole,
    };
    if range.start >= size || range.is_empty() {
        Wanted::Unsatisfiable
    } else if range == (0..size) {
        Wanted::Whole
    } else {
        Wanted::Part(range)
    }
}

/// `Repr-Digest` (RFC 9530) of the file: the SHA-256 recorded when it was uploaded.
fn representation_digest(sha256_hex: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..sha256_hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(sha256_hex.get(at..at + 2)?, 16).ok())
        .collect();
    let bytes = bytes.filter(|bytes| bytes.len() == 32)?;
    Some(format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Who downloads: the holder of a signed link when the address carries a signature,
/// else the caller of the bearer token.
async fn downloader(
    state: &AppState,
    http: &HttpRequest,
    evidence_id: Option<i64>,
) -> Result<Viewer, HttpResponse> {
    let link = web::Query::<LinkQuery>::from_query(http.query_string())
        .ok()
        .filter(|link| link.signature.is_some());
    let viewer = match (link, evidence_id) {
        (Some(_), None) => return Err(link_refused(http, LinkRefused::Invalid)),
        (Some(link), Some(evidence_id)) => {
            match auth::download_link_holder(
                &state.db,
                &state.token_keys,
                evidence_id,
                &link,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(Ok(viewer)) => Ok(viewer),
                Ok(Err(refused)) => return Err(link_refused(http, refused)),
                Err(error) => Err(error),
            }
        }
        (None, _) => viewer_of(state, http).await,
    };
    match viewer {
        Ok(Viewer::Anonymous) => Err(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .content_type("text/plain; charset=utf-8")
            .body(text(http, "sign in first"))),
        Ok(viewer) => Ok(viewer),
        Err(error) => {
            tracing::error!(error = ?error, "cannot check who downloads");
            Err(HttpResponse::InternalServerError().finish())
        }
    }
}

/// A signed link that does not open: `403`, saying whether it has expired (a new one
/// comes with the next read of `downloadLink`).
fn link_refused(http: &HttpRequest, refused: LinkRefused) -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/plain; charset=utf-8")
        .body(text(
            http,
            match refused {
                LinkRefused::Expired => "the link has expired",
                LinkRefused::Invalid => "the link is not valid",
            },
        ))
}

pub(crate) async fn download(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = crate::id::NodeId::decode_as(&path, crate::id::NodeKind::Evidence).ok();
    let viewer = match downloader(&state, &http, id).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    let Some(id) = id else {
        return not_found(&http);
    };
    let evidence = match crate::service::evidence::find_for_download(&state.db, &viewer, id).await {
        Ok(Some(evidence)) => evidence,
        Ok(None) => return not_found(&http),
        Err(error) => {
            if let crate::error::AppError::Unexpected(cause) = &error {
                tracing::error!(error = ?cause, "cannot look up evidence");
            }
            return not_found(&http);
        }
    };
    let size = u64::try_from(evidence.size).unwrap_or(0);
    let range_header = http
        .headers()
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let wanted = wanted(range_header, size);
    if wanted == Wanted::Unsatisfiable {
        return HttpResponse::RangeNotSatisfiable()
            .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
            .finish();
    }
    let part = match &wanted {
        Wanted::Part(range) => Some(range.clone()),
        _ => None,
    };
    let file = match state.files.open(&evidence.storage_key, part.clone()).await {
        Ok(file) => file,
        Err(error) => {
            tracing::error!(error = ?error, "an evidence file is missing from storage");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(text(&http, "the file cannot be read"));
        }
    };
    let mut answer = match &part {
        Some(range) => {
            let mut answer = HttpResponse::PartialContent();
            answer.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            ));
            answer
        }
        None => HttpResponse::Ok(),
    };
    let length = part.map_or(size, |range| range.end - range.start);
    answer
        .content_type(evidence.content_type.as_str())
        .insert_header((
            header::CONTENT_DISPOSITION,
            content_disposition(&evidence.file_name),
        ))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, format!("\"{}\"", evidence.sha256)))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    if let Some(digest) = representation_digest(&evidence.sha256) {
        answer.insert_header(("repr-digest", digest));
    }
    answer
        .no_chunking(length)
        .streaming(tokio_util::io::ReaderStream::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_header_asks_for_one_part_or_the_whole() {
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-9"), 100), Wanted::Part(0..10));
        assert_eq!(wanted(Some("bytes=90-"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=95-200"), 100), Wanted::Part(95..100));
        assert_eq!(wanted(Some("bytes=0-99"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=9-1"), 100), Wanted::Whole);
    }

    #[test]
    fn the_digest_is_the_uploads_sha256_in_base64() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            representation_digest(hex).as_deref(),
            Some("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
        );
        assert_eq!(representation_digest("zz"), None);
    }
}
