//! Indicator values from a spreadsheet: the "指標" sheet of the exported work ledger,
//! filled in by a department, becomes drafts of that department, all or nothing.
//!
//! Every row goes through `report::save_indicator_value_in`, the same checks as the API,
//! inside one transaction; a dry run rolls it back, so what it reports is what a real run
//! would do.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Serialize;

use crate::entity::{indicator, indicator_responsible, indicator_value, plan, task};
use crate::error::{AppError, AppResult};
use crate::id::{NodeId, NodeKind, truncate};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::indicator::TargetKind;
use crate::service::ledger::{INDICATOR_SHEET, columns};
use crate::service::period::{self, Period};
use crate::service::plan::find_plan_row;
use crate::service::policy::Viewer;
use crate::service::report::{self, IndicatorValueInput, MAX_TEXT};
use crate::service::submission::ReviewStatus;

/// The largest workbook accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// What the workbook may unpack to: a filled-in ledger is far smaller; more is a zip bomb.
const MAX_UNPACKED_BYTES: u64 = 100 * 1024 * 1024;
/// The most rows the indicator sheet may have (the plan has a few dozen indicators).
const MAX_ROWS: u32 = 5_000;
/// Columns beyond these are not read.
const MAX_COLUMNS: u32 = 64;
/// The header row is searched for in this many rows at the top of the sheet.
const MAX_HEADER_ROW: u32 = 10;

/// A cell of the sheet, as the import needs it.
#[derive(Clone, Debug, PartialEq)]
enum CellValue {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date or time cell, or an error cell: never a valid input here.
    Other(&'static str),
}

impl CellValue {
    fn from_data(data: DataRef<'_>) -> Option<Self> {
        let text = |raw: &str| {
            let trimmed = raw.trim();
            (!trimmed.is_empty()).then(|| CellValue::Text(trimmed.to_owned()))
        };
        match data {
            DataRef::Empty => None,
            DataRef::String(raw) => text(&raw),
            DataRef::SharedString(raw) => text(raw),
            DataRef::Int(number) => Some(CellValue::Number(number as f64)),
            DataRef::Float(number) => Some(CellValue::Number(number)),
            DataRef::Bool(value) => Some(CellValue::Bool(value)),
            DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
                Some(CellValue::Other("a date"))
            }
            DataRef::Error(_) => Some(CellValue::Other("an error value")),
        }
    }

    /// The cell as text, for the free-text columns.
    fn as_text(&self) -> Option<String> {
        match self {
            CellValue::Text(text) => Some(text.clone()),
            CellValue::Number(number) => Some(number.to_string()),
            CellValue::Bool(true) => Some("TRUE".into()),
            CellValue::Bool(false) => Some("FALSE".into()),
            CellValue::Other(_) => None,
        }
    }
}

/// One filled-in row of the indicator sheet, by column name.
#[derive(Debug)]
struct SheetRow {
    /// As Excel numbers it (the first row is 1).
    number: u32,
    cells: HashMap<&'static str, CellValue>,
}

impl SheetRow {
    fn get(&self, column: &str) -> Option<&CellValue> {
        self.cells.get(column)
    }
}

/// What a row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
}

/// Why a row cannot be imported. `column` is `None` for a problem of the row as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct CellError {
    pub row: u32,
    pub column: Option<String>,
    pub reason: String,
}

/// What became, or would become, of one row.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowOutcome {
    pub row: u32,
    pub indicator_id: Option<String>,
    pub task_code: Option<String>,
    pub indicator_name: Option<String>,
    pub period: Option<String>,
    /// `None` when the row has errors.
    pub action: Option<RowAction>,
    pub errors: Vec<CellError>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub invalid: usize,
}

/// The answer to an import, dry or real.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub plan_id: String,
    pub dry_run: bool,
    /// Whether the values were written: a real run in which every row is valid.
    pub applied: bool,
    pub summary: ImportSummary,
    pub rows: Vec<RowOutcome>,
    /// Every row's errors in one list, in row order.
    pub errors: Vec<CellError>,
}

