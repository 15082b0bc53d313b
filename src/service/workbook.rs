//! The work ledger as the plan office shows it on a screen and takes it to its meetings
//! on paper: a summary sheet with native charts first, then the ledger and the indicator
//! sheet. Every sheet prints landscape, fitted to one page width, with its header row on
//! every page, a title block, and page numbers; every enum is written in words.
//!
//! Row heights are set here rather than left to the spreadsheet: Excel does not grow a
//! row for wrapped text it did not lay out itself, and LibreOffice and WPS each measure a
//! little differently, so an explicit height is the one way the printed pages agree.

use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormatCell, ConditionalFormatCellRule, Format, FormatAlign,
    FormatBorder, Workbook, Worksheet, XlsxError,
};

use crate::error::{AppError, AppResult};
use crate::service::ledger::{
    DepartmentSummary, INDICATOR_HEADERS, INDICATOR_SHEET, IndicatorRow, LEDGER_HEADERS,
    LEDGER_SHEET, LatestReport, Ledger, Paper, SUMMARY_SHEET, SectionSummary, Summary, TaskRow,
    direction_label, indicator_status_label, lateness_label, progress_label, review_label,
    target_kind_label, task_status_label,
};
use crate::service::status::{IndicatorStatus, TaskStatus};
use crate::service::submission::ReviewStatus;

/// The title block takes the first two rows of every sheet; the table's header follows.
const TITLE_ROW: u32 = 0;
const CAPTION_ROW: u32 = 1;
/// The header row of the ledger and indicator sheets (0-based: the third row).
pub const HEADER_ROW: u32 = 2;

/// Column widths of the ledger sheet, in characters of the default Latin font (a Chinese
/// character takes about two). Each is wide enough for its header on one line, so a
/// printed page reads its headers at a glance.
const LEDGER_WIDTHS: [f64; LEDGER_HEADERS.len()] = [
    9.0, 14.0, 9.0, 22.0, 18.0, 11.0, 9.0, 13.0, 9.0, 6.0, 13.0, 13.0, 34.0, 11.0, 9.0,
];
const INDICATOR_WIDTHS: [f64; INDICATOR_HEADERS.len()] = [
    9.0, 26.0, 7.0, 20.0, 9.0, 9.0, 8.0, 11.0, 11.0, 9.0, 9.0, 8.0, 9.0, 20.0, 14.0, 12.0, 18.0,
];
/// The first of the indicator sheet's input columns (填報期間 … 備註), which a department
/// fills in; the column after them holds the id the import matches rows by.
const FIRST_INPUT_COLUMN: u16 = 10;
const LAST_INPUT_COLUMN: u16 = 15;

const FONT_SIZE: f64 = 10.0;
/// Points per line of 10-point text, with room for the taller CJK fonts.
const LINE_HEIGHT: f64 = 14.5;
/// Pixels per unit of column width, and the glyph widths of 10-point text, in pixels.
const PIXELS_PER_WIDTH: f64 = 7.0;
const WIDE_GLYPH: f64 = 13.5;
const NARROW_GLYPH: f64 = 7.0;

const RED_TEXT: u32 = 0x9C0006;
const RED_FILL: u32 = 0xFFC7CE;
const AMBER_TEXT: u32 = 0x9C5700;
const AMBER_FILL: u32 = 0xFFEB9C;
const GREEN_TEXT: u32 = 0x006100;
const GREEN_FILL: u32 = 0xC6EFCE;
const HEADER_FILL: u32 = 0xD9E1F2;
const INPUT_FILL: u32 = 0xFFF9E5;

fn sheet_error(error: XlsxError) -> AppError {
    AppError::Unexpected(anyhow::Error::new(error).context("cannot write the spreadsheet"))
}

/// Writes the workbook: 概覽, 工作台賬, 指標.
pub fn write_ledger(ledger: &Ledger, paper: Paper) -> AppResult<Vec<u8>> {
    write_workbook(ledger, paper).map_err(sheet_error)
}

