//! Notifications: reminders before a deadline, escalations when an item turns red, and
//! the outcome of a review, each to one department or to the leadership group. Each is
//! written with an outbox event in the same transaction; reminders and escalations carry
//! a key that makes them once per item, period and threshold, on every instance.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TryInsertResult,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::entity::notification;
use crate::error::{AppError, AppResult};
use crate::id::{NodeId, NodeKind};
use crate::service::outbox::{self, Event};
use crate::service::page::{Page, PageArgs, paginate_in_memory};
use crate::service::policy::{Inbox, Role, Viewer};

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum NotificationKind {
    /// Items of a period due soon that the department has not submitted.
    Reminder,
    /// To the leadership group: an item turned red.
    Escalation,
    /// A submission of the department was approved.
    Approved,
    /// A submission of the department was rejected (or reopened), with the reason.
    Rejected,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Reminder => "REMINDER",
            NotificationKind::Escalation => "ESCALATION",
            NotificationKind::Approved => "APPROVED",
            NotificationKind::Rejected => "REJECTED",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "REMINDER" => NotificationKind::Reminder,
            "ESCALATION" => NotificationKind::Escalation,
            "APPROVED" => NotificationKind::Approved,
            _ => NotificationKind::Rejected,
        }
    }
}

/// Who a notification goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    Department(i64),
    Leadership,
}

/// One item a notification names: a task, an indicator or a submission, by global id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoticeItem {
    /// The item's global id.
    pub id: String,
    /// How people name it: `task 12`, an indicator's name.
    pub label: String,
    pub period: Option<String>,
}

impl NoticeItem {
    pub fn new(kind: NodeKind, id: i64, label: String, period: Option<String>) -> Self {
        Self {
            id: NodeId::new(kind, id).encode(),
            label,
            period,
        }
    }
}

/// A notification to write.
pub struct NewNotification {
    pub recipient: Recipient,
    pub kind: NotificationKind,
    pub message: String,
    pub items: Vec<NoticeItem>,
    /// Makes it once: a second notification with the same key is not written.
    pub once_key: Option<String>,
}

/// Writes a notification and its outbox event (in the caller's transaction); `None` when
/// one with the same `once_key` exists already.
pub async fn notify(
    db: &impl ConnectionTrait,
    new: NewNotification,
    now: DateTime<Utc>,
) -> AppResult<Option<notification::Model>> {
    let (department, role) = match new.recipient {
        Recipient::Department(id) => (Some(id), None),
        Recipient::Leadership => (None, Some(Role::Leadership.as_str().to_owned())),
    };
    let items =
        serde_json::to_string(&new.items).map_err(|error| AppError::Unexpected(error.into()))?;
    let mut row = notification::Model {
        id: 0,
        recipient_department_id: department,
        recipient_role: role,
        kind: new.kind.as_str().to_owned(),
        message: new.message,
        items,
        once_key: new.once_key,
        created_at: now,
        read_at: None,
    };
    let mut active: notification::ActiveModel = row.clone().into();
    active.id = sea_orm::NotSet;
    let inserted = notification::Entity::insert(active)
        .on_conflict(
            OnConflict::column(notification::Column::OnceKey)
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec(db)
        .await?;
    let TryInsertResult::Inserted(result) = inserted else {
        return Ok(None);
    };
    row.id = result.last_insert_id;
    let data = json!({
        "id": NodeId::new(NodeKind::Notification, row.id).encode(),
        "kind": row.kind,
        "recipient": match new.recipient {
            Recipient::Department(id) => json!({ "department": NodeId::new(NodeKind::Department, id).encode() }),
            Recipient::Leadership => json!({ "role": Role::Leadership.as_str() }),
        },
        "message": row.message,
        "items": new.items,
    });
    let item_key = format!("Notification:{}", row.id);
    outbox::record(db, Event::NotificationCreated, item_key, data, now).await?;
    Ok(Some(row))
}

/// Ids past this are not expected; the paging key puts unread first, then newest.
const KEY_SPAN: i64 = 1 << 50;

fn page_key(id: i64, unread: bool) -> i64 {
    let group = if unread { 0 } else { KEY_SPAN };
    group + (KEY_SPAN - id)
}

/// The viewer's own notifications, unread first, then newest; `unread_only` leaves the
/// read ones out. The keys are read in one statement and the page's rows in another.
pub async fn list_notifications(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    unread_only: bool,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<notification::Model>> {
    let inbox = viewer.notification_inbox()?;
    args.validate(max_page_size)?;
    let mut keys = notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .column_as(Expr::col(notification::Column::ReadAt).is_null(), "unread")
        .filter(inbox.condition());
    if unread_only {
        keys = keys.filter(notification::Column::ReadAt.is_null());
    }
    let keys: Vec<(i64, bool)> = keys.into_tuple().all(db).await?;
    let mut keyed: Vec<(i64, i64)> = keys
        .into_iter()
        .map(|(id, unread)| (page_key(id, unread), id))
        .collect();
    keyed.sort_unstable();
    let page = paginate_in_memory(keyed, args, max_page_size)?;
    let ids: Vec<i64> = page.items.iter().map(|(_, id)| *id).collect();
    let mut rows: HashMap<i64, notification::Model> = notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(Page {
        // A row removed between the two statements is left out.
        items: page
            .items
            .into_iter()
            .filter_map(|(key, id)| rows.remove(&id).map(|row| (key, row)))
            .collect(),
        has_previous_page: page.has_previous_page,
        has_next_page: page.has_next_page,
        total_count: page.total_count,
    })
}

/// Marks the viewer's own notifications read and answers them. An id that is not one of
/// the viewer's notifications is `NOT_FOUND`, and then nothing is marked.
pub async fn mark_read(
    db: &DatabaseConnection,
    viewer: &Viewer,
    ids: &[i64],
    now: DateTime<Utc>,
) -> AppResult<Vec<notification::Model>> {
    let inbox: Inbox = viewer.notification_inbox()?;
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    let txn = crate::db::begin_write(db).await?;
    let own = notification::Entity::find()
        .filter(inbox.condition())
        .filter(notification::Column::Id.is_in(wanted.iter().copied()))
        .all(&txn)
        .await?;
    if own.len() != wanted.len() {
        return Err(AppError::not_found("no notification of yours has this id"));
    }
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::Id.is_in(wanted.iter().copied()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let mut marked: Vec<notification::Model> = own
        .into_iter()
        .map(|mut row| {
            row.read_at.get_or_insert(now);
            row
        })
        .collect();
    marked.sort_by_key(|row| std::cmp::Reverse(row.id));
    Ok(marked)
}

/// The items of a stored notification.
pub fn items_of(row: &notification::Model) -> Vec<NoticeItem> {
    serde_json::from_str(&row.items).unwrap_or_default()
}
