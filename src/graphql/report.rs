//! Progress reports and indicator values over GraphQL: the submissions departments write,
//! and the review fields every kind of submission shares.

use async_graphql::{Context, ID, InputObject, Interface, Object, Result};

use crate::entity::{indicator_value, progress_report};
use crate::error::AppError;
use crate::graphql::audit::AuditEntry;
use crate::graphql::connection::AuditEntryConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::evidence::Evidence;
use crate::graphql::indicator::Indicator;
use crate::graphql::loaders::*;
use crate::graphql::task::Task;
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::graphql::user::User;
use crate::id::{NodeId, NodeKind};
use crate::service::page::page_args;
use crate::service::policy::{self, SubmissionAbilities};
use crate::service::report::{
    self, IndicatorValueInput as ServiceValueInput, ProgressReportInput as ServiceReportInput,
    ProgressStatus,
};
use crate::service::submission::{ReviewStatus, SubmissionRow};

/// A user named by a record; the loader names none to the portal's public view.
pub(crate) async fn load_user(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .request()
        .loaders
        .load_one(UserById(id))
        .await?
        .map(User))
}

pub(crate) async fn load_department(ctx: &Context<'_>, id: i64) -> Result<Department> {
    let view = ctx.request().plan_view().await?;
    Department::of_id(&view, id)
}

pub(crate) async fn load_task(ctx: &Context<'_>, id: i64) -> Result<Task> {
    // A visible submission is always on a task its viewer may read.
    let view = ctx.request().plan_view().await?;
    Task::of_id(&view, id)
}

/// What the viewer may do with a submission now (see `policy::submission_abilities`).
pub(crate) async fn abilities(
    ctx: &Context<'_>,
    row: &SubmissionRow,
) -> Result<SubmissionAbilities> {
    let request = ctx.request();
    let viewer = &request.viewer;
    // With the widest assumptions (the viewer answers for the indicator, the period is
    // open) most answers are already `false`, and nothing needs to be read.
    if policy::submission_abilities(viewer, row, true, false) == SubmissionAbilities::default() {
        return Ok(SubmissionAbilities::default());
    }
    let answers_for_indicator = match (
        row,
        viewer.user().and_then(|user| user.access.department_id()),
    ) {
        (SubmissionRow::IndicatorValue(value), Some(department_id)) => {
            let view = request.plan_view().await?;
            let snapshot = &view.snapshot;
            snapshot
                .indicator_by_id(value.indicator_id)
                .is_some_and(|indicator| snapshot.indicator_answered_by(indicator, department_id))
        }
        _ => false,
    };
    let period = match row {
        SubmissionRow::ProgressReport(report) => Some(report.period.clone()),
        SubmissionRow::IndicatorValue(value) => Some(value.period.clone()),
        SubmissionRow::Evidence(file) => match (file.progress_report_id, file.indicator_value_id) {
            (Some(report_id), _) => request.loaders.load_one(PeriodOfReport(report_id)).await?,
            (None, Some(value_id)) => request.loaders.load_one(PeriodOfValue(value_id)).await?,
            (None, None) => None,
        },
    };
    let period_closed = match period {
        Some(period) => request
            .loaders
            .load_one(ClosedPeriodsOfPlan(row.plan_id()))
            .await?
            .is_some_and(|closed| closed.contains(&period)),
        None => false,
    };
    Ok(policy::submission_abilities(
        viewer,
        row,
        answers_for_indicator,
        period_closed,
    ))
}

