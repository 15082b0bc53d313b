//! The plan's structure held in memory: plans, sections, tasks and their parts, lead
//! departments, indicators with their targets and standing, departments and their
//! aliases, and the recorded changes of tasks and indicators (due dates, draft corrections),
//! which only writes that change the structure make. It is small and changes rarely, while almost every read shows it, so reads
//! answer from an immutable snapshot instead of the database.
//!
//! Freshness is decided by the database, not by the process: every write that changes what
//! the snapshot holds raises the number in `data_revision` in its own transaction
//! ([`bump_revision`]), and a request reads that number before it reads the snapshot
//! ([`SnapshotStore::current`]). A request therefore never sees an older state than a write
//! that had committed when it started, on one instance or on several sharing a database.

use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use crate::entity::{
    audit_log, data_revision, department, department_alias, external_target, indicator,
    indicator_milestone, indicator_responsible, indicator_value, plan, plan_goal, section, task,
    task_lead,
};
use crate::error::{AppError, AppResult};
use crate::id::NodeKind;
use crate::service::audit::ItemType;
use crate::service::report::{ProgressStatus, due_on};
use crate::service::status::{Assessment, TaskStatus, assess};
use crate::text::fold;

/// One plan, with its sections and items in the document's order.
pub struct PlanNode {
    pub row: plan::Model,
    pub goals: Vec<plan_goal::Model>,
    pub sections: Vec<u32>,
    /// Every task of the plan, parts included, in the document's order.
    pub tasks: Vec<u32>,
    pub indicators: Vec<u32>,
}

pub struct SectionNode {
    pub row: section::Model,
    pub plan: u32,
    pub top_level_tasks: Vec<u32>,
}

/// A lead department of a task and what its latest approved report says.
pub struct Lead {
    pub department: u32,
    pub department_id: i64,
    pub latest_approved: Option<ProgressStatus>,
}

pub struct TaskNode {
    pub row: task::Model,
    pub plan: u32,
    pub section: u32,
    pub parent: Option<u32>,
    pub subtasks: Vec<u32>,
    /// For a task with parts, every department that leads a part, in order.
    pub lead_departments: Vec<u32>,
    /// The departments that report on this task itself.
    pub leads: Vec<Lead>,
    pub indicators: Vec<u32>,
    pub due_on: NaiveDate,
    /// Recorded changes of the task itself, oldest first.
    pub history: Vec<audit_log::Model>,
    started: bool,
    completed: bool,
}

pub struct IndicatorNode {
    pub row: indicator::Model,
    pub plan: u32,
    pub task: u32,
    pub responsible: Vec<u32>,
    responsible_ids: Vec<i64>,
    pub milestones: Vec<indicator_milestone::Model>,
    pub external_targets: Vec<external_target::Model>,
    /// The judgement of the latest approved value against the target.
    pub assessment: Assessment,
    /// Recorded changes of the indicator itself, oldest first.
    pub history: Vec<audit_log::Model>,
}

pub struct DepartmentNode {
    pub row: department::Model,
    pub aliases: Vec<String>,
    /// The tasks the department leads in every plan, in plan and document order.
    pub led_tasks: Vec<u32>,
}

/// An immutable picture of every plan, taken at one data revision.
#[derive(Default)]
pub struct PlanSnapshot {
    pub revision: i64,
    /// Newest plan first.
    pub plans: Vec<PlanNode>,
    pub sections: Vec<SectionNode>,
    pub tasks: Vec<TaskNode>,
    pub indicators: Vec<IndicatorNode>,
    /// In the order they were registered.
    pub departments: Vec<DepartmentNode>,
    plan_ids: FxHashMap<i64, u32>,
    section_ids: FxHashMap<i64, u32>,
    task_ids: FxHashMap<i64, u32>,
    indicator_ids: FxHashMap<i64, u32>,
    department_ids: FxHashMap<i64, u32>,
    department_codes: FxHashMap<String, u32>,
    /// Full names and aliases, folded (either script).
    department_names: FxHashMap<String, u32>,
    task_codes: FxHashMap<(u32, String), u32>,
}

fn index_of(map: &FxHashMap<i64, u32>, id: i64) -> Option<usize> {
    map.get(&id).map(|index| *index as usize)
}

fn missing(what: &str, id: i64) -> AppError {
    AppError::Unexpected(anyhow::anyhow!(
        "a {what} ({id}) referenced by a foreign key is missing"
    ))
}