fn not_a_workbook() -> AppError {
    AppError::bad_input(
        "the body is not an Excel workbook (.xlsx): send the file exported from /export/plan.xlsx, filled in",
    )
}

/// Reads the filled-in rows of the indicator sheet. Rows whose input columns (period,
/// value, achieved, text, source, note) are all empty are left out: the export fills in
/// every indicator, and a department fills in only the ones it reports.
fn read_sheet(bytes: &[u8]) -> AppResult<Vec<SheetRow>> {
    refuse_archive_bombs(bytes)?;
    let mut rows = read_cells(bytes)?;
    if rows.is_empty() {
        return Err(AppError::bad_input(format!(
            "the {INDICATOR_SHEET} sheet is empty"
        )));
    }
    // The export puts a title block above the header; a sheet of its own may not.
    let is_header = |cells: &HashMap<u32, CellValue>| {
        cells
            .values()
            .any(|cell| matches!(cell, CellValue::Text(name) if name == columns::PERIOD))
    };
    let mut header = HashMap::new();
    while let Some((row, cells)) = rows.pop_first() {
        if is_header(&cells) || row >= MAX_HEADER_ROW {
            header = cells;
            break;
        }
    }
    let column_of = known_columns(&header)?;
    Ok(rows
        .into_iter()
        .map(|(row, cells)| SheetRow {
            number: row + 1,
            cells: cells
                .into_iter()
                .filter_map(|(index, value)| column_of.get(&index).map(|name| (*name, value)))
                .collect(),
        })
        .filter(|row| columns::INPUTS.iter().any(|name| row.get(name).is_some()))
        .collect())
}

/// A workbook is a zip archive: one that unpacks beyond a ledger's size is refused before
/// it is unpacked.
fn refuse_archive_bombs(bytes: &[u8]) -> AppResult<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_a_workbook())?;
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|_| not_a_workbook())?;
        unpacked = unpacked.saturating_add(entry.size());
    }
    if unpacked > MAX_UNPACKED_BYTES {
        return Err(AppError::bad_input(
            "the workbook unpacks to more than 100 MiB: that is not a filled-in ledger",
        ));
    }
    Ok(())
}

/// The cells of the indicator sheet, by row and column (both from 0).
fn read_cells(bytes: &[u8]) -> AppResult<BTreeMap<u32, HashMap<u32, CellValue>>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|_| not_a_workbook())?;
    if !workbook
        .sheet_names()
        .iter()
        .any(|name| name == INDICATOR_SHEET)
    {
        return Err(AppError::bad_input(format!(
            "the workbook has no sheet named {INDICATOR_SHEET}: fill in that sheet of the exported ledger"
        )));
    }
    let mut cells_reader = workbook
        .worksheet_cells_reader(INDICATOR_SHEET)
        .map_err(|_| not_a_workbook())?;
    let mut rows: BTreeMap<u32, HashMap<u32, CellValue>> = BTreeMap::new();
    while let Some(cell) = cells_reader.next_cell().map_err(|_| not_a_workbook())? {
        let (row, column) = cell.get_position();
        if column >= MAX_COLUMNS {
            continue;
        }
        if row >= MAX_ROWS {
            return Err(AppError::bad_input(format!(
                "the {INDICATOR_SHEET} sheet has more than {MAX_ROWS} rows"
            )));
        }
        if let Some(value) = CellValue::from_data(cell.get_value().clone()) {
            rows.entry(row).or_default().insert(column, value);
        }
    }
    Ok(rows)
}

