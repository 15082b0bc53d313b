//! Users, their roles, and the per-username sign-in throttle.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("app_user")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("username"))
                    .col(string("display_name"))
                    .col(string("password_hash"))
                    .col(string("role"))
                    .col(big_integer_null("department_id"))
                    .col(boolean("active"))
                    .col(integer("token_version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .check(Expr::cust(
                        "role IN ('ADMIN', 'LEADERSHIP', 'DEPARTMENT', 'PORTAL')",
                    ))
                    // A department user belongs to a department; nobody else does.
                    .check(Expr::cust(
                        "(role = 'DEPARTMENT' AND department_id IS NOT NULL) OR (role <> 'DEPARTMENT' AND department_id IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_user_department_id")
                            .from("app_user", "department_id")
                            .to("department", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_app_user_department_id")
                    .table("app_user")
                    .col("department_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .col(string("username").primary_key())
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone("first_failure_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("login_throttle").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("app_user").to_owned())
            .await
    }
}