/// Declares a submission type: the review fields every kind shares, then its own.
macro_rules! submission_object {
    ($type:ident, $kind:expr, $history:ident, { $($own:tt)* }) => {
        #[Object]
        impl $type {
            pub async fn id(&self) -> ID {
                global_id($kind, self.0.id)
            }
            /// The department that made the submission.
            pub async fn department(&self, ctx: &Context<'_>) -> Result<Department> {
                load_department(ctx, self.0.department_id).await
            }
            pub async fn review_status(&self) -> ReviewStatus {
                ReviewStatus::parse(&self.0.review_status)
            }
            /// Send it back with every change; a stale one is refused with `STALE_VERSION`.
            pub async fn version(&self) -> i32 {
                self.0.version
            }
            /// Submitted after the period's deadline.
            pub async fn late(&self) -> bool {
                self.0.late
            }
            pub async fn submitted_at(&self) -> Option<DateTime> {
                self.0.submitted_at.map(DateTime)
            }
            pub async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
                load_user(ctx, self.0.submitted_by).await
            }
            pub async fn reviewed_at(&self) -> Option<DateTime> {
                self.0.reviewed_at.map(DateTime)
            }
            pub async fn reviewed_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
                load_user(ctx, self.0.reviewed_by).await
            }
            pub async fn rejection_reason(&self) -> Option<&str> {
                self.0.rejection_reason.as_deref()
            }
            pub async fn created_at(&self) -> DateTime {
                DateTime(self.0.created_at)
            }
            pub async fn updated_at(&self) -> DateTime {
                DateTime(self.0.updated_at)
            }
            /// Every recorded change of this item, oldest first (not in the portal's
            /// public view, which shows no drafts).
            pub async fn history(
                &self,
                ctx: &Context<'_>,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
            ) -> Result<AuditEntryConnection> {
                let args = page_args(first, after, last, before);
                AuditEntryConnection::load(ctx, $history(self.0.id), args, AuditEntry).await
            }
            /// Whether the viewer may change it now: its department (or, for a value, one
            /// answering for the indicator), while it is a draft or rejected and its
            /// period is open.
            pub async fn viewer_can_edit(&self, ctx: &Context<'_>) -> Result<bool> {
                Ok(abilities(ctx, &SubmissionRow::$type(self.0.clone())).await?.edit)
            }
            /// Whether the viewer may send it for review now (as for `viewerCanEdit`).
            pub async fn viewer_can_submit(&self, ctx: &Context<'_>) -> Result<bool> {
                Ok(abilities(ctx, &SubmissionRow::$type(self.0.clone())).await?.submit)
            }
            /// Whether the viewer may approve or reject it now: the leadership group or an
            /// administrator, while it is submitted and its period is open.
            pub async fn viewer_can_review(&self, ctx: &Context<'_>) -> Result<bool> {
                Ok(abilities(ctx, &SubmissionRow::$type(self.0.clone())).await?.review)
            }
            $($own)*
        }
    };
}
pub(crate) use submission_object;

/// What a lead department reports on a task for one period.
pub struct ProgressReport(pub progress_report::Model);

submission_object!(
    ProgressReport,
    NodeKind::ProgressReport,
    HistoryOfProgressReport,
    {
        pub async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
            load_task(ctx, self.0.task_id).await
        }
        /// `2022-Q2` or `2022-05`.
        pub async fn period(&self) -> &str {
            &self.0.period
        }
        pub async fn status(&self) -> ProgressStatus {
            ProgressStatus::parse(&self.0.status)
        }
        /// 工作進展
        pub async fn work_done(&self) -> &str {
            &self.0.work_done
        }
        /// 存在問題
        pub async fn problems(&self) -> Option<&str> {
            self.0.problems.as_deref()
        }
        /// 下步打算
        pub async fn next_steps(&self) -> Option<&str> {
            self.0.next_steps.as_deref()
        }
        pub async fn evidence(&self, ctx: &Context<'_>) -> Result<Vec<Evidence>> {
            let request = ctx.request();
            let report_id = self.0.id;
            // Every file of a report is also a file of its task, read within the same
            // scope: when the request reads the task's evidence anyway, take it from there.
            if request.reads_task_evidence(self.0.task_id) {
                let files = request.evidence_of_task(self.0.task_id).await?;
                return Ok(files
                    .iter()
                    .filter(|file| file.progress_report_id == Some(report_id))
                    .cloned()
                    .map(Evidence)
                    .collect());
            }
            let files = request
                .loaders
                .load_one(EvidenceOfReport(report_id))
                .await?;
            Ok(files
                .unwrap_or_default()
                .into_iter()
                .map(Evidence)
                .collect())
        }
    }
);

/// The figure a department reports for an indicator in one period.
pub struct IndicatorValue(pub indicator_value::Model);

submission_object!(
    IndicatorValue,
    NodeKind::IndicatorValue,
    HistoryOfIndicatorValue,
    {
        pub async fn indicator(&self, ctx: &Context<'_>) -> Result<Indicator> {
            let view = ctx.request().plan_view().await?;
            Indicator::of_id(&view, self.0.indicator_id)
        }
        pub async fn period(&self) -> &str {
            &self.0.period
        }
        pub async fn value(&self) -> Option<f64> {
            self.0.value
        }
        /// For targets stated in words: achieved or not.
        pub async fn achieved(&self) -> Option<bool> {
            self.0.achieved
        }
        pub async fn text(&self) -> Option<&str> {
            self.0.text.as_deref()
        }
        /// Where the figure comes from.
        pub async fn source(&self) -> Option<&str> {
            self.0.source.as_deref()
        }
        pub async fn note(&self) -> Option<&str> {
            self.0.note.as_deref()
        }
        pub async fn evidence(&self, ctx: &Context<'_>) -> Result<Vec<Evidence>> {
            let files = ctx
                .request()
                .loaders
                .load_one(EvidenceOfValue(self.0.id))
                .await?;
            Ok(files
                .unwrap_or_default()
                .into_iter()
                .map(Evidence)
                .collect())
        }
    }
);

