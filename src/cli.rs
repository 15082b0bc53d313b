//! The `ecoplan` command line: serve (the default), migrate, seed, plan, schema and user.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::db;
use crate::graphql::schema::schema_sdl;
use crate::service::audit::Caller;
use crate::service::auth::PortalSettings;
use crate::service::department::resolve_department;
use crate::service::plan_document::{ImportOptions, import_plan_document, plan_file_toml};
use crate::service::plan_import::known_departments;
use crate::service::policy::{Role, Viewer};
use crate::service::portal_keys::PortalKeySource;
use crate::service::seed::{SeedOutcome, TANGSHAN_2022, seed_plan};
use crate::service::user::{self, NewUser};
use crate::settings::{DEFAULT_ADDR, DEFAULT_DATABASE_URL, Settings, parse_addr};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "ecoplan",
    version,
    about = "Runs a municipal work plan over GraphQL"
)]
pub struct Cli {
    /// `sqlite://FILE` (created when missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per process: the size of the serve variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, load the plan, and serve the API (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Load a plan file unless its plan is already there (the built-in 2022 plan by default).
    Seed {
        /// A plan file in the layout of `data/plans/tangshan-2022.toml`.
        #[arg(long)]
        plan_file: Option<PathBuf>,
    },
    /// Work with plans and their documents.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Send the reminders and escalations that are due and were not sent before (each
    /// once); `--dry-run` lists them and writes nothing.
    Remind {
        /// List what would be sent; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        chasing: ChasingArgs,
    },
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ECOPLAN_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Also create the demo accounts (loopback addresses only).
    #[arg(long)]
    pub demo: bool,
    /// How long a token lasts, in minutes.
    #[arg(long, env = "ECOPLAN_TOKEN_LIFETIME_MINUTES", default_value_t = 480)]
    pub token_lifetime_minutes: u64,
    /// How long after a sign-in `refreshToken` still gives a new token, in hours.
    #[arg(long, env = "ECOPLAN_SESSION_MAX_AGE_HOURS", default_value_t = 24)]
    pub session_max_age_hours: u64,
    /// How long a signed download link (`Evidence.downloadLink`) works, in minutes.
    #[arg(long, env = "ECOPLAN_DOWNLOAD_LINK_MINUTES", default_value_t = 10)]
    pub download_link_minutes: u64,
    /// The address clients reach the server at (`https://ecoplan.example.gov.cn`), for
    /// the absolute links it gives; by default, the address each request was sent to.
    #[arg(long, env = "ECOPLAN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Failed sign-ins within the window that lock a username.
    #[arg(long, env = "ECOPLAN_LOCKOUT_ATTEMPTS", default_value_t = 5)]
    pub lockout_attempts: u32,
    /// The window, and the length of a lock-out, in minutes.
    #[arg(long, env = "ECOPLAN_LOCKOUT_MINUTES", default_value_t = 15)]
    pub lockout_minutes: u64,
    /// Password hashes that run at once (one per two cores by default).
    #[arg(long, env = "ECOPLAN_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,
    /// Sign-ins that may wait for a hash; beyond, TOO_MANY_REQUESTS (4 per hash slot by default).
    #[arg(long, env = "ECOPLAN_HASH_QUEUE")]
    pub hash_queue: Option<usize>,
    /// Sign-in attempts per client address and minute; 0 switches the limit off.
    #[arg(long, env = "ECOPLAN_LOGIN_RATE", default_value_t = crate::service::auth::DEFAULT_LOGIN_RATE_PER_MINUTE)]
    pub login_rate: u32,
    /// Proxies whose X-Forwarded-For names the client: addresses or networks, comma-separated.
    #[arg(long, env = "ECOPLAN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// GraphQL requests without a signed token in progress at once; more wait their turn.
    #[arg(long, env = "ECOPLAN_ANONYMOUS_CONCURRENCY")]
    pub anonymous_concurrency: Option<usize>,
    /// GraphQL requests without a signed token that may wait for a place; beyond, they are
    /// refused unread with TOO_MANY_REQUESTS.
    #[arg(long, env = "ECOPLAN_ANONYMOUS_QUEUE", default_value_t = crate::http::DEFAULT_ANONYMOUS_QUEUE)]
    pub anonymous_queue: usize,
    /// The largest page a list returns.
    #[arg(long, env = "ECOPLAN_MAX_PAGE_SIZE", default_value_t = crate::service::page::MAX_PAGE_SIZE)]
    pub max_page_size: u64,
    /// Database connections in the pool (4 for SQLite, 10 for PostgreSQL by default).
    #[arg(long, env = "ECOPLAN_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Where evidence files are kept.
    #[arg(long, env = "ECOPLAN_STORAGE_DIR", default_value = "storage")]
    pub storage_dir: PathBuf,
    /// Where evidence files are kept, as a URL: `s3://bucket/prefix` for an S3-compatible
    /// object store (reached with AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP), or `file:///path`; ECOPLAN_STORAGE_DIR when
    /// not set.
    #[arg(long, env = "ECOPLAN_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The largest evidence file accepted, in bytes (50 MiB by default).
    #[arg(long, env = "ECOPLAN_MAX_UPLOAD_BYTES", default_value_t = crate::service::evidence::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Content types accepted as evidence, comma-separated (PDF, images, Office, text and zip by default).
    #[arg(long, env = "ECOPLAN_UPLOAD_TYPES", value_delimiter = ',')]
    pub upload_types: Vec<String>,
    /// What an uploaded archive (zip, Office, OpenDocument) may unpack to, in bytes.
    #[arg(long, env = "ECOPLAN_UPLOAD_MAX_UNPACKED_BYTES", default_value_t = crate::service::evidence::DEFAULT_MAX_UNPACKED_BYTES)]
    pub upload_max_unpacked_bytes: u64,
    /// How many times its own size an uploaded archive may unpack to.
    #[arg(long, env = "ECOPLAN_UPLOAD_MAX_COMPRESSION_RATIO", default_value_t = crate::service::evidence::DEFAULT_MAX_COMPRESSION_RATIO)]
    pub upload_max_compression_ratio: u64,
    /// Seconds between looks for files of uploads that never committed.
    #[arg(long, env = "ECOPLAN_UPLOAD_SWEEP_SECS", default_value_t = 900)]
    pub upload_sweep_secs: u64,
    /// How old such a file must be before it is removed, in seconds (an upload in flight
    /// keeps its file).
    #[arg(long, env = "ECOPLAN_UPLOAD_GRACE_SECS", default_value_t = 3600)]
    pub upload_grace_secs: u64,
    /// The largest request body outside uploads, in bytes.
    #[arg(long, env = "ECOPLAN_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: u64,
    /// The longest a GraphQL operation may run, in seconds.
    #[arg(long, env = "ECOPLAN_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Keep and share answers made from the plan alone: `on` or `off`.
    #[arg(long, env = "ECOPLAN_RESPONSE_CACHE", default_value = "on", value_parser = ["on", "off"])]
    pub response_cache: String,
    /// How much memory shared answers may take, in MiB.
    #[arg(long, env = "ECOPLAN_RESPONSE_CACHE_MIB", default_value_t = 16)]
    pub response_cache_mib: usize,
    /// How much text of persisted documents (automatic persisted queries) is kept, in MiB.
    #[arg(long, env = "ECOPLAN_PERSISTED_QUERIES_MIB", default_value_t = 4)]
    pub persisted_queries_mib: usize,
    /// How many WebSocket connections (subscriptions) may be open at once; beyond, an
    /// upgrade is refused with 429 and `Retry-After`.
    #[arg(long, env = "ECOPLAN_MAX_LIVE_CONNECTIONS", default_value_t = 1024)]
    pub max_live_connections: usize,
    /// How many WebSocket connections one user may have open at once; beyond, the
    /// `connection_init` is refused and the connection closed with 4429.
    #[arg(
        long,
        env = "ECOPLAN_MAX_LIVE_CONNECTIONS_PER_USER",
        default_value_t = 8
    )]
    pub max_live_connections_per_user: usize,
    /// How many GraphQL operations may run at once (others wait their turn); by default
    /// four per processor core, at least eight.
    #[arg(long, env = "ECOPLAN_MAX_CONCURRENT_OPERATIONS")]
    pub max_concurrent_operations: Option<usize>,
    /// Deepest nesting an operation may have.
    #[arg(long, env = "ECOPLAN_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Highest complexity (fields, weighted) an operation may have.
    #[arg(long, env = "ECOPLAN_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,
    /// Most aliases in one operation.
    #[arg(long, env = "ECOPLAN_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(long, env = "ECOPLAN_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: usize,
    /// Answer introspection queries (switch off for a hardened deployment).
    #[arg(long, env = "ECOPLAN_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Origins whose pages may call the API, comma-separated (none by default).
    #[arg(long, env = "ECOPLAN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Serve /metrics on this address instead of the main one.
    #[arg(long, env = "ECOPLAN_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Seconds that requests in flight get to finish after SIGTERM.
    #[arg(long, env = "ECOPLAN_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Seconds start-up waits for the database to answer.
    #[arg(long, env = "ECOPLAN_DB_WAIT_SECS", default_value_t = 30)]
    pub db_wait_secs: u64,
    /// The portal's public key (PEM) or key set (JWKS), to accept its tokens.
    #[arg(long, env = "ECOPLAN_PORTAL_KEY_FILE")]
    pub portal_key_file: Option<PathBuf>,
    /// The identity provider's JWKS URL (HTTPS), instead of a key file. With neither, the
    /// keys are found by OpenID Connect discovery from the issuer.
    #[arg(long, env = "ECOPLAN_PORTAL_JWKS_URL")]
    pub portal_jwks_url: Option<String>,
    #[arg(long, env = "ECOPLAN_PORTAL_ISSUER")]
    pub portal_issuer: Option<String>,
    #[arg(long, env = "ECOPLAN_PORTAL_AUDIENCE")]
    pub portal_audience: Option<String>,
    /// The claim of a portal token that holds the ecoplan username.
    #[arg(
        long,
        env = "ECOPLAN_PORTAL_USERNAME_CLAIM",
        default_value = "preferred_username"
    )]
    pub portal_username_claim: String,
    /// Seconds a portal token's times may be off, for clocks that disagree.
    #[arg(long, env = "ECOPLAN_PORTAL_LEEWAY_SECONDS", default_value_t = crate::service::auth::DEFAULT_PORTAL_LEEWAY_SECONDS)]
    pub portal_leeway_seconds: u64,
    /// The least seconds between two fetches of the portal's keys for a token naming a
    /// key the set does not hold.
    #[arg(long, env = "ECOPLAN_PORTAL_JWKS_REFETCH_SECONDS", default_value_t = crate::service::portal_keys::DEFAULT_REFETCH_SECONDS)]
    pub portal_jwks_refetch_seconds: u64,
    #[command(flatten)]
    pub chasing: ChasingArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// The clock, the lights' thresholds and the reminders (serve and remind).
