//! Webhook delivery of the outbox to the portal's endpoints: at least once, in order per
//! item and endpoint, surviving restarts and shared by several instances.
//!
//! Each event gets one delivery row per endpoint (`fan_out`, insert-if-absent, so two
//! instances make one). A delivery is attempted only when it is the oldest undelivered
//! one of its item for its endpoint, and only by the instance that claimed it: the claim
//! is a conditional update of its lease (`lease_until` expired or unset), which works on
//! SQLite and PostgreSQL alike; a lease that expires because its instance died is taken
//! over, and the delivery is sent again with the same `X-Ecoplan-Delivery` key. A failed
//! attempt is retried after an exponential back-off, capped.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
    TransactionTrait,
};

use crate::entity::{outbox_event, webhook_delivery};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::page::{Page, PageArgs, paginate};
use crate::service::policy::Viewer;

/// Where and how events are delivered (`ECOPLAN_WEBHOOK_…`).
#[derive(Clone)]
pub struct WebhookSettings {
    /// The endpoints, each of which gets every event.
    pub urls: Vec<String>,
    /// Signs every delivery (`X-Ecoplan-Signature`); required with endpoints.
    pub secret: Option<String>,
    /// How often the worker looks for work.
    pub poll_interval: Duration,
    /// The longest one attempt may take.
    pub timeout: Duration,
    /// The wait after the first failure, doubled after each further one ...
    pub retry_base: Duration,
    /// ... up to this.
    pub retry_max: Duration,
    /// How long a claimed delivery is held before another instance may take it over.
    pub lease: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            secret: None,
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for WebhookSettings {
    // The secret never reaches a log.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookSettings")
            .field("endpoints", &self.urls.len())
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .field("poll_interval", &self.poll_interval)
            .field("timeout", &self.timeout)
            .field("retry_base", &self.retry_base)
            .field("retry_max", &self.retry_max)
            .field("lease", &self.lease)
            .finish()
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum DeliveryState {
    /// Not delivered yet: waiting for its turn, its next attempt, or in flight.
    Pending,
    /// The endpoint answered with a 2xx status.
    Delivered,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "PENDING",
            DeliveryState::Delivered => "DELIVERED",
        }
    }

    pub fn parse(raw: &str) -> Self {
        if raw == "DELIVERED" {
            DeliveryState::Delivered
        } else {
            DeliveryState::Pending
        }
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes a key of any length.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX / 2)
}

/// The wait before the next attempt after `attempts` failed ones.
fn back_off(settings: &WebhookSettings, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(settings.retry_max)
}

