//! The work plan itself: plans, their goals and sections, departments, tasks and indicators.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A foreign key from `table.column` to `target.id`, deleting with the parent row.
fn foreign_key(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("plan")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("key"))
                    .col(text("title"))
                    .col(string("issuer"))
                    .col(date("issued_on"))
                    .col(integer("year"))
                    .col(text("purpose"))
                    .col(text("guiding_idea"))
                    .col(string("reporting_cadence"))
                    .col(integer("submission_deadline_days"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("plan_goal")
                    .col(big_pk_auto("id"))
                    .col(big_integer("plan_id"))
                    .col(integer("year"))
                    .col(text("text"))
                    .foreign_key(&mut foreign_key("plan_goal", "plan_id", "plan"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("plan_goal", &["plan_id", "year"], true))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("section")
                    .col(big_pk_auto("id"))
                    .col(big_integer("plan_id"))
                    .col(integer("number"))
                    .col(text("title"))
                    .foreign_key(&mut foreign_key("section", "plan_id", "plan"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("section", &["plan_id", "number"], true))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("department")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("code"))
                    .col(string_uniq("name"))
                    .col(string_uniq("name_folded"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("department_alias")
                    .col(big_pk_auto("id"))
                    .col(big_integer("department_id"))
                    .col(integer("position"))
                    .col(string_uniq("alias"))
                    .col(string_uniq("alias_folded"))
                    .foreign_key(&mut foreign_key(
                        "department_alias",
                        "department_id",
                        "department",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "department_alias",
                &["department_id", "position"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("task")
                    .col(big_pk_auto("id"))
                    .col(big_integer("plan_id"))
                    .col(big_integer("section_id"))
                    .col(big_integer_null("parent_id"))
                    .col(string("code"))
                    .col(integer("position"))
                    .col(text("title"))
                    .col(text("text"))
                    .col(text_null("leads_as_written"))
                    .col(text("search_text"))
                    .foreign_key(&mut foreign_key("task", "plan_id", "plan"))
                    .foreign_key(&mut foreign_key("task", "section_id", "section"))
                    .foreign_key(&mut foreign_key("task", "parent_id", "task"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("task", &["plan_id", "code"], true))
            .await?;
        manager
            .create_index(index("task", &["plan_id", "position"], true))
            .await?;
        manager
            .create_index(index("task", &["section_id", "position"], false))
            .await?;
        manager
            .create_index(index("task", &["parent_id", "position"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("task_lead")
                    .col(big_integer("task_id"))
                    .col(big_integer("department_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("task_id").col("department_id"))
                    .foreign_key(&mut foreign_key("task_lead", "task_id", "task"))
                    .foreign_key(&mut foreign_key("task_lead", "department_id", "department"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("task_lead", &["department_id", "task_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("indicator")
                    .col(big_pk_auto("id"))
                    .col(big_integer("plan_id"))
                    .col(big_integer("task_id"))
                    .col(integer("position"))
                    .col(text("name"))
                    .col(string_null("unit"))
                    .col(string("target_kind"))
                    .col(double_null("target_value"))
                    .col(text("target_text"))
                    .col(string("better"))
                    .col(text("search_text"))
                    .foreign_key(&mut foreign_key("indicator", "plan_id", "plan"))
                    .foreign_key(&mut foreign_key("indicator", "task_id", "task"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("indicator", &["plan_id", "position"], true))
            .await?;
        manager
            .create_index(index("indicator", &["task_id", "position"], false))
            .await?;
        manager
            .create_index(index("indicator", &["plan_id", "target_kind"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("indicator_milestone")
                    .col(big_pk_auto("id"))
                    .col(big_integer("indicator_id"))
                    .col(integer("year"))
                    .col(string("target_kind"))
                    .col(double_null("target_value"))
                    .col(text("target_text"))
                    .foreign_key(&mut foreign_key(
                        "indicator_milestone",
                        "indicator_id",
                        "indicator",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "indicator_milestone",
                &["indicator_id", "year"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("indicator_responsible")
                    .col(big_integer("indicator_id"))
                    .col(big_integer("department_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("indicator_id").col("department_id"))
                    .foreign_key(&mut foreign_key(
                        "indicator_responsible",
                        "indicator_id",
                        "indicator",
                    ))
                    .foreign_key(&mut foreign_key(
                        "indicator_responsible",
                        "department_id",
                        "department",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "indicator_responsible",
                &["department_id", "indicator_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "indicator_responsible",
            "indicator_milestone",
            "indicator",
            "task_lead",
            "task",
            "department_alias",
            "department",
            "section",
            "plan_goal",
            "plan",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