#[derive(Debug, Args, Default)]
pub struct ChasingArgs {
    /// Operations and testing only: start the server's clock at this time (RFC 3339, or a
    /// date taken as 09:00 city time), for lateness, lights and reminders.
    #[arg(long, env = "ECOPLAN_NOW")]
    pub now: Option<String>,
    /// Operations and testing only: run the server's clock this many days ahead (negative:
    /// behind); ignored when ECOPLAN_NOW is set.
    #[arg(long, env = "ECOPLAN_CLOCK_OFFSET_DAYS", allow_negative_numbers = true)]
    pub clock_offset_days: Option<i64>,
    /// A report or value due within this many days and not submitted is yellow.
    #[arg(long, env = "ECOPLAN_LIGHT_DUE_SOON_DAYS", default_value_t = crate::service::light::DEFAULT_DUE_SOON_DAYS)]
    pub light_due_soon_days: u32,
    /// A task not started with this share of its time left (0–1) is yellow.
    #[arg(long, env = "ECOPLAN_LIGHT_TIME_LEFT_SHARE", default_value_t = crate::service::light::DEFAULT_TIME_LEFT_SHARE)]
    pub light_time_left_share: f64,
    /// Seconds between two runs of the reminders scheduler; 0 switches it off.
    #[arg(
        long,
        env = "ECOPLAN_REMINDER_INTERVAL_SECONDS",
        default_value_t = 3600
    )]
    pub reminder_interval_seconds: u64,
    /// Days before a deadline at which reminders go out, comma-separated.
    #[arg(
        long,
        env = "ECOPLAN_REMINDER_DAYS_BEFORE",
        value_delimiter = ',',
        default_value = "7,1"
    )]
    pub reminder_days_before: Vec<u32>,
}

