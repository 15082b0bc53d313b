//! Who may see and do what. Services ask this module; resolvers never decide.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::entity::{indicator, indicator_responsible, task, task_lead};
use crate::error::{AppError, AppResult};

/// The roles a user can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum Role {
    /// Manages users, departments and plans; can do everything.
    Admin,
    /// The leadership group's office: reads everything and reviews.
    Leadership,
    /// A municipal department: sees and edits the items it leads.
    Department,
    /// The municipal portal: the public, read-only view.
    Portal,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Leadership => "LEADERSHIP",
            Role::Department => "DEPARTMENT",
            Role::Portal => "PORTAL",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Some(Role::Admin),
            "LEADERSHIP" => Some(Role::Leadership),
            "DEPARTMENT" => Some(Role::Department),
            "PORTAL" => Some(Role::Portal),
            _ => None,
        }
    }
}

/// A signed-in user as the request sees it, checked against the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    pub user_id: i64,
    pub role: Role,
    pub department_id: Option<i64>,
}

/// The caller of a service function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    User(SignedInUser),
    /// The process itself: the command line and start-up seeding.
    System,
}

/// How much of the plan a viewer may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadScope {
    /// Every plan item.
    Everything,
    /// The items one department leads or answers for, and the parents of its tasks.
    Department(i64),
}

impl Viewer {
    pub fn user(&self) -> Option<&SignedInUser> {
        match self {
            Viewer::User(user) => Some(user),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.user().map(|user| user.role)
    }

    /// Anonymous callers may only sign in.
    pub fn require_signed_in(&self) -> AppResult<()> {
        match self {
            Viewer::Anonymous => Err(AppError::Unauthenticated),
            _ => Ok(()),
        }
    }

    /// The part of the plan this viewer may read.
    pub fn read_scope(&self) -> AppResult<ReadScope> {
        match self {
            Viewer::Anonymous => Err(AppError::Unauthenticated),
            Viewer::System => Ok(ReadScope::Everything),
            Viewer::User(user) => match (user.role, user.department_id) {
                (Role::Department, Some(department_id)) => Ok(ReadScope::Department(department_id)),
                // A department account without a department sees nothing rather than everything.
                (Role::Department, None) => Ok(ReadScope::Department(-1)),
                (Role::Admin | Role::Leadership | Role::Portal, _) => Ok(ReadScope::Everything),
            },
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::System) || self.role() == Some(Role::Admin)
    }

    /// Admin and leadership: the roles that review and steer the plan.
    pub fn is_reviewer(&self) -> bool {
        self.is_admin() || self.role() == Some(Role::Leadership)
    }

    pub fn require_admin(&self) -> AppResult<()> {
        self.require_signed_in()?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("only an administrator may do this"))
        }
    }

    pub fn require_reviewer(&self) -> AppResult<()> {
        self.require_signed_in()?;
        if self.is_reviewer() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "only the leadership group's office may do this",
            ))
        }
    }

    /// The portal's public view never includes drafts, files, users or the audit log.
    pub fn sees_internal_records(&self) -> bool {
        !matches!(self.role(), Some(Role::Portal)) && !matches!(self, Viewer::Anonymous)
    }
}

impl ReadScope {
    /// The SQL condition on `task` that keeps the tasks this scope may read: those the
    /// department leads, and the parents of those (for context).
    pub fn task_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(department_id) => {
                let led = task_lead::Entity::find()
                    .select_only()
                    .column(task_lead::Column::TaskId)
                    .filter(task_lead::Column::DepartmentId.eq(department_id))
                    .into_query();
                let parents_of_led = Query::select()
                    .column((task::Entity, task::Column::ParentId))
                    .from(task::Entity)
                    .inner_join(
                        task_lead::Entity,
                        Expr::col((task_lead::Entity, task_lead::Column::TaskId))
                            .equals((task::Entity, task::Column::Id)),
                    )
                    .and_where(
                        Expr::col((task_lead::Entity, task_lead::Column::DepartmentId))
                            .eq(department_id),
                    )
                    .and_where(Expr::col((task::Entity, task::Column::ParentId)).is_not_null())
                    .to_owned();
                Condition::any()
                    .add(task::Column::Id.in_subquery(led))
                    .add(task::Column::Id.in_subquery(parents_of_led))
            }
        }
    }

    /// The SQL condition on `indicator` that keeps the indicators this scope may read:
    /// those the department is responsible for.
    pub fn indicator_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(department_id) => {
                let responsible = indicator_responsible::Entity::find()
                    .select_only()
                    .column(indicator_responsible::Column::IndicatorId)
                    .filter(indicator_responsible::Column::DepartmentId.eq(department_id))
                    .into_query();
                Condition::all().add(indicator::Column::Id.in_subquery(responsible))
            }
        }
    }
}
