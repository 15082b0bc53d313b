//! Traffic lights (紅黃綠燈): how every task, part, indicator and department stands for a
//! reporting period, judged by one set of rules with configurable thresholds.
//!
//! RED, first rule that holds:
//! - a task past its due date and not completed (`task overdue`);
//! - an indicator whose latest approved value does not meet its target (`target not met`);
//! - a period's deadline passed with nothing submitted (`deadline missed`).
//!
//! YELLOW, first rule that holds:
//! - a submission of the period rejected and not submitted again (`rejected`);
//! - the deadline within `due_soon_days` and nothing submitted yet (`due soon`);
//! - a task not started with no more than `time_left_share` of its time left (`running out
//!   of time`).
//!
//! GREEN otherwise. A task with parts takes the worst light of its parts; a department the
//! worst of its items. Each light comes with the reason that set it.
//!
//! The rules read the plan snapshot and the review states of the period's submissions
//! ([`PeriodStates`], one statement per request); the portal's public view sees no review
//! states, so its lights follow the snapshot's rules alone.

use std::sync::Arc;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use sea_orm::sea_query::{Expr, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::entity::{indicator_value, progress_report};
use crate::error::AppResult;
use crate::service::period::Period;
use crate::service::policy::ReadScope;
use crate::service::snapshot::PlanView;
use crate::service::status::{IndicatorStatus, TaskStatus};
use crate::service::submission::ReviewStatus;

/// How an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, async_graphql::Enum)]
pub enum Light {
    /// On track: nothing is due soon, missing, rejected or behind.
    Green,
    /// Needs attention: a report or value is due soon and not submitted, a submission was
    /// rejected and not sent again, or a task is running out of time without having started.
    Yellow,
    /// Behind: a deadline passed with nothing submitted, a task is past its due date and not
    /// completed, or an indicator does not meet its target.
    Red,
}

/// The thresholds of the rules (`ECOPLAN_LIGHT_DUE_SOON_DAYS`,
/// `ECOPLAN_LIGHT_TIME_LEFT_SHARE`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LightRules {
    /// A report or value due within this many days and not submitted is yellow.
    pub due_soon_days: u32,
    /// A task not started with this share of its time (from the start of the plan's year to
    /// its due date) or less left is yellow.
    pub time_left_share: f64,
}

pub const DEFAULT_DUE_SOON_DAYS: u32 = 7;
pub const DEFAULT_TIME_LEFT_SHARE: f64 = 0.25;

impl Default for LightRules {
    fn default() -> Self {
        Self {
            due_soon_days: DEFAULT_DUE_SOON_DAYS,
            time_left_share: DEFAULT_TIME_LEFT_SHARE,
        }
    }
}

/// A light and the rule that set it, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub light: Light,
    pub reason: String,
}

impl Judgement {
    fn new(light: Light, reason: impl Into<String>) -> Self {
        Self {
            light,
            reason: reason.into(),
        }
    }
}

/// The review states of one period's reports and values that the viewer may see.
#[derive(Debug, Default)]
pub struct PeriodStates {
    /// By (task, department).
    reports: FxHashMap<(i64, i64), ReviewStatus>,
    /// By indicator (one value a period).
    values: FxHashMap<i64, ReviewStatus>,
    /// Whether the viewer sees review states at all (the public view does not).
    known: bool,
}

/// Reads the review states of a plan's period within the scope, in one statement.
pub async fn read_period_states(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    plan_id: i64,
    period: &str,
) -> AppResult<PeriodStates> {
    if !scope.sees_review_states() {
        return Ok(PeriodStates::default());
    }
    use indicator_value::Column as Value;
    use progress_report::Column as Report;
    let reports = progress_report::Entity::find()
        .select_only()
        .column_as(Expr::val("R"), "kind")
        .column_as(Report::TaskId, "item")
        .column_as(Report::DepartmentId, "department")
        .column_as(Report::ReviewStatus, "state")
        .filter(Report::PlanId.eq(plan_id))
        .filter(Report::Period.eq(period))
        .filter(scope.report_condition())
        .into_query();
    let values = indicator_value::Entity::find()
        .select_only()
        .column_as(Expr::val("V"), "kind")
        .column_as(Value::IndicatorId, "item")
        .column_as(Value::DepartmentId, "department")
        .column_as(Value::ReviewStatus, "state")
        .filter(Value::PlanId.eq(plan_id))
        .filter(Value::Period.eq(period))
        .filter(scope.value_condition())
        .into_query();
    let mut union = reports;
    union.union(UnionType::All, values);
    let statement = db.get_database_backend().build(&union);
    let mut states = PeriodStates {
        known: true,
        ..Default::default()
    };
    for row in db.query_all_raw(statement).await? {
        let kind: String = row.try_get("", "kind")?;
        let item: i64 = row.try_get("", "item")?;
        let department: i64 = row.try_get("", "department")?;
        let state = ReviewStatus::parse(&row.try_get::<String>("", "state")?);
        let kept = if kind == "R" {
            states.reports.entry((item, department)).or_insert(state)
        } else {
            states.values.entry(item).or_insert(state)
        };
        *kept = most_advanced(*kept, state);
    }
    Ok(states)
}

