//! The read every signed-in request makes (its user row, for revocation, with the data
//! revisions, for freshness), shared by the requests that wait at the same moment.
//!
//! A request joins the next read that has not started yet: one read runs at a time, and
//! the requests that arrive while it runs are answered together by the one after it, in
//! one statement (`WHERE id IN (…)`). Every request is thus answered by a statement that
//! began after it arrived, which sees every change committed before it arrived: a caller
//! still never reads an older state than a write it saw succeed, while a burst of requests
//! costs a few round trips to the database instead of one each. A request that finds no
//! read running starts one at once: alone, it waits no longer than before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::oneshot;

use crate::entity::user;
use crate::error::{AppError, AppResult};
use crate::service::auth::{UserAndRevision, with_revision};

/// Users read at most in one statement; more wait for the next.
const MOST_IN_ONE_READ: usize = 256;

type Answer = Result<Option<Arc<UserAndRevision>>, String>;

/// The requests waiting for the next read, by user id.
#[derive(Default)]
struct Waiting {
    /// Whether a read runs now (the task that runs it takes the next ones too).
    reading: bool,
    by_user: HashMap<i64, Vec<oneshot::Sender<Answer>>>,
}

/// The shared reads of users and revisions; one per server.
pub struct UserReads {
    db: DatabaseConnection,
    waiting: Mutex<Waiting>,
}

impl UserReads {
    pub fn new(db: DatabaseConnection) -> Arc<Self> {
        Arc::new(Self {
            db,
            waiting: Mutex::new(Waiting::default()),
        })
    }

    /// The user with this id and the revisions, read by a statement that began after
    /// this call; `None` when no user has the id.
    pub(crate) async fn user_by_id(
        self: &Arc<Self>,
        user_id: i64,
    ) -> AppResult<Option<Arc<UserAndRevision>>> {
        let (sender, answer) = oneshot::channel();
        let start_reading = {
            let mut waiting = self.lock();
            waiting.by_user.entry(user_id).or_default().push(sender);
            !std::mem::replace(&mut waiting.reading, true)
        };
        if start_reading {
            // A task of its own: the reads go on when the request that started them has
            // its answer, or is dropped by a client that went away.
            tokio::spawn(Arc::clone(self).read_while_waited_for());
        }
        match answer.await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(message)) => Err(AppError::Unexpected(anyhow::anyhow!(message))),
            Err(_) => Err(AppError::Unexpected(anyhow::anyhow!(
                "the read of the signed-in user stopped"
            ))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // A panic while the lock is held cannot leave the map half-changed.
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads for everyone waiting, again and again, until nobody waits.
    async fn read_while_waited_for(self: Arc<Self>) {
        let mut reader = Reader {
            reads: Arc::clone(&self),
            finished: false,
        };
        loop {
            let batch: Vec<(i64, Vec<oneshot::Sender<Answer>>)> = {
                let mut waiting = self.lock();
                if waiting.by_user.is_empty() {
                    waiting.reading = false;
                    reader.finished = true;
                    return;
                }
                let ids: Vec<i64> = waiting
                    .by_user
                    .keys()
                    .copied()
                    .take(MOST_IN_ONE_READ)
                    .collect();
                ids.into_iter()
                    .filter_map(|id| waiting.by_user.remove_entry(&id))
                    .collect()
            };
            let found = with_revision(
                user::Entity::find()
                    .filter(user::Column::Id.is_in(batch.iter().map(|(id, _)| *id))),
            )
            .all(&self.db)
            .await;
            match found {
                Ok(rows) => {
                    let mut by_id: HashMap<i64, Arc<UserAndRevision>> = rows
                        .into_iter()
                        .map(|row| (row.user.id, Arc::new(row)))
                        .collect();
                    for (id, senders) in batch {
                        let row = by_id.remove(&id);
                        for sender in senders {
                            // A request that went away no longer listens.
                            let _ = sender.send(Ok(row.clone()));
                        }
                    }
                }
                Err(error) => {
                    let message = format!("cannot read the signed-in user: {error}");
                    for sender in batch.into_iter().flat_map(|(_, senders)| senders) {
                        let _ = sender.send(Err(message.clone()));
                    }
                }
            }
        }
    }
}

/// The task that reads, while it runs. Should it stop before nobody waits (its runtime shut
/// down, or a panic), the requests waiting are answered with an error and the next request
/// starts a read of its own, instead of waiting for one that never comes.
struct Reader {
    reads: Arc<UserReads>,
    /// Set when it stops because nobody waits (under the lock, `reading` already false).
    finished: bool,
}

impl Drop for Reader {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut waiting = self.reads.lock();
        waiting.reading = false;
        // Dropping the senders tells their requests the read stopped.
        waiting.by_user.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn database() -> (DatabaseConnection, crate::db::StatementCounter) {
        let (db, statements) = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        (db, statements)
    }

    async fn add_user(db: &DatabaseConnection) -> i64 {
        use sea_orm::{ActiveModelTrait, Set};
        let now = chrono::Utc::now();
        user::ActiveModel {
            username: Set("reader".to_owned()),
            display_name: Set("Reader".to_owned()),
            password_hash: Set("not a hash".to_owned()),
            role: Set("LEADERSHIP".to_owned()),
            department_id: Set(None),
            active: Set(true),
            token_version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap()
        .id
    }

    #[tokio::test(flavor = "current_thread")]
    async fn requests_that_wait_together_share_one_statement() {
        let (db, statements) = database().await;
        let admin = add_user(&db).await;
        let reads = UserReads::new(db);
        let before = statements.get();
        let answers = futures_util::future::join_all(
            (0..10).map(|i| reads.user_by_id(if i % 2 == 0 { admin } else { admin + 1000 })),
        )
        .await;
        assert_eq!(statements.get() - before, 1, "ten requests, one statement");
        for (i, answer) in answers.into_iter().enumerate() {
            let found = answer.unwrap();
            assert_eq!(found.is_some(), i % 2 == 0, "request {i}");
        }
        // The next request starts a read of its own at once.
        assert!(reads.user_by_id(admin).await.unwrap().is_some());
        assert_eq!(statements.get() - before, 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_reader_that_stops_early_leaves_no_request_waiting_for_ever() {
        let (db, _) = database().await;
        let admin = add_user(&db).await;
        let reads = UserReads::new(db);
        let (sender, answer) = oneshot::channel();
        {
            let mut waiting = reads.lock();
            waiting.reading = true;
            waiting.by_user.entry(admin).or_default().push(sender);
        }
        drop(Reader {
            reads: Arc::clone(&reads),
            finished: false,
        });
        assert!(answer.await.is_err(), "the waiting request is told");
        assert!(!reads.lock().reading);
        assert!(reads.user_by_id(admin).await.unwrap().is_some());
    }
}
