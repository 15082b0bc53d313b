//! The dashboard over GraphQL: the plan at a glance for one period.

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::plan::{Plan, Section};
use crate::graphql::report::{Submission, decode};
use crate::id::NodeKind;
use crate::service::dashboard::{self, Dashboard as DashboardData};
use crate::service::light::{Judgement, Light, PeriodLights};
use crate::service::snapshot::PlanView;
use crate::service::status::{IndicatorStatus, TaskStatus};

#[derive(SimpleObject)]
pub struct TaskStatusCount {
    pub status: TaskStatus,
    pub count: u64,
}

#[derive(SimpleObject)]
pub struct IndicatorStatusCount {
    pub status: IndicatorStatus,
    pub count: u64,
}

/// Task progress of one section.
#[derive(SimpleObject)]
pub struct SectionProgress {
    pub section: Section,
    pub total: u64,
    pub not_started: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub overdue: u64,
}

/// Items of one traffic light.
#[derive(SimpleObject)]
pub struct LightCount {
    pub light: Light,
    pub count: u64,
}

/// How one department stands.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DepartmentProgress {
    #[graphql(skip)]
    view: PlanView,
    #[graphql(skip)]
    plan: usize,
    #[graphql(skip)]
    index: usize,
    #[graphql(skip)]
    period: String,
    pub department: Department,
    /// Tasks (or parts of tasks) the department reports on.
    pub led: u64,
    /// Of those, the ones with a submitted or approved report for the period.
    pub reported_this_period: u64,
    /// Its submissions for the period that came after the deadline.
    pub late: u64,
    pub overdue: u64,
    /// Its submissions waiting for review.
    pub awaiting_review: u64,
}

#[ComplexObject]
impl DepartmentProgress {
    /// The worst light of the department's tasks and indicators for the dashboard's
    /// period: see `Light`.
    async fn light(&self, ctx: &Context<'_>) -> Result<Light> {
        Ok(self.judge(ctx).await?.light)
    }
    /// How many of its items are red and yellow, and the first of the worst.
    async fn light_reason(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.judge(ctx).await?.reason)
    }
}

impl DepartmentProgress {
    async fn judge(&self, ctx: &Context<'_>) -> Result<Judgement> {
        let lights = ctx
            .request()
            .lights(&self.view, self.plan, Some(&self.period))
            .await?;
        Ok(lights.department(&self.view, self.plan, self.index))
    }
}

/// The plan at a glance: for the leadership group the whole plan (top-level tasks), for a
/// department its own items (the tasks and parts it reports on).
pub struct Dashboard {
    view: PlanView,
    data: DashboardData,
}

#[Object]
impl Dashboard {
    async fn plan(&self) -> Plan {
        Plan::new(&self.view, self.data.plan)
    }
    async fn period(&self) -> &str {
        &self.data.period
    }
    async fn tasks_by_status(&self) -> Vec<TaskStatusCount> {
        self.data
            .tasks_by_status
            .iter()
            .map(|count| TaskStatusCount {
                status: count.status,
                count: count.count,
            })
            .collect()
    }
    async fn sections(&self) -> Vec<SectionProgress> {
        self.data
            .sections
            .iter()
            .map(|row| SectionProgress {
                section: Section::new(&self.view, row.section),
                total: row.progress.total,
                not_started: row.progress.not_started,
                in_progress: row.progress.in_progress,
                completed: row.progress.completed,
                overdue: row.progress.overdue,
            })
            .collect()
    }
    async fn departments(&self) -> Vec<DepartmentProgress> {
        self.data
            .departments
            .iter()
            .map(|row| DepartmentProgress {
                view: self.view.clone(),
                plan: self.data.plan,
                index: row.department,
                period: self.data.period.clone(),
                department: Department::new(&self.view, row.department),
                led: row.led,
                reported_this_period: row.reported_this_period,
                late: row.late,
                overdue: row.overdue,
                awaiting_review: row.awaiting_review,
            })
            .collect()
    }
    async fn indicators_by_status(&self) -> Vec<IndicatorStatusCount> {
        self.data
            .indicators_by_status
            .iter()
            .map(|count| IndicatorStatusCount {
                status: count.status,
                count: count.count,
            })
            .collect()
    }
    /// The tasks `tasksByStatus` counts, by traffic light for the period.
    async fn tasks_by_light(&self, ctx: &Context<'_>) -> Result<Vec<LightCount>> {
        let lights = self.lights(ctx).await?;
        Ok(
            dashboard::tasks_by_light(&self.view, self.data.plan, &lights)
                .into_iter()
                .map(|count| LightCount {
                    light: count.light,
                    count: count.count,
                })
                .collect(),
        )
    }
    /// The indicators by traffic light for the period.
    async fn indicators_by_light(&self, ctx: &Context<'_>) -> Result<Vec<LightCount>> {
        let lights = self.lights(ctx).await?;
        Ok(
            dashboard::indicators_by_light(&self.view, self.data.plan, &lights)
                .into_iter()
                .map(|count| LightCount {
                    light: count.light,
                    count: count.count,
                })
                .collect(),
        )
    }
    async fn awaiting_review_count(&self) -> u64 {
        self.data.awaiting_review_count
    }
    /// Submissions waiting for review, oldest first.
    async fn awaiting_review(&self, ctx: &Context<'_>) -> Result<Vec<Submission>> {
        let rows =
            dashboard::awaiting_review(ctx.request().db(), self.data.scope, self.data.plan_id)
                .await?;
        Ok(rows.into_iter().map(Submission::from).collect())
    }
}

impl Dashboard {
    async fn lights(&self, ctx: &Context<'_>) -> Result<PeriodLights> {
        Ok(ctx
            .request()
            .lights(&self.view, self.data.plan, Some(&self.data.period))
            .await?)
    }
}

#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// The plan at a glance (the newest plan when none is named; the current period when
    /// none is named). `null`, with a `FORBIDDEN` error, for the portal.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        plan_id: Option<ID>,
        period: Option<String>,
    ) -> Result<Option<Dashboard>> {
        let request = ctx.request();
        let plan_id = plan_id
            .as_ref()
            .map(|id| decode(id, NodeKind::Plan))
            .transpose()?;
        let view = request.plan_view().await?;
        let data = dashboard::dashboard(
            request.db(),
            request.kept_counts(),
            &view,
            plan_id,
            period.as_deref(),
        )
        .await?;
        Ok(Some(Dashboard { view, data }))
    }
}
