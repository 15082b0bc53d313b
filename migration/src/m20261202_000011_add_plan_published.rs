//! Plans can be drafts: imported from a document, seen only by administrators and the
//! leadership group until published. Every plan that exists already is published.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("plan")
                    .add_column(boolean("published").default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("plan")
                    .drop_column("published")
                    .to_owned(),
            )
            .await
    }
}
