//! The `progress_report` table: a lead department's report on a task for a period,
//! with its review state and version.

use sea_orm::entity::prelude::*;

/// What a lead department reports on a task for one period.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "progress_report")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub task_id: i64,
    pub department_id: i64,
    pub period: String,
    pub status: String,
    pub work_done: String,
    pub problems: Option<String>,
    pub next_steps: Option<String>,
    pub review_status: String,
    pub version: i32,
    pub late: bool,
    pub submitted_at: Option<DateTimeUtc>,
    pub submitted_by: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<i64>,
    pub rejection_reason: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
