//! Batched loading for every relation the plan snapshot does not hold (reports, values,
//! evidence, history, people), so one request runs a fixed number of statements however
//! many rows it touches. Loaders are built per request with the viewer's read scope, so
//! relations are filtered by the same rules as lists.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};

use sea_orm::DatabaseConnection;

use crate::entity::{audit_log, evidence, indicator_value, progress_report, user};
use crate::error::AppError;
use crate::graphql::context::DatabaseUse;
use crate::service::audit::ItemType;
use crate::service::policy::ReadScope;
use crate::service::{audit, evidence as evidences, period, report, submission, user as users};

/// Loads the records of one request that the plan snapshot does not hold.
pub struct PlanLoader {
    db: DatabaseConnection,
    scope: ReadScope,
    /// Marks the request as one that read the database (see `DatabaseUse`).
    database_use: DatabaseUse,
}

pub type Loaders = DataLoader<PlanLoader>;

/// The most keys one statement binds; SQLite accepts 32,766 parameters, PostgreSQL 65,535.
const MAX_BATCH_SIZE: usize = 10_000;

pub fn loaders(db: DatabaseConnection, scope: ReadScope, database_use: DatabaseUse) -> Loaders {
    // A batch holds every key asked for before the request has to wait, and no more: cut
    // at 1,000 keys or held open for a millisecond (the defaults), the number of
    // statements would grow with the plan and vary with timing.
    DataLoader::new(
        PlanLoader {
            db,
            scope,
            database_use,
        },
        tokio::spawn,
    )
    .max_batch_size(MAX_BATCH_SIZE)
    .delay(Duration::ZERO)
}

/// Runs a GraphQL request so that each batch holds every key of one level of the tree.
///
/// async-graphql resolves the items of a list in a `FuturesUnordered`, which hands the
/// thread back (waking itself) after polling every item once. The batch tasks would then
/// run half-way through a level and load a few keys each. Here a request that only
/// yielded is polled again at once, so the batch tasks run when it really waits. (Each
/// request runs on an actix worker's single-threaded runtime: the batch tasks it spawns
/// cannot run while it is being polled.)
pub async fn run_batched<F: Future>(request: F) -> F::Output {
    UntilWaiting(Box::pin(tokio::task::coop::unconstrained(request))).await
}

/// How often a request that keeps yielding is polled before the thread is handed back
/// anyway, so that a future that only ever yields cannot hold a worker.
const MAX_POLLS_IN_A_ROW: usize = 100_000;

struct UntilWaiting<F>(Pin<Box<F>>);

impl<F: Future> Future for UntilWaiting<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        for _ in 0..MAX_POLLS_IN_A_ROW {
            let flag = Arc::new(WakeFlag {
                woken: AtomicBool::new(false),
                waker: cx.waker().clone(),
            });
            let waker = Waker::from(flag.clone());
            match self.0.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(output) => return Poll::Ready(output),
                Poll::Pending if flag.woken.load(Ordering::Acquire) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Passes wakes on, noting that one happened.
struct WakeFlag {
    woken: AtomicBool,
    waker: Waker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake_by_ref();
    }
}

fn graphql_error(error: AppError) -> async_graphql::Error {
    error.into()
}

/// Declares a key type and the batch function that answers it.
macro_rules! batch {
    ($key:ident => $value:ty, |$loader:ident, $ids:ident| $body:expr) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for PlanLoader {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let $loader = self;
                $loader.database_use.mark();
                let $ids: Vec<i64> = keys.iter().map(|key| key.0).collect();
                let found: HashMap<i64, $value> = $body.await.map_err(graphql_error)?;
                Ok(found
                    .into_iter()
                    .map(|(id, value)| ($key(id), value))
                    .collect())
            }
        }
    };
}

batch!(UserById => user::Model, |l, ids| users::users_by_ids(&l.db, l.scope, &ids));
batch!(ReportById => progress_report::Model, |l, ids| report::reports_by_ids(&l.db, l.scope, &ids));
batch!(ValueById => indicator_value::Model, |l, ids| report::values_by_ids(&l.db, l.scope, &ids));
batch!(ReportsOfTask => Vec<progress_report::Model>, |l, ids| report::reports_by_tasks(&l.db, l.scope, &ids));
batch!(ValuesOfIndicator => Vec<indicator_value::Model>, |l, ids| report::values_by_indicators(&l.db, l.scope, &ids));
batch!(EvidenceOfTask => Vec<evidence::Model>, |l, ids| evidences::evidence_by_tasks(&l.db, l.scope, &ids));
batch!(EvidenceOfReport => Vec<evidence::Model>, |l, ids| evidences::evidence_by_reports(&l.db, l.scope, &ids));
batch!(EvidenceOfValue => Vec<evidence::Model>, |l, ids| evidences::evidence_by_values(&l.db, l.scope, &ids));
batch!(ClosedPeriodsOfPlan => Vec<String>, |l, ids| period::closed_periods_of_plans(&l.db, &ids));
batch!(PeriodOfReport => String, |l, ids| submission::periods_of_reports(&l.db, &ids));
batch!(PeriodOfValue => String, |l, ids| submission::periods_of_values(&l.db, &ids));
batch!(HistoryOfProgressReport => Vec<audit_log::Model>, |l, ids| audit::history_of(&l.db, l.scope, ItemType::ProgressReport, &ids));
batch!(HistoryOfIndicatorValue => Vec<audit_log::Model>, |l, ids| audit::history_of(&l.db, l.scope, ItemType::IndicatorValue, &ids));
batch!(HistoryOfEvidence => Vec<audit_log::Model>, |l, ids| audit::history_of(&l.db, l.scope, ItemType::Evidence, &ids));
