//! The API types. Each wraps a row and decides which of its columns the API shows.

use async_graphql::{
    Context, ID, Interface, Object, Result, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::NaiveDate;

use crate::entity::{department, indicator, indicator_milestone, plan, plan_goal, section, task};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::*;
use crate::graphql::report::{
    AuditEntry, Evidence, ExternalTarget, IndicatorAssessment, IndicatorValue, ProgressReport,
};
use crate::id::{NodeId, NodeKind};
use crate::service::indicator::{Direction, TargetKind};
use crate::service::status::{IndicatorStatus, TaskStatus};

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    async_graphql::InputValueError::custom("a date is written YYYY-MM-DD")
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

pub fn global_id(kind: NodeKind, id: i64) -> ID {
    ID(NodeId::new(kind, id).encode())
}

/// Any object with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Opaque and globally unique; resolves through `node`."
))]
pub enum Node {
    Plan(Plan),
    Section(Section),
    Department(Department),
    Task(Task),
    Indicator(Indicator),
    User(crate::graphql::user::User),
    ProgressReport(ProgressReport),
    IndicatorValue(IndicatorValue),
    Evidence(Evidence),
    AuditEntry(AuditEntry),
}

/// A work plan: one year's tasks for the city.
pub struct Plan(pub plan::Model);

#[Object]
impl Plan {
    async fn id(&self) -> ID {
        global_id(NodeKind::Plan, self.0.id)
    }
    /// A stable name for the plan, e.g. `tangshan-2022`.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn year(&self) -> i32 {
        self.0.year
    }
    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// Why the plan was written.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn guiding_idea(&self) -> &str {
        &self.0.guiding_idea
    }
    /// How often departments report: `QUARTERLY` or `MONTHLY`.
    async fn reporting_cadence(&self) -> &str {
        &self.0.reporting_cadence
    }
    /// The overall goals, by year.
    async fn goals(&self, ctx: &Context<'_>) -> Result<Vec<PlanGoal>> {
        let goals = ctx
            .request()
            .loaders
            .load_one(GoalsOfPlan(self.0.id))
            .await?;
        Ok(goals
            .unwrap_or_default()
            .into_iter()
            .map(PlanGoal::from)
            .collect())
    }
    /// The sections (systems) in order.
    async fn sections(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        let sections = ctx
            .request()
            .loaders
            .load_one(SectionsOfPlan(self.0.id))
            .await?;
        Ok(sections
            .unwrap_or_default()
            .into_iter()
            .map(Section)
            .collect())
    }
}

/// An overall goal of a plan.
#[derive(SimpleObject)]
pub struct PlanGoal {
    pub year: i32,
    pub text: String,
}

impl From<plan_goal::Model> for PlanGoal {
    fn from(row: plan_goal::Model) -> Self {
        Self {
            year: row.year,
            text: row.text,
        }
    }
}

/// One of a plan's sections (systems).
pub struct Section(pub section::Model);

#[Object]
impl Section {
    async fn id(&self) -> ID {
        global_id(NodeKind::Section, self.0.id)
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let plan = ctx
            .request()
            .loaders
            .load_one(PlanById(self.0.plan_id))
            .await?;
        plan.map(Plan).ok_or_else(|| missing("plan"))
    }
    /// The section's top-level tasks that the caller may see, in order.
    async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let tasks = ctx
            .request()
            .loaders
            .load_one(TopLevelTasksOfSection(self.0.id))
            .await?;
        Ok(tasks.unwrap_or_default().into_iter().map(Task).collect())
    }
}

/// A municipal department.
pub struct Department(pub department::Model);

#[Object]
impl Department {
    async fn id(&self) -> ID {
        global_id(NodeKind::Department, self.0.id)
    }
    /// A stable ASCII code, for URLs and the command line.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Other names the plan uses for the department.
    async fn aliases(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let aliases = ctx
            .request()
            .loaders
            .load_one(AliasesOfDepartment(self.0.id))
            .await?;
        Ok(aliases.unwrap_or_default())
    }
    /// The tasks the department leads that the caller may see.
    async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let tasks = ctx
            .request()
            .loaders
            .load_one(TasksLedByDepartment(self.0.id))
            .await?;
        Ok(tasks.unwrap_or_default().into_iter().map(Task).collect())
    }
}

/// A numbered task of a plan, or a part of one (`2.1`).
pub struct Task(pub task::Model);

