//! Plans, their goals and their sections.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{plan, plan_goal, section};
use crate::error::{AppError, AppResult};
use crate::service::policy::Viewer;

/// Every plan, newest first.
pub async fn list_plans(db: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<Vec<plan::Model>> {
    viewer.read_scope()?;
    Ok(plan::Entity::find()
        .order_by_desc(plan::Column::Year)
        .order_by_desc(plan::Column::Id)
        .all(db)
        .await?)
}

/// The plan with `id`, or the newest plan when no id is given.
pub async fn find_plan(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Option<i64>,
) -> AppResult<Option<plan::Model>> {
    viewer.read_scope()?;
    let query = match id {
        Some(id) => plan::Entity::find_by_id(id),
        None => plan::Entity::find()
            .order_by_desc(plan::Column::Year)
            .order_by_desc(plan::Column::Id),
    };
    Ok(query.one(db).await?)
}

/// The plan a list is about: the one named, or the newest. Naming a plan that does not
/// exist is an error, so that an empty list always means "nothing matched".
pub async fn resolve_plan_id(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Option<i64>,
) -> AppResult<Option<i64>> {
    match find_plan(db, viewer, id).await? {
        Some(plan) => Ok(Some(plan.id)),
        None if id.is_some() => Err(AppError::not_found("no plan has this id")),
        None => Ok(None),
    }
}

pub async fn plans_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, plan::Model>> {
    Ok(plan::Entity::find()
        .filter(plan::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

pub async fn sections_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// The sections of each plan, in order.
pub async fn sections_by_plans(
    db: &impl ConnectionTrait,
    plan_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<section::Model>>> {
    let mut grouped: HashMap<i64, Vec<section::Model>> = HashMap::new();
    for row in section::Entity::find()
        .filter(section::Column::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(section::Column::PlanId)
        .order_by_asc(section::Column::Number)
        .all(db)
        .await?
    {
        grouped.entry(row.plan_id).or_default().push(row);
    }
    Ok(grouped)
}

/// One section by id, for any signed-in viewer.
pub async fn find_section(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<Option<section::Model>> {
    viewer.read_scope()?;
    Ok(section::Entity::find_by_id(id).one(db).await?)
}

/// The overall goals of each plan, by year.
pub async fn goals_by_plans(
    db: &impl ConnectionTrait,
    plan_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<plan_goal::Model>>> {
    let mut grouped: HashMap<i64, Vec<plan_goal::Model>> = HashMap::new();
    for row in plan_goal::Entity::find()
        .filter(plan_goal::Column::PlanId.is_in(plan_ids.iter().copied()))
        .order_by_asc(plan_goal::Column::PlanId)
        .order_by_asc(plan_goal::Column::Year)
        .all(db)
        .await?
    {
        grouped.entry(row.plan_id).or_default().push(row);
    }
    Ok(grouped)
}

/// The sections of a plan (the newest when none is named).
pub async fn list_sections(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    plan_id: Option<i64>,
) -> AppResult<Vec<section::Model>> {
    let Some(plan_id) = resolve_plan_id(db, viewer, plan_id).await? else {
        return Ok(Vec::new());
    };
    Ok(sections_by_plans(db, &[plan_id])
        .await?
        .remove(&plan_id)
        .unwrap_or_default())
}
