//! A second counter beside the data revision: raised by every review move (submit,
//! approve, reject, reopen) and by the removal of a submission, so that what is counted
//! of the submissions (the dashboard's counts) can be kept between requests and known to
//! be current by a number read with the user row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("data_revision")
                    .add_column(big_integer("submission_revision").default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("data_revision")
                    .drop_column("submission_revision")
                    .to_owned(),
            )
            .await
    }
}