/// How many lines `text` takes in a column `width` wide, wrapping as a spreadsheet does:
/// at any Chinese character, and at the column's edge.
fn text_lines(text: &str, width: f64) -> u32 {
    let usable = (width * PIXELS_PER_WIDTH - 2.0).max(WIDE_GLYPH);
    text.split('\n')
        .map(|line| {
            let mut lines = 1;
            let mut filled = 0.0;
            for glyph in line.chars() {
                let advance = if glyph.is_ascii() {
                    NARROW_GLYPH
                } else {
                    WIDE_GLYPH
                };
                if filled + advance > usable {
                    lines += 1;
                    filled = 0.0;
                }
                filled += advance;
            }
            lines
        })
        .sum()
}

fn row_height(lines: u32) -> f64 {
    f64::from(lines.max(1)) * LINE_HEIGHT + 2.0
}

/// The formats every sheet shares.
struct Styles {
    title: Format,
    caption: Format,
    heading: Format,
    header: Format,
    text: Format,
    number: Format,
    date: Format,
    red: Format,
    amber: Format,
    green: Format,
}

impl Styles {
    fn new() -> Self {
        let base = Format::new()
            .set_font_size(FONT_SIZE)
            .set_align(FormatAlign::Top)
            .set_border(FormatBorder::Thin);
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            caption: Format::new()
                .set_font_size(FONT_SIZE)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            heading: Format::new().set_bold().set_font_size(11),
            header: Format::new()
                .set_bold()
                .set_font_size(FONT_SIZE)
                .set_background_color(HEADER_FILL)
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            text: base.clone().set_text_wrap(),
            number: base.clone().set_align(FormatAlign::Center),
            date: base
                .set_num_format("yyyy-mm-dd")
                .set_align(FormatAlign::Center),
            red: Format::new()
                .set_font_color(RED_TEXT)
                .set_background_color(RED_FILL),
            amber: Format::new()
                .set_font_color(AMBER_TEXT)
                .set_background_color(AMBER_FILL),
            green: Format::new()
                .set_font_color(GREEN_TEXT)
                .set_background_color(GREEN_FILL),
        }
    }
}

/// A cell of a group written once (a section, a task): its borders close the group at
/// its first and last row only, so the group reads as one block on paper.
fn grouped(format: &Format, first: bool, last: bool) -> Format {
    let edge = |closed: bool| {
        if closed {
            FormatBorder::Thin
        } else {
            FormatBorder::None
        }
    };
    format
        .clone()
        .set_border_top(edge(first))
        .set_border_bottom(edge(last))
}

/// Page-header and page-footer text is a code language in which `&` starts a code.
fn header_text(text: &str) -> String {
    text.replace('&', "&&")
}

/// Landscape on the paper asked for, all columns on one page width, the rows
/// `repeated` on every page, the plan in the page header and `第 N 頁 共 M 頁` below.
fn set_up_pages(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    paper: Paper,
    sheet_title: &str,
    repeated: (u32, u32),
) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_paper_size(match paper {
        Paper::A4 => 9,
        Paper::A3 => 8,
    });
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_center_horizontally(true);
    sheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    sheet.set_repeat_rows(repeated.0, repeated.1)?;
    sheet.set_header(format!(
        "&L{}&R{}　{}",
        header_text(&ledger.plan.title),
        header_text(sheet_title),
        header_text(&ledger.summary.period)
    ));
    sheet.set_footer("&C第 &P 頁 共 &N 頁");
    Ok(())
}

/// The title block: the plan and the sheet, then the period, who exported it and when.
fn write_title_block(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    styles: &Styles,
    sheet_title: &str,
    last_column: u16,
) -> Result<(), XlsxError> {
    sheet.merge_range(
        TITLE_ROW,
        0,
        TITLE_ROW,
        last_column,
        &format!("{}　{sheet_title}", ledger.plan.title),
        &styles.title,
    )?;
    sheet.set_row_height(TITLE_ROW, 28)?;
    sheet.merge_range(
        CAPTION_ROW,
        0,
        CAPTION_ROW,
        last_column,
        &format!(
            "統計期間：{}　　導出：{}　　導出時間：{}",
            ledger.summary.period,
            ledger.exported_by,
            ledger.generated_at.format("%Y-%m-%d %H:%M")
        ),
        &styles.caption,
    )?;
    sheet.set_row_height(CAPTION_ROW, 20)?;
    Ok(())
}

