//! The webhook delivery log over GraphQL, for administrators: what went to which
//! endpoint, how often it was tried, and sending one again.

use async_graphql::{Context, ID, Object, Result};

use crate::entity::webhook_delivery;
use crate::graphql::connection::WebhookDeliveryConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::report::decode;
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::id::NodeKind;
use crate::service::page::page_args;
use crate::service::webhook::{self, DeliveryState};

/// One event sent (or to be sent) to one endpoint.
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        global_id(NodeKind::WebhookDelivery, self.0.id)
    }
    /// The event, e.g. `submission.approved` (the `X-Ecoplan-Event` header).
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }
    /// The idempotency key (the `X-Ecoplan-Delivery` header), the same on every attempt.
    async fn delivery_key(&self) -> &str {
        &self.0.delivery_key
    }
    async fn state(&self) -> DeliveryState {
        DeliveryState::parse(&self.0.state)
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last attempt; `null` when the endpoint did not answer.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the next attempt is due (for a pending delivery).
    async fn next_attempt_at(&self) -> Option<DateTime> {
        ((DeliveryState::parse(&self.0.state) == DeliveryState::Pending)
            .then_some(self.0.next_attempt_at))
        .map(DateTime)
    }
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(DateTime)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The webhook deliveries, oldest first (administrators: `null`, with a `FORBIDDEN`
    /// error, for everyone else).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        state: Option<DeliveryState>,
    ) -> Result<Option<WebhookDeliveryConnection>> {
        let request = ctx.request();
        let args = page_args(first, after, last, before);
        let page = webhook::list_deliveries(
            request.db(),
            &request.viewer,
            state,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(Some(WebhookDeliveryConnection::from_page(
            page,
            WebhookDelivery,
        )))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Sends a delivery again at the worker's next pass, with the same idempotency key
    /// (administrators).
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let request = ctx.request();
        let id = decode(&id, NodeKind::WebhookDelivery)?;
        let row = webhook::redeliver(request.db(), &request.caller(), id).await?;
        Ok(WebhookDelivery(row))
    }
}
