//! The `data_revision` table: one counter, raised in the transaction of every write
//! that changes the plan snapshot, so every instance knows when to reload it.

use sea_orm::entity::prelude::*;

/// One row: a number raised by every write that changes what the plan snapshot holds, so
/// that every instance serving the database knows when its snapshot is out of date.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_revision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
