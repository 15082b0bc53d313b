//! Subscriptions, over WebSocket (`graphql-transport-ws`, see `http::live`): submission
//! events as they happen, under the same policy as every read, for as long as the
//! caller's token holds.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ErrorExtensions, Object, Result, Subscription};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use crate::error::AppError;
use crate::graphql::report::Submission;
use crate::graphql::types::DateTime;
use crate::service::auth::{self, TokenKeys};
use crate::service::policy::Viewer;
use crate::service::submission::{self, SubmissionRow};
use crate::service::submission_events::{SubmissionEvent, SubmissionEventKind, SubmissionFeed};
use crate::service::user_reads::UserReads;

/// A WebSocket connection's caller, signed in by the token of its `connection_init`.
pub struct LiveCaller {
    pub db: DatabaseConnection,
    pub user_reads: Arc<UserReads>,
    pub token_keys: Arc<TokenKeys>,
    pub token: String,
    pub viewer: Viewer,
    pub feed: Arc<SubmissionFeed>,
    /// How often the token is checked again between events.
    pub recheck_every: Duration,
}

impl LiveCaller {
    /// Whether the token still holds: not expired, revoked, or its user deactivated.
    async fn still_signed_in(&self) -> bool {
        auth::authenticate(&self.db, &self.user_reads, &self.token_keys, &self.token)
            .await
            .is_ok_and(|found| found.viewer == self.viewer)
    }
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// What happens to the submissions the caller may see: created, submitted, approved,
    /// rejected, reopened, each as it commits. The subscription ends with
    /// `UNAUTHENTICATED` when the caller's token expires or is revoked.
    async fn submission_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<SubmissionEventItem>>> {
        let caller = ctx
            .data_opt::<Arc<LiveCaller>>()
            .cloned()
            .ok_or_else(|| AppError::Unauthenticated.extend())?;
        let receiver = caller.feed.listen().await.map_err(|error| error.extend())?;
        Ok(events_for(caller, receiver))
    }
}

struct Listening {
    caller: Arc<LiveCaller>,
    receiver: broadcast::Receiver<Arc<SubmissionEvent>>,
    recheck: tokio::time::Interval,
    ended: bool,
}

/// The events the caller may see, until its token no longer holds.
fn events_for(
    caller: Arc<LiveCaller>,
    receiver: broadcast::Receiver<Arc<SubmissionEvent>>,
) -> impl Stream<Item = Result<SubmissionEventItem>> {
    let mut recheck = tokio::time::interval(caller.recheck_every);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = Listening {
        caller,
        receiver,
        recheck,
        ended: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        if state.ended {
            return None;
        }
        loop {
            let event = tokio::select! {
                received = state.receiver.recv() => match received {
                    Ok(event) => Some(event),
                    // A listener that fell behind skips what it missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = state.recheck.tick() => None,
            };
            if !state.caller.still_signed_in().await {
                state.ended = true;
                return Some((Err(AppError::Unauthenticated.extend()), state));
            }
            let Some(event) = event else {
                continue;
            };
            if !state
                .caller
                .viewer
                .scope()
                .hears_submission_event(event.kind)
            {
                continue;
            }
            match submission::find_visible(
                &state.caller.db,
                &state.caller.viewer,
                event.submission,
                event.submission_id,
            )
            .await
            {
                Ok(Some(row)) => {
                    let item = SubmissionEventItem {
                        kind: event.kind,
                        at: event.at,
                        row,
                    };
                    return Some((Ok(item), state));
                }
                // Not the caller's to see, or deleted since.
                Ok(None) => continue,
                Err(error) => return Some((Err(error.extend()), state)),
            }
        }
    })
}

/// One event of a submission.
pub struct SubmissionEventItem {
    kind: SubmissionEventKind,
    at: chrono::DateTime<chrono::Utc>,
    row: SubmissionRow,
}

#[Object(name = "SubmissionEvent")]
impl SubmissionEventItem {
    async fn kind(&self) -> SubmissionEventKind {
        self.kind
    }
    /// When the change committed.
    async fn at(&self) -> DateTime {
        DateTime(self.at)
    }
    /// The submission as it stands now.
    async fn submission(&self) -> Submission {
        Submission::from(self.row.clone())
    }
}
