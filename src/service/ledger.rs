//! The leadership office's work ledger (工作台賬): one row per task and lead department
//! with the latest report, and one row per indicator with its latest approved value, as
//! an Excel workbook or a CSV file. The indicator sheet doubles as the form that
//! `service::import` reads back, so both modules share its column names.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{
    department, evidence, indicator_value, plan, progress_report, section, task, task_lead,
};
use crate::error::{AppError, AppResult};
use crate::id::{NodeId, NodeKind};
use crate::service::dashboard::dashboard;
use crate::service::indicator::{Direction, TargetKind, indicators_of_plan};
use crate::service::period::city_offset;
use crate::service::plan::find_plan;
use crate::service::policy::{ReadScope, Role, Viewer};
use crate::service::report::{ProgressStatus, due_on};
use crate::service::snapshot::{IndicatorNode, PlanView};
use crate::service::status::{IndicatorStatus, TaskStatus};
use crate::service::submission::ReviewStatus;
use crate::service::user::current_user;

/// The name of the first sheet: the period at a glance, with charts.
pub const SUMMARY_SHEET: &str = "概覽";
/// The name of the ledger sheet: tasks by lead department.
pub const LEDGER_SHEET: &str = "工作台賬";
/// The name of the second sheet: indicators, and the form for reporting their values.
pub const INDICATOR_SHEET: &str = "指標";

/// Column names of the indicator sheet that the import reads.
pub mod columns {
    pub const TASK_CODE: &str = "任務編號";
    pub const INDICATOR_NAME: &str = "指標名稱";
    pub const INDICATOR_ID: &str = "指標ID";
    pub const PERIOD: &str = "填報期間";
    pub const VALUE: &str = "填報值";
    pub const ACHIEVED: &str = "是否達成";
    pub const TEXT: &str = "情況說明";
    pub const SOURCE: &str = "數據來源";
    pub const NOTE: &str = "備註";

    /// The columns a department fills in; the export leaves them empty.
    pub const INPUTS: [&str; 6] = [PERIOD, VALUE, ACHIEVED, TEXT, SOURCE, NOTE];
}

/// One task and one of its lead departments.
#[derive(Clone, Debug)]
pub struct TaskRow {
    pub section_number: i32,
    pub section_title: String,
    pub task_code: String,
    pub task_title: String,
    pub department: String,
    pub due_on: NaiveDate,
    /// Where the task as a whole stands today (the same judgement as the dashboard's).
    pub task_status: TaskStatus,
    /// The department's latest report on the task, whatever its review state.
    pub latest: Option<LatestReport>,
    /// Evidence the department has attached to the task, in any review state.
    pub evidence_count: u64,
    /// Reports, values and evidence of the department on the task that await review.
    pub awaiting_review: u64,
}

#[derive(Clone, Debug)]
pub struct LatestReport {
    pub status: ProgressStatus,
    pub review_status: ReviewStatus,
    pub period: String,
    /// When it was submitted, or else last changed (city time).
    pub reported_on: NaiveDate,
    pub work_done: String,
    /// Whether it came after the period's deadline; `None` while it is unsubmitted.
    pub late: Option<bool>,
}

/// One indicator with its latest approved value.
#[derive(Clone, Debug)]
pub struct IndicatorRow {
    /// The global id, which the import matches rows by.
    pub indicator_id: String,
    pub task_code: String,
    pub name: String,
    pub unit: Option<String>,
    pub target_text: String,
    pub target_kind: Option<TargetKind>,
    pub direction: Option<Direction>,
    pub target_value: Option<f64>,
    pub latest_value: Option<f64>,
    pub latest_period: Option<String>,
    pub status: IndicatorStatus,
}

/// Tasks of one section by status.
#[derive(Clone, Debug)]
pub struct SectionSummary {
    pub number: i32,
    pub title: String,
    pub not_started: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub overdue: u64,
}

/// How one department reported in the period.
#[derive(Clone, Debug)]
pub struct DepartmentSummary {
    pub name: String,
    pub led: u64,
    pub reported: u64,
    pub late: u64,
    pub overdue: u64,
    pub awaiting_review: u64,
}

