//! Saving a draft submission: the steps that progress reports, indicator values and
//! evidence share, written once. First the draft is opened (the acting department, what
//! it reports on, the published plan, the open period); then it is created, or an existing
//! one is changed against the version the caller read, with the audit entry in the same
//! transaction. What differs between the kinds (their columns, what counts as a
//! duplicate) is the [`NewDraft`] and [`DraftChange`] each kind implements.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::entity::{indicator, plan, task};
use crate::error::{AppError, AppResult};
use crate::id::NodeId;
use crate::service::audit::{self, Caller};
use crate::service::period::{self, Period};
use crate::service::policy;
use crate::service::submission::{self, SubmissionKind, SubmissionRow, Versioned};

/// A draft about a task: the department that leads it, the task and its plan.
pub struct OnTask {
    pub department_id: i64,
    pub task: task::Model,
    pub plan: plan::Model,
}

/// A draft about an indicator: a department that answers for it, the indicator and its
/// plan.
pub struct OnIndicator {
    pub department_id: i64,
    pub indicator: indicator::Model,
    pub plan: plan::Model,
}

/// Opens a draft about a task. `refusal` says what only departments do, for callers of
/// another role.
pub async fn open_on_task(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    task_id: i64,
    refusal: &str,
) -> AppResult<OnTask> {
    let department_id = caller.viewer.acting_department(refusal)?;
    let (task, plan) = policy::require_leads_task(db, department_id, task_id).await?;
    Ok(OnTask {
        department_id,
        task,
        plan,
    })
}

/// Opens a draft about an indicator. `refusal` says what only departments do, for
/// callers of another role.
pub async fn open_on_indicator(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    indicator_id: i64,
    refusal: &str,
) -> AppResult<OnIndicator> {
    let department_id = caller.viewer.acting_department(refusal)?;
    let (indicator, plan) =
        policy::require_answers_for_indicator(db, department_id, indicator_id).await?;
    Ok(OnIndicator {
        department_id,
        indicator,
        plan,
    })
}

/// The period a draft goes into, by its canonical name: one of the plan's, and open.
pub async fn open_period(
    db: &impl ConnectionTrait,
    plan: &plan::Model,
    raw: &str,
) -> AppResult<String> {
    let period = Period::parse_for(raw, plan)?.to_string();
    period::ensure_open(db, plan.id, &period).await?;
    Ok(period)
}

/// A new draft of one kind, ready to be written.
pub trait NewDraft: Sized {
    type Row: Serialize + Versioned;

    const KIND: SubmissionKind;

    /// The audit action of a new draft (`progressReport.create`, `evidence.upload`, …).
    const CREATED: &'static str;

    /// The draft that already holds this one's place, if the kind allows only one (a
    /// department's report on a task for a period; an indicator's value for a period).
    /// Kinds that take any number (evidence) keep this default.
    async fn existing(&self, _db: &impl ConnectionTrait) -> AppResult<Option<Self::Row>> {
        Ok(None)
    }

    /// Why a second draft in the same place is refused.
    fn duplicate_message(&self) -> String {
        "a draft of this kind is there already: change that one".to_owned()
    }

    async fn insert(
        self,
        db: &impl ConnectionTrait,
        actor: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Self::Row>;
}

/// A change to an existing draft of one kind.
pub trait DraftChange: NewDraft {
    /// Why a change may not move the draft to another task, indicator or period.
    const KEEPS_ITS_PLACE: &'static str;

    /// The row of this kind, from a submission row loaded by id.
    fn row_of(row: SubmissionRow) -> Option<Self::Row>;

    /// Whether `current` is in the place this change names.
    fn same_place(&self, current: &Self::Row) -> bool;

    /// Writes the change over `current`, only if its version is still `current`'s;
    /// `false` when another change came first.
    async fn update(
        self,
        db: &impl ConnectionTrait,
        current: &Self::Row,
        now: DateTime<Utc>,
    ) -> AppResult<bool>;
}

/// Creates a draft, refusing a second one in the same place, with its audit entry.
pub async fn create<D: NewDraft>(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    draft: D,
) -> AppResult<D::Row> {
    if let Some(existing) = draft.existing(db).await? {
        return Err(AppError::AlreadyExists {
            message: draft.duplicate_message(),
            existing_id: NodeId::new(D::KIND.node_kind(), existing.id()).encode(),
            current_version: Some(existing.version()),
        });
    }
    let created = draft.insert(db, caller.actor_id()?, Utc::now()).await?;
    audit::record(
        db,
        caller,
        D::CREATED,
        D::KIND.item_type(),
        created.id(),
        None::<&()>,
        Some(&created),
    )
    .await?;
    Ok(created)
}

/// Creates a draft (no id) or changes the draft `id` at the `version` the caller read:
/// the caller's department must be able to change it (its own, or a value of an
/// indicator it answers for), it must still be editable and in the same place.
pub async fn save<D: DraftChange>(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Option<i64>,
    version: Option<i32>,
    draft: D,
) -> AppResult<D::Row> {
    let Some(id) = id else {
        return create(db, caller, draft).await;
    };
    let current = submission::check_update(db, caller.viewer, D::KIND, id, version).await?;
    let current =
        D::row_of(current).ok_or_else(|| AppError::not_found("no submission has this id"))?;
    if !draft.same_place(&current) {
        return Err(AppError::bad_input(D::KEEPS_ITS_PLACE));
    }
    let current_version = current.version();
    if !draft.update(db, &current, Utc::now()).await? {
        return Err(submission::stale(current_version + 1));
    }
    let updated = submission::load(db, D::KIND, id)
        .await?
        .and_then(D::row_of)
        .ok_or_else(|| AppError::not_found("no submission has this id"))?;
    audit::record(
        db,
        caller,
        &format!("{}.update", D::KIND.action_prefix()),
        D::KIND.item_type(),
        id,
        Some(&current),
        Some(&updated),
    )
    .await?;
    Ok(updated)
}