impl PlanSnapshot {
    pub fn plan_index(&self, id: i64) -> Option<usize> {
        index_of(&self.plan_ids, id)
    }

    pub fn section_index(&self, id: i64) -> Option<usize> {
        index_of(&self.section_ids, id)
    }

    pub fn task_index(&self, id: i64) -> Option<usize> {
        index_of(&self.task_ids, id)
    }

    pub fn indicator_index(&self, id: i64) -> Option<usize> {
        index_of(&self.indicator_ids, id)
    }

    pub fn department_index(&self, id: i64) -> Option<usize> {
        index_of(&self.department_ids, id)
    }

    pub fn department_by_code(&self, code: &str) -> Option<usize> {
        self.department_codes
            .get(&code.trim().to_ascii_lowercase())
            .map(|index| *index as usize)
    }

    /// A department by its full name or an alias, in either script.
    pub fn department_by_name(&self, name: &str) -> Option<usize> {
        self.department_names
            .get(&fold(name))
            .map(|index| *index as usize)
    }

    pub fn task_by_code(&self, plan: usize, code: &str) -> Option<usize> {
        self.task_codes
            .get(&(plan as u32, code.to_owned()))
            .map(|index| *index as usize)
    }

    /// The newest published plan: what a query means when it names no plan. A draft is
    /// only ever read by its id.
    pub fn newest_plan(&self) -> Option<usize> {
        self.plans.iter().position(|plan| plan.row.published)
    }

    pub fn task_by_id(&self, id: i64) -> Option<usize> {
        self.task_index(id)
    }

    pub fn indicator_by_id(&self, id: i64) -> Option<usize> {
        self.indicator_index(id)
    }

    /// Whether a department reports on this task itself.
    pub fn task_led_by(&self, task: usize, department_id: i64) -> bool {
        self.tasks[task]
            .leads
            .iter()
            .any(|lead| lead.department_id == department_id)
    }

    pub fn indicator_answered_by(&self, indicator: usize, department_id: i64) -> bool {
        self.indicators[indicator]
            .responsible_ids
            .contains(&department_id)
    }

    /// Whether a task has parts, which are reported on instead of the task.
    pub fn has_parts(&self, task: usize) -> bool {
        !self.tasks[task].subtasks.is_empty()
    }

    /// Where a task stands on `today` (city time): from its lead departments' latest
    /// approved reports (for a task with parts, from its parts) and its due date.
    pub fn task_status(&self, task: usize, today: NaiveDate) -> TaskStatus {
        let node = &self.tasks[task];
        if node.completed {
            TaskStatus::Completed
        } else if today > node.due_on {
            TaskStatus::Overdue
        } else if node.started {
            TaskStatus::InProgress
        } else {
            TaskStatus::NotStarted
        }
    }

    /// Reads every plan at the revision the database holds now, in one read transaction
    /// so that the revision and the rows belong together.
    pub async fn load(db: &DatabaseConnection) -> AppResult<Self> {
        let txn = db.begin().await?;
        let snapshot = Self::load_in(&txn).await?;
        txn.commit().await?;
        Ok(snapshot)
    }

    /// Reads every table the snapshot holds, one statement each, in a fixed order.
    async fn load_in(db: &impl ConnectionTrait) -> AppResult<Self> {
        Self::assemble(Rows {
            revision: current_revision(db).await?,
            plans: read_plans(db).await?,
            goals: read_plan_goals(db).await?,
            sections: read_sections(db).await?,
            tasks: read_tasks(db).await?,
            leads: read_task_leads(db).await?,
            departments: read_departments(db).await?,
            aliases: read_department_aliases(db).await?,
            indicators: read_indicators(db).await?,
            responsible: read_indicator_responsible(db).await?,
            milestones: read_indicator_milestones(db).await?,
            external: read_external_targets(db).await?,
            standing: read_standing_values(db).await?,
            history: read_plan_item_history(db).await?,
        })
    }

    fn assemble(rows: Rows) -> AppResult<Self> {
        let mut snapshot = PlanSnapshot {
            revision: rows.revision,
            ..Default::default()
        };
        snapshot.add_departments(rows.departments, rows.aliases)?;
        snapshot.add_plans(rows.plans, rows.goals, rows.sections)?;
        snapshot.add_tasks(rows.tasks, rows.leads)?;
        snapshot.add_indicators(
            rows.indicators,
            rows.standing,
            rows.external,
            rows.responsible,
            rows.milestones,
        )?;
        snapshot.link_departments_to_tasks();
        snapshot.add_history(rows.history);
        Ok(snapshot)
    }

