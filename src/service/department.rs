//! Departments: the municipal bodies that lead tasks and answer for indicators.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entity::{department, department_alias};
use crate::error::{AppError, AppResult};
use crate::service::policy::Viewer;
use crate::service::snapshot::PlanView;
use crate::text::fold;

/// Every department, in the order they were registered.
pub fn list_departments(view: &PlanView) -> AppResult<Vec<usize>> {
    view.require_readable()?;
    Ok((0..view.snapshot.departments.len()).collect())
}

/// One department by id, code, or name (full name or alias, either script).
pub fn find_department(view: &PlanView, key: DepartmentKey<'_>) -> AppResult<Option<usize>> {
    view.require_readable()?;
    Ok(match key {
        DepartmentKey::Id(id) => view.snapshot.department_index(id),
        DepartmentKey::Code(code) => view.snapshot.department_by_code(code),
        DepartmentKey::Name(name) => {
            if fold(name).is_empty() {
                return Err(AppError::bad_input("a department name must not be empty"));
            }
            view.snapshot.department_by_name(name)
        }
    })
}

/// How a caller names a department.
pub enum DepartmentKey<'a> {
    Id(i64),
    Code(&'a str),
    /// The full name or an alias, in Traditional or Simplified characters.
    Name(&'a str),
}

/// The same lookup in the database, for the command line, which has no snapshot.
pub async fn find_department_row(
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
    if let Some(found) = find_department_row(db, viewer, DepartmentKey::Code(code_or_name)).await? {
        return Ok(found);
    }
    find_department_row(db, viewer, DepartmentKey::Name(code_or_name))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no department is called `{code_or_name}`")))
}
