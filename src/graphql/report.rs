//! The reporting workflow over GraphQL: progress reports, indicator values, evidence,
//! review, periods, the dashboard and the audit trail.

use async_graphql::{
    Context, ID, InputObject, Interface, Json, Object, Result, SimpleObject, Upload,
};
use chrono::{DateTime, Utc};

use crate::entity::{
    audit_log, evidence, external_target, indicator_value, progress_report, reporting_period,
};
use crate::error::AppError;
use crate::graphql::connection::AuditEntryConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::indicator::Indicator;
use crate::graphql::loaders::*;
use crate::graphql::plan::{Plan, Section};
use crate::graphql::task::Task;
use crate::graphql::types::{Date, global_id};
use crate::graphql::user::User;
use crate::id::{NodeId, NodeKind};
use crate::service::audit::{AuditFilter, ItemType, list_entries};
use crate::service::dashboard::{self, Dashboard as DashboardData};
use crate::service::evidence::{
    self as evidences, EvidenceInput as ServiceEvidenceInput, UploadedFile,
};
use crate::service::page::{PageArgs, page_args};
use crate::service::period::{self, PeriodState};
use crate::service::report::{
    self, IndicatorValueInput as ServiceValueInput, ProgressReportInput as ServiceReportInput,
    ProgressStatus,
};
use crate::service::snapshot::PlanView;
use crate::service::status::{IndicatorStatus, TaskStatus};
use crate::service::submission::{self, Move, ReviewStatus, SubmissionKind, SubmissionRow};

/// A user named by a record; the loader names none to the portal's public view.
async fn load_user(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .request()
        .loaders
        .load_one(UserById(id))
        .await?
        .map(User))
}

async fn load_department(ctx: &Context<'_>, id: i64) -> Result<Department> {
    let view = ctx.request().plan_view().await?;
    Department::of_id(&view, id)
}

async fn load_task(ctx: &Context<'_>, id: i64) -> Result<Task> {
    // A visible submission is always on a task its viewer may read.
    let view = ctx.request().plan_view().await?;
    Task::of_id(&view, id)
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
            /// Send it back with every change; a stale one is refused with `CONFLICT`.
            pub async fn version(&self) -> i32 {
                self.0.version
            }
            /// Submitted after the period's deadline.
            pub async fn late(&self) -> bool {
                self.0.late
            }
            pub async fn submitted_at(&self) -> Option<DateTime<Utc>> {
                self.0.submitted_at
            }
            pub async fn submitted_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
                load_user(ctx, self.0.submitted_by).await
            }
            pub async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
                self.0.reviewed_at
            }
            pub async fn reviewed_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
                load_user(ctx, self.0.reviewed_by).await
            }
            pub async fn rejection_reason(&self) -> Option<&str> {
                self.0.rejection_reason.as_deref()
            }
            pub async fn created_at(&self) -> DateTime<Utc> {
                self.0.created_at
            }
            pub async fn updated_at(&self) -> DateTime<Utc> {
                self.0.updated_at
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
                let request = ctx.request();
                args.validate(request.settings.max_page_size)?;
                let rows = request.loaders.load_one($history(self.0.id)).await?;
                Ok(AuditEntryConnection::from_list(
                    rows.unwrap_or_default(),
                    &args,
                    request.settings.max_page_size,
                    AuditEntry,
                )?)
            }
            $($own)*
        }
    };
}

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
            let files = ctx
                .request()
                .loaders
                .load_one(EvidenceOfReport(self.0.id))
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

/// A file that backs a report (佐證材料).
pub struct Evidence(pub evidence::Model);

submission_object!(Evidence, NodeKind::Evidence, HistoryOfEvidence, {
    pub async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        load_task(ctx, self.0.task_id).await
    }
    pub async fn title(&self) -> &str {
        &self.0.title
    }
    pub async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The name the file was uploaded with.
    pub async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// The type found in the file's bytes.
    pub async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Bytes.
    pub async fn size(&self) -> i64 {
        self.0.size
    }
    pub async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Download with the same bearer token.
    pub async fn download_url(&self) -> String {
        format!("/files/{}", global_id(NodeKind::Evidence, self.0.id).0)
    }
    pub async fn progress_report_id(&self) -> Option<ID> {
        self.0
            .progress_report_id
            .map(|id| global_id(NodeKind::ProgressReport, id))
    }
    pub async fn indicator_value_id(&self) -> Option<ID> {
        self.0
            .indicator_value_id
            .map(|id| global_id(NodeKind::IndicatorValue, id))
    }
});

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
    field(name = "submitted_at", ty = "Option<DateTime<Utc>>"),
    field(name = "submitted_by", ty = "Option<User>"),
    field(name = "reviewed_at", ty = "Option<DateTime<Utc>>"),
    field(name = "reviewed_by", ty = "Option<User>"),
    field(name = "rejection_reason", ty = "Option<&str>"),
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