fn write_header_row(
    sheet: &mut Worksheet,
    row: u32,
    headers: &[&str],
    widths: &[f64],
    styles: &Styles,
) -> Result<(), XlsxError> {
    for (column, (name, width)) in (0u16..).zip(headers.iter().zip(widths)) {
        sheet.write_string_with_format(row, column, *name, &styles.header)?;
        sheet.set_column_width(column, *width)?;
    }
    sheet.set_row_height(row, row_height(1) + 2.0)?;
    Ok(())
}

/// Colours the cells of `column` (rows `first..=last`) that equal `word`.
fn highlight_word(
    sheet: &mut Worksheet,
    rows: (u32, u32),
    column: u16,
    word: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    let rule = ConditionalFormatCell::new()
        .set_rule(ConditionalFormatCellRule::EqualTo(word))
        .set_format(format);
    sheet.add_conditional_format(rows.0, column, rows.1, column, &rule)?;
    Ok(())
}

/// Colours the counts of `column` (rows `first..=last`) above zero.
fn highlight_positive(
    sheet: &mut Worksheet,
    rows: (u32, u32),
    column: u16,
    format: &Format,
) -> Result<(), XlsxError> {
    let rule = ConditionalFormatCell::new()
        .set_rule(ConditionalFormatCellRule::GreaterThan(0))
        .set_format(format);
    sheet.add_conditional_format(rows.0, column, rows.1, column, &rule)?;
    Ok(())
}

fn write_workbook(ledger: &Ledger, paper: Paper) -> Result<Vec<u8>, XlsxError> {
    let styles = Styles::new();
    let mut workbook = Workbook::new();
    write_summary_sheet(workbook.add_worksheet(), ledger, paper, &styles)?;
    write_ledger_sheet(workbook.add_worksheet(), ledger, paper, &styles)?;
    write_indicator_sheet(workbook.add_worksheet(), ledger, paper, &styles)?;
    workbook.save_to_buffer()
}

/// `一、` for section 1: how the plan numbers its sections.
fn section_label(number: i32, title: &str) -> String {
    const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    let numeral = usize::try_from(number)
        .ok()
        .and_then(|number| number.checked_sub(1))
        .and_then(|index| NUMERALS.get(index))
        .map(|numeral| (*numeral).to_owned())
        .unwrap_or_else(|| number.to_string());
    format!("{numeral}、{title}")
}

const SECTION_COUNTS: [&str; 5] = ["未開始", "進行中", "已完成", "逾期", "合計"];
const DEPARTMENT_COUNTS: [&str; 5] = ["牽頭任務", "本期已報送", "遲報", "逾期", "待審核"];
const INDICATOR_STATUSES: [IndicatorStatus; 4] = [
    IndicatorStatus::Met,
    IndicatorStatus::NotMet,
    IndicatorStatus::NoData,
    IndicatorStatus::TargetNotSet,
];
/// Where the charts stand: to the right of the tables, past a narrow gap.
const CHART_COLUMN: u16 = 7;

fn write_counts(
    sheet: &mut Worksheet,
    row: u32,
    label: &str,
    counts: &[u64],
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(row, 0, label, &styles.text)?;
    for (column, count) in (1u16..).zip(counts) {
        // Counts are far below 2^53, so they are exact as Excel's doubles.
        sheet.write_number_with_format(row, column, *count as f64, &styles.number)?;
    }
    Ok(())
}

/// 概覽: tasks by status per section, indicators by status, and each department's
/// reporting in the period, with a chart beside the section and department tables.
fn write_summary_sheet(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    paper: Paper,
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(SUMMARY_SHEET)?;
    write_title_block(sheet, ledger, styles, SUMMARY_SHEET, CHART_COLUMN + 9)?;
    set_summary_column_widths(sheet)?;
    let sections_end = write_section_table(sheet, ledger, styles)?;
    let indicators_end = write_indicator_counts(sheet, &ledger.summary, styles, sections_end + 2)?;
    write_department_table(sheet, &ledger.summary, styles, indicators_end + 2)?;
    set_up_pages(
        sheet,
        ledger,
        paper,
        SUMMARY_SHEET,
        (TITLE_ROW, CAPTION_ROW),
    )?;
    Ok(())
}

