//! Who may see and do what. This module is the only place that decides: services ask it,
//! resolvers and handlers never do.
//!
//! Reads go through one [`ReadScope`], which answers both for the plan held in memory
//! ([`ReadScope::sees_task`], [`ReadScope::sees_indicator`]) and for the tables read
//! with SQL ([`ReadScope::submission_condition`] and friends). Writes go through the
//! `require_…` functions, each with one refusal.

use sea_orm::{ColumnTrait, Condition};

use crate::error::{AppError, AppResult};
use crate::service::snapshot::PlanSnapshot;

/// The roles a user can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
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

/// What a signed-in account is, with the department a department account belongs to.
/// A department account without a department cannot be signed in, so none exists here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Admin,
    Leadership,
    Department(i64),
    Portal,
}

impl Access {
    /// The access of an account row, or a refusal for a department account that has no
    /// department (it could otherwise neither see its own items nor be told why).
    pub fn of_account(role: Role, department_id: Option<i64>) -> AppResult<Self> {
        match (role, department_id) {
            (Role::Admin, _) => Ok(Access::Admin),
            (Role::Leadership, _) => Ok(Access::Leadership),
            (Role::Portal, _) => Ok(Access::Portal),
            (Role::Department, Some(department_id)) => Ok(Access::Department(department_id)),
            (Role::Department, None) => Err(AppError::forbidden(
                "this department account belongs to no department; an administrator must assign one before it can sign in",
            )),
        }
    }

    pub fn role(self) -> Role {
        match self {
            Access::Admin => Role::Admin,
            Access::Leadership => Role::Leadership,
            Access::Department(_) => Role::Department,
            Access::Portal => Role::Portal,
        }
    }

    pub fn department_id(self) -> Option<i64> {
        match self {
            Access::Department(id) => Some(id),
            _ => None,
        }
    }
}

/// A signed-in user as the request sees it, checked against the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    pub user_id: i64,
    pub access: Access,
}

impl SignedInUser {
    pub fn role(&self) -> Role {
        self.access.role()
    }
}

/// The caller of a service function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    User(SignedInUser),
    /// The process itself: the command line and start-up seeding.
    System,
}

/// What a viewer may read, for every kind of record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadScope {
    /// Every plan item and every record (administrators, the leadership group, the process).
    Everything,
    /// The items one department leads or answers for, the parents of its tasks, and the
    /// department's own submissions.
    Department(i64),
    /// The portal's public view: the whole plan and the approved figures and reports;
    /// never drafts, files, people or the audit trail.
    Public,
    /// Nothing at all (a caller who has not signed in).
    Nothing,
}

impl Viewer {
    pub fn user(&self) -> Option<&SignedInUser> {
        match self {
            Viewer::User(user) => Some(user),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.user().map(SignedInUser::role)
    }

    /// Anonymous callers may only sign in.
    pub fn require_signed_in(&self) -> AppResult<()> {
        match self {
            Viewer::Anonymous => Err(AppError::Unauthenticated),
            _ => Ok(()),
        }
    }

    /// What this viewer may read; `Nothing` for a caller who has not signed in.
    pub fn scope(&self) -> ReadScope {
        match self {
            Viewer::Anonymous => ReadScope::Nothing,
            Viewer::System => ReadScope::Everything,
            Viewer::User(user) => match user.access {
                Access::Admin | Access::Leadership => ReadScope::Everything,
                Access::Department(department_id) => ReadScope::Department(department_id),
                Access::Portal => ReadScope::Public,
            },
        }
    }

    /// The scope of a read, or `UNAUTHENTICATED` for a caller who has not signed in.
    pub fn read_scope(&self) -> AppResult<ReadScope> {
        self.require_signed_in()?;
        Ok(self.scope())
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::System)
            || matches!(self.user().map(|user| user.access), Some(Access::Admin))
    }

    /// Admin and leadership: the roles that review and steer the plan.
    pub fn is_reviewer(&self) -> bool {
        self.is_admin()
            || matches!(
                self.user().map(|user| user.access),
                Some(Access::Leadership)
            )
    }

    /// Managing users is for administrators.
    pub fn require_admin(&self) -> AppResult<()> {
        self.require_signed_in()?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("only an administrator may do this"))
        }
    }

    /// Correcting and publishing a draft plan is for administrators and the leadership
    /// group, who alone see drafts.
    pub fn require_plan_editor(&self) -> AppResult<()> {
        self.require_signed_in()?;
        if self.is_reviewer() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "only an administrator or the leadership group's office may correct or publish a plan",
            ))
        }
    }

    /// Reviewing, due dates, external targets and periods are for the leadership group.
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

    /// The department a department user acts for, or a refusal naming what only
    /// departments do (`what`, e.g. "reports and values are written").
    pub fn acting_department(&self, refusal: &str) -> AppResult<i64> {
        self.require_signed_in()?;
        match self.user().map(|user| user.access) {
            Some(Access::Department(department_id)) => Ok(department_id),
            _ => Err(AppError::forbidden(refusal)),
        }
    }

    /// Only the department that made a submission may change or submit it.
    pub fn require_own_submission(&self, department_id: i64) -> AppResult<()> {
        self.require_signed_in()?;
        match self.user().map(|user| user.access) {
            Some(Access::Department(own)) if own == department_id => Ok(()),
            _ => Err(AppError::forbidden(
                "only the department that made this submission may change it",
            )),
        }
    }
}

