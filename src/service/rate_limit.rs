//! Sign-in attempts per client address: a token bucket per address, kept in memory.
//! Checked before anything else a sign-in does, so an attempt over the rate costs no
//! database work and no hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{AppError, AppResult};

/// The most addresses tracked at once: a flood from many addresses cannot grow the map
/// without bound. Beyond it, addresses not seen yet are refused until old ones expire.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// Attempts allowed per address and minute; an address may spend a minute's worth at once.
#[derive(Debug)]
pub struct SignInRate {
    per_minute: u32,
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    by_address: HashMap<IpAddr, Bucket>,
    pruned: Instant,
}

/// How often buckets that have filled up again (the same as no bucket) are dropped.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl SignInRate {
    /// `per_minute` of 0 switches the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(Buckets {
                by_address: HashMap::new(),
                pruned: Instant::now(),
            }),
        }
    }

    /// Takes one attempt for `address`, or says how long to wait for the next one.
    pub fn check(&self, address: Option<IpAddr>) -> AppResult<()> {
        self.check_at(address, Instant::now())
    }

    /// Whether `address` would be refused now, without taking an attempt: cheap enough
    /// for the HTTP layer to refuse its requests before reading them.
    pub fn peek(&self, address: Option<IpAddr>) -> AppResult<()> {
        self.peek_at(address, Instant::now())
    }

    fn peek_at(&self, address: Option<IpAddr>, now: Instant) -> AppResult<()> {
        let Some(address) = address else {
            return Ok(());
        };
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let guard = self.buckets.lock().map_err(|_| {
            AppError::Unexpected(anyhow::anyhow!("the sign-in rate lock is poisoned"))
        })?;
        match guard.by_address.get(&address) {
            Some(bucket) => {
                let tokens = (bucket.tokens
                    + now.duration_since(bucket.updated).as_secs_f64() * per_second)
                    .min(capacity);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(AppError::TooManyRequests {
                        retry_after_seconds: ((1.0 - tokens) / per_second).ceil().max(1.0) as u64,
                    })
                }
            }
            // Left to `check`, which prunes first and may then find room.
            None => Ok(()),
        }
    }

    fn check_at(&self, address: Option<IpAddr>, now: Instant) -> AppResult<()> {
        let Some(address) = address else {
            return Ok(());
        };
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut guard = self.buckets.lock().map_err(|_| {
            AppError::Unexpected(anyhow::anyhow!("the sign-in rate lock is poisoned"))
        })?;
        let Buckets { by_address, pruned } = &mut *guard;
        let full = by_address.len() >= MAX_TRACKED_ADDRESSES;
        // At most once a minute, or once a second when full: never a scan per request.
        let every = if full {
            std::time::Duration::from_secs(1)
        } else {
            PRUNE_EVERY
        };
        if now.duration_since(*pruned) >= every && !by_address.is_empty() {
            by_address.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second
                    < capacity
            });
            by_address.shrink_to_fit();
            *pruned = now;
        }
        if by_address.len() >= MAX_TRACKED_ADDRESSES && !by_address.contains_key(&address) {
            return Err(AppError::TooManyRequests {
                retry_after_seconds: 60,
            });
        }
        let bucket = by_address.entry(address).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refilled =
            bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0);
            Err(AppError::TooManyRequests {
                retry_after_seconds: wait as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_gets_a_minutes_worth_then_waits_for_the_refill() {
        let rate = SignInRate::new(3);
        let address = Some(IpAddr::from([192, 0, 2, 1]));
        let other = Some(IpAddr::from([192, 0, 2, 2]));
        let start = Instant::now();
        for _ in 0..3 {
            assert!(rate.check_at(address, start).is_ok());
        }
        match rate.check_at(address, start) {
            Err(AppError::TooManyRequests {
                retry_after_seconds,
            }) => assert_eq!(retry_after_seconds, 20),
            other => panic!("expected TOO_MANY_REQUESTS, got {other:?}"),
        }
        assert!(rate.check_at(other, start).is_ok());
        // Looking takes nothing: the other address still has attempts left after it.
        assert!(rate.peek_at(address, start).is_err());
        assert!(rate.peek_at(other, start).is_ok());
        assert!(rate.check_at(other, start).is_ok());
        assert!(
            rate.peek_at(address, start + Duration::from_secs(21))
                .is_ok()
        );
        assert!(
            rate.check_at(address, start + Duration::from_secs(21))
                .is_ok()
        );
    }
}
