//! The dashboard: the whole plan for the leadership group, a department's own items for
//! a department. Statuses come from the plan snapshot; what the submissions say is
//! counted by the database (`GROUP BY`), so the cost follows the plan, not its history,
//! and the counts are kept until a review move changes them (`KeptCounts`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, SelectStatement, UnionType},
};

use crate::entity::{evidence, indicator_value, progress_report};
use crate::error::{AppError, AppResult};
use crate::service::indicator::indicators_of_plan;
use crate::service::light::{Light, PeriodLights};
use crate::service::period::Period;
use crate::service::plan::resolve_plan;
use crate::service::policy::ReadScope;
use crate::service::snapshot::PlanView;
use crate::service::status::{IndicatorStatus, TaskStatus};
use crate::service::submission::{ReviewStatus, SubmissionRow};

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
    /// The section's index in the snapshot.
    pub section: usize,
    pub progress: Progress,
}

pub struct DepartmentProgress {
    /// The department's index in the snapshot.
    pub department: usize,
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
    /// The plan's index in the snapshot.
    pub plan: usize,
    pub plan_id: i64,
    pub period: String,
    pub scope: ReadScope,
    pub tasks_by_status: Vec<StatusCount<TaskStatus>>,
    pub sections: Vec<SectionProgress>,
    pub departments: Vec<DepartmentProgress>,
    pub indicators_by_status: Vec<StatusCount<IndicatorStatus>>,
    pub awaiting_review_count: u64,
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

/// Per department: how many submissions match, counted in SQL.
type CountsByDepartment = HashMap<i64, u64>;

/// What the period's submissions say, counted by the database within the scope.
#[derive(Default)]
pub struct SubmissionCounts {
    /// (task, department) pairs with a submitted or approved report for the period.
    reported: HashSet<(i64, i64)>,
    late: CountsByDepartment,
    awaiting_review: CountsByDepartment,
}

/// What one row of the combined count stands for (its first column).
const REPORTED: i64 = 1;
const LATE: i64 = 2;
const AWAITING_REVIEW: i64 = 3;

/// One part of the combined count: `select` grouped by `department` (and by `task`, when
/// given), as `(tally, task, department, count)`.
fn tally<E>(
    select: sea_orm::Select<E>,
    tally: i64,
    task: Option<E::Column>,
    department: E::Column,
    id: E::Column,
) -> SelectStatement
where
    E: EntityTrait,
{
    // Literals, not bound values: PostgreSQL cannot type a parameter in a UNION's column.
    let mut select = select
        .select_only()
        .column_as(Expr::cust(format!("CAST({tally} AS BIGINT)")), "tally");
    select = match task {
        Some(task) => select.column_as(task, "task").group_by(task),
        None => select.column_as(Expr::cust("CAST(0 AS BIGINT)"), "task"),
    };
    select
        .column_as(department, "department")
        .column_as(Expr::col(id).count(), "count")
        .group_by(department)
        .into_query()
}

/// What the dashboard counts of a plan's submissions, for a period, within the scope, in
/// one statement: a `UNION ALL` of `GROUP BY`s, each over an index, so its cost follows
/// the period, not the history, and it crosses to the database once.
async fn count_submissions(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    plan_id: i64,
    period: &str,
) -> AppResult<SubmissionCounts> {
    use evidence::Column as File;
    use indicator_value::Column as Value;
    use progress_report::Column as Report;
    let submitted = ReviewStatus::Submitted.as_str();
    let reports = || {
        progress_report::Entity::find()
            .filter(Report::PlanId.eq(plan_id))
            .filter(scope.report_condition())
    };
    let values = || {
        indicator_value::Entity::find()
            .filter(Value::PlanId.eq(plan_id))
            .filter(scope.value_condition())
    };
    let reported = reports()
        .filter(Report::Period.eq(period))
        .filter(Report::ReviewStatus.is_in([submitted, ReviewStatus::Approved.as_str()]));
    let late_reports = reports()
        .filter(Report::Period.eq(period))
        .filter(Report::Late.eq(true));
    let late_values = values()
        .filter(Value::Period.eq(period))
        .filter(Value::Late.eq(true));
    let reports_awaiting = reports().filter(Report::ReviewStatus.eq(submitted));
    let values_awaiting = values().filter(Value::ReviewStatus.eq(submitted));
    let files_awaiting = evidence::Entity::find()
        .filter(File::PlanId.eq(plan_id))
        .filter(File::ReviewStatus.eq(submitted))
        .filter(scope.evidence_condition());

    let mut statement = tally(
        reported,
        REPORTED,
        Some(Report::TaskId),
        Report::DepartmentId,
        Report::Id,
    );
    for part in [
        tally(late_reports, LATE, None, Report::DepartmentId, Report::Id),
        tally(late_values, LATE, None, Value::DepartmentId, Value::Id),
        tally(
            reports_awaiting,
            AWAITING_REVIEW,
            None,
            Report::DepartmentId,
            Report::Id,
        ),
        tally(
            values_awaiting,
            AWAITING_REVIEW,
            None,
            Value::DepartmentId,
            Value::Id,
        ),
        tally(
            files_awaiting,
            AWAITING_REVIEW,
            None,
            File::DepartmentId,
            File::Id,
        ),
    ] {
        statement.union(UnionType::All, part);
    }
    let rows = db.query_all(&statement).await?;

    let mut counts = SubmissionCounts::default();
    for row in rows {
        let tally: i64 = row.try_get("", "tally")?;
        let task: i64 = row.try_get("", "task")?;
        let department: i64 = row.try_get("", "department")?;
        let count = u64::try_from(row.try_get::<i64>("", "count")?).unwrap_or(0);
        match tally {
            REPORTED => {
                counts.reported.insert((task, department));
            }
            LATE => *counts.late.entry(department).or_default() += count,
            AWAITING_REVIEW => *counts.awaiting_review.entry(department).or_default() += count,
            other => {
                return Err(anyhow::anyhow!("the dashboard's count has no tally {other}").into());
            }
        }
    }
    Ok(counts)
}

/// The two counters of the `data_revision` row, as read with a request's user row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revisions {
    /// Raised by every write that changes the plan snapshot (a plan loaded, a due date).
    pub data: i64,
    /// Raised by every write that changes what is counted of the submissions (a review
    /// move, a removal: see `bump_submission_revision`).
    pub submissions: i64,
}

