//! Reporting periods (`2022-Q2`, `2022-05`), their deadlines, and closing them.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};

use crate::entity::{plan, reporting_period};
use crate::error::{AppError, AppResult};
use crate::id::truncate;
use crate::service::audit::{self, Caller};

/// How often a plan's departments report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    Monthly,
    Quarterly,
}

impl Cadence {
    pub fn of(plan: &plan::Model) -> Self {
        if plan.reporting_cadence.eq_ignore_ascii_case("MONTHLY") {
            Cadence::Monthly
        } else {
            Cadence::Quarterly
        }
    }
}

/// A parsed reporting period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    /// The quarter (1–4) or the month (1–12), as the cadence says.
    pub index: u32,
    pub cadence_is_monthly: bool,
}

/// The city's clock: deadlines and due dates are days in Tangshan (UTC+8).
pub fn city_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Offset::fix(&Utc))
}

impl Period {
    /// Parses `2022-Q2` (quarterly plans) or `2022-05` (monthly plans).
    pub fn parse(raw: &str, cadence: Cadence) -> AppResult<Self> {
        let invalid = || {
            let example = match cadence {
                Cadence::Quarterly => "2022-Q2",
                Cadence::Monthly => "2022-05",
            };
            AppError::bad_input(format!(
                "`{}` is not a reporting period of this plan: write it like `{example}`",
                truncate(raw)
            ))
        };
        let (year, rest) = raw.trim().split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let (index, max) = match cadence {
            Cadence::Quarterly => {
                let quarter = rest
                    .strip_prefix('Q')
                    .or_else(|| rest.strip_prefix('q'))
                    .ok_or_else(invalid)?;
                (quarter, 4)
            }
            Cadence::Monthly => {
                if rest.len() != 2 {
                    return Err(invalid());
                }
                (rest, 12)
            }
        };
        let index: u32 = index.parse().map_err(|_| invalid())?;
        if !(1..=max).contains(&index) || !(2000..=2100).contains(&year) {
            return Err(invalid());
        }
        Ok(Self {
            year,
            index,
            cadence_is_monthly: cadence == Cadence::Monthly,
        })
    }

    /// Parses a period and checks that it lies within the plan's reporting years (the
    /// plan's year and the years after it, up to five).
    pub fn parse_for(raw: &str, plan: &plan::Model) -> AppResult<Self> {
        let period = Self::parse(raw, Cadence::of(plan))?;
        if period.year < plan.year || period.year > plan.year + 5 {
            return Err(AppError::bad_input(format!(
                "the period {period} lies outside the plan's reporting years ({}–{})",
                plan.year,
                plan.year + 5
            )));
        }
        Ok(period)
    }

    /// The period that contains `date`.
    pub fn containing(date: NaiveDate, cadence: Cadence) -> Self {
        let index = match cadence {
            Cadence::Monthly => date.month(),
            Cadence::Quarterly => (date.month() - 1) / 3 + 1,
        };
        Self {
            year: date.year(),
            index,
            cadence_is_monthly: cadence == Cadence::Monthly,
        }
    }

    /// A plan's periods: those of the plan's year, in order.
    pub fn of_plan(plan: &plan::Model) -> Vec<Self> {
        let cadence = Cadence::of(plan);
        let count = match cadence {
            Cadence::Monthly => 12,
            Cadence::Quarterly => 4,
        };
        (1..=count)
            .map(|index| Self {
                year: plan.year,
                index,
                cadence_is_monthly: cadence == Cadence::Monthly,
            })
            .collect()
    }

    /// The period a plan is read for when none is named: the one containing `today`
    /// while the plan's year runs, its first before it, its last once the year is over.
    pub fn current_for(plan: &plan::Model, today: NaiveDate) -> Self {
        let periods = Self::of_plan(plan);
        let current = Self::containing(today, Cadence::of(plan));
        match (periods.first(), periods.last()) {
            (Some(first), _) if current < *first => *first,
            (_, Some(last)) if current > *last => *last,
            _ => current,
        }
    }

