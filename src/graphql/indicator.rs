//! Indicators over GraphQL: thin wrappers over the plan snapshot, with each indicator's
//! reported values loaded in batches.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::entity::external_target;
use crate::error::AppError;
use crate::graphql::audit::AuditEntry;
use crate::graphql::connection::{
    AuditEntryConnection, IndicatorConnection, IndicatorValueConnection,
};
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::loaders::ValuesOfIndicator;
use crate::graphql::plan::{Plan, optional_id};
use crate::graphql::report::{IndicatorValue, decode, load_user};
use crate::graphql::task::{Task, department_ref};
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::graphql::user::User;
use crate::id::{NodeId, NodeKind};
use crate::service::indicator::{
    self, Direction, IndicatorFilter as ServiceIndicatorFilter, TargetKind,
};
use crate::service::light::{Judgement, Light, LightFilter};
use crate::service::page::{PageArgs, page_args};
use crate::service::plan::resolve_plan;
use crate::service::policy;
use crate::service::report;
use crate::service::snapshot::{IndicatorNode, PlanView};
use crate::service::status::IndicatorStatus;

/// A target the plan states, measured by a value.
pub struct Indicator {
    pub view: PlanView,
    pub index: usize,
}

impl Indicator {
    pub fn new(view: &PlanView, index: usize) -> Self {
        Self {
            view: view.clone(),
            index,
        }
    }

    /// The indicator of a record the caller may read.
    pub fn of_id(view: &PlanView, id: i64) -> Result<Self> {
        let index = view.snapshot.indicator_index(id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "indicator {id}, referenced by a foreign key, is not in the snapshot"
            ))
        })?;
        Ok(Self::new(view, index))
    }

    fn node(&self) -> &IndicatorNode {
        &self.view.snapshot.indicators[self.index]
    }

    async fn judge(&self, ctx: &Context<'_>, period: Option<String>) -> Result<Judgement> {
        let lights = ctx
            .request()
            .lights(&self.view, self.node().plan as usize, period.as_deref())
            .await?;
        Ok(lights.indicator(&self.view, self.index))
    }
}

