//! Reading a database's layout from its catalog (`information_schema`).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::{HashColumn, Layout, LayoutKind, Table, newest_version};
use crate::error::{Error, Result};
use crate::tables::{VERSIONS_TABLE, entity_types_with_tables, table_name};
use crate::url::Flavour;

/// The layout of the database behind `pool`: one query over the catalog's columns, and one
/// over OpenMetadata's migration log when it is there.
pub(crate) async fn detect(pool: &AnyPool, flavour: Flavour) -> Result<Layout> {
    let sql = match flavour {
        Flavour::Sqlite => return sqlite(pool).await,
        Flavour::Postgres => {
            "SELECT table_name::text, column_name::text, is_generated::text, data_type::text \
             FROM information_schema.columns WHERE table_schema = current_schema()"
        }
        Flavour::MySql => {
            // EXTRA says `VIRTUAL GENERATED` / `STORED GENERATED` on MySQL and MariaDB alike.
            "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(EXTRA AS CHAR), \
             CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE()"
        }
    };
    let rows = fetch(pool, sql).await?;
    // table (lower case) -> column (lower case) -> (generated, data type)
    let mut columns: BTreeMap<String, BTreeMap<String, (bool, String)>> = BTreeMap::new();
    for row in &rows {
        let (Some(table), Some(column)) = (text(row, 0), text(row, 1)) else {
            continue;
        };
        let generated = text(row, 2).unwrap_or_default().to_ascii_uppercase();
        let generated = generated.contains("GENERATED") || generated == "ALWAYS";
        let data_type = text(row, 3).unwrap_or_default().to_ascii_lowercase();
        columns
            .entry(table.to_ascii_lowercase())
            .or_default()
            .insert(column.to_ascii_lowercase(), (generated, data_type));
    }
    let mut tables = BTreeMap::new();
    for entity_type in entity_types_with_tables() {
        let name = table_name(entity_type);
        let Some(cols) = columns.get(name) else {
            continue;
        };
        let hash = if cols.contains_key("fqnhash") {
            Some(HashColumn::Fqn)
        } else if cols.contains_key("namehash") {
            Some(HashColumn::Name)
        } else {
            None
        };
        let table = Table {
            openmetadata: cols.get("name").is_some_and(|(generated, _)| *generated),
            hash,
            plain_json: flavour == Flavour::Postgres
                && cols.get("json").is_some_and(|(_, t)| t == "json"),
        };
        tables.insert(name, table);
    }
    let kind = if tables.values().any(|t| t.openmetadata) {
        let release = if columns.contains_key("server_change_log") {
            release(pool, flavour).await?
        } else {
            None
        };
        LayoutKind::OpenMetadata { release }
    } else if tables.is_empty() {
        LayoutKind::Empty
    } else {
        LayoutKind::Vaultref
    };
    let versions =
        matches!(kind, LayoutKind::OpenMetadata { .. }) && columns.contains_key(VERSIONS_TABLE);
    Ok(Layout {
        kind,
        tables,
        versions,
    })
}

/// SQLite databases are vaultref's: every table or none.
async fn sqlite(pool: &AnyPool) -> Result<Layout> {
    let rows = fetch(
        pool,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'dbservice_entity'",
    )
    .await?;
    let complete = Layout::vaultref_complete();
    Ok(if rows.is_empty() {
        Layout {
            kind: LayoutKind::Empty,
            tables: BTreeMap::new(),
            versions: false,
        }
    } else {
        complete
    })
}

/// The newest version in OpenMetadata's `SERVER_CHANGE_LOG` (one row per applied migration).
async fn release(pool: &AnyPool, flavour: Flavour) -> Result<Option<String>> {
    let sql = match flavour {
        // MySQL table names are case-sensitive on Linux; OpenMetadata writes this one in
        // capitals there, PostgreSQL folds it to lower case.
        Flavour::MySql => "SELECT CAST(version AS CHAR) FROM SERVER_CHANGE_LOG",
        _ => "SELECT version::text FROM server_change_log",
    };
    let rows = fetch(pool, sql).await?;
    Ok(newest_version(rows.iter().filter_map(|row| text(row, 0))))
}

async fn fetch(pool: &AnyPool, sql: &str) -> Result<Vec<AnyRow>> {
    sqlx::query(sql)
        .fetch_all(pool)
        .await
        .map_err(|source| Error::Query {
            action: "read the table layout",
            table: "information_schema.columns",
            source,
        })
}

/// A text column that MySQL's `information_schema` may type as bytes.
pub(crate) fn text(row: &AnyRow, index: usize) -> Option<String> {
    row.try_get::<Option<String>, _>(index)
        .ok()
        .flatten()
        .or_else(|| {
            row.try_get::<Option<Vec<u8>>, _>(index)
                .ok()
                .flatten()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        })
}