impl ChasingArgs {
    fn apply(&self, settings: &mut Settings) -> anyhow::Result<()> {
        settings.clock = match (&self.now, self.clock_offset_days) {
            (Some(now), _) => crate::service::clock::Clock::parse_now(now)?,
            (None, Some(days)) => crate::service::clock::Clock::offset_by_days(days),
            (None, None) => crate::service::clock::Clock::real(),
        };
        settings.lights = crate::service::light::LightRules {
            due_soon_days: self.light_due_soon_days,
            time_left_share: self.light_time_left_share,
        };
        settings.reminders = crate::service::reminder::ReminderSettings {
            interval: Duration::from_secs(self.reminder_interval_seconds),
            days_before: self.reminder_days_before.clone(),
        };
        Ok(())
    }
}

/// Webhook delivery to the portal.
#[derive(Debug, Args, Default)]
pub struct WebhookArgs {
    /// Endpoints that receive every event by webhook, comma-separated.
    #[arg(long, env = "ECOPLAN_WEBHOOK_URLS", value_delimiter = ',')]
    pub webhook_urls: Vec<String>,
    /// Milliseconds between looks for webhook deliveries to make.
    #[arg(long, env = "ECOPLAN_WEBHOOK_POLL_MS", default_value_t = 1000)]
    pub webhook_poll_ms: u64,
    /// Seconds one webhook attempt may take.
    #[arg(long, env = "ECOPLAN_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u64,
    /// Milliseconds before the first retry of a failed delivery (doubled after each further failure).
    #[arg(long, env = "ECOPLAN_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000)]
    pub webhook_retry_base_ms: u64,
    /// The longest wait between two attempts, in seconds.
    #[arg(
        long,
        env = "ECOPLAN_WEBHOOK_RETRY_MAX_SECONDS",
        default_value_t = 3600
    )]
    pub webhook_retry_max_seconds: u64,
    /// Seconds an instance holds a delivery it attempts before another may take it over.
    #[arg(long, env = "ECOPLAN_WEBHOOK_LEASE_SECONDS", default_value_t = 60)]
    pub webhook_lease_seconds: u64,
}

