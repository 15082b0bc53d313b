//! The leadership office's work ledger (工作台賬): one row per task and lead department
//! with the latest report, and one row per indicator with its latest approved value, as
//! an Excel workbook or a CSV file. The indicator sheet doubles as the form that
//! `service::import` reads back, so both modules share its column names.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{
    department, evidence, indicator_value, plan, progress_report, section, task, task_lead,
};
use crate::error::{AppError, AppResult};
use crate::id::{NodeId, NodeKind};
use crate::service::indicator::indicators_of_plan;
use crate::service::period::{city_offset, city_today};
use crate::service::plan::find_plan;
use crate::service::policy::ReadScope;
use crate::service::report::{ProgressStatus, due_on};
use crate::service::snapshot::{IndicatorNode, PlanView};
use crate::service::status::IndicatorStatus;
use crate::service::submission::ReviewStatus;

/// The name of the first sheet: tasks by lead department.
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
    pub target_kind: String,
    pub target_value: Option<f64>,
    pub latest_value: Option<f64>,
    pub latest_period: Option<String>,
    pub status: IndicatorStatus,
}

/// The ledger of one plan as one viewer may see it.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub plan: plan::Model,
    pub generated_on: NaiveDate,
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

pub fn indicator_status_code(status: IndicatorStatus) -> &'static str {
    match status {
        IndicatorStatus::Met => "MET",
        IndicatorStatus::NotMet => "NOT_MET",
        IndicatorStatus::NoData => "NO_DATA",
        IndicatorStatus::TargetNotSet => "TARGET_NOT_SET",
    }
}

pub fn indicator_status_label(status: IndicatorStatus) -> &'static str {
    match status {
        IndicatorStatus::Met => "達標",
        IndicatorStatus::NotMet => "未達標",
        IndicatorStatus::NoData => "無數據",
        IndicatorStatus::TargetNotSet => "目標未定",
    }
}

fn city_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&city_offset()).date_naive()
}