/// A wide first column for the names, narrow ones for the counts, and a gap before the
/// charts.
fn set_summary_column_widths(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_column_width(0, 42.0)?;
    for column in 1..=5 {
        sheet.set_column_width(column, 10.0)?;
    }
    sheet.set_column_width(6, 2.0)?;
    Ok(())
}

/// The header of a summary table: what its rows name, then what each column counts.
fn write_table_header(
    sheet: &mut Worksheet,
    row: u32,
    rows_name: &str,
    counts: &[&str],
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(row, 0, rows_name, &styles.header)?;
    for (column, name) in (1u16..).zip(counts) {
        sheet.write_string_with_format(row, column, *name, &styles.header)?;
    }
    Ok(())
}

/// Tasks by status per section and in all, with a stacked bar chart beside them.
/// Returns the row of the totals, the table's last.
fn write_section_table(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    styles: &Styles,
) -> Result<u32, XlsxError> {
    let summary = &ledger.summary;
    let heading = CAPTION_ROW + 2;
    sheet.write_string_with_format(
        heading,
        0,
        format!(
            "各章節任務狀態（截至 {}）",
            ledger.generated_on.format("%Y-%m-%d")
        ),
        &styles.heading,
    )?;
    let header = heading + 1;
    write_table_header(sheet, header, "章節", &SECTION_COUNTS, styles)?;
    let mut row = header;
    let mut totals = [0u64; 5];
    for section in &summary.sections {
        row += 1;
        let counts = section_counts(section);
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
        write_counts(
            sheet,
            row,
            &section_label(section.number, &section.title),
            &counts,
            styles,
        )?;
    }
    let sections = (header + 1, row);
    row += 1;
    write_counts(sheet, row, "合計", &totals, styles)?;
    if !summary.sections.is_empty() {
        highlight_positive(sheet, (sections.0, row), 4, &styles.red)?;
        highlight_positive(sheet, (sections.0, row), 3, &styles.green)?;
        sheet.insert_chart(heading, CHART_COLUMN, &section_chart(sections))?;
    }
    Ok(row)
}

/// A section's counts in the order of `SECTION_COUNTS`.
fn section_counts(section: &SectionSummary) -> [u64; 5] {
    [
        section.not_started,
        section.in_progress,
        section.completed,
        section.overdue,
        section.not_started + section.in_progress + section.completed + section.overdue,
    ]
}

/// Each section's tasks by status (not the total), from the rows `sections` of the table.
fn section_chart(sections: (u32, u32)) -> Chart {
    let mut chart = Chart::new(ChartType::BarStacked);
    for (column, name) in (1u16..).zip(&SECTION_COUNTS[..4]) {
        chart
            .add_series()
            .set_name(*name)
            .set_categories((SUMMARY_SHEET, sections.0, 0, sections.1, 0))
            .set_values((SUMMARY_SHEET, sections.0, column, sections.1, column));
    }
    chart.title().set_name("各章節任務狀態");
    // Sections read top to bottom, as in the table (a bar chart's categories are on
    // its y axis).
    chart.y_axis().set_reverse();
    chart.set_width(620).set_height(300);
    chart
}

/// Indicators by status, from the row `heading` on. Returns the table's last row.
fn write_indicator_counts(
    sheet: &mut Worksheet,
    summary: &Summary,
    styles: &Styles,
    heading: u32,
) -> Result<u32, XlsxError> {
    sheet.write_string_with_format(heading, 0, "指標達標情況", &styles.heading)?;
    let header = heading + 1;
    write_table_header(sheet, header, "狀態", &["指標數"], styles)?;
    let mut row = header;
    for status in INDICATOR_STATUSES {
        row += 1;
        let count = summary
            .indicators
            .iter()
            .find(|(counted, _)| *counted == status)
            .map(|(_, count)| *count)
            .unwrap_or(0);
        write_counts(sheet, row, indicator_status_label(status), &[count], styles)?;
        match status {
            IndicatorStatus::Met => highlight_positive(sheet, (row, row), 1, &styles.green)?,
            IndicatorStatus::NotMet => highlight_positive(sheet, (row, row), 1, &styles.red)?,
            _ => {}
        };
    }
    Ok(row)
}

