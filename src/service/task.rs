//! Tasks of a plan: finding, listing and searching them within what the viewer may read,
//! from the plan snapshot.

use crate::error::{AppError, AppResult};
use crate::id::truncate;
use crate::service::light::LightFilter;
use crate::service::page::{Page, PageArgs, paginate_in_memory};
use crate::service::plan::resolve_plan;
use crate::service::snapshot::PlanView;
use crate::text::fold;

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
    /// Only tasks with this light.
    pub light: Option<LightFilter>,
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

/// The folded words of a search, each of which must appear; bad input before any work.
pub fn search_words(search: &str) -> AppResult<Vec<String>> {
    let folded = fold(search);
    if folded.chars().count() > 200 {
        return Err(AppError::bad_input(
            "a search may be at most 200 characters long",
        ));
    }
    Ok(folded.split_whitespace().map(str::to_owned).collect())
}

/// Whether every word appears in a folded search text.
pub fn matches_words(search_text: &str, words: &[String]) -> bool {
    words.iter().all(|word| search_text.contains(word.as_str()))
}

/// The department a filter names, or `BAD_USER_INPUT` when there is none such.
pub fn resolve_department_ref(view: &PlanView, reference: &DepartmentRef) -> AppResult<usize> {
    let found = match reference {
        DepartmentRef::Id(id) => view.snapshot.department_index(*id),
        DepartmentRef::Code(code) => view.snapshot.department_by_code(code),
    };
    found.ok_or_else(|| AppError::bad_input("the filter names a department that does not exist"))
}

/// The tasks of a plan (the newest when none is named) that the viewer may read, in the
/// document's order, one page at a time.
pub fn list_tasks(
    view: &PlanView,
    plan_id: Option<i64>,
    filter: &TaskFilter,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<usize>> {
    view.require_readable()?;
    args.validate(max_page_size)?;
    let words = filter.search.as_deref().map(search_words).transpose()?;
    let department = filter
        .department
        .as_ref()
        .map(|reference| resolve_department_ref(view, reference))
        .transpose()?;
    let Some(plan) = resolve_plan(view, plan_id)? else {
        return paginate_in_memory(Vec::new(), args, max_page_size);
    };
    let snapshot = &view.snapshot;
    let department_id = department.map(|index| snapshot.departments[index].row.id);
    let items: Vec<(i64, usize)> = snapshot.plans[plan]
        .tasks
        .iter()
        .map(|task| *task as usize)
        .filter(|task| view.scope.sees_task(snapshot, *task))
        .filter(|task| {
            let node = &snapshot.tasks[*task];
            filter
                .section_number
                .is_none_or(|number| snapshot.sections[node.section as usize].row.number == number)
                && department_id.is_none_or(|id| snapshot.task_led_by(*task, id))
                && !(filter.top_level_only && node.parent.is_some())
                && words
                    .as_ref()
                    .is_none_or(|words| matches_words(&node.row.search_text, words))
                && filter.light.as_ref().is_none_or(|wanted| {
                    wanted.lights.task(view, *task, None).light == wanted.light
                })
        })
        .map(|task| (i64::from(snapshot.tasks[task].row.position), task))
        .collect();
    paginate_in_memory(items, args, max_page_size)
}

/// One task by id, or `None` when it does not exist or the viewer may not read it.
pub fn find_task(view: &PlanView, id: i64) -> AppResult<Option<usize>> {
    view.require_readable()?;
    Ok(view
        .snapshot
        .task_index(id)
        .filter(|task| view.scope.sees_task(&view.snapshot, *task)))
}

/// One task by its code in a plan (the newest when none is named).
pub fn find_task_by_code(
    view: &PlanView,
    plan_id: Option<i64>,
    code: &str,
) -> AppResult<Option<usize>> {
    view.require_readable()?;
    let code = parse_task_code(code)?;
    let Some(plan) = resolve_plan(view, plan_id)? else {
        return Ok(None);
    };
    Ok(view
        .snapshot
        .task_by_code(plan, &code)
        .filter(|task| view.scope.sees_task(&view.snapshot, *task)))
}

fn visible(view: &PlanView, tasks: &[u32]) -> Vec<usize> {
    tasks
        .iter()
        .map(|task| *task as usize)
        .filter(|task| view.scope.sees_task(&view.snapshot, *task))
        .collect()
}

/// The top-level tasks of a section, in order, within the scope.
pub fn top_level_tasks(view: &PlanView, section: usize) -> Vec<usize> {
    visible(view, &view.snapshot.sections[section].top_level_tasks)
}

/// The parts of a task, in order, within the scope.
pub fn subtasks(view: &PlanView, task: usize) -> Vec<usize> {
    visible(view, &view.snapshot.tasks[task].subtasks)
}

/// The task a part belongs to (a viewer who sees a part sees its task).
pub fn parent(view: &PlanView, task: usize) -> Option<usize> {
    view.snapshot.tasks[task]
        .parent
        .map(|parent| parent as usize)
        .filter(|parent| view.scope.sees_task(&view.snapshot, *parent))
}

/// The tasks a department leads, in every plan, within the scope.
pub fn tasks_led_by(view: &PlanView, department: usize) -> Vec<usize> {
    visible(view, &view.snapshot.departments[department].led_tasks)
}

/// The departments that lead a task, in the document's order; for a task with parts,
/// every department that leads a part. Who leads what is public.
pub fn lead_departments(view: &PlanView, task: usize) -> Vec<usize> {
    view.snapshot.tasks[task]
        .lead_departments
        .iter()
        .map(|department| *department as usize)
        .collect()
}
