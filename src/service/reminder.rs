//! Chasing (催辦): reminders to a department before a period's deadline for each item it
//! has not submitted, and escalations to the leadership group when an item turns red.
//! Each is made once per item, period and threshold (the notification's `once_key`), so
//! the scheduler may run on every instance, as often as it likes, across restarts.
//!
//! The periods looked at are the one containing today and the one before it, whose
//! deadline falls in the first days of the current one.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::notification;
use crate::error::AppResult;
use crate::id::NodeKind;
use crate::service::clock::Clock;
use crate::service::light::{Light, LightRules, PeriodLights, read_period_states};
use crate::service::notification::{NewNotification, NoticeItem, NotificationKind, Recipient};
use crate::service::period::{Cadence, Period};
use crate::service::policy::ReadScope;
use crate::service::snapshot::{PlanSnapshot, PlanView};

/// When reminders go out (`ECOPLAN_REMINDER_…`).
#[derive(Clone, Debug)]
pub struct ReminderSettings {
    /// How often the scheduler runs; zero switches it off.
    pub interval: Duration,
    /// Days before a deadline at which a reminder goes out, e.g. 7 and 1.
    pub days_before: Vec<u32>,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            days_before: vec![7, 1],
        }
    }
}

/// The periods of a plan the scheduler looks at: today's and the one before.
fn periods_in_view(view: &PlanView, plan: usize) -> Vec<Period> {
    let cadence = Cadence::of(&view.snapshot.plans[plan].row);
    let current = Period::containing(view.today, cadence);
    let previous = Period::containing(current.first_day().pred_opt().unwrap_or_default(), cadence);
    vec![previous, current]
}

/// The smallest threshold a reminder is due for, `days_left` days before the deadline.
fn threshold(settings: &ReminderSettings, days_left: i64) -> Option<u32> {
    settings
        .days_before
        .iter()
        .copied()
        .filter(|days| days_left >= 0 && days_left <= i64::from(*days))
        .min()
}

/// Everything due now, whether or not it was sent before.
pub async fn due_notifications(
    db: &DatabaseConnection,
    snapshot: Arc<PlanSnapshot>,
    clock: Clock,
    rules: LightRules,
    settings: &ReminderSettings,
) -> AppResult<Vec<NewNotification>> {
    let view = PlanView {
        snapshot,
        scope: ReadScope::Everything,
        today: clock.today(),
    };
    let mut due = Vec::new();
    for plan in 0..view.snapshot.plans.len() {
        if !view.snapshot.plans[plan].row.published {
            continue;
        }
        for period in periods_in_view(&view, plan) {
            let row = &view.snapshot.plans[plan].row;
            if period.year < row.year
                || period.year > row.year + 5
                || view.today < period.first_day()
            {
                continue;
            }
            let states =
                read_period_states(db, ReadScope::Everything, row.id, &period.to_string()).await?;
            let lights = PeriodLights::new(&view, plan, period, rules, Arc::new(states));
            if let Some(days) = threshold(settings, lights.days_left()) {
                reminders(&view, plan, &lights, days, &mut due);
            }
            escalations(&view, plan, &lights, &mut due);
        }
    }
    Ok(due)
}

fn reminders(
    view: &PlanView,
    plan: usize,
    lights: &PeriodLights,
    days: u32,
    due: &mut Vec<NewNotification>,
) {
    let snapshot = &view.snapshot;
    let node = &snapshot.plans[plan];
    let (period, deadline) = (lights.period, lights.deadline);
    let plan_id = node.row.id;
    for department in &snapshot.departments {
        let department_id = department.row.id;
        let tasks = node.tasks.iter().map(|task| *task as usize).filter(|task| {
            snapshot.task_led_by(*task, department_id)
                && !snapshot.has_parts(*task)
                && lights.report_missing(view, *task, department_id)
        });
        for task in tasks {
            let row = &snapshot.tasks[task].row;
            let label = format!("task {}", row.code);
            due.push(NewNotification {
                recipient: Recipient::Department(department_id),
                kind: NotificationKind::Reminder,
                message: format!(
                    "the progress report on {label} for {period} is due by {deadline} and not yet submitted"
                ),
                items: vec![NoticeItem::new(NodeKind::Task, row.id, label, Some(period.to_string()))],
                once_key: Some(format!(
                    "reminder:{plan_id}:{period}:{department_id}:task:{}:{days}",
                    row.id
                )),
            });
        }
        let indicators = node
            .indicators
            .iter()
            .map(|indicator| *indicator as usize)
            .filter(|indicator| {
                snapshot.indicator_answered_by(*indicator, department_id)
                    && lights.value_missing(view, *indicator)
            });
        for indicator in indicators {
            let row = &snapshot.indicators[indicator].row;
            due.push(NewNotification {
                recipient: Recipient::Department(department_id),
                kind: NotificationKind::Reminder,
                message: format!(
                    "the value of {} for {period} is due by {deadline} and not yet submitted",
                    row.name
                ),
                items: vec![NoticeItem::new(
                    NodeKind::Indicator,
                    row.id,
                    row.name.clone(),
                    Some(period.to_string()),
                )],
                once_key: Some(format!(
                    "reminder:{plan_id}:{period}:{department_id}:indicator:{}:{days}",
                    row.id
                )),
            });
        }
    }
}