/// Each department's reporting in the period, from the row `heading` on, with a bar
/// chart beside it.
fn write_department_table(
    sheet: &mut Worksheet,
    summary: &Summary,
    styles: &Styles,
    heading: u32,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(
        heading,
        0,
        format!("各單位報送情況（{}）", summary.period),
        &styles.heading,
    )?;
    let header = heading + 1;
    write_table_header(sheet, header, "單位", &DEPARTMENT_COUNTS, styles)?;
    let mut row = header;
    for department in &summary.departments {
        row += 1;
        write_counts(
            sheet,
            row,
            &department.name,
            &department_counts(department),
            styles,
        )?;
    }
    if !summary.departments.is_empty() {
        let rows = (header + 1, row);
        highlight_positive(sheet, rows, 3, &styles.red)?;
        highlight_positive(sheet, rows, 4, &styles.red)?;
        highlight_positive(sheet, rows, 5, &styles.amber)?;
        sheet.insert_chart(heading, CHART_COLUMN, &department_chart(summary, rows))?;
    }
    Ok(())
}

/// A department's counts in the order of `DEPARTMENT_COUNTS`.
fn department_counts(department: &DepartmentSummary) -> [u64; 5] {
    [
        department.led,
        department.reported,
        department.late,
        department.overdue,
        department.awaiting_review,
    ]
}

/// Each department's reports, lateness, overdue tasks and waiting reviews (not the tasks
/// it leads), from the rows `rows` of the table, its header right above them. The chart
/// grows with the number of departments, so that every bar stays readable.
fn department_chart(summary: &Summary, rows: (u32, u32)) -> Chart {
    let mut chart = Chart::new(ChartType::Bar);
    for column in 2u16..=5 {
        chart
            .add_series()
            .set_name((SUMMARY_SHEET, rows.0 - 1, column))
            .set_categories((SUMMARY_SHEET, rows.0, 0, rows.1, 0))
            .set_values((SUMMARY_SHEET, rows.0, column, rows.1, column));
    }
    chart
        .title()
        .set_name(&format!("各單位報送情況（{}）", summary.period));
    chart.y_axis().set_reverse();
    let departments = u32::try_from(summary.departments.len()).unwrap_or(u32::MAX);
    chart
        .set_width(620)
        .set_height(departments.saturating_mul(34).saturating_add(120));
    chart
}

/// 工作台賬: one row per task and lead department. A section, and a task with several
/// lead departments, are written once, on the first of their rows.
fn write_ledger_sheet(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    paper: Paper,
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(LEDGER_SHEET)?;
    let last_column = u16::try_from(LEDGER_HEADERS.len() - 1).unwrap_or(u16::MAX);
    write_title_block(sheet, ledger, styles, LEDGER_SHEET, last_column)?;
    write_header_row(sheet, HEADER_ROW, &LEDGER_HEADERS, &LEDGER_WIDTHS, styles)?;
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    for (index, task) in ledger.tasks.iter().enumerate() {
        let row = HEADER_ROW + 1 + u32::try_from(index).unwrap_or(u32::MAX - HEADER_ROW - 1);
        let groups = RowGroups::of(&ledger.tasks, index);
        write_ledger_row(sheet, styles, row, task, groups)?;
    }
    if !ledger.tasks.is_empty() {
        let rows = (
            HEADER_ROW + 1,
            HEADER_ROW + u32::try_from(ledger.tasks.len()).unwrap_or(u32::MAX - HEADER_ROW),
        );
        highlight_ledger_sheet(sheet, rows, styles)?;
    }
    set_up_pages(sheet, ledger, paper, LEDGER_SHEET, (HEADER_ROW, HEADER_ROW))?;
    Ok(())
}

fn ledger_width(column: usize) -> f64 {
    LEDGER_WIDTHS.get(column).copied().unwrap_or(10.0)
}

