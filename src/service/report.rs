//! What departments report: progress on tasks and values of indicators; and what the
//! leadership group sets: due dates and externally set targets.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::entity::{
    external_target, indicator, indicator_responsible, indicator_value, plan, progress_report,
    task, task_lead,
};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::indicator::TargetKind;
use crate::service::period::{self, Period, load_plan};
use crate::service::policy::ReadScope;
use crate::service::snapshot::bump_revision;
use crate::service::submission::{self, ReviewStatus, SubmissionKind, SubmissionRow};

/// What a department says about a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum, serde::Serialize)]
pub enum ProgressStatus {
    NotStarted,
    InProgress,
    Completed,
    Blocked,
}

impl ProgressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressStatus::NotStarted => "NOT_STARTED",
            ProgressStatus::InProgress => "IN_PROGRESS",
            ProgressStatus::Completed => "COMPLETED",
            ProgressStatus::Blocked => "BLOCKED",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "IN_PROGRESS" => ProgressStatus::InProgress,
            "COMPLETED" => ProgressStatus::Completed,
            "BLOCKED" => ProgressStatus::Blocked,
            _ => ProgressStatus::NotStarted,
        }
    }
}

pub struct ProgressReportInput {
    pub task_id: i64,
    pub period: String,
    pub status: ProgressStatus,
    pub work_done: String,
    pub problems: Option<String>,
    pub next_steps: Option<String>,
}

pub struct IndicatorValueInput {
    pub indicator_id: i64,
    pub period: String,
    pub value: Option<f64>,
    pub achieved: Option<bool>,
    pub text: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

/// The longest free text a report or value may hold, in characters.
pub(crate) const MAX_TEXT: usize = 20_000;

fn required_text(name: &str, raw: &str) -> AppResult<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(format!("`{name}` must not be empty")));
    }
    optional_text(name, Some(raw)).map(|text| text.unwrap_or_default())
}

