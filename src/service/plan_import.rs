//! Plans from their documents: previewing a document's plan, creating it as a draft,
//! correcting the draft and publishing it.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::entity::{department, department_alias};
use crate::error::AppResult;
use crate::service::plan_document::KnownDepartment;
use crate::service::seed::{TANGSHAN_2022, parse_plan_file};

/// The departments an import resolves names against: those in the database (with their
/// aliases), then those of the built-in plan that the database does not have yet.
pub async fn known_departments(db: &impl ConnectionTrait) -> AppResult<Vec<KnownDepartment>> {
    let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
    for alias in department_alias::Entity::find()
        .order_by_asc(department_alias::Column::Position)
        .all(db)
        .await?
    {
        aliases
            .entry(alias.department_id)
            .or_default()
            .push(alias.alias);
    }
    let mut known: Vec<KnownDepartment> = department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| KnownDepartment {
            aliases: aliases.remove(&row.id).unwrap_or_default(),
            code: row.code,
            name: row.name,
        })
        .collect();
    for department in parse_plan_file(TANGSHAN_2022)?.departments {
        if !known.iter().any(|k| k.code == department.code) {
            known.push(KnownDepartment {
                code: department.code,
                name: department.name,
                aliases: department.aliases,
            });
        }
    }
    Ok(known)
}
