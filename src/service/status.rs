//! Judgements everyone sees: a task's status from its approved reports, and an
//! indicator's status from its latest approved value; and the standing those judgements
//! read, kept on every review move.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use crate::entity::{external_target, indicator, indicator_value, progress_report, task_lead};
use crate::error::AppResult;
use crate::service::indicator::{Direction, TargetKind};
use crate::service::snapshot::bump_revision;
use crate::service::submission::{ReviewStatus, SubmissionRow};

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum TaskStatus {
    /// No lead department has an approved report yet, and it is not overdue.
    NotStarted,
    /// Approved reports say work is under way, and it is not overdue.
    InProgress,
    /// Every lead department's latest approved report says completed (for a task with
    /// parts: every part is completed).
    Completed,
    /// Not completed by its due date.
    Overdue,
}

/// Whether an indicator meets its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum IndicatorStatus {
    /// The latest approved value meets the target.
    Met,
    /// The latest approved value falls short of the target.
    NotMet,
    /// No approved value yet.
    NoData,
    /// The target is set from outside and has not been entered for the value's year, or a
    /// direction-only target has nothing earlier to compare with.
    TargetNotSet,
}

/// The status of an indicator and the inputs of the judgement, so a reader can check it.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub status: IndicatorStatus,
    /// The latest approved value.
    pub value: Option<indicator_value::Model>,
    /// The number the value was compared with: the target, or the previous approved value.
    pub compared_with: Option<f64>,
    /// What `compared_with` is.
    pub compared_with_label: Option<String>,
}

fn period_year(period: &str) -> Option<i32> {
    period.get(..4)?.parse().ok()
}

fn meets(direction: Direction, value: f64, reference: f64) -> bool {
    match direction {
        Direction::Higher => value >= reference,
        Direction::Lower => value <= reference,
    }
}

/// Judges one indicator from its approved values (newest first) and external targets.
pub fn assess(
    indicator: &indicator::Model,
    approved: &[indicator_value::Model],
    external: &[external_target::Model],
) -> Assessment {
    let kind = TargetKind::parse(&indicator.target_kind).unwrap_or(TargetKind::Qualitative);
    let direction = Direction::parse(&indicator.better).unwrap_or(Direction::Higher);
    let Some(latest) = approved.first() else {
        return Assessment {
            status: if kind == TargetKind::External && external.is_empty() {
                IndicatorStatus::TargetNotSet
            } else {
                IndicatorStatus::NoData
            },
            value: None,
            compared_with: None,
            compared_with_label: None,
        };
    };
    let judged = |status, compared_with: Option<f64>, label: Option<String>| Assessment {
        status,
        value: Some(latest.clone()),
        compared_with,
        compared_with_label: label,
    };
    let verdict = |ok: bool| {
        if ok {
            IndicatorStatus::Met
        } else {
            IndicatorStatus::NotMet
        }
    };
    match kind {
        TargetKind::Qualitative => judged(verdict(latest.achieved == Some(true)), None, None),
        TargetKind::AtLeast | TargetKind::AtMost | TargetKind::Equal => {
            let (Some(value), Some(target)) = (latest.value, indicator.target_value) else {
                return judged(
                    IndicatorStatus::NoData,
                    indicator.target_value,
                    Some("target".into()),
                );
            };
            let ok = match kind {
                TargetKind::AtLeast => value >= target,
                TargetKind::AtMost => value <= target,
                _ => (value - target).abs() < 1e-9,
            };
            judged(verdict(ok), Some(target), Some("target".into()))
        }
        TargetKind::External => {
            let year = period_year(&latest.period);
            let Some(target) = external.iter().find(|target| Some(target.year) == year) else {
                return judged(IndicatorStatus::TargetNotSet, None, None);
            };
            let Some(value) = latest.value else {
                return judged(IndicatorStatus::NoData, Some(target.value), None);
            };
            judged(
                verdict(meets(direction, value, target.value)),
                Some(target.value),
                Some(format!("target set for {}", target.year)),
            )
        }
        TargetKind::NoDecrease | TargetKind::NoIncrease | TargetKind::Improve => {
            let previous = approved.get(1);
            let (Some(value), Some(reference)) =
                (latest.value, previous.and_then(|previous| previous.value))
            else {
                return judged(IndicatorStatus::TargetNotSet, None, None);
            };
            let ok = match kind {
                TargetKind::NoDecrease => value >= reference,
                TargetKind::NoIncrease => value <= reference,
                _ => meets(direction, value, reference),
            };
            let label = previous.map(|previous| format!("approved value of {}", previous.period));
            judged(verdict(ok), Some(reference), label)
        }
    }
}

/// Keeps the standing of the item a review move touched: an indicator's latest and
/// previous approved values, or a lead department's latest approved report on a task. It
/// runs in the move's transaction and raises the data revision, so the plan snapshot and
/// the move become visible together.
pub async fn refresh_standing(db: &impl ConnectionTrait, row: &SubmissionRow) -> AppResult<()> {
    let approved = ReviewStatus::Approved.as_str();
    match row {
        SubmissionRow::IndicatorValue(value) => {
            let newest: Vec<i64> = indicator_value::Entity::find()
                .select_only()
                .column(indicator_value::Column::Id)
                .filter(indicator_value::Column::IndicatorId.eq(value.indicator_id))
                .filter(indicator_value::Column::ReviewStatus.eq(approved))
                .order_by_desc(indicator_value::Column::Period)
                .order_by_desc(indicator_value::Column::Id)
                .limit(2)
                .into_tuple()
                .all(db)
                .await?;
            indicator::Entity::update_many()
                .col_expr(
                    indicator::Column::LatestApprovedValueId,
                    Expr::value(newest.first().copied()),
                )
                .col_expr(
                    indicator::Column::PreviousApprovedValueId,
                    Expr::value(newest.get(1).copied()),
                )
                .filter(indicator::Column::Id.eq(value.indicator_id))
                .exec(db)
                .await?;
        }
        SubmissionRow::ProgressReport(report) => {
            let newest: Option<(String, String)> = progress_report::Entity::find()
                .select_only()
                .column(progress_report::Column::Status)
                .column(progress_report::Column::Period)
                .filter(progress_report::Column::TaskId.eq(report.task_id))
                .filter(progress_report::Column::DepartmentId.eq(report.department_id))
                .filter(progress_report::Column::ReviewStatus.eq(approved))
                .order_by_desc(progress_report::Column::Period)
                .order_by_desc(progress_report::Column::Id)
                .into_tuple()
                .one(db)
                .await?;
            let (status, period) = newest.unzip();
            task_lead::Entity::update_many()
                .col_expr(task_lead::Column::LatestApprovedStatus, Expr::value(status))
                .col_expr(task_lead::Column::LatestApprovedPeriod, Expr::value(period))
                .filter(task_lead::Column::TaskId.eq(report.task_id))
                .filter(task_lead::Column::DepartmentId.eq(report.department_id))
                .exec(db)
                .await?;
        }
        // Evidence does not count towards any status.
        SubmissionRow::Evidence(_) => return Ok(()),
    }
    bump_revision(db).await
}
