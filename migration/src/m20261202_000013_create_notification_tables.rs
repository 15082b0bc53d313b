//! Chasing the work: notifications to departments and the leadership group (reminders,
//! escalations, review outcomes), the outbox of events written with the change that makes
//! them, and the webhook deliveries of those events to the portal.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement
        .name(format!("ix_{table}_{}", columns.join("_")))
        .table(Alias::new(table));
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("notification")
                    .col(big_pk_auto("id"))
                    // Exactly one of the two names the recipient.
                    .col(big_integer_null("recipient_department_id"))
                    .col(string_null("recipient_role"))
                    .col(string("kind"))
                    .col(text("message"))
                    // The items the notification is about, as JSON.
                    .col(text("items"))
                    // Reminders and escalations are made once per item, period and
                    // threshold: the key makes a second insert a no-op.
                    .col(string_null("once_key"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("notification", &["once_key"], true))
            .await?;
        manager
            .create_index(index(
                "notification",
                &["recipient_department_id", "id"],
                false,
            ))
            .await?;
        manager
            .create_index(index("notification", &["recipient_role", "id"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("outbox_event")
                    .col(big_pk_auto("id"))
                    .col(string("event"))
                    // Events of one item are delivered in order.
                    .col(string("item_key"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    // Whether the event has its delivery rows, one per endpoint.
                    .col(boolean("fanned_out").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("outbox_event", &["fanned_out", "id"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_delivery")
                    .col(big_pk_auto("id"))
                    .col(big_integer("event_id"))
                    .col(string("endpoint"))
                    .col(string("event"))
                    .col(string("item_key"))
                    // The idempotency key, the same on every attempt.
                    .col(string("delivery_key"))
                    .col(string("state"))
                    .col(integer("attempts"))
                    .col(integer_null("last_status"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    // A worker holds a delivery until then; an expired lease is taken over.
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_event_id")
                            .from(Alias::new("webhook_delivery"), Alias::new("event_id"))
                            .to(Alias::new("outbox_event"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("webhook_delivery", &["event_id", "endpoint"], true))
            .await?;
        manager
            .create_index(index("webhook_delivery", &["state", "event_id"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_delivery", "outbox_event", "notification"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