/// Whether a row opens and whether it closes the block of rows of its group.
#[derive(Clone, Copy)]
struct Group {
    starts: bool,
    ends: bool,
}

impl Group {
    /// The cell format of the group's column: see [`grouped`].
    fn format(self, format: &Format) -> Format {
        grouped(format, self.starts, self.ends)
    }
}

/// Where a ledger row stands in its section and in its task.
#[derive(Clone, Copy)]
struct RowGroups {
    section: Group,
    task: Group,
}

impl RowGroups {
    fn of(tasks: &[TaskRow], index: usize) -> Self {
        let same_section = |a: &TaskRow, b: &TaskRow| a.section_number == b.section_number;
        let same_task = |a: &TaskRow, b: &TaskRow| same_section(a, b) && a.task_code == b.task_code;
        let task = &tasks[index];
        let previous = index.checked_sub(1).and_then(|i| tasks.get(i));
        let next = tasks.get(index + 1);
        RowGroups {
            section: Group {
                starts: previous.is_none_or(|p| !same_section(p, task)),
                ends: next.is_none_or(|n| !same_section(n, task)),
            },
            task: Group {
                starts: previous.is_none_or(|p| !same_task(p, task)),
                ends: next.is_none_or(|n| !same_task(n, task)),
            },
        }
    }
}

/// One task and lead department, as tall as its longest text.
fn write_ledger_row(
    sheet: &mut Worksheet,
    styles: &Styles,
    row: u32,
    task: &TaskRow,
    groups: RowGroups,
) -> Result<(), XlsxError> {
    let mut lines = text_lines(&task.department, ledger_width(4));
    lines = lines.max(write_section_cells(
        sheet,
        styles,
        row,
        task,
        groups.section,
    )?);
    lines = lines.max(write_task_cells(sheet, styles, row, task, groups.task)?);
    sheet.write_string_with_format(row, 4, &task.department, &styles.text)?;
    lines = lines.max(write_latest_report_cells(
        sheet,
        styles,
        row,
        task.latest.as_ref(),
    )?);
    sheet.write_number_with_format(row, 13, task.evidence_count as f64, &styles.number)?;
    sheet.write_number_with_format(row, 14, task.awaiting_review as f64, &styles.number)?;
    sheet.set_row_height(row, row_height(lines))?;
    Ok(())
}

/// The section's number and title on its first row, blank cells that keep its block's
/// borders below. Returns the lines the cells take.
fn write_section_cells(
    sheet: &mut Worksheet,
    styles: &Styles,
    row: u32,
    task: &TaskRow,
    section: Group,
) -> Result<u32, XlsxError> {
    let text = section.format(&styles.text);
    let number = section.format(&styles.number);
    if section.starts {
        sheet.write_number_with_format(row, 0, task.section_number, &number)?;
        sheet.write_string_with_format(row, 1, &task.section_title, &text)?;
        Ok(text_lines(&task.section_title, ledger_width(1)))
    } else {
        sheet.write_blank(row, 0, &number)?;
        sheet.write_blank(row, 1, &text)?;
        Ok(1)
    }
}

/// The task's code, title, deadline and status on its first row, blank cells that keep
/// its block's borders below. Returns the lines the cells take.
fn write_task_cells(
    sheet: &mut Worksheet,
    styles: &Styles,
    row: u32,
    task: &TaskRow,
    group: Group,
) -> Result<u32, XlsxError> {
    let text = group.format(&styles.text);
    let number = group.format(&styles.number);
    let date = group.format(&styles.date);
    if group.starts {
        sheet.write_string_with_format(row, 2, &task.task_code, &number)?;
        sheet.write_string_with_format(row, 3, &task.task_title, &text)?;
        sheet.write_date_with_format(row, 5, task.due_on, &date)?;
        sheet.write_string_with_format(row, 6, task_status_label(task.task_status), &number)?;
        Ok(text_lines(&task.task_title, ledger_width(3)))
    } else {
        for column in [2, 6] {
            sheet.write_blank(row, column, &number)?;
        }
        sheet.write_blank(row, 3, &text)?;
        sheet.write_blank(row, 5, &date)?;
        Ok(1)
    }
}

