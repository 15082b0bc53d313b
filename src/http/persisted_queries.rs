//! Automatic persisted queries, as Apollo's clients speak them: a client sends only the
//! SHA-256 of its document (`extensions.persistedQuery.sha256Hash`); the first time, the
//! server answers `PERSISTED_QUERY_NOT_FOUND` and the client sends the document with its
//! hash, which the server checks and keeps. Documents are kept by their hash, least
//! recently used first out, within a bound on their bytes.

use std::sync::Mutex;

use async_graphql::Request;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// The only version of the protocol.
const PROTOCOL_VERSION: i64 = 1;

/// Documents kept by the SHA-256 of their text.
pub struct PersistedQueries {
    kept: Mutex<Kept>,
    max_bytes: usize,
}

struct Kept {
    documents: LruCache<[u8; 32], std::sync::Arc<str>>,
    bytes: usize,
}

/// What a request asks of the persisted documents.
enum Wanted {
    /// No `persistedQuery` extension: an ordinary request.
    Nothing,
    Hash([u8; 32]),
}

impl PersistedQueries {
    /// Keeps documents up to `max_bytes` of text in all.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            kept: Mutex::new(Kept {
                documents: LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    /// Fills in the document of a request that sends only its hash, or keeps the document
    /// of one that sends both; leaves an ordinary request as it is.
    pub fn resolve(&self, request: &mut Request) -> AppResult<()> {
        let hash = match wanted(request)? {
            Wanted::Nothing => return Ok(()),
            Wanted::Hash(hash) => hash,
        };
        if request.query.is_empty() {
            let found = self.lock().documents.get(&hash).cloned();
            return match found {
                Some(document) => {
                    request.query = document.to_string();
                    Ok(())
                }
                None => Err(AppError::PersistedQueryNotFound),
            };
        }
        let actual: [u8; 32] = Sha256::digest(request.query.as_bytes()).into();
        if actual != hash {
            return Err(AppError::bad_field(
                "extensions.persistedQuery.sha256Hash",
                "the hash is not the SHA-256 of the query",
            ));
        }
        self.keep(hash, &request.query);
        Ok(())
    }

    fn keep(&self, hash: [u8; 32], document: &str) {
        if document.len() > self.max_bytes {
            return;
        }
        let mut kept = self.lock();
        if kept.documents.contains(&hash) {
            kept.documents.promote(&hash);
            return;
        }
        while kept.bytes + document.len() > self.max_bytes {
            let Some((_, evicted)) = kept.documents.pop_lru() else {
                break;
            };
            kept.bytes -= evicted.len();
        }
        kept.bytes += document.len();
        kept.documents.put(hash, std::sync::Arc::from(document));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // The map stays consistent whatever a panicking holder did: at worst a count of
        // bytes is off until the entry is evicted.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bytes of the documents kept now.
    pub fn kept_bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// The hash a request's `persistedQuery` extension names, checked.
fn wanted(request: &Request) -> AppResult<Wanted> {
    use async_graphql::Value;
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Ok(Wanted::Nothing);
    };
    let Value::Object(fields) = extension else {
        return Err(AppError::bad_field(
            "extensions.persistedQuery",
            "persistedQuery is an object with `version` and `sha256Hash`",
        ));
    };
    let version = match fields.get("version") {
        Some(Value::Number(number)) => number.as_i64(),
        _ => None,
    };
    if version != Some(PROTOCOL_VERSION) {
        return Err(AppError::bad_field(
            "extensions.persistedQuery.version",
            "the persisted query protocol has version 1 only",
        ));
    }
    let hash = match fields.get("sha256Hash") {
        Some(Value::String(hex)) => parse_hash(hex),
        _ => None,
    };
    hash.map(Wanted::Hash).ok_or_else(|| {
        AppError::bad_field(
            "extensions.persistedQuery.sha256Hash",
            "sha256Hash is the SHA-256 of the query, 64 hexadecimal digits",
        )
    })
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (place, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(place * 2..place * 2 + 2)?, 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(document: &str) -> String {
        Sha256::digest(document.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    fn request(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        request.extensions.insert(
            "persistedQuery".to_owned(),
            async_graphql::value!({ "version": 1, "sha256Hash": hash }),
        );
        request
    }

    #[test]
    fn a_hash_is_found_once_its_document_was_sent() {
        let kept = PersistedQueries::new(1024);
        let document = "{ me { username } }";
        let mut only_hash = request("", &hex(document));
        assert!(matches!(
            kept.resolve(&mut only_hash),
            Err(AppError::PersistedQueryNotFound)
        ));
        kept.resolve(&mut request(document, &hex(document)))
            .unwrap();
        let mut only_hash = request("", &hex(document));
        kept.resolve(&mut only_hash).unwrap();
        assert_eq!(only_hash.query, document);
    }

    #[test]
    fn a_document_with_another_hash_is_refused_and_not_kept() {
        let kept = PersistedQueries::new(1024);
        let error = kept
            .resolve(&mut request(
                "{ me { username } }",
                &hex("{ plans { id } }"),
            ))
            .unwrap_err();
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert_eq!(kept.kept_bytes(), 0);
        let mut upper = request("{ a }", &hex("{ a }").to_uppercase());
        kept.resolve(&mut upper).unwrap();
        let mut short = request("{ a }", "abc");
        assert_eq!(
            kept.resolve(&mut short).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn the_documents_kept_stay_within_their_bytes() {
        let kept = PersistedQueries::new(100);
        let documents: Vec<String> = (0..10).map(|n| format!("{{ f{n:0>30} }}")).collect();
        for document in &documents {
            kept.resolve(&mut request(document, &hex(document)))
                .unwrap();
            assert!(kept.kept_bytes() <= 100);
        }
        // The newest are still there, the oldest are gone.
        let newest = documents.last().unwrap();
        kept.resolve(&mut request("", &hex(newest))).unwrap();
        assert!(matches!(
            kept.resolve(&mut request("", &hex(&documents[0]))),
            Err(AppError::PersistedQueryNotFound)
        ));
    }

    #[test]
    fn an_ordinary_request_is_left_alone() {
        let kept = PersistedQueries::new(100);
        let mut plain = Request::new("{ me { username } }");
        kept.resolve(&mut plain).unwrap();
        assert_eq!(plain.query, "{ me { username } }");
        let mut wrong_version = request("", &hex("{ a }"));
        wrong_version.extensions.insert(
            "persistedQuery".to_owned(),
            async_graphql::value!({ "version": 2, "sha256Hash": hex("{ a }") }),
        );
        assert_eq!(
            kept.resolve(&mut wrong_version).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
