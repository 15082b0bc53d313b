//! The `evidence` table: files that back a task, a report or a value, with their
//! checked type, size, SHA-256, opaque storage key and review state.

use sea_orm::entity::prelude::*;

/// A file that backs a report (佐證材料). `storage_key` names the stored bytes; the
/// uploaded file name is never used as a path.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub task_id: i64,
    pub department_id: i64,
    pub progress_report_id: Option<i64>,
    pub indicator_value_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    #[serde(skip)]
    pub storage_key: String,
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