/// The department's latest report, or blank cells when it has none. Returns the lines
/// the cells take.
fn write_latest_report_cells(
    sheet: &mut Worksheet,
    styles: &Styles,
    row: u32,
    latest: Option<&LatestReport>,
) -> Result<u32, XlsxError> {
    let Some(latest) = latest else {
        for column in 7..=12 {
            sheet.write_blank(row, column, &styles.text)?;
        }
        return Ok(1);
    };
    sheet.write_string_with_format(row, 7, progress_label(latest.status), &styles.number)?;
    sheet.write_string_with_format(row, 8, review_label(latest.review_status), &styles.number)?;
    write_text_or_blank(
        sheet,
        row,
        9,
        latest.late.map(lateness_label),
        &styles.number,
    )?;
    sheet.write_string_with_format(row, 10, &latest.period, &styles.number)?;
    sheet.write_date_with_format(row, 11, latest.reported_on, &styles.date)?;
    sheet.write_string_with_format(row, 12, &latest.work_done, &styles.text)?;
    Ok(text_lines(&latest.work_done, ledger_width(12)))
}

/// Overdue tasks, reports awaiting review, late reports and rows with anything awaiting
/// review stand out; completed tasks show green.
fn highlight_ledger_sheet(
    sheet: &mut Worksheet,
    rows: (u32, u32),
    styles: &Styles,
) -> Result<(), XlsxError> {
    highlight_word(
        sheet,
        rows,
        6,
        task_status_label(TaskStatus::Overdue),
        &styles.red,
    )?;
    highlight_word(
        sheet,
        rows,
        6,
        task_status_label(TaskStatus::Completed),
        &styles.green,
    )?;
    highlight_word(
        sheet,
        rows,
        8,
        review_label(ReviewStatus::Submitted),
        &styles.amber,
    )?;
    highlight_word(sheet, rows, 9, lateness_label(true), &styles.red)?;
    highlight_positive(sheet, rows, 14, &styles.amber)?;
    Ok(())
}

/// Writes `text`, or a blank cell in the same format when there is none.
fn write_text_or_blank(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    text: Option<&str>,
    format: &Format,
) -> Result<(), XlsxError> {
    match text {
        Some(text) => sheet.write_string_with_format(row, column, text, format)?,
        None => sheet.write_blank(row, column, format)?,
    };
    Ok(())
}

/// Writes `number`, or a blank cell in the same format when there is none.
fn write_number_or_blank(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    number: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    match number {
        Some(number) => sheet.write_number_with_format(row, column, number, format)?,
        None => sheet.write_blank(row, column, format)?,
    };
    Ok(())
}

/// 指標: one row per indicator with its latest approved value, and the input columns a
/// department fills in and imports back.
fn write_indicator_sheet(
    sheet: &mut Worksheet,
    ledger: &Ledger,
    paper: Paper,
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(INDICATOR_SHEET)?;
    let last_column = u16::try_from(INDICATOR_HEADERS.len() - 1).unwrap_or(u16::MAX);
    write_title_block(sheet, ledger, styles, INDICATOR_SHEET, last_column)?;
    write_header_row(
        sheet,
        HEADER_ROW,
        &INDICATOR_HEADERS,
        &INDICATOR_WIDTHS,
        styles,
    )?;
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    let formats = FormFormats::new(styles);
    for (row, indicator) in (HEADER_ROW + 1..).zip(&ledger.indicators) {
        write_indicator_row(sheet, styles, &formats, row, indicator)?;
    }
    if !ledger.indicators.is_empty() {
        let rows = (
            HEADER_ROW + 1,
            HEADER_ROW + u32::try_from(ledger.indicators.len()).unwrap_or(u32::MAX - HEADER_ROW),
        );
        highlight_indicator_statuses(sheet, rows, styles)?;
    }
    set_up_pages(
        sheet,
        ledger,
        paper,
        INDICATOR_SHEET,
        (HEADER_ROW, HEADER_ROW),
    )?;
    Ok(())
}

fn indicator_width(column: usize) -> f64 {
    INDICATOR_WIDTHS.get(column).copied().unwrap_or(10.0)
}