impl WebhookArgs {
    fn settings(&self) -> crate::service::webhook::WebhookSettings {
        crate::service::webhook::WebhookSettings {
            urls: self
                .webhook_urls
                .iter()
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty())
                .collect(),
            // From the environment only, never a flag that `ps` would show.
            secret: std::env::var("ECOPLAN_WEBHOOK_SECRET")
                .ok()
                .filter(|secret| !secret.is_empty()),
            poll_interval: Duration::from_millis(self.webhook_poll_ms.max(10)),
            timeout: Duration::from_secs(self.webhook_timeout_seconds.max(1)),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms.max(1)),
            retry_max: Duration::from_secs(self.webhook_retry_max_seconds.max(1)),
            lease: Duration::from_secs(self.webhook_lease_seconds.max(1)),
        }
    }
}

/// More than ten minutes of clock skew is a clock to fix, not to allow.
const MAX_PORTAL_LEEWAY_SECONDS: u64 = 600;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Read a plan document (UTF-8 text, Traditional or Simplified) into a plan file for
    /// `seed --plan-file`, and print what must be checked in it.
    ImportText {
        /// The document.
        file: PathBuf,
        /// The new plan's key, e.g. `tangshan-2023`.
        #[arg(long)]
        key: String,
        /// The year the plan is for.
        #[arg(long)]
        year: i32,
        /// Where to write the plan file (standard output by default).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password comes from ECOPLAN_PASSWORD or standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, leadership, department or portal.
        #[arg(long)]
        role: String,
        /// The department by code, full name or alias (either script); department users only.
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Deactivate a user; its tokens stop working at once.
    Deactivate { username: String },
}