#[Object]
impl Task {
    async fn id(&self) -> ID {
        global_id(NodeKind::Task, self.0.id)
    }
    /// The document's numbering: `12`, or `2.3` for a part of task 2.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The full text, as the document writes it.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// The lead units as the document writes them, e.g. `市生態環境局、市水利局按職責牽頭`.
    async fn leads_as_written(&self) -> Option<&str> {
        self.0.leads_as_written.as_deref()
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let plan = ctx
            .request()
            .loaders
            .load_one(PlanById(self.0.plan_id))
            .await?;
        plan.map(Plan).ok_or_else(|| missing("plan"))
    }
    async fn section(&self, ctx: &Context<'_>) -> Result<Section> {
        let section = ctx
            .request()
            .loaders
            .load_one(SectionById(self.0.section_id))
            .await?;
        section.map(Section).ok_or_else(|| missing("section"))
    }
    /// The task this one is a part of.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(parent_id) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(ctx
            .request()
            .loaders
            .load_one(TaskById(parent_id))
            .await?
            .map(Task))
    }
    /// The parts of this task that the caller may see, in order.
    async fn subtasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let tasks = ctx
            .request()
            .loaders
            .load_one(SubtasksOfTask(self.0.id))
            .await?;
        Ok(tasks.unwrap_or_default().into_iter().map(Task).collect())
    }
    /// The departments that lead the task, in the document's order; for a task with parts,
    /// every department that leads a part.
    async fn lead_departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let departments = ctx
            .request()
            .loaders
            .load_one(LeadDepartmentsOfTask(self.0.id))
            .await?;
        Ok(departments
            .unwrap_or_default()
            .into_iter()
            .map(Department)
            .collect())
    }
    /// The task's indicators that the caller may see.
    async fn indicators(&self, ctx: &Context<'_>) -> Result<Vec<Indicator>> {
        let indicators = ctx
            .request()
            .loaders
            .load_one(IndicatorsOfTask(self.0.id))
            .await?;
        Ok(indicators
            .unwrap_or_default()
            .into_iter()
            .map(Indicator)
            .collect())
    }
    /// Set by the leadership group; the end of the plan's year unless changed.
    async fn due_on(&self, ctx: &Context<'_>) -> Result<Date> {
        let plan = ctx
            .request()
            .loaders
            .load_one(PlanById(self.0.plan_id))
            .await?;
        let plan = plan.ok_or_else(|| missing("plan"))?;
        Ok(Date(crate::service::report::due_on(&self.0, &plan)))
    }
    /// From the lead departments' latest approved reports and the due date.
    async fn status(&self, ctx: &Context<'_>) -> Result<TaskStatus> {
        let status = ctx
            .request()
            .loaders
            .load_one(StatusOfTask(self.0.id))
            .await?;
        Ok(status.unwrap_or(TaskStatus::NotStarted))
    }
    /// The progress reports the caller may see, newest period first.
    async fn progress_reports(&self, ctx: &Context<'_>) -> Result<Vec<ProgressReport>> {
        let reports = ctx
            .request()
            .loaders
            .load_one(ReportsOfTask(self.0.id))
            .await?;
        Ok(reports
            .unwrap_or_default()
            .into_iter()
            .map(ProgressReport)
            .collect())
    }
    /// The evidence the caller may see.
    async fn evidence(&self, ctx: &Context<'_>) -> Result<Vec<Evidence>> {
        let files = ctx
            .request()
            .loaders
            .load_one(EvidenceOfTask(self.0.id))
            .await?;
        Ok(files
            .unwrap_or_default()
            .into_iter()
            .map(Evidence)
            .collect())
    }
    /// Recorded changes of the task itself (its due date), oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<AuditEntry>> {
        if !ctx.request().viewer.sees_internal_records() {
            return Ok(Vec::new());
        }
        let rows = ctx
            .request()
            .loaders
            .load_one(HistoryOfTask(self.0.id))
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(AuditEntry)
            .collect())
    }
}

/// A target the plan states, measured by a value.
pub struct Indicator(pub indicator::Model);

