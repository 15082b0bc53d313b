//! The review workflow over GraphQL: submitting, approving, rejecting and reopening any
//! kind of submission.

use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::report::Submission;
use crate::id::NodeId;
use crate::service::submission::{self, Move, SubmissionKind};

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Submits a draft or rejected item for review.
    async fn submit(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Submit).await
    }

    /// Approves a submitted item (leadership); it is locked until reopened.
    async fn approve(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Approve).await
    }

    /// Sends a submitted item back with a reason (leadership).
    async fn reject(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Reject(&reason)).await
    }

    /// Unlocks an approved item and sends it back with a reason (leadership). Give the
    /// `version` you read, as for every other change: an older one is refused with
    /// `STALE_VERSION`. (Without it the item is reopened whatever its version, as clients
    /// written before it was asked for expect.)
    async fn reopen(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: Option<i32>,
        reason: String,
    ) -> Result<Submission> {
        move_submission(ctx, &id, version, Move::Reopen(&reason)).await
    }
}

fn submission_id(id: &ID) -> Result<(SubmissionKind, i64), AppError> {
    let node = NodeId::decode(id)?;
    Ok((SubmissionKind::from_node(node.kind)?, node.id))
}

async fn move_submission(
    ctx: &Context<'_>,
    id: &ID,
    version: Option<i32>,
    step: Move<'_>,
) -> Result<Submission> {
    let request = ctx.request();
    let (kind, raw) = submission_id(id)?;
    let row =
        submission::transition(request.db(), &request.caller(), kind, raw, version, step).await?;
    Ok(row.into())
}
