//! The `task_lead` table: which departments lead a task, and the latest approved
//! status each reported, kept on write.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "task_lead")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    pub position: i32,
    /// The status of this department's latest approved report on the task; kept by the
    /// review workflow so that task statuses need no scan of the reports.
    pub latest_approved_status: Option<String>,
    /// The period of that report.
    pub latest_approved_period: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