/// The summary sheet: the dashboard's counts for one period, as the viewer may see them.
#[derive(Clone, Debug)]
pub struct Summary {
    pub period: String,
    pub sections: Vec<SectionSummary>,
    pub indicators: Vec<(IndicatorStatus, u64)>,
    pub departments: Vec<DepartmentSummary>,
}

/// The ledger of one plan as one viewer may see it.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub plan: plan::Model,
    pub generated_on: NaiveDate,
    /// When it was built, city time, for the title block.
    pub generated_at: NaiveDateTime,
    /// Who asked for it, as the title block names them.
    pub exported_by: String,
    pub summary: Summary,
    pub tasks: Vec<TaskRow>,
    pub indicators: Vec<IndicatorRow>,
}

pub fn progress_label(status: ProgressStatus) -> &'static str {
    match status {
        ProgressStatus::NotStarted => "未開始",
        ProgressStatus::InProgress => "進行中",
        ProgressStatus::Completed => "已完成",
        ProgressStatus::Blocked => "受阻",
    }
}

pub fn review_label(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Draft => "草稿",
        ReviewStatus::Submitted => "待審核",
        ReviewStatus::Approved => "已通過",
        ReviewStatus::Rejected => "已退回",
    }
}

pub fn indicator_status_label(status: IndicatorStatus) -> &'static str {
    match status {
        IndicatorStatus::Met => "達標",
        IndicatorStatus::NotMet => "未達標",
        IndicatorStatus::NoData => "未填報",
        IndicatorStatus::TargetNotSet => "目標未定",
    }
}

pub fn task_status_label(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::NotStarted => "未開始",
        TaskStatus::InProgress => "進行中",
        TaskStatus::Completed => "已完成",
        TaskStatus::Overdue => "逾期",
    }
}

/// The target kinds in the words the plan office uses for them.
pub fn target_kind_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::AtLeast => "不低於",
        TargetKind::AtMost => "不高於",
        TargetKind::Equal => "等於",
        TargetKind::NoDecrease => "不降低",
        TargetKind::NoIncrease => "不增加",
        TargetKind::Improve => "持續改善",
        TargetKind::External => "上級下達",
        TargetKind::Qualitative => "定性目標",
    }
}

pub fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::Higher => "越高越好",
        Direction::Lower => "越低越好",
    }
}

/// Whether a submitted report came in on time.
pub fn lateness_label(late: bool) -> &'static str {
    if late { "遲報" } else { "按時" }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "系統管理員",
        Role::Leadership => "領導小組辦公室",
        Role::Department => "部門",
        Role::Portal => "門戶網站",
    }
}

fn city_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&city_offset()).date_naive()
}

/// Where a paper copy is printed: A4 unless the office asks for A3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Paper {
    #[default]
    A4,
    A3,
}

impl Paper {
    /// `A4` or `A3`, in either case; nothing means A4.
    pub fn parse(raw: Option<&str>) -> AppResult<Self> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Paper::A4),
            Some(raw) if raw.eq_ignore_ascii_case("a4") => Ok(Paper::A4),
            Some(raw) if raw.eq_ignore_ascii_case("a3") => Ok(Paper::A3),
            Some(_) => Err(AppError::bad_input("paper is A4 or A3")),
        }
    }
}

fn summarise(view: &PlanView, board: crate::service::dashboard::Dashboard) -> Summary {
    let snapshot = &view.snapshot;
    Summary {
        period: board.period,
        sections: board
            .sections
            .into_iter()
            .map(|row| SectionSummary {
                number: snapshot.sections[row.section].row.number,
                title: snapshot.sections[row.section].row.title.clone(),
                not_started: row.progress.not_started,
                in_progress: row.progress.in_progress,
                completed: row.progress.completed,
                overdue: row.progress.overdue,
            })
            .collect(),
        indicators: board
            .indicators_by_status
            .into_iter()
            .map(|row| (row.status, row.count))
            .collect(),
        departments: board
            .departments
            .into_iter()
            .map(|row| DepartmentSummary {
                name: snapshot.departments[row.department].row.name.clone(),
                led: row.led,
                reported: row.reported_this_period,
                late: row.late,
                overdue: row.overdue,
                awaiting_review: row.awaiting_review,
            })
            .collect(),
    }
}

