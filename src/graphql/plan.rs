//! Plans, their goals and sections over GraphQL: thin wrappers over the plan snapshot.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::period::ReportingPeriod;
use crate::graphql::task::Task;
use crate::graphql::types::{Date, global_id};
use crate::id::{NodeId, NodeKind};
use crate::service::period::{self, Cadence, Period};
use crate::service::plan;
use crate::service::snapshot::PlanView;

/// How often a plan's departments report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ReportingCadence {
    /// Four periods a year, written `2022-Q2`.
    Quarterly,
    /// Twelve periods a year, written `2022-05`.
    Monthly,
}

/// A work plan: one year's tasks for the city.
pub struct Plan {
    pub view: PlanView,
    pub index: usize,
}

impl Plan {
    fn row(&self) -> &crate::entity::plan::Model {
        &self.view.snapshot.plans[self.index].row
    }
}

#[Object]
impl Plan {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Plan, self.row().id)
    }
    /// A stable name for the plan, e.g. `tangshan-2022`.
    async fn key(&self) -> &str {
        &self.row().key
    }
    async fn title(&self) -> &str {
        &self.row().title
    }
    async fn year(&self) -> i32 {
        self.row().year
    }
    async fn issued_on(&self) -> Date {
        Date(self.row().issued_on)
    }
    async fn issuer(&self) -> &str {
        &self.row().issuer
    }
    /// Why the plan was written.
    async fn purpose(&self) -> &str {
        &self.row().purpose
    }
    async fn guiding_idea(&self) -> &str {
        &self.row().guiding_idea
    }
    /// False for a draft (imported from its document, under review): only administrators
    /// and the leadership group see it until it is published.
    async fn published(&self) -> bool {
        self.row().published
    }
    /// How often departments report.
    async fn reporting_cadence(&self) -> ReportingCadence {
        match Cadence::of(self.row()) {
            Cadence::Quarterly => ReportingCadence::Quarterly,
            Cadence::Monthly => ReportingCadence::Monthly,
        }
    }
    /// The reporting periods of the plan's year, in order, each with its dates, deadline
    /// and whether it is closed.
    async fn periods(&self, ctx: &Context<'_>) -> Result<Vec<ReportingPeriod>> {
        let request = ctx.request();
        let periods = period::plan_periods(request.db(), self.row()).await?;
        Ok(periods.into_iter().map(ReportingPeriod).collect())
    }
    /// The period the plan is read for when none is named (as `dashboard` does): the one
    /// containing today while the plan's year runs, its first before, its last after.
    async fn current_period(&self) -> String {
        Period::current_for(self.row(), self.view.today).to_string()
    }
    /// The overall goals, by year.
    async fn goals(&self) -> Vec<PlanGoal> {
        self.view.snapshot.plans[self.index]
            .goals
            .iter()
            .map(|goal| PlanGoal {
                year: goal.year,
                text: goal.text.clone(),
            })
            .collect()
    }
    /// The sections (systems) in order.
    async fn sections(&self) -> Vec<Section> {
        plan::sections_of(&self.view, self.index)
            .into_iter()
            .map(|index| Section::new(&self.view, index))
            .collect()
    }
}

impl Plan {
    pub fn new(view: &PlanView, index: usize) -> Self {
        Self {
            view: view.clone(),
            index,
        }
    }
}

/// An overall goal of a plan.
#[derive(SimpleObject)]
pub struct PlanGoal {
    pub year: i32,
    pub text: String,
}

/// One of a plan's sections (systems).
pub struct Section {
    pub view: PlanView,
    pub index: usize,
}

impl Section {
    pub fn new(view: &PlanView, index: usize) -> Self {
        Self {
            view: view.clone(),
            index,
        }
    }

    fn row(&self) -> &crate::entity::section::Model {
        &self.view.snapshot.sections[self.index].row
    }
}

#[Object]
impl Section {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Section, self.row().id)
    }
    async fn number(&self) -> i32 {
        self.row().number
    }
    async fn title(&self) -> &str {
        &self.row().title
    }
    async fn plan(&self) -> Plan {
        Plan::new(
            &self.view,
            self.view.snapshot.sections[self.index].plan as usize,
        )
    }
    /// The section's top-level tasks that the caller may see, in order.
    async fn tasks(&self) -> Vec<Task> {
        crate::service::task::top_level_tasks(&self.view, self.index)
            .into_iter()
            .map(|index| Task::new(&self.view, index))
            .collect()
    }
}

pub(crate) fn optional_id(id: Option<&ID>, kind: NodeKind) -> Result<Option<i64>> {
    Ok(id.map(|id| NodeId::decode_as(id, kind)).transpose()?)
}

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// Every plan the caller may see (drafts for administrators and the leadership group),
    /// newest first.
    async fn plans(&self, ctx: &Context<'_>) -> Result<Vec<Plan>> {
        let view = ctx.request().plan_view().await?;
        Ok(plan::list_plans(&view)?
            .into_iter()
            .map(|index| Plan::new(&view, index))
            .collect())
    }

    /// A plan by id; the newest published plan when no id is given.
    async fn plan(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<Plan>> {
        let view = ctx.request().plan_view().await?;
        let id = optional_id(id.as_ref(), NodeKind::Plan)?;
        Ok(plan::find_plan(&view, id)?.map(|index| Plan::new(&view, index)))
    }

    /// The sections of a plan (the newest when none is named), in order.
    async fn sections(&self, ctx: &Context<'_>, plan_id: Option<ID>) -> Result<Vec<Section>> {
        let view = ctx.request().plan_view().await?;
        let plan_id = optional_id(plan_id.as_ref(), NodeKind::Plan)?;
        Ok(plan::list_sections(&view, plan_id)?
            .into_iter()
            .map(|index| Section::new(&view, index))
            .collect())
    }
}
