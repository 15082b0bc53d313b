//! Who may see and do what. This module is the only place that decides: services ask it,
//! resolvers and handlers never do.
//!
//! Reads go through one [`ReadScope`], which answers both for the plan held in memory
//! ([`ReadScope::sees_task`], [`ReadScope::sees_indicator`]) and for the tables read
//! with SQL ([`ReadScope::report_condition`], [`ReadScope::value_condition`],
//! [`ReadScope::evidence_condition`], [`ReadScope::audit_condition`]). Writes go through
//! the `require_…` functions, each with one refusal. What a caller may not see answers
//! `NOT_FOUND`, exactly as an id that names nothing; `FORBIDDEN` is kept for what the
//! caller's role may never do, whatever the id.

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entity::{
    evidence, indicator, indicator_responsible, indicator_value, plan, progress_report, task,
    task_lead,
};
use crate::error::{AppError, AppResult};
use crate::service::snapshot::PlanSnapshot;
use crate::service::submission::{self, ReviewStatus, SubmissionKind, SubmissionRow};
use crate::service::submission_events::SubmissionEventKind;

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

    /// Approving, rejecting and reopening submissions, due dates, external targets,
    /// correcting and publishing plans: administrators and the leadership group.
    pub fn reviews(self) -> bool {
        matches!(self, Role::Admin | Role::Leadership)
    }

    /// Creating, changing and deactivating users: administrators.
    pub fn manages_users(self) -> bool {
        self == Role::Admin
    }

    /// Closing and reopening reporting periods: the roles that review.
    pub fn closes_periods(self) -> bool {
        self.reviews()
    }
}

/// What a viewer may do now with a submission it reads, by the rules the mutations apply:
/// for the UI to show only the actions that would succeed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubmissionAbilities {
    /// Change its content (`save…` with its id, `updateEvidence`, `deleteEvidence`).
    pub edit: bool,
    /// Send it for review.
    pub submit: bool,
    /// Approve or reject it.
    pub review: bool,
}

/// What `viewer` may do with `row` now. `answers_for_indicator` says whether the viewer's
/// department answers for the row's indicator (for a value); `period_closed` whether the
/// row's period is closed, which stops every move.
pub fn submission_abilities(
    viewer: &Viewer,
    row: &SubmissionRow,
    answers_for_indicator: bool,
    period_closed: bool,
) -> SubmissionAbilities {
    if period_closed {
        return SubmissionAbilities::default();
    }
    let status = row.review().status;
    // The department that made it, or, for a value, any department answering for its
    // indicator (as `sees_submission` reads it for a department).
    let changes = status.is_editable()
        && match viewer.user().map(|user| user.access) {
            Some(Access::Department(department_id)) => match row {
                SubmissionRow::IndicatorValue(value) => {
                    value.department_id == department_id || answers_for_indicator
                }
                row => row.department_id() == department_id,
            },
            _ => false,
        };
    SubmissionAbilities {
        edit: changes,
        submit: changes,
        review: status == ReviewStatus::Submitted && viewer.is_reviewer(),
    }
}

/// Whether a viewer may report progress on a task of a snapshot: a department that leads
/// it, in a published plan, on a task not reported through its parts.
pub fn may_report_on_task(viewer: &Viewer, plan: &PlanSnapshot, task: usize) -> bool {
    let Some(Access::Department(department_id)) = viewer.user().map(|user| user.access) else {
        return false;
    };
    let node = &plan.tasks[task];
    plan.plans[node.plan as usize].row.published
        && plan.task_led_by(task, department_id)
        && !plan.has_parts(task)
}

/// Whether a viewer may give values for an indicator of a snapshot: a department that
/// answers for it, in a published plan.
pub fn may_report_on_indicator(viewer: &Viewer, plan: &PlanSnapshot, indicator: usize) -> bool {
    let Some(Access::Department(department_id)) = viewer.user().map(|user| user.access) else {
        return false;
    };
    let node = &plan.indicators[indicator];
    plan.plans[node.plan as usize].row.published
        && plan.indicator_answered_by(indicator, department_id)
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
    /// The user's token version when the token was checked: signed download links carry
    /// it, so that revoking the user's tokens ends them too.
    pub token_version: i32,
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

/// The recipient whose notifications a viewer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbox {
    Department(i64),
    Leadership,
}

