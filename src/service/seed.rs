//! Loads a plan from its data file (see `data/plans/`), once, in one transaction.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::entity::{
    department, department_alias, indicator, indicator_milestone, indicator_responsible, plan,
    plan_goal, section, task, task_lead,
};
use crate::error::{AppError, AppResult};
use crate::service::indicator::{Direction, TargetKind};
use crate::service::snapshot::bump_revision;
use crate::text::fold;

/// The 2022 work plan of Tangshan, built into the binary.
pub const TANGSHAN_2022: &str = include_str!("../../data/plans/tangshan-2022.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub plan: PlanData,
    pub departments: Vec<DepartmentData>,
    pub sections: Vec<SectionData>,
    pub tasks: Vec<TaskData>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanData {
    pub key: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: toml::value::Datetime,
    pub year: i32,
    pub reporting_cadence: String,
    #[serde(default = "default_deadline_days")]
    pub submission_deadline_days: i32,
    pub purpose: String,
    pub guiding_idea: String,
    /// The document the plan was taken from, by its own file name (never a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    #[serde(default)]
    pub goals: Vec<GoalData>,
}

fn default_deadline_days() -> i32 {
    10
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoalData {
    pub year: i32,
    pub text: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentData {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionData {
    pub number: i32,
    pub title: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskData {
    pub code: String,
    pub section: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub title: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads_as_written: Option<String>,
    pub leads: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<IndicatorData>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorData {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub better: String,
    pub target_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<MilestoneData>,
    /// The values the indicator can take, from what it measures.
    #[serde(default)]
    pub range: Option<RangeData>,
}

/// `range = { min = 0, max = 100 }`; either end may be left out.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RangeData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneData {
    pub year: i32,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub target_text: String,
}

/// What a seeding run did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Loaded { plan_key: String, tasks: usize },
    AlreadyPresent { plan_key: String },
}

/// Parses and checks a plan file without touching the database.
pub fn parse_plan_file(source: &str) -> AppResult<PlanFile> {
    let file: PlanFile = toml::from_str(source)
        .map_err(|error| AppError::bad_input(format!("the plan file is not valid: {error}")))?;
    validate(&file)?;
    Ok(file)
}

fn parse_date(value: &toml::value::Datetime) -> AppResult<NaiveDate> {
    let date = value
        .date
        .ok_or_else(|| AppError::bad_input("`issued_on` must be a date"))?;
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .ok_or_else(|| AppError::bad_input("`issued_on` is not a calendar date"))
}

/// A refusal that names the plan file as what is wrong.
fn invalid(message: String) -> AppError {
    AppError::bad_input(format!("plan file: {message}"))
}

/// Checks what the database would otherwise refuse halfway through a load, or take in
/// wrongly, in the file's order, so that the first mistake in the file is the one named.
fn validate(file: &PlanFile) -> AppResult<()> {
    parse_date(&file.plan.issued_on)?;
    check_department_codes(&file.departments)?;
    let known = KnownNames {
        departments: file.departments.iter().map(|d| d.code.as_str()).collect(),
        sections: file.sections.iter().map(|s| s.number).collect(),
    };
    let mut seen_tasks: Vec<&str> = Vec::new();
    for task in &file.tasks {
        check_task(task, &known, &seen_tasks)?;
        for indicator in &task.indicators {
            check_indicator(indicator, &known)?;
        }
        seen_tasks.push(&task.code);
    }
    Ok(())
}

/// The departments and sections a plan file declares, which its tasks refer to.
struct KnownNames<'a> {
    departments: Vec<&'a str>,
    sections: Vec<i32>,
}

impl KnownNames<'_> {
    fn check_department(&self, code: &str, named_by: impl FnOnce() -> String) -> AppResult<()> {
        if self.departments.contains(&code) {
            Ok(())
        } else {
            Err(invalid(format!(
                "{} names unknown department `{code}`",
                named_by()
            )))
        }
    }
}

/// Department codes are lower-case ASCII letters, digits and hyphens.
fn check_department_codes(departments: &[DepartmentData]) -> AppResult<()> {
    for department in departments {
        if department.code.is_empty()
            || !department
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(format!(
                "department code `{}` must be lower-case ASCII",
                department.code
            )));
        }
    }
    Ok(())
}

