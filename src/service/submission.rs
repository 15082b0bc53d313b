//! The review workflow shared by progress reports, indicator values and evidence:
//! `DRAFT → SUBMITTED → APPROVED | REJECTED`, with optimistic versions and an audit entry
//! for every move.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::Serialize;

use crate::entity::{evidence, indicator_value, progress_report};
use crate::error::{AppError, AppResult};
use crate::id::NodeKind;
use crate::service::audit::{self, Caller, ItemType};
use crate::service::period::{self, Period, load_plan};
use crate::service::policy::{self, Viewer};

/// Where a submission is in its review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum, Serialize)]
pub enum ReviewStatus {
    /// Being written by its department; only it sees and changes it.
    Draft,
    /// Sent for review; locked until the leadership group decides.
    Submitted,
    /// Accepted by the leadership group; counts towards status and figures.
    Approved,
    /// Sent back with a reason; its department may change and submit it again.
    Rejected,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Draft => "DRAFT",
            ReviewStatus::Submitted => "SUBMITTED",
            ReviewStatus::Approved => "APPROVED",
            ReviewStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "SUBMITTED" => ReviewStatus::Submitted,
            "APPROVED" => ReviewStatus::Approved,
            "REJECTED" => ReviewStatus::Rejected,
            _ => ReviewStatus::Draft,
        }
    }

    /// The submitting department may change the item.
    pub fn is_editable(self) -> bool {
        matches!(self, ReviewStatus::Draft | ReviewStatus::Rejected)
    }
}

/// The kinds of submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmissionKind {
    ProgressReport,
    IndicatorValue,
    Evidence,
}

impl SubmissionKind {
    pub fn from_node(kind: NodeKind) -> AppResult<Self> {
        match kind {
            NodeKind::ProgressReport => Ok(SubmissionKind::ProgressReport),
            NodeKind::IndicatorValue => Ok(SubmissionKind::IndicatorValue),
            NodeKind::Evidence => Ok(SubmissionKind::Evidence),
            other => Err(AppError::bad_input(format!(
                "a {} is not a submission: give the id of a progress report, indicator value or evidence",
                other.name()
            ))),
        }
    }

    /// The kind of global id its items have.
    pub fn node_kind(self) -> NodeKind {
        match self {
            SubmissionKind::ProgressReport => NodeKind::ProgressReport,
            SubmissionKind::IndicatorValue => NodeKind::IndicatorValue,
            SubmissionKind::Evidence => NodeKind::Evidence,
        }
    }

    pub fn item_type(self) -> ItemType {
        match self {
            SubmissionKind::ProgressReport => ItemType::ProgressReport,
            SubmissionKind::IndicatorValue => ItemType::IndicatorValue,
            SubmissionKind::Evidence => ItemType::Evidence,
        }
    }

    pub(crate) fn action_prefix(self) -> &'static str {
        match self {
            SubmissionKind::ProgressReport => "progressReport",
            SubmissionKind::IndicatorValue => "indicatorValue",
            SubmissionKind::Evidence => "evidence",
        }
    }
}

/// A submission row of any kind.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum SubmissionRow {
    ProgressReport(progress_report::Model),
    IndicatorValue(indicator_value::Model),
    Evidence(evidence::Model),
}

/// The review fields every submission has.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewState {
    pub status: ReviewStatus,
    pub version: i32,
    pub late: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<i64>,
    pub rejection_reason: Option<String>,
}

macro_rules! review_state_of {
    ($row:expr) => {
        ReviewState {
            status: ReviewStatus::parse(&$row.review_status),
            version: $row.version,
            late: $row.late,
            submitted_at: $row.submitted_at,
            submitted_by: $row.submitted_by,
            reviewed_at: $row.reviewed_at,
            reviewed_by: $row.reviewed_by,
            rejection_reason: $row.rejection_reason.clone(),
        }
    };
}

/// What every submission row has: its id, and the version that guards each change.
pub trait Versioned {
    fn id(&self) -> i64;
    fn version(&self) -> i32;
}

