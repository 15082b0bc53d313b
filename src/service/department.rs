//! Departments: the municipal bodies that lead tasks and answer for indicators.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{department, department_alias, task_lead};
use crate::error::{AppError, AppResult};
use crate::service::policy::Viewer;
use crate::text::fold;

/// Every department, in the order they were registered.
pub async fn list_departments(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> AppResult<Vec<department::Model>> {
    viewer.read_scope()?;
    Ok(department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?)
}

/// How a caller names a department.
pub enum DepartmentKey<'a> {
    Id(i64),
    Code(&'a str),
    /// The full name or an alias, in Traditional or Simplified characters.
    Name(&'a str),
}

pub async fn find_department(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    key: DepartmentKey<'_>,
) -> AppResult<Option<department::Model>> {
    viewer.read_scope()?;
    let found = match key {
        DepartmentKey::Id(id) => department::Entity::find_by_id(id).one(db).await?,
        DepartmentKey::Code(code) => {
            department::Entity::find()
                .filter(department::Column::Code.eq(code.trim().to_ascii_lowercase()))
                .one(db)
                .await?
        }
        DepartmentKey::Name(name) => find_by_name(db, name).await?,
    };
    Ok(found)
}

async fn find_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> AppResult<Option<department::Model>> {
    let folded = fold(name);
    if folded.is_empty() {
        return Err(AppError::bad_input("a department name must not be empty"));
    }
    if let Some(found) = department::Entity::find()
        .filter(department::Column::NameFolded.eq(&folded))
        .one(db)
        .await?
    {
        return Ok(Some(found));
    }
    let alias = department_alias::Entity::find()
        .filter(department_alias::Column::AliasFolded.eq(&folded))
        .one(db)
        .await?;
    match alias {
        Some(alias) => Ok(department::Entity::find_by_id(alias.department_id)
            .one(db)
            .await?),
        None => Ok(None),
    }
}

/// Resolves a department named by code, full name or alias (either script); for the
/// command line and other places where a person types it.
pub async fn resolve_department(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    code_or_name: &str,
) -> AppResult<department::Model> {
    if let Some(found) = find_department(db, viewer, DepartmentKey::Code(code_or_name)).await? {
        return Ok(found);
    }
    find_department(db, viewer, DepartmentKey::Name(code_or_name))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no department is called `{code_or_name}`")))
}

/// Departments by id, for batched loading.
pub async fn departments_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, department::Model>> {
    Ok(department::Entity::find()
        .filter(department::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// The aliases of each department, in order.
pub async fn aliases_by_departments(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut grouped: HashMap<i64, Vec<String>> = HashMap::new();
    for row in department_alias::Entity::find()
        .filter(department_alias::Column::DepartmentId.is_in(ids.iter().copied()))
        .order_by_asc(department_alias::Column::DepartmentId)
        .order_by_asc(department_alias::Column::Position)
        .all(db)
        .await?
    {
        grouped
            .entry(row.department_id)
            .or_default()
            .push(row.alias);
    }
    Ok(grouped)
}

/// The lead departments of each task, in the order the document names them.
pub async fn lead_departments_by_tasks(
    db: &impl ConnectionTrait,
    task_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<department::Model>>> {
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.is_in(task_ids.iter().copied()))
        .order_by_asc(task_lead::Column::TaskId)
        .order_by_asc(task_lead::Column::Position)
        .all(db)
        .await?;
    let pairs = leads.iter().map(|lead| (lead.task_id, lead.department_id));
    group_departments(db, pairs).await
}

/// Groups departments under their owners, keeping the order of `pairs`
/// (owner id, department id); reads the departments in one statement.
pub async fn group_departments(
    db: &impl ConnectionTrait,
    pairs: impl Iterator<Item = (i64, i64)>,
) -> AppResult<HashMap<i64, Vec<department::Model>>> {
    let pairs: Vec<(i64, i64)> = pairs.collect();
    let mut department_ids: Vec<i64> = pairs.iter().map(|(_, id)| *id).collect();
    department_ids.sort_unstable();
    department_ids.dedup();
    let departments = departments_by_ids(db, &department_ids).await?;
    let mut grouped: HashMap<i64, Vec<department::Model>> = HashMap::new();
    for (owner, department_id) in pairs {
        if let Some(department) = departments.get(&department_id) {
            grouped.entry(owner).or_default().push(department.clone());
        }
    }
    Ok(grouped)
}
