//! The reporting workflow: periods, progress reports, indicator values, evidence, external
//! targets, due dates and the append-only audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn foreign_key(
    table: &str,
    column: &str,
    target: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(on_delete)
        .to_owned()
}

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

/// The review columns every submission has.
fn review_columns(table: &mut TableCreateStatement) {
    table
        .col(string("review_status"))
        .col(integer("version"))
        .col(boolean("late"))
        .col(timestamp_with_time_zone_null("submitted_at"))
        .col(big_integer_null("submitted_by"))
        .col(timestamp_with_time_zone_null("reviewed_at"))
        .col(big_integer_null("reviewed_by"))
        .col(text_null("rejection_reason"))
        .col(big_integer("created_by"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .check(Expr::cust(
            "review_status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED')",
        ));
}

fn review_foreign_keys(table: &mut TableCreateStatement, name: &str) {
    table
        .foreign_key(&mut foreign_key(
            name,
            "department_id",
            "department",
            ForeignKeyAction::Restrict,
        ))
        .foreign_key(&mut foreign_key(
            name,
            "submitted_by",
            "app_user",
            ForeignKeyAction::Restrict,
        ))
        .foreign_key(&mut foreign_key(
            name,
            "reviewed_by",
            "app_user",
            ForeignKeyAction::Restrict,
        ))
        .foreign_key(&mut foreign_key(
            name,
            "created_by",
            "app_user",
            ForeignKeyAction::Restrict,
        ));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("task")
                    .add_column(date_null("due_on"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("reporting_period")
                    .col(big_pk_auto("id"))
                    .col(big_integer("plan_id"))
                    .col(string("period"))
                    .col(boolean("closed"))
                    .col(timestamp_with_time_zone("changed_at"))
                    .col(big_integer("changed_by"))
                    .foreign_key(&mut foreign_key(
                        "reporting_period",
                        "plan_id",
                        "plan",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        "reporting_period",
                        "changed_by",
                        "app_user",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("reporting_period", &["plan_id", "period"], true))
            .await?;

        let mut progress = Table::create();
        progress
            .table("progress_report")
            .col(big_pk_auto("id"))
            .col(big_integer("plan_id"))
            .col(big_integer("task_id"))
            .col(big_integer("department_id"))
            .col(string("period"))
            .col(string("status"))
            .col(text("work_done"))
            .col(text_null("problems"))
            .col(text_null("next_steps"))
            .check(Expr::cust(
                "status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'BLOCKED')",
            ))
            .foreign_key(&mut foreign_key(
                "progress_report",
                "plan_id",
                "plan",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut foreign_key(
                "progress_report",
                "task_id",
                "task",
                ForeignKeyAction::Cascade,
            ));
        review_columns(&mut progress);
        review_foreign_keys(&mut progress, "progress_report");
        manager.create_table(progress.to_owned()).await?;
        manager
            .create_index(index(
                "progress_report",
                &["task_id", "department_id", "period"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "progress_report",
                &["department_id", "period"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "progress_report",
                &["plan_id", "review_status"],
                false,
            ))
            .await?;

        let mut value = Table::create();
        value
            .table("indicator_value")
            .col(big_pk_auto("id"))
            .col(big_integer("plan_id"))
            .col(big_integer("indicator_id"))
            .col(big_integer("department_id"))
            .col(string("period"))
            .col(double_null("value"))
            .col(boolean_null("achieved"))
            .col(text_null("text"))
            .col(text_null("source"))
            .col(text_null("note"))
            .foreign_key(&mut foreign_key(
                "indicator_value",
                "plan_id",
                "plan",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut foreign_key(
                "indicator_value",
                "indicator_id",
                "indicator",
                ForeignKeyAction::Cascade,
            ));
        review_columns(&mut value);
        review_foreign_keys(&mut value, "indicator_value");
        manager.create_table(value.to_owned()).await?;
        manager
            .create_index(index("indicator_value", &["indicator_id", "period"], true))
            .await?;
        manager
            .create_index(index(
                "indicator_value",
                &["department_id", "period"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "indicator_value",
                &["plan_id", "review_status"],
                false,
            ))
            .await?;

        let mut evidence = Table::create();
        evidence
            .table("evidence")
            .col(big_pk_auto("id"))
            .col(big_integer("plan_id"))
            .col(big_integer("task_id"))
            .col(big_integer("department_id"))
            .col(big_integer_null("progress_report_id"))
            .col(big_integer_null("indicator_value_id"))
            .col(text("title"))
            .col(text_null("description"))
            .col(text("file_name"))
            .col(string("content_type"))
            .col(big_integer("size"))
            .col(string("sha256"))
            .col(string_uniq("storage_key"))
            .foreign_key(&mut foreign_key(
                "evidence",
                "plan_id",
                "plan",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut foreign_key(
                "evidence",
                "task_id",
                "task",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut foreign_key(
                "evidence",
                "progress_report_id",
                "progress_report",
                ForeignKeyAction::Restrict,
            ))
            .foreign_key(&mut foreign_key(
                "evidence",
                "indicator_value_id",
                "indicator_value",
                ForeignKeyAction::Restrict,
            ));
        review_columns(&mut evidence);
        review_foreign_keys(&mut evidence, "evidence");
        manager.create_table(evidence.to_owned()).await?;
        manager
            .create_index(index("evidence", &["task_id"], false))
            .await?;
        manager
            .create_index(index("evidence", &["department_id"], false))
            .await?;
        manager
            .create_index(index("evidence", &["progress_report_id"], false))
            .await?;
        manager
            .create_index(index("evidence", &["indicator_value_id"], false))
            .await?;
        manager
            .create_index(index("evidence", &["plan_id", "review_status"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("external_target")
                    .col(big_pk_auto("id"))
                    .col(big_integer("indicator_id"))
                    .col(integer("year"))
                    .col(double("value"))
                    .col(text_null("note"))
                    .col(big_integer("set_by"))
                    .col(timestamp_with_time_zone("set_at"))
                    .foreign_key(&mut foreign_key(
                        "external_target",
                        "indicator_id",
                        "indicator",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        "external_target",
                        "set_by",
                        "app_user",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("external_target", &["indicator_id", "year"], true))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(big_integer_null("actor_id"))
                    .col(string("actor_role"))
                    .col(string("action"))
                    .col(string("item_type"))
                    .col(big_integer("item_id"))
                    .col(text_null("before"))
                    .col(text_null("after"))
                    .col(string("request_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("audit_log", &["item_type", "item_id", "id"], false))
            .await?;
        manager
            .create_index(index("audit_log", &["actor_id", "id"], false))
            .await?;
        manager
            .create_index(index("audit_log", &["action", "id"], false))
            .await?;

        // The audit trail is append-only, in the schema itself and not only in code.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
                     CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log; DROP FUNCTION IF EXISTS audit_log_append_only();")
                .await?;
        }
        for table in [
            "audit_log",
            "external_target",
            "evidence",
            "indicator_value",
            "progress_report",
            "reporting_period",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("task")
                    .drop_column("due_on")
                    .to_owned(),
            )
            .await
    }
}
