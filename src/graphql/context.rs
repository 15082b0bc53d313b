//! What every resolver can read from the request: the database, the caller, the plan
//! snapshot and the loaders.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::entity::evidence;
use crate::error::AppResult;
use crate::graphql::loaders::{EvidenceOfTask, Loaders};
use crate::metrics::Metrics;
use crate::service::auth::TokenKeys;
use crate::service::clock::Clock;
use crate::service::dashboard::{CountsSource, KeptCounts, Revisions};
use crate::service::evidence::UploadPolicy;
use crate::service::light::{
    LightRules, PeriodLights, PeriodStates, light_period, read_period_states,
};
use crate::service::policy::Viewer;
use crate::service::snapshot::{PlanSnapshot, PlanView, SnapshotStore};
use crate::storage::FileStore;

/// Limits and settings the API layer applies.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub max_page_size: u64,
    /// The server's clock: what "today" is for statuses, lights and lateness.
    pub clock: Clock,
    /// The thresholds of the traffic lights.
    pub lights: LightRules,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_page_size: crate::service::page::MAX_PAGE_SIZE,
            clock: Clock::real(),
            lights: LightRules::default(),
        }
    }
}

/// Whether a request read anything from the database beyond the plan snapshot. An answer
/// made from the snapshot alone is fully described by the snapshot's revision, so it may
/// be kept and served again; one that read the database may not.
#[derive(Clone, Default, Debug)]
pub struct DatabaseUse(Arc<AtomicBool>);

impl DatabaseUse {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The per-request state, put into the GraphQL request by the HTTP layer.
pub struct RequestContext {
    db: DatabaseConnection,
    pub viewer: Viewer,
    /// When the session of the caller's token began, for a token ecoplan issued.
    pub session_started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub loaders: Loaders,
    pub settings: ApiSettings,
    pub token_keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub files: Arc<dyn FileStore>,
    pub upload_policy: UploadPolicy,
    /// Identifies the request in logs, headers and error extensions.
    pub request_id: String,
    /// The client's address (see `TrustedProxies`), for the sign-in limits and the audit.
    pub client_address: Option<std::net::IpAddr>,
    /// Where clients reach the server (`https://host`), for absolute links.
    pub public_origin: String,
    snapshots: Arc<SnapshotStore>,
    /// The snapshot this request reads, once it has asked for one.
    snapshot: tokio::sync::OnceCell<Arc<PlanSnapshot>>,
    database_use: DatabaseUse,
    /// The review states of the periods this request judged lights for, read once each.
    period_states: tokio::sync::Mutex<HashMap<(i64, String), Arc<PeriodStates>>>,
    /// The whole evidence of the tasks this request reads it of, each read once: their
    /// reports' evidence is a part of it, so it is taken from there rather than read again.
    task_evidence: std::sync::Mutex<HashMap<i64, Arc<TaskEvidence>>>,
    kept_counts: Option<(Arc<KeptCounts>, Revisions)>,
}

/// A task's evidence within the viewer's scope, read at most once per request.
type TaskEvidence = tokio::sync::OnceCell<Arc<Vec<evidence::Model>>>;

/// What the HTTP layer hands over to build a request's context.
pub struct RequestParts {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
    pub session_started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub settings: ApiSettings,
    pub token_keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub files: Arc<dyn FileStore>,
    pub upload_policy: UploadPolicy,
    pub request_id: String,
    pub client_address: Option<std::net::IpAddr>,
    /// Where clients reach the server (`https://host`), for absolute links.
    pub public_origin: String,
    pub snapshots: Arc<SnapshotStore>,
    /// A snapshot already read for this request (to key its answer), if any.
    pub snapshot: Option<Arc<PlanSnapshot>>,
    /// Told when the request reads the database beyond the snapshot.
    pub database_use: DatabaseUse,
    /// The dashboard's kept counts and the revisions read with the user row, when the
    /// request has both (a signed-in caller, with keeping switched on).
    pub kept_counts: Option<(Arc<KeptCounts>, Revisions)>,
}

impl RequestContext {
    pub fn new(parts: RequestParts) -> Self {
        let database_use = parts.database_use;
        let loaders = crate::graphql::loaders::loaders(
            parts.db.clone(),
            parts.viewer.scope(),
            database_use.clone(),
        );
        Self {
            db: parts.db,
            viewer: parts.viewer,
            session_started_at: parts.session_started_at,
            loaders,
            settings: parts.settings,
            token_keys: parts.token_keys,
            metrics: parts.metrics,
            files: parts.files,
            upload_policy: parts.upload_policy,
            request_id: parts.request_id,
            client_address: parts.client_address,
            public_origin: parts.public_origin,
            snapshots: parts.snapshots,
            snapshot: match parts.snapshot {
                Some(snapshot) => tokio::sync::OnceCell::new_with(Some(snapshot)),
                None => tokio::sync::OnceCell::new(),
            },
            database_use,
            period_states: Default::default(),
            task_evidence: Default::default(),
            kept_counts: parts.kept_counts,
        }
    }