    fn add_departments(
        &mut self,
        departments: Vec<department::Model>,
        aliases: Vec<department_alias::Model>,
    ) -> AppResult<()> {
        for row in departments {
            let index = self.departments.len() as u32;
            self.department_ids.insert(row.id, index);
            self.department_codes.insert(row.code.clone(), index);
            self.department_names.insert(row.name_folded.clone(), index);
            self.departments.push(DepartmentNode {
                row,
                aliases: Vec::new(),
                led_tasks: Vec::new(),
            });
        }
        for alias in aliases {
            let Some(index) = self.department_index(alias.department_id) else {
                return Err(missing("department", alias.department_id));
            };
            self.department_names
                .entry(alias.alias_folded.clone())
                .or_insert(index as u32);
            self.departments[index].aliases.push(alias.alias);
        }

        Ok(())
    }

    fn add_plans(
        &mut self,
        plans: Vec<plan::Model>,
        goals: Vec<plan_goal::Model>,
        sections: Vec<section::Model>,
    ) -> AppResult<()> {
        for row in plans {
            let index = self.plans.len() as u32;
            self.plan_ids.insert(row.id, index);
            self.plans.push(PlanNode {
                row,
                goals: Vec::new(),
                sections: Vec::new(),
                tasks: Vec::new(),
                indicators: Vec::new(),
            });
        }
        for goal in goals {
            let plan = self
                .plan_index(goal.plan_id)
                .ok_or_else(|| missing("plan", goal.plan_id))?;
            self.plans[plan].goals.push(goal);
        }
        for row in sections {
            let plan = self
                .plan_index(row.plan_id)
                .ok_or_else(|| missing("plan", row.plan_id))?;
            let index = self.sections.len() as u32;
            self.section_ids.insert(row.id, index);
            self.plans[plan].sections.push(index);
            self.sections.push(SectionNode {
                row,
                plan: plan as u32,
                top_level_tasks: Vec::new(),
            });
        }

        Ok(())
    }

    fn add_tasks(
        &mut self,
        tasks: Vec<task::Model>,
        leads: Vec<task_lead::Model>,
    ) -> AppResult<()> {
        // Tasks come in plan and document order, a part right after its parent.
        for row in tasks {
            let plan = self
                .plan_index(row.plan_id)
                .ok_or_else(|| missing("plan", row.plan_id))?;
            let section = self
                .section_index(row.section_id)
                .ok_or_else(|| missing("section", row.section_id))?;
            let index = self.tasks.len() as u32;
            let parent = match row.parent_id {
                Some(parent_id) => Some(
                    self.task_index(parent_id)
                        .ok_or_else(|| missing("task", parent_id))? as u32,
                ),
                None => None,
            };
            match parent {
                Some(parent) => self.tasks[parent as usize].subtasks.push(index),
                None => self.sections[section].top_level_tasks.push(index),
            }
            self.task_ids.insert(row.id, index);
            self.task_codes
                .insert((plan as u32, row.code.clone()), index);
            self.plans[plan].tasks.push(index);
            let due = due_on(&row, &self.plans[plan].row);
            self.tasks.push(TaskNode {
                row,
                plan: plan as u32,
                section: section as u32,
                parent,
                subtasks: Vec::new(),
                lead_departments: Vec::new(),
                leads: Vec::new(),
                indicators: Vec::new(),
                due_on: due,
                history: Vec::new(),
                started: false,
                completed: false,
            });
        }
        for lead in leads {
            let task = self
                .task_index(lead.task_id)
                .ok_or_else(|| missing("task", lead.task_id))?;
            let department = self
                .department_index(lead.department_id)
                .ok_or_else(|| missing("department", lead.department_id))?;
            self.tasks[task].leads.push(Lead {
                department: department as u32,
                department_id: lead.department_id,
                latest_approved: lead
                    .latest_approved_status
                    .as_deref()
                    .map(ProgressStatus::parse),
            });
        }
        self.derive_task_facts();

        Ok(())
    }

