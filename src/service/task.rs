//! Tasks of a plan: finding, listing and searching them within what the viewer may read.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};

use crate::entity::{section, task, task_lead};
use crate::error::{AppError, AppResult};
use crate::id::truncate;
use crate::service::department::{self, DepartmentKey};
use crate::service::page::{Page, PageArgs, paginate};
use crate::service::plan::resolve_plan_id;
use crate::service::policy::{ReadScope, Viewer};
use crate::text::{contains_pattern, fold};

/// How a caller names one department in a filter.
#[derive(Clone, Debug)]
pub enum DepartmentRef {
    Id(i64),
    Code(String),
}

/// Narrows a task list; every part is optional and they combine with AND.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub section_number: Option<i32>,
    pub department: Option<DepartmentRef>,
    pub top_level_only: bool,
    /// Words looked up in code, title and text, in either script.
    pub search: Option<String>,
}

/// A task code as the document numbers them: `12`, or `2.3` for a subtask.
pub fn parse_task_code(raw: &str) -> AppResult<String> {
    let code = raw.trim();
    let valid = !code.is_empty()
        && code.len() <= 16
        && code.split('.').count() <= 2
        && code
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if valid {
        Ok(code.to_owned())
    } else {
        Err(AppError::bad_input(format!(
            "`{}` is not a task code: use a number such as `12` or `2.3`",
            truncate(raw)
        )))
    }
}

/// A condition that every folded word of `search` appears in `column`.
pub fn search_condition(column: impl ColumnTrait, search: &str) -> AppResult<Condition> {
    let folded = fold(search);
    if folded.chars().count() > 200 {
        return Err(AppError::bad_input(
            "a search may be at most 200 characters long",
        ));
    }
    let mut condition = Condition::all();
    for word in folded.split_whitespace() {
        condition = condition
            .add(Expr::col(column).like(LikeExpr::new(contains_pattern(word)).escape('\\')));
    }
    Ok(condition)
}

pub async fn resolve_department_ref(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    reference: &DepartmentRef,
) -> AppResult<i64> {
    let key = match reference {
        DepartmentRef::Id(id) => DepartmentKey::Id(*id),
        DepartmentRef::Code(code) => DepartmentKey::Code(code),
    };
    department::find_department(db, viewer, key)
        .await?
        .map(|row| row.id)
        .ok_or_else(|| AppError::bad_input("the filter names a department that does not exist"))
}

/// The tasks of a plan (the newest when none is named) that the viewer may read, in the
/// document's order, one page at a time.
pub async fn list_tasks(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    plan_id: Option<i64>,
    filter: &TaskFilter,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<task::Model>> {
    let scope = viewer.read_scope()?;
    args.validate(max_page_size)?;
    let plan_id = resolve_plan_id(db, viewer, plan_id).await?.unwrap_or(-1);
    let mut select = task::Entity::find()
        .filter(task::Column::PlanId.eq(plan_id))
        .filter(scope.task_condition());
    if let Some(number) = filter.section_number {
        let sections = section::Entity::find()
            .select_only()
            .column(section::Column::Id)
            .filter(section::Column::PlanId.eq(plan_id))
            .filter(section::Column::Number.eq(number))
            .into_query();
        select = select.filter(task::Column::SectionId.in_subquery(sections));
    }
    if let Some(reference) = &filter.department {
        let department_id = resolve_department_ref(db, viewer, reference).await?;
        let led = task_lead::Entity::find()
            .select_only()
            .column(task_lead::Column::TaskId)
            .filter(task_lead::Column::DepartmentId.eq(department_id))
            .into_query();
        select = select.filter(task::Column::Id.in_subquery(led));
    }
    if filter.top_level_only {
        select = select.filter(task::Column::ParentId.is_null());
    }
    if let Some(search) = &filter.search {
        select = select.filter(search_condition(task::Column::SearchText, search)?);
    }
    paginate(
        db,
        select,
        task::Column::Position,
        |row| i64::from(row.position),
        args,
        max_page_size,
    )
    .await
}

/// One task by id, or `None` when it does not exist or the viewer may not read it.
pub async fn find_task(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<Option<task::Model>> {
    let scope = viewer.read_scope()?;
    Ok(task::Entity::find_by_id(id)
        .filter(scope.task_condition())
        .one(db)
        .await?)
}

/// One task by its code in a plan (the newest when none is named).
pub async fn find_task_by_code(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    plan_id: Option<i64>,
    code: &str,
) -> AppResult<Option<task::Model>> {
    let scope = viewer.read_scope()?;
    let code = parse_task_code(code)?;
    let Some(plan_id) = resolve_plan_id(db, viewer, plan_id).await? else {
        return Ok(None);
    };
    Ok(task::Entity::find()
        .filter(task::Column::PlanId.eq(plan_id))
        .filter(task::Column::Code.eq(code))
        .filter(scope.task_condition())
        .one(db)
        .await?)
}

/// Tasks by id within the scope; invisible ones are simply absent.
pub async fn tasks_by_ids(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, task::Model>> {
    Ok(task::Entity::find()
        .filter(task::Column::Id.is_in(ids.iter().copied()))
        .filter(scope.task_condition())
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// The top-level tasks of each section, in order, within the scope.
pub async fn top_level_tasks_by_sections(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    section_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<task::Model>>> {
    let mut grouped: HashMap<i64, Vec<task::Model>> = HashMap::new();
    for row in task::Entity::find()
        .filter(task::Column::SectionId.is_in(section_ids.iter().copied()))
        .filter(task::Column::ParentId.is_null())
        .filter(scope.task_condition())
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?
    {
        grouped.entry(row.section_id).or_default().push(row);
    }
    Ok(grouped)
}

/// The subtasks of each task, in order, within the scope.
pub async fn subtasks_by_parents(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    parent_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<task::Model>>> {
    let mut grouped: HashMap<i64, Vec<task::Model>> = HashMap::new();
    for row in task::Entity::find()
        .filter(task::Column::ParentId.is_in(parent_ids.iter().copied()))
        .filter(scope.task_condition())
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?
    {
        if let Some(parent_id) = row.parent_id {
            grouped.entry(parent_id).or_default().push(row);
        }
    }
    Ok(grouped)
}

/// The tasks each department leads (in every plan, in plan and document order), within
/// the scope.
pub async fn tasks_led_by_departments(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    department_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<task::Model>>> {
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::DepartmentId.is_in(department_ids.iter().copied()))
        .all(db)
        .await?;
    let mut task_ids: Vec<i64> = leads.iter().map(|lead| lead.task_id).collect();
    task_ids.sort_unstable();
    task_ids.dedup();
    let mut tasks: Vec<task::Model> = task::Entity::find()
        .filter(task::Column::Id.is_in(task_ids))
        .filter(scope.task_condition())
        .all(db)
        .await?;
    tasks.sort_by_key(|task| (task.plan_id, task.position));
    let mut departments_of_task: HashMap<i64, Vec<i64>> = HashMap::new();
    for lead in leads {
        departments_of_task
            .entry(lead.task_id)
            .or_default()
            .push(lead.department_id);
    }
    let mut grouped: HashMap<i64, Vec<task::Model>> = HashMap::new();
    for task in tasks {
        for department_id in departments_of_task.get(&task.id).into_iter().flatten() {
            grouped
                .entry(*department_id)
                .or_default()
                .push(task.clone());
        }
    }
    Ok(grouped)
}