    /// Where the dashboard may take its counts from instead of counting them.
    pub fn kept_counts(&self) -> Option<CountsSource<'_>> {
        self.kept_counts
            .as_ref()
            .map(|(kept, at)| CountsSource { kept, at: *at })
    }

    /// The database, for everything the plan snapshot does not hold. Asking for it marks
    /// the request's answer as one that cannot be kept.
    pub fn db(&self) -> &DatabaseConnection {
        self.database_use.mark();
        &self.db
    }

    /// The whole evidence of a task within the viewer's scope, oldest first, read once per
    /// request. The task is noted before the read is awaited, so a field resolved later in
    /// the same answer (a report's evidence, deeper down) knows to share it.
    pub async fn evidence_of_task(
        &self,
        task_id: i64,
    ) -> async_graphql::Result<Arc<Vec<evidence::Model>>> {
        let read = match self.task_evidence.lock() {
            Ok(mut tasks) => tasks.entry(task_id).or_default().clone(),
            Err(_) => Arc::default(),
        };
        read.get_or_try_init(|| async {
            let files = self.loaders.load_one(EvidenceOfTask(task_id)).await?;
            Ok(Arc::new(files.unwrap_or_default()))
        })
        .await
        .cloned()
    }

    /// Whether this request reads the whole evidence of a task.
    pub fn reads_task_evidence(&self, task_id: i64) -> bool {
        self.task_evidence
            .lock()
            .map(|tasks| tasks.contains_key(&task_id))
            .unwrap_or(false)
    }

    /// Whether the request read the database beyond the snapshot.
    pub fn read_the_database(&self) -> bool {
        self.database_use.happened()
    }

    /// The plan as this request's viewer may read it: the snapshot as of the database's
    /// revision when the request first asked, the same for the rest of the request.
    pub async fn plan_view(&self) -> AppResult<PlanView> {
        let snapshot = self
            .snapshot
            .get_or_try_init(|| self.snapshots.current(&self.db))
            .await?
            .clone();
        Ok(self.view_of(snapshot))
    }

    /// The plan after a change this request made: always read at the newest revision.
    pub async fn fresh_plan_view(&self) -> AppResult<PlanView> {
        let snapshot = self.snapshots.current(&self.db).await?;
        Ok(self.view_of(snapshot))
    }

    fn view_of(&self, snapshot: Arc<PlanSnapshot>) -> PlanView {
        PlanView {
            snapshot,
            scope: self.viewer.scope(),
            today: self.settings.clock.today(),
        }
    }

    /// What the traffic lights of a plan (its index in `view`) read for a period (the
    /// current one when none is named): the review states are read from the database once
    /// per request and period, and only for a viewer who sees them.
    pub async fn lights(
        &self,
        view: &PlanView,
        plan: usize,
        period: Option<&str>,
    ) -> AppResult<PeriodLights> {
        let period = light_period(view, plan, period)?;
        let plan_id = view.snapshot.plans[plan].row.id;
        let states = {
            let mut read = self.period_states.lock().await;
            match read.get(&(plan_id, period.to_string())) {
                Some(states) => states.clone(),
                None => {
                    let states = if view.scope.sees_review_states() {
                        read_period_states(self.db(), view.scope, plan_id, &period.to_string())
                            .await?
                    } else {
                        PeriodStates::default()
                    };
                    let states = Arc::new(states);
                    read.insert((plan_id, period.to_string()), states.clone());
                    states
                }
            }
        };
        Ok(PeriodLights::new(
            view,
            plan,
            period,
            self.settings.lights,
            states,
        ))
    }

    /// The caller of a change, for the services and the audit trail.
    pub fn caller(&self) -> crate::service::audit::Caller<'_> {
        crate::service::audit::Caller {
            viewer: &self.viewer,
            request_id: &self.request_id,
            clock: self.settings.clock,
        }
    }
}

pub trait ContextExt {
    fn request(&self) -> &RequestContext;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        // The HTTP layer always attaches the request context; a schema executed without it
        // is a programming error caught by every test.
        #[allow(clippy::expect_used)]
        self.data::<RequestContext>()
            .expect("the HTTP layer attaches a RequestContext to every request")
    }
}
