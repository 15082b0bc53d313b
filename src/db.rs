//! Connecting to the database (SQLite by default, PostgreSQL by URL) and migrating it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Counts the SQL statements the connection runs; read by the metrics and by tests that
/// keep the statement count of a request constant.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Where a database URL points.
pub fn backend_of(url: &str) -> anyhow::Result<DatabaseBackend> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseBackend::Postgres)
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
    }
}

/// A SQLite URL opens the file read-write and creates it when missing.
fn normalize_url(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// Opens a pool and counts its statements.
pub async fn connect(
    url: &str,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let backend = backend_of(url)?;
    let mut options = ConnectOptions::new(normalize_url(url));
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let mut db = Database::connect(options)
        .await
        .context("cannot connect to the database named by DATABASE_URL")?;
    if backend == DatabaseBackend::Sqlite {
        // Readers do not block the writer, and a busy database waits instead of failing.
        db.execute_unprepared(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
        )
        .await
        .context("cannot configure the SQLite database")?;
    }
    let counter = StatementCounter::default();
    let count = counter.0.clone();
    db.set_metric_callback(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// Connects, retrying while the database is not up yet (it may start after the server),
/// and gives up after `wait` with a clear message.
pub async fn connect_with_retry(
    url: &str,
    max_connections: u32,
    wait: Duration,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let deadline = std::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(250);
    loop {
        // One attempt may itself wait (the pool retries until its acquire timeout): it
        // gets what is left of `wait`, and at least a second.
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let attempt = match tokio::time::timeout(
            left.max(Duration::from_secs(1)),
            connect(url, max_connections),
        )
        .await
        {
            Ok(attempt) => attempt,
            Err(_) => Err(anyhow::anyhow!(
                "cannot connect to the database named by DATABASE_URL: no answer"
            )),
        };
        match attempt {
            Ok(connected) => return Ok(connected),
            Err(error) if std::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %error, retry_in_ms = pause.as_millis() as u64, "the database does not answer yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                let seconds = wait.as_secs();
                let unit = if seconds == 1 { "second" } else { "seconds" };
                return Err(error.context(format!(
                    "the database named by DATABASE_URL did not answer within {seconds} {unit}"
                )));
            }
        }
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("cannot migrate the database")
}

/// Starts a transaction that is going to write. On SQLite it takes the write lock at
/// `BEGIN IMMEDIATE`: a deferred transaction that reads first cannot upgrade its lock once
/// another connection has written, and fails at once whatever the busy timeout; an
/// immediate one waits its turn instead. PostgreSQL ignores the mode.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
