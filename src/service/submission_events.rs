//! The live feed of submission events (created, submitted, approved, rejected,
//! reopened), for subscriptions. The events are read from the audit log, which every
//! change writes in its own transaction: an event is seen exactly when its change
//! committed, whichever instance made it, so several instances on one database agree.
//! The log is read only while someone listens, from the last entry seen on.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Mutex, broadcast};

use crate::entity::audit_log;
use crate::error::AppResult;
use crate::service::submission::SubmissionKind;

/// What happened to a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum SubmissionEventKind {
    /// A draft was made (a report or value saved for the first time, a file uploaded).
    Created,
    /// It was sent for review.
    Submitted,
    /// The leadership group approved it.
    Approved,
    /// The leadership group sent it back, with a reason.
    Rejected,
    /// An approved or rejected submission was opened again, with a reason.
    Reopened,
}

impl SubmissionEventKind {
    /// The event an audit action records, if it is one.
    fn of_action(action: &str) -> Option<(SubmissionKind, Self)> {
        let (prefix, verb) = action.split_once('.')?;
        let kind = [
            SubmissionKind::ProgressReport,
            SubmissionKind::IndicatorValue,
            SubmissionKind::Evidence,
        ]
        .into_iter()
        .find(|kind| kind.action_prefix() == prefix)?;
        let event = match verb {
            "create" | "upload" => Self::Created,
            "submit" => Self::Submitted,
            "approve" => Self::Approved,
            "reject" => Self::Rejected,
            "reopen" => Self::Reopened,
            _ => return None,
        };
        Some((kind, event))
    }
}

/// One event, as the feed hands it to every listener; each checks it may see it.
#[derive(Clone, Debug)]
pub struct SubmissionEvent {
    pub kind: SubmissionEventKind,
    pub submission: SubmissionKind,
    pub submission_id: i64,
    pub at: DateTime<Utc>,
}

/// Audit entries read at once.
const BATCH: u64 = 500;

/// Events a slow listener may fall behind by before it misses some.
const BACKLOG: usize = 1024;

/// The feed: one reader of the audit log per instance, shared by its listeners.
pub struct SubmissionFeed {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<SubmissionEvent>>,
    /// The last audit entry read, while someone listens; `None` while nobody does.
    last_seen: Mutex<Option<i64>>,
    poll_every: Duration,
}

impl SubmissionFeed {
    /// A feed reading the log every `poll_every` while someone listens.
    pub fn start(db: DatabaseConnection, poll_every: Duration) -> Arc<Self> {
        let (sender, _) = broadcast::channel(BACKLOG);
        let feed = Arc::new(Self {
            db,
            sender,
            last_seen: Mutex::new(None),
            poll_every,
        });
        let reader = Arc::downgrade(&feed);
        tokio::spawn(async move {
            loop {
                let Some(feed) = reader.upgrade() else {
                    return;
                };
                let wait = feed.poll_every;
                if let Err(error) = feed.read_new_entries().await {
                    tracing::warn!(error = ?error, "cannot read the audit log for live events");
                }
                drop(feed);
                tokio::time::sleep(wait).await;
            }
        });
        feed
    }

    /// Listens from now on: every event committed after this returns is received.
    pub async fn listen(&self) -> AppResult<broadcast::Receiver<Arc<SubmissionEvent>>> {
        let mut last_seen = self.last_seen.lock().await;
        let receiver = self.sender.subscribe();
        if last_seen.is_none() {
            *last_seen = Some(latest_entry(&self.db).await?);
        }
        Ok(receiver)
    }

    async fn read_new_entries(&self) -> AppResult<()> {
        let mut last_seen = self.last_seen.lock().await;
        if self.sender.receiver_count() == 0 {
            // Nobody listens: read nothing, and start afresh with the next listener.
            *last_seen = None;
            return Ok(());
        }
        let Some(mut after) = *last_seen else {
            return Ok(());
        };
        loop {
            let entries = audit_log::Entity::find()
                .filter(audit_log::Column::Id.gt(after))
                .order_by_asc(audit_log::Column::Id)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let read = entries.len() as u64;
            for entry in entries {
                after = entry.id;
                if let Some((submission, kind)) = SubmissionEventKind::of_action(&entry.action) {
                    // No listener left is not an error: the next read starts afresh.
                    let _ = self.sender.send(Arc::new(SubmissionEvent {
                        kind,
                        submission,
                        submission_id: entry.item_id,
                        at: entry.at,
                    }));
                }
            }
            *last_seen = Some(after);
            if read < BATCH {
                return Ok(());
            }
        }
    }
}

async fn latest_entry(db: &DatabaseConnection) -> AppResult<i64> {
    let latest: Option<Option<i64>> = audit_log::Entity::find()
        .select_only()
        .column_as(audit_log::Column::Id.max(), "latest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.flatten().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_of_the_review_are_events_and_others_are_not() {
        use SubmissionEventKind::*;
        for (action, expected) in [
            (
                "progressReport.create",
                Some((SubmissionKind::ProgressReport, Created)),
            ),
            (
                "indicatorValue.submit",
                Some((SubmissionKind::IndicatorValue, Submitted)),
            ),
            ("evidence.upload", Some((SubmissionKind::Evidence, Created))),
            (
                "evidence.approve",
                Some((SubmissionKind::Evidence, Approved)),
            ),
            (
                "progressReport.reject",
                Some((SubmissionKind::ProgressReport, Rejected)),
            ),
            (
                "indicatorValue.reopen",
                Some((SubmissionKind::IndicatorValue, Reopened)),
            ),
            ("progressReport.update", None),
            ("evidence.delete", None),
            ("user.loginFailed", None),
            ("task.setDueDate", None),
        ] {
            assert_eq!(SubmissionEventKind::of_action(action), expected, "{action}");
        }
    }
}