/// The exporter as the title block names them: the person, and the office or department
/// they export for.
async fn exporter_name(db: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<String> {
    let Some(user) = current_user(db, viewer).await? else {
        return Ok("系統".to_owned());
    };
    let office = match user.department_id {
        Some(department_id) => department::Entity::find_by_id(department_id)
            .one(db)
            .await?
            .map(|row| row.name),
        None => None,
    };
    let office = office.unwrap_or_else(|| {
        Role::parse(&user.role)
            .map(role_label)
            .unwrap_or_default()
            .to_owned()
    });
    Ok(if office.is_empty() {
        user.display_name
    } else {
        format!("{}（{office}）", user.display_name)
    })
}

/// Builds the ledger of a plan (the newest when none is named): everything for the
/// leadership group and administrators, a department's own rows and indicators for a
/// department. The portal's public view has no internal records, so it gets none.
/// The summary counts the period named (the current one when none is).
///
/// A fixed number of statements, whatever the size of the plan.
pub async fn build_ledger(
    db: &impl ConnectionTrait,
    view: &PlanView,
    viewer: &Viewer,
    plan_id: Option<i64>,
    period: Option<&str>,
) -> AppResult<Ledger> {
    view.require_readable()?;
    let scope = view.scope;
    if !scope.sees_internal_records() {
        return Err(AppError::forbidden(
            "the work ledger holds internal records: it is for the leadership group and the departments",
        ));
    }
    let plan_index = requested_plan(view, plan_id)?;
    let plan = view.snapshot.plans[plan_index].row.clone();
    let rows = LedgerRows::read(db, plan.id, scope).await?;
    let indicators: Vec<&IndicatorNode> = indicators_of_plan(view, plan_index)
        .into_iter()
        .map(|index| &view.snapshot.indicators[index])
        .collect();
    // The summary is the dashboard's, so the sheet and the screen never disagree.
    let summary = summarise(
        view,
        dashboard(db, None, view, Some(plan.id), period).await?,
    );
    let exported_by = exporter_name(db, viewer).await?;

    let tallies = Tallies::count(&rows, &indicators);
    let tasks = task_rows(view, &plan, &rows, &tallies);
    let indicators = indicator_rows(&indicators, &rows.tasks);
    Ok(Ledger {
        plan,
        generated_on: view.today,
        generated_at: Utc::now().with_timezone(&city_offset()).naive_local(),
        exported_by,
        summary,
        tasks,
        indicators,
    })
}

/// The plan named, or the newest when none is.
fn requested_plan(view: &PlanView, plan_id: Option<i64>) -> AppResult<usize> {
    find_plan(view, plan_id)?.ok_or_else(|| {
        AppError::not_found(if plan_id.is_some() {
            "no plan has this id"
        } else {
            "there is no plan yet"
        })
    })
}

/// The rows of one plan that the ledger reads from the database, as the scope may see
/// them: a department's own leads, reports, evidence and values.
struct LedgerRows {
    sections: HashMap<i64, section::Model>,
    /// In the document's order.
    tasks: Vec<task::Model>,
    leads: Vec<task_lead::Model>,
    department_names: HashMap<i64, String>,
    reports: Vec<progress_report::Model>,
    files: Vec<evidence::Model>,
    submitted_values: Vec<indicator_value::Model>,
}

impl LedgerRows {
    /// One statement per table, whatever the size of the plan.
    async fn read(db: &impl ConnectionTrait, plan_id: i64, scope: ReadScope) -> AppResult<Self> {
        let sections = read_sections(db, plan_id).await?;
        let tasks = read_tasks(db, plan_id).await?;
        let leads = read_leads(db, &tasks, scope).await?;
        let department_names = read_department_names(db, &leads).await?;
        Ok(LedgerRows {
            sections,
            tasks,
            leads,
            department_names,
            reports: read_reports(db, plan_id, scope).await?,
            files: read_evidence(db, plan_id, scope).await?,
            submitted_values: read_submitted_values(db, plan_id, scope).await?,
        })
    }
}

async fn read_sections(
    db: &impl ConnectionTrait,
    plan_id: i64,
) -> AppResult<HashMap<i64, section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::PlanId.eq(plan_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

async fn read_tasks(db: &impl ConnectionTrait, plan_id: i64) -> AppResult<Vec<task::Model>> {
    Ok(task::Entity::find()
        .filter(task::Column::PlanId.eq(plan_id))
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?)
}

/// The lead departments of the tasks; for a department, only its own.
async fn read_leads(
    db: &impl ConnectionTrait,
    tasks: &[task::Model],
    scope: ReadScope,
) -> AppResult<Vec<task_lead::Model>> {
    let mut leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.is_in(tasks.iter().map(|task| task.id)));
    if let ReadScope::Department(department_id) = scope {
        leads = leads.filter(task_lead::Column::DepartmentId.eq(department_id));
    }
    Ok(leads
        .order_by_asc(task_lead::Column::TaskId)
        .order_by_asc(task_lead::Column::Position)
        .all(db)
        .await?)
}

async fn read_department_names(
    db: &impl ConnectionTrait,
    leads: &[task_lead::Model],
) -> AppResult<HashMap<i64, String>> {
    Ok(department::Entity::find()
        .filter(department::Column::Id.is_in(leads.iter().map(|lead| lead.department_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.name))
        .collect())
}

async fn read_reports(
    db: &impl ConnectionTrait,
    plan_id: i64,
    scope: ReadScope,
) -> AppResult<Vec<progress_report::Model>> {
    Ok(progress_report::Entity::find()
        .filter(progress_report::Column::PlanId.eq(plan_id))
        .filter(scope.report_condition())
        .all(db)
        .await?)
}

async fn read_evidence(
    db: &impl ConnectionTrait,
    plan_id: i64,
    scope: ReadScope,
) -> AppResult<Vec<evidence::Model>> {
    Ok(evidence::Entity::find()
        .filter(evidence::Column::PlanId.eq(plan_id))
        .filter(scope.evidence_condition())
        .all(db)
        .await?)
}

/// The indicator values that await review, which count against their tasks.
async fn read_submitted_values(
    db: &impl ConnectionTrait,
    plan_id: i64,
    scope: ReadScope,
) -> AppResult<Vec<indicator_value::Model>> {
    Ok(indicator_value::Entity::find()
        .filter(indicator_value::Column::PlanId.eq(plan_id))
        .filter(indicator_value::Column::ReviewStatus.eq(ReviewStatus::Submitted.as_str()))
        .filter(scope.value_condition())
        .all(db)
        .await?)
}

/// A task and one of its lead departments: what the ledger counts by.
type TaskAndDepartment = (i64, i64);

/// What the ledger counts in memory, per task and lead department.
#[derive(Default)]
struct Tallies<'a> {
    latest: HashMap<TaskAndDepartment, &'a progress_report::Model>,
    awaiting_review: HashMap<TaskAndDepartment, u64>,
    evidence_count: HashMap<TaskAndDepartment, u64>,
}

fn is_submitted(review_status: &str) -> bool {
    review_status == ReviewStatus::Submitted.as_str()
}

impl<'a> Tallies<'a> {
    fn count(rows: &'a LedgerRows, indicators: &[&IndicatorNode]) -> Self {
        let mut tallies = Tallies::default();
        tallies.count_reports(&rows.reports);
        tallies.count_evidence(&rows.files);
        tallies.count_submitted_values(&rows.submitted_values, indicators);
        tallies
    }

    /// The latest report is the one of the latest period, and within it the last changed.
    fn count_reports(&mut self, reports: &'a [progress_report::Model]) {
        for report in reports {
            let key = (report.task_id, report.department_id);
            let newer = self.latest.get(&key).is_none_or(|current| {
                (&current.period, current.updated_at) < (&report.period, report.updated_at)
            });
            if newer {
                self.latest.insert(key, report);
            }
            if is_submitted(&report.review_status) {
                *self.awaiting_review.entry(key).or_default() += 1;
            }
        }
    }

    fn count_evidence(&mut self, files: &[evidence::Model]) {
        for file in files {
            let key = (file.task_id, file.department_id);
            *self.evidence_count.entry(key).or_default() += 1;
            if is_submitted(&file.review_status) {
                *self.awaiting_review.entry(key).or_default() += 1;
            }
        }
    }

    /// A value counts against the task its indicator belongs to.
    fn count_submitted_values(
        &mut self,
        values: &[indicator_value::Model],
        indicators: &[&IndicatorNode],
    ) {
        let task_of_indicator: HashMap<i64, i64> = indicators
            .iter()
            .map(|indicator| (indicator.row.id, indicator.row.task_id))
            .collect();
        for value in values {
            if let Some(task_id) = task_of_indicator.get(&value.indicator_id) {
                *self
                    .awaiting_review
                    .entry((*task_id, value.department_id))
                    .or_default() += 1;
            }
        }
    }
}

/// One row per task and lead department, in the document's order and the leads' order.
fn task_rows(
    view: &PlanView,
    plan: &plan::Model,
    rows: &LedgerRows,
    tallies: &Tallies,
) -> Vec<TaskRow> {
    let mut leads_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for lead in &rows.leads {
        leads_of
            .entry(lead.task_id)
            .or_default()
            .push(lead.department_id);
    }
    let mut task_rows = Vec::new();
    for task in &rows.tasks {
        for department_id in leads_of.get(&task.id).into_iter().flatten() {
            task_rows.push(task_row(view, plan, rows, tallies, task, *department_id));
        }
    }
    task_rows
}

fn task_row(
    view: &PlanView,
    plan: &plan::Model,
    rows: &LedgerRows,
    tallies: &Tallies,
    task: &task::Model,
    department_id: i64,
) -> TaskRow {
    let snapshot = &view.snapshot;
    let section = rows.sections.get(&task.section_id);
    let key = (task.id, department_id);
    TaskRow {
        section_number: section.map(|s| s.number).unwrap_or_default(),
        section_title: section.map(|s| s.title.clone()).unwrap_or_default(),
        task_code: task.code.clone(),
        task_title: task.title.clone(),
        department: rows
            .department_names
            .get(&department_id)
            .cloned()
            .unwrap_or_default(),
        due_on: due_on(task, plan),
        task_status: snapshot
            .task_index(task.id)
            .map(|index| snapshot.task_status(index, view.today))
            .unwrap_or(TaskStatus::NotStarted),
        latest: tallies.latest.get(&key).map(|report| latest_report(report)),
        evidence_count: tallies.evidence_count.get(&key).copied().unwrap_or(0),
        awaiting_review: tallies.awaiting_review.get(&key).copied().unwrap_or(0),
    }
}

fn latest_report(report: &progress_report::Model) -> LatestReport {
    LatestReport {
        status: ProgressStatus::parse(&report.status),
        review_status: ReviewStatus::parse(&report.review_status),
        period: report.period.clone(),
        reported_on: city_date(report.submitted_at.unwrap_or(report.updated_at)),
        work_done: report.work_done.clone(),
        late: report.submitted_at.map(|_| report.late),
    }
}

/// One row per indicator of the plan, in the plan's order.
fn indicator_rows(indicators: &[&IndicatorNode], tasks: &[task::Model]) -> Vec<IndicatorRow> {
    let code_of_task: HashMap<i64, &str> = tasks
        .iter()
        .map(|task| (task.id, task.code.as_str()))
        .collect();
    indicators
        .iter()
        .map(|node| indicator_row(node, &code_of_task))
        .collect()
}

fn indicator_row(node: &IndicatorNode, code_of_task: &HashMap<i64, &str>) -> IndicatorRow {
    let indicator = &node.row;
    let value = node.assessment.value.as_ref();
    IndicatorRow {
        indicator_id: NodeId::new(NodeKind::Indicator, indicator.id).encode(),
        task_code: code_of_task
            .get(&indicator.task_id)
            .map(|code| (*code).to_owned())
            .unwrap_or_default(),
        name: indicator.name.clone(),
        unit: indicator.unit.clone(),
        target_text: indicator.target_text.clone(),
        target_kind: TargetKind::parse(&indicator.target_kind),
        direction: Direction::parse(&indicator.better),
        target_value: indicator.target_value,
        latest_value: value.and_then(|value| value.value),
        latest_period: value.map(|value| value.period.clone()),
        status: node.assessment.status,
    }
}

/// The headers of the ledger sheet, in the workbook and the CSV alike.
pub const LEDGER_HEADERS: [&str; 15] = [
    "章節序號",
    "章節",
    "任務編號",
    "任務名稱",
    "牽頭單位",
    "完成時限",
    "任務狀態",
    "最新進展狀態",
    "審核狀態",
    "報送",
    "最新填報期間",
    "最新填報日期",
    "最新工作進展",
    "佐證材料數",
    "待審核數",
];

/// The headers of the indicator sheet. The import reads the ones in `columns`, by name,
/// so their order may change.
pub const INDICATOR_HEADERS: [&str; 17] = [
    columns::TASK_CODE,
    columns::INDICATOR_NAME,
    "單位",
    "目標",
    "目標類型",
    "評價方向",
    "目標值",
    "最新核定值",
    "核定值期間",
    "狀態",
    columns::PERIOD,
    columns::VALUE,
    columns::ACHIEVED,
    columns::TEXT,
    columns::SOURCE,
    columns::NOTE,
    columns::INDICATOR_ID,
];

/// A CSV field that a spreadsheet would not run as a formula: text that a department
/// typed may begin with `=`, `+`, `-` or `@`, so such text gets a leading apostrophe.
/// (The workbook stores text as text, so it needs no such guard.)
fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

impl Ledger {
    /// A file name that says what and when: `工作台賬-tangshan-2022-2022-06-30.xlsx`.
    pub fn file_name(&self, extension: &str) -> String {
        format!(
            "{LEDGER_SHEET}-{}-{}.{extension}",
            self.plan.key,
            self.generated_on.format("%Y-%m-%d")
        )
    }

    /// The workbook, laid out for the screen and for paper: see `service::workbook`.
    pub fn to_xlsx(&self, paper: Paper) -> AppResult<Vec<u8>> {
        crate::service::workbook::write_ledger(self, paper)
    }
    /// The ledger sheet alone as CSV (RFC 4180), UTF-8 with a byte-order mark so that
    /// Excel and WPS read the Chinese text right. The indicator sheet is in the workbook.
    pub fn to_csv(&self) -> AppResult<Vec<u8>> {
        let csv_error = |error: csv::Error| {
            AppError::Unexpected(anyhow::Error::new(error).context("cannot write the CSV file"))
        };
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer("\u{feff}".as_bytes().to_vec());
        writer.write_record(LEDGER_HEADERS).map_err(csv_error)?;
        for task in &self.tasks {
            let latest = task.latest.as_ref();
            let date = |date: NaiveDate| date.format("%Y-%m-%d").to_string();
            writer
                .write_record([
                    task.section_number.to_string(),
                    csv_text(&task.section_title),
                    csv_text(&task.task_code),
                    csv_text(&task.task_title),
                    csv_text(&task.department),
                    date(task.due_on),
                    task_status_label(task.task_status).to_owned(),
                    latest
                        .map(|l| progress_label(l.status).to_owned())
                        .unwrap_or_default(),
                    latest
                        .map(|l| review_label(l.review_status).to_owned())
                        .unwrap_or_default(),
                    latest
                        .and_then(|l| l.late)
                        .map(|late| lateness_label(late).to_owned())
                        .unwrap_or_default(),
                    latest.map(|l| l.period.clone()).unwrap_or_default(),
                    latest.map(|l| date(l.reported_on)).unwrap_or_default(),
                    latest.map(|l| csv_text(&l.work_done)).unwrap_or_default(),
                    task.evidence_count.to_string(),
                    task.awaiting_review.to_string(),
                ])
                .map_err(csv_error)?;
        }
        writer.into_inner().map_err(|error| {
            AppError::Unexpected(
                anyhow::anyhow!("{}", error.error()).context("cannot write the CSV file"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_that_looks_like_a_formula_stays_text() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("-1+1"), "'-1+1");
        assert_eq!(csv_text("完成統計調查方案"), "完成統計調查方案");
    }
}