/// Runs the command line; errors come back as one line for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&cli.database_url, ServeArgs::parse_defaults()?).await,
        Some(Command::Serve(args)) => serve(&cli.database_url, args).await,
        Some(Command::Migrate) => {
            let (db, _) = db::connect(&cli.database_url, 2).await?;
            db::migrate(&db).await?;
            println!("the database is up to date");
            Ok(())
        }
        Some(Command::Seed { plan_file }) => {
            let source = match plan_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the plan file {}", path.display()))?,
                None => TANGSHAN_2022.to_owned(),
            };
            let (db, _) = db::connect(&cli.database_url, 2).await?;
            db::migrate(&db).await?;
            match seed_plan(&db, &source).await.map_err(one_line)? {
                SeedOutcome::Loaded { plan_key, tasks } => {
                    println!("loaded plan {plan_key} with {tasks} tasks")
                }
                SeedOutcome::AlreadyPresent { plan_key } => {
                    println!("plan {plan_key} is already loaded; nothing changed")
                }
            }
            Ok(())
        }
        Some(Command::Plan(PlanCommand::ImportText {
            file,
            key,
            year,
            output,
        })) => import_text(&cli.database_url, &file, key, year, output.as_deref()).await,
        Some(Command::Schema) => {
            print!("{}", schema_sdl());
            Ok(())
        }
        Some(Command::User(command)) => run_user_command(&cli.database_url, command).await,
        Some(Command::Remind { dry_run, chasing }) => {
            remind(&cli.database_url, dry_run, &chasing).await
        }
    }
}

/// `ecoplan remind [--dry-run]`: one line per notification, `kind → recipient: message`.
async fn remind(database_url: &str, dry_run: bool, chasing: &ChasingArgs) -> anyhow::Result<()> {
    use crate::service::reminder::{due_notifications, send_due, unsent};
    let mut settings = Settings::new(database_url.to_owned(), parse_addr(DEFAULT_ADDR)?);
    chasing.apply(&mut settings)?;
    let (db, _) = db::connect(database_url, 2).await?;
    db::migrate(&db).await?;
    let snapshot = crate::service::snapshot::SnapshotStore::default()
        .current(&db)
        .await
        .map_err(one_line)?;
    let recipients = |id: Option<i64>| match id.and_then(|id| snapshot.department_index(id)) {
        Some(index) => snapshot.departments[index].row.name.clone(),
        None => "領導小組辦公室 (LEADERSHIP)".to_owned(),
    };
    let due = due_notifications(
        &db,
        snapshot.clone(),
        settings.clock,
        settings.lights,
        &settings.reminders,
    )
    .await
    .map_err(one_line)?;
    let lines: Vec<(String, Option<i64>, String)> = if dry_run {
        unsent(&db, due)
            .await
            .map_err(one_line)?
            .into_iter()
            .map(|item| {
                let department = match item.recipient {
                    crate::service::notification::Recipient::Department(id) => Some(id),
                    crate::service::notification::Recipient::Leadership => None,
                };
                (item.kind.as_str().to_owned(), department, item.message)
            })
            .collect()
    } else {
        send_due(&db, due, settings.clock)
            .await
            .map_err(one_line)?
            .into_iter()
            .map(|row| (row.kind, row.recipient_department_id, row.message))
            .collect()
    };
    for (kind, department, message) in &lines {
        println!("{kind} → {}: {message}", recipients(*department));
    }
    let verb = if dry_run { "would be sent" } else { "sent" };
    println!("{} notifications {verb}", lines.len());
    Ok(())
}

