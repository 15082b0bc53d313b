//! Builds the application from its settings: database, migrations, plan, accounts, server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::db::{self, StatementCounter};
use crate::error::AppError;
use crate::graphql::context::ApiSettings;
use crate::graphql::limits::ShapeLimits;
use crate::graphql::null_propagation::OutputTypes;
use crate::graphql::schema::build_schema_with;
use crate::http::{AppState, routes};
use crate::metrics::Metrics;
use crate::service::auth::{TokenKeys, random_secret};
use crate::service::evidence::{SweepSettings, sweep_uploads};
use crate::service::hashing::HashPool;
use crate::service::seed::{SeedOutcome, TANGSHAN_2022, seed_plan};
use crate::service::user;
use crate::settings::Settings;
use crate::storage::{FileStore, open_store};

/// The request headers a configured origin may send: what GraphQL clients send as a
/// matter of course (Apollo's and urql's among them), and the reader's language.
const CORS_REQUEST_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "accept",
    "accept-language",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

/// The response headers a page of a configured origin may read: the request id, the
/// file name of a download (`content-disposition`, with its Chinese name) and its size,
/// and how long to wait when refused.
const CORS_EXPOSED_HEADERS: [&str; 4] = [
    crate::http::middleware::REQUEST_ID_HEADER,
    "content-disposition",
    "content-length",
    "retry-after",
];

/// A running server and what tests need to reach it.
pub struct Application {
    port: u16,
    server: Server,
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
    db: DatabaseConnection,
    statements: StatementCounter,
    initial_admin_password: Option<String>,
    files: Arc<dyn FileStore>,
    upload_sweep: SweepSettings,
    snapshots: Arc<crate::service::snapshot::SnapshotStore>,
    clock: crate::service::clock::Clock,
    lights: crate::service::light::LightRules,
    webhooks: crate::service::webhook::WebhookSettings,
    reminders: crate::service::reminder::ReminderSettings,
}

impl Application {
    /// Connects (waiting up to `database_wait` for a database that is still starting),
    /// migrates, loads the built-in plan when it is missing, creates the first
    /// administrator on an empty database, and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate()?;
        let (db, statements) = db::connect_with_retry(
            &settings.database_url,
            settings.max_connections,
            settings.database_wait,
        )
        .await?;
        db::migrate(&db).await?;
        if let SeedOutcome::Loaded { plan_key, tasks } = seed_plan(&db, TANGSHAN_2022)
            .await
            .map_err(AppError::into_anyhow)?
        {
            tracing::info!(plan = %plan_key, tasks, "loaded the plan");
        }
        let initial_admin_password = user::ensure_initial_admin(&db)
            .await
            .map_err(AppError::into_anyhow)?;
        if settings.demo {
            let created = user::ensure_demo_accounts(&db)
                .await
                .map_err(AppError::into_anyhow)?;
            if !created.is_empty() {
                tracing::info!(accounts = created.len(), "created demo accounts");
            }
        }
        if settings.clock.is_moved() {
            tracing::warn!(
                today = %settings.clock.today(),
                "the server's clock is moved (ECOPLAN_NOW or ECOPLAN_CLOCK_OFFSET_DAYS)"
            );
        }
        let secret = jwt_secret(&settings)?;
        let token_keys = Arc::new(TokenKeys::new(secret.as_bytes(), &settings.auth)?);
        // One bound for all the hashing of the process: sign-ins and user management.
        HashPool::install_shared(token_keys.hash_pool());

