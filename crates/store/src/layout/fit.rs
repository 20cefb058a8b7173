//! Fitting vaultref's own tables to the identities OpenMetadata's tables have.
//!
//! The first migration created `name` unique in every table, with the server's default
//! collation. OpenMetadata's tables differ in two ways that matter for not overwriting rows:
//! MySQL/MariaDB compare names by `nameHash` (exact), where the default collation takes
//! `cafe` for `café` and `Alice` for `alice`; and ingestion pipelines are unique by fully
//! qualified name (`fqnHash`), not by name. On PostgreSQL and MySQL the store may run on an
//! OpenMetadata database, whose tables must not be altered, so the changes are made here,
//! only to tables whose `name` column is not generated from the document (vaultref's own);
//! SQLite databases are always vaultref's, and a migration does it there.

use sqlx::AnyPool;
use sqlx::any::AnyRow;

use super::detect::text;
use crate::error::{Error, Result};
use crate::tables::table_name;
use crate::url::Flavour;
use vaultref_core::EntityType;

const PIPELINES: &str = "ingestion_pipeline_entity";

pub(crate) async fn fit_standalone_tables(pool: &AnyPool, flavour: Flavour) -> Result<()> {
    match flavour {
        Flavour::Postgres => fit_postgres(pool).await,
        Flavour::MySql => fit_mysql(pool).await,
        Flavour::Sqlite => Ok(()),
    }
}

async fn execute(pool: &AnyPool, table: &'static str, sql: &str) -> Result<()> {
    sqlx::query(sql)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|source| Error::Query {
            action: "fit the table to OpenMetadata's identities",
            table,
            source,
        })
}

async fn fetch(pool: &AnyPool, table: &'static str, sql: &str) -> Result<Vec<AnyRow>> {
    sqlx::query(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .map_err(|source| Error::Query {
            action: "read the table layout",
            table,
            source,
        })
}

async fn fit_postgres(pool: &AnyPool) -> Result<()> {
    let columns = fetch(
        pool,
        PIPELINES,
        "SELECT column_name::text, is_generated::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .await?;
    let column = |name: &str| {
        columns
            .iter()
            .find(|row| text(row, 0).as_deref() == Some(name))
            .map(|row| text(row, 1).unwrap_or_default())
    };
    if column("name").as_deref() != Some("NEVER") || column("fqnhash").is_some() {
        return Ok(());
    }
    for sql in [
        "ALTER TABLE ingestion_pipeline_entity DROP CONSTRAINT IF EXISTS \
         ingestion_pipeline_entity_name_key",
        "ALTER TABLE ingestion_pipeline_entity ADD COLUMN IF NOT EXISTS fqnhash VARCHAR(768) \
         UNIQUE",
        "CREATE INDEX IF NOT EXISTS ingestion_pipeline_entity_name ON \
         ingestion_pipeline_entity (name)",
    ] {
        execute(pool, PIPELINES, sql).await?;
    }
    Ok(())
}

async fn fit_mysql(pool: &AnyPool) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for &entity_type in EntityType::all() {
        let table = table_name(entity_type);
        if !seen.insert(table) {
            continue;
        }
        let columns = fetch(
            pool,
            table,
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLLATION_NAME AS CHAR), CAST(EXTRA AS CHAR) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .await?;
        let column = |name: &str| {
            columns
                .iter()
                .find(|row| text(row, 0).as_deref() == Some(name))
                .map(|row| {
                    (
                        text(row, 1).unwrap_or_default(),
                        text(row, 2).unwrap_or_default(),
                    )
                })
        };
        let Some((collation, extra)) = column("name") else {
            continue;
        };
        if extra.to_ascii_uppercase().contains("GENERATED") {
            // OpenMetadata's table: its names are compared through nameHash/fqnHash.
            continue;
        }
        if collation != "utf8mb4_bin" {
            execute(
                pool,
                table,
                &format!(
                    "ALTER TABLE {table} MODIFY name VARCHAR(256) CHARACTER SET utf8mb4 \
                     COLLATE utf8mb4_bin NOT NULL"
                ),
            )
            .await?;
        }
        if table == PIPELINES && column("fqnhash").is_none() {
            execute(
                pool,
                table,
                "ALTER TABLE ingestion_pipeline_entity DROP INDEX ingestion_pipeline_entity_name, \
                 ADD COLUMN fqnhash VARCHAR(768) CHARACTER SET ascii NULL, \
                 ADD UNIQUE KEY ingestion_pipeline_entity_fqnhash (fqnhash), \
                 ADD KEY ingestion_pipeline_entity_name_idx (name)",
            )
            .await?;
        }
    }
    Ok(())
}
