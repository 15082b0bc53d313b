//! The read side of the API. Resolvers only translate: the services decide.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::error::AppError;
use crate::graphql::connection::{IndicatorConnection, TaskConnection};
use crate::graphql::context::ContextExt;
use crate::graphql::types::{Department, Indicator, Node, Plan, Section, Task};
use crate::id::{NodeId, NodeKind};
use crate::service::department::{self, DepartmentKey};
use crate::service::indicator::{self, IndicatorFilter as ServiceIndicatorFilter, TargetKind};
use crate::service::page::PageArgs;
use crate::service::plan;
use crate::service::task::{self, DepartmentRef, TaskFilter as ServiceTaskFilter};

#[derive(Default)]
pub struct PlanQuery;

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
}

/// Narrows `indicators`; the fields combine with AND.
#[derive(InputObject, Default)]
pub struct IndicatorFilter {
    pub department_id: Option<ID>,
    pub department_code: Option<String>,
    pub task_id: Option<ID>,
    pub target_kind: Option<TargetKind>,
    /// Words to find in name and target wording; Simplified or Traditional characters.
    pub search: Option<String>,
}

fn department_ref(id: Option<ID>, code: Option<String>) -> Result<Option<DepartmentRef>, AppError> {
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

fn optional_id(id: Option<&ID>, kind: NodeKind) -> Result<Option<i64>, AppError> {
    id.map(|id| NodeId::decode_as(id, kind)).transpose()
}

#[Object]
impl PlanQuery {
    /// Any object by its global id; `null` when it does not exist or is not visible.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let request = ctx.request();
        let (db, viewer) = (&request.db, &request.viewer);
        let node = NodeId::decode(&id)?;
        let found = match node.kind {
            NodeKind::Plan => plan::find_plan(db, viewer, Some(node.id))
                .await?
                .map(|row| Node::Plan(Plan(row))),
            NodeKind::Section => plan::find_section(db, viewer, node.id)
                .await?
                .map(|row| Node::Section(Section(row))),
            NodeKind::Department => {
                department::find_department(db, viewer, DepartmentKey::Id(node.id))
                    .await?
                    .map(|row| Node::Department(Department(row)))
            }
            NodeKind::Task => task::find_task(db, viewer, node.id)
                .await?
                .map(|row| Node::Task(Task(row))),
            NodeKind::Indicator => indicator::find_indicator(db, viewer, node.id)
                .await?
                .map(|row| Node::Indicator(Indicator(row))),
            NodeKind::User => crate::service::user::find_user_for(db, viewer, node.id)
                .await?
                .map(|row| Node::User(crate::graphql::user::User(row))),
            NodeKind::ProgressReport | NodeKind::IndicatorValue | NodeKind::Evidence => {
                let kind = crate::service::submission::SubmissionKind::from_node(node.kind)?;
                crate::service::submission::find_visible(db, viewer, kind, node.id)
                    .await?
                    .map(|row| match crate::graphql::report::Submission::from(row) {
                        crate::graphql::report::Submission::ProgressReport(item) => {
                            Node::ProgressReport(item)
                        }
                        crate::graphql::report::Submission::IndicatorValue(item) => {
                            Node::IndicatorValue(item)
                        }
                        crate::graphql::report::Submission::Evidence(item) => Node::Evidence(item),
                    })
            }
            NodeKind::AuditEntry => crate::service::audit::find_entry(db, viewer, node.id)
                .await?
                .map(|row| Node::AuditEntry(crate::graphql::report::AuditEntry(row))),
        };
        Ok(found)
    }

    /// Every plan, newest first.
    async fn plans(&self, ctx: &Context<'_>) -> Result<Vec<Plan>> {
        let request = ctx.request();
        let plans = plan::list_plans(&request.db, &request.viewer).await?;
        Ok(plans.into_iter().map(Plan).collect())
    }

    /// A plan by id; the newest plan when no id is given.
    async fn plan(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<Plan>> {
        let request = ctx.request();
        let id = optional_id(id.as_ref(), NodeKind::Plan)?;
        Ok(plan::find_plan(&request.db, &request.viewer, id)
            .await?
            .map(Plan))
    }

    /// The sections of a plan (the newest when none is named), in order.
    async fn sections(&self, ctx: &Context<'_>, plan_id: Option<ID>) -> Result<Vec<Section>> {
        let request = ctx.request();
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let sections = plan::list_sections(&request.db, &request.viewer, plan_id).await?;
        Ok(sections.into_iter().map(Section).collect())
    }

    /// Every department.
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let request = ctx.request();
        let departments = department::list_departments(&request.db, &request.viewer).await?;
        Ok(departments.into_iter().map(Department).collect())
    }

    /// One department by id, code, or name (full name or alias, in either script).
    async fn department(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
        name: Option<String>,
    ) -> Result<Option<Department>> {
        let request = ctx.request();
        let id = optional_id(id.as_ref(), NodeKind::Department)?;
        let key = match (id, code.as_deref(), name.as_deref()) {
            (Some(id), None, None) => DepartmentKey::Id(id),
            (None, Some(code), None) => DepartmentKey::Code(code),
            (None, None, Some(name)) => DepartmentKey::Name(name),
            _ => {
                return Err(
                    AppError::bad_input("give exactly one of `id`, `code` and `name`").into(),
                );
            }
        };
        Ok(
            department::find_department(&request.db, &request.viewer, key)
                .await?
                .map(Department),
        )
    }

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
        let filter = ServiceTaskFilter {
            section_number: filter.section,
            department: department_ref(filter.department_id, filter.department_code)?,
            top_level_only: filter.top_level_only.unwrap_or(false),
            search: filter.search,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = task::list_tasks(
            &request.db,
            &request.viewer,
            plan_id,
            &filter,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(TaskConnection::from_page(page, Task))
    }

    /// One task by id, or by code (`12`, `2.3`) in a plan (the newest when none is named).
    async fn task(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
        plan_id: Option<ID>,
    ) -> Result<Option<Task>> {
        let request = ctx.request();
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let found = match (id, code) {
            (Some(id), None) => {
                let id = NodeId::decode_as(&id, NodeKind::Task)?;
                task::find_task(&request.db, &request.viewer, id).await?
            }
            (None, Some(code)) => {
                task::find_task_by_code(&request.db, &request.viewer, plan_id, &code).await?
            }
            _ => return Err(AppError::bad_input("give exactly one of `id` and `code`").into()),
        };
        Ok(found.map(Task))
    }

    /// The indicators of a plan (the newest when none is named), in the document's order.
    #[allow(clippy::too_many_arguments)]
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        plan_id: Option<ID>,
        filter: Option<IndicatorFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<IndicatorConnection> {
        let request = ctx.request();
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        let filter = filter.unwrap_or_default();
        let filter = ServiceIndicatorFilter {
            department: department_ref(filter.department_id, filter.department_code)?,
            task_id: optional_id(filter.task_id.as_ref(), NodeKind::Task)?,
            target_kind: filter.target_kind,
            search: filter.search,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = indicator::list_indicators(
            &request.db,
            &request.viewer,
            plan_id,
            &filter,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(IndicatorConnection::from_page(page, Indicator))
    }

    /// One indicator by id.
    async fn indicator(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Indicator>> {
        let request = ctx.request();
        let id = NodeId::decode_as(&id, NodeKind::Indicator)?;
        Ok(indicator::find_indicator(&request.db, &request.viewer, id)
            .await?
            .map(Indicator))
    }
}