/// Of two rows for one item, the one that counts: submitted beats rejected beats draft.
fn most_advanced(a: ReviewStatus, b: ReviewStatus) -> ReviewStatus {
    let rank = |state| match state {
        ReviewStatus::Draft => 0,
        ReviewStatus::Rejected => 1,
        ReviewStatus::Submitted | ReviewStatus::Approved => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn is_submitted(state: Option<ReviewStatus>) -> bool {
    matches!(
        state,
        Some(ReviewStatus::Submitted | ReviewStatus::Approved)
    )
}

/// Everything the rules read for one plan and period, for one viewer.
#[derive(Clone, Debug)]
pub struct PeriodLights {
    pub period: Period,
    pub deadline: NaiveDate,
    today: NaiveDate,
    year_start: NaiveDate,
    rules: LightRules,
    states: Arc<PeriodStates>,
}

/// The period the lights of a plan are judged for: the one named, or the plan's current
/// one (as the dashboard does, see `Period::current_for`).
pub fn light_period(view: &PlanView, plan: usize, raw: Option<&str>) -> AppResult<Period> {
    let row = &view.snapshot.plans[plan].row;
    match raw {
        Some(raw) => Period::parse_for(raw, row),
        None => Ok(Period::current_for(row, view.today)),
    }
}

impl PeriodLights {
    pub fn new(
        view: &PlanView,
        plan: usize,
        period: Period,
        rules: LightRules,
        states: Arc<PeriodStates>,
    ) -> Self {
        let row = &view.snapshot.plans[plan].row;
        Self {
            period,
            deadline: period.deadline(row.submission_deadline_days),
            today: view.today,
            year_start: NaiveDate::from_ymd_opt(row.year, 1, 1).unwrap_or(NaiveDate::MIN),
            rules,
            states,
        }
    }

    /// Days from today to the period's deadline (negative once it has passed).
    pub fn days_left(&self) -> i64 {
        (self.deadline - self.today).num_days()
    }

    /// Whether a department still owes the period's progress report on a task it leads
    /// (a completed task owes none).
    pub fn report_missing(&self, view: &PlanView, task: usize, department_id: i64) -> bool {
        let snapshot = &view.snapshot;
        let task_id = snapshot.tasks[task].row.id;
        snapshot.task_status(task, self.today) != TaskStatus::Completed
            && !is_submitted(self.states.reports.get(&(task_id, department_id)).copied())
    }

    /// Whether the period's value of an indicator has not been submitted.
    pub fn value_missing(&self, view: &PlanView, indicator: usize) -> bool {
        let id = view.snapshot.indicators[indicator].row.id;
        !is_submitted(self.states.values.get(&id).copied())
    }

    /// The deadline rules for one item not yet submitted (`state` is its review state).
    fn deadline_rule(&self, state: Option<ReviewStatus>, what: &str) -> Option<Judgement> {
        if !self.states.known || is_submitted(state) {
            return None;
        }
        let period = self.period;
        let deadline = self.deadline;
        if state == Some(ReviewStatus::Rejected) {
            return Some(Judgement::new(
                Light::Yellow,
                format!("rejected: {what} for {period} was rejected and not submitted again"),
            ));
        }
        if self.today > deadline {
            return Some(Judgement::new(
                Light::Red,
                format!(
                    "deadline missed: {what} for {period} was due by {deadline} and nothing was submitted"
                ),
            ));
        }
        let days_left = (deadline - self.today).num_days();
        if days_left <= i64::from(self.rules.due_soon_days) && self.today >= period.first_day() {
            return Some(Judgement::new(
                Light::Yellow,
                format!(
                    "due soon: {what} for {period} is due by {deadline} ({days_left} days left) and not yet submitted"
                ),
            ));
        }
        None
    }

    /// The light of a task or part; `department` narrows a task's leads to one (a
    /// department's own light).
    pub fn task(&self, view: &PlanView, task: usize, department: Option<i64>) -> Judgement {
        let snapshot = &view.snapshot;
        if snapshot.has_parts(task) {
            let parts = crate::service::task::subtasks(view, task);
            return worst(parts.into_iter().map(|part| {
                let judged = self.task(view, part, department);
                let code = &snapshot.tasks[part].row.code;
                Judgement::new(judged.light, format!("part {code}: {}", judged.reason))
            }))
            .unwrap_or_else(|| Judgement::new(Light::Green, "on track"));
        }
        let node = &snapshot.tasks[task];
        match snapshot.task_status(task, self.today) {
            TaskStatus::Completed => return Judgement::new(Light::Green, "completed"),
            TaskStatus::Overdue => {
                return Judgement::new(
                    Light::Red,
                    format!("task overdue: due on {} and not completed", node.due_on),
                );
            }
            _ => {}
        }
        let leads = node
            .leads
            .iter()
            .filter(|lead| department.is_none_or(|id| id == lead.department_id))
            .filter(|lead| match view.scope {
                ReadScope::Department(own) => own == lead.department_id,
                _ => true,
            });
        let by_lead = leads.filter_map(|lead| {
            let state = self
                .states
                .reports
                .get(&(node.row.id, lead.department_id))
                .copied();
            let name = &snapshot.departments[lead.department as usize].row.name;
            self.deadline_rule(state, &format!("the progress report of {name}"))
        });
        if let Some(judged) = worst(by_lead) {
            return judged;
        }
        self.time_rule(view, task)
            .unwrap_or_else(|| Judgement::new(Light::Green, "on track"))
    }

    /// A task not started, running out of time.
    fn time_rule(&self, view: &PlanView, task: usize) -> Option<Judgement> {
        let snapshot = &view.snapshot;
        if snapshot.task_status(task, self.today) != TaskStatus::NotStarted {
            return None;
        }
        let due = snapshot.tasks[task].due_on;
        let span = (due - self.year_start).num_days().max(1) as f64;
        let left = (due - self.today).num_days() as f64;
        let share = left / span;
        (share <= self.rules.time_left_share).then(|| {
            Judgement::new(
                Light::Yellow,
                format!(
                    "running out of time: not started, with {:.0}% of its time left (due on {due})",
                    (share * 100.0).max(0.0)
                ),
            )
        })
    }

    /// The light of an indicator.
    pub fn indicator(&self, view: &PlanView, indicator: usize) -> Judgement {
        let node = &view.snapshot.indicators[indicator];
        let assessment = &node.assessment;
        if assessment.status == IndicatorStatus::NotMet {
            let value = assessment
                .value
                .as_ref()
                .and_then(|value| value.value.map(|v| format!("{v} ({})", value.period)))
                .unwrap_or_else(|| "the latest approved value".to_owned());
            let against = match (&assessment.compared_with_label, assessment.compared_with) {
                (Some(label), Some(number)) => format!(" against the {label} {number}"),
                _ => String::new(),
            };
            return Judgement::new(Light::Red, format!("target not met: {value}{against}"));
        }
        let state = self.states.values.get(&node.row.id).copied();
        self.deadline_rule(state, "the value")
            .unwrap_or_else(|| Judgement::new(Light::Green, "on track"))
    }

    /// The light of a department: the worst of the tasks it reports on and the
    /// indicators it answers for, with how many are red and yellow.
    pub fn department(&self, view: &PlanView, plan: usize, department: usize) -> Judgement {
        let snapshot = &view.snapshot;
        let department_id = snapshot.departments[department].row.id;
        let plan_node = &snapshot.plans[plan];
        let tasks = plan_node
            .tasks
            .iter()
            .map(|task| *task as usize)
            .filter(|task| snapshot.task_led_by(*task, department_id) && !snapshot.has_parts(*task))
            .map(|task| {
                let judged = self.task(view, task, Some(department_id));
                let code = &snapshot.tasks[task].row.code;
                Judgement::new(judged.light, format!("task {code}: {}", judged.reason))
            });
        let indicators = plan_node
            .indicators
            .iter()
            .map(|indicator| *indicator as usize)
            .filter(|indicator| snapshot.indicator_answered_by(*indicator, department_id))
            .map(|indicator| {
                let judged = self.indicator(view, indicator);
                let name = &snapshot.indicators[indicator].row.name;
                Judgement::new(judged.light, format!("indicator {name}: {}", judged.reason))
            });
        let judged: Vec<Judgement> = tasks.chain(indicators).collect();
        let count = |light| judged.iter().filter(|item| item.light == light).count();
        let (red, yellow) = (count(Light::Red), count(Light::Yellow));
        match worst(judged.iter().cloned()) {
            Some(first) if first.light != Light::Green => Judgement::new(
                first.light,
                format!(
                    "{red} red and {yellow} yellow of {} items; first: {}",
                    judged.len(),
                    first.reason
                ),
            ),
            _ => Judgement::new(Light::Green, format!("all {} items on track", judged.len())),
        }
    }
}

/// Narrows a list to the items of one light.
#[derive(Clone, Debug)]
pub struct LightFilter {
    pub light: Light,
    pub lights: PeriodLights,
}

/// The first of the worst judgements.
fn worst(judged: impl Iterator<Item = Judgement>) -> Option<Judgement> {
    judged.fold(None, |kept: Option<Judgement>, next| match kept {
        Some(kept) if kept.light >= next.light => Some(kept),
        _ => Some(next),
    })
}
