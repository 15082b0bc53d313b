//! A fresh database for one run: a SQLite file in a temporary folder, or a PostgreSQL
//! database `ecoplan_bench_<random>` that is dropped afterwards.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use rand::Rng;
use sea_orm::{ConnectionTrait, Database};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one run.
pub struct TempDatabase {
    pub backend: Backend,
    /// What the server gets as `DATABASE_URL`.
    pub url: String,
    postgres: Option<PostgresDatabase>,
}

struct PostgresDatabase {
    /// The maintenance database, from which the bench database is created and dropped.
    admin_url: String,
    name: String,
}

/// `postgres://user@host:port/db?x` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").context("--postgres-url is not a URL")? + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map(|index| scheme_end + index)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

impl TempDatabase {
    /// Creates the database; `folder` holds the SQLite file.
    pub async fn create(
        backend: Backend,
        postgres_url: &str,
        folder: &Path,
    ) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self {
                backend,
                url: format!("sqlite://{}", folder.join("ecoplan-bench.db").display()),
                postgres: None,
            }),
            Backend::Postgres => {
                let suffix: u64 = rand::rng().random_range(0..u64::from(u32::MAX));
                let name = format!("ecoplan_bench_{suffix:08x}");
                let admin = Database::connect(postgres_url).await.with_context(|| {
                    format!("cannot connect to PostgreSQL at {postgres_url} (is it running?)")
                })?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("cannot create the database {name}"))?;
                admin.close().await.ok();
                Ok(Self {
                    backend,
                    url: with_database(postgres_url, &name)?,
                    postgres: Some(PostgresDatabase {
                        admin_url: postgres_url.to_owned(),
                        name,
                    }),
                })
            }
        }
    }

    pub fn name(&self) -> String {
        match &self.postgres {
            Some(postgres) => postgres.name.clone(),
            None => self.url.clone(),
        }
    }

    /// Drops a PostgreSQL database (the SQLite file goes with its temporary folder).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let Some(postgres) = self.postgres else {
            return Ok(());
        };
        let admin = Database::connect(&postgres.admin_url)
            .await
            .context("cannot reconnect to PostgreSQL to drop the bench database")?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                postgres.name
            ))
            .await
            .with_context(|| format!("cannot drop the database {}", postgres.name))?;
        admin.close().await.ok();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_database_replaces_the_maintenance_database_in_the_url() {
        let url = with_database("postgres://postgres@127.0.0.1:5432/postgres", "b1");
        assert_eq!(
            url.ok().as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/b1")
        );
        let url = with_database("postgres://u:p@h/postgres?sslmode=disable", "b2");
        assert_eq!(
            url.ok().as_deref(),
            Some("postgres://u:p@h/b2?sslmode=disable")
        );
        let url = with_database("postgres://h:5432", "b3");
        assert_eq!(url.ok().as_deref(), Some("postgres://h:5432/b3"));
    }
}
