//! Plans, their goals and their sections, read from the plan snapshot.

use crate::error::{AppError, AppResult};
use crate::service::snapshot::PlanView;

/// Every plan the viewer may see (drafts only for those who see drafts), newest first.
pub fn list_plans(view: &PlanView) -> AppResult<Vec<usize>> {
    view.require_readable()?;
    Ok((0..view.snapshot.plans.len())
        .filter(|plan| sees(view, *plan))
        .collect())
}

fn sees(view: &PlanView, plan: usize) -> bool {
    view.scope.sees_plan_row(&view.snapshot.plans[plan].row)
}

/// The plan with `id`, or the newest published plan when no id is given; `None` for a
/// draft the viewer may not see.
pub fn find_plan(view: &PlanView, id: Option<i64>) -> AppResult<Option<usize>> {
    view.require_readable()?;
    Ok(match id {
        Some(id) => view.snapshot.plan_index(id),
        None => view.snapshot.newest_plan(),
    }
    .filter(|plan| sees(view, *plan)))
}

/// The plan a list is about: the one named, or the newest. Naming a plan that does not
/// exist is an error, so that an empty list always means "nothing matched".
pub fn resolve_plan(view: &PlanView, id: Option<i64>) -> AppResult<Option<usize>> {
    match find_plan(view, id)? {
        Some(plan) => Ok(Some(plan)),
        None if id.is_some() => Err(AppError::not_found("no plan has this id")),
        None => Ok(None),
    }
}

/// The sections of a plan (the newest when none is named), in order.
pub fn list_sections(view: &PlanView, plan_id: Option<i64>) -> AppResult<Vec<usize>> {
    Ok(match resolve_plan(view, plan_id)? {
        Some(plan) => sections_of(view, plan),
        None => Vec::new(),
    })
}

pub fn sections_of(view: &PlanView, plan: usize) -> Vec<usize> {
    view.snapshot.plans[plan]
        .sections
        .iter()
        .map(|section| *section as usize)
        .collect()
}

/// One section by id, for any signed-in viewer who sees its plan.
pub fn find_section(view: &PlanView, id: i64) -> AppResult<Option<usize>> {
    view.require_readable()?;
    Ok(view
        .snapshot
        .section_index(id)
        .filter(|section| sees(view, view.snapshot.sections[*section].plan as usize)))
}

/// The plan with `id`, or the newest published one, read from the database inside a
/// writer's transaction (where the snapshot may be older than what the transaction sees).
pub async fn find_plan_row(
    db: &impl sea_orm::ConnectionTrait,
    id: Option<i64>,
) -> AppResult<Option<crate::entity::plan::Model>> {
    use crate::entity::plan as plan_table;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let query = match id {
        Some(id) => plan_table::Entity::find_by_id(id),
        None => plan_table::Entity::find()
            .filter(plan_table::Column::Published.eq(true))
            .order_by_desc(plan_table::Column::Year)
            .order_by_desc(plan_table::Column::Id),
    };
    Ok(query.one(db).await?)
}
