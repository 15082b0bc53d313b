//! Plans from their documents: previewing a document's plan, creating it as a draft,
//! correcting the draft and publishing it.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait, sea_query::Expr,
};

use crate::entity::{department, department_alias, indicator, plan, task, task_lead};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::indicator::{Direction, TargetKind};
use crate::service::plan_document::{
    ImportOptions, ImportedPlan, KnownDepartment, import_plan_document, plan_file_toml,
};
use crate::service::policy::Viewer;
use crate::service::seed::{TANGSHAN_2022, insert_plan, parse_plan_file};
use crate::service::snapshot::bump_revision;
use crate::text::fold;

/// The departments an import resolves names against: those in the database (with their
/// aliases), then those of the built-in plan that the database does not have yet.
pub async fn known_departments(db: &impl ConnectionTrait) -> AppResult<Vec<KnownDepartment>> {
    let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
    for alias in department_alias::Entity::find()
        .order_by_asc(department_alias::Column::Position)
        .all(db)
        .await?
    {
        aliases
            .entry(alias.department_id)
            .or_default()
            .push(alias.alias);
    }
    let mut known: Vec<KnownDepartment> = department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| KnownDepartment {
            aliases: aliases.remove(&row.id).unwrap_or_default(),
            code: row.code,
            name: row.name,
        })
        .collect();
    for department in parse_plan_file(TANGSHAN_2022)?.departments {
        if !known.iter().any(|k| k.code == department.code) {
            known.push(KnownDepartment {
                code: department.code,
                name: department.name,
                aliases: department.aliases,
            });
        }
    }
    Ok(known)
}