/// A draft plan takes no reports, values or evidence: departments do not see it yet.
pub fn require_published(plan: &crate::entity::plan::Model) -> AppResult<()> {
    if plan.published {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "this plan is a draft: it takes reports once it is published",
        ))
    }
}

/// A department may report on a task only when it leads it, in a published plan.
pub fn require_leads_task(plan: &PlanSnapshot, task_id: i64, department_id: i64) -> AppResult<()> {
    let leads = plan.task_by_id(task_id).is_some_and(|task| {
        plan.task_led_by(task, department_id)
            && ReadScope::Department(department_id).sees_plan_of_task(plan, task)
    });
    if leads {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "your department does not lead this task",
        ))
    }
}

/// A department may report a value only for an indicator it answers for, in a published
/// plan.
pub fn require_answers_for_indicator(
    plan: &PlanSnapshot,
    indicator_id: i64,
    department_id: i64,
) -> AppResult<()> {
    let answers = plan.indicator_by_id(indicator_id).is_some_and(|indicator| {
        plan.indicator_answered_by(indicator, department_id)
            && ReadScope::Department(department_id).sees_indicator(plan, indicator)
    });
    if answers {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "your department does not answer for this indicator",
        ))
    }
}

impl ReadScope {
    /// Whether the plan's items can be read at all.
    pub fn sees_plan(self) -> bool {
        self != ReadScope::Nothing
    }

    /// A draft plan (imported, under review) is seen by administrators and the leadership
    /// group only; departments and the portal see a plan, and anything in it, once it is
    /// published.
    pub fn sees_plan_row(self, plan: &crate::entity::plan::Model) -> bool {
        match self {
            ReadScope::Everything => true,
            ReadScope::Department(_) | ReadScope::Public => plan.published,
            ReadScope::Nothing => false,
        }
    }

    fn sees_plan_of_task(self, plan: &PlanSnapshot, task: usize) -> bool {
        self.sees_plan_row(&plan.plans[plan.tasks[task].plan as usize].row)
    }

    /// A department sees the tasks it leads, and the parents of those (for context);
    /// everyone else who has signed in sees every task.
    pub fn sees_task(self, plan: &PlanSnapshot, task: usize) -> bool {
        if !self.sees_plan_of_task(plan, task) {
            return false;
        }
        match self {
            ReadScope::Everything | ReadScope::Public => true,
            ReadScope::Nothing => false,
            ReadScope::Department(department_id) => {
                plan.task_led_by(task, department_id)
                    || plan.tasks[task]
                        .subtasks
                        .iter()
                        .any(|part| plan.task_led_by(*part as usize, department_id))
            }
        }
    }

    /// A department sees the indicators it answers for.
    pub fn sees_indicator(self, plan: &PlanSnapshot, indicator: usize) -> bool {
        if !self.sees_plan_of_task(plan, plan.indicators[indicator].task as usize) {
            return false;
        }
        match self {
            ReadScope::Everything | ReadScope::Public => true,
            ReadScope::Nothing => false,
            ReadScope::Department(department_id) => {
                plan.indicator_answered_by(indicator, department_id)
            }
        }
    }

    /// Drafts, files, people, history and the audit trail: not for the public view.
    pub fn sees_internal_records(self) -> bool {
        matches!(self, ReadScope::Everything | ReadScope::Department(_))
    }

    /// Whether the scope reads every submission and every audit entry.
    pub fn sees_all_records(self) -> bool {
        self == ReadScope::Everything
    }

    /// The SQL condition on a submission table (progress reports, indicator values),
    /// given its department and review-status columns: a department reads its own, the
    /// public view reads approved ones.
    pub fn submission_condition(
        self,
        department: impl ColumnTrait,
        status: impl ColumnTrait,
    ) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(id) => Condition::all().add(department.eq(id)),
            ReadScope::Public => Condition::all()
                .add(status.eq(crate::service::submission::ReviewStatus::Approved.as_str())),
            ReadScope::Nothing => Condition::any(),
        }
    }

    /// The SQL condition on evidence: files are never public.
    pub fn evidence_condition(self, department: impl ColumnTrait) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(id) => Condition::all().add(department.eq(id)),
            ReadScope::Public | ReadScope::Nothing => Condition::any(),
        }
    }

    /// Whether one submission row, of a department and in a review status, is readable.
    pub fn sees_submission(self, department_id: i64, approved: bool, is_file: bool) -> bool {
        match self {
            ReadScope::Everything => true,
            ReadScope::Department(id) => id == department_id,
            ReadScope::Public => approved && !is_file,
            ReadScope::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_department_account_needs_its_department() {
        assert_eq!(
            Access::of_account(Role::Department, Some(7)).ok(),
            Some(Access::Department(7))
        );
        let refused = Access::of_account(Role::Department, None);
        assert!(matches!(refused, Err(AppError::Forbidden(_))));
        assert_eq!(
            Access::of_account(Role::Leadership, None).ok(),
            Some(Access::Leadership)
        );
    }

    #[test]
    fn the_public_view_and_nobody_see_no_internal_records() {
        assert!(ReadScope::Everything.sees_internal_records());
        assert!(ReadScope::Department(1).sees_internal_records());
        assert!(!ReadScope::Public.sees_internal_records());
        assert!(!ReadScope::Nothing.sees_internal_records());
        assert!(ReadScope::Public.sees_submission(1, true, false));
        assert!(!ReadScope::Public.sees_submission(1, true, true));
        assert!(!ReadScope::Department(2).sees_submission(1, true, false));
        assert!(!ReadScope::Nothing.sees_submission(1, true, false));
    }
}