    fn add_indicators(
        &mut self,
        indicators: Vec<indicator::Model>,
        standing: Vec<indicator_value::Model>,
        external: Vec<external_target::Model>,
        responsible: Vec<indicator_responsible::Model>,
        milestones: Vec<indicator_milestone::Model>,
    ) -> AppResult<()> {
        let mut standing: FxHashMap<i64, indicator_value::Model> = standing
            .into_iter()
            .map(|value| (value.id, value))
            .collect();
        let mut external_by_indicator: FxHashMap<i64, Vec<external_target::Model>> =
            FxHashMap::default();
        for row in external {
            external_by_indicator
                .entry(row.indicator_id)
                .or_default()
                .push(row);
        }
        for row in indicators {
            let plan = self
                .plan_index(row.plan_id)
                .ok_or_else(|| missing("plan", row.plan_id))?;
            let task = self
                .task_index(row.task_id)
                .ok_or_else(|| missing("task", row.task_id))?;
            let index = self.indicators.len() as u32;
            self.indicator_ids.insert(row.id, index);
            self.plans[plan].indicators.push(index);
            self.tasks[task].indicators.push(index);
            let approved: Vec<indicator_value::Model> =
                [row.latest_approved_value_id, row.previous_approved_value_id]
                    .into_iter()
                    .flatten()
                    .filter_map(|id| standing.remove(&id))
                    .collect();
            let external_targets = external_by_indicator.remove(&row.id).unwrap_or_default();
            self.indicators.push(IndicatorNode {
                assessment: assess(&row, &approved, &external_targets),
                row,
                plan: plan as u32,
                task: task as u32,
                responsible: Vec::new(),
                responsible_ids: Vec::new(),
                milestones: Vec::new(),
                external_targets,
                history: Vec::new(),
            });
        }
        for row in responsible {
            let indicator = self
                .indicator_index(row.indicator_id)
                .ok_or_else(|| missing("indicator", row.indicator_id))?;
            let department = self
                .department_index(row.department_id)
                .ok_or_else(|| missing("department", row.department_id))?;
            let node = &mut self.indicators[indicator];
            node.responsible.push(department as u32);
            node.responsible_ids.push(row.department_id);
        }
        for row in milestones {
            let indicator = self
                .indicator_index(row.indicator_id)
                .ok_or_else(|| missing("indicator", row.indicator_id))?;
            self.indicators[indicator].milestones.push(row);
        }
        Ok(())
    }

    /// Entries of items no longer in the plan (a draft task dropped on re-import) have
    /// nowhere to go and are left out.
    fn add_history(&mut self, history: Vec<audit_log::Model>) {
        for entry in history {
            let node_history = match ItemType::node_kind(&entry.item_type) {
                Some(NodeKind::Task) => self
                    .task_index(entry.item_id)
                    .map(|index| &mut self.tasks[index].history),
                Some(NodeKind::Indicator) => self
                    .indicator_index(entry.item_id)
                    .map(|index| &mut self.indicators[index].history),
                _ => None,
            };
            if let Some(node_history) = node_history {
                node_history.push(entry);
            }
        }
    }

    fn link_departments_to_tasks(&mut self) {
        // Each department's tasks, in plan order (newest plan first) and document order;
        // a task with parts lists every department that leads a part.
        let mut plan_order: Vec<u32> = (0..self.tasks.len() as u32).collect();
        plan_order.sort_by_key(|task| {
            let node = &self.tasks[*task as usize];
            (node.row.plan_id, node.row.position)
        });
        for task in plan_order {
            let departments: Vec<u32> = self.tasks[task as usize]
                .leads
                .iter()
                .map(|lead| lead.department)
                .collect();
            for department in departments {
                self.departments[department as usize].led_tasks.push(task);
            }
        }
        for task in 0..self.tasks.len() {
            let mut departments: Vec<u32> = self.tasks[task]
                .leads
                .iter()
                .map(|lead| lead.department)
                .collect();
            for part in self.tasks[task].subtasks.clone() {
                for lead in &self.tasks[part as usize].leads {
                    if !departments.contains(&lead.department) {
                        departments.push(lead.department);
                    }
                }
            }
            self.tasks[task].lead_departments = departments;
        }
    }

