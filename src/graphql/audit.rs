//! The audit trail over GraphQL: every recorded change, for the leadership group.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result};

use crate::entity::audit_log;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::report::{decode, load_user};
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::graphql::user::User;
use crate::id::{NodeId, NodeKind};
use crate::service::audit::{AuditFilter, ItemType, list_entries};
use crate::service::page::PageArgs;

/// Who made a recorded change, as the role they acted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ActorRole {
    /// An administrator.
    Admin,
    /// The leadership group's office.
    Leadership,
    /// A municipal department.
    Department,
    /// The municipal portal.
    Portal,
    /// The server itself: start-up seeding, the command line, scheduled work.
    System,
    /// A caller who had not signed in (a refused sign-in).
    Anonymous,
}

impl ActorRole {
    fn parse(raw: &str) -> Self {
        match raw {
            "ADMIN" => Self::Admin,
            "LEADERSHIP" => Self::Leadership,
            "DEPARTMENT" => Self::Department,
            "PORTAL" => Self::Portal,
            "ANONYMOUS" => Self::Anonymous,
            // The audit trail writes no other value; `SYSTEM` is what the server wrote
            // for itself.
            _ => Self::System,
        }
    }
}

/// One recorded change.
pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::AuditEntry, self.0.id)
    }
    pub async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
    /// Who made the change; `null` for the system itself.
    pub async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    /// The actor's role at the time.
    pub async fn actor_role(&self) -> ActorRole {
        ActorRole::parse(&self.0.actor_role)
    }
    /// What was done, e.g. `progressReport.submit`.
    pub async fn action(&self) -> &str {
        &self.0.action
    }
    pub async fn item_type(&self) -> &str {
        &self.0.item_type
    }
    /// The global id of the item changed.
    pub async fn item_id(&self) -> ID {
        match ItemType::node_kind(&self.0.item_type) {
            Some(kind) => global_id(kind, self.0.item_id),
            None => ID(format!("{}:{}", self.0.item_type, self.0.item_id)),
        }
    }
    pub async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .before
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .map(Json)
    }
    pub async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .after
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .map(Json)
    }
    /// The request that made the change, as in the `x-request-id` header and the logs.
    pub async fn request_id(&self) -> &str {
        &self.0.request_id
    }
}

#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only changes by this user.
    pub actor_id: Option<ID>,
    /// Only this action, e.g. `progressReport.approve`.
    pub action: Option<String>,
    /// Only changes of this item (any global id).
    pub item_id: Option<ID>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every recorded change, oldest first (administrators and the leadership group:
    /// `null`, with a `FORBIDDEN` error, for everyone else).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<crate::graphql::connection::AuditEntryConnection>> {
        let request = ctx.request();
        let filter = filter.unwrap_or_default();
        let item = match &filter.item_id {
            Some(id) => {
                let node = NodeId::decode(id)?;
                let item_type = match node.kind {
                    NodeKind::ProgressReport => ItemType::ProgressReport,
                    NodeKind::IndicatorValue => ItemType::IndicatorValue,
                    NodeKind::Evidence => ItemType::Evidence,
                    NodeKind::Task => ItemType::Task,
                    NodeKind::Indicator => ItemType::Indicator,
                    NodeKind::User => ItemType::User,
                    _ => {
                        return Err(AppError::bad_input(
                            "changes of this kind of item are not recorded",
                        )
                        .into());
                    }
                };
                Some((item_type, node.id))
            }
            None => None,
        };
        let filter = AuditFilter {
            actor_id: filter
                .actor_id
                .as_ref()
                .map(|id| decode(id, NodeKind::User))
                .transpose()?,
            action: filter.action,
            item,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = list_entries(
            request.db(),
            &request.viewer,
            &filter,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(Some(
            crate::graphql::connection::AuditEntryConnection::from_page(page, AuditEntry),
        ))
    }
}