/// Which column holds which of the export's headers; refuses a header row without the
/// period and a way to name the indicator.
fn known_columns(header: &HashMap<u32, CellValue>) -> AppResult<HashMap<u32, &'static str>> {
    let known = [
        columns::INDICATOR_ID,
        columns::TASK_CODE,
        columns::INDICATOR_NAME,
        columns::PERIOD,
        columns::VALUE,
        columns::ACHIEVED,
        columns::TEXT,
        columns::SOURCE,
        columns::NOTE,
    ];
    let mut column_of: HashMap<u32, &'static str> = HashMap::new();
    for (index, cell) in header {
        if let CellValue::Text(name) = cell
            && let Some(known) = known.iter().find(|known| **known == name.as_str())
        {
            column_of.insert(*index, known);
        }
    }
    let has = |name: &str| column_of.values().any(|column| *column == name);
    if !has(columns::PERIOD)
        || !(has(columns::INDICATOR_ID) || has(columns::TASK_CODE) && has(columns::INDICATOR_NAME))
    {
        return Err(AppError::bad_input(format!(
            "the header row of the {INDICATOR_SHEET} sheet (within its first {MAX_HEADER_ROW} rows) must hold the exported headers: at least {}, and {} (or {} and {})",
            columns::PERIOD,
            columns::INDICATOR_ID,
            columns::TASK_CODE,
            columns::INDICATOR_NAME
        )));
    }
    Ok(column_of)
}

/// The department a department user imports for, or a refusal: only departments import,
/// each into its own drafts.
pub fn importing_department(viewer: &Viewer) -> AppResult<i64> {
    viewer
        .acting_department("indicator values are imported by the departments responsible for them")
}

/// The facts of the plan every row is checked against, read once.
struct PlanFacts {
    indicators: HashMap<i64, indicator::Model>,
    by_task_and_name: HashMap<(String, String), i64>,
    responsible: HashSet<i64>,
    values: HashMap<(i64, String), indicator_value::Model>,
}

async fn load_facts(
    db: &impl ConnectionTrait,
    plan: &plan::Model,
    department_id: i64,
) -> AppResult<PlanFacts> {
    let indicators: HashMap<i64, indicator::Model> = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let task_codes: HashMap<i64, String> = task::Entity::find()
        .filter(task::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.code))
        .collect();
    let by_task_and_name = indicators
        .values()
        .filter_map(|indicator| {
            let code = task_codes.get(&indicator.task_id)?;
            Some(((code.clone(), indicator.name.clone()), indicator.id))
        })
        .collect();
    let responsible = indicator_responsible::Entity::find()
        .filter(indicator_responsible::Column::DepartmentId.eq(department_id))
        .filter(indicator_responsible::Column::IndicatorId.is_in(indicators.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.indicator_id)
        .collect();
    let values = indicator_value::Entity::find()
        .filter(indicator_value::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| ((row.indicator_id, row.period.clone()), row))
        .collect();
    Ok(PlanFacts {
        indicators,
        by_task_and_name,
        responsible,
        values,
    })
}

/// Collects a row's errors, each against its column.
struct RowErrors {
    row: u32,
    errors: Vec<CellError>,
}

impl RowErrors {
    fn add(&mut self, column: Option<&str>, reason: impl Into<String>) {
        self.errors.push(CellError {
            row: self.row,
            column: column.map(str::to_owned),
            reason: reason.into(),
        });
    }
}

fn parse_number(cell: Option<&CellValue>, errors: &mut RowErrors) -> Option<f64> {
    let number = match cell? {
        CellValue::Number(number) => Some(*number),
        CellValue::Text(text) => text.replace([',', '，'], "").trim().parse::<f64>().ok(),
        CellValue::Bool(_) | CellValue::Other(_) => None,
    };
    match number {
        Some(number) if number.is_finite() => Some(number),
        _ => {
            errors.add(Some(columns::VALUE), "not a number");
            None
        }
    }
}

fn parse_achieved(cell: Option<&CellValue>, errors: &mut RowErrors) -> Option<bool> {
    let answer = match cell? {
        CellValue::Bool(value) => Some(*value),
        CellValue::Number(number) if *number == 1.0 => Some(true),
        CellValue::Number(number) if *number == 0.0 => Some(false),
        CellValue::Text(text) => match text.to_lowercase().as_str() {
            "是" | "達成" | "已達成" | "达成" | "已达成" | "y" | "yes" | "true" | "1" => {
                Some(true)
            }
            "否" | "未達成" | "未达成" | "n" | "no" | "false" | "0" => Some(false),
            _ => None,
        },
        CellValue::Number(_) | CellValue::Other(_) => None,
    };
    if answer.is_none() {
        errors.add(Some(columns::ACHIEVED), "write 是 or 否");
    }
    answer
}

