//! The `indicator_milestone` table: targets an indicator must reach by a later year
//! (e.g. the 2025 green-building share).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "indicator_milestone")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub indicator_id: i64,
    pub year: i32,
    pub target_kind: String,
    pub target_value: Option<f64>,
    pub target_text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