/// Anything a department submits for review.
// The derive repeats `ty = ...` for fields of the same type, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID"),
    field(name = "department", ty = "Department"),
    field(name = "review_status", ty = "ReviewStatus"),
    field(name = "version", ty = "i32"),
    field(name = "late", ty = "bool"),
    field(name = "submitted_at", ty = "Option<DateTime>"),
    field(name = "submitted_by", ty = "Option<User>"),
    field(name = "reviewed_at", ty = "Option<DateTime>"),
    field(name = "reviewed_by", ty = "Option<User>"),
    field(name = "rejection_reason", ty = "Option<&str>"),
    field(name = "viewer_can_edit", ty = "bool"),
    field(name = "viewer_can_submit", ty = "bool"),
    field(name = "viewer_can_review", ty = "bool"),
    field(
        name = "history",
        ty = "AuditEntryConnection",
        arg(name = "first", ty = "Option<i32>"),
        arg(name = "after", ty = "Option<String>"),
        arg(name = "last", ty = "Option<i32>"),
        arg(name = "before", ty = "Option<String>")
    )
)]
pub enum Submission {
    ProgressReport(ProgressReport),
    IndicatorValue(IndicatorValue),
    Evidence(Evidence),
}

impl From<SubmissionRow> for Submission {
    fn from(row: SubmissionRow) -> Self {
        match row {
            SubmissionRow::ProgressReport(row) => Submission::ProgressReport(ProgressReport(row)),
            SubmissionRow::IndicatorValue(row) => Submission::IndicatorValue(IndicatorValue(row)),
            SubmissionRow::Evidence(row) => Submission::Evidence(Evidence(row)),
        }
    }
}

#[derive(InputObject)]
pub struct ProgressReportInput {
    pub task_id: ID,
    pub period: String,
    pub status: ProgressStatus,
    pub work_done: String,
    pub problems: Option<String>,
    pub next_steps: Option<String>,
}

#[derive(InputObject)]
pub struct IndicatorValueInput {
    pub indicator_id: ID,
    pub period: String,
    pub value: Option<f64>,
    pub achieved: Option<bool>,
    pub text: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

pub(crate) fn decode(id: &ID, kind: NodeKind) -> Result<i64, AppError> {
    NodeId::decode_as(id, kind)
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Creates a draft (no id) or changes a draft or rejected report of your department.
    async fn save_progress_report(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        version: Option<i32>,
        input: ProgressReportInput,
    ) -> Result<ProgressReport> {
        let request = ctx.request();
        let id = id
            .as_ref()
            .map(|id| decode(id, NodeKind::ProgressReport))
            .transpose()?;
        let input = ServiceReportInput {
            task_id: decode(&input.task_id, NodeKind::Task)
                .map_err(|e| e.in_field("input.taskId"))?,
            period: input.period,
            status: input.status,
            work_done: input.work_done,
            problems: input.problems,
            next_steps: input.next_steps,
        };
        let saved =
            report::save_progress_report(request.db(), &request.caller(), id, version, input)
                .await?;
        Ok(ProgressReport(saved))
    }

    /// Creates a draft (no id) or changes a draft or rejected value of your department.
    async fn save_indicator_value(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        version: Option<i32>,
        input: IndicatorValueInput,
    ) -> Result<IndicatorValue> {
        let request = ctx.request();
        let id = id
            .as_ref()
            .map(|id| decode(id, NodeKind::IndicatorValue))
            .transpose()?;
        let input = ServiceValueInput {
            indicator_id: decode(&input.indicator_id, NodeKind::Indicator)
                .map_err(|e| e.in_field("input.indicatorId"))?,
            period: input.period,
            value: input.value,
            achieved: input.achieved,
            text: input.text,
            source: input.source,
            note: input.note,
        };
        let saved =
            report::save_indicator_value(request.db(), &request.caller(), id, version, input)
                .await?;
        Ok(IndicatorValue(saved))
    }
}