/// The largest document accepted, in bytes: a year's plan is some 20 KB of text.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// A document as uploaded.
pub struct PlanDocument {
    /// The file name it was uploaded with (recorded without any folder).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

fn document_text(document: &PlanDocument) -> AppResult<&str> {
    if document.bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(AppError::bad_input(format!(
            "the document is larger than {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    std::str::from_utf8(&document.bytes)
        .map_err(|_| AppError::bad_input("the document must be UTF-8 text"))
}

/// The file name without any folder a browser may send with it.
fn bare_file_name(name: &str) -> Option<String> {
    let bare = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    (!bare.is_empty()).then(|| bare.to_owned())
}

fn checked_key(key: &str) -> AppResult<String> {
    let key = key.trim();
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(key.to_owned())
    } else {
        Err(AppError::bad_input(
            "a plan key is 1 to 64 lower-case letters, digits and hyphens, e.g. `tangshan-2023`",
        ))
    }
}

async fn read_document(
    db: &impl ConnectionTrait,
    document: &PlanDocument,
    key: &str,
    year: i32,
) -> AppResult<ImportedPlan> {
    let text = document_text(document)?;
    if !(2000..=2100).contains(&year) {
        return Err(AppError::bad_input(
            "the year must be between 2000 and 2100",
        ));
    }
    let options = ImportOptions {
        key: checked_key(key)?,
        year,
        source_file: bare_file_name(&document.file_name),
    };
    let known = known_departments(db).await?;
    let imported = import_plan_document(text, &options, &known)?;
    // What the importer writes must load: the same checks as a hand-written file.
    parse_plan_file(&plan_file_toml(&imported.file)?)?;
    Ok(imported)
}

/// The plan a document would become, and its review list; writes nothing
/// (administrators).
/// `document` is read only once the caller may import: a refused caller learns nothing
/// from the request's file.
pub async fn preview_plan_document(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    document: impl FnOnce() -> AppResult<PlanDocument>,
    key: &str,
    year: i32,
) -> AppResult<ImportedPlan> {
    viewer.require_admin()?;
    read_document(db, &document()?, key, year).await
}

/// Creates the document's plan as a draft, with the departments it names that ecoplan
/// does not know, in one transaction (administrators). The draft is seen only by
/// administrators and the leadership group until it is published. `document` is read
/// only once the caller may import.
pub async fn import_plan_document_as_draft<C>(
    db: &C,
    caller: &Caller<'_>,
    document: impl FnOnce() -> AppResult<PlanDocument>,
    key: &str,
    year: i32,
) -> AppResult<(plan::Model, ImportedPlan)>
where
    C: ConnectionTrait + TransactionTrait,
{
    caller.viewer.require_admin()?;
    let imported = read_document(db, &document()?, key, year).await?;
    let txn = crate::db::begin_write(db).await?;
    let existing = plan::Entity::find()
        .filter(plan::Column::Key.eq(&imported.file.plan.key))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(AppError::bad_input(format!(
            "a plan with the key `{}` exists already",
            imported.file.plan.key
        )));
    }
    let row = insert_plan(&txn, &imported.file, false).await?;
    let review: Vec<String> = imported.review.iter().map(ToString::to_string).collect();
    audit::record(
        &txn,
        caller,
        "plan.import",
        ItemType::Plan,
        row.id,
        None::<&()>,
        Some(&serde_json::json!({
            "key": row.key,
            "title": row.title,
            "sourceFile": imported.file.plan.source_file,
            "tasks": imported.file.tasks.len(),
            "review": review,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok((row, imported))
}

/// Makes a draft plan visible to the departments and the portal (administrators and the
/// leadership group).
pub async fn publish_plan<C>(db: &C, caller: &Caller<'_>, plan_id: i64) -> AppResult<plan::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    caller.viewer.require_plan_editor()?;
    let txn = crate::db::begin_write(db).await?;
    let row = plan::Entity::find_by_id(plan_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no plan has this id"))?;
    if row.published {
        return Err(AppError::bad_input("this plan is published already"));
    }
    let mut active: plan::ActiveModel = row.clone().into();
    active.published = Set(true);
    let saved = active.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        "plan.publish",
        ItemType::Plan,
        saved.id,
        Some(&serde_json::json!({ "published": false })),
        Some(&serde_json::json!({ "published": true })),
    )
    .await?;
    crate::service::outbox::record(
        &txn,
        crate::service::outbox::Event::PlanPublished,
        format!("Plan:{}", saved.id),
        serde_json::json!({
            "plan": crate::id::NodeId::new(crate::id::NodeKind::Plan, saved.id).encode(),
            "key": saved.key,
            "title": saved.title,
            "year": saved.year,
        }),
        caller.clock.now(),
    )
    .await?;
    bump_revision(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

async fn draft_plan_of(txn: &impl ConnectionTrait, plan_id: i64) -> AppResult<plan::Model> {
    let plan = crate::service::period::load_plan(txn, plan_id).await?;
    if plan.published {
        return Err(AppError::bad_input(
            "only a draft plan is corrected this way; this plan is published",
        ));
    }
    Ok(plan)
}

/// A correction of a draft task; what is `None` stays.
#[derive(Debug, Default)]
pub struct DraftTaskCorrection {
    pub title: Option<String>,
    /// The lead departments by code, in order.
    pub lead_codes: Option<Vec<String>>,
}

/// Corrects a task of a draft plan: its title or its lead departments. With `version`,
/// only if the task is still at that version (`STALE_VERSION` otherwise).
pub async fn update_draft_task<C>(
    db: &C,
    caller: &Caller<'_>,
    task_id: i64,
    version: Option<i32>,
    correction: DraftTaskCorrection,
) -> AppResult<task::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    caller.viewer.require_plan_editor()?;
    let txn = crate::db::begin_write(db).await?;
    let row = task::Entity::find_by_id(task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no task has this id"))?;
    draft_plan_of(&txn, row.plan_id).await?;
    if version.is_some_and(|expected| expected != row.version) {
        return Err(crate::service::submission::stale(row.version));
    }
    // The version is raised first and only from the one read, so of two corrections made
    // against the same version one is refused.
    let raised = task::Entity::update_many()
        .col_expr(task::Column::Version, Expr::value(row.version + 1))
        .filter(task::Column::Id.eq(row.id))
        .filter(task::Column::Version.eq(row.version))
        .exec(&txn)
        .await?;
    if raised.rows_affected == 0 {
        return Err(crate::service::submission::stale(row.version + 1));
    }
    let before_leads = lead_codes_of(&txn, row.id).await?;
    let mut active: task::ActiveModel = row.clone().into();
    active.version = Set(row.version + 1);
    if let Some(title) = &correction.title {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(AppError::bad_input("a title is 1 to 200 characters"));
        }
        active.title = Set(title.to_owned());
        active.search_text = Set(fold(&format!("{}\n{}\n{}", row.code, title, row.text)));
    }
    let saved = active.update(&txn).await?;
    if let Some(codes) = &correction.lead_codes {
        let mut ids = Vec::new();
        for code in codes {
            let department = department::Entity::find()
                .filter(department::Column::Code.eq(code.trim().to_ascii_lowercase()))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    AppError::bad_input(format!("no department has the code `{code}`"))
                })?;
            if !ids.contains(&department.id) {
                ids.push(department.id);
            }
        }
        if ids.is_empty() {
            return Err(AppError::bad_input(
                "a task needs at least one lead department",
            ));
        }
        task_lead::Entity::delete_many()
            .filter(task_lead::Column::TaskId.eq(saved.id))
            .exec(&txn)
            .await?;
        for (position, department_id) in ids.iter().enumerate() {
            task_lead::ActiveModel {
                task_id: Set(saved.id),
                department_id: Set(*department_id),
                position: Set(position as i32 + 1),
                latest_approved_status: Set(None),
                latest_approved_period: Set(None),
            }
            .insert(&txn)
            .await?;
        }
    }
    let after_leads = lead_codes_of(&txn, saved.id).await?;
    audit::record(
        &txn,
        caller,
        "task.correctDraft",
        ItemType::Task,
        saved.id,
        Some(&serde_json::json!({ "title": row.title, "leads": before_leads })),
        Some(&serde_json::json!({ "title": saved.title, "leads": after_leads })),
    )
    .await?;
    bump_revision(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

async fn lead_codes_of(txn: &impl ConnectionTrait, task_id: i64) -> AppResult<Vec<String>> {
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.eq(task_id))
        .order_by_asc(task_lead::Column::Position)
        .all(txn)
        .await?;
    let mut codes = Vec::with_capacity(leads.len());
    for lead in leads {
        if let Some(department) = department::Entity::find_by_id(lead.department_id)
            .one(txn)
            .await?
        {
            codes.push(department.code);
        }
    }
    Ok(codes)
}

/// A correction of a draft indicator's target; what is `None` stays. `value` and `unit`
/// are replaced together with `kind` when it is given (a target without a number has no
/// value).
#[derive(Debug, Default)]
pub struct DraftIndicatorCorrection {
    pub name: Option<String>,
    pub kind: Option<TargetKind>,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub better: Option<Direction>,
    pub target_text: Option<String>,
}

/// Corrects an indicator of a draft plan: its name or its target.
pub async fn update_draft_indicator<C>(
    db: &C,
    caller: &Caller<'_>,
    indicator_id: i64,
    correction: DraftIndicatorCorrection,
) -> AppResult<indicator::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    caller.viewer.require_plan_editor()?;
    let txn = crate::db::begin_write(db).await?;
    let row = indicator::Entity::find_by_id(indicator_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no indicator has this id"))?;
    draft_plan_of(&txn, row.plan_id).await?;
    let active = corrected_indicator(&row, &correction)?;
    let saved = active.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        "indicator.correctDraft",
        ItemType::Indicator,
        saved.id,
        Some(&audited_target(&row)),
        Some(&audited_target(&saved)),
    )
    .await?;
    bump_revision(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

/// The indicator `row` with `correction` applied, or why the correction is refused.
fn corrected_indicator(
    row: &indicator::Model,
    correction: &DraftIndicatorCorrection,
) -> AppResult<indicator::ActiveModel> {
    let mut active: indicator::ActiveModel = row.clone().into();
    let name = match &correction.name {
        Some(name) => draft_text("a name", name)?,
        None => row.name.clone(),
    };
    let target_text = match &correction.target_text {
        Some(wording) => draft_text("a target's wording", wording)?,
        None => row.target_text.clone(),
    };
    match correction.kind {
        Some(kind) => set_target_kind(&mut active, kind, correction)?,
        None => correct_target_number(&mut active, row, correction)?,
    }
    if let Some(better) = correction.better {
        active.better = Set(match better {
            Direction::Higher => "HIGHER",
            Direction::Lower => "LOWER",
        }
        .to_owned());
    }
    active.search_text = Set(fold(&format!("{name}\n{target_text}")));
    active.name = Set(name);
    active.target_text = Set(target_text);
    Ok(active)
}

/// A name or a target's wording, trimmed: 1 to 500 characters.
fn draft_text(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 500 {
        Err(AppError::bad_input(format!(
            "{field} is 1 to 500 characters"
        )))
    } else {
        Ok(value.to_owned())
    }
}

/// A new kind of target replaces the value and the unit with it, so that a target
/// without a number keeps none.
fn set_target_kind(
    active: &mut indicator::ActiveModel,
    kind: TargetKind,
    correction: &DraftIndicatorCorrection,
) -> AppResult<()> {
    if kind.is_numeric() != correction.value.is_some() {
        return Err(AppError::bad_input(
            "a value goes with AT_LEAST, AT_MOST and EQUAL, and only with them",
        ));
    }
    active.target_kind = Set(kind.as_str().to_owned());
    active.target_value = Set(correction.value);
    active.unit = Set(correction
        .unit
        .clone()
        .filter(|unit| !unit.trim().is_empty()));
    Ok(())
}

/// Under the kind it has, a target takes a new value only if it has a number; a unit
/// may change either way (an empty one removes it).
fn correct_target_number(
    active: &mut indicator::ActiveModel,
    row: &indicator::Model,
    correction: &DraftIndicatorCorrection,
) -> AppResult<()> {
    let numeric = TargetKind::parse(&row.target_kind).is_some_and(TargetKind::is_numeric);
    if correction.value.is_some() && !numeric {
        return Err(AppError::bad_input(
            "this target has no number; give its kind with the value",
        ));
    }
    if let Some(value) = correction.value {
        active.target_value = Set(Some(value));
    }
    if let Some(unit) = &correction.unit {
        active.unit = Set(Some(unit.trim().to_owned()).filter(|unit| !unit.is_empty()));
    }
    Ok(())
}

/// What the audit log keeps of an indicator's target, before and after a correction.
fn audited_target(row: &indicator::Model) -> serde_json::Value {
    serde_json::json!({
        "name": row.name,
        "kind": row.target_kind,
        "value": row.target_value,
        "unit": row.unit,
        "better": row.better,
        "targetText": row.target_text,
    })
}
