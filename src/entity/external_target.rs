//! The `external_target` table: the value an externally set target (国家/省定) takes
//! in a year, entered by the leadership group.

use sea_orm::entity::prelude::*;

/// The value of an externally set target for one year, entered by the leadership group.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "external_target")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub indicator_id: i64,
    pub year: i32,
    pub value: f64,
    pub note: Option<String>,
    pub set_by: i64,
    pub set_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
