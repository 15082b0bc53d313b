//! Counters the server keeps about itself.

use std::sync::atomic::{AtomicU64, Ordering};

/// A number that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, amount: u64) {
        self.0.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The server's counters, shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: Counter,
    pub failed_logins: Counter,
    pub uploads: Counter,
    pub upload_bytes: Counter,
}
