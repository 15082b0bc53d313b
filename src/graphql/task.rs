//! Tasks over GraphQL: thin wrappers over the plan snapshot, with the reporting records
//! of each task loaded in batches.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::error::AppError;
use crate::graphql::audit::AuditEntry;
use crate::graphql::connection::{
    AuditEntryConnection, EvidenceConnection, ProgressReportConnection, TaskConnection,
};
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::evidence::Evidence;
use crate::graphql::indicator::Indicator;
use crate::graphql::loaders::ReportsOfTask;
use crate::graphql::plan::{Plan, Section, optional_id};
use crate::graphql::report::{ProgressReport, decode};
use crate::graphql::types::{Date, global_id};
use crate::id::{NodeId, NodeKind};
use crate::service::light::{Judgement, Light, LightFilter};
use crate::service::page::{PageArgs, page_args};
use crate::service::plan::resolve_plan;
use crate::service::policy;
use crate::service::report;
use crate::service::snapshot::PlanView;
use crate::service::status::TaskStatus;
use crate::service::task::{self, DepartmentRef, TaskFilter as ServiceTaskFilter};

/// A numbered task of a plan, or a part of one (`2.1`).
pub struct Task {
    pub view: PlanView,
    pub index: usize,
}

impl Task {
    pub fn new(view: &PlanView, index: usize) -> Self {
        Self {
            view: view.clone(),
            index,
        }
    }

    /// The task of a record the caller may read, which is always on a task it may read.
    pub fn of_id(view: &PlanView, id: i64) -> Result<Self> {
        let index = view.snapshot.task_index(id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "task {id}, referenced by a foreign key, is not in the snapshot"
            ))
        })?;
        Ok(Self::new(view, index))
    }

    fn node(&self) -> &crate::service::snapshot::TaskNode {
        &self.view.snapshot.tasks[self.index]
    }

    async fn judge(&self, ctx: &Context<'_>, period: Option<String>) -> Result<Judgement> {
        let lights = ctx
            .request()
            .lights(&self.view, self.node().plan as usize, period.as_deref())
            .await?;
        Ok(lights.task(&self.view, self.index, None))
    }

    fn wrap(&self, indexes: Vec<usize>) -> Vec<Task> {
        indexes
            .into_iter()
            .map(|index| Task::new(&self.view, index))
            .collect()
    }
}

#[Object]
impl Task {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Task, self.node().row.id)
    }
    /// The document's numbering: `12`, or `2.3` for a part of task 2.
    async fn code(&self) -> &str {
        &self.node().row.code
    }
    async fn title(&self) -> &str {
        &self.node().row.title
    }
    /// The full text, as the document writes it.
    async fn text(&self) -> &str {
        &self.node().row.text
    }
    /// The lead units as the document writes them, e.g. `市生態環境局、市水利局按職責牽頭`.
    async fn leads_as_written(&self) -> Option<&str> {
        self.node().row.leads_as_written.as_deref()
    }
    async fn plan(&self) -> Plan {
        Plan::new(&self.view, self.node().plan as usize)
    }
    async fn section(&self) -> Section {
        Section::new(&self.view, self.node().section as usize)
    }
    /// The task this one is a part of.
    async fn parent(&self) -> Option<Task> {
        task::parent(&self.view, self.index).map(|index| Task::new(&self.view, index))
    }
    /// The parts of this task that the caller may see, in order.
    async fn subtasks(&self) -> Vec<Task> {
        self.wrap(task::subtasks(&self.view, self.index))
    }
    /// The departments that lead the task, in the document's order; for a task with parts,
    /// every department that leads a part.
    async fn lead_departments(&self) -> Vec<Department> {
        task::lead_departments(&self.view, self.index)
            .into_iter()
            .map(|index| Department::new(&self.view, index))
            .collect()
    }
    /// The task's indicators that the caller may see.
    async fn indicators(&self) -> Vec<Indicator> {
        crate::service::indicator::indicators_of_task(&self.view, self.index)
            .into_iter()
            .map(|index| Indicator::new(&self.view, index))
            .collect()
    }
    /// Set by the leadership group; the end of the plan's year unless changed.
    async fn due_on(&self) -> Date {
        Date(self.node().due_on)
    }
    /// Raised by every change of the task (its due date, a correction of a draft plan):
    /// give it to `setTaskDueDate` so that a change made meanwhile is not overwritten.
    async fn version(&self) -> i32 {
        self.node().row.version
    }
    /// From the lead departments' latest approved reports and the due date.
    async fn status(&self) -> TaskStatus {
        self.view.snapshot.task_status(self.index, self.view.today)
    }
    /// The traffic light for a period (the current one when none is named): see `Light`.
    async fn light(&self, ctx: &Context<'_>, period: Option<String>) -> Result<Light> {
        Ok(self.judge(ctx, period).await?.light)
    }
    /// The rule that set `light`, in words.
    async fn light_reason(&self, ctx: &Context<'_>, period: Option<String>) -> Result<String> {
        Ok(self.judge(ctx, period).await?.reason)
    }
    /// The progress reports the caller may see, newest period first.
    async fn progress_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ProgressReportConnection> {
        let args = page_args(first, after, last, before);
        ProgressReportConnection::load(ctx, ReportsOfTask(self.node().row.id), args, ProgressReport)
            .await
    }
    /// Whether the viewer may report progress on it: a department that leads it, in a
    /// published plan, on a task not reported through its parts.
    async fn viewer_can_report(&self, ctx: &Context<'_>) -> bool {
        policy::may_report_on_task(&ctx.request().viewer, &self.view.snapshot, self.index)
    }
    /// The evidence the caller may see.
    async fn evidence(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<EvidenceConnection> {
        let args = page_args(first, after, last, before);
        let request = ctx.request();
        args.validate(request.settings.max_page_size)?;
        let files = request.evidence_of_task(self.node().row.id).await?;
        Ok(EvidenceConnection::from_list(
            files.to_vec(),
            &args,
            request.settings.max_page_size,
            Evidence,
        )?)
    }
    /// Recorded changes of the task itself (its due date), oldest first; not in the
    /// portal's public view.
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let args = page_args(first, after, last, before);
        let history = crate::service::audit::plan_item_history(&self.view, &self.node().history);
        Ok(AuditEntryConnection::from_list(
            history.to_vec(),
            &args,
            ctx.request().settings.max_page_size,
            AuditEntry,
        )?)
    }
}

