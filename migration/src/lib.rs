//! Database schema migrations for ecoplan; one set serves SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20260101_000001_create_plan_tables;
mod m20260101_000002_create_user_tables;
mod m20260101_000003_create_reporting_tables;
mod m20261201_000001_add_indicator_valid_range;
mod m20261201_000010_add_read_state;
mod m20261202_000011_add_plan_published;
mod m20261202_000012_index_submissions_by_period;
mod m20261202_000013_create_notification_tables;
mod m20261203_000014_add_submission_revision;
mod m20261203_000015_add_task_and_period_versions;

/// Applies every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_plan_tables::Migration),
            Box::new(m20260101_000002_create_user_tables::Migration),
            Box::new(m20260101_000003_create_reporting_tables::Migration),
            Box::new(m20261201_000001_add_indicator_valid_range::Migration),
            Box::new(m20261201_000010_add_read_state::Migration),
            Box::new(m20261202_000011_add_plan_published::Migration),
            Box::new(m20261202_000012_index_submissions_by_period::Migration),
            Box::new(m20261202_000013_create_notification_tables::Migration),
            Box::new(m20261203_000014_add_submission_revision::Migration),
            Box::new(m20261203_000015_add_task_and_period_versions::Migration),
        ]
    }
}
