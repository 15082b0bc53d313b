//! Indicators: the targets the plan states, and the departments that answer for them.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use crate::entity::{department, indicator, indicator_milestone, indicator_responsible};
use crate::error::{AppError, AppResult};
use crate::service::department::group_departments;
use crate::service::page::{Page, PageArgs, paginate};
use crate::service::plan::resolve_plan_id;
use crate::service::policy::{ReadScope, Viewer};
use crate::service::task::{DepartmentRef, resolve_department_ref, search_condition};

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
    Higher,
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
}

/// The indicators of a plan (the newest when none is named) that the viewer may read.
pub async fn list_indicators(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    plan_id: Option<i64>,
    filter: &IndicatorFilter,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<indicator::Model>> {
    let scope = viewer.read_scope()?;
    args.validate(max_page_size)?;
    let plan_id = resolve_plan_id(db, viewer, plan_id).await?.unwrap_or(-1);
    let mut select = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan_id))
        .filter(scope.indicator_condition());
    if let Some(reference) = &filter.department {
        let department_id = resolve_department_ref(db, viewer, reference).await?;
        let responsible = indicator_responsible::Entity::find()
            .select_only()
            .column(indicator_responsible::Column::IndicatorId)
            .filter(indicator_responsible::Column::DepartmentId.eq(department_id))
            .into_query();
        select = select.filter(indicator::Column::Id.in_subquery(responsible));
    }
    if let Some(task_id) = filter.task_id {
        select = select.filter(indicator::Column::TaskId.eq(task_id));
    }
    if let Some(kind) = filter.target_kind {
        select = select.filter(indicator::Column::TargetKind.eq(kind.as_str()));
    }
    if let Some(search) = &filter.search {
        select = select.filter(search_condition(indicator::Column::SearchText, search)?);
    }
    paginate(
        db,
        select,
        indicator::Column::Position,
        |row| i64::from(row.position),
        args,
        max_page_size,
    )
    .await
}

/// One indicator, or `None` when it does not exist or the viewer may not read it.
pub async fn find_indicator(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<Option<indicator::Model>> {
    let scope = viewer.read_scope()?;
    Ok(indicator::Entity::find_by_id(id)
        .filter(scope.indicator_condition())
        .one(db)
        .await?)
}

pub async fn indicators_by_ids(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, indicator::Model>> {
    Ok(indicator::Entity::find()
        .filter(indicator::Column::Id.is_in(ids.iter().copied()))
        .filter(scope.indicator_condition())
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// The indicators of each task, in order, within the scope.
pub async fn indicators_by_tasks(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    task_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<indicator::Model>>> {
    let mut grouped: HashMap<i64, Vec<indicator::Model>> = HashMap::new();
    for row in indicator::Entity::find()
        .filter(indicator::Column::TaskId.is_in(task_ids.iter().copied()))
        .filter(scope.indicator_condition())
        .order_by_asc(indicator::Column::Position)
        .all(db)
        .await?
    {
        grouped.entry(row.task_id).or_default().push(row);
    }
    Ok(grouped)
}

/// The departments responsible for each indicator, in order.
pub async fn responsible_departments_by_indicators(
    db: &impl ConnectionTrait,
    indicator_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<department::Model>>> {
    let rows = indicator_responsible::Entity::find()
        .filter(indicator_responsible::Column::IndicatorId.is_in(indicator_ids.iter().copied()))
        .order_by_asc(indicator_responsible::Column::IndicatorId)
        .order_by_asc(indicator_responsible::Column::Position)
        .all(db)
        .await?;
    group_departments(
        db,
        rows.iter().map(|row| (row.indicator_id, row.department_id)),
    )
    .await
}

/// Later targets of each indicator, by year.
pub async fn milestones_by_indicators(
    db: &impl ConnectionTrait,
    indicator_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<indicator_milestone::Model>>> {
    let mut grouped: HashMap<i64, Vec<indicator_milestone::Model>> = HashMap::new();
    for row in indicator_milestone::Entity::find()
        .filter(indicator_milestone::Column::IndicatorId.is_in(indicator_ids.iter().copied()))
        .order_by_asc(indicator_milestone::Column::IndicatorId)
        .order_by_asc(indicator_milestone::Column::Year)
        .all(db)
        .await?
    {
        grouped.entry(row.indicator_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Every indicator of a plan within the scope, in order (for the dashboard and exports).
pub async fn list_all_in_scope(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    plan_id: i64,
) -> AppResult<Vec<indicator::Model>> {
    Ok(indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan_id))
        .filter(scope.indicator_condition())
        .order_by_asc(indicator::Column::Position)
        .all(db)
        .await?)
}