    pub fn first_day(self) -> NaiveDate {
        let month = if self.cadence_is_monthly {
            self.index
        } else {
            (self.index - 1) * 3 + 1
        };
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        let months = if self.cadence_is_monthly { 1 } else { 3 };
        self.first_day()
            .checked_add_months(chrono::Months::new(months))
            .and_then(|next| next.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The last day a submission is on time.
    pub fn deadline(self, deadline_days: i32) -> NaiveDate {
        self.last_day() + chrono::Duration::days(i64::from(deadline_days.max(0)))
    }

    /// Whether a submission at `at` misses the deadline (the end of the deadline day, city time).
    pub fn is_late(self, deadline_days: i32, at: DateTime<Utc>) -> bool {
        let end_of_deadline = self
            .deadline(deadline_days)
            .and_time(NaiveTime::MIN)
            .checked_add_signed(chrono::Duration::days(1))
            .and_then(|naive| city_offset().from_local_datetime(&naive).single())
            .map(|local| local.with_timezone(&Utc));
        end_of_deadline.is_some_and(|deadline| at >= deadline)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.cadence_is_monthly {
            write!(f, "{}-{:02}", self.year, self.index)
        } else {
            write!(f, "{}-Q{}", self.year, self.index)
        }
    }
}

pub async fn is_closed(db: &impl ConnectionTrait, plan_id: i64, period: &str) -> AppResult<bool> {
    Ok(reporting_period::Entity::find()
        .filter(reporting_period::Column::PlanId.eq(plan_id))
        .filter(reporting_period::Column::Period.eq(period))
        .one(db)
        .await?
        .is_some_and(|row| row.closed))
}

/// The closed periods of each of the plans, by the plans' ids (a plan with none is left
/// out), for telling a viewer which moves would be refused.
pub async fn closed_periods_of_plans(
    db: &impl ConnectionTrait,
    plan_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut closed: HashMap<i64, Vec<String>> = HashMap::new();
    for row in reporting_period::Entity::find()
        .filter(reporting_period::Column::PlanId.is_in(plan_ids.iter().copied()))
        .filter(reporting_period::Column::Closed.eq(true))
        .all(db)
        .await?
    {
        closed.entry(row.plan_id).or_default().push(row.period);
    }
    Ok(closed)
}

/// Refuses a change in a closed period.
pub async fn ensure_open(db: &impl ConnectionTrait, plan_id: i64, period: &str) -> AppResult<()> {
    if is_closed(db, plan_id, period).await? {
        return Err(AppError::InvalidState {
            message: format!(
                "the period {period} is closed: nothing in it can change until the leadership group reopens it"
            ),
            state: "CLOSED".to_owned(),
            current_version: None,
        });
    }
    Ok(())
}

/// The closed/open state of a period, with its dates.
pub struct PeriodState {
    pub plan_id: i64,
    pub period: Period,
    pub deadline_days: i32,
    pub row: Option<reporting_period::Model>,
}

impl PeriodState {
    /// 0 for a period never closed or reopened, then raised by each change.
    pub fn version(&self) -> i32 {
        self.row.as_ref().map_or(0, |row| row.version)
    }
}

pub async fn load_plan(db: &impl ConnectionTrait, plan_id: i64) -> AppResult<plan::Model> {
    plan::Entity::find_by_id(plan_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("no plan has this id"))
}

pub async fn period_state(
    db: &impl ConnectionTrait,
    plan: &plan::Model,
    raw: &str,
) -> AppResult<PeriodState> {
    let period = Period::parse_for(raw, plan)?;
    let row = reporting_period::Entity::find()
        .filter(reporting_period::Column::PlanId.eq(plan.id))
        .filter(reporting_period::Column::Period.eq(period.to_string()))
        .one(db)
        .await?;
    Ok(PeriodState {
        plan_id: plan.id,
        period,
        deadline_days: plan.submission_deadline_days,
        row,
    })
}

/// A period of a plan with its dates and state, for any signed-in viewer who sees the
/// plan (a draft plan is, to a department or the portal, not there).
pub async fn find_period(
    db: &impl ConnectionTrait,
    viewer: &crate::service::policy::Viewer,
    plan_id: i64,
    raw: &str,
) -> AppResult<PeriodState> {
    let scope = viewer.read_scope()?;
    let plan = load_plan(db, plan_id).await?;
    if !scope.sees_plan_row(&plan) {
        return Err(AppError::not_found("no plan has this id"));
    }
    period_state(db, &plan, raw).await
}

/// Every period of a plan (those of its year, see `Period::of_plan`) with its state, for
/// a viewer who sees the plan.
pub async fn plan_periods(
    db: &impl ConnectionTrait,
    plan: &plan::Model,
) -> AppResult<Vec<PeriodState>> {
    let mut changed: HashMap<String, reporting_period::Model> = list_changed_periods(db, plan.id)
        .await?
        .into_iter()
        .map(|row| (row.period.clone(), row))
        .collect();
    Ok(Period::of_plan(plan)
        .into_iter()
        .map(|period| PeriodState {
            plan_id: plan.id,
            period,
            deadline_days: plan.submission_deadline_days,
            row: changed.remove(&period.to_string()),
        })
        .collect())
}

/// The periods of a plan that have been closed or reopened, in order.
pub async fn list_changed_periods(
    db: &impl ConnectionTrait,
    plan_id: i64,
) -> AppResult<Vec<reporting_period::Model>> {
    Ok(reporting_period::Entity::find()
        .filter(reporting_period::Column::PlanId.eq(plan_id))
        .order_by_asc(reporting_period::Column::Period)
        .all(db)
        .await?)
}

/// What a close or a reopening asks for.
#[derive(Clone, Copy, Debug)]
pub struct PeriodChange<'a> {
    pub closed: bool,
    /// Why a period is reopened (required then).
    pub reason: Option<&'a str>,
    /// The period's version as the caller read it; the change is refused with
    /// `STALE_VERSION` when the period has changed since.
    pub version: Option<i32>,
}

/// Closes or reopens a period (leadership and administrators); recorded in the audit log,
/// in one transaction.
pub async fn set_period_closed(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    plan_id: i64,
    raw: &str,
    change: PeriodChange<'_>,
) -> AppResult<PeriodState> {
    let txn = crate::db::begin_write(db).await?;
    let state = change_period(&txn, caller, plan_id, raw, change).await?;
    txn.commit().await?;
    Ok(state)
}

async fn change_period(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    plan_id: i64,
    raw: &str,
    change: PeriodChange<'_>,
) -> AppResult<PeriodState> {
    let PeriodChange {
        closed,
        reason,
        version,
    } = change;
    caller.viewer.require_reviewer()?;
    let actor = caller.actor_id()?;
    if !closed && reason.is_none_or(|reason| reason.trim().is_empty()) {
        return Err(AppError::bad_field(
            "reason",
            "say why the period is reopened",
        ));
    }
    let plan = load_plan(db, plan_id).await?;
    let state = period_state(db, &plan, raw).await?;
    let before = state.row.clone();
    let current_version = state.version();
    if version.is_some_and(|expected| expected != current_version) {
        return Err(crate::service::submission::stale(current_version));
    }
    if before.as_ref().map(|row| row.closed).unwrap_or(false) == closed {
        let state_name = if closed { "closed" } else { "open" };
        return Err(AppError::InvalidState {
            message: format!("the period {} is already {state_name}", state.period),
            state: state_name.to_ascii_uppercase(),
            current_version: None,
        });
    }
    let now = caller.clock.now();
    // Both writes are conditional on the state read: the update on its version, the
    // insert on there being no row (the unique index), so of two changes made against
    // the same state one is refused.
    let row = match before.clone() {
        Some(existing) => {
            let changed = reporting_period::Entity::update_many()
                .col_expr(reporting_period::Column::Closed, Expr::value(closed))
                .col_expr(reporting_period::Column::ChangedAt, Expr::value(now))
                .col_expr(reporting_period::Column::ChangedBy, Expr::value(actor))
                .col_expr(
                    reporting_period::Column::Version,
                    Expr::value(existing.version + 1),
                )
                .filter(reporting_period::Column::Id.eq(existing.id))
                .filter(reporting_period::Column::Version.eq(existing.version))
                .exec(db)
                .await?;
            if changed.rows_affected == 0 {
                return Err(crate::service::submission::stale(existing.version + 1));
            }
            reporting_period::Model {
                closed,
                changed_at: now,
                changed_by: actor,
                version: existing.version + 1,
                ..existing
            }
        }
        None => {
            let inserted = reporting_period::ActiveModel {
                plan_id: Set(plan.id),
                period: Set(state.period.to_string()),
                closed: Set(closed),
                changed_at: Set(now),
                changed_by: Set(actor),
                version: Set(1),
                ..Default::default()
            }
            .insert(db)
            .await;
            match inserted {
                Ok(row) => row,
                Err(error)
                    if matches!(
                        error.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
                {
                    return Err(crate::service::submission::stale(1));
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    let action = if closed {
        "period.close"
    } else {
        "period.reopen"
    };
    let mut after =
        serde_json::to_value(&row).map_err(|error| AppError::Unexpected(error.into()))?;
    if let Some(reason) = reason {
        after["reason"] = serde_json::Value::String(reason.trim().to_owned());
    }
    audit::record(
        db,
        caller,
        action,
        audit::ItemType::ReportingPeriod,
        row.id,
        before.as_ref(),
        Some(&after),
    )
    .await?;
    announce_period(db, &row, reason, now).await?;
    Ok(PeriodState {
        row: Some(row),
        ..state
    })
}

/// The outbox event of a period closed or reopened, in the change's transaction.
async fn announce_period(
    db: &impl ConnectionTrait,
    row: &reporting_period::Model,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use crate::service::outbox::{Event, record};
    let event = if row.closed {
        Event::PeriodClosed
    } else {
        Event::PeriodReopened
    };
    let data = serde_json::json!({
        "plan": crate::id::NodeId::new(crate::id::NodeKind::Plan, row.plan_id).encode(),
        "period": row.period,
        "closed": row.closed,
        "reason": reason.map(str::trim),
    });
    let item_key = format!("Period:{}:{}", row.plan_id, row.period);
    record(db, event, item_key, data, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_and_months_parse_and_print() {
        let quarter = Period::parse("2022-Q2", Cadence::Quarterly).ok();
        assert_eq!(quarter.map(|p| p.to_string()), Some("2022-Q2".to_owned()));
        assert_eq!(
            quarter.map(|p| p.last_day()),
            NaiveDate::from_ymd_opt(2022, 6, 30)
        );
        let month = Period::parse("2022-05", Cadence::Monthly).ok();
        assert_eq!(
            month.map(|p| p.last_day()),
            NaiveDate::from_ymd_opt(2022, 5, 31)
        );
        assert!(Period::parse("2022-Q5", Cadence::Quarterly).is_err());
        assert!(Period::parse("2022-05", Cadence::Quarterly).is_err());
        assert!(Period::parse("2022-13", Cadence::Monthly).is_err());
    }

    #[test]
    fn a_submission_after_the_deadline_is_late() {
        let quarter = Period::parse("2022-Q2", Cadence::Quarterly).ok();
        let Some(quarter) = quarter else {
            panic!("parses")
        };
        assert_eq!(
            quarter.deadline(10),
            NaiveDate::from_ymd_opt(2022, 7, 10).unwrap_or_default()
        );
        let on_time = Utc
            .with_ymd_and_hms(2022, 7, 10, 15, 0, 0)
            .single()
            .unwrap_or_default();
        let late = Utc
            .with_ymd_and_hms(2022, 7, 10, 16, 0, 1)
            .single()
            .unwrap_or_default();
        assert!(!quarter.is_late(10, on_time));
        assert!(quarter.is_late(10, late));
    }
}
