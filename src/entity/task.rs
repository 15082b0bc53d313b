//! The `task` table: the plan's tasks and their parts, with code, title, text, due
//! date and parent.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub section_id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    /// Order of the task in the document, subtasks right after their parent.
    pub position: i32,
    pub title: String,
    pub text: String,
    pub leads_as_written: Option<String>,
    /// Code, title and text folded for search in either script.
    pub search_text: String,
    /// Set by the leadership group; `None` means the end of the plan's year.
    pub due_on: Option<Date>,
    /// Raised by every change of the row, so a change made against an older state is
    /// refused (`STALE_VERSION`).
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