#[Object]
impl Indicator {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Indicator, self.node().row.id)
    }
    async fn name(&self) -> &str {
        &self.node().row.name
    }
    async fn unit(&self) -> Option<&str> {
        self.node().row.unit.as_deref()
    }
    /// Which way the value gets better.
    async fn better(&self) -> Direction {
        Direction::parse(&self.node().row.better).unwrap_or(Direction::Higher)
    }
    async fn plan(&self) -> Plan {
        Plan::new(&self.view, self.node().plan as usize)
    }
    async fn task(&self) -> Task {
        Task::new(&self.view, self.node().task as usize)
    }
    async fn responsible_departments(&self) -> Vec<Department> {
        indicator::responsible_departments(&self.view, self.index)
            .into_iter()
            .map(|index| Department::new(&self.view, index))
            .collect()
    }
    /// The target for the plan's year.
    async fn target(&self) -> Target {
        let row = &self.node().row;
        Target {
            kind: TargetKind::parse(&row.target_kind).unwrap_or(TargetKind::Qualitative),
            value: row.target_value,
            text: row.target_text.clone(),
            year: None,
        }
    }
    /// Later targets the document gives, by year.
    async fn milestones(&self) -> Vec<Target> {
        self.node()
            .milestones
            .iter()
            .map(|row| Target {
                kind: TargetKind::parse(&row.target_kind).unwrap_or(TargetKind::Qualitative),
                value: row.target_value,
                text: row.target_text.clone(),
                year: Some(row.year),
            })
            .collect()
    }
    /// For an externally set target: the values the leadership group entered, by year.
    async fn external_targets(&self) -> Vec<ExternalTarget> {
        self.node()
            .external_targets
            .iter()
            .cloned()
            .map(ExternalTarget)
            .collect()
    }
    /// Whether the viewer may give values for it: a department that answers for it, in a
    /// published plan.
    async fn viewer_can_report(&self, ctx: &Context<'_>) -> bool {
        policy::may_report_on_indicator(&ctx.request().viewer, &self.view.snapshot, self.index)
    }
    /// The values the caller may see, newest period first.
    async fn values(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<IndicatorValueConnection> {
        let args = page_args(first, after, last, before);
        IndicatorValueConnection::load(
            ctx,
            ValuesOfIndicator(self.node().row.id),
            args,
            IndicatorValue,
        )
        .await
    }
    /// The latest approved value.
    async fn latest_value(&self) -> Option<IndicatorValue> {
        self.node().assessment.value.clone().map(IndicatorValue)
    }
    /// Whether the latest approved value meets the target.
    async fn status(&self) -> IndicatorStatus {
        self.node().assessment.status
    }
    /// The judgement and its inputs, so that a reader can check it.
    async fn assessment(&self) -> IndicatorAssessment {
        let assessment = &self.node().assessment;
        IndicatorAssessment {
            status: assessment.status,
            value: assessment.value.clone().map(IndicatorValue),
            compared_with: assessment.compared_with,
            compared_with_label: assessment.compared_with_label.clone(),
        }
    }
    /// The traffic light for a period (the current one when none is named): see `Light`.
    async fn light(&self, ctx: &Context<'_>, period: Option<String>) -> Result<Light> {
        Ok(self.judge(ctx, period).await?.light)
    }
    /// The rule that set `light`, in words.
    async fn light_reason(&self, ctx: &Context<'_>, period: Option<String>) -> Result<String> {
        Ok(self.judge(ctx, period).await?.reason)
    }
    /// Recorded changes of the indicator itself (its external targets), oldest first; not
    /// in the portal's public view.
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

/// What an indicator must reach.
#[derive(SimpleObject)]
pub struct Target {
    pub kind: TargetKind,
    /// The number, for `AT_LEAST`, `AT_MOST` and `EQUAL`.
    pub value: Option<f64>,
    /// The document's own wording.
    pub text: String,
    /// The year a milestone applies to; `null` for the plan's own year.
    pub year: Option<i32>,
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
    /// Only indicators with this traffic light, for `period`.
    pub light: Option<Light>,
    /// The period `light` is judged for (the current one by default).
    pub period: Option<String>,
}

#[derive(Default)]
pub struct IndicatorQuery;

#[Object]
impl IndicatorQuery {
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
        let (light_filter, period) = (filter.light, filter.period);
        let mut filter = ServiceIndicatorFilter {
            department: department_ref(filter.department_id, filter.department_code)?,
            task_id: optional_id(filter.task_id.as_ref(), NodeKind::Task)?,
            target_kind: filter.target_kind,
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
        if let Some(light) = light_filter
            && let Some(plan) = resolve_plan(&view, plan_id)?
        {
            filter.light = Some(LightFilter {
                light,
                lights: request.lights(&view, plan, period.as_deref()).await?,
            });
        }
        let page = indicator::list_indicators(
            &view,
            plan_id,
            &filter,
            &args,
            request.settings.max_page_size,
        )?;
        Ok(IndicatorConnection::from_page(page, |index| {
            Indicator::new(&view, index)
        }))
    }

    /// One indicator by id.
    async fn indicator(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Indicator>> {
        let id = NodeId::decode_as(&id, NodeKind::Indicator)?;
        let view = ctx.request().plan_view().await?;
        Ok(indicator::find_indicator(&view, id)?.map(|index| Indicator::new(&view, index)))
    }
}

/// The value of an externally set target for one year.
pub struct ExternalTarget(pub external_target::Model);

#[Object]
impl ExternalTarget {
    pub async fn year(&self) -> i32 {
        self.0.year
    }
    pub async fn value(&self) -> f64 {
        self.0.value
    }
    pub async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    pub async fn set_at(&self) -> DateTime {
        DateTime(self.0.set_at)
    }
    pub async fn set_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, Some(self.0.set_by)).await
    }
}

/// The judgement of an indicator and its inputs, so that a reader can check it.
#[derive(SimpleObject)]
pub struct IndicatorAssessment {
    pub status: IndicatorStatus,
    /// The latest approved value.
    pub value: Option<IndicatorValue>,
    /// What the value was compared with: the target, the target set for the year, or the
    /// previous approved value.
    pub compared_with: Option<f64>,
    pub compared_with_label: Option<String>,
}

#[derive(Default)]
pub struct IndicatorMutation;

#[Object]
impl IndicatorMutation {
    /// Enters the value of an externally set target for a year (leadership).
    async fn set_external_target(
        &self,
        ctx: &Context<'_>,
        indicator_id: ID,
        year: i32,
        value: f64,
        note: Option<String>,
    ) -> Result<Indicator> {
        let request = ctx.request();
        let indicator_id = decode(&indicator_id, NodeKind::Indicator)?;
        let saved = report::set_external_target(
            request.db(),
            &request.caller(),
            indicator_id,
            year,
            value,
            note,
        )
        .await?;
        let view = request.fresh_plan_view().await?;
        Indicator::of_id(&view, saved.id)
    }
}
