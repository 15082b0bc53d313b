//! Password hashing on a bounded pool: at most `concurrency` hashes run at once (each
//! holds 19 MiB while it runs), and at most `queue` more wait for a turn. A sign-in that
//! finds the queue full is refused at once, before any hashing, so a flood of sign-ins
//! costs neither memory nor the time of the people signing in legitimately.

use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

/// How many hashes may run and wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSettings {
    /// Hashes that run at once; one per core by default.
    pub concurrency: usize,
    /// Sign-ins that may wait for a free slot; beyond, `TOO_MANY_REQUESTS`.
    pub queue: usize,
}

impl Default for HashSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            concurrency: cores,
            queue: 4 * cores,
        }
    }
}

/// The seconds a refused sign-in is told to wait: about what the queue takes to drain.
const RETRY_AFTER_SECONDS: u64 = 1;

/// Runs hashes, bounded in number at once and in number waiting.
#[derive(Debug)]
pub struct HashPool {
    /// Permits to run a hash; the permit travels into the blocking task, so a request
    /// that is dropped while its hash runs still counts until the hash has finished.
    running: Arc<Semaphore>,
    /// Permits to run or wait; taken without waiting by the sign-ins, which are refused
    /// when none is left.
    admitted: Arc<Semaphore>,
}

impl HashPool {
    pub fn new(settings: HashSettings) -> Self {
        let concurrency = settings.concurrency.max(1);
        Self {
            running: Arc::new(Semaphore::new(concurrency)),
            admitted: Arc::new(Semaphore::new(concurrency.saturating_add(settings.queue))),
        }
    }

    /// The pool for hashing outside sign-in (creating users, changing passwords), which
    /// waits for its turn instead of being refused. The server installs its own pool here
    /// at start-up, so that both kinds of hashing share one bound.
    pub fn shared() -> Arc<HashPool> {
        SHARED
            .get_or_init(|| Arc::new(HashPool::new(HashSettings::default())))
            .clone()
    }

    /// Makes `pool` the shared pool, unless one is in use already (several servers in one
    /// process, as in the tests, share the first one).
    pub fn install_shared(pool: Arc<HashPool>) {
        let _ = SHARED.set(pool);
    }

    /// Runs `work` when a slot is free, however long that takes.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run_admitted(None, work).await
    }

    /// Runs `work` if it can start or queue now; otherwise `TOO_MANY_REQUESTS` at once.
    pub async fn try_run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let admitted =
            self.admitted
                .clone()
                .try_acquire_owned()
                .map_err(|_| AppError::TooManyRequests {
                    retry_after_seconds: RETRY_AFTER_SECONDS,
                })?;
        self.run_admitted(Some(admitted), work).await
    }

    async fn run_admitted<T, F>(
        &self,
        admitted: Option<OwnedSemaphorePermit>,
        work: F,
    ) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|error| AppError::Unexpected(error.into()))?;
        tokio::task::spawn_blocking(move || {
            let outcome = work();
            drop(running);
            drop(admitted);
            outcome
        })
        .await
        .map_err(|error| {
            AppError::Unexpected(anyhow::Error::new(error).context("the hashing task failed"))
        })?
    }
}

static SHARED: OnceLock<Arc<HashPool>> = OnceLock::new();