/// One recorded change.
pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::AuditEntry, self.0.id)
    }
    pub async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who made the change; `null` for the system itself.
    pub async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    /// The actor's role at the time.
    pub async fn actor_role(&self) -> &str {
        &self.0.actor_role
    }
    /// What was done, e.g. `progressReport.submit`.
    pub async fn action(&self) -> &str {
        &self.0.action
    }
    pub async fn item_type(&self) -> &str {
        &self.0.item_type
    }
    /// The global id of the item changed.
    pub async fn item_id(&self) -> ID {
        match ItemType::node_kind(&self.0.item_type) {
            Some(kind) => global_id(kind, self.0.item_id),
            None => ID(format!("{}:{}", self.0.item_type, self.0.item_id)),
        }
    }
    pub async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .before
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .map(Json)
    }
    pub async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .after
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .map(Json)
    }
    /// The request that made the change, as in the `x-request-id` header and the logs.
    pub async fn request_id(&self) -> &str {
        &self.0.request_id
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
    pub async fn set_at(&self) -> DateTime<Utc> {
        self.0.set_at
    }
    pub async fn set_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, Some(self.0.set_by)).await
    }
}

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
    /// A closed period takes no more changes.
    pub async fn closed(&self) -> bool {
        self.0.row.as_ref().is_some_and(|row| row.closed)
    }
    /// When it was last closed or reopened.
    pub async fn changed_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.as_ref().map(|row| row.changed_at)
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