impl ServeArgs {
    /// The serve settings when no subcommand is given (flags and environment as usual).
    fn parse_defaults() -> anyhow::Result<Self> {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Ok(Wrapper::try_parse_from(["ecoplan"])?.serve)
    }

    pub fn into_settings(self, database_url: &str) -> anyhow::Result<Settings> {
        let mut settings = Settings::new(database_url.to_owned(), parse_addr(&self.addr)?);
        settings.demo = self.demo;
        self.chasing.apply(&mut settings)?;
        settings.webhooks = self.webhooks.settings();
        settings.max_page_size = self.max_page_size;
        if let Some(max_connections) = self.db_max_connections {
            settings.max_connections = max_connections.max(1);
        }
        settings.storage_dir = self.storage_dir;
        settings.storage_url = self.storage_url;
        settings.object_store = object_store_from_env();
        settings.http.max_body_bytes = self.max_body_bytes.max(1024);
        settings.http.request_timeout = Duration::from_secs(self.request_timeout_secs.max(1));
        settings.http.response_cache_bytes = if self.response_cache == "off" {
            0
        } else {
            self.response_cache_mib.saturating_mul(1024 * 1024)
        };
        settings.http.persisted_query_bytes =
            self.persisted_queries_mib.saturating_mul(1024 * 1024);
        settings.http.max_live_connections = self.max_live_connections.max(1);
        settings.http.max_live_connections_per_user = self.max_live_connections_per_user.max(1);
        if let Some(operations) = self.max_concurrent_operations {
            settings.http.max_concurrent_operations = operations.max(1);
        }
        settings.http.metrics_token = std::env::var("ECOPLAN_METRICS_TOKEN")
            .ok()
            .filter(|s| !s.is_empty());
        settings.limits.max_depth = self.max_depth;
        settings.limits.max_complexity = self.max_complexity;
        settings.limits.max_aliases = self.max_aliases;
        settings.limits.max_root_fields = self.max_root_fields;
        settings.limits.introspection = self.introspection;
        settings.cors_origins = self
            .cors_origins
            .iter()
            .map(|origin| origin.trim().to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        settings.metrics_addr = match &self.metrics_addr {
            Some(raw) => Some(raw.trim().parse().with_context(|| {
                format!("ECOPLAN_METRICS_ADDR `{raw}` is not an address such as 127.0.0.1:9090")
            })?),
            None => None,
        };
        settings.shutdown_grace = Duration::from_secs(self.shutdown_grace_secs);
        settings.database_wait = Duration::from_secs(self.db_wait_secs);
        settings.upload.max_bytes = self.max_upload_bytes;
        settings.upload.max_unpacked_bytes = self.upload_max_unpacked_bytes;
        settings.upload.max_compression_ratio = self.upload_max_compression_ratio.max(1);
        settings.upload_sweep.interval = Duration::from_secs(self.upload_sweep_secs.max(1));
        settings.upload_sweep.grace = Duration::from_secs(self.upload_grace_secs);
        let upload_types: Vec<String> = self
            .upload_types
            .iter()
            .map(|kind| kind.trim().to_ascii_lowercase())
            .filter(|kind| !kind.is_empty())
            .collect();
        if !upload_types.is_empty() {
            settings.upload.allowed_types = upload_types;
        }
        settings.auth.jwt_secret = std::env::var("ECOPLAN_JWT_SECRET")
            .ok()
            .filter(|s| !s.is_empty());
        settings.auth.token_lifetime = Duration::from_secs(self.token_lifetime_minutes.max(1) * 60);
        settings.auth.max_session_age =
            Duration::from_secs(self.session_max_age_hours.clamp(1, 24 * 366) * 3600);
        settings.auth.download_link_lifetime =
            Duration::from_secs(self.download_link_minutes.clamp(1, 24 * 60) * 60);
        settings.auth.lockout_attempts = self.lockout_attempts;
        settings.auth.lockout_window = Duration::from_secs(self.lockout_minutes.max(1) * 60);
        if let Some(concurrency) = self.hash_concurrency {
            settings.auth.hashing.concurrency = concurrency.max(1);
        }
        if let Some(queue) = self.hash_queue {
            settings.auth.hashing.queue = queue;
        }
        settings.auth.login_rate_per_minute = self.login_rate;
        settings.http.anonymous_concurrency = match self.anonymous_concurrency {
            Some(places) => places.max(1),
            // Follows the hashing pool's size when that is set.
            None => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                settings.auth.hashing.concurrency + settings.auth.hashing.queue + cores
            }
        };
        settings.http.anonymous_queue = self.anonymous_queue;
        settings.http.trusted_proxies =
            crate::http::client_address::TrustedProxies::parse(&self.trusted_proxies)?;
        settings.http.public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => bail!("ECOPLAN_PUBLIC_URL is {url:?}: it starts with https:// or http://"),
        };
        if self.portal_leeway_seconds > MAX_PORTAL_LEEWAY_SECONDS {
            bail!(
                "ECOPLAN_PORTAL_LEEWAY_SECONDS is {}: at most {MAX_PORTAL_LEEWAY_SECONDS} seconds",
                self.portal_leeway_seconds
            );
        }
        let keys = match (self.portal_key_file, self.portal_jwks_url) {
            (Some(_), Some(_)) => bail!(
                "ECOPLAN_PORTAL_KEY_FILE and ECOPLAN_PORTAL_JWKS_URL are two ways to give the portal's keys: set one"
            ),
            (Some(file), None) => Some(PortalKeySource::File(file)),
            (None, Some(url)) => Some(PortalKeySource::JwksUrl(url)),
            (None, None) => None,
        };
        settings.auth.portal = match (keys, self.portal_issuer, self.portal_audience) {
            (None, None, None) => None,
            (keys, Some(issuer), Some(audience)) => {
                let mut portal = PortalSettings::new(
                    keys.unwrap_or(PortalKeySource::Discovery),
                    &issuer,
                    &audience,
                );
                portal.username_claim = self.portal_username_claim;
                portal.leeway = Duration::from_secs(self.portal_leeway_seconds);
                portal.fetch.refetch_interval =
                    Duration::from_secs(self.portal_jwks_refetch_seconds.max(1));
                Some(portal)
            }
            _ => bail!(
                "ECOPLAN_PORTAL_ISSUER and ECOPLAN_PORTAL_AUDIENCE go together, with \
                 ECOPLAN_PORTAL_KEY_FILE or ECOPLAN_PORTAL_JWKS_URL (or neither, for OpenID \
                 Connect discovery): set them or none"
            ),
        };
        Ok(settings)
    }
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.into_settings(database_url)?;
    let mut app = Application::build(settings.clone()).await?;
    if let Some(password) = app.take_initial_admin_password() {
        // Shown once, on the terminal only: it is never logged.
        println!("created the administrator account `admin` with the password: {password}");
        println!("sign in and change it with the changePassword mutation");
    }
    tracing::info!(addr = %settings.addr, port = app.port(), "serving on http://{}:{}/graphql", settings.addr.ip(), app.port());
    app.run_until_stopped()
        .await
        .context("the server stopped with an error")
}

