//! Batched loading for every relation field, so one request runs a fixed number of
//! statements however many rows it touches. Loaders are built per request with the
//! viewer's read scope, so relations are filtered by the same rules as lists.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::entity::{department, indicator, indicator_milestone, plan, plan_goal, section, task};
use crate::error::AppError;
use crate::service::policy::ReadScope;
use crate::service::{
    department as departments, indicator as indicators, plan as plans, task as tasks,
};

/// Loads plan items for one request.
pub struct PlanLoader {
    db: DatabaseConnection,
    scope: ReadScope,
}

pub type Loaders = DataLoader<PlanLoader>;

pub fn loaders(db: DatabaseConnection, scope: ReadScope) -> Loaders {
    DataLoader::new(PlanLoader { db, scope }, tokio::spawn)
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

batch!(PlanById => plan::Model, |l, ids| plans::plans_by_ids(&l.db, &ids));
batch!(GoalsOfPlan => Vec<plan_goal::Model>, |l, ids| plans::goals_by_plans(&l.db, &ids));
batch!(SectionById => section::Model, |l, ids| plans::sections_by_ids(&l.db, &ids));
batch!(SectionsOfPlan => Vec<section::Model>, |l, ids| plans::sections_by_plans(&l.db, &ids));
batch!(DepartmentById => department::Model, |l, ids| departments::departments_by_ids(&l.db, &ids));
batch!(AliasesOfDepartment => Vec<String>, |l, ids| departments::aliases_by_departments(&l.db, &ids));
batch!(TaskById => task::Model, |l, ids| tasks::tasks_by_ids(&l.db, l.scope, &ids));
batch!(TopLevelTasksOfSection => Vec<task::Model>, |l, ids| tasks::top_level_tasks_by_sections(&l.db, l.scope, &ids));
batch!(SubtasksOfTask => Vec<task::Model>, |l, ids| tasks::subtasks_by_parents(&l.db, l.scope, &ids));
batch!(TasksLedByDepartment => Vec<task::Model>, |l, ids| tasks::tasks_led_by_departments(&l.db, l.scope, &ids));
batch!(LeadDepartmentsOfTask => Vec<department::Model>, |l, ids| departments::lead_departments_by_tasks(&l.db, &ids));
batch!(IndicatorById => indicator::Model, |l, ids| indicators::indicators_by_ids(&l.db, l.scope, &ids));
batch!(IndicatorsOfTask => Vec<indicator::Model>, |l, ids| indicators::indicators_by_tasks(&l.db, l.scope, &ids));
batch!(ResponsibleDepartmentsOfIndicator => Vec<department::Model>, |l, ids| indicators::responsible_departments_by_indicators(&l.db, &ids));
batch!(MilestonesOfIndicator => Vec<indicator_milestone::Model>, |l, ids| indicators::milestones_by_indicators(&l.db, &ids));
