//! Departments over GraphQL: thin wrappers over the plan snapshot.

use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::plan::optional_id;
use crate::graphql::report::decode;
use crate::graphql::task::Task;
use crate::graphql::types::global_id;
use crate::id::NodeKind;
use crate::service::department::{self, DepartmentKey};
use crate::service::snapshot::PlanView;

/// A municipal department.
pub struct Department {
    pub view: PlanView,
    pub index: usize,
}

impl Department {
    pub fn new(view: &PlanView, index: usize) -> Self {
        Self {
            view: view.clone(),
            index,
        }
    }

    /// The department with this id, which a row that points at it guarantees exists.
    pub fn of_id(view: &PlanView, id: i64) -> Result<Self> {
        let index = view.snapshot.department_index(id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "department {id}, referenced by a foreign key, is not in the snapshot"
            ))
        })?;
        Ok(Self::new(view, index))
    }

    fn row(&self) -> &crate::entity::department::Model {
        &self.view.snapshot.departments[self.index].row
    }
}

#[Object]
impl Department {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Department, self.row().id)
    }
    /// A stable ASCII code, for URLs and the command line.
    async fn code(&self) -> &str {
        &self.row().code
    }
    /// The full name.
    async fn name(&self) -> &str {
        &self.row().name
    }
    /// Other names the plan uses for the department.
    async fn aliases(&self) -> &[String] {
        &self.view.snapshot.departments[self.index].aliases
    }
    /// The tasks the department leads that the caller may see.
    async fn tasks(&self) -> Vec<Task> {
        crate::service::task::tasks_led_by(&self.view, self.index)
            .into_iter()
            .map(|index| Task::new(&self.view, index))
            .collect()
    }
}

#[derive(Default)]
pub struct DepartmentQuery;

#[Object]
impl DepartmentQuery {
    /// Every department.
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let view = ctx.request().plan_view().await?;
        Ok(department::list_departments(&view)?
            .into_iter()
            .map(|index| Department::new(&view, index))
            .collect())
    }

    /// One department by id, code, or name (full name or alias, in either script);
    /// exactly one of them, checked when it runs.
    #[graphql(
        deprecation = "Use `departmentById`, `departmentByCode` or `departmentByName`, whose arguments say what is required."
    )]
    async fn department(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
        name: Option<String>,
    ) -> Result<Option<Department>> {
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
        find(ctx, key).await
    }

    /// One department by its id.
    async fn department_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Department>> {
        let id = decode(&id, NodeKind::Department)?;
        find(ctx, DepartmentKey::Id(id)).await
    }

    /// One department by its code (`finance`).
    async fn department_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<Option<Department>> {
        find(ctx, DepartmentKey::Code(&code)).await
    }

    /// One department by its full name or an alias, in Traditional or Simplified
    /// characters.
    async fn department_by_name(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<Option<Department>> {
        find(ctx, DepartmentKey::Name(&name)).await
    }
}

async fn find(ctx: &Context<'_>, key: DepartmentKey<'_>) -> Result<Option<Department>> {
    let view = ctx.request().plan_view().await?;
    Ok(department::find_department(&view, key)?.map(|index| Department::new(&view, index)))
}
