//! The `indicator_responsible` table: which departments answer for an indicator;
//! several may answer for one.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "indicator_responsible")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub indicator_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