fn parse_text(
    column: &'static str,
    cell: Option<&CellValue>,
    errors: &mut RowErrors,
) -> Option<String> {
    let text = match cell? {
        CellValue::Other(what) => {
            errors.add(Some(column), format!("{what} is not text"));
            return None;
        }
        other => other.as_text()?,
    };
    if text.chars().count() > MAX_TEXT {
        errors.add(
            Some(column),
            format!("may be at most {MAX_TEXT} characters"),
        );
        return None;
    }
    Some(text)
}

/// Finds the row's indicator: by its id, or else by task code and indicator name.
fn match_indicator<'a>(
    row: &SheetRow,
    facts: &'a PlanFacts,
    errors: &mut RowErrors,
) -> Option<(&'a indicator::Model, &'static str)> {
    if let Some(cell) = row.get(columns::INDICATOR_ID) {
        let column = columns::INDICATOR_ID;
        let found = match cell {
            CellValue::Text(raw) => NodeId::decode_as(raw, NodeKind::Indicator)
                .ok()
                .map(|id| facts.indicators.get(&id)),
            _ => None,
        };
        return match found {
            Some(Some(indicator)) => Some((indicator, column)),
            Some(None) => {
                errors.add(Some(column), "no indicator of this plan has this id");
                None
            }
            None => {
                errors.add(Some(column), "not an indicator id: keep the exported one");
                None
            }
        };
    }
    let text = |name: &str| row.get(name).and_then(CellValue::as_text);
    match (text(columns::TASK_CODE), text(columns::INDICATOR_NAME)) {
        (Some(code), Some(name)) => {
            let found = facts
                .by_task_and_name
                .get(&(code.clone(), name.clone()))
                .and_then(|id| facts.indicators.get(id));
            if found.is_none() {
                errors.add(
                    Some(columns::INDICATOR_NAME),
                    format!("task {code} has no indicator named {}", truncate(&name)),
                );
            }
            found.map(|indicator| (indicator, columns::INDICATOR_NAME))
        }
        _ => {
            errors.add(
                Some(columns::INDICATOR_ID),
                format!(
                    "say which indicator: keep the exported {} (or give {} and {})",
                    columns::INDICATOR_ID,
                    columns::TASK_CODE,
                    columns::INDICATOR_NAME
                ),
            );
            None
        }
    }
}

fn same_content(current: &indicator_value::Model, input: &IndicatorValueInput) -> bool {
    current.value == input.value
        && current.achieved == input.achieved
        && current.text == input.text
        && current.source == input.source
        && current.note == input.note
}

