//! The dashboard: the whole plan for the leadership group, a department's own items for
//! a department. A fixed number of statements, whatever the size of the plan.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{
    department, evidence, indicator, indicator_value, plan, progress_report, section, task,
    task_lead,
};
use crate::error::{AppError, AppResult};
use crate::service::indicator::list_all_in_scope;
use crate::service::period::{Cadence, Period, city_today};
use crate::service::plan::resolve_plan_id;
use crate::service::policy::{ReadScope, Viewer};
use crate::service::status::{IndicatorStatus, TaskStatus, assess_indicators, task_statuses};
use crate::service::submission::{ReviewStatus, SubmissionRow, SubmissionScope};

/// Tasks of one status.
pub struct StatusCount<S> {
    pub status: S,
    pub count: u64,
}

/// How one section or department stands.
#[derive(Default)]
pub struct Progress {
    pub total: u64,
    pub not_started: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub overdue: u64,
}

impl Progress {
    fn add(&mut self, status: TaskStatus) {
        self.total += 1;
        match status {
            TaskStatus::NotStarted => self.not_started += 1,
            TaskStatus::InProgress => self.in_progress += 1,
            TaskStatus::Completed => self.completed += 1,
            TaskStatus::Overdue => self.overdue += 1,
        }
    }
}

pub struct SectionProgress {
    pub section: section::Model,
    pub progress: Progress,
}

pub struct DepartmentProgress {
    pub department: department::Model,
    /// Tasks (or parts of tasks) the department reports on.
    pub led: u64,
    /// Of those, the ones with a submitted or approved report for the period.
    pub reported_this_period: u64,
    /// Submissions of the period that came after the deadline.
    pub late: u64,
    pub overdue: u64,
    /// Submissions waiting for the leadership group.
    pub awaiting_review: u64,
}

pub struct Dashboard {
    pub plan: plan::Model,
    pub period: String,
    pub tasks_by_status: Vec<StatusCount<TaskStatus>>,
    pub sections: Vec<SectionProgress>,
    pub departments: Vec<DepartmentProgress>,
    pub indicators_by_status: Vec<StatusCount<IndicatorStatus>>,
    pub awaiting_review: Vec<SubmissionRow>,
}

const TASK_STATUSES: [TaskStatus; 4] = [
    TaskStatus::NotStarted,
    TaskStatus::InProgress,
    TaskStatus::Completed,
    TaskStatus::Overdue,
];
const INDICATOR_STATUSES: [IndicatorStatus; 4] = [
    IndicatorStatus::Met,
    IndicatorStatus::NotMet,
    IndicatorStatus::NoData,
    IndicatorStatus::TargetNotSet,
];