/// Gives every event not yet fanned out one delivery per endpoint, oldest first.
pub async fn fan_out(db: &DatabaseConnection, urls: &[String]) -> AppResult<usize> {
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::FannedOut.eq(false))
        .order_by_asc(outbox_event::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    for event in &events {
        let txn = crate::db::begin_write(db).await?;
        for url in urls {
            let row = webhook_delivery::ActiveModel {
                id: NotSet,
                event_id: Set(event.id),
                endpoint: Set(url.clone()),
                event: Set(event.event.clone()),
                item_key: Set(event.item_key.clone()),
                delivery_key: Set(format!(
                    "{}-{}",
                    event.id,
                    crate::service::auth::random_secret(16).to_ascii_lowercase()
                )),
                state: Set(DeliveryState::Pending.as_str().to_owned()),
                attempts: Set(0),
                last_status: Set(None),
                last_error: Set(None),
                next_attempt_at: Set(event.created_at),
                lease_until: Set(None),
                delivered_at: Set(None),
                created_at: Set(Utc::now()),
            };
            webhook_delivery::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([
                        webhook_delivery::Column::EventId,
                        webhook_delivery::Column::Endpoint,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .try_insert()
                .exec(&txn)
                .await?;
        }
        outbox_event::Entity::update_many()
            .col_expr(outbox_event::Column::FannedOut, Expr::value(true))
            .filter(outbox_event::Column::Id.eq(event.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(events.len())
}

/// The deliveries whose turn it is: per endpoint and item, the oldest undelivered one,
/// when its next attempt is due and no instance holds it.
async fn due_deliveries(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let pending = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .order_by_asc(webhook_delivery::Column::EventId)
        .limit(1000)
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(pending
        .into_iter()
        .filter(|row| seen.insert((row.endpoint.clone(), row.item_key.clone())))
        .filter(|row| row.next_attempt_at <= now && row.lease_until.is_none_or(|until| until < now))
        .collect())
}

/// Takes a delivery for this instance until its lease ends; `false` when another
/// instance was faster.
async fn claim(
    db: &DatabaseConnection,
    id: i64,
    now: DateTime<Utc>,
    lease: Duration,
) -> AppResult<bool> {
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(later(now, lease)),
        )
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        // Another instance may have failed it meanwhile: its back-off holds here too.
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.is_null())
                .add(webhook_delivery::Column::LeaseUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// What one attempt came to.
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

async fn send(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    delivery: &webhook_delivery::Model,
    body: String,
) -> Attempt {
    let timestamp = Utc::now().timestamp();
    let mut request = client
        .post(&delivery.endpoint)
        .header("content-type", "application/json")
        .header("x-ecoplan-event", &delivery.event)
        .header("x-ecoplan-delivery", &delivery.delivery_key)
        .header("x-ecoplan-timestamp", timestamp.to_string());
    if let Some(secret) = &settings.secret {
        request = request.header("x-ecoplan-signature", signature(secret, timestamp, &body));
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Attempt {
            status: Some(response.status().as_u16()),
            error: None,
        },
        Ok(response) => Attempt {
            status: Some(response.status().as_u16()),
            error: Some(format!("the endpoint answered {}", response.status())),
        },
        // Without the URL, which may hold a token in its query.
        Err(error) => Attempt {
            status: None,
            error: Some(if error.is_timeout() {
                "the endpoint did not answer in time".to_owned()
            } else {
                "the endpoint could not be reached".to_owned()
            }),
        },
    }
}

/// Records an attempt and releases the lease.
async fn settle(
    db: &DatabaseConnection,
    settings: &WebhookSettings,
    delivery: &webhook_delivery::Model,
    attempt: &Attempt,
) -> AppResult<()> {
    let now = Utc::now();
    let attempts = delivery.attempts.saturating_add(1);
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            webhook_delivery::Column::LastStatus,
            Expr::value(attempt.status.map(i32::from)),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::value(attempt.error.clone()),
        )
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    update = if attempt.succeeded() {
        update
            .col_expr(
                webhook_delivery::Column::State,
                Expr::value(DeliveryState::Delivered.as_str()),
            )
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now))
    } else {
        update.col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(later(now, back_off(settings, attempts))),
        )
    };
    update
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .exec(db)
        .await?;
    Ok(())
}

/// One pass: fans out new events, then attempts every delivery whose turn it is, again
/// while attempts succeed (the next event of an item is due once the one before it is
/// delivered). Answers how many were delivered.
pub async fn deliver_once(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> AppResult<usize> {
    fan_out(db, &settings.urls).await?;
    let mut delivered = 0;
    loop {
        let mut progressed = false;
        for delivery in due_deliveries(db, Utc::now()).await? {
            if !claim(db, delivery.id, Utc::now(), settings.lease).await? {
                continue;
            }
            let body = outbox_event::Entity::find_by_id(delivery.event_id)
                .one(db)
                .await?
                .map(|event| event.payload)
                .unwrap_or_default();
            let attempt = send(client, settings, &delivery, body).await;
            settle(db, settings, &delivery, &attempt).await?;
            if attempt.succeeded() {
                delivered += 1;
                progressed = true;
            } else {
                tracing::warn!(
                    delivery = delivery.id,
                    attempts = delivery.attempts + 1,
                    error = attempt.error.as_deref().unwrap_or(""),
                    "a webhook delivery failed; it will be retried"
                );
            }
        }
        if !progressed {
            return Ok(delivered);
        }
    }
}

/// Delivers until the process stops; a failed pass is logged and retried at the next.
pub async fn deliver_periodically(db: DatabaseConnection, settings: WebhookSettings) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client; nothing is delivered");
            return;
        }
    };
    let mut ticks = tokio::time::interval(settings.poll_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = deliver_once(&db, &client, &settings).await {
            tracing::warn!(error = ?error.into_anyhow(), "cannot deliver webhooks");
        }
    }
}

fn deliveries(state: Option<DeliveryState>) -> Select<webhook_delivery::Entity> {
    let mut select = webhook_delivery::Entity::find();
    if let Some(state) = state {
        select = select.filter(webhook_delivery::Column::State.eq(state.as_str()));
    }
    select
}

/// The delivery log, oldest first (administrators).
pub async fn list_deliveries(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    state: Option<DeliveryState>,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<webhook_delivery::Model>> {
    viewer.require_admin()?;
    paginate(
        db,
        deliveries(state),
        webhook_delivery::Column::Id,
        |row| row.id,
        args,
        max_page_size,
    )
    .await
}

/// Sends a delivery again at the next pass, whatever its state (administrators); its
/// idempotency key stays, so a receiver that has it already can tell. The request is
/// recorded in the audit log with the state it was in.
pub async fn redeliver(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    id: i64,
) -> AppResult<webhook_delivery::Model> {
    caller.viewer.require_admin()?;
    let txn = db.begin().await?;
    let current = webhook_delivery::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("no webhook delivery has this id"))?;
    let mut row: webhook_delivery::ActiveModel = current.clone().into();
    row.state = Set(DeliveryState::Pending.as_str().to_owned());
    row.next_attempt_at = Set(Utc::now());
    row.delivered_at = Set(None);
    let updated = row.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        "webhook.redeliver",
        ItemType::WebhookDelivery,
        id,
        Some(&serde_json::json!({ "state": current.state, "attempts": current.attempts })),
        Some(&serde_json::json!({ "state": updated.state })),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_and_body() {
        // `printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac secret`
        assert_eq!(
            signature("secret", 1_700_000_000, "{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn back_off_doubles_up_to_its_cap() {
        let settings = WebhookSettings {
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(5),
            ..Default::default()
        };
        assert_eq!(back_off(&settings, 1), Duration::from_secs(1));
        assert_eq!(back_off(&settings, 2), Duration::from_secs(2));
        assert_eq!(back_off(&settings, 3), Duration::from_secs(4));
        assert_eq!(back_off(&settings, 4), Duration::from_secs(5));
    }
}