/// Imports the indicator values of a filled-in ledger as drafts of the caller's department.
///
/// Refuses the request as a whole (anonymous, not a department, no such plan, not a
/// workbook, no filled-in row) with an error; otherwise reports on every row. A real run
/// writes only when every row is valid, in one transaction, with an audit entry for each
/// value and one `indicatorValue.import` entry for the import.
pub async fn import_indicator_values(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    plan_id: Option<i64>,
    dry_run: bool,
    workbook: Vec<u8>,
) -> AppResult<ImportReport> {
    let department_id = importing_department(caller.viewer)?;
    let plan = find_plan_row(db, plan_id)
        .await?
        .filter(|plan| caller.viewer.scope().sees_plan_row(plan))
        .ok_or_else(|| {
            AppError::bad_input(if plan_id.is_some() {
                "no plan has this id"
            } else {
                "there is no plan yet"
            })
        })?;
    // Unpacking is CPU work: keep it off the threads that serve requests.
    let rows = tokio::task::spawn_blocking(move || read_sheet(&workbook))
        .await
        .map_err(|error| {
            AppError::Unexpected(anyhow::Error::new(error).context("the workbook reader stopped"))
        })??;
    if rows.is_empty() {
        return Err(AppError::bad_input(format!(
            "no row of the {INDICATOR_SHEET} sheet is filled in: give at least {} and {} (or {})",
            columns::PERIOD,
            columns::VALUE,
            columns::ACHIEVED
        )));
    }

    let txn = crate::db::begin_write(db).await?;
    let facts = load_facts(&txn, &plan, department_id).await?;
    let imported = import_rows(&txn, caller, &plan, &facts, &rows).await?;
    let summary = ImportSummary::of(&imported.outcomes);
    let applied = !dry_run && summary.invalid == 0;
    if applied {
        audit::record(
            &txn,
            caller,
            "indicatorValue.import",
            ItemType::Plan,
            plan.id,
            None::<&()>,
            Some(&serde_json::json!({
                "departmentId": NodeId::new(NodeKind::Department, department_id).encode(),
                "rows": summary.rows,
                "created": imported.created,
                "updated": imported.updated,
                "unchanged": summary.unchanged,
            })),
        )
        .await?;
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    let outcomes = imported.outcomes;
    Ok(ImportReport {
        plan_id: NodeId::new(NodeKind::Plan, plan.id).encode(),
        dry_run,
        applied,
        summary,
        errors: outcomes
            .iter()
            .flat_map(|outcome| outcome.errors.iter().cloned())
            .collect(),
        rows: outcomes,
    })
}

impl ImportSummary {
    fn of(outcomes: &[RowOutcome]) -> Self {
        let mut summary = ImportSummary {
            rows: outcomes.len(),
            ..Default::default()
        };
        for outcome in outcomes {
            match outcome.action {
                Some(RowAction::Create) => summary.create += 1,
                Some(RowAction::Update) => summary.update += 1,
                Some(RowAction::Unchanged) => summary.unchanged += 1,
                None => summary.invalid += 1,
            }
        }
        summary
    }
}

/// What the rows came to: each row's outcome, and the values created and changed.
struct Imported {
    outcomes: Vec<RowOutcome>,
    created: Vec<String>,
    updated: Vec<String>,
}

async fn import_rows(
    txn: &sea_orm::DatabaseTransaction,
    caller: &Caller<'_>,
    plan: &plan::Model,
    facts: &PlanFacts,
    rows: &[SheetRow],
) -> AppResult<Imported> {
    let mut imported = Imported {
        outcomes: Vec::with_capacity(rows.len()),
        created: Vec::new(),
        updated: Vec::new(),
    };
    let mut seen: HashMap<(i64, String), u32> = HashMap::new();
    for row in rows {
        let (outcome, saved) = import_row(txn, caller, plan, facts, row, &mut seen).await?;
        if let Some((action, id)) = saved {
            let global = NodeId::new(NodeKind::IndicatorValue, id).encode();
            match action {
                RowAction::Create => imported.created.push(global),
                RowAction::Update => imported.updated.push(global),
                RowAction::Unchanged => {}
            }
        }
        imported.outcomes.push(outcome);
    }
    Ok(imported)
}

/// Checks one row and, when it is valid and changes something, saves it under a
/// savepoint, so that a refusal leaves the rest of the transaction as it was. Returns
/// the row's outcome and, for a valid row, the value it created, changed or left alone.
async fn import_row(
    txn: &sea_orm::DatabaseTransaction,
    caller: &Caller<'_>,
    plan: &plan::Model,
    facts: &PlanFacts,
    row: &SheetRow,
    seen: &mut HashMap<(i64, String), u32>,
) -> AppResult<(RowOutcome, Option<(RowAction, i64)>)> {
    let mut errors = RowErrors {
        row: row.number,
        errors: Vec::new(),
    };
    let reading = read_row(row, plan, facts, &mut errors);
    let mut outcome = RowOutcome {
        row: row.number,
        indicator_id: reading
            .indicator
            .map(|indicator| NodeId::new(NodeKind::Indicator, indicator.id).encode()),
        task_code: row.get(columns::TASK_CODE).and_then(CellValue::as_text),
        indicator_name: reading.indicator.map(|indicator| indicator.name.clone()),
        period: reading.period.clone(),
        action: None,
        errors: Vec::new(),
    };
    let (Some(indicator), Some(period)) = (reading.indicator, reading.period.clone()) else {
        outcome.errors = errors.errors;
        return Ok((outcome, None));
    };
    check_row(
        txn,
        plan,
        row,
        indicator,
        &period,
        &reading,
        seen,
        &mut errors,
    )
    .await?;
    let input = IndicatorValueInput {
        indicator_id: indicator.id,
        period: period.clone(),
        value: reading.value,
        achieved: reading.achieved,
        text: reading.text,
        source: reading.source,
        note: reading.note,
    };
    let existing = facts.values.get(&(indicator.id, period.clone()));
    let action = row_action(existing, &input, &period, &mut errors);
    if !errors.errors.is_empty() {
        outcome.errors = errors.errors;
        return Ok((outcome, None));
    }
    let Some(action) = action else {
        return Ok((outcome, None));
    };
    if action == RowAction::Unchanged {
        outcome.action = Some(action);
        return Ok((outcome, existing.map(|current| (action, current.id))));
    }
    save_row(txn, caller, existing, input, outcome, errors, action).await
}

/// What a row says, each cell parsed (or its error noted).
struct RowReading<'a> {
    indicator: Option<&'a indicator::Model>,
    period: Option<String>,
    value: Option<f64>,
    achieved: Option<bool>,
    text: Option<String>,
    source: Option<String>,
    note: Option<String>,
}