/// Builds the dashboard of a plan (the newest when none is named) for the viewer, for a
/// period (the current one when none is named).
pub async fn dashboard(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    plan_id: Option<i64>,
    period: Option<&str>,
) -> AppResult<Dashboard> {
    let scope = viewer.read_scope()?;
    let submission_scope = SubmissionScope::of(viewer)?;
    if submission_scope == SubmissionScope::ApprovedOnly {
        return Err(AppError::forbidden(
            "the dashboard is for the leadership group and the departments",
        ));
    }
    let plan_id = resolve_plan_id(db, viewer, plan_id)
        .await?
        .ok_or_else(|| AppError::not_found("there is no plan yet"))?;
    let plan = crate::service::period::load_plan(db, plan_id).await?;
    let today = city_today();
    let period = match period {
        Some(raw) => Period::parse_for(raw, &plan)?,
        None => Period::containing(today, Cadence::of(&plan)),
    }
    .to_string();

    let tasks = task::Entity::find()
        .filter(task::Column::PlanId.eq(plan.id))
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?;
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.is_in(tasks.iter().map(|task| task.id)))
        .all(db)
        .await?;
    let statuses = task_statuses(db, &tasks, today).await?;
    let parents: std::collections::HashSet<i64> =
        tasks.iter().filter_map(|task| task.parent_id).collect();
    let leaf = |task: &task::Model| !parents.contains(&task.id);

    // The tasks counted: the plan's top-level tasks for the leadership group; the tasks a
    // department reports on for a department.
    let counted: Vec<&task::Model> = match scope {
        ReadScope::Everything => tasks
            .iter()
            .filter(|task| task.parent_id.is_none())
            .collect(),
        ReadScope::Department(department_id) => {
            let led: std::collections::HashSet<i64> = leads
                .iter()
                .filter(|lead| lead.department_id == department_id)
                .map(|lead| lead.task_id)
                .collect();
            tasks
                .iter()
                .filter(|task| led.contains(&task.id) && leaf(task))
                .collect()
        }
    };
    let mut by_status: HashMap<TaskStatus, u64> = HashMap::new();
    let mut by_section: HashMap<i64, Progress> = HashMap::new();
    for task in &counted {
        let status = statuses
            .get(&task.id)
            .copied()
            .unwrap_or(TaskStatus::NotStarted);
        *by_status.entry(status).or_default() += 1;
        by_section.entry(task.section_id).or_default().add(status);
    }
    let sections = section::Entity::find()
        .filter(section::Column::PlanId.eq(plan.id))
        .order_by_asc(section::Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(|section| SectionProgress {
            progress: by_section.remove(&section.id).unwrap_or_default(),
            section,
        })
        .collect();

    let reports = progress_report::Entity::find()
        .filter(progress_report::Column::PlanId.eq(plan.id))
        .filter(submission_scope.condition(
            progress_report::Column::DepartmentId,
            progress_report::Column::ReviewStatus,
            false,
        ))
        .all(db)
        .await?;
    let values = indicator_value::Entity::find()
        .filter(indicator_value::Column::PlanId.eq(plan.id))
        .filter(submission_scope.condition(
            indicator_value::Column::DepartmentId,
            indicator_value::Column::ReviewStatus,
            false,
        ))
        .all(db)
        .await?;
    let files = evidence::Entity::find()
        .filter(evidence::Column::PlanId.eq(plan.id))
        .filter(evidence::Column::ReviewStatus.eq(ReviewStatus::Submitted.as_str()))
        .filter(submission_scope.condition(
            evidence::Column::DepartmentId,
            evidence::Column::ReviewStatus,
            true,
        ))
        .order_by_asc(evidence::Column::SubmittedAt)
        .all(db)
        .await?;

    // (task, department) pairs with a submitted or approved report for the period.
    let reported: std::collections::HashSet<(i64, i64)> = reports
        .iter()
        .filter(|report| report.period == period)
        .filter(|report| {
            matches!(
                ReviewStatus::parse(&report.review_status),
                ReviewStatus::Submitted | ReviewStatus::Approved
            )
        })
        .map(|report| (report.task_id, report.department_id))
        .collect();
    let departments = department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?;
    let task_by_id: HashMap<i64, &task::Model> = tasks.iter().map(|task| (task.id, task)).collect();
    let mut department_rows = Vec::new();
    for department in departments {
        if let ReadScope::Department(own) = scope
            && own != department.id
        {
            continue;
        }
        let led_tasks: Vec<&task::Model> = leads
            .iter()
            .filter(|lead| lead.department_id == department.id)
            .filter_map(|lead| task_by_id.get(&lead.task_id).copied())
            .filter(|task| leaf(task))
            .collect();
        if led_tasks.is_empty() {
            continue;
        }
        let reported_this_period = led_tasks
            .iter()
            .filter(|task| reported.contains(&(task.id, department.id)))
            .count() as u64;
        let late = reports
            .iter()
            .filter(|report| {
                report.department_id == department.id && report.period == period && report.late
            })
            .count() as u64
            + values
                .iter()
                .filter(|value| {
                    value.department_id == department.id && value.period == period && value.late
                })
                .count() as u64;
        let awaiting = |status: &str| status == ReviewStatus::Submitted.as_str();
        let awaiting_review = reports
            .iter()
            .filter(|report| {
                report.department_id == department.id && awaiting(&report.review_status)
            })
            .count() as u64
            + values
                .iter()
                .filter(|value| {
                    value.department_id == department.id && awaiting(&value.review_status)
                })
                .count() as u64
            + files
                .iter()
                .filter(|file| file.department_id == department.id)
                .count() as u64;
        let overdue = led_tasks
            .iter()
            .filter(|task| statuses.get(&task.id) == Some(&TaskStatus::Overdue))
            .count() as u64;
        department_rows.push(DepartmentProgress {
            department,
            led: led_tasks.len() as u64,
            reported_this_period,
            late,
            overdue,
            awaiting_review,
        });
    }

    let indicators: Vec<indicator::Model> = list_all_in_scope(db, scope, plan.id).await?;
    let assessments = assess_indicators(db, &indicators).await?;
    let mut indicator_counts: HashMap<IndicatorStatus, u64> = HashMap::new();
    for assessment in assessments.values() {
        *indicator_counts.entry(assessment.status).or_default() += 1;
    }

    let mut awaiting_review: Vec<SubmissionRow> = reports
        .into_iter()
        .filter(|report| report.review_status == ReviewStatus::Submitted.as_str())
        .map(SubmissionRow::ProgressReport)
        .chain(
            values
                .into_iter()
                .filter(|value| value.review_status == ReviewStatus::Submitted.as_str())
                .map(SubmissionRow::IndicatorValue),
        )
        .chain(files.into_iter().map(SubmissionRow::Evidence))
        .collect();
    awaiting_review.sort_by_key(|row| row.review().submitted_at);

    Ok(Dashboard {
        plan,
        period,
        tasks_by_status: TASK_STATUSES
            .into_iter()
            .map(|status| StatusCount {
                status,
                count: by_status.get(&status).copied().unwrap_or(0),
            })
            .collect(),
        sections,
        departments: department_rows,
        indicators_by_status: INDICATOR_STATUSES
            .into_iter()
            .map(|status| StatusCount {
                status,
                count: indicator_counts.get(&status).copied().unwrap_or(0),
            })
            .collect(),
        awaiting_review,
    })
}
