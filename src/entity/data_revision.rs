//! The `data_revision` table: one row of counters, raised in the transaction of a write,
//! so every instance knows when what it keeps in memory is out of date.

use sea_orm::entity::prelude::*;

/// One row: a number raised by every write that changes what the plan snapshot holds, so
/// that every instance serving the database knows when its snapshot is out of date.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_revision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub revision: i64,
    /// Raised by every write that changes what is counted of the submissions (a review
    /// move, a removal), so the dashboard's counts can be kept between requests.
    pub submission_revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