impl Revisions {
    /// Whether `self` was read after `other`: both counters only ever rise, so of two
    /// readings one is at least the other in both.
    fn is_newer_than(self, other: Revisions) -> bool {
        self != other && self.data >= other.data && self.submissions >= other.submissions
    }
}

/// How many sets of counts are kept at most: one per plan, period and scope asked for
/// since the last review move; beyond, they are all dropped and counted again.
const KEPT_COUNTS: usize = 512;

/// The dashboard's counts kept between requests. They are valid exactly while the
/// revisions they were counted at are the database's: every write that changes a count
/// raises the submission revision in its own transaction, and every request reads both
/// revisions with its user row, so a request never answers with counts older than a
/// write it saw succeed, on this instance or another.
#[derive(Default)]
pub struct KeptCounts {
    kept: std::sync::Mutex<CountsAt>,
}

#[derive(Default)]
struct CountsAt {
    revisions: Revisions,
    counts: HashMap<(i64, String, ReadScope), Arc<SubmissionCounts>>,
}

impl KeptCounts {
    fn find(&self, at: Revisions, key: &(i64, String, ReadScope)) -> Option<Arc<SubmissionCounts>> {
        let kept = self.kept.lock().ok()?;
        if kept.revisions != at {
            return None;
        }
        kept.counts.get(key).cloned()
    }

    /// Keeps counts made after reading `at`. Counts of an older reading than the newest
    /// seen are not kept: no request at the newest revision may use them.
    fn keep(&self, at: Revisions, key: (i64, String, ReadScope), counts: Arc<SubmissionCounts>) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if at.is_newer_than(kept.revisions) {
            kept.revisions = at;
            kept.counts.clear();
        }
        if kept.revisions != at {
            return;
        }
        if kept.counts.len() >= KEPT_COUNTS {
            kept.counts.clear();
        }
        kept.counts.insert(key, counts);
    }
}

/// Where a request may take the dashboard's counts from instead of counting: the kept
/// counts and the revisions read with its user row.
#[derive(Clone, Copy)]
pub struct CountsSource<'a> {
    pub kept: &'a KeptCounts,
    pub at: Revisions,
}