/// The formats of the form part of the indicator sheet: the columns a department fills
/// in stand out, and the id the import matches rows by is greyed.
struct FormFormats {
    input: Format,
    period_input: Format,
    id: Format,
}

impl FormFormats {
    fn new(styles: &Styles) -> Self {
        let input = styles.text.clone().set_background_color(INPUT_FILL);
        FormFormats {
            // The period is typed as text, or Excel would turn `2022-05` into a date.
            period_input: input.clone().set_num_format("@"),
            input,
            id: styles.number.clone().set_font_color(0x808080),
        }
    }
}

/// One indicator, its empty input cells and its id, as tall as its longest text.
fn write_indicator_row(
    sheet: &mut Worksheet,
    styles: &Styles,
    formats: &FormFormats,
    row: u32,
    indicator: &IndicatorRow,
) -> Result<(), XlsxError> {
    let number = &styles.number;
    sheet.write_string_with_format(row, 0, &indicator.task_code, number)?;
    sheet.write_string_with_format(row, 1, &indicator.name, &styles.text)?;
    write_text_or_blank(sheet, row, 2, indicator.unit.as_deref(), number)?;
    sheet.write_string_with_format(row, 3, &indicator.target_text, &styles.text)?;
    let kind = indicator.target_kind.map(target_kind_label);
    write_text_or_blank(sheet, row, 4, kind, number)?;
    let direction = indicator.direction.map(direction_label);
    write_text_or_blank(sheet, row, 5, direction, number)?;
    write_number_or_blank(sheet, row, 6, indicator.target_value, number)?;
    write_number_or_blank(sheet, row, 7, indicator.latest_value, number)?;
    write_text_or_blank(sheet, row, 8, indicator.latest_period.as_deref(), number)?;
    let status = indicator_status_label(indicator.status);
    sheet.write_string_with_format(row, 9, status, number)?;
    sheet.write_blank(row, FIRST_INPUT_COLUMN, &formats.period_input)?;
    for column in FIRST_INPUT_COLUMN + 1..=LAST_INPUT_COLUMN {
        sheet.write_blank(row, column, &formats.input)?;
    }
    let id_column = LAST_INPUT_COLUMN + 1;
    sheet.write_string_with_format(row, id_column, &indicator.indicator_id, &formats.id)?;
    let lines = text_lines(&indicator.name, indicator_width(1))
        .max(text_lines(&indicator.target_text, indicator_width(3)));
    sheet.set_row_height(row, row_height(lines))?;
    Ok(())
}

fn highlight_indicator_statuses(
    sheet: &mut Worksheet,
    rows: (u32, u32),
    styles: &Styles,
) -> Result<(), XlsxError> {
    highlight_word(
        sheet,
        rows,
        9,
        indicator_status_label(IndicatorStatus::Met),
        &styles.green,
    )?;
    highlight_word(
        sheet,
        rows,
        9,
        indicator_status_label(IndicatorStatus::NotMet),
        &styles.red,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_wraps_at_the_column_edge_and_at_line_breaks() {
        // 22 units of width hold eleven Chinese characters and no more.
        assert_eq!(text_lines("強化政府目標責任制度強", 22.0), 1);
        assert_eq!(text_lines("強化政府目標責任制度強化", 22.0), 2);
        assert_eq!(text_lines("一\n二\n三", 22.0), 3);
        assert_eq!(text_lines("", 22.0), 1);
    }

    #[test]
    fn every_header_fits_its_column_on_one_line() {
        for (name, width) in LEDGER_HEADERS.iter().zip(LEDGER_WIDTHS) {
            assert_eq!(text_lines(name, width - 1.0), 1, "{name}");
        }
        for (name, width) in INDICATOR_HEADERS.iter().zip(INDICATOR_WIDTHS) {
            assert_eq!(text_lines(name, width - 1.0), 1, "{name}");
        }
    }

    #[test]
    fn sections_are_numbered_as_the_plan_numbers_them() {
        assert_eq!(section_label(2, "持續改善環境質量"), "二、持續改善環境質量");
        assert_eq!(section_label(12, "其他"), "12、其他");
    }
}
