//! Answers that many viewers share (the leadership tree, a department's home, the public
//! view) kept as serialized bytes and served again.
//!
//! An answer is kept only when it was made from the plan snapshot alone (no statement
//! beyond the data revision, see `graphql::context::DatabaseUse`) and has no errors, so it
//! is fully determined by its key: the operation text, its name and variables, the
//! viewer's read scope, the city's date and the data revision. A new revision empties the
//! cache, so an answer is never older than the snapshot a fresh execution would read.
//! Concurrent requests for the same key wait for one execution instead of each building
//! the same large answer. Memory is bounded by a byte budget, least recently used first.

use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;
use chrono::NaiveDate;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::service::policy::ReadScope;

/// What identifies an answer; a digest, so keys stay small whatever the operation's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnswerKey([u8; 32]);

impl AnswerKey {
    pub fn new(
        query: &str,
        operation_name: Option<&str>,
        variables: &str,
        scope: ReadScope,
        today: NaiveDate,
        revision: i64,
    ) -> Self {
        let mut digest = Sha256::new();
        for part in [query, operation_name.unwrap_or(""), variables] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        let (kind, department) = match scope {
            ReadScope::Everything => (0u8, 0),
            ReadScope::Department(id) => (1, id),
            ReadScope::Public => (2, 0),
            ReadScope::Nothing => (3, 0),
        };
        digest.update([kind]);
        digest.update(department.to_le_bytes());
        digest.update(today.to_string().as_bytes());
        digest.update(revision.to_le_bytes());
        Self(digest.finalize().into())
    }
}

/// The outcome of one execution: bytes to share, or `None` when the answer is not one
/// that may be shared (the waiting requests then execute for themselves).
type Slot = Arc<tokio::sync::OnceCell<Option<Bytes>>>;

struct Entries {
    revision: i64,
    slots: LruCache<AnswerKey, Slot>,
    bytes: usize,
}

/// The cache of shared answers.
pub struct ResponseCache {
    budget_bytes: usize,
    entries: Mutex<Entries>,
}

/// Whether a lookup found an answer, or what to do to make one.
pub enum Lookup {
    Hit(Bytes),
    /// Execute (or wait for the execution already running) through this slot.
    Fill(Slot),
}

impl ResponseCache {
    /// A cache holding at most `budget_bytes` of answers; `None` when switched off.
    pub fn new(budget_bytes: usize) -> Option<Self> {
        (budget_bytes > 0).then(|| Self {
            budget_bytes,
            entries: Mutex::new(Entries {
                revision: 0,
                slots: LruCache::unbounded(),
                bytes: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The answer under `key`, or the slot that the caller fills (or waits on).
    pub fn lookup(&self, key: AnswerKey, revision: i64) -> Lookup {
        let mut entries = self.lock();
        if revision > entries.revision {
            // Everything kept belongs to an older revision.
            entries.slots.clear();
            entries.bytes = 0;
            entries.revision = revision;
        }
        if let Some(slot) = entries.slots.get(&key)
            && let Some(Some(bytes)) = slot.get()
        {
            return Lookup::Hit(bytes.clone());
        }
        let slot = entries
            .slots
            .get_or_insert(key, || Arc::new(tokio::sync::OnceCell::new()))
            .clone();
        Lookup::Fill(slot)
    }

    /// Records how a slot was filled: keeps shared bytes within the budget, forgets a slot
    /// whose answer may not be shared.
    pub fn settle(&self, key: AnswerKey, revision: i64, kept: Option<&Bytes>) {
        let mut entries = self.lock();
        if entries.revision != revision {
            return;
        }
        match kept {
            Some(bytes) if bytes.len() <= self.budget_bytes => {
                entries.bytes += bytes.len();
                while entries.bytes > self.budget_bytes {
                    let Some((_, evicted)) = entries.slots.pop_lru() else {
                        break;
                    };
                    if let Some(Some(bytes)) = evicted.get() {
                        entries.bytes = entries.bytes.saturating_sub(bytes.len());
                    }
                }
            }
            _ => {
                entries.slots.pop(&key);
            }
        }
    }
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ResponseCache")
            .field("budget_bytes", &self.budget_bytes)
            .finish()
    }
}