    /// A task is started when a lead's latest approved report says anything but "not
    /// started", and completed when every lead's says completed; a task with parts
    /// follows its parts.
    fn derive_task_facts(&mut self) {
        for task in &mut self.tasks {
            let statuses: Vec<Option<ProgressStatus>> =
                task.leads.iter().map(|lead| lead.latest_approved).collect();
            task.started = statuses
                .iter()
                .flatten()
                .any(|status| *status != ProgressStatus::NotStarted);
            task.completed = !statuses.is_empty()
                && statuses
                    .iter()
                    .all(|status| *status == Some(ProgressStatus::Completed));
        }
        for index in 0..self.tasks.len() {
            if self.tasks[index].subtasks.is_empty() {
                continue;
            }
            let parts: Vec<(bool, bool)> = self.tasks[index]
                .subtasks
                .iter()
                .map(|part| {
                    let part = &self.tasks[*part as usize];
                    (part.started, part.completed)
                })
                .collect();
            let task = &mut self.tasks[index];
            task.started = parts
                .iter()
                .any(|(started, completed)| *started || *completed);
            task.completed = parts.iter().all(|(_, completed)| *completed);
        }
    }
}

struct Rows {
    revision: i64,
    plans: Vec<plan::Model>,
    goals: Vec<plan_goal::Model>,
    sections: Vec<section::Model>,
    tasks: Vec<task::Model>,
    leads: Vec<task_lead::Model>,
    departments: Vec<department::Model>,
    aliases: Vec<department_alias::Model>,
    indicators: Vec<indicator::Model>,
    responsible: Vec<indicator_responsible::Model>,
    milestones: Vec<indicator_milestone::Model>,
    external: Vec<external_target::Model>,
    standing: Vec<indicator_value::Model>,
    history: Vec<audit_log::Model>,
}

/// Newest plan first.
async fn read_plans(db: &impl ConnectionTrait) -> AppResult<Vec<plan::Model>> {
    Ok(plan::Entity::find()
        .order_by_desc(plan::Column::Year)
        .order_by_desc(plan::Column::Id)
        .all(db)
        .await?)
}

async fn read_plan_goals(db: &impl ConnectionTrait) -> AppResult<Vec<plan_goal::Model>> {
    Ok(plan_goal::Entity::find()
        .order_by_asc(plan_goal::Column::PlanId)
        .order_by_asc(plan_goal::Column::Year)
        .all(db)
        .await?)
}

async fn read_sections(db: &impl ConnectionTrait) -> AppResult<Vec<section::Model>> {
    Ok(section::Entity::find()
        .order_by_asc(section::Column::PlanId)
        .order_by_asc(section::Column::Number)
        .all(db)
        .await?)
}

/// In plan and document order, so that a part comes right after its parent.
async fn read_tasks(db: &impl ConnectionTrait) -> AppResult<Vec<task::Model>> {
    Ok(task::Entity::find()
        .order_by_asc(task::Column::PlanId)
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?)
}

async fn read_task_leads(db: &impl ConnectionTrait) -> AppResult<Vec<task_lead::Model>> {
    Ok(task_lead::Entity::find()
        .order_by_asc(task_lead::Column::TaskId)
        .order_by_asc(task_lead::Column::Position)
        .all(db)
        .await?)
}

/// In the order they were registered.
async fn read_departments(db: &impl ConnectionTrait) -> AppResult<Vec<department::Model>> {
    Ok(department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?)
}

