//! The audit trail: every change appends who, in which role, what, to which item, the
//! item before and after, when, and the request — in the same transaction as the change.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use crate::entity::audit_log;
use crate::error::{AppError, AppResult};
use crate::id::NodeKind;
use crate::service::clock::Clock;
use crate::service::page::{Page, PageArgs, paginate};
use crate::service::policy::{ReadScope, Viewer};

/// Who makes a change, and the request it comes in.
pub struct Caller<'a> {
    pub viewer: &'a Viewer,
    pub request_id: &'a str,
    /// The server's clock, which decides whether a submission is late.
    pub clock: Clock,
}

/// The process itself, for the command line and start-up.
static SYSTEM: Viewer = Viewer::System;

impl Caller<'static> {
    pub fn system() -> Self {
        Caller {
            viewer: &SYSTEM,
            request_id: "system",
            clock: Clock::real(),
        }
    }
}

impl Caller<'_> {
    /// The user behind the change; changes that name a person need one.
    pub fn actor_id(&self) -> AppResult<i64> {
        self.viewer
            .user()
            .map(|user| user.user_id)
            .ok_or(AppError::Unauthenticated)
    }

    fn actor_role(&self) -> &'static str {
        match self.viewer {
            Viewer::System => "SYSTEM",
            Viewer::Anonymous => "ANONYMOUS",
            Viewer::User(user) => user.role().as_str(),
        }
    }
}

/// The kinds of item the audit trail records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    ProgressReport,
    IndicatorValue,
    Evidence,
    Task,
    Indicator,
    ReportingPeriod,
    User,
    /// A whole plan, for changes that span it (an import).
    Plan,
    /// A webhook delivery sent again on request.
    WebhookDelivery,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::ProgressReport => "ProgressReport",
            ItemType::IndicatorValue => "IndicatorValue",
            ItemType::Evidence => "Evidence",
            ItemType::Task => "Task",
            ItemType::Indicator => "Indicator",
            ItemType::ReportingPeriod => "ReportingPeriod",
            ItemType::User => "User",
            ItemType::Plan => "Plan",
            ItemType::WebhookDelivery => "WebhookDelivery",
        }
    }

    pub fn node_kind(raw: &str) -> Option<NodeKind> {
        match raw {
            "ProgressReport" => Some(NodeKind::ProgressReport),
            "IndicatorValue" => Some(NodeKind::IndicatorValue),
            "Evidence" => Some(NodeKind::Evidence),
            "Task" => Some(NodeKind::Task),
            "Indicator" => Some(NodeKind::Indicator),
            "User" => Some(NodeKind::User),
            "Plan" => Some(NodeKind::Plan),
            "WebhookDelivery" => Some(NodeKind::WebhookDelivery),
            _ => None,
        }
    }
}

fn to_json<T: Serialize>(value: Option<&T>) -> AppResult<Option<String>> {
    value
        .map(|value| serde_json::to_string(value))
        .transpose()
        .map_err(|error| {
            AppError::Unexpected(anyhow::Error::new(error).context("cannot record a change"))
        })
}

/// Appends one entry. Call it inside the transaction that makes the change.
pub async fn record<B: Serialize, A: Serialize>(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    action: &str,
    item_type: ItemType,
    item_id: i64,
    before: Option<&B>,
    after: Option<&A>,
) -> AppResult<()> {
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor_id: Set(caller.viewer.user().map(|user| user.user_id)),
        actor_role: Set(caller.actor_role().to_owned()),
        action: Set(action.to_owned()),
        item_type: Set(item_type.as_str().to_owned()),
        item_id: Set(item_id),
        before: Set(to_json(before)?),
        after: Set(to_json(after)?),
        request_id: Set(caller.request_id.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Narrows the audit log; the parts combine with AND.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub item: Option<(ItemType, i64)>,
}

/// The audit log, oldest first (administrators and the leadership group).
pub async fn list_entries(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AuditFilter,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<audit_log::Model>> {
    viewer.require_reviewer()?;
    let mut select = audit_log::Entity::find();
    if let Some(actor_id) = filter.actor_id {
        select = select.filter(audit_log::Column::ActorId.eq(actor_id));
    }
    if let Some(action) = &filter.action {
        select = select.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some((item_type, item_id)) = filter.item {
        select = select
            .filter(audit_log::Column::ItemType.eq(item_type.as_str()))
            .filter(audit_log::Column::ItemId.eq(item_id));
    }
    paginate(
        db,
        select,
        audit_log::Column::Id,
        |row| row.id,
        args,
        max_page_size,
    )
    .await
}

/// The history of one item, oldest first. The caller has already checked that the viewer
/// may see the item.
pub async fn history_of(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    item_type: ItemType,
    item_ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<audit_log::Model>>> {
    let mut grouped: std::collections::HashMap<i64, Vec<audit_log::Model>> = Default::default();
    // The portal's public view shows no history (it would name drafts and people).
    if !scope.sees_internal_records() {
        return Ok(grouped);
    }
    for row in audit_log::Entity::find()
        .filter(audit_log::Column::ItemType.eq(item_type.as_str()))
        .filter(audit_log::Column::ItemId.is_in(item_ids.iter().copied()))
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await?
    {
        grouped.entry(row.item_id).or_default().push(row);
    }
    Ok(grouped)
}

/// The recorded changes of a task or an indicator (held by the plan snapshot), as the
/// view may read them: the portal's public view shows no history, as in [`history_of`].
pub fn plan_item_history<'a>(
    view: &crate::service::snapshot::PlanView,
    history: &'a [audit_log::Model],
) -> &'a [audit_log::Model] {
    if view.scope.sees_internal_records() {
        history
    } else {
        &[]
    }
}

/// One audit entry: only administrators and the leadership group read the log; for
/// anyone else it does not exist.
pub async fn find_entry(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<Option<audit_log::Model>> {
    let scope = viewer.read_scope()?;
    Ok(audit_log::Entity::find_by_id(id)
        .filter(scope.audit_condition())
        .one(db)
        .await?)
}
