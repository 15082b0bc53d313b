//! The `plan` table: a year's work plan, its key, reporting cadence, deadline rule
//! and whether it is published.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Date,
    pub year: i32,
    pub purpose: String,
    pub guiding_idea: String,
    pub reporting_cadence: String,
    pub submission_deadline_days: i32,
    pub created_at: DateTimeUtc,
    /// A draft (imported, under review) is seen only by administrators and the leadership group.
    pub published: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