fn read_row<'a>(
    row: &SheetRow,
    plan: &plan::Model,
    facts: &'a PlanFacts,
    errors: &mut RowErrors,
) -> RowReading<'a> {
    let matched = match_indicator(row, facts, errors);
    if let Some((indicator, column)) = matched
        && !facts.responsible.contains(&indicator.id)
    {
        errors.add(
            Some(column),
            "your department is not responsible for this indicator",
        );
    }
    let period = match row.get(columns::PERIOD) {
        None => {
            errors.add(
                Some(columns::PERIOD),
                "the period is required, e.g. 2022-Q2",
            );
            None
        }
        Some(CellValue::Text(raw)) => match Period::parse_for(raw, plan) {
            Ok(period) => Some(period.to_string()),
            Err(error) => {
                errors.add(Some(columns::PERIOD), error.message());
                None
            }
        },
        Some(_) => {
            errors.add(
                Some(columns::PERIOD),
                "write the period as text, e.g. 2022-Q2",
            );
            None
        }
    };
    RowReading {
        indicator: matched.map(|(indicator, _)| indicator),
        period,
        value: parse_number(row.get(columns::VALUE), errors),
        achieved: parse_achieved(row.get(columns::ACHIEVED), errors),
        text: parse_text(columns::TEXT, row.get(columns::TEXT), errors),
        source: parse_text(columns::SOURCE, row.get(columns::SOURCE), errors),
        note: parse_text(columns::NOTE, row.get(columns::NOTE), errors),
    }
}

/// The checks a row's value must pass beyond its cells: the indicator's kind of target
/// and range, one row per indicator and period, an open period.
#[allow(clippy::too_many_arguments)]
async fn check_row(
    txn: &sea_orm::DatabaseTransaction,
    plan: &plan::Model,
    row: &SheetRow,
    indicator: &indicator::Model,
    period: &str,
    reading: &RowReading<'_>,
    seen: &mut HashMap<(i64, String), u32>,
    errors: &mut RowErrors,
) -> AppResult<()> {
    let kind = TargetKind::parse(&indicator.target_kind).unwrap_or(TargetKind::Qualitative);
    if kind == TargetKind::Qualitative
        && reading.achieved.is_none()
        && row.get(columns::ACHIEVED).is_none()
    {
        errors.add(
            Some(columns::ACHIEVED),
            "this indicator's target is stated in words: write 是 or 否",
        );
    }
    if let Some(Err(refused)) = reading
        .value
        .map(|value| crate::service::indicator::check_value_in_range(indicator, value))
    {
        errors.add(Some(columns::VALUE), refused.message());
    }
    if kind != TargetKind::Qualitative
        && reading.value.is_none()
        && row.get(columns::VALUE).is_none()
    {
        errors.add(Some(columns::VALUE), "this indicator needs a number");
    }
    if let Some(earlier) = seen.insert((indicator.id, period.to_owned()), row.number) {
        errors.add(
            Some(columns::PERIOD),
            format!("row {earlier} already gives this indicator's value for {period}"),
        );
    }
    if period::is_closed(txn, plan.id, period).await? {
        errors.add(
            Some(columns::PERIOD),
            format!("the period {period} is closed: nothing in it can change until the leadership group reopens it"),
        );
    }
    Ok(())
}

