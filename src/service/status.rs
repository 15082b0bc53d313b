//! Judgements everyone sees: a task's status from its approved reports, and an
//! indicator's status from its latest approved value.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entity::{
    external_target, indicator, indicator_value, plan, progress_report, task, task_lead,
};
use crate::error::AppResult;
use crate::service::indicator::{Direction, TargetKind};
use crate::service::report::{
    ProgressStatus, approved_values_by_indicators, due_on, external_targets_by_indicators,
};
use crate::service::submission::ReviewStatus;

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum TaskStatus {
    NotStarted,
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
    Met,
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

struct TaskFacts {
    started: bool,
    completed: bool,
}

/// The status of each task, judged on `today` (city time).
pub async fn task_statuses(
    db: &impl ConnectionTrait,
    tasks: &[task::Model],
    today: NaiveDate,
) -> AppResult<HashMap<i64, TaskStatus>> {
    let ids: Vec<i64> = tasks.iter().map(|task| task.id).collect();
    let subtasks = task::Entity::find()
        .filter(task::Column::ParentId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let all_ids: Vec<i64> = ids
        .iter()
        .copied()
        .chain(subtasks.iter().map(|task| task.id))
        .collect();
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.is_in(all_ids.iter().copied()))
        .all(db)
        .await?;
    let reports = progress_report::Entity::find()
        .filter(progress_report::Column::TaskId.is_in(all_ids.iter().copied()))
        .filter(progress_report::Column::ReviewStatus.eq(ReviewStatus::Approved.as_str()))
        .all(db)
        .await?;
    let mut plan_ids: Vec<i64> = tasks.iter().map(|task| task.plan_id).collect();
    plan_ids.sort_unstable();
    plan_ids.dedup();
    let plans: HashMap<i64, plan::Model> = plan::Entity::find()
        .filter(plan::Column::Id.is_in(plan_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|plan| (plan.id, plan))
        .collect();

    // The latest approved report of each (task, department).
    let mut latest: HashMap<(i64, i64), &progress_report::Model> = HashMap::new();
    for report in &reports {
        let key = (report.task_id, report.department_id);
        if latest
            .get(&key)
            .is_none_or(|current| current.period < report.period)
        {
            latest.insert(key, report);
        }
    }
    let mut leads_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for lead in &leads {
        leads_of
            .entry(lead.task_id)
            .or_default()
            .push(lead.department_id);
    }
    let leaf_facts = |task_id: i64| -> TaskFacts {
        let departments = leads_of.get(&task_id).cloned().unwrap_or_default();
        let statuses: Vec<Option<ProgressStatus>> = departments
            .iter()
            .map(|department| {
                latest
                    .get(&(task_id, *department))
                    .map(|r| ProgressStatus::parse(&r.status))
            })
            .collect();
        TaskFacts {
            started: statuses
                .iter()
                .flatten()
                .any(|status| *status != ProgressStatus::NotStarted),
            completed: !statuses.is_empty()
                && statuses
                    .iter()
                    .all(|status| *status == Some(ProgressStatus::Completed)),
        }
    };
    let mut parts_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for subtask in &subtasks {
        if let Some(parent) = subtask.parent_id {
            parts_of.entry(parent).or_default().push(subtask.id);
        }
    }

    let mut statuses = HashMap::new();
    for task in tasks {
        let facts = match parts_of.get(&task.id) {
            Some(parts) => {
                let part_facts: Vec<TaskFacts> = parts.iter().map(|id| leaf_facts(*id)).collect();
                TaskFacts {
                    started: part_facts
                        .iter()
                        .any(|facts| facts.started || facts.completed),
                    completed: part_facts.iter().all(|facts| facts.completed),
                }
            }
            None => leaf_facts(task.id),
        };
        let due = plans.get(&task.plan_id).map(|plan| due_on(task, plan));
        let status = if facts.completed {
            TaskStatus::Completed
        } else if due.is_some_and(|due| today > due) {
            TaskStatus::Overdue
        } else if facts.started {
            TaskStatus::InProgress
        } else {
            TaskStatus::NotStarted
        };
        statuses.insert(task.id, status);
    }
    Ok(statuses)
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

/// Judges each indicator, reading its approved values and external targets in two statements.
pub async fn assess_indicators(
    db: &impl ConnectionTrait,
    indicators: &[indicator::Model],
) -> AppResult<HashMap<i64, Assessment>> {
    let ids: Vec<i64> = indicators.iter().map(|indicator| indicator.id).collect();
    let approved = approved_values_by_indicators(db, &ids).await?;
    let external = external_targets_by_indicators(db, &ids).await?;
    Ok(indicators
        .iter()
        .map(|indicator| {
            let values = approved
                .get(&indicator.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let targets = external
                .get(&indicator.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            (indicator.id, assess(indicator, values, targets))
        })
        .collect())
}