/// A task's code is new, its section and lead departments are declared, and a part comes
/// after its parent (`seen_tasks`: the tasks before it).
fn check_task(task: &TaskData, known: &KnownNames, seen_tasks: &[&str]) -> AppResult<()> {
    if seen_tasks.contains(&task.code.as_str()) {
        return Err(invalid(format!("task `{}` appears twice", task.code)));
    }
    if !known.sections.contains(&task.section) {
        return Err(invalid(format!(
            "task `{}` names unknown section {}",
            task.code, task.section
        )));
    }
    if let Some(parent) = &task.parent
        && !seen_tasks.contains(&parent.as_str())
    {
        return Err(invalid(format!(
            "task `{}` must follow its parent `{parent}`",
            task.code
        )));
    }
    for lead in &task.leads {
        known.check_department(lead, || format!("task `{}`", task.code))?;
    }
    Ok(())
}

fn check_indicator(indicator: &IndicatorData, known: &KnownNames) -> AppResult<()> {
    let kind = TargetKind::parse(&indicator.kind).ok_or_else(|| {
        AppError::bad_input(format!("indicator `{}`: unknown kind", indicator.name))
    })?;
    if kind.is_numeric() != indicator.value.is_some() {
        return Err(invalid(format!(
            "indicator `{}`: a value goes with AT_LEAST, AT_MOST and EQUAL only",
            indicator.name
        )));
    }
    if Direction::parse(&indicator.better).is_none() {
        return Err(invalid(format!(
            "indicator `{}`: `better` must be HIGHER or LOWER",
            indicator.name
        )));
    }
    for code in indicator.responsible.iter().flatten() {
        known.check_department(code, || format!("indicator `{}`", indicator.name))?;
    }
    if let Some(range) = indicator.range {
        check_range(&indicator.name, range)?;
    }
    for milestone in &indicator.milestones {
        if TargetKind::parse(&milestone.kind).is_none() {
            return Err(invalid(format!(
                "indicator `{}`: unknown milestone kind",
                indicator.name
            )));
        }
    }
    Ok(())
}

/// A range's ends lie within the largest magnitude any indicator value may have, and the
/// lower is not above the upper.
fn check_range(indicator_name: &str, range: RangeData) -> AppResult<()> {
    let bound = crate::service::indicator::MAX_VALUE_MAGNITUDE;
    let ends = [range.min, range.max];
    if ends
        .iter()
        .flatten()
        .any(|end| !(end.is_finite() && end.abs() <= bound))
        || range.min.zip(range.max).is_some_and(|(min, max)| min > max)
    {
        return Err(invalid(format!(
            "indicator `{indicator_name}`: `range` needs finite ends within ±1e12, min ≤ max"
        )));
    }
    Ok(())
}

/// Loads the plan in `source` unless a plan with its key is already there. Departments
/// are shared by all plans and added when missing. All of it happens in one transaction:
/// a half-loaded plan is impossible.
pub async fn seed_plan<C>(db: &C, source: &str) -> AppResult<SeedOutcome>
where
    C: ConnectionTrait + TransactionTrait,
{
    let file = parse_plan_file(source)?;
    let txn = crate::db::begin_write(db).await?;
    let existing = plan::Entity::find()
        .filter(plan::Column::Key.eq(&file.plan.key))
        .one(&txn)
        .await?;
    if let Some(existing) = existing {
        fill_missing_ranges(&txn, existing.id, &file).await?;
        txn.commit().await?;
        return Ok(SeedOutcome::AlreadyPresent {
            plan_key: file.plan.key,
        });
    }

    insert_plan(&txn, &file, true).await?;
    txn.commit().await?;
    Ok(SeedOutcome::Loaded {
        plan_key: file.plan.key,
        tasks: file.tasks.len(),
    })
}

/// Writes a checked plan file's plan, adding the departments that are missing, and raises
/// the data revision. Call it inside the transaction of the whole load.
pub async fn insert_plan(
    txn: &impl ConnectionTrait,
    file: &PlanFile,
    published: bool,
) -> AppResult<plan::Model> {
    let department_ids = upsert_departments(txn, &file.departments).await?;
    let plan = insert_plan_row(txn, &file.plan, published).await?;
    insert_goals(txn, plan.id, &file.plan.goals).await?;
    let section_ids = insert_sections(txn, plan.id, &file.sections).await?;
    let ids = PlanIds {
        plan: plan.id,
        sections: section_ids,
        departments: department_ids,
    };
    insert_tasks(txn, &ids, &file.tasks).await?;
    bump_revision(txn).await?;
    Ok(plan)
}