async fn read_department_aliases(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<department_alias::Model>> {
    Ok(department_alias::Entity::find()
        .order_by_asc(department_alias::Column::DepartmentId)
        .order_by_asc(department_alias::Column::Position)
        .all(db)
        .await?)
}

async fn read_indicators(db: &impl ConnectionTrait) -> AppResult<Vec<indicator::Model>> {
    Ok(indicator::Entity::find()
        .order_by_asc(indicator::Column::PlanId)
        .order_by_asc(indicator::Column::Position)
        .all(db)
        .await?)
}

async fn read_indicator_responsible(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<indicator_responsible::Model>> {
    Ok(indicator_responsible::Entity::find()
        .order_by_asc(indicator_responsible::Column::IndicatorId)
        .order_by_asc(indicator_responsible::Column::Position)
        .all(db)
        .await?)
}

async fn read_indicator_milestones(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<indicator_milestone::Model>> {
    Ok(indicator_milestone::Entity::find()
        .order_by_asc(indicator_milestone::Column::IndicatorId)
        .order_by_asc(indicator_milestone::Column::Year)
        .all(db)
        .await?)
}

async fn read_external_targets(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<external_target::Model>> {
    Ok(external_target::Entity::find()
        .order_by_asc(external_target::Column::IndicatorId)
        .order_by_asc(external_target::Column::Year)
        .all(db)
        .await?)
}

/// Only the two approved values each indicator keeps track of, never its history.
async fn read_standing_values(db: &impl ConnectionTrait) -> AppResult<Vec<indicator_value::Model>> {
    use sea_orm::sea_query::{Query, UnionType};
    let standing_value_ids = Query::select()
        .column(indicator::Column::LatestApprovedValueId)
        .from(indicator::Entity)
        .and_where(indicator::Column::LatestApprovedValueId.is_not_null())
        .union(
            UnionType::All,
            Query::select()
                .column(indicator::Column::PreviousApprovedValueId)
                .from(indicator::Entity)
                .and_where(indicator::Column::PreviousApprovedValueId.is_not_null())
                .to_owned(),
        )
        .to_owned();
    Ok(indicator_value::Entity::find()
        .filter(
            Expr::col((indicator_value::Entity, indicator_value::Column::Id))
                .in_subquery(standing_value_ids),
        )
        .all(db)
        .await?)
}

/// The recorded changes of tasks and indicators: every write that records one also raises
/// the data revision (`report::set_task_due_date`, the draft corrections of a plan import).
async fn read_plan_item_history(db: &impl ConnectionTrait) -> AppResult<Vec<audit_log::Model>> {
    Ok(audit_log::Entity::find()
        .filter(
            audit_log::Column::ItemType
                .is_in([ItemType::Task.as_str(), ItemType::Indicator.as_str()]),
        )
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await?)
}

/// The data revision the database holds now.
pub async fn current_revision(db: &impl ConnectionTrait) -> AppResult<i64> {
    data_revision::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|row| row.revision)
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("the data_revision row is missing")))
}

/// Marks the snapshot out of date, inside the transaction of the write that changes it,
/// so that the change and the new revision become visible together.
pub async fn bump_revision(db: &impl ConnectionTrait) -> AppResult<()> {
    data_revision::Entity::update_many()
        .col_expr(
            data_revision::Column::Revision,
            Expr::col(data_revision::Column::Revision).add(1),
        )
        .filter(data_revision::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks what is counted of the submissions out of date, inside the transaction of the
/// write that changes it (a review move, a removal), so that every instance's kept counts
/// are replaced when the change becomes visible.
pub async fn bump_submission_revision(db: &impl ConnectionTrait) -> AppResult<()> {
    data_revision::Entity::update_many()
        .col_expr(
            data_revision::Column::SubmissionRevision,
            Expr::col(data_revision::Column::SubmissionRevision).add(1),
        )
        .filter(data_revision::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}

/// Holds the newest snapshot this process has read and replaces it when the database's
/// revision moves on. One reload runs at a time; requests that need it wait for it.
pub struct SnapshotStore {
    current: RwLock<Arc<PlanSnapshot>>,
    reload: tokio::sync::Mutex<()>,
}

impl Default for SnapshotStore {
    fn default() -> Self {
        Self {
            current: RwLock::new(Arc::new(PlanSnapshot::default())),
            reload: tokio::sync::Mutex::new(()),
        }
    }
}

impl SnapshotStore {
    fn held(&self) -> Arc<PlanSnapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A snapshot at `revision` or newer.
    pub async fn at_least(
        &self,
        db: &DatabaseConnection,
        revision: i64,
    ) -> AppResult<Arc<PlanSnapshot>> {
        let held = self.held();
        if held.revision >= revision {
            return Ok(held);
        }
        let _reloading = self.reload.lock().await;
        let held = self.held();
        if held.revision >= revision {
            return Ok(held);
        }
        let fresh = Arc::new(PlanSnapshot::load(db).await?);
        tracing::debug!(revision = fresh.revision, "read the plan snapshot");
        match self.current.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    /// The snapshot as of the database's revision now.
    pub async fn current(&self, db: &DatabaseConnection) -> AppResult<Arc<PlanSnapshot>> {
        let revision = current_revision(db).await?;
        self.at_least(db, revision).await
    }
}

/// A snapshot as one viewer may read it, on one day (statuses depend on the date).
#[derive(Clone)]
pub struct PlanView {
    pub snapshot: Arc<PlanSnapshot>,
    pub scope: crate::service::policy::ReadScope,
    pub today: NaiveDate,
}

impl PlanView {
    /// Refuses a caller who has not signed in; everyone else reads within the scope.
    pub fn require_readable(&self) -> AppResult<()> {
        if self.scope.sees_plan() {
            Ok(())
        } else {
            Err(AppError::Unauthenticated)
        }
    }
}