/// Whether the row creates a value, changes the period's value (whichever of the
/// departments that answer for the indicator drafted it) or leaves it as it is; `None`
/// when the value is locked.
fn row_action(
    existing: Option<&indicator_value::Model>,
    input: &IndicatorValueInput,
    period: &str,
    errors: &mut RowErrors,
) -> Option<RowAction> {
    match existing {
        Some(current) if same_content(current, input) => Some(RowAction::Unchanged),
        Some(current) if !ReviewStatus::parse(&current.review_status).is_editable() => {
            errors.add(
                Some(columns::PERIOD),
                format!(
                    "the value for {period} is {} and locked: only a draft or a rejected value can be changed",
                    current.review_status
                ),
            );
            None
        }
        Some(_) => Some(RowAction::Update),
        None => Some(RowAction::Create),
    }
}

/// Saves a valid row under a savepoint: a refusal from the save becomes the row's error
/// and leaves the rest of the import as it was.
async fn save_row(
    txn: &sea_orm::DatabaseTransaction,
    caller: &Caller<'_>,
    existing: Option<&indicator_value::Model>,
    input: IndicatorValueInput,
    mut outcome: RowOutcome,
    mut errors: RowErrors,
    action: RowAction,
) -> AppResult<(RowOutcome, Option<(RowAction, i64)>)> {
    let savepoint = txn.begin().await?;
    let (id, version) = match existing {
        Some(current) => (Some(current.id), Some(current.version)),
        None => (None, None),
    };
    match report::save_indicator_value_in(&savepoint, caller, id, version, input).await {
        Ok(saved) => {
            savepoint.commit().await?;
            outcome.action = Some(action);
            Ok((outcome, Some((action, saved.id))))
        }
        Err(AppError::Unexpected(cause)) => Err(AppError::Unexpected(cause)),
        Err(refused) => {
            savepoint.rollback().await?;
            errors.add(None, refused.message());
            outcome.errors = errors.errors;
            Ok((outcome, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors() -> RowErrors {
        RowErrors {
            row: 2,
            errors: Vec::new(),
        }
    }

    #[test]
    fn numbers_may_be_typed_as_text_with_separators() {
        let mut found = errors();
        let typed = CellValue::Text("1,234.5".into());
        assert_eq!(parse_number(Some(&typed), &mut found), Some(1234.5));
        assert_eq!(
            parse_number(Some(&CellValue::Number(85.0)), &mut found),
            Some(85.0)
        );
        assert!(found.errors.is_empty());
        let words = CellValue::Text("八十五".into());
        assert_eq!(parse_number(Some(&words), &mut found), None);
        assert_eq!(found.errors.len(), 1);
        assert_eq!(found.errors[0].column.as_deref(), Some(columns::VALUE));
    }

    #[test]
    fn achieved_is_yes_or_no_in_either_script_or_a_boolean_cell() {
        let mut found = errors();
        for (cell, expected) in [
            (CellValue::Text("是".into()), true),
            (CellValue::Text("未達成".into()), false),
            (CellValue::Text("已达成".into()), true),
            (CellValue::Bool(false), false),
            (CellValue::Number(1.0), true),
        ] {
            assert_eq!(parse_achieved(Some(&cell), &mut found), Some(expected));
        }
        assert!(found.errors.is_empty());
        assert_eq!(
            parse_achieved(Some(&CellValue::Text("maybe".into())), &mut found),
            None
        );
        assert_eq!(found.errors[0].column.as_deref(), Some(columns::ACHIEVED));
    }
}
