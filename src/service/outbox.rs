//! The outbox: every notification and workflow event (a submission submitted, approved,
//! rejected or reopened, a period closed or reopened, a plan published) is written here in
//! the transaction of the change that makes it, so an event exists exactly when its change
//! does. The webhook worker (`service::webhook`) delivers it from there.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{Value, json};

use crate::entity::outbox_event;
use crate::error::AppResult;
use crate::id::{NodeId, NodeKind};
use crate::service::submission::SubmissionRow;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    SubmissionSubmitted,
    SubmissionApproved,
    SubmissionRejected,
    SubmissionReopened,
    PeriodClosed,
    PeriodReopened,
    PlanPublished,
    NotificationCreated,
}

impl Event {
    /// The name in the `X-Ecoplan-Event` header and the body's `event`.
    pub fn name(self) -> &'static str {
        match self {
            Event::SubmissionSubmitted => "submission.submitted",
            Event::SubmissionApproved => "submission.approved",
            Event::SubmissionRejected => "submission.rejected",
            Event::SubmissionReopened => "submission.reopened",
            Event::PeriodClosed => "period.closed",
            Event::PeriodReopened => "period.reopened",
            Event::PlanPublished => "plan.published",
            Event::NotificationCreated => "notification.created",
        }
    }
}

/// Writes one event; `item_key` names the item whose events are delivered in order.
pub async fn record(
    db: &impl ConnectionTrait,
    event: Event,
    item_key: String,
    data: Value,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let payload = json!({
        "event": event.name(),
        "occurredAt": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "data": data,
    });
    outbox_event::ActiveModel {
        event: Set(event.name().to_owned()),
        item_key: Set(item_key),
        payload: Set(payload.to_string()),
        created_at: Set(at),
        fanned_out: Set(false),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn global(kind: NodeKind, id: i64) -> String {
    NodeId::new(kind, id).encode()
}

/// A submission's move, with what a portal needs to show it.
pub async fn record_submission(
    db: &impl ConnectionTrait,
    event: Event,
    row: &SubmissionRow,
    period: Option<&str>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let kind = row.kind();
    let node_kind = match kind {
        crate::service::submission::SubmissionKind::ProgressReport => NodeKind::ProgressReport,
        crate::service::submission::SubmissionKind::IndicatorValue => NodeKind::IndicatorValue,
        crate::service::submission::SubmissionKind::Evidence => NodeKind::Evidence,
    };
    let review = row.review();
    let (item, department) = match row {
        SubmissionRow::ProgressReport(report) => {
            (global(NodeKind::Task, report.task_id), report.department_id)
        }
        SubmissionRow::IndicatorValue(value) => (
            global(NodeKind::Indicator, value.indicator_id),
            value.department_id,
        ),
        SubmissionRow::Evidence(file) => (global(NodeKind::Task, file.task_id), file.department_id),
    };
    let data = json!({
        "id": global(node_kind, row.id()),
        "type": node_kind.name(),
        "item": item,
        "plan": global(NodeKind::Plan, row.plan_id()),
        "department": global(NodeKind::Department, department),
        "period": period,
        "reviewStatus": review.status.as_str(),
        "version": review.version,
        "late": review.late,
        "rejectionReason": review.rejection_reason,
    });
    let item_key = format!("{}:{}", node_kind.name(), row.id());
    record(db, event, item_key, data, at).await
}