/// The ids a plan's tasks refer to: of the plan, its sections by number, and every
/// department by code.
struct PlanIds {
    plan: i64,
    sections: HashMap<i32, i64>,
    departments: HashMap<String, i64>,
}

async fn insert_plan_row(
    txn: &impl ConnectionTrait,
    data: &PlanData,
    published: bool,
) -> AppResult<plan::Model> {
    Ok(plan::ActiveModel {
        key: Set(data.key.clone()),
        title: Set(data.title.clone()),
        issuer: Set(data.issuer.clone()),
        issued_on: Set(parse_date(&data.issued_on)?),
        year: Set(data.year),
        purpose: Set(data.purpose.clone()),
        guiding_idea: Set(data.guiding_idea.clone()),
        reporting_cadence: Set(data.reporting_cadence.clone()),
        submission_deadline_days: Set(data.submission_deadline_days),
        created_at: Set(Utc::now()),
        published: Set(published),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

async fn insert_goals(
    txn: &impl ConnectionTrait,
    plan_id: i64,
    goals: &[GoalData],
) -> AppResult<()> {
    for goal in goals {
        plan_goal::ActiveModel {
            plan_id: Set(plan_id),
            year: Set(goal.year),
            text: Set(goal.text.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Returns each section's id by its number.
async fn insert_sections(
    txn: &impl ConnectionTrait,
    plan_id: i64,
    sections: &[SectionData],
) -> AppResult<HashMap<i32, i64>> {
    let mut section_ids = HashMap::new();
    for data in sections {
        let row = section::ActiveModel {
            plan_id: Set(plan_id),
            number: Set(data.number),
            title: Set(data.title.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        section_ids.insert(data.number, row.id);
    }
    Ok(section_ids)
}

/// Each task with its leads and indicators, in the file's order, which is the order
/// positions count in: tasks within the plan, indicators across the whole plan.
async fn insert_tasks(
    txn: &impl ConnectionTrait,
    ids: &PlanIds,
    tasks: &[TaskData],
) -> AppResult<()> {
    let mut task_ids: HashMap<&str, i64> = HashMap::new();
    let mut indicator_position = 0;
    for (position, data) in tasks.iter().enumerate() {
        let task_id = insert_task_row(txn, ids, &task_ids, position as i32 + 1, data).await?;
        task_ids.insert(&data.code, task_id);

        let leads = lookup_codes(&ids.departments, &data.leads)?;
        insert_task_leads(txn, task_id, &leads).await?;

        for indicator in &data.indicators {
            indicator_position += 1;
            // An indicator without its own responsible departments is the leads' to report.
            let responsible = match &indicator.responsible {
                Some(codes) => lookup_codes(&ids.departments, codes)?,
                None => leads.clone(),
            };
            insert_indicator(
                txn,
                ids.plan,
                task_id,
                indicator_position,
                indicator,
                &responsible,
            )
            .await?;
        }
    }
    Ok(())
}

/// Inserts one task and returns its id; `task_ids` holds the tasks before it, among
/// them its parent.
async fn insert_task_row(
    txn: &impl ConnectionTrait,
    ids: &PlanIds,
    task_ids: &HashMap<&str, i64>,
    position: i32,
    data: &TaskData,
) -> AppResult<i64> {
    let section_id = *ids
        .sections
        .get(&data.section)
        .context("section checked by validate")?;
    let parent_id = match &data.parent {
        Some(parent) => Some(
            *task_ids
                .get(parent.as_str())
                .context("parent checked by validate")?,
        ),
        None => None,
    };
    let row = task::ActiveModel {
        plan_id: Set(ids.plan),
        section_id: Set(section_id),
        parent_id: Set(parent_id),
        code: Set(data.code.clone()),
        position: Set(position),
        title: Set(data.title.clone()),
        text: Set(data.text.clone()),
        leads_as_written: Set(data.leads_as_written.clone()),
        search_text: Set(fold(&format!(
            "{}\n{}\n{}",
            data.code, data.title, data.text
        ))),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(row.id)
}

async fn insert_task_leads(
    txn: &impl ConnectionTrait,
    task_id: i64,
    department_ids: &[i64],
) -> AppResult<()> {
    for (lead_position, department_id) in department_ids.iter().enumerate() {
        task_lead::ActiveModel {
            task_id: Set(task_id),
            department_id: Set(*department_id),
            position: Set(lead_position as i32 + 1),
            latest_approved_status: Set(None),
            latest_approved_period: Set(None),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

fn lookup_codes(department_ids: &HashMap<String, i64>, codes: &[String]) -> AppResult<Vec<i64>> {
    codes
        .iter()
        .map(|code| {
            department_ids
                .get(code)
                .copied()
                .ok_or_else(|| AppError::bad_input(format!("unknown department `{code}`")))
        })
        .collect()
}

/// A plan loaded before its file stated ranges gets them: indicators are matched by their
/// place in the file and their name, and only ranges not yet set are written.
async fn fill_missing_ranges(
    txn: &impl ConnectionTrait,
    plan_id: i64,
    file: &PlanFile,
) -> AppResult<()> {
    let stated: HashMap<(i32, &str), RangeData> = file
        .tasks
        .iter()
        .flat_map(|task| task.indicators.iter())
        .enumerate()
        .filter_map(|(index, data)| {
            data.range
                .map(|range| ((index as i32 + 1, data.name.as_str()), range))
        })
        .collect();
    let rows = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan_id))
        .filter(indicator::Column::ValidMin.is_null())
        .filter(indicator::Column::ValidMax.is_null())
        .all(txn)
        .await?;
    for row in rows {
        if let Some(range) = stated.get(&(row.position, row.name.as_str())) {
            indicator::ActiveModel {
                id: Set(row.id),
                valid_min: Set(range.min),
                valid_max: Set(range.max),
                ..Default::default()
            }
            .update(txn)
            .await?;
        }
    }
    Ok(())
}

async fn insert_indicator(
    txn: &impl ConnectionTrait,
    plan_id: i64,
    task_id: i64,
    position: i32,
    data: &IndicatorData,
    responsible: &[i64],
) -> AppResult<()> {
    let row = indicator::ActiveModel {
        plan_id: Set(plan_id),
        task_id: Set(task_id),
        position: Set(position),
        name: Set(data.name.clone()),
        unit: Set(data.unit.clone()),
        target_kind: Set(data.kind.clone()),
        target_value: Set(data.value),
        valid_min: Set(data.range.and_then(|range| range.min)),
        valid_max: Set(data.range.and_then(|range| range.max)),
        target_text: Set(data.target_text.clone()),
        better: Set(data.better.clone()),
        search_text: Set(fold(&format!("{}\n{}", data.name, data.target_text))),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for (index, department_id) in responsible.iter().enumerate() {
        indicator_responsible::ActiveModel {
            indicator_id: Set(row.id),
            department_id: Set(*department_id),
            position: Set(index as i32 + 1),
        }
        .insert(txn)
        .await?;
    }
    for milestone in &data.milestones {
        indicator_milestone::ActiveModel {
            indicator_id: Set(row.id),
            year: Set(milestone.year),
            target_kind: Set(milestone.kind.clone()),
            target_value: Set(milestone.value),
            target_text: Set(milestone.target_text.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Adds the departments that are missing (by code) and returns every code's id.
async fn upsert_departments(
    txn: &impl ConnectionTrait,
    departments: &[DepartmentData],
) -> AppResult<HashMap<String, i64>> {
    let existing: HashMap<String, i64> = department::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.code, row.id))
        .collect();
    let mut ids = existing.clone();
    for data in departments {
        if existing.contains_key(&data.code) {
            continue;
        }
        let row = department::ActiveModel {
            code: Set(data.code.clone()),
            name: Set(data.name.clone()),
            name_folded: Set(fold(&data.name)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        for (position, alias) in data.aliases.iter().enumerate() {
            department_alias::ActiveModel {
                department_id: Set(row.id),
                position: Set(position as i32 + 1),
                alias: Set(alias.clone()),
                alias_folded: Set(fold(alias)),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        ids.insert(data.code.clone(), row.id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_plan_file_is_valid() {
        let file = parse_plan_file(TANGSHAN_2022);
        assert!(file.is_ok(), "{:?}", file.err());
    }

    #[test]
    fn a_task_naming_an_unknown_department_is_refused() {
        let broken = TANGSHAN_2022.replacen("leads = [\"organization\"", "leads = [\"nobody\"", 1);
        assert!(parse_plan_file(&broken).is_err());
    }
}
