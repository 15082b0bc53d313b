//! Reporting periods over GraphQL: their dates and deadlines, closing and reopening.

use async_graphql::{Context, ID, Object, Result};

use crate::entity::reporting_period;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::plan::Plan;
use crate::graphql::report::{decode, load_user};
use crate::graphql::types::Date;
use crate::graphql::types::DateTime;
use crate::graphql::user::User;
use crate::id::NodeKind;
use crate::service::period::{self, PeriodChange, PeriodState};

/// A reporting period of a plan.
pub struct ReportingPeriod(pub PeriodState);

#[Object]
impl ReportingPeriod {
    pub async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let view = ctx.request().plan_view().await?;
        let index = view.snapshot.plan_index(self.0.plan_id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("a period's plan is not in the snapshot"))
        })?;
        Ok(Plan::new(&view, index))
    }
    /// `2022-Q2` or `2022-05`.
    pub async fn period(&self) -> String {
        self.0.period.to_string()
    }
    pub async fn starts_on(&self) -> Date {
        Date(self.0.period.first_day())
    }
    pub async fn ends_on(&self) -> Date {
        Date(self.0.period.last_day())
    }
    /// The last day a submission is on time.
    pub async fn deadline(&self) -> Date {
        Date(self.0.period.deadline(self.0.deadline_days))
    }
    /// 0 until the period is first closed, then raised by every close and reopening:
    /// give it to `closePeriod` or `reopenPeriod`.
    pub async fn version(&self) -> i32 {
        self.0.version()
    }
    /// A closed period takes no more changes.
    pub async fn closed(&self) -> bool {
        self.0.row.as_ref().is_some_and(|row| row.closed)
    }
    /// When it was last closed or reopened.
    pub async fn changed_at(&self) -> Option<DateTime> {
        self.0.row.as_ref().map(|row| row.changed_at).map(DateTime)
    }
    pub async fn changed_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(
            ctx,
            self.0
                .row
                .as_ref()
                .map(|row: &reporting_period::Model| row.changed_by),
        )
        .await
    }
}

#[derive(Default)]
pub struct PeriodQuery;

#[Object]
impl PeriodQuery {
    /// A reporting period of a plan: its dates, deadline and whether it is closed;
    /// `null`, with a `NOT_FOUND` error, when the plan is not visible to the caller.
    async fn reporting_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
    ) -> Result<Option<ReportingPeriod>> {
        let request = ctx.request();
        let plan_id = decode(&plan_id, NodeKind::Plan)?;
        Ok(Some(ReportingPeriod(
            period::find_period(request.db(), &request.viewer, plan_id, &period).await?,
        )))
    }
}

#[derive(Default)]
pub struct PeriodMutation;

#[Object]
impl PeriodMutation {
    /// Closes a reporting period: nothing in it can change (leadership). With `version`
    /// (the period's, as read), a change made meanwhile is not overwritten:
    /// `STALE_VERSION` with `currentVersion`.
    async fn close_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
        version: Option<i32>,
    ) -> Result<ReportingPeriod> {
        let change = PeriodChange {
            closed: true,
            reason: None,
            version,
        };
        change_period(ctx, plan_id, &period, change).await
    }

    /// Reopens a closed reporting period, with a reason (leadership). With `version`, as
    /// for `closePeriod`.
    async fn reopen_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
        reason: String,
        version: Option<i32>,
    ) -> Result<ReportingPeriod> {
        let change = PeriodChange {
            closed: false,
            reason: Some(&reason),
            version,
        };
        change_period(ctx, plan_id, &period, change).await
    }
}

async fn change_period(
    ctx: &Context<'_>,
    plan_id: ID,
    period: &str,
    change: PeriodChange<'_>,
) -> Result<ReportingPeriod> {
    let request = ctx.request();
    let plan_id = decode(&plan_id, NodeKind::Plan)?;
    let state =
        period::set_period_closed(request.db(), &request.caller(), plan_id, period, change).await?;
    Ok(ReportingPeriod(state))
}