/// Writes the plan file (to `output` or standard output) and the review list (to standard
/// error when the plan goes to standard output, so the two never mix).
async fn import_text(
    database_url: &str,
    file: &Path,
    key: String,
    year: i32,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let document = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the document {} as UTF-8 text", file.display()))?;
    let (db, _) = db::connect(database_url, 2).await?;
    db::migrate(&db).await?;
    let known = known_departments(&db).await.map_err(one_line)?;
    let options = ImportOptions {
        key,
        year,
        source_file: file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned()),
    };
    let imported = import_plan_document(&document, &options, &known).map_err(one_line)?;
    let toml = plan_file_toml(&imported.file).map_err(one_line)?;
    let tasks = imported.file.tasks.len();
    let indicators: usize = imported.file.tasks.iter().map(|t| t.indicators.len()).sum();
    let mut summary = format!(
        "read {tasks} tasks and {indicators} indicators; {} to review\n",
        imported.review.len()
    );
    for item in &imported.review {
        summary.push_str(&format!("review: {item}\n"));
    }
    match output {
        Some(path) => {
            std::fs::write(path, toml)
                .with_context(|| format!("cannot write the plan file {}", path.display()))?;
            print!("wrote {}; {summary}", path.display());
        }
        None => {
            print!("{toml}");
            eprint!("{summary}");
        }
    }
    Ok(())
}

