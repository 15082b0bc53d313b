//! Indicators: the targets the plan states, and the departments that answer for them.

use crate::entity::indicator;
use crate::error::{AppError, AppResult};
use crate::service::page::{Page, PageArgs, paginate_in_memory};
use crate::service::plan::resolve_plan;
use crate::service::snapshot::PlanView;
use crate::service::task::{DepartmentRef, matches_words, resolve_department_ref, search_words};

/// The largest magnitude any indicator value may have: well beyond any real quantity of
/// the plan, well within what every database and spreadsheet keeps exactly enough.
pub const MAX_VALUE_MAGNITUDE: f64 = 1e12;

/// The values an indicator can take; an open end is bounded by `MAX_VALUE_MAGNITUDE`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidRange {
    pub min: f64,
    pub max: f64,
}

impl ValidRange {
    pub fn of(indicator: &indicator::Model) -> Self {
        Self {
            min: indicator.valid_min.unwrap_or(-MAX_VALUE_MAGNITUDE),
            max: indicator.valid_max.unwrap_or(MAX_VALUE_MAGNITUDE),
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && self.min <= value && value <= self.max
    }
}

/// Checks a reported value against its indicator's range. The API's save and the
/// spreadsheet import both call this, so that both refuse the same values alike.
pub fn check_value_in_range(indicator: &indicator::Model, value: f64) -> AppResult<()> {
    let range = ValidRange::of(indicator);
    if range.contains(value) {
        return Ok(());
    }
    let unit = indicator
        .unit
        .as_deref()
        .map(|unit| format!(" {unit}"))
        .unwrap_or_default();
    Err(AppError::bad_input(format!(
        "{} takes values from {} to {}{unit}; {} is outside that range",
        indicator.name,
        range.min,
        range.max,
        readable_number(value)
    )))
}

/// A number as people write it; a huge or tiny one in scientific notation (1e308).
fn readable_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e15 || (magnitude != 0.0 && magnitude < 1e-6) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// What kind of target an indicator has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum TargetKind {
    /// The value must reach the target value.
    AtLeast,
    /// The value must not exceed the target value.
    AtMost,
    /// The value must equal the target value.
    Equal,
    /// The value must not fall below the previous one (不降低, 不減少).
    NoDecrease,
    /// The value must not rise above the previous one.
    NoIncrease,
    /// The value must stay or get better (保持穩定或持續改善, 逐步降低).
    Improve,
    /// The target is set from outside the plan (國家及省定考核目標, 上級管控目標) and
    /// entered by the leadership group for each year.
    External,
    /// A yes/no target stated in words (全域無…).
    Qualitative,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::AtLeast => "AT_LEAST",
            TargetKind::AtMost => "AT_MOST",
            TargetKind::Equal => "EQUAL",
            TargetKind::NoDecrease => "NO_DECREASE",
            TargetKind::NoIncrease => "NO_INCREASE",
            TargetKind::Improve => "IMPROVE",
            TargetKind::External => "EXTERNAL",
            TargetKind::Qualitative => "QUALITATIVE",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            TargetKind::AtLeast,
            TargetKind::AtMost,
            TargetKind::Equal,
            TargetKind::NoDecrease,
            TargetKind::NoIncrease,
            TargetKind::Improve,
            TargetKind::External,
            TargetKind::Qualitative,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == raw)
    }

    /// Kinds whose target is a number stated in the document.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            TargetKind::AtLeast | TargetKind::AtMost | TargetKind::Equal
        )
    }
}

/// Which way an indicator's value gets better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum Direction {
    /// Higher values are better (a coverage rate).
    Higher,
    /// Lower values are better (an emission intensity).
    Lower,
}

impl Direction {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "HIGHER" => Some(Direction::Higher),
            "LOWER" => Some(Direction::Lower),
            _ => None,
        }
    }
}

/// Narrows an indicator list; the parts combine with AND.
#[derive(Clone, Debug, Default)]
pub struct IndicatorFilter {
    pub department: Option<DepartmentRef>,
    pub task_id: Option<i64>,
    pub target_kind: Option<TargetKind>,
    pub search: Option<String>,
    /// Only indicators with this light.
    pub light: Option<crate::service::light::LightFilter>,
}

/// The indicators of a plan (the newest when none is named) that the viewer may read.
pub fn list_indicators(
    view: &PlanView,
    plan_id: Option<i64>,
    filter: &IndicatorFilter,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<usize>> {
    view.require_readable()?;
    args.validate(max_page_size)?;
    let words = filter.search.as_deref().map(search_words).transpose()?;
    let department = filter
        .department
        .as_ref()
        .map(|reference| resolve_department_ref(view, reference))
        .transpose()?;
    let Some(plan) = resolve_plan(view, plan_id)? else {
        return paginate_in_memory(Vec::new(), args, max_page_size);
    };
    let snapshot = &view.snapshot;
    let department_id = department.map(|index| snapshot.departments[index].row.id);
    let items: Vec<(i64, usize)> = snapshot.plans[plan]
        .indicators
        .iter()
        .map(|indicator| *indicator as usize)
        .filter(|indicator| view.scope.sees_indicator(snapshot, *indicator))
        .filter(|indicator| {
            let row = &snapshot.indicators[*indicator].row;
            department_id.is_none_or(|id| snapshot.indicator_answered_by(*indicator, id))
                && filter.task_id.is_none_or(|task_id| row.task_id == task_id)
                && filter
                    .target_kind
                    .is_none_or(|kind| row.target_kind == kind.as_str())
                && words
                    .as_ref()
                    .is_none_or(|words| matches_words(&row.search_text, words))
                && filter.light.as_ref().is_none_or(|wanted| {
                    wanted.lights.indicator(view, *indicator).light == wanted.light
                })
        })
        .map(|indicator| {
            (
                i64::from(snapshot.indicators[indicator].row.position),
                indicator,
            )
        })
        .collect();
    paginate_in_memory(items, args, max_page_size)
}

/// One indicator, or `None` when it does not exist or the viewer may not read it.
pub fn find_indicator(view: &PlanView, id: i64) -> AppResult<Option<usize>> {
    view.require_readable()?;
    Ok(view
        .snapshot
        .indicator_index(id)
        .filter(|indicator| view.scope.sees_indicator(&view.snapshot, *indicator)))
}

/// The indicators of a task, in order, within the scope.
pub fn indicators_of_task(view: &PlanView, task: usize) -> Vec<usize> {
    view.snapshot.tasks[task]
        .indicators
        .iter()
        .map(|indicator| *indicator as usize)
        .filter(|indicator| view.scope.sees_indicator(&view.snapshot, *indicator))
        .collect()
}

/// Every indicator of a plan within the scope, in order (for the dashboard and exports).
pub fn indicators_of_plan(view: &PlanView, plan: usize) -> Vec<usize> {
    view.snapshot.plans[plan]
        .indicators
        .iter()
        .map(|indicator| *indicator as usize)
        .filter(|indicator| view.scope.sees_indicator(&view.snapshot, *indicator))
        .collect()
}

/// The departments that answer for an indicator, in order. Who answers for what is public.
pub fn responsible_departments(view: &PlanView, indicator: usize) -> Vec<usize> {
    view.snapshot.indicators[indicator]
        .responsible
        .iter()
        .map(|department| *department as usize)
        .collect()
}
