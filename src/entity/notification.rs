//! The `notification` table: reminders, escalations and review outcomes, each to one
//! department or to a role, with its read state.

use sea_orm::entity::prelude::*;

/// One notification.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recipient_department_id: Option<i64>,
    pub recipient_role: Option<String>,
    pub kind: String,
    pub message: String,
    /// The items, as a JSON array.
    pub items: String,
    /// Set for what is made once per item, period and threshold.
    pub once_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