/// The period's counts within the scope: kept ones when they are current, else counted
/// (and kept).
async fn submission_counts(
    db: &impl ConnectionTrait,
    source: Option<CountsSource<'_>>,
    scope: ReadScope,
    plan_id: i64,
    period: &str,
) -> AppResult<Arc<SubmissionCounts>> {
    let key = (plan_id, period.to_owned(), scope);
    if let Some(source) = source
        && let Some(counts) = source.kept.find(source.at, &key)
    {
        return Ok(counts);
    }
    let counts = Arc::new(count_submissions(db, scope, plan_id, period).await?);
    if let Some(source) = source {
        source.kept.keep(source.at, key, counts.clone());
    }
    Ok(counts)
}

/// Builds the dashboard of a plan (the newest when none is named) for the viewer, for a
/// period (the current one when none is named). Its counts come from `kept` when they
/// are current.
pub async fn dashboard(
    db: &impl ConnectionTrait,
    kept: Option<CountsSource<'_>>,
    view: &PlanView,
    plan_id: Option<i64>,
    period: Option<&str>,
) -> AppResult<Dashboard> {
    view.require_readable()?;
    let scope = view.scope;
    if !scope.sees_internal_records() {
        return Err(AppError::forbidden(
            "the dashboard is for the leadership group and the departments",
        ));
    }
    let plan =
        resolve_plan(view, plan_id)?.ok_or_else(|| AppError::not_found("there is no plan yet"))?;
    let snapshot = &view.snapshot;
    let plan_row = &snapshot.plans[plan].row;
    let period = match period {
        Some(raw) => Period::parse_for(raw, plan_row)?,
        None => Period::current_for(plan_row, view.today),
    }
    .to_string();
    let counts = submission_counts(db, kept, scope, plan_row.id, &period).await?;

    let (by_status, sections) = task_progress(view, plan);
    let departments = department_progress(view, plan, &counts);

    let mut indicator_counts: HashMap<IndicatorStatus, u64> = HashMap::new();
    for indicator in indicators_of_plan(view, plan) {
        *indicator_counts
            .entry(snapshot.indicators[indicator].assessment.status)
            .or_default() += 1;
    }

    Ok(Dashboard {
        plan,
        plan_id: plan_row.id,
        period,
        scope,
        tasks_by_status: TASK_STATUSES
            .into_iter()
            .map(|status| StatusCount {
                status,
                count: by_status.get(&status).copied().unwrap_or(0),
            })
            .collect(),
        sections,
        awaiting_review_count: counts.awaiting_review.values().sum(),
        departments,
        indicators_by_status: INDICATOR_STATUSES
            .into_iter()
            .map(|status| StatusCount {
                status,
                count: indicator_counts.get(&status).copied().unwrap_or(0),
            })
            .collect(),
    })
}

/// The tasks the dashboard counts: the plan's top-level tasks for the leadership group;
/// the tasks a department reports on for a department.
fn counted_tasks(view: &PlanView, plan: usize) -> impl Iterator<Item = usize> + '_ {
    let snapshot = &view.snapshot;
    snapshot.plans[plan]
        .tasks
        .iter()
        .map(|task| *task as usize)
        .filter(move |task| match view.scope {
            ReadScope::Department(department_id) => {
                snapshot.task_led_by(*task, department_id) && !snapshot.has_parts(*task)
            }
            _ => snapshot.tasks[*task].parent.is_none(),
        })
}

/// Items of one light.
pub struct LightCount {
    pub light: Light,
    pub count: u64,
}

const LIGHTS: [Light; 3] = [Light::Green, Light::Yellow, Light::Red];

fn by_light(lights: impl Iterator<Item = Light>) -> Vec<LightCount> {
    let mut counts: HashMap<Light, u64> = HashMap::new();
    for light in lights {
        *counts.entry(light).or_default() += 1;
    }
    LIGHTS
        .into_iter()
        .map(|light| LightCount {
            light,
            count: counts.get(&light).copied().unwrap_or(0),
        })
        .collect()
}

/// The dashboard's tasks (as `tasksByStatus` counts them) by light.
pub fn tasks_by_light(view: &PlanView, plan: usize, lights: &PeriodLights) -> Vec<LightCount> {
    by_light(counted_tasks(view, plan).map(|task| lights.task(view, task, None).light))
}