impl Inbox {
    /// The SQL condition on notifications to this recipient.
    pub fn condition(self) -> Condition {
        use crate::entity::notification::Column;
        match self {
            Inbox::Department(id) => Condition::all().add(Column::RecipientDepartmentId.eq(id)),
            Inbox::Leadership => {
                Condition::all().add(Column::RecipientRole.eq(Role::Leadership.as_str()))
            }
        }
    }
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
        matches!(self, Viewer::System) || self.role().is_some_and(Role::manages_users)
    }

    /// Admin and leadership: the roles that review and steer the plan.
    pub fn is_reviewer(&self) -> bool {
        matches!(self, Viewer::System) || self.role().is_some_and(Role::reviews)
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

    /// Whose notifications a viewer reads and marks: a department those to its department,
    /// administrators and the leadership group those to the leadership group. The portal
    /// has none (`FORBIDDEN`); a caller who has not signed in, `UNAUTHENTICATED`.
    pub fn notification_inbox(&self) -> AppResult<Inbox> {
        self.require_signed_in()?;
        match self.scope() {
            ReadScope::Department(id) => Ok(Inbox::Department(id)),
            ReadScope::Everything => Ok(Inbox::Leadership),
            _ => Err(AppError::forbidden(
                "notifications are for the departments and the leadership group",
            )),
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

    /// Approving, rejecting and reopening submissions is for the leadership group; a
    /// department never reviews, not even its own.
    pub fn require_reviewer_of_submissions(&self) -> AppResult<()> {
        self.require_signed_in()?;
        if self.is_reviewer() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "only the leadership group's office reviews submissions; a department cannot approve its own",
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
}

/// What a department may not see is, to it, not there: the same answer as for an id that
/// names nothing, so that refusals tell no one which ids exist.
fn unseen(what: &str) -> AppError {
    AppError::not_found(format!("no {what} has this id"))
}

/// The task a department reports on, with its plan: the department must lead it, in a
/// published plan. A task the department does not see answers `NOT_FOUND`.
pub async fn require_leads_task(
    db: &impl ConnectionTrait,
    department_id: i64,
    task_id: i64,
) -> AppResult<(task::Model, plan::Model)> {
    let task = task::Entity::find_by_id(task_id)
        .one(db)
        .await?
        .ok_or_else(|| unseen("task"))?;
    let plan = plan::Entity::find_by_id(task.plan_id)
        .one(db)
        .await?
        .filter(|plan| plan.published)
        .ok_or_else(|| unseen("task"))?;
    let leads = task_lead::Entity::find()
        .filter(task_lead::Column::TaskId.eq(task.id))
        .filter(task_lead::Column::DepartmentId.eq(department_id))
        .one(db)
        .await?
        .is_some();
    if leads {
        Ok((task, plan))
    } else {
        Err(unseen("task"))
    }
}

/// The indicator a department gives a value for, with its plan: the department must
/// answer for it (alone or with others), in a published plan. An indicator the department
/// does not see answers `NOT_FOUND`.
pub async fn require_answers_for_indicator(
    db: &impl ConnectionTrait,
    department_id: i64,
    indicator_id: i64,
) -> AppResult<(indicator::Model, plan::Model)> {
    let indicator = indicator::Entity::find_by_id(indicator_id)
        .one(db)
        .await?
        .ok_or_else(|| unseen("indicator"))?;
    let plan = plan::Entity::find_by_id(indicator.plan_id)
        .one(db)
        .await?
        .filter(|plan| plan.published)
        .ok_or_else(|| unseen("indicator"))?;
    if answers_for_indicator(db, department_id, indicator.id).await? {
        Ok((indicator, plan))
    } else {
        Err(unseen("indicator"))
    }
}

async fn answers_for_indicator(
    db: &impl ConnectionTrait,
    department_id: i64,
    indicator_id: i64,
) -> AppResult<bool> {
    Ok(indicator_responsible::Entity::find()
        .filter(indicator_responsible::Column::IndicatorId.eq(indicator_id))
        .filter(indicator_responsible::Column::DepartmentId.eq(department_id))
        .one(db)
        .await?
        .is_some())
}

/// Whether the scope reads one submission row. A department reads its own reports and
/// evidence, and every value of an indicator it answers for, whichever of its departments
/// drafted it; the public view reads approved reports and values.
pub async fn sees_submission(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    row: &SubmissionRow,
) -> AppResult<bool> {
    let approved = row.review().status == ReviewStatus::Approved;
    Ok(match (scope, row) {
        (ReadScope::Everything, _) => true,
        (ReadScope::Nothing, _) | (ReadScope::Public, SubmissionRow::Evidence(_)) => false,
        (ReadScope::Public, _) => approved,
        (ReadScope::Department(id), SubmissionRow::IndicatorValue(value)) => {
            value.department_id == id || answers_for_indicator(db, id, value.indicator_id).await?
        }
        (ReadScope::Department(id), row) => row.department_id() == id,
    })
}

/// A submission a department may change or submit: it must see it (else `NOT_FOUND`, as
/// for an id that names nothing); roles that never change submissions are refused
/// (`FORBIDDEN`) whatever the id, before anything is looked up.
pub async fn require_changeable_submission(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    kind: SubmissionKind,
    id: i64,
) -> AppResult<SubmissionRow> {
    let department_id = viewer.acting_department(
        "only the department that made a submission, or answers for its indicator, may change or submit it",
    )?;
    match submission::load(db, kind, id).await? {
        Some(row) if sees_submission(db, ReadScope::Department(department_id), &row).await? => {
            Ok(row)
        }
        _ => Err(unseen("submission")),
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

    /// Whether the scope hears an event of a submission it may see now. The public view
    /// hears of approvals alone: a draft, a submission or a review is not its to know of,
    /// even of an item approved since.
    pub fn hears_submission_event(self, kind: SubmissionEventKind) -> bool {
        self.sees_review_states() || kind == SubmissionEventKind::Approved
    }

    /// Whether the scope reads the review states of submissions (submitted, rejected, …),
    /// which the traffic lights judge; the public view reads approved figures only.
    pub fn sees_review_states(self) -> bool {
        self.sees_internal_records()
    }

    /// Whether the scope reads every submission and every audit entry.
    pub fn sees_all_records(self) -> bool {
        self == ReadScope::Everything
    }

    /// The SQL condition on progress reports: a department reads its own, the public view
    /// the approved ones.
    pub fn report_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(id) => {
                Condition::all().add(progress_report::Column::DepartmentId.eq(id))
            }
            ReadScope::Public => Condition::all()
                .add(progress_report::Column::ReviewStatus.eq(ReviewStatus::Approved.as_str())),
            ReadScope::Nothing => Condition::any(),
        }
    }

    /// The SQL condition on indicator values: a department reads every value of an
    /// indicator it answers for (several departments may answer for one) and those it
    /// drafted; the public view reads the approved ones. Agrees with [`sees_submission`].
    pub fn value_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(id) => Condition::any()
                .add(indicator_value::Column::DepartmentId.eq(id))
                .add(
                    indicator_value::Column::IndicatorId.in_subquery(
                        Query::select()
                            .column(indicator_responsible::Column::IndicatorId)
                            .from(indicator_responsible::Entity)
                            .and_where(indicator_responsible::Column::DepartmentId.eq(id))
                            .to_owned(),
                    ),
                ),
            ReadScope::Public => Condition::all()
                .add(indicator_value::Column::ReviewStatus.eq(ReviewStatus::Approved.as_str())),
            ReadScope::Nothing => Condition::any(),
        }
    }

    /// The SQL condition on evidence: a department reads its own; files are never public.
    pub fn evidence_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            ReadScope::Department(id) => {
                Condition::all().add(evidence::Column::DepartmentId.eq(id))
            }
            ReadScope::Public | ReadScope::Nothing => Condition::any(),
        }
    }

    /// The SQL condition on the audit trail: administrators and the leadership group read
    /// it whole; for everyone else it is empty.
    pub fn audit_condition(self) -> Condition {
        match self {
            ReadScope::Everything => Condition::all(),
            _ => Condition::any(),
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
    }
}
