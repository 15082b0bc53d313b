//! Notifications over GraphQL: the caller's own reminders, escalations and review
//! outcomes, and marking them read.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::entity::notification;
use crate::graphql::connection::NotificationConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::report::decode;
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::id::NodeKind;
use crate::service::notification::{self as service, NotificationKind};
use crate::service::page::page_args;

/// A reminder, escalation or review outcome for a department or the leadership group.
pub struct Notification(pub notification::Model);

/// An item a notification is about.
#[derive(SimpleObject)]
pub struct NotificationItem {
    /// The item's global id (a task, an indicator or a submission).
    pub id: ID,
    /// How people name it.
    pub label: String,
    /// The reporting period it concerns, if any.
    pub period: Option<String>,
}

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        global_id(NodeKind::Notification, self.0.id)
    }
    async fn kind(&self) -> NotificationKind {
        NotificationKind::parse(&self.0.kind)
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn items(&self) -> Vec<NotificationItem> {
        service::items_of(&self.0)
            .into_iter()
            .map(|item| NotificationItem {
                id: ID(item.id),
                label: item.label,
                period: item.period,
            })
            .collect()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it was marked read; `null` while unread.
    async fn read_at(&self) -> Option<DateTime> {
        self.0.read_at.map(DateTime)
    }
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The caller's notifications (a department's, or the leadership group's), unread
    /// first, then newest; `unreadOnly` leaves the read ones out. `null`, with a
    /// `FORBIDDEN` error, for the portal, which receives none.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        unread_only: Option<bool>,
    ) -> Result<Option<NotificationConnection>> {
        let request = ctx.request();
        let args = page_args(first, after, last, before);
        let page = service::list_notifications(
            request.db(),
            &request.viewer,
            unread_only.unwrap_or(false),
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(Some(NotificationConnection::from_page(page, Notification)))
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks the caller's own notifications read and answers them; an id that is not one
    /// of them is `NOT_FOUND`, and nothing is marked.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Result<Vec<Notification>> {
        let request = ctx.request();
        let ids = ids
            .iter()
            .map(|id| decode(id, NodeKind::Notification))
            .collect::<Result<Vec<i64>, _>>()?;
        let marked = service::mark_read(
            request.db(),
            &request.viewer,
            &ids,
            request.settings.clock.now(),
        )
        .await?;
        Ok(marked.into_iter().map(Notification).collect())
    }
}
