//! What departments report: progress on tasks and values of indicators; and what the
//! leadership group sets: due dates and externally set targets.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};

use crate::entity::{external_target, indicator, indicator_value, plan, progress_report, task};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::draft;
use crate::service::indicator::TargetKind;
use crate::service::period::load_plan;
use crate::service::policy::ReadScope;
use crate::service::snapshot::bump_revision;
use crate::service::submission::{ReviewStatus, SubmissionKind, SubmissionRow};

/// What a department says about a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum, serde::Serialize)]
pub enum ProgressStatus {
    /// Work has not begun.
    NotStarted,
    /// Work is under way.
    InProgress,
    /// The task's work is done.
    Completed,
    /// Work cannot go on (the report's `problems` say why).
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

/// A text that must be given; `field` is its input path (`input.workDone`).
fn required_text(field: &str, raw: &str) -> AppResult<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(AppError::bad_field(
            field,
            format!("`{}` must not be empty", last_name(field)),
        ));
    }
    optional_text(field, Some(raw)).map(|text| text.unwrap_or_default())
}

/// A text that may be left out; `field` is its input path (`input.problems`).
fn optional_text(field: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > MAX_TEXT => Err(AppError::bad_field(
            field,
            format!(
                "`{}` may be at most {MAX_TEXT} characters",
                last_name(field)
            ),
        )),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// The field's own name in its path (`workDone` of `input.workDone`), as messages say it.
fn last_name(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// What only departments do, said to callers of another role.
const REPORTS_ARE_DEPARTMENTS: &str =
    "reports and values are written by the departments that lead the task";

/// Creates (no id) or changes a progress report, as a draft of the caller's department.
pub async fn save_progress_report(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    input: ProgressReportInput,
) -> AppResult<progress_report::Model> {
    caller.viewer.acting_department(REPORTS_ARE_DEPARTMENTS)?;
    let fields = ReportFields {
        status: input.status,
        work_done: required_text("input.workDone", &input.work_done)?,
        problems: optional_text("input.problems", input.problems.as_deref())?,
        next_steps: optional_text("input.nextSteps", input.next_steps.as_deref())?,
    };
    let txn = crate::db::begin_write(db).await?;
    let opened = draft::open_on_task(&txn, caller, input.task_id, REPORTS_ARE_DEPARTMENTS).await?;
    let has_parts = task::Entity::find()
        .filter(task::Column::ParentId.eq(opened.task.id))
        .one(&txn)
        .await?
        .is_some();
    if has_parts {
        let code = &opened.task.code;
        return Err(AppError::bad_input(format!(
            "task {code} is reported through its parts ({code}.1, …): report on the part your department leads"
        )));
    }
    let period = draft::open_period(&txn, &opened.plan, &input.period)
        .await
        .map_err(|e| e.in_field("input.period"))?;
    let report = ReportDraft {
        opened,
        period,
        fields,
    };
    let saved = draft::save(&txn, caller, id, version, report).await?;
    txn.commit().await?;
    Ok(saved)
}

/// What a report says, checked.
struct ReportFields {
    status: ProgressStatus,
    work_done: String,
    problems: Option<String>,
    next_steps: Option<String>,
}

/// A department's report on a task for a period: one per department, task and period.
struct ReportDraft {
    opened: draft::OnTask,
    period: String,
    fields: ReportFields,
}

impl draft::NewDraft for ReportDraft {
    type Row = progress_report::Model;

    const KIND: SubmissionKind = SubmissionKind::ProgressReport;
    const CREATED: &'static str = "progressReport.create";

    async fn existing(&self, db: &impl ConnectionTrait) -> AppResult<Option<Self::Row>> {
        Ok(progress_report::Entity::find()
            .filter(progress_report::Column::TaskId.eq(self.opened.task.id))
            .filter(progress_report::Column::DepartmentId.eq(self.opened.department_id))
            .filter(progress_report::Column::Period.eq(&self.period))
            .one(db)
            .await?)
    }

    fn duplicate_message(&self) -> String {
        format!(
            "your department already has a report on task {} for {}: change that one",
            self.opened.task.code, self.period
        )
    }

    async fn insert(
        self,
        db: &impl ConnectionTrait,
        actor: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Self::Row> {
        Ok(progress_report::ActiveModel {
            plan_id: Set(self.opened.plan.id),
            task_id: Set(self.opened.task.id),
            department_id: Set(self.opened.department_id),
            period: Set(self.period),
            status: Set(self.fields.status.as_str().to_owned()),
            work_done: Set(self.fields.work_done),
            problems: Set(self.fields.problems),
            next_steps: Set(self.fields.next_steps),
            review_status: Set(ReviewStatus::Draft.as_str().to_owned()),
            version: Set(1),
            late: Set(false),
            created_by: Set(actor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?)
    }
}

impl draft::DraftChange for ReportDraft {
    const KEEPS_ITS_PLACE: &'static str =
        "a report keeps its task and period: create a new report for another task or period";

    fn row_of(row: SubmissionRow) -> Option<Self::Row> {
        match row {
            SubmissionRow::ProgressReport(row) => Some(row),
            _ => None,
        }
    }

    fn same_place(&self, current: &Self::Row) -> bool {
        current.task_id == self.opened.task.id && current.period == self.period
    }

    async fn update(
        self,
        db: &impl ConnectionTrait,
        current: &Self::Row,
        now: DateTime<Utc>,
    ) -> AppResult<bool> {
        let result = progress_report::Entity::update_many()
            .set(progress_report::ActiveModel {
                status: Set(self.fields.status.as_str().to_owned()),
                work_done: Set(self.fields.work_done),
                problems: Set(self.fields.problems),
                next_steps: Set(self.fields.next_steps),
                version: Set(current.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(progress_report::Column::Id.eq(current.id))
            .filter(progress_report::Column::Version.eq(current.version))
            .exec(db)
            .await?;
        Ok(result.rows_affected > 0)
    }
}

/// Checks a value against its indicator's kind of target.
fn check_value(indicator: &indicator::Model, input: &IndicatorValueInput) -> AppResult<()> {
    if let Some(value) = input.value
        && !value.is_finite()
    {
        return Err(AppError::bad_field(
            "input.value",
            "`value` must be a finite number",
        ));
    }
    if let Some(value) = input.value {
        crate::service::indicator::check_value_in_range(indicator, value)
            .map_err(|e| e.in_field("input.value"))?;
    }
    let kind = TargetKind::parse(&indicator.target_kind).unwrap_or(TargetKind::Qualitative);
    match kind {
        TargetKind::Qualitative if input.achieved.is_none() => Err(AppError::bad_field(
            "input.achieved",
            "this indicator's target is stated in words: say whether it is achieved (`achieved`) and how (`text`)",
        )),
        TargetKind::Qualitative => Ok(()),
        _ if input.value.is_none() => Err(AppError::bad_field(
            "input.value",
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
/// An indicator answered by several departments has one value a period, which each of
/// them may draft and revise; the audit trail says who did what.
pub async fn save_indicator_value_in(
    txn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    input: IndicatorValueInput,
) -> AppResult<indicator_value::Model> {
    caller.viewer.acting_department(REPORTS_ARE_DEPARTMENTS)?;
    let text = optional_text("input.text", input.text.as_deref())?;
    let source = optional_text("input.source", input.source.as_deref())?;
    let note = optional_text("input.note", input.note.as_deref())?;
    let opened =
        draft::open_on_indicator(txn, caller, input.indicator_id, REPORTS_ARE_DEPARTMENTS).await?;
    check_value(&opened.indicator, &input)?;
    let period = draft::open_period(txn, &opened.plan, &input.period)
        .await
        .map_err(|e| e.in_field("input.period"))?;
    let value = ValueDraft {
        opened,
        period,
        value: input.value,
        achieved: input.achieved,
        text,
        source,
        note,
    };
    draft::save(txn, caller, id, version, value).await
}

/// An indicator's value for a period: one per indicator and period, whichever of the
/// departments that answer for it drafted it.
struct ValueDraft {
    opened: draft::OnIndicator,
    period: String,
    value: Option<f64>,
    achieved: Option<bool>,
    text: Option<String>,
    source: Option<String>,
    note: Option<String>,
}

impl draft::NewDraft for ValueDraft {
    type Row = indicator_value::Model;

    const KIND: SubmissionKind = SubmissionKind::IndicatorValue;
    const CREATED: &'static str = "indicatorValue.create";

    async fn existing(&self, db: &impl ConnectionTrait) -> AppResult<Option<Self::Row>> {
        Ok(indicator_value::Entity::find()
            .filter(indicator_value::Column::IndicatorId.eq(self.opened.indicator.id))
            .filter(indicator_value::Column::Period.eq(&self.period))
            .one(db)
            .await?)
    }

    fn duplicate_message(&self) -> String {
        format!(
            "a value of this indicator for {} already exists: change that one",
            self.period
        )
    }

    async fn insert(
        self,
        db: &impl ConnectionTrait,
        actor: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Self::Row> {
        Ok(indicator_value::ActiveModel {
            plan_id: Set(self.opened.plan.id),
            indicator_id: Set(self.opened.indicator.id),
            department_id: Set(self.opened.department_id),
            period: Set(self.period),
            value: Set(self.value),
            achieved: Set(self.achieved),
            text: Set(self.text),
            source: Set(self.source),
            note: Set(self.note),
            review_status: Set(ReviewStatus::Draft.as_str().to_owned()),
            version: Set(1),
            late: Set(false),
            created_by: Set(actor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?)
    }
}

impl draft::DraftChange for ValueDraft {
    const KEEPS_ITS_PLACE: &'static str =
        "a value keeps its indicator and period: create a new value for another one";

    fn row_of(row: SubmissionRow) -> Option<Self::Row> {
        match row {
            SubmissionRow::IndicatorValue(row) => Some(row),
            _ => None,
        }
    }

    fn same_place(&self, current: &Self::Row) -> bool {
        current.indicator_id == self.opened.indicator.id && current.period == self.period
    }

    async fn update(
        self,
        db: &impl ConnectionTrait,
        current: &Self::Row,
        now: DateTime<Utc>,
    ) -> AppResult<bool> {
        let result = indicator_value::Entity::update_many()
            .set(indicator_value::ActiveModel {
                value: Set(self.value),
                achieved: Set(self.achieved),
                text: Set(self.text),
                source: Set(self.source),
                note: Set(self.note),
                version: Set(current.version + 1),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(indicator_value::Column::Id.eq(current.id))
            .filter(indicator_value::Column::Version.eq(current.version))
            .exec(db)
            .await?;
        Ok(result.rows_affected > 0)
    }
}

/// Sets a task's due date (leadership and administrators). With `version`, the change
/// is made only if the task is still at that version (`STALE_VERSION` otherwise).
pub async fn set_task_due_date(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    task_id: i64,
    due_on: NaiveDate,
    version: Option<i32>,
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
    if let Some(expected) = version
        && expected != current.version
    {
        return Err(crate::service::submission::stale(current.version));
    }
    // Conditional on the version read, so two reviewers' changes cannot both land.
    let changed = task::Entity::update_many()
        .col_expr(task::Column::DueOn, Expr::value(Some(due_on)))
        .col_expr(task::Column::Version, Expr::value(current.version + 1))
        .filter(task::Column::Id.eq(task_id))
        .filter(task::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(crate::service::submission::stale(current.version + 1));
    }
    let updated = task::Model {
        due_on: Some(due_on),
        version: current.version + 1,
        ..current.clone()
    };
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
        return Err(AppError::bad_field(
            "value",
            "`value` must be a finite number",
        ));
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
    crate::service::indicator::check_value_in_range(&indicator, value)
        .map_err(|e| e.in_field("value"))?;
    let plan = load_plan(&txn, indicator.plan_id).await?;
    if year < plan.year || year > plan.year + 5 {
        return Err(AppError::bad_field(
            "year",
            format!(
                "the year must lie within the plan's reporting years ({}–{})",
                plan.year,
                plan.year + 5
            ),
        ));
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
        .filter(scope.report_condition())
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
        .filter(scope.value_condition())
        .order_by_desc(indicator_value::Column::Period)
        .all(db)
        .await?
    {
        grouped.entry(row.indicator_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Reports by id, those the scope may read.
pub async fn reports_by_ids(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, progress_report::Model>> {
    Ok(progress_report::Entity::find()
        .filter(progress_report::Column::Id.is_in(ids.iter().copied()))
        .filter(scope.report_condition())
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// Values by id, those the scope may read.
pub async fn values_by_ids(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, indicator_value::Model>> {
    Ok(indicator_value::Entity::find()
        .filter(indicator_value::Column::Id.is_in(ids.iter().copied()))
        .filter(scope.value_condition())
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// A task's due date: set by the leadership group, or the end of the plan's year.
pub fn due_on(task: &task::Model, plan: &plan::Model) -> NaiveDate {
    task.due_on
        .or_else(|| NaiveDate::from_ymd_opt(plan.year, 12, 31))
        .unwrap_or(NaiveDate::MAX)
}