        let files: Arc<dyn FileStore> = open_store(
            settings.storage_url.as_deref(),
            &settings.storage_dir,
            &settings.object_store,
        )?;
        // Uploads a crash cut short are settled before anything is served.
        sweep_uploads(&db, files.as_ref(), settings.upload_sweep.grace)
            .await
            .map_err(AppError::into_anyhow)
            .context("cannot sweep the evidence files")?;

        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("ECOPLAN_ADDR {} cannot be bound", settings.addr))?;
        let port = listener
            .local_addr()
            .context("the listener has no address")?
            .port();
        let snapshots = Arc::new(crate::service::snapshot::SnapshotStore::default());
        let schema = build_schema_with(&settings.limits);
        let state = web::Data::new(AppState {
            db: db.clone(),
            output_types: OutputTypes::from_sdl(&crate::graphql::schema::sdl_of(&schema)),
            schema,
            shape_limits: ShapeLimits::from(&settings.limits),
            token_keys,
            user_reads: crate::service::user_reads::UserReads::new(db.clone()),
            metrics: Arc::new(Metrics::default()),
            api: ApiSettings {
                max_page_size: settings.max_page_size,
                clock: settings.clock,
                lights: settings.lights,
            },
            statements: statements.clone(),
            files: files.clone(),
            upload_policy: settings.upload.clone(),
            http: crate::http::HttpSettings {
                max_upload_bytes: settings.upload.max_bytes,
                metrics_on_main: settings.metrics_addr.is_none(),
                ..settings.http.clone()
            },
            snapshots: snapshots.clone(),
            responses: crate::http::response_cache::ResponseCache::new(
                settings.http.response_cache_bytes,
            ),
            // Kept counts are switched with the shared answers (`ECOPLAN_RESPONSE_CACHE`).
            kept_counts: (settings.http.response_cache_bytes > 0).then(Default::default),
            submission_feed: crate::service::submission_events::SubmissionFeed::start(
                db.clone(),
                settings.http.subscription_poll,
            ),
            persisted_queries: crate::http::persisted_queries::PersistedQueries::new(
                settings.http.persisted_query_bytes,
            ),
            live_connections: Arc::new(crate::http::live::LiveConnections::new(
                settings.http.max_live_connections,
                settings.http.max_live_connections_per_user,
            )),
            operations: tokio::sync::Semaphore::new(settings.http.max_concurrent_operations),
            anonymous: Arc::new(tokio::sync::Semaphore::new(
                settings.http.anonymous_concurrency.max(1),
            )),
            anonymous_waiting: std::sync::atomic::AtomicUsize::new(0),
            held_refusals: Arc::new(tokio::sync::Semaphore::new(crate::http::HELD_REFUSALS)),
        });
        let (metrics_server, metrics_port) = match settings.metrics_addr {
            Some(addr) => {
                let state = state.clone();
                let listener = TcpListener::bind(addr)
                    .with_context(|| format!("ECOPLAN_METRICS_ADDR {addr} cannot be bound"))?;
                let port = listener
                    .local_addr()
                    .context("the metrics listener has no address")?
                    .port();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .wrap(actix_web::middleware::from_fn(
                            crate::http::head::route_head_as_get,
                        ))
                        .wrap(actix_web::middleware::from_fn(
                            crate::http::middleware::observe,
                        ))
                        .route("/metrics", web::get().to(crate::http::metrics))
                })
                .workers(1)
                .listen(listener)
                .context("cannot listen for metrics")?
                .run();
                (Some(server), Some(port))
            }
            None => (None, None),
        };
        let cors_origins = settings.cors_origins.clone();
        let server = HttpServer::new(move || {
            let mut cors = Cors::default()
                .allowed_methods(["GET", "POST", "OPTIONS"])
                .allowed_headers(CORS_REQUEST_HEADERS)
                .expose_headers(CORS_EXPOSED_HEADERS)
                .max_age(600);
            for origin in &cors_origins {
                cors = cors.allowed_origin(origin);
            }
            App::new()
                .app_data(state.clone())
                .wrap(actix_web::middleware::from_fn(
                    crate::http::head::route_head_as_get,
                ))
                .wrap(cors)
                .wrap(actix_web::middleware::from_fn(
                    crate::http::middleware::observe,
                ))
                .configure(routes)
        })
        .shutdown_timeout(settings.shutdown_grace.as_secs())
        .listen(listener)
        .context("cannot listen")?
        .run();
        Ok(Self {
            port,
            server,
            metrics_server,
            metrics_port,
            db,
            statements,
            initial_admin_password,
            files,
            upload_sweep: settings.upload_sweep,
            snapshots,
            clock: settings.clock,
            lights: settings.lights,
            webhooks: settings.webhooks.clone(),
            reminders: settings.reminders.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on when it has an address of its own
    /// (`ECOPLAN_METRICS_ADDR`; port 0 picks a free one).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// The password of the administrator created on this start, if one was.
    pub fn take_initial_admin_password(&mut self) -> Option<String> {
        self.initial_admin_password.take()
    }

    /// Stops the server: `graceful` lets requests in flight finish within the grace period.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until a stop signal (SIGTERM, SIGINT) or `handle().stop()`: the listener
    /// closes, requests in flight finish within the grace period, then the pool closes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let sweeper = tokio::spawn(sweep_periodically(
            self.db.clone(),
            self.files.clone(),
            self.upload_sweep,
        ));
        // Delivery and reminders keep their state in the database: stopping them at any
        // point loses nothing (a delivery in flight is sent again when its lease ends).
        let deliverer = (!self.webhooks.urls.is_empty()).then(|| {
            tokio::spawn(crate::service::webhook::deliver_periodically(
                self.db.clone(),
                self.webhooks.clone(),
            ))
        });
        let reminder = (!self.reminders.interval.is_zero()).then(|| {
            tokio::spawn(crate::service::reminder::remind_periodically(
                self.db.clone(),
                self.snapshots.clone(),
                self.clock,
                self.lights,
                self.reminders.clone(),
            ))
        });
        let served = self.server.await;
        sweeper.abort();
        for task in [deliverer, reminder].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        if let Err(error) = self.db.close().await {
            tracing::warn!(%error, "the database pool did not close cleanly");
        }
        tracing::info!("stopped");
        served
    }
}

/// Sweeps the evidence files every `interval`; a failed sweep is logged and retried at
/// the next turn.
async fn sweep_periodically(
    db: DatabaseConnection,
    files: Arc<dyn FileStore>,
    sweep: SweepSettings,
) {
    let mut ticks = tokio::time::interval(sweep.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once, and start-up has just swept.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(error) = sweep_uploads(&db, files.as_ref(), sweep.grace).await {
            tracing::warn!(error = ?error.into_anyhow(), "cannot sweep the evidence files");
        }
    }
}

/// The HS256 secret: configured, or created once and kept beside the database (0600).
fn jwt_secret(settings: &Settings) -> anyhow::Result<String> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.clone());
    }
    let path = settings.secret_file();
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let secret = random_secret(48);
    write_private_file(&path, &secret)
        .with_context(|| format!("cannot keep the signing secret in {}", path.display()))?;
    Ok(secret)
}

fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}
