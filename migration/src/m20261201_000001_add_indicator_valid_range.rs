//! The range of values each indicator can take (a share between 0 and 100 %, a count that
//! is never negative); both ends may be open.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Indicator {
    Table,
    ValidMin,
    ValidMax,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one at a time.
        for column in [Indicator::ValidMin, Indicator::ValidMax] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Indicator::Table)
                        .add_column(ColumnDef::new(column).double().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Indicator::ValidMax, Indicator::ValidMin] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Indicator::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