/// Narrows `tasks`; the fields combine with AND.
#[derive(InputObject, Default)]
pub struct TaskFilter {
    /// Only tasks of the section with this number (1–6 in the 2022 plan).
    pub section: Option<i32>,
    /// Only tasks this department leads (its id).
    pub department_id: Option<ID>,
    /// Only tasks this department leads (its code).
    pub department_code: Option<String>,
    /// Leave out subtasks such as `2.1`.
    pub top_level_only: Option<bool>,
    /// Words to find in code, title and text; Simplified or Traditional characters.
    pub search: Option<String>,
    /// Only tasks with this traffic light, for `period`.
    pub light: Option<Light>,
    /// The period `light` is judged for (the current one by default).
    pub period: Option<String>,
}

pub(crate) fn department_ref(
    id: Option<ID>,
    code: Option<String>,
) -> Result<Option<DepartmentRef>, AppError> {
    match (id, code) {
        (Some(_), Some(_)) => Err(AppError::bad_input(
            "name the department by id or by code, not both",
        )),
        (Some(id), None) => Ok(Some(DepartmentRef::Id(NodeId::decode_as(
            &id,
            NodeKind::Department,
        )?))),
        (None, Some(code)) => Ok(Some(DepartmentRef::Code(code))),
        (None, None) => Ok(None),
    }
}

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// The tasks of a plan (the newest when none is named), subtasks included, in the
    /// document's order.
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        plan_id: Option<ID>,
        filter: Option<TaskFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TaskConnection> {
        let request = ctx.request();
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let filter = filter.unwrap_or_default();
        let (light_filter, period) = (filter.light, filter.period);
        let filter = ServiceTaskFilter {
            section_number: filter.section,
            department: department_ref(filter.department_id, filter.department_code)?,
            top_level_only: filter.top_level_only.unwrap_or(false),
            search: filter.search,
            light: None,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        // Bad paging is refused before anything is read.
        args.validate(request.settings.max_page_size)?;
        let view = request.plan_view().await?;
        let mut filter = filter;
        if let Some(light) = light_filter
            && let Some(plan) = resolve_plan(&view, plan_id)?
        {
            filter.light = Some(LightFilter {
                light,
                lights: request.lights(&view, plan, period.as_deref()).await?,
            });
        }
        let page = task::list_tasks(
            &view,
            plan_id,
            &filter,
            &args,
            request.settings.max_page_size,
        )?;
        Ok(TaskConnection::from_page(page, |index| {
            Task::new(&view, index)
        }))
    }

    /// One task by id, or by code (`12`, `2.3`) in a plan (the newest when none is named);
    /// exactly one of `id` and `code`, checked when it runs.
    #[graphql(
        deprecation = "Use `taskById` or `taskByCode`, whose arguments say what is required."
    )]
    async fn task(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
        plan_id: Option<ID>,
    ) -> Result<Option<Task>> {
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let view = ctx.request().plan_view().await?;
        let found = match (id, code) {
            (Some(id), None) => {
                let id = NodeId::decode_as(&id, NodeKind::Task)?;
                task::find_task(&view, id)?
            }
            (None, Some(code)) => task::find_task_by_code(&view, plan_id, &code)?,
            _ => return Err(AppError::bad_input("give exactly one of `id` and `code`").into()),
        };
        Ok(found.map(|index| Task::new(&view, index)))
    }

    /// One task by its id; `null` when the caller may not see it.
    async fn task_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Task>> {
        let view = ctx.request().plan_view().await?;
        let id = NodeId::decode_as(&id, NodeKind::Task)?;
        Ok(task::find_task(&view, id)?.map(|index| Task::new(&view, index)))
    }

    /// One task by its code (`12`, `2.3`) in a plan (the newest when none is named);
    /// `null` when the caller may not see it.
    async fn task_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
        plan_id: Option<ID>,
    ) -> Result<Option<Task>> {
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let view = ctx.request().plan_view().await?;
        Ok(task::find_task_by_code(&view, plan_id, &code)?.map(|index| Task::new(&view, index)))
    }
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Sets a task's due date (leadership). With `version` (the task's, as read), a
    /// change made meanwhile is not overwritten: `STALE_VERSION` with `currentVersion`.
    async fn set_task_due_date(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        due_on: Date,
        version: Option<i32>,
    ) -> Result<Task> {
        let request = ctx.request();
        let task_id = decode(&task_id, NodeKind::Task)?;
        let saved =
            report::set_task_due_date(request.db(), &request.caller(), task_id, due_on.0, version)
                .await?;
        let view = request.fresh_plan_view().await?;
        Task::of_id(&view, saved.id)
    }
}
