//! The `login_throttle` table: failed sign-ins per username, which lock an account
//! out for a while across every instance.

use sea_orm::entity::prelude::*;

/// Failed sign-ins for one username; kept in the database so that every server instance
/// applies the same lock-out.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub username: String,
    pub failures: i32,
    pub first_failure_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
