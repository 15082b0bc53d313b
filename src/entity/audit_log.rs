//! The `audit_log` table: one append-only entry per change, with who made it, the
//! item before and after, and the request id (triggers refuse UPDATE and DELETE).

use sea_orm::entity::prelude::*;

/// One recorded change: never updated or deleted.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub item_type: String,
    pub item_id: i64,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
