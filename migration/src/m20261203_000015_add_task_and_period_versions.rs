//! Tasks and reporting periods carry a version, like submissions, so that a change to a
//! due date or a period's closing can say which state it was made against and a stale
//! one is refused instead of silently overwriting another reviewer's change.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table("task")
                    .add_column(integer("version").default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("reporting_period")
                    .add_column(integer("version").default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("reporting_period")
                    .drop_column("version")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("task")
                    .drop_column("version")
                    .to_owned(),
            )
            .await
    }
}
