//! Password hashing on a bounded pool: `concurrency` threads of its own hash (each hash
//! holds 7 MiB while it runs), and at most `queue` more sign-ins wait for one. A sign-in
//! that finds the queue full is refused at once, before any other work, so that a flood
//! of sign-ins costs neither memory nor the time of the people using the API.
//!
//! The threads run at a lower CPU priority than the rest of the server: while they are
//! busy, requests that do not hash still get the processor first.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use anyhow::Context;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::{AppError, AppResult};

/// How many hashes may run and wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSettings {
    /// Hashes that run at once: one per two cores by default, so that the other cores
    /// stay free for everything else while a flood is hashing.
    pub concurrency: usize,
    /// Sign-ins that may wait for a free slot; beyond, `TOO_MANY_REQUESTS`.
    pub queue: usize,
}

impl Default for HashSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let concurrency = (cores / 2).max(1);
        Self {
            concurrency,
            queue: 4 * concurrency,
        }
    }
}

/// The seconds a refused sign-in is told to wait: about what the queue takes to drain.
const RETRY_AFTER_SECONDS: u64 = 1;

/// How much lower than the server's the hashing threads' priority is (a nice value).
#[cfg(target_os = "linux")]
const HASHING_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Runs hashes on its own threads, bounded in number at once and in number waiting.
#[derive(Debug)]
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
    /// Permits to run or wait, taken without waiting by the sign-ins, which are refused
    /// when none is left. A permit travels with its job, so a sign-in whose client went
    /// away still counts until its hash has finished.
    admitted: Arc<Semaphore>,
}

/// A sign-in's place in the pool: taken before anything else the sign-in does.
pub struct Admission {
    permit: OwnedSemaphorePermit,
}

impl HashPool {
    pub fn new(settings: HashSettings) -> anyhow::Result<Self> {
        let concurrency = settings.concurrency.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..concurrency {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("ecoplan-hash-{index}"))
                .spawn(move || {
                    lower_own_priority();
                    // Ends when the pool, and with it the sender, is dropped.
                    loop {
                        let job = match receiver.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .context("cannot start a password hashing thread")?;
        }
        Ok(Self {
            jobs: sender,
            admitted: Arc::new(Semaphore::new(concurrency.saturating_add(settings.queue))),
        })
    }

    /// The pool for hashing outside sign-in (creating users, changing passwords), which
    /// waits for its turn instead of being refused. The server installs its own pool here
    /// at start-up, so that both kinds of hashing share one bound.
    pub fn shared() -> AppResult<Arc<HashPool>> {
        if let Some(pool) = SHARED.get() {
            return Ok(pool.clone());
        }
        let pool = Arc::new(HashPool::new(HashSettings::default())?);
        Ok(SHARED.get_or_init(|| pool).clone())
    }

    /// Makes `pool` the shared pool, unless one is in use already (several servers in one
    /// process, as in the tests, share the first one).
    pub fn install_shared(pool: Arc<HashPool>) {
        let _ = SHARED.set(pool);
    }

    /// A place to run or wait now, or `TOO_MANY_REQUESTS`.
    pub fn admit(&self) -> AppResult<Admission> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .map(|permit| Admission { permit })
            .map_err(|_| AppError::TooManyRequests {
                retry_after_seconds: RETRY_AFTER_SECONDS,
            })
    }

    /// Runs `work` when a thread is free, however long that takes.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(None, work).await
    }

    /// Runs `work` in the place `admission` holds.
    pub async fn run_admitted<T, F>(&self, admission: Admission, work: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Some(admission.permit), work).await
    }

    async fn submit<T, F>(&self, permit: Option<OwnedSemaphorePermit>, work: F) -> AppResult<T>
    where
        F: FnOnce() -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = work();
            drop(permit);
            let _ = answer.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Unexpected(anyhow::anyhow!("the hashing threads are gone")))?;
        answered.await.map_err(|_| {
            AppError::Unexpected(anyhow::anyhow!("a hashing job ended without an answer"))
        })?
    }
}

/// Lowers the calling thread's CPU priority (on Linux, a nice value is per thread).
fn lower_own_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICENESS);
    }
}

static SHARED: OnceLock<Arc<HashPool>> = OnceLock::new();