/// The plan's indicators within the scope by light.
pub fn indicators_by_light(view: &PlanView, plan: usize, lights: &PeriodLights) -> Vec<LightCount> {
    by_light(
        indicators_of_plan(view, plan)
            .into_iter()
            .map(|indicator| lights.indicator(view, indicator).light),
    )
}

/// The plan's tasks by status, overall and per section. The tasks counted: the plan's
/// top-level tasks for the leadership group; the tasks a department reports on for a
/// department.
fn task_progress(view: &PlanView, plan: usize) -> (HashMap<TaskStatus, u64>, Vec<SectionProgress>) {
    let snapshot = &view.snapshot;
    let counted = counted_tasks(view, plan);
    let mut by_status: HashMap<TaskStatus, u64> = HashMap::new();
    let mut by_section: HashMap<u32, Progress> = HashMap::new();
    for task in counted {
        let status = snapshot.task_status(task, view.today);
        *by_status.entry(status).or_default() += 1;
        by_section
            .entry(snapshot.tasks[task].section)
            .or_default()
            .add(status);
    }
    let sections = snapshot.plans[plan]
        .sections
        .iter()
        .map(|section| SectionProgress {
            section: *section as usize,
            progress: by_section.remove(section).unwrap_or_default(),
        })
        .collect();
    (by_status, sections)
}

/// How each department that reports on the plan stands (only its own, for a department).
fn department_progress(
    view: &PlanView,
    plan: usize,
    counts: &SubmissionCounts,
) -> Vec<DepartmentProgress> {
    let snapshot = &view.snapshot;
    let tasks = &snapshot.plans[plan].tasks;
    let mut departments = Vec::new();
    for (index, department) in snapshot.departments.iter().enumerate() {
        let department_id = department.row.id;
        if let ReadScope::Department(own) = view.scope
            && own != department_id
        {
            continue;
        }
        let led: Vec<usize> = tasks
            .iter()
            .map(|task| *task as usize)
            .filter(|task| snapshot.task_led_by(*task, department_id) && !snapshot.has_parts(*task))
            .collect();
        if led.is_empty() {
            continue;
        }
        let reported_this_period = led
            .iter()
            .filter(|task| {
                counts
                    .reported
                    .contains(&(snapshot.tasks[**task].row.id, department_id))
            })
            .count() as u64;
        let overdue = led
            .iter()
            .filter(|task| snapshot.task_status(**task, view.today) == TaskStatus::Overdue)
            .count() as u64;
        departments.push(DepartmentProgress {
            department: index,
            led: led.len() as u64,
            reported_this_period,
            late: counts.late.get(&department_id).copied().unwrap_or(0),
            overdue,
            awaiting_review: counts
                .awaiting_review
                .get(&department_id)
                .copied()
                .unwrap_or(0),
        });
    }
    departments
}

/// The submissions of a plan waiting for review within the scope, oldest first; read
/// only when the dashboard is asked for them.
pub async fn awaiting_review(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    plan_id: i64,
) -> AppResult<Vec<SubmissionRow>> {
    let submitted = ReviewStatus::Submitted.as_str();
    let reports = progress_report::Entity::find()
        .filter(progress_report::Column::PlanId.eq(plan_id))
        .filter(progress_report::Column::ReviewStatus.eq(submitted))
        .filter(scope.report_condition())
        .all(db)
        .await?;
    let values = indicator_value::Entity::find()
        .filter(indicator_value::Column::PlanId.eq(plan_id))
        .filter(indicator_value::Column::ReviewStatus.eq(submitted))
        .filter(scope.value_condition())
        .all(db)
        .await?;
    let files = evidence::Entity::find()
        .filter(evidence::Column::PlanId.eq(plan_id))
        .filter(evidence::Column::ReviewStatus.eq(submitted))
        .filter(scope.evidence_condition())
        .order_by_asc(evidence::Column::SubmittedAt)
        .all(db)
        .await?;
    let mut rows: Vec<SubmissionRow> = reports
        .into_iter()
        .map(SubmissionRow::ProgressReport)
        .chain(values.into_iter().map(SubmissionRow::IndicatorValue))
        .chain(files.into_iter().map(SubmissionRow::Evidence))
        .collect();
    rows.sort_by_key(|row| row.review().submitted_at);
    Ok(rows)
}