fn optional_text(name: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > MAX_TEXT => Err(AppError::bad_input(format!(
            "`{name}` may be at most {MAX_TEXT} characters"
        ))),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// The department of a department user, or a refusal: reports come from lead departments.
fn reporting_department(caller: &Caller<'_>) -> AppResult<i64> {
    caller
        .viewer
        .acting_department("reports and values are written by the departments that lead the task")
}

/// Creates (no id) or changes a progress report, as a draft of the caller's department.
pub async fn save_progress_report(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    input: ProgressReportInput,
) -> AppResult<progress_report::Model> {
    let department_id = reporting_department(caller)?;
    let work_done = required_text("workDone", &input.work_done)?;
    let problems = optional_text("problems", input.problems.as_deref())?;
    let next_steps = optional_text("nextSteps", input.next_steps.as_deref())?;

    let txn = crate::db::begin_write(db).await?;
    let task = task::Entity::find_by_id(input.task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no task has this id"))?;
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.eq(task.id))
        .filter(task_lead::Column::DepartmentId.eq(department_id))
        .one(&txn)
        .await?;
    if leads.is_none() {
        return Err(AppError::forbidden(
            "your department does not lead this task",
        ));
    }
    let has_parts = task::Entity::find()
        .filter(task::Column::ParentId.eq(task.id))
        .one(&txn)
        .await?
        .is_some();
    if has_parts {
        return Err(AppError::bad_input(format!(
            "task {} is reported through its parts ({}.1, …): report on the part your department leads",
            task.code, task.code
        )));
    }
    let plan = load_plan(&txn, task.plan_id).await?;
    crate::service::policy::require_published(&plan)?;
    let period = Period::parse_for(&input.period, &plan)?.to_string();
    period::ensure_open(&txn, plan.id, &period).await?;
    let now = Utc::now();

    let saved = match id {
        None => {
            let existing = progress_report::Entity::find()
                .filter(progress_report::Column::TaskId.eq(task.id))
                .filter(progress_report::Column::DepartmentId.eq(department_id))
                .filter(progress_report::Column::Period.eq(&period))
                .one(&txn)
                .await?;
            if let Some(existing) = existing {
                return Err(AppError::Conflict {
                    message: format!(
                        "your department already has a report on task {} for {period}: change that one",
                        task.code
                    ),
                    current_version: Some(existing.version),
                });
            }
            let created = progress_report::ActiveModel {
                plan_id: Set(plan.id),
                task_id: Set(task.id),
                department_id: Set(department_id),
                period: Set(period),
                status: Set(input.status.as_str().to_owned()),
                work_done: Set(work_done),
                problems: Set(problems),
                next_steps: Set(next_steps),
                review_status: Set(ReviewStatus::Draft.as_str().to_owned()),
                version: Set(1),
                late: Set(false),
                created_by: Set(caller.actor_id()?),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit::record(
                &txn,
                caller,
                "progressReport.create",
                ItemType::ProgressReport,
                created.id,
                None::<&()>,
                Some(&created),
            )
            .await?;
            created
        }
        Some(id) => {
            let row = submission::check_update(
                &txn,
                caller.viewer,
                SubmissionKind::ProgressReport,
                id,
                version,
            )
            .await?;
            let SubmissionRow::ProgressReport(current) = row else {
                return Err(AppError::bad_input("the id is not a progress report"));
            };
            if current.task_id != task.id || current.period != period {
                return Err(AppError::bad_input(
                    "a report keeps its task and period: create a new report for another task or period",
                ));
            }
            let result = progress_report::Entity::update_many()
                .set(progress_report::ActiveModel {
                    status: Set(input.status.as_str().to_owned()),
                    work_done: Set(work_done),
                    problems: Set(problems),
                    next_steps: Set(next_steps),
                    version: Set(current.version + 1),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .filter(progress_report::Column::Id.eq(id))
                .filter(progress_report::Column::Version.eq(current.version))
                .exec(&txn)
                .await?;
            if result.rows_affected == 0 {
                return Err(submission::stale(current.version + 1));
            }
            let updated = progress_report::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::not_found("the report is gone"))?;
            audit::record(
                &txn,
                caller,
                "progressReport.update",
                ItemType::ProgressReport,
                id,
                Some(&current),
                Some(&updated),
            )
            .await?;
            updated
        }
    };
    txn.commit().await?;
    Ok(saved)
}

/// Checks a value against its indicator's kind of target.
fn check_value(indicator: &indicator::Model, input: &IndicatorValueInput) -> AppResult<()> {
    if let Some(value) = input.value
        && !value.is_finite()
    {
        return Err(AppError::bad_input("`value` must be a finite number"));
    }
    if let Some(value) = input.value {
        crate::service::indicator::check_value_in_range(indicator, value)?;
    }
    let kind = TargetKind::parse(&indicator.target_kind).unwrap_or(TargetKind::Qualitative);
    match kind {
        TargetKind::Qualitative if input.achieved.is_none() => Err(AppError::bad_input(
            "this indicator's target is stated in words: say whether it is achieved (`achieved`) and how (`text`)",
        )),
        TargetKind::Qualitative => Ok(()),
        _ if input.value.is_none() => Err(AppError::bad_input(
            "this indicator needs a number in `value`",
        )),
        _ => Ok(()),
    }
}

/// Creates (no id) or changes an indicator value, as a draft of the caller's department.
pub async fn save_indicator_value(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    input: IndicatorValueInput,
) -> AppResult<indicator_value::Model> {
    let txn = crate::db::begin_write(db).await?;
    let saved = save_indicator_value_in(&txn, caller, id, version, input).await?;
    txn.commit().await?;
    Ok(saved)
}

/// The body of `save_indicator_value`, for callers that hold a transaction (the import).
pub async fn save_indicator_value_in(
    txn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    input: IndicatorValueInput,
) -> AppResult<indicator_value::Model> {
    let department_id = reporting_department(caller)?;
    let text = optional_text("text", input.text.as_deref())?;
    let source = optional_text("source", input.source.as_deref())?;
    let note = optional_text("note", input.note.as_deref())?;
    let indicator = indicator::Entity::find_by_id(input.indicator_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("no indicator has this id"))?;
    let responsible = indicator_responsible::Entity::find()
        .filter(indicator_responsible::Column::IndicatorId.eq(indicator.id))
        .filter(indicator_responsible::Column::DepartmentId.eq(department_id))
        .one(txn)
        .await?;
    if responsible.is_none() {
        return Err(AppError::forbidden(
            "your department is not responsible for this indicator",
        ));
    }
    check_value(&indicator, &input)?;
    let plan = load_plan(txn, indicator.plan_id).await?;
    crate::service::policy::require_published(&plan)?;
    let period = Period::parse_for(&input.period, &plan)?.to_string();
    period::ensure_open(txn, plan.id, &period).await?;
    let now = Utc::now();

    match id {
        None => {
            let existing = indicator_value::Entity::find()
                .filter(indicator_value::Column::IndicatorId.eq(indicator.id))
                .filter(indicator_value::Column::Period.eq(&period))
                .one(txn)
                .await?;
            if let Some(existing) = existing {
                return Err(AppError::Conflict {
                    message: format!(
                        "a value of this indicator for {period} already exists: change that one"
                    ),
                    current_version: Some(existing.version),
                });
            }
            let created = indicator_value::ActiveModel {
                plan_id: Set(plan.id),
                indicator_id: Set(indicator.id),
                department_id: Set(department_id),
                period: Set(period),
                value: Set(input.value),
                achieved: Set(input.achieved),
                text: Set(text),
                source: Set(source),
                note: Set(note),
                review_status: Set(ReviewStatus::Draft.as_str().to_owned()),
                version: Set(1),
                late: Set(false),
                created_by: Set(caller.actor_id()?),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            audit::record(
                txn,
                caller,
                "indicatorValue.create",
                ItemType::IndicatorValue,
                created.id,
                None::<&()>,
                Some(&created),
            )
            .await?;
            Ok(created)
        }
        Some(id) => {
            let row = submission::check_update(
                txn,
                caller.viewer,
                SubmissionKind::IndicatorValue,
                id,
                version,
            )
            .await?;
            let SubmissionRow::IndicatorValue(current) = row else {
                return Err(AppError::bad_input("the id is not an indicator value"));
            };
            if current.indicator_id != indicator.id || current.period != period {
                return Err(AppError::bad_input(
                    "a value keeps its indicator and period: create a new value for another one",
                ));
            }
            let result = indicator_value::Entity::update_many()
                .set(indicator_value::ActiveModel {
                    value: Set(input.value),
                    achieved: Set(input.achieved),
                    text: Set(text),
                    source: Set(source),
                    note: Set(note),
                    version: Set(current.version + 1),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .filter(indicator_value::Column::Id.eq(id))
                .filter(indicator_value::Column::Version.eq(current.version))
                .exec(txn)
                .await?;
            if result.rows_affected == 0 {
                return Err(submission::stale(current.version + 1));
            }
            let updated = indicator_value::Entity::find_by_id(id)
                .one(txn)
                .await?
                .ok_or_else(|| AppError::not_found("the value is gone"))?;
            audit::record(
                txn,
                caller,
                "indicatorValue.update",
                ItemType::IndicatorValue,
                id,
                Some(&current),
                Some(&updated),
            )
            .await?;
            Ok(updated)
        }
    }
}

/// Sets a task's due date (leadership and administrators).
pub async fn set_task_due_date(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    task_id: i64,
    due_on: NaiveDate,
) -> AppResult<task::Model> {
    caller.viewer.require_reviewer()?;
    let txn = crate::db::begin_write(db).await?;
    let current = task::Entity::find_by_id(task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no task has this id"))?;
    let plan = load_plan(&txn, current.plan_id).await?;
    if due_on.format("%Y").to_string().parse::<i32>().unwrap_or(0) < plan.year {
        return Err(AppError::bad_input(
            "a due date cannot lie before the plan's year",
        ));
    }
    let mut row: task::ActiveModel = current.clone().into();
    row.due_on = Set(Some(due_on));
    let updated = row.update(&txn).await?;
    bump_revision(&txn).await?;
    audit::record(
        &txn,
        caller,
        "task.setDueDate",
        ItemType::Task,
        task_id,
        Some(&serde_json::json!({ "dueOn": current.due_on })),
        Some(&serde_json::json!({ "dueOn": updated.due_on })),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Enters the value of an externally set target for a year (leadership and administrators).
pub async fn set_external_target(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    indicator_id: i64,
    year: i32,
    value: f64,
    note: Option<String>,
) -> AppResult<indicator::Model> {
    caller.viewer.require_reviewer()?;
    let actor = caller.actor_id()?;
    if !value.is_finite() {
        return Err(AppError::bad_input("`value` must be a finite number"));
    }
    let note = optional_text("note", note.as_deref())?;
    let txn = crate::db::begin_write(db).await?;
    let indicator = indicator::Entity::find_by_id(indicator_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no indicator has this id"))?;
    if TargetKind::parse(&indicator.target_kind) != Some(TargetKind::External) {
        return Err(AppError::bad_input(
            "only an externally set target (EXTERNAL) takes a value from the leadership group",
        ));
    }
    crate::service::indicator::check_value_in_range(&indicator, value)?;
    let plan = load_plan(&txn, indicator.plan_id).await?;
    if year < plan.year || year > plan.year + 5 {
        return Err(AppError::bad_input(format!(
            "the year must lie within the plan's reporting years ({}–{})",
            plan.year,
            plan.year + 5
        )));
    }
    let existing = external_target::Entity::find()
        .filter(external_target::Column::IndicatorId.eq(indicator_id))
        .filter(external_target::Column::Year.eq(year))
        .one(&txn)
        .await?;
    let now = Utc::now();
    let saved = match existing.clone() {
        Some(row) => {
            let mut row: external_target::ActiveModel = row.into();
            row.value = Set(value);
            row.note = Set(note);
            row.set_by = Set(actor);
            row.set_at = Set(now);
            row.update(&txn).await?
        }
        None => {
            external_target::ActiveModel {
                indicator_id: Set(indicator_id),
                year: Set(year),
                value: Set(value),
                note: Set(note),
                set_by: Set(actor),
                set_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    bump_revision(&txn).await?;
    audit::record(
        &txn,
        caller,
        "indicator.setExternalTarget",
        ItemType::Indicator,
        indicator_id,
        existing.as_ref(),
        Some(&saved),
    )
    .await?;
    txn.commit().await?;
    Ok(indicator)
}

/// Progress reports of each task that the scope may read, newest period first.
pub async fn reports_by_tasks(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    task_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<progress_report::Model>>> {
    let mut grouped: HashMap<i64, Vec<progress_report::Model>> = HashMap::new();
    for row in progress_report::Entity::find()
        .filter(progress_report::Column::TaskId.is_in(task_ids.iter().copied()))
        .filter(scope.submission_condition(
            progress_report::Column::DepartmentId,
            progress_report::Column::ReviewStatus,
        ))
        .order_by_desc(progress_report::Column::Period)
        .order_by_asc(progress_report::Column::DepartmentId)
        .all(db)
        .await?
    {
        grouped.entry(row.task_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Values of each indicator that the scope may read, newest period first.
pub async fn values_by_indicators(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    indicator_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<indicator_value::Model>>> {
    let mut grouped: HashMap<i64, Vec<indicator_value::Model>> = HashMap::new();
    for row in indicator_value::Entity::find()
        .filter(indicator_value::Column::IndicatorId.is_in(indicator_ids.iter().copied()))
        .filter(scope.submission_condition(
            indicator_value::Column::DepartmentId,
            indicator_value::Column::ReviewStatus,
        ))
        .order_by_desc(indicator_value::Column::Period)
        .all(db)
        .await?
    {
        grouped.entry(row.indicator_id).or_default().push(row);
    }
    Ok(grouped)
}

/// A task's due date: set by the leadership group, or the end of the plan's year.
pub fn due_on(task: &task::Model, plan: &plan::Model) -> NaiveDate {
    task.due_on
        .or_else(|| NaiveDate::from_ymd_opt(plan.year, 12, 31))
        .unwrap_or(NaiveDate::MAX)
}