/// How one department stands.
#[derive(SimpleObject)]
pub struct DepartmentProgress {
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

#[derive(InputObject)]
pub struct EvidenceInput {
    pub task_id: ID,
    pub title: String,
    pub description: Option<String>,
    pub progress_report_id: Option<ID>,
    pub indicator_value_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only changes by this user.
    pub actor_id: Option<ID>,
    /// Only this action, e.g. `progressReport.approve`.
    pub action: Option<String>,
    /// Only changes of this item (any global id).
    pub item_id: Option<ID>,
}

fn decode(id: &ID, kind: NodeKind) -> Result<i64, AppError> {
    NodeId::decode_as(id, kind)
}

fn submission_id(id: &ID) -> Result<(SubmissionKind, i64), AppError> {
    let node = NodeId::decode(id)?;
    Ok((SubmissionKind::from_node(node.kind)?, node.id))
}

/// Extensions of the plan types with reporting fields.
#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// The plan at a glance (the newest plan when none is named; the current period when
    /// none is named).
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        plan_id: Option<ID>,
        period: Option<String>,
    ) -> Result<Dashboard> {
        let request = ctx.request();
        let plan_id = plan_id
            .as_ref()
            .map(|id| decode(id, NodeKind::Plan))
            .transpose()?;
        let view = request.plan_view().await?;
        let data = dashboard::dashboard(request.db(), &view, plan_id, period.as_deref()).await?;
        Ok(Dashboard { view, data })
    }

    /// Every recorded change, oldest first (administrators and the leadership group).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<crate::graphql::connection::AuditEntryConnection> {
        let request = ctx.request();
        let filter = filter.unwrap_or_default();
        let item = match &filter.item_id {
            Some(id) => {
                let node = NodeId::decode(id)?;
                let item_type = match node.kind {
                    NodeKind::ProgressReport => ItemType::ProgressReport,
                    NodeKind::IndicatorValue => ItemType::IndicatorValue,
                    NodeKind::Evidence => ItemType::Evidence,
                    NodeKind::Task => ItemType::Task,
                    NodeKind::Indicator => ItemType::Indicator,
                    NodeKind::User => ItemType::User,
                    _ => {
                        return Err(AppError::bad_input(
                            "changes of this kind of item are not recorded",
                        )
                        .into());
                    }
                };
                Some((item_type, node.id))
            }
            None => None,
        };
        let filter = AuditFilter {
            actor_id: filter
                .actor_id
                .as_ref()
                .map(|id| decode(id, NodeKind::User))
                .transpose()?,
            action: filter.action,
            item,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = list_entries(
            request.db(),
            &request.viewer,
            &filter,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(crate::graphql::connection::AuditEntryConnection::from_page(
            page, AuditEntry,
        ))
    }

    /// A reporting period of a plan: its dates, deadline and whether it is closed.
    async fn reporting_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
    ) -> Result<ReportingPeriod> {
        let request = ctx.request();
        let plan_id = decode(&plan_id, NodeKind::Plan)?;
        Ok(ReportingPeriod(
            period::find_period(request.db(), &request.viewer, plan_id, &period).await?,
        ))
    }
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
            task_id: decode(&input.task_id, NodeKind::Task)?,
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
            indicator_id: decode(&input.indicator_id, NodeKind::Indicator)?,
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

    /// Uploads a file as draft evidence (GraphQL multipart request).
    async fn upload_evidence(
        &self,
        ctx: &Context<'_>,
        input: EvidenceInput,
        file: Upload,
    ) -> Result<Evidence> {
        let request = ctx.request();
        request.viewer.require_signed_in()?;
        let upload = file
            .value(ctx)
            .map_err(|_| AppError::bad_input("the file could not be read from the request"))?;
        let input = ServiceEvidenceInput {
            task_id: decode(&input.task_id, NodeKind::Task)?,
            title: input.title,
            description: input.description,
            progress_report_id: input
                .progress_report_id
                .as_ref()
                .map(|id| decode(id, NodeKind::ProgressReport))
                .transpose()?,
            indicator_value_id: input
                .indicator_value_id
                .as_ref()
                .map(|id| decode(id, NodeKind::IndicatorValue))
                .transpose()?,
        };
        let saved = evidences::upload_evidence(
            request.db(),
            &request.files,
            &request.metrics,
            &request.caller(),
            &request.upload_policy,
            input,
            UploadedFile {
                file_name: upload.filename,
                content: upload.content,
            },
        )
        .await?;
        Ok(Evidence(saved))
    }

    /// Deletes draft evidence of your department; returns its id.
    async fn delete_evidence(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<ID> {
        let request = ctx.request();
        let raw = decode(&id, NodeKind::Evidence)?;
        evidences::delete_evidence(
            request.db(),
            &request.files,
            &request.caller(),
            raw,
            version,
        )
        .await?;
        Ok(id)
    }

    /// Submits a draft or rejected item for review.
    async fn submit(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Submit).await
    }

    /// Approves a submitted item (leadership); it is locked until reopened.
    async fn approve(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Approve).await
    }

    /// Sends a submitted item back with a reason (leadership).
    async fn reject(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> Result<Submission> {
        move_submission(ctx, &id, Some(version), Move::Reject(&reason)).await
    }

    /// Unlocks an approved item and sends it back with a reason (leadership).
    async fn reopen(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Submission> {
        move_submission(ctx, &id, None, Move::Reopen(&reason)).await
    }

    /// Sets a task's due date (leadership).
    async fn set_task_due_date(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        due_on: Date,
    ) -> Result<Task> {
        let request = ctx.request();
        let task_id = decode(&task_id, NodeKind::Task)?;
        let saved =
            report::set_task_due_date(request.db(), &request.caller(), task_id, due_on.0).await?;
        let view = request.fresh_plan_view().await?;
        Task::of_id(&view, saved.id)
    }

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

    /// Closes a reporting period: nothing in it can change (leadership).
    async fn close_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
    ) -> Result<ReportingPeriod> {
        let request = ctx.request();
        let plan_id = decode(&plan_id, NodeKind::Plan)?;
        let state = period::set_period_closed(
            request.db(),
            &request.caller(),
            plan_id,
            &period,
            true,
            None,
        )
        .await?;
        Ok(ReportingPeriod(state))
    }

    /// Reopens a closed reporting period, with a reason (leadership).
    async fn reopen_period(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        period: String,
        reason: String,
    ) -> Result<ReportingPeriod> {
        let request = ctx.request();
        let plan_id = decode(&plan_id, NodeKind::Plan)?;
        let state = period::set_period_closed(
            request.db(),
            &request.caller(),
            plan_id,
            &period,
            false,
            Some(&reason),
        )
        .await?;
        Ok(ReportingPeriod(state))
    }
}

async fn move_submission(
    ctx: &Context<'_>,
    id: &ID,
    version: Option<i32>,
    step: Move<'_>,
) -> Result<Submission> {
    let request = ctx.request();
    let (kind, raw) = submission_id(id)?;
    let row =
        submission::transition(request.db(), &request.caller(), kind, raw, version, step).await?;
    Ok(row.into())
}
