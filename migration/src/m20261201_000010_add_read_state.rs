//! State the read path keeps on write instead of computing per request: a data revision
//! that says when the plan's in-memory snapshot is out of date, each indicator's latest
//! and previous approved value, and each lead department's latest approved report status.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("data_revision")
                    .col(integer("id").primary_key())
                    .col(big_integer("revision"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO data_revision (id, revision) VALUES (1, 1)")
            .await?;

        // Derived columns: caches of the approved submissions, rewritten in the same
        // transaction as every review move, so they carry no foreign keys of their own.
        manager
            .alter_table(
                Table::alter()
                    .table("indicator")
                    .add_column(big_integer_null("latest_approved_value_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("indicator")
                    .add_column(big_integer_null("previous_approved_value_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("task_lead")
                    .add_column(string_null("latest_approved_status"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("task_lead")
                    .add_column(string_null("latest_approved_period"))
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE indicator SET \
             latest_approved_value_id = (SELECT v.id FROM indicator_value v \
                WHERE v.indicator_id = indicator.id AND v.review_status = 'APPROVED' \
                ORDER BY v.period DESC, v.id DESC LIMIT 1), \
             previous_approved_value_id = (SELECT v.id FROM indicator_value v \
                WHERE v.indicator_id = indicator.id AND v.review_status = 'APPROVED' \
                ORDER BY v.period DESC, v.id DESC LIMIT 1 OFFSET 1)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE task_lead SET \
             latest_approved_status = (SELECT r.status FROM progress_report r \
                WHERE r.task_id = task_lead.task_id AND r.department_id = task_lead.department_id \
                AND r.review_status = 'APPROVED' ORDER BY r.period DESC, r.id DESC LIMIT 1), \
             latest_approved_period = (SELECT r.period FROM progress_report r \
                WHERE r.task_id = task_lead.task_id AND r.department_id = task_lead.department_id \
                AND r.review_status = 'APPROVED' ORDER BY r.period DESC, r.id DESC LIMIT 1)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("task_lead", "latest_approved_period"),
            ("task_lead", "latest_approved_status"),
            ("indicator", "previous_approved_value_id"),
            ("indicator", "latest_approved_value_id"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table("data_revision").to_owned())
            .await
    }
}
