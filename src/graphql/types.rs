//! What every area of the API shares: the `Date` and `DateTime` scalars, global ids and the `Node`
//! interface.

use async_graphql::{ID, Interface, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::graphql::audit::AuditEntry;
use crate::graphql::department::Department;
use crate::graphql::evidence::Evidence;
use crate::graphql::indicator::Indicator;
use crate::graphql::plan::{Plan, Section};
use crate::graphql::report::{IndicatorValue, ProgressReport};
use crate::graphql::task::Task;
use crate::id::{NodeId, NodeKind};

#[derive(Clone, Copy, Debug)]
pub struct Date(pub NaiveDate);

#[Scalar(
    name = "Date",
    specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html"
)]
/// A calendar date, `YYYY-MM-DD` (ISO 8601): `2022-06-30`.
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

#[derive(Clone, Copy, Debug)]
pub struct DateTime(pub chrono::DateTime<Utc>);

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
/// A moment, written in UTC as RFC 3339 to the second: `2022-05-01T08:30:00Z`. An
/// input may carry any RFC 3339 offset.
impl ScalarType for DateTime {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|at| DateTime(at.with_timezone(&Utc)))
                .map_err(|_| {
                    async_graphql::InputValueError::custom(
                        "a date-time is written as RFC 3339, like 2022-05-01T08:30:00Z",
                    )
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
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

#[derive(Default)]
pub struct NodeQuery;

#[async_graphql::Object]
impl NodeQuery {
    /// Any object by its global id; `null` when it does not exist or is not visible.
    async fn node(
        &self,
        ctx: &async_graphql::Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        use crate::graphql::context::ContextExt;
        use crate::service::{audit, department, indicator, plan, submission, task, user};

        let request = ctx.request();
        let viewer = &request.viewer;
        let node = NodeId::decode(&id)?;
        let found = match node.kind {
            NodeKind::Plan
            | NodeKind::Section
            | NodeKind::Department
            | NodeKind::Task
            | NodeKind::Indicator => {
                let view = request.plan_view().await?;
                match node.kind {
                    NodeKind::Plan => plan::find_plan(&view, Some(node.id))?
                        .map(|index| Node::Plan(Plan::new(&view, index))),
                    NodeKind::Section => plan::find_section(&view, node.id)?
                        .map(|index| Node::Section(Section::new(&view, index))),
                    NodeKind::Department => {
                        department::find_department(&view, department::DepartmentKey::Id(node.id))?
                            .map(|index| Node::Department(Department::new(&view, index)))
                    }
                    NodeKind::Task => task::find_task(&view, node.id)?
                        .map(|index| Node::Task(Task::new(&view, index))),
                    _ => indicator::find_indicator(&view, node.id)?
                        .map(|index| Node::Indicator(Indicator::new(&view, index))),
                }
            }
            NodeKind::User => user::find_user_for(request.db(), viewer, node.id)
                .await?
                .map(|row| Node::User(crate::graphql::user::User(row))),
            NodeKind::ProgressReport | NodeKind::IndicatorValue | NodeKind::Evidence => {
                let kind = submission::SubmissionKind::from_node(node.kind)?;
                submission::find_visible(request.db(), viewer, kind, node.id)
                    .await?
                    .map(|row| match crate::graphql::report::Submission::from(row) {
                        crate::graphql::report::Submission::ProgressReport(item) => {
                            Node::ProgressReport(item)
                        }
                        crate::graphql::report::Submission::IndicatorValue(item) => {
                            Node::IndicatorValue(item)
                        }
                        crate::graphql::report::Submission::Evidence(item) => Node::Evidence(item),
                    })
            }
            NodeKind::AuditEntry => audit::find_entry(request.db(), viewer, node.id)
                .await?
                .map(|row| Node::AuditEntry(AuditEntry(row))),
            // Read through `notifications` and `webhookDeliveries`, which know their owner.
            NodeKind::Notification | NodeKind::WebhookDelivery => None,
        };
        Ok(found)
    }
}
