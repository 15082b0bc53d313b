//! The `app_user` table: accounts, their role, department, argon2id password hash
//! and token version (raised to revoke every token).

use sea_orm::entity::prelude::*;

/// A person or system that signs in. The password hash never leaves the service layer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub active: bool,
    /// Raised whenever existing tokens must stop working.
    pub token_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
