//! The live feed of submission events (created, submitted, approved, rejected,
//! reopened), for subscriptions. The events are read from the audit log, which every
//! change writes in its own transaction: an event is seen exactly when its change
//! committed, whichever instance made it, so several instances on one database agree.
//! The log is read only while someone listens, from the last entry seen on.
//!
//! An entry's id is handed out when it is inserted, not when its transaction commits: on
//! PostgreSQL a change that took id 41 may commit after one that took 42 was read. The
//! reader keeps each id it stepped over as a gap and looks for it again on every read
//! until [`GAP_PATIENCE`] has passed (a rolled-back change leaves its gap for good), so a
//! late commit is heard too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
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

/// How long an id stepped over is looked for: longer than any change's transaction stays
/// open after writing its audit entry (an import of a whole workbook is the longest).
const GAP_PATIENCE: Duration = Duration::from_secs(120);

/// Ids stepped over looked for at once; beyond, the oldest are given up.
const MAX_GAPS: usize = 512;

/// Where the reader is in the log: the highest id read, and the lower ids not seen yet.
#[derive(Debug, Default)]
struct Cursor {
    highest: i64,
    /// Each id stepped over, with when it was first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    fn at(highest: i64) -> Self {
        Self {
            highest,
            gaps: BTreeMap::new(),
        }
    }

    /// Takes one entry read: true when it is new, false when it was seen already.
    fn take(&mut self, id: i64, now: Instant) -> bool {
        if id > self.highest {
            // Only the last MAX_GAPS ids stepped over can be kept.
            let first_missed = (self.highest + 1).max(id - MAX_GAPS as i64);
            for missed in first_missed..id {
                self.gaps.insert(missed, now);
            }
            self.highest = id;
            self.bound();
            true
        } else {
            self.gaps.remove(&id).is_some()
        }
    }

    /// Gives up the gaps looked for longer than `GAP_PATIENCE`, and the oldest beyond
    /// `MAX_GAPS`.
    fn forget_old_gaps(&mut self, now: Instant) {
        self.gaps
            .retain(|_, missed| now.duration_since(*missed) < GAP_PATIENCE);
        self.bound();
    }

    fn bound(&mut self) {
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
    }
}

/// The feed: one reader of the audit log per instance, shared by its listeners.
pub struct SubmissionFeed {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<SubmissionEvent>>,
    /// Where the reader is, while someone listens; `None` while nobody does.
    cursor: Mutex<Option<Cursor>>,
    poll_every: Duration,
}

impl SubmissionFeed {
    /// A feed reading the log every `poll_every` while someone listens.
    pub fn start(db: DatabaseConnection, poll_every: Duration) -> Arc<Self> {
        let (sender, _) = broadcast::channel(BACKLOG);
        let feed = Arc::new(Self {
            db,
            sender,
            cursor: Mutex::new(None),
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
        let mut cursor = self.cursor.lock().await;
        let receiver = self.sender.subscribe();
        if cursor.is_none() {
            *cursor = Some(Cursor::at(latest_entry(&self.db).await?));
        }
        Ok(receiver)
    }

    async fn read_new_entries(&self) -> AppResult<()> {
        let mut guard = self.cursor.lock().await;
        if self.sender.receiver_count() == 0 {
            // Nobody listens: read nothing, and start afresh with the next listener.
            *guard = None;
            return Ok(());
        }
        let Some(cursor) = guard.as_mut() else {
            return Ok(());
        };
        cursor.forget_old_gaps(Instant::now());
        loop {
            let mut unseen = Condition::any().add(audit_log::Column::Id.gt(cursor.highest));
            if !cursor.gaps.is_empty() {
                unseen = unseen.add(audit_log::Column::Id.is_in(cursor.gaps.keys().copied()));
            }
            // The four columns an event needs, not the items before and after.
            let entries: Vec<(i64, String, i64, DateTime<Utc>)> = audit_log::Entity::find()
                .select_only()
                .columns([
                    audit_log::Column::Id,
                    audit_log::Column::Action,
                    audit_log::Column::ItemId,
                    audit_log::Column::At,
                ])
                .filter(unseen)
                .order_by_asc(audit_log::Column::Id)
                .limit(BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            let read = entries.len() as u64;
            let now = Instant::now();
            for (id, action, item_id, at) in entries {
                if !cursor.take(id, now) {
                    continue;
                }
                if let Some((submission, kind)) = SubmissionEventKind::of_action(&action) {
                    // No listener left is not an error: the next read starts afresh.
                    let _ = self.sender.send(Arc::new(SubmissionEvent {
                        kind,
                        submission,
                        submission_id: item_id,
                        at,
                    }));
                }
            }
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
    fn an_id_stepped_over_is_heard_when_it_commits_late_and_once() {
        let start = Instant::now();
        let mut cursor = Cursor::at(40);
        assert!(cursor.take(42, start));
        assert_eq!(cursor.gaps.keys().copied().collect::<Vec<_>>(), [41]);
        // 42 is read again with the gap: it is not new.
        assert!(!cursor.take(42, start));
        // 41 committed late.
        assert!(cursor.take(41, start));
        assert!(!cursor.take(41, start));
        assert!(cursor.gaps.is_empty());
    }

    #[test]
    fn a_gap_is_given_up_after_its_patience_and_gaps_stay_bounded() {
        let start = Instant::now();
        let mut cursor = Cursor::at(0);
        assert!(cursor.take(3, start));
        cursor.forget_old_gaps(start + GAP_PATIENCE / 2);
        assert_eq!(cursor.gaps.len(), 2);
        cursor.forget_old_gaps(start + GAP_PATIENCE);
        assert!(cursor.gaps.is_empty());
        // A rolled-back entry's id can no longer be taken as new.
        assert!(!cursor.take(1, start + GAP_PATIENCE));

        assert!(cursor.take(3 + 10 * MAX_GAPS as i64, start));
        assert_eq!(cursor.gaps.len(), MAX_GAPS);
        assert_eq!(
            cursor.gaps.last_key_value().map(|(id, _)| *id),
            Some(2 + 10 * MAX_GAPS as i64)
        );
    }

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