#[Object]
impl Indicator {
    async fn id(&self) -> ID {
        global_id(NodeKind::Indicator, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    /// Which way the value gets better.
    async fn better(&self) -> Direction {
        Direction::parse(&self.0.better).unwrap_or(Direction::Higher)
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let plan = ctx
            .request()
            .loaders
            .load_one(PlanById(self.0.plan_id))
            .await?;
        plan.map(Plan).ok_or_else(|| missing("plan"))
    }
    async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        let task = ctx
            .request()
            .loaders
            .load_one(TaskById(self.0.task_id))
            .await?;
        task.map(Task).ok_or_else(|| missing("task"))
    }
    async fn responsible_departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let departments = ctx
            .request()
            .loaders
            .load_one(ResponsibleDepartmentsOfIndicator(self.0.id))
            .await?;
        Ok(departments
            .unwrap_or_default()
            .into_iter()
            .map(Department)
            .collect())
    }
    /// The target for the plan's year.
    async fn target(&self) -> Target {
        Target {
            kind: TargetKind::parse(&self.0.target_kind).unwrap_or(TargetKind::Qualitative),
            value: self.0.target_value,
            text: self.0.target_text.clone(),
            year: None,
        }
    }
    /// Later targets the document gives, by year.
    async fn milestones(&self, ctx: &Context<'_>) -> Result<Vec<Target>> {
        let milestones = ctx
            .request()
            .loaders
            .load_one(MilestonesOfIndicator(self.0.id))
            .await?;
        Ok(milestones
            .unwrap_or_default()
            .into_iter()
            .map(Target::from)
            .collect())
    }
    /// For an externally set target: the values the leadership group entered, by year.
    async fn external_targets(&self, ctx: &Context<'_>) -> Result<Vec<ExternalTarget>> {
        let targets = ctx
            .request()
            .loaders
            .load_one(ExternalTargetsOfIndicator(self.0.id))
            .await?;
        Ok(targets
            .unwrap_or_default()
            .into_iter()
            .map(ExternalTarget)
            .collect())
    }
    /// The values the caller may see, newest period first.
    async fn values(&self, ctx: &Context<'_>) -> Result<Vec<IndicatorValue>> {
        let values = ctx
            .request()
            .loaders
            .load_one(ValuesOfIndicator(self.0.id))
            .await?;
        Ok(values
            .unwrap_or_default()
            .into_iter()
            .map(IndicatorValue)
            .collect())
    }
    /// The latest approved value.
    async fn latest_value(&self, ctx: &Context<'_>) -> Result<Option<IndicatorValue>> {
        let assessment = ctx
            .request()
            .loaders
            .load_one(AssessmentOfIndicator(self.0.id))
            .await?;
        Ok(assessment
            .and_then(|assessment| assessment.value)
            .map(IndicatorValue))
    }
    /// Whether the latest approved value meets the target.
    async fn status(&self, ctx: &Context<'_>) -> Result<IndicatorStatus> {
        let assessment = ctx
            .request()
            .loaders
            .load_one(AssessmentOfIndicator(self.0.id))
            .await?;
        Ok(assessment
            .map(|assessment| assessment.status)
            .unwrap_or(IndicatorStatus::NoData))
    }
    /// The judgement and its inputs, so that a reader can check it.
    async fn assessment(&self, ctx: &Context<'_>) -> Result<IndicatorAssessment> {
        let assessment = ctx
            .request()
            .loaders
            .load_one(AssessmentOfIndicator(self.0.id))
            .await?;
        Ok(match assessment {
            Some(assessment) => IndicatorAssessment {
                status: assessment.status,
                value: assessment.value.map(IndicatorValue),
                compared_with: assessment.compared_with,
                compared_with_label: assessment.compared_with_label,
            },
            None => IndicatorAssessment {
                status: IndicatorStatus::NoData,
                value: None,
                compared_with: None,
                compared_with_label: None,
            },
        })
    }
    /// Recorded changes of the indicator itself (its external targets), oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<AuditEntry>> {
        if !ctx.request().viewer.sees_internal_records() {
            return Ok(Vec::new());
        }
        let rows = ctx
            .request()
            .loaders
            .load_one(HistoryOfIndicator(self.0.id))
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(AuditEntry)
            .collect())
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

impl From<indicator_milestone::Model> for Target {
    fn from(row: indicator_milestone::Model) -> Self {
        Self {
            kind: TargetKind::parse(&row.target_kind).unwrap_or(TargetKind::Qualitative),
            value: row.target_value,
            text: row.target_text,
            year: Some(row.year),
        }
    }
}

/// A row a relation points at is gone: the schema's foreign keys make this impossible,
/// so it is an internal error.
fn missing(what: &str) -> async_graphql::Error {
    crate::error::AppError::Unexpected(anyhow::anyhow!(
        "a {what} row referenced by a foreign key is missing"
    ))
    .into()
}
