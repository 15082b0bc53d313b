//! The `reporting_period` table: whether the leadership group has closed a period of a
//! plan, and who changed that when (the reason of a reopening is in the audit trail).

use sea_orm::entity::prelude::*;

/// A reporting period that the leadership group has closed or reopened.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "reporting_period")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub period: String,
    pub closed: bool,
    pub changed_at: DateTimeUtc,
    pub changed_by: i64,
    /// Raised by every close and reopening; a period never changed is at version 0.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