macro_rules! versioned {
    ($($model:path),*) => {
        $(impl Versioned for $model {
            fn id(&self) -> i64 {
                self.id
            }

            fn version(&self) -> i32 {
                self.version
            }
        })*
    };
}

versioned!(
    progress_report::Model,
    indicator_value::Model,
    evidence::Model
);

/// Writes a new review state with `version` as the guard: a concurrent change makes the
/// update match no row, which is reported as a conflict.
macro_rules! store_review_state {
    ($db:expr, $module:ident, $id:expr, $expected_version:expr, $state:expr) => {{
        let state = $state;
        let result = $module::Entity::update_many()
            .set($module::ActiveModel {
                review_status: Set(state.status.as_str().to_owned()),
                version: Set(state.version),
                late: Set(state.late),
                submitted_at: Set(state.submitted_at),
                submitted_by: Set(state.submitted_by),
                reviewed_at: Set(state.reviewed_at),
                reviewed_by: Set(state.reviewed_by),
                rejection_reason: Set(state.rejection_reason.clone()),
                updated_at: Set(Utc::now()),
                ..Default::default()
            })
            .filter($module::Column::Id.eq($id))
            .filter($module::Column::Version.eq($expected_version))
            .exec($db)
            .await?;
        if result.rows_affected == 0 {
            return Err(stale($expected_version + 1));
        }
        $module::Entity::find_by_id($id)
            .one($db)
            .await?
            .map(SubmissionRow::$module)
            .ok_or_else(|| AppError::not_found("the submission is gone"))?
    }};
}

#[allow(non_snake_case)]
mod aliases {
    pub use crate::entity::evidence as Evidence;
    pub use crate::entity::indicator_value as IndicatorValue;
    pub use crate::entity::progress_report as ProgressReport;
}
use aliases::{Evidence, IndicatorValue, ProgressReport};

impl SubmissionRow {
    pub fn id(&self) -> i64 {
        match self {
            SubmissionRow::ProgressReport(row) => row.id,
            SubmissionRow::IndicatorValue(row) => row.id,
            SubmissionRow::Evidence(row) => row.id,
        }
    }

    pub fn kind(&self) -> SubmissionKind {
        match self {
            SubmissionRow::ProgressReport(_) => SubmissionKind::ProgressReport,
            SubmissionRow::IndicatorValue(_) => SubmissionKind::IndicatorValue,
            SubmissionRow::Evidence(_) => SubmissionKind::Evidence,
        }
    }

    pub fn department_id(&self) -> i64 {
        match self {
            SubmissionRow::ProgressReport(row) => row.department_id,
            SubmissionRow::IndicatorValue(row) => row.department_id,
            SubmissionRow::Evidence(row) => row.department_id,
        }
    }

    pub fn plan_id(&self) -> i64 {
        match self {
            SubmissionRow::ProgressReport(row) => row.plan_id,
            SubmissionRow::IndicatorValue(row) => row.plan_id,
            SubmissionRow::Evidence(row) => row.plan_id,
        }
    }

    pub fn review(&self) -> ReviewState {
        match self {
            SubmissionRow::ProgressReport(row) => review_state_of!(row),
            SubmissionRow::IndicatorValue(row) => review_state_of!(row),
            SubmissionRow::Evidence(row) => review_state_of!(row),
        }
    }
}

pub fn stale(current_version: i32) -> AppError {
    AppError::StaleVersion { current_version }
}

/// Loads any submission, whatever the viewer may see.
pub async fn load(
    db: &impl ConnectionTrait,
    kind: SubmissionKind,
    id: i64,
) -> AppResult<Option<SubmissionRow>> {
    Ok(match kind {
        SubmissionKind::ProgressReport => ProgressReport::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(SubmissionRow::ProgressReport),
        SubmissionKind::IndicatorValue => IndicatorValue::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(SubmissionRow::IndicatorValue),
        SubmissionKind::Evidence => Evidence::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(SubmissionRow::Evidence),
    })
}