/// The rule of a reason: `deadline missed` of `deadline missed: …`.
fn rule_of(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason).trim()
}

fn escalations(
    view: &PlanView,
    plan: usize,
    lights: &PeriodLights,
    due: &mut Vec<NewNotification>,
) {
    let snapshot = &view.snapshot;
    let node = &snapshot.plans[plan];
    let period = lights.period;
    let plan_id = node.row.id;
    for task in node.tasks.iter().map(|task| *task as usize) {
        if snapshot.has_parts(task) {
            continue;
        }
        let judged = lights.task(view, task, None);
        if judged.light != Light::Red {
            continue;
        }
        let row = &snapshot.tasks[task].row;
        let label = format!("task {}", row.code);
        due.push(NewNotification {
            recipient: Recipient::Leadership,
            kind: NotificationKind::Escalation,
            message: format!("{label} is red for {period}: {}", judged.reason),
            items: vec![NoticeItem::new(
                NodeKind::Task,
                row.id,
                label,
                Some(period.to_string()),
            )],
            once_key: Some(format!(
                "escalation:{plan_id}:{period}:task:{}:{}",
                row.id,
                rule_of(&judged.reason)
            )),
        });
    }
    for indicator in node.indicators.iter().map(|indicator| *indicator as usize) {
        let judged = lights.indicator(view, indicator);
        if judged.light != Light::Red {
            continue;
        }
        let row = &snapshot.indicators[indicator].row;
        due.push(NewNotification {
            recipient: Recipient::Leadership,
            kind: NotificationKind::Escalation,
            message: format!("{} is red for {period}: {}", row.name, judged.reason),
            items: vec![NoticeItem::new(
                NodeKind::Indicator,
                row.id,
                row.name.clone(),
                Some(period.to_string()),
            )],
            once_key: Some(format!(
                "escalation:{plan_id}:{period}:indicator:{}:{}",
                row.id,
                rule_of(&judged.reason)
            )),
        });
    }
}

/// Of the due notifications, those not sent before.
pub async fn unsent(
    db: &DatabaseConnection,
    due: Vec<NewNotification>,
) -> AppResult<Vec<NewNotification>> {
    let mut sent = std::collections::HashSet::new();
    let keys: Vec<String> = due
        .iter()
        .filter_map(|item| item.once_key.clone())
        .collect();
    for chunk in keys.chunks(500) {
        let found: Vec<Option<String>> = notification::Entity::find()
            .select_only()
            .column(notification::Column::OnceKey)
            .filter(notification::Column::OnceKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        sent.extend(found.into_iter().flatten());
    }
    Ok(due
        .into_iter()
        .filter(|item| item.once_key.as_ref().is_none_or(|key| !sent.contains(key)))
        .collect())
}

/// Sends what is due and was not sent before, in one transaction; answers what was sent.
/// Another instance sending the same at the same time sends nothing twice: the insert of
/// a key that exists is skipped.
pub async fn send_due(
    db: &DatabaseConnection,
    due: Vec<NewNotification>,
    clock: Clock,
) -> AppResult<Vec<crate::entity::notification::Model>> {
    let due = unsent(db, due).await?;
    let txn = crate::db::begin_write(db).await?;
    let mut sent = Vec::new();
    for item in due {
        if let Some(row) = crate::service::notification::notify(&txn, item, clock.now()).await? {
            sent.push(row);
        }
    }
    txn.commit().await?;
    Ok(sent)
}

/// Runs the scheduler every `interval` until the process stops.
pub async fn remind_periodically(
    db: DatabaseConnection,
    snapshots: Arc<crate::service::snapshot::SnapshotStore>,
    clock: Clock,
    rules: LightRules,
    settings: ReminderSettings,
) {
    // The first run comes one interval after start-up, as every later one.
    let start = tokio::time::Instant::now() + settings.interval;
    let mut ticks = tokio::time::interval_at(start, settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let outcome = async {
            let snapshot = snapshots.current(&db).await?;
            let due = due_notifications(&db, snapshot, clock, rules, &settings).await?;
            send_due(&db, due, clock).await
        }
        .await;
        match outcome {
            Ok(sent) if !sent.is_empty() => {
                tracing::info!(sent = sent.len(), "sent reminders and escalations")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = ?error.into_anyhow(), "cannot send reminders")
            }
        }
    }
}