/// Builds the ledger of a plan (the newest when none is named): everything for the
/// leadership group and administrators, a department's own rows and indicators for a
/// department. The portal's public view has no internal records, so it gets none.
///
/// A fixed number of statements, whatever the size of the plan.
pub async fn build_ledger(
    db: &impl ConnectionTrait,
    view: &PlanView,
    plan_id: Option<i64>,
) -> AppResult<Ledger> {
    view.require_readable()?;
    let scope = view.scope;
    if !scope.sees_internal_records() {
        return Err(AppError::forbidden(
            "the work ledger holds internal records: it is for the leadership group and the departments",
        ));
    }
    let plan_index = find_plan(view, plan_id)?.ok_or_else(|| {
        AppError::not_found(if plan_id.is_some() {
            "no plan has this id"
        } else {
            "there is no plan yet"
        })
    })?;
    let plan = view.snapshot.plans[plan_index].row.clone();

    let sections: HashMap<i64, section::Model> = section::Entity::find()
        .filter(section::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let tasks = task::Entity::find()
        .filter(task::Column::PlanId.eq(plan.id))
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?;
    let mut leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.is_in(tasks.iter().map(|task| task.id)));
    if let ReadScope::Department(department_id) = scope {
        leads = leads.filter(task_lead::Column::DepartmentId.eq(department_id));
    }
    let leads = leads
        .order_by_asc(task_lead::Column::TaskId)
        .order_by_asc(task_lead::Column::Position)
        .all(db)
        .await?;
    let departments: HashMap<i64, String> = department::Entity::find()
        .filter(department::Column::Id.is_in(leads.iter().map(|lead| lead.department_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.name))
        .collect();
    let reports = progress_report::Entity::find()
        .filter(progress_report::Column::PlanId.eq(plan.id))
        .filter(scope.submission_condition(
            progress_report::Column::DepartmentId,
            progress_report::Column::ReviewStatus,
        ))
        .all(db)
        .await?;
    let files = evidence::Entity::find()
        .filter(evidence::Column::PlanId.eq(plan.id))
        .filter(scope.evidence_condition(evidence::Column::DepartmentId))
        .all(db)
        .await?;
    let submitted_values = indicator_value::Entity::find()
        .filter(indicator_value::Column::PlanId.eq(plan.id))
        .filter(indicator_value::Column::ReviewStatus.eq(ReviewStatus::Submitted.as_str()))
        .filter(scope.submission_condition(
            indicator_value::Column::DepartmentId,
            indicator_value::Column::ReviewStatus,
        ))
        .all(db)
        .await?;
    let snapshot = &view.snapshot;
    let indicators: Vec<&IndicatorNode> = indicators_of_plan(view, plan_index)
        .into_iter()
        .map(|index| &snapshot.indicators[index])
        .collect();

    // Everything below is counted in memory, keyed by (task, department).
    let mut latest: HashMap<(i64, i64), &progress_report::Model> = HashMap::new();
    let mut awaiting: HashMap<(i64, i64), u64> = HashMap::new();
    let submitted = |status: &str| status == ReviewStatus::Submitted.as_str();
    for report in &reports {
        let key = (report.task_id, report.department_id);
        let newer = latest.get(&key).is_none_or(|current| {
            (&current.period, current.updated_at) < (&report.period, report.updated_at)
        });
        if newer {
            latest.insert(key, report);
        }
        if submitted(&report.review_status) {
            *awaiting.entry(key).or_default() += 1;
        }
    }
    let mut evidence_count: HashMap<(i64, i64), u64> = HashMap::new();
    for file in &files {
        let key = (file.task_id, file.department_id);
        *evidence_count.entry(key).or_default() += 1;
        if submitted(&file.review_status) {
            *awaiting.entry(key).or_default() += 1;
        }
    }
    let task_of_indicator: HashMap<i64, i64> = indicators
        .iter()
        .map(|indicator| (indicator.row.id, indicator.row.task_id))
        .collect();
    for value in &submitted_values {
        if let Some(task_id) = task_of_indicator.get(&value.indicator_id) {
            *awaiting.entry((*task_id, value.department_id)).or_default() += 1;
        }
    }

    let mut leads_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for lead in &leads {
        leads_of
            .entry(lead.task_id)
            .or_default()
            .push(lead.department_id);
    }
    let mut task_rows = Vec::new();
    for task in &tasks {
        let section = sections.get(&task.section_id);
        for department_id in leads_of.get(&task.id).into_iter().flatten() {
            let key = (task.id, *department_id);
            task_rows.push(TaskRow {
                section_number: section.map(|s| s.number).unwrap_or_default(),
                section_title: section.map(|s| s.title.clone()).unwrap_or_default(),
                task_code: task.code.clone(),
                task_title: task.title.clone(),
                department: departments.get(department_id).cloned().unwrap_or_default(),
                due_on: due_on(task, &plan),
                latest: latest.get(&key).map(|report| LatestReport {
                    status: ProgressStatus::parse(&report.status),
                    review_status: ReviewStatus::parse(&report.review_status),
                    period: report.period.clone(),
                    reported_on: city_date(report.submitted_at.unwrap_or(report.updated_at)),
                    work_done: report.work_done.clone(),
                }),
                evidence_count: evidence_count.get(&key).copied().unwrap_or(0),
                awaiting_review: awaiting.get(&key).copied().unwrap_or(0),
            });
        }
    }

    let code_of_task: HashMap<i64, &str> = tasks
        .iter()
        .map(|task| (task.id, task.code.as_str()))
        .collect();
    let indicator_rows = indicators
        .iter()
        .map(|node| {
            let indicator = &node.row;
            let assessment = Some(&node.assessment);
            let value = assessment.and_then(|assessment| assessment.value.as_ref());
            IndicatorRow {
                indicator_id: NodeId::new(NodeKind::Indicator, indicator.id).encode(),
                task_code: code_of_task
                    .get(&indicator.task_id)
                    .map(|code| (*code).to_owned())
                    .unwrap_or_default(),
                name: indicator.name.clone(),
                unit: indicator.unit.clone(),
                target_text: indicator.target_text.clone(),
                target_kind: indicator.target_kind.clone(),
                target_value: indicator.target_value,
                latest_value: value.and_then(|value| value.value),
                latest_period: value.map(|value| value.period.clone()),
                status: assessment
                    .map(|assessment| assessment.status)
                    .unwrap_or(IndicatorStatus::NoData),
            }
        })
        .collect();

    Ok(Ledger {
        plan,
        generated_on: city_today(),
        tasks: task_rows,
        indicators: indicator_rows,
    })
}

/// The headers of the ledger sheet, with column widths (in characters of a Latin font: a
/// Chinese character takes about two).
const LEDGER_COLUMNS: [(&str, f64); 13] = [
    ("章節序號", 9.0),
    ("章節", 34.0),
    ("任務編號", 9.0),
    ("任務名稱", 30.0),
    ("牽頭單位", 24.0),
    ("完成時限", 12.0),
    ("最新進展狀態", 13.0),
    ("審核狀態", 10.0),
    ("最新填報期間", 13.0),
    ("最新填報日期", 13.0),
    ("最新工作進展", 60.0),
    ("佐證材料數", 11.0),
    ("待審核數", 10.0),
];

const INDICATOR_COLUMNS: [(&str, f64); 17] = [
    (columns::TASK_CODE, 9.0),
    (columns::INDICATOR_NAME, 36.0),
    ("單位", 10.0),
    ("目標", 30.0),
    ("目標類型", 14.0),
    ("目標值", 10.0),
    ("最新核定值", 12.0),
    ("核定值期間", 12.0),
    ("狀態", 16.0),
    ("狀態說明", 10.0),
    (columns::INDICATOR_ID, 22.0),
    (columns::PERIOD, 12.0),
    (columns::VALUE, 10.0),
    (columns::ACHIEVED, 10.0),
    (columns::TEXT, 30.0),
    (columns::SOURCE, 20.0),
    (columns::NOTE, 20.0),
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

fn sheet_error(error: XlsxError) -> AppError {
    AppError::Unexpected(anyhow::Error::new(error).context("cannot write the spreadsheet"))
}

fn write_headers(
    sheet: &mut Worksheet,
    headers: &[(&str, f64)],
    bold: &Format,
) -> Result<(), XlsxError> {
    for (column, (name, width)) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, column, *name, bold)?;
        sheet.set_column_width(column, *width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
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

    /// The workbook: the ledger sheet and the indicator sheet, headers bold and frozen,
    /// dates as date cells and numbers as numbers.
    pub fn to_xlsx(&self) -> AppResult<Vec<u8>> {
        self.write_workbook().map_err(sheet_error)
    }

    fn write_workbook(&self) -> Result<Vec<u8>, XlsxError> {
        let bold = Format::new()
            .set_bold()
            .set_background_color(0xD9E1F2)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        let date = Format::new()
            .set_num_format("yyyy-mm-dd")
            .set_align(FormatAlign::Top);
        let top = Format::new().set_align(FormatAlign::Top);
        let wrapped = Format::new().set_text_wrap().set_align(FormatAlign::Top);
        // The period is typed as text, or Excel would turn `2022-05` into a date.
        let text = Format::new().set_num_format("@");

        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name(LEDGER_SHEET)?;
        write_headers(sheet, &LEDGER_COLUMNS, &bold)?;
        for (row, task) in (1u32..).zip(&self.tasks) {
            sheet.write_number_with_format(row, 0, task.section_number, &top)?;
            sheet.write_string_with_format(row, 1, &task.section_title, &wrapped)?;
            sheet.write_string_with_format(row, 2, &task.task_code, &top)?;
            sheet.write_string_with_format(row, 3, &task.task_title, &wrapped)?;
            sheet.write_string_with_format(row, 4, &task.department, &top)?;
            sheet.write_date_with_format(row, 5, task.due_on, &date)?;
            if let Some(latest) = &task.latest {
                sheet.write_string_with_format(row, 6, progress_label(latest.status), &top)?;
                sheet.write_string_with_format(row, 7, review_label(latest.review_status), &top)?;
                sheet.write_string_with_format(row, 8, &latest.period, &top)?;
                sheet.write_date_with_format(row, 9, latest.reported_on, &date)?;
                sheet.write_string_with_format(row, 10, &latest.work_done, &wrapped)?;
            }
            // Counts are far below 2^53, so they are exact as Excel's doubles.
            sheet.write_number_with_format(row, 11, task.evidence_count as f64, &top)?;
            sheet.write_number_with_format(row, 12, task.awaiting_review as f64, &top)?;
        }

        let sheet = workbook.add_worksheet();
        sheet.set_name(INDICATOR_SHEET)?;
        write_headers(sheet, &INDICATOR_COLUMNS, &bold)?;
        sheet.set_column_format(11, &text)?;
        for (row, indicator) in (1u32..).zip(&self.indicators) {
            sheet.write_string_with_format(row, 0, &indicator.task_code, &top)?;
            sheet.write_string_with_format(row, 1, &indicator.name, &wrapped)?;
            if let Some(unit) = &indicator.unit {
                sheet.write_string_with_format(row, 2, unit, &top)?;
            }
            sheet.write_string_with_format(row, 3, &indicator.target_text, &wrapped)?;
            sheet.write_string_with_format(row, 4, &indicator.target_kind, &top)?;
            if let Some(target) = indicator.target_value {
                sheet.write_number_with_format(row, 5, target, &top)?;
            }
            if let Some(value) = indicator.latest_value {
                sheet.write_number_with_format(row, 6, value, &top)?;
            }
            if let Some(period) = &indicator.latest_period {
                sheet.write_string_with_format(row, 7, period, &top)?;
            }
            sheet.write_string_with_format(
                row,
                8,
                indicator_status_code(indicator.status),
                &top,
            )?;
            sheet.write_string_with_format(
                row,
                9,
                indicator_status_label(indicator.status),
                &top,
            )?;
            sheet.write_string_with_format(row, 10, &indicator.indicator_id, &top)?;
        }
        workbook.save_to_buffer()
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
        writer
            .write_record(LEDGER_COLUMNS.iter().map(|(name, _)| *name))
            .map_err(csv_error)?;
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
                    latest
                        .map(|l| progress_label(l.status).to_owned())
                        .unwrap_or_default(),
                    latest
                        .map(|l| review_label(l.review_status).to_owned())
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