fn one_line(error: crate::error::AppError) -> anyhow::Error {
    error.into_anyhow()
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ECOPLAN_PASSWORD") {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password: set ECOPLAN_PASSWORD or write it on standard input");
    }
    Ok(password)
}

async fn run_user_command(database_url: &str, command: UserCommand) -> anyhow::Result<()> {
    let (db, _) = db::connect(database_url, 2).await?;
    db::migrate(&db).await?;
    seed_plan(&db, TANGSHAN_2022).await.map_err(one_line)?;
    let system = Viewer::System;
    match command {
        UserCommand::Add {
            username,
            role,
            department,
            display_name,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("--role `{role}` must be admin, leadership, department or portal")
            })?;
            let department_id = match &department {
                Some(name) => Some(
                    resolve_department(&db, &system, name)
                        .await
                        .map_err(one_line)?
                        .id,
                ),
                None => None,
            };
            let password = read_password()?;
            let created = user::create_user(
                &db,
                &Caller::system(),
                NewUser {
                    username,
                    display_name,
                    password,
                    role,
                    department_id,
                },
            )
            .await
            .map_err(one_line)?;
            println!("created user {} ({})", created.username, created.role);
        }
        UserCommand::List => {
            let mut args = crate::service::page::PageArgs::default();
            loop {
                let page =
                    user::list_users(&db, &system, &args, crate::service::page::MAX_PAGE_SIZE)
                        .await
                        .map_err(one_line)?;
                for (_, row) in &page.items {
                    let state = if row.active { "active" } else { "inactive" };
                    println!(
                        "{}\t{}\t{}\t{}",
                        row.username, row.role, state, row.display_name
                    );
                }
                match (page.has_next_page, page.items.last()) {
                    (true, Some((key, _))) => {
                        args.after = Some(crate::service::page::encode_cursor(*key))
                    }
                    _ => break,
                }
            }
        }
        UserCommand::Deactivate { username } => {
            let user = user::deactivate_by_username(&db, &Caller::system(), &username)
                .await
                .map_err(one_line)?;
            println!("deactivated {}", user.username);
        }
    }
    Ok(())
}

/// The standard variables of S3 clients, for an object store.
fn object_store_from_env() -> crate::storage::ObjectStoreSettings {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    crate::storage::ObjectStoreSettings {
        endpoint: var("AWS_ENDPOINT_URL").or_else(|| var("AWS_ENDPOINT")),
        region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
        access_key_id: var("AWS_ACCESS_KEY_ID"),
        secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
        allow_http: var("AWS_ALLOW_HTTP")
            .is_some_and(|value| value.eq_ignore_ascii_case("true") || value == "1"),
    }
}
