//! Settings, from flags or the environment; a bad one stops start-up with one clear line.
//! Each layer owns the settings it reads (`AuthSettings` in the auth service, `HttpSettings`
//! in the HTTP layer, …); this module only assembles them, and only `startup` and `cli`
//! read it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::service::auth::AuthSettings;

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `sqlite://ecoplan.db` (the default) or `postgres://…`.
    pub database_url: String,
    pub addr: SocketAddr,
    pub max_connections: u32,
    /// The largest page a list returns.
    pub max_page_size: u64,
    /// Also create the demo accounts (loopback addresses only).
    pub demo: bool,
    pub auth: AuthSettings,
    /// Where evidence files are kept, when `storage_url` is not set.
    pub storage_dir: PathBuf,
    /// `s3://bucket/prefix` (an object store) or `file:///path`.
    pub storage_url: Option<String>,
    pub object_store: crate::storage::ObjectStoreSettings,
    pub upload: crate::service::evidence::UploadPolicy,
    /// When files of uploads that never committed are removed.
    pub upload_sweep: crate::service::evidence::SweepSettings,
    pub http: crate::http::HttpSettings,
    pub limits: crate::graphql::schema::QueryLimits,
    /// CORS: the origins whose pages may call the API (none by default).
    pub cors_origins: Vec<String>,
    /// Serve `/metrics` on this address instead of the main one.
    pub metrics_addr: Option<SocketAddr>,
    /// How long requests in flight may take to finish after a stop signal.
    pub shutdown_grace: Duration,
    /// How long start-up waits for the database to answer.
    pub database_wait: Duration,
    /// The server's clock: the real time unless moved for operations or tests
    /// (`ECOPLAN_NOW`, `ECOPLAN_CLOCK_OFFSET_DAYS`).
    pub clock: crate::service::clock::Clock,
    /// The thresholds of the traffic lights.
    pub lights: crate::service::light::LightRules,
    /// Webhook delivery of the outbox to the portal.
    pub webhooks: crate::service::webhook::WebhookSettings,
    /// The reminders scheduler.
    pub reminders: crate::service::reminder::ReminderSettings,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://ecoplan.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// SQLite has one writer and gains nothing from a large pool, while each connection keeps
/// its own page cache: four keep the memory down (see BENCHMARKS.md).
pub fn default_max_connections(database_url: &str) -> u32 {
    if database_url.starts_with("sqlite:") {
        4
    } else {
        10
    }
}

pub fn parse_addr(raw: &str) -> anyhow::Result<SocketAddr> {
    raw.trim()
        .parse()
        .with_context(|| format!("ECOPLAN_ADDR `{raw}` is not an address such as 127.0.0.1:8080"))
}

impl Settings {
    pub fn new(database_url: String, addr: SocketAddr) -> Self {
        let max_connections = default_max_connections(&database_url);
        Self {
            database_url,
            addr,
            max_connections,
            max_page_size: crate::service::page::MAX_PAGE_SIZE,
            demo: false,
            auth: AuthSettings::default(),
            storage_dir: PathBuf::from("storage"),
            storage_url: None,
            object_store: crate::storage::ObjectStoreSettings::default(),
            upload: crate::service::evidence::UploadPolicy::default(),
            upload_sweep: crate::service::evidence::SweepSettings::default(),
            http: crate::http::HttpSettings::default(),
            limits: crate::graphql::schema::QueryLimits::default(),
            cors_origins: Vec::new(),
            metrics_addr: None,
            shutdown_grace: Duration::from_secs(30),
            database_wait: Duration::from_secs(30),
            clock: crate::service::clock::Clock::real(),
            lights: crate::service::light::LightRules::default(),
            webhooks: crate::service::webhook::WebhookSettings::default(),
            reminders: crate::service::reminder::ReminderSettings::default(),
        }
    }

    /// Checks the settings together, before anything starts.
    pub fn validate(&self) -> anyhow::Result<()> {
        crate::db::backend_of(&self.database_url)?;
        if self.demo && !self.addr.ip().is_loopback() {
            bail!(
                "--demo creates accounts with published passwords: it is refused unless ECOPLAN_ADDR is a loopback address"
            );
        }
        if self.auth.jwt_secret.is_none() && !self.addr.ip().is_loopback() {
            bail!(
                "ECOPLAN_JWT_SECRET must be set when the server listens on a non-loopback address"
            );
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.len() < 32
        {
            bail!("ECOPLAN_JWT_SECRET must be at least 32 characters long");
        }
        if self.upload.max_bytes == 0 {
            bail!("ECOPLAN_MAX_UPLOAD_BYTES must be at least 1");
        }
        for origin in &self.cors_origins {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && origin.parse::<actix_web::http::Uri>().is_ok();
            if !valid {
                bail!(
                    "ECOPLAN_CORS_ORIGINS: `{origin}` is not an origin such as https://plan.example.gov.cn"
                );
            }
        }
        if !(0.0..=1.0).contains(&self.lights.time_left_share) {
            bail!("ECOPLAN_LIGHT_TIME_LEFT_SHARE must lie between 0 and 1");
        }
        if !self.webhooks.urls.is_empty() && self.webhooks.secret.is_none() {
            bail!("ECOPLAN_WEBHOOK_SECRET must be set when ECOPLAN_WEBHOOK_URLS names endpoints");
        }
        for url in &self.webhooks.urls {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<actix_web::http::Uri>().is_err()
            {
                bail!("ECOPLAN_WEBHOOK_URLS: an endpoint is not an http(s) URL");
            }
        }
        if self.max_page_size == 0 {
            bail!("ECOPLAN_MAX_PAGE_SIZE must be at least 1");
        }
        Ok(())
    }

    /// Where a generated signing secret is kept: beside the SQLite file, or in the working
    /// folder for PostgreSQL.
    pub fn secret_file(&self) -> PathBuf {
        let database_file = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|path| !path.is_empty() && !path.contains(":memory:"));
        match database_file {
            Some(path) => PathBuf::from(format!("{path}.jwt-secret")),
            None => PathBuf::from("ecoplan.jwt-secret"),
        }
    }
}