/// A submission the viewer may read, or `None`.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    kind: SubmissionKind,
    id: i64,
) -> AppResult<Option<SubmissionRow>> {
    let scope = viewer.read_scope()?;
    match load(db, kind, id).await? {
        Some(row) if policy::sees_submission(db, scope, &row).await? => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// The period a submission belongs to, for deadlines and closed periods. Evidence takes
/// the period of the report or value it backs.
pub async fn period_of(
    db: &impl ConnectionTrait,
    row: &SubmissionRow,
) -> AppResult<Option<String>> {
    Ok(match row {
        SubmissionRow::ProgressReport(row) => Some(row.period.clone()),
        SubmissionRow::IndicatorValue(row) => Some(row.period.clone()),
        SubmissionRow::Evidence(row) => {
            if let Some(report_id) = row.progress_report_id {
                ProgressReport::Entity::find_by_id(report_id)
                    .one(db)
                    .await?
                    .map(|r| r.period)
            } else if let Some(value_id) = row.indicator_value_id {
                IndicatorValue::Entity::find_by_id(value_id)
                    .one(db)
                    .await?
                    .map(|v| v.period)
            } else {
                None
            }
        }
    })
}

/// The periods of progress reports, by their ids: the period of the evidence attached to
/// one. Read only for evidence the viewer already sees.
pub async fn periods_of_reports(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = ProgressReport::Entity::find()
        .select_only()
        .column(ProgressReport::Column::Id)
        .column(ProgressReport::Column::Period)
        .filter(ProgressReport::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The periods of indicator values, by their ids (see `periods_of_reports`).
pub async fn periods_of_values(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = IndicatorValue::Entity::find()
        .select_only()
        .column(IndicatorValue::Column::Id)
        .column(IndicatorValue::Column::Period)
        .filter(IndicatorValue::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Loads a submission for a change: it must exist, the viewer must be allowed to touch it
/// (`may_touch`), and `version` must be current.
async fn load_for_change(
    db: &impl ConnectionTrait,
    kind: SubmissionKind,
    id: i64,
    version: Option<i32>,
) -> AppResult<SubmissionRow> {
    let row = load(db, kind, id)
        .await?
        .ok_or_else(|| AppError::not_found("no submission has this id"))?;
    if let Some(version) = version {
        let current = row.review().version;
        if current != version {
            return Err(stale(current));
        }
    }
    Ok(row)
}

async fn write_state(
    db: &impl ConnectionTrait,
    row: &SubmissionRow,
    expected_version: i32,
    state: &ReviewState,
) -> AppResult<SubmissionRow> {
    let id = row.id();
    Ok(match row.kind() {
        SubmissionKind::ProgressReport => {
            store_review_state!(db, ProgressReport, id, expected_version, state)
        }
        SubmissionKind::IndicatorValue => {
            store_review_state!(db, IndicatorValue, id, expected_version, state)
        }
        SubmissionKind::Evidence => store_review_state!(db, Evidence, id, expected_version, state),
    })
}

/// One move of the review workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move<'a> {
    Submit,
    Approve,
    Reject(&'a str),
    Reopen(&'a str),
}

impl Move<'_> {
    fn action(self) -> &'static str {
        match self {
            Move::Submit => "submit",
            Move::Approve => "approve",
            Move::Reject(_) => "reject",
            Move::Reopen(_) => "reopen",
        }
    }
}

/// Moves a submission through its review, in one transaction with its audit entry.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    kind: SubmissionKind,
    id: i64,
    version: Option<i32>,
    step: Move<'_>,
) -> AppResult<SubmissionRow> {
    let viewer = caller.viewer;
    viewer.require_signed_in()?;
    let actor = caller.actor_id()?;
    let txn = crate::db::begin_write(db).await?;
    // Who may make the move comes before the state of the item, so that an item the
    // caller may not see reveals nothing about itself.
    match step {
        Move::Submit => {
            policy::require_changeable_submission(&txn, viewer, kind, id).await?;
        }
        Move::Approve | Move::Reject(_) | Move::Reopen(_) => {
            viewer.require_reviewer_of_submissions()?
        }
    }
    let row = load_for_change(&txn, kind, id, version).await?;
    let before = row.review();
    let period_name = period_of(&txn, &row).await?;
    if let Some(period_name) = &period_name {
        period::ensure_open(&txn, row.plan_id(), period_name).await?;
    }

    let late = match (&step, &period_name) {
        (Move::Submit, Some(name)) => {
            let plan = load_plan(&txn, row.plan_id()).await?;
            Period::parse_for(name, &plan)?
                .is_late(plan.submission_deadline_days, caller.clock.now())
        }
        _ => false,
    };
    let state = next_state(&before, step, actor, late, caller.clock.now())?;
    let updated = write_state(&txn, &row, before.version, &state).await?;
    if before.status == ReviewStatus::Approved || state.status == ReviewStatus::Approved {
        crate::service::status::refresh_standing(&txn, &updated).await?;
    }
    // Every move changes what the dashboard counts (reported, late, awaiting review).
    crate::service::snapshot::bump_submission_revision(&txn).await?;
    announce_move(
        &txn,
        step,
        &updated,
        period_name.as_deref(),
        caller.clock.now(),
    )
    .await?;
    audit::record(
        &txn,
        caller,
        &format!("{}.{}", kind.action_prefix(), step.action()),
        kind.item_type(),
        id,
        Some(&row),
        Some(&updated),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Writes a move's outbox event and, for a review outcome, the notice to the submitting
/// department (with the reason of a rejection), in the move's transaction.
async fn announce_move(
    db: &impl ConnectionTrait,
    step: Move<'_>,
    row: &SubmissionRow,
    period: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use crate::service::notification::{self, NewNotification, NotificationKind, Recipient};
    use crate::service::outbox::{self, Event};
    let (event, kind) = match step {
        Move::Submit => (Event::SubmissionSubmitted, None),
        Move::Approve => (Event::SubmissionApproved, Some(NotificationKind::Approved)),
        Move::Reject(_) => (Event::SubmissionRejected, Some(NotificationKind::Rejected)),
        Move::Reopen(_) => (Event::SubmissionReopened, Some(NotificationKind::Rejected)),
    };
    outbox::record_submission(db, event, row, period, now).await?;
    let Some(kind) = kind else {
        return Ok(());
    };
    let (label, node_kind) = describe(db, row).await?;
    let period_text = period.map(|p| format!(" for {p}")).unwrap_or_default();
    let message = match (kind, row.review().rejection_reason) {
        (NotificationKind::Approved, _) => format!("{label}{period_text} was approved"),
        (_, Some(reason)) => format!("{label}{period_text} was sent back: {reason}"),
        (_, None) => format!("{label}{period_text} was sent back"),
    };
    let item = notification::NoticeItem::new(node_kind, row.id(), label, period.map(str::to_owned));
    let notice = NewNotification {
        recipient: Recipient::Department(row.department_id()),
        kind,
        message,
        items: vec![item],
        once_key: None,
    };
    notification::notify(db, notice, now).await?;
    Ok(())
}

/// How people name a submission: `the progress report on task 36`.
async fn describe(db: &impl ConnectionTrait, row: &SubmissionRow) -> AppResult<(String, NodeKind)> {
    use crate::entity::{indicator, task};
    let task_code = |id: i64| async move {
        AppResult::Ok(
            task::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|task| task.code)
                .unwrap_or_default(),
        )
    };
    Ok(match row {
        SubmissionRow::ProgressReport(report) => (
            format!(
                "the progress report on task {}",
                task_code(report.task_id).await?
            ),
            NodeKind::ProgressReport,
        ),
        SubmissionRow::IndicatorValue(value) => {
            let name = indicator::Entity::find_by_id(value.indicator_id)
                .one(db)
                .await?
                .map(|indicator| indicator.name)
                .unwrap_or_default();
            (format!("the value of {name}"), NodeKind::IndicatorValue)
        }
        SubmissionRow::Evidence(file) => (
            format!(
                "the evidence 「{}」 on task {}",
                file.title,
                task_code(file.task_id).await?
            ),
            NodeKind::Evidence,
        ),
    })
}

/// The review state after `step`, or the refusal when the item is not in a state the
/// step applies to. `late` says whether a submission comes after its deadline.
fn next_state(
    before: &ReviewState,
    step: Move<'_>,
    actor: i64,
    late: bool,
    now: DateTime<Utc>,
) -> AppResult<ReviewState> {
    let mut state = before.clone();
    state.version = before.version + 1;
    match step {
        Move::Submit => {
            if !before.status.is_editable() {
                return Err(wrong_state(
                    before.status,
                    "submitted",
                    "a draft or a rejected item",
                ));
            }
            state.late = late;
            state.status = ReviewStatus::Submitted;
            state.submitted_at = Some(now);
            state.submitted_by = Some(actor);
            state.reviewed_at = None;
            state.reviewed_by = None;
        }
        Move::Approve => {
            if before.status != ReviewStatus::Submitted {
                return Err(wrong_state(before.status, "approved", "a submitted item"));
            }
            state.status = ReviewStatus::Approved;
            state.reviewed_at = Some(now);
            state.reviewed_by = Some(actor);
            state.rejection_reason = None;
        }
        Move::Reject(reason) => {
            if before.status != ReviewStatus::Submitted {
                return Err(wrong_state(before.status, "rejected", "a submitted item"));
            }
            state.status = ReviewStatus::Rejected;
            state.reviewed_at = Some(now);
            state.reviewed_by = Some(actor);
            state.rejection_reason = Some(required_reason(reason)?);
        }
        Move::Reopen(reason) => {
            if before.status != ReviewStatus::Approved {
                return Err(wrong_state(before.status, "reopened", "an approved item"));
            }
            // Reopening sends the item back to its department, with the reason, to edit.
            state.status = ReviewStatus::Rejected;
            state.reviewed_at = Some(now);
            state.reviewed_by = Some(actor);
            state.rejection_reason = Some(required_reason(reason)?);
        }
    }
    Ok(state)
}

fn required_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_field("reason", "a reason is required"));
    }
    if reason.chars().count() > 2000 {
        return Err(AppError::bad_field(
            "reason",
            "a reason may be at most 2000 characters",
        ));
    }
    Ok(reason.to_owned())
}

fn wrong_state(status: ReviewStatus, verb: &str, wanted: &str) -> AppError {
    AppError::InvalidState {
        message: format!(
            "only {wanted} can be {verb}; this one is {}",
            status.as_str()
        ),
        state: status.as_str().to_owned(),
        current_version: None,
    }
}

/// Refuses a change to a submission that is locked (submitted or approved).
pub fn ensure_editable(row: &SubmissionRow) -> AppResult<()> {
    let status = row.review().status;
    if status.is_editable() {
        Ok(())
    } else {
        Err(AppError::InvalidState {
            message: format!(
                "this item is {} and locked: only a draft or a rejected item can be changed",
                status.as_str()
            ),
            state: status.as_str().to_owned(),
            current_version: Some(row.review().version),
        })
    }
}

/// Checks an update's version, and that the item can be changed by this viewer.
pub async fn check_update(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    kind: SubmissionKind,
    id: i64,
    version: Option<i32>,
) -> AppResult<SubmissionRow> {
    let version = version.ok_or_else(|| {
        AppError::bad_field("version", "give the version you read to change an item")
    })?;
    let row = policy::require_changeable_submission(db, viewer, kind, id).await?;
    ensure_editable(&row)?;
    let current = row.review().version;
    if current != version {
        return Err(stale(current));
    }
    Ok(row)
}
