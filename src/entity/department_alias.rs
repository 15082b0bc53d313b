//! The `department_alias` table: other names a department goes by in plan documents
//! (earlier names, short forms, either script).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "department_alias")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub department_id: i64,
    pub position: i32,
    #[sea_orm(unique)]
    pub alias: String,
    #[sea_orm(unique)]
    pub alias_folded: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
