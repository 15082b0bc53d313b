//! The `indicator_value` table: one value of an indicator for a period, drafted by a
//! department that answers for it, with its review state and version.

use sea_orm::entity::prelude::*;

/// The figure a department reports for an indicator in one period.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "indicator_value")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub indicator_id: i64,
    pub department_id: i64,
    pub period: String,
    pub value: Option<f64>,
    pub achieved: Option<bool>,
    pub text: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
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
