//! The SQL entity store: OpenMetadata's tables, one per entity type, over one sqlx `Any` pool.

use std::fmt;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use secrecy::ExposeSecret;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection};
use vaultref_core::{Config, DatabaseConfig, EntityType};

use crate::error::{Error, Result};
use crate::url::{Flavour, database_url, redact_url};

/// How many rows a page of [`Store::stream`] reads when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// The longest entity id the tables hold (a UUID).
const MAX_ID_LEN: usize = 36;

/// OpenMetadata's table for an entity type (`databaseService` is `dbservice_entity`, bot users
/// are rows of `user_entity`, workflows are `automations_workflow`).
#[must_use]
pub fn table_name(entity_type: EntityType) -> &'static str {
    match entity_type {
        EntityType::DatabaseService => "dbservice_entity",
        EntityType::DashboardService => "dashboard_service_entity",
        EntityType::MessagingService => "messaging_service_entity",
        EntityType::PipelineService => "pipeline_service_entity",
        EntityType::MlmodelService => "mlmodel_service_entity",
        EntityType::StorageService => "storage_service_entity",
        EntityType::MetadataService => "metadata_service_entity",
        EntityType::SearchService => "search_service_entity",
        EntityType::ApiService => "api_service_entity",
        EntityType::User => "user_entity",
        EntityType::Bot => "bot_entity",
        EntityType::IngestionPipeline => "ingestion_pipeline_entity",
        // Workflows, and any type core adds later, until it gets a table of its own.
        _ => "automations_workflow",
    }
}

/// One row of an entity table: the entity's id, name and JSON document as stored (secret
/// fields in their database form: `fernet:` tokens).
///
/// `Debug` shows the type, id and name only: the document may hold secrets.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredEntity {
    /// The entity type (which table the row is in).
    pub entity_type: EntityType,
    /// The `id` column (the document's `id`).
    pub id: String,
    /// The `name` column (the document's `name`).
    pub name: String,
    /// The `json` column.
    pub entity: Value,
}

impl fmt::Debug for StoredEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredEntity")
            .field("entity_type", &self.entity_type)
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Whether [`Store::upsert`] inserted a row or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upserted {
    /// A new row.
    Inserted,
    /// The row with the same name was replaced (its id kept).
    Updated,
}

/// The SQL entity store on PostgreSQL, MySQL/MariaDB or SQLite.
///
/// Reads select `id`, `name` and `json`; updates set `json` alone (by id), so that they also
/// work on an OpenMetadata database, whose `id` and `name` columns are generated from the
/// document. Inserts set all three and need the store's own tables ([`Store::migrate`]).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    flavour: Flavour,
    /// Redacted, for messages.
    url: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("flavour", &self.flavour)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to the database at a sqlx URL (`postgres://`, `mysql://`, `sqlite://`). A
    /// SQLite file is created when missing (unless the URL sets `mode`).
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] and [`Error::Connect`]; neither shows the password.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let flavour = Flavour::of_url(url)?;
        let mut url = url.to_owned();
        if flavour == Flavour::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("mode=rwc");
        }
        let redacted = redact_url(&url);
        let connect_error = |source| Error::Connect {
            url: redacted.clone(),
            source,
        };
        // One connection first: a pool would retry a refused connection until its timeout.
        let probe = AnyConnection::connect(&url).await.map_err(connect_error)?;
        probe.close().await.map_err(connect_error)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if flavour == Flavour::Sqlite { 1 } else { 4 })
            .connect_lazy(&url)
            .map_err(connect_error)?;
        Ok(Self {
            pool,
            flavour,
            url: redacted,
        })
    }

    /// Connects to the database a configuration's `database` block names (a sqlx URL, or
    /// OpenMetadata's JDBC url, user and password).
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_database(config: &DatabaseConfig) -> Result<Self> {
        let url = database_url(config)?;
        Self::connect(url.expose_secret()).await
    }

    /// Connects to the database of `config`.
    ///
    /// # Errors
    /// [`Error::NoDatabase`] without a `database` block, else as [`connect`](Self::connect).
    pub async fn from_config(config: &Config) -> Result<Self> {
        let database = config.database.as_ref().ok_or(Error::NoDatabase)?;
        Self::connect_database(database).await
    }

    /// The database flavour.
    #[must_use]
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The database URL without its password, for messages.
    #[must_use]
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Creates the entity tables (sqlx migrations for the flavour; applied ones are skipped).
    ///
    /// # Errors
    /// [`Error::Migrate`].
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.flavour {
            Flavour::Postgres => sqlx::migrate!("migrations/postgres"),
            Flavour::MySql => sqlx::migrate!("migrations/mysql"),
            Flavour::Sqlite => sqlx::migrate!("migrations/sqlite"),
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|source| Error::Migrate { source })
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The entity of `entity_type` named `name`.
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::InvalidDocument`].
    pub async fn get(&self, entity_type: EntityType, name: &str) -> Result<Option<StoredEntity>> {
        let sql = format!(
            "{} WHERE name = {}",
            self.select(entity_type),
            self.param(1)
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(|source| query_error("read an entity", entity_type, source))?;
        row.map(|row| decode(entity_type, &row)).transpose()
    }

    /// The entity of `entity_type` with id `id`.
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::InvalidDocument`].
    pub async fn get_by_id(
        &self,
        entity_type: EntityType,
        id: &str,
    ) -> Result<Option<StoredEntity>> {
        let sql = format!("{} WHERE id = {}", self.select(entity_type), self.param(1));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|source| query_error("read an entity", entity_type, source))?;
        row.map(|row| decode(entity_type, &row)).transpose()
    }

    /// How many rows the table of `entity_type` has.
    ///
    /// # Errors
    /// [`Error::Query`].
    pub async fn count(&self, entity_type: EntityType) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", table_name(entity_type));
        let count: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&self.pool)
            .await
            .map_err(|source| query_error("count entities", entity_type, source))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// One page of the table of `entity_type`, ordered by id: at most `limit` rows whose id
    /// is greater than `after` (all ids when `None`). Pass the last id of a page to get the
    /// next one.
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::InvalidDocument`].
    pub async fn list_page(
        &self,
        entity_type: EntityType,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEntity>> {
        let sql = format!(
            "{} WHERE id > {} ORDER BY id LIMIT {}",
            self.select(entity_type),
            self.param(1),
            limit.max(1)
        );
        let rows = sqlx::query(&sql)
            .bind(after.unwrap_or_default())
            .fetch_all(&self.pool)
            .await
            .map_err(|source| query_error("list entities", entity_type, source))?;
        rows.iter().map(|row| decode(entity_type, row)).collect()
    }

    /// Every row of the table of `entity_type`, read `page_size` rows at a time (keyset paging
    /// by id, so memory stays bounded on large tables).
    pub fn stream(
        &self,
        entity_type: EntityType,
        page_size: u32,
    ) -> impl Stream<Item = Result<StoredEntity>> + Send + '_ {
        stream::try_unfold(Some(String::new()), move |after| async move {
            let Some(after) = after else {
                return Ok::<_, Error>(None);
            };
            let page = self.list_page(entity_type, Some(&after), page_size).await?;
            let next = if page.len() < page_size.max(1) as usize {
                None
            } else {
                page.last().map(|e| e.id.clone())
            };
            Ok(Some((page, next)))
        })
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Every row of the table of `entity_type`, in id order.
    ///
    /// # Errors
    /// As [`list_page`](Self::list_page).
    pub async fn list(&self, entity_type: EntityType) -> Result<Vec<StoredEntity>> {
        self.stream(entity_type, DEFAULT_PAGE_SIZE)
            .try_collect()
            .await
    }

    /// Inserts `entity`, or replaces the row with the same `name` (keeping that row's id).
    /// An entity without an `id` gets the existing row's id or a new random UUID, written into
    /// the document as OpenMetadata does. Returns the stored row.
    ///
    /// # Errors
    /// [`Error::NotAnObject`], [`Error::MissingName`], [`Error::InvalidId`], [`Error::Query`].
    pub async fn upsert(
        &self,
        entity_type: EntityType,
        mut entity: Value,
    ) -> Result<(StoredEntity, Upserted)> {
        let Some(object) = entity.as_object() else {
            return Err(Error::NotAnObject {
                entity_type: entity_type.to_string(),
            });
        };
        let name = match object.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => {
                return Err(Error::MissingName {
                    entity_type: entity_type.to_string(),
                });
            }
        };
        let existing = self.get(entity_type, &name).await?;
        let id = match (&existing, object.get("id")) {
            (Some(row), _) => row.id.clone(),
            (None, Some(Value::String(id))) if !id.is_empty() && id.len() <= MAX_ID_LEN => {
                id.clone()
            }
            (None, None) => new_id()?,
            (None, Some(_)) => {
                return Err(Error::InvalidId {
                    entity_type: entity_type.to_string(),
                    name,
                });
            }
        };
        if let Some(object) = entity.as_object_mut() {
            object.insert("id".to_owned(), Value::String(id.clone()));
        }
        let row = StoredEntity {
            entity_type,
            id,
            name,
            entity,
        };
        if existing.is_some() {
            self.update(&row).await?;
            return Ok((row, Upserted::Updated));
        }
        let sql = format!(
            "INSERT INTO {} (id, name, json) VALUES ({}, {}, {})",
            table_name(entity_type),
            self.param(1),
            self.param(2),
            self.json_param(3)
        );
        sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.name)
            .bind(row.entity.to_string())
            .execute(&self.pool)
            .await
            .map_err(|source| query_error("insert an entity", entity_type, source))?;
        Ok((row, Upserted::Inserted))
    }

    /// Writes `row.entity` into the `json` column of the row with `row.id`. Returns whether a
    /// row had that id.
    ///
    /// # Errors
    /// [`Error::Query`].
    pub async fn update(&self, row: &StoredEntity) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET json = {} WHERE id = {}",
            table_name(row.entity_type),
            self.json_param(1),
            self.param(2)
        );
        let done = sqlx::query(&sql)
            .bind(row.entity.to_string())
            .bind(&row.id)
            .execute(&self.pool)
            .await
            .map_err(|source| query_error("update an entity", row.entity_type, source))?;
        // MySQL counts changed rows: an identical document counts 0, so check existence.
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        Ok(self.get_by_id(row.entity_type, &row.id).await?.is_some())
    }

    fn select(&self, entity_type: EntityType) -> String {
        let json = match self.flavour {
            Flavour::Postgres => "json::text",
            Flavour::MySql => "CAST(json AS CHAR CHARACTER SET utf8mb4)",
            Flavour::Sqlite => "json",
        };
        format!("SELECT id, name, {json} FROM {}", table_name(entity_type))
    }

    fn param(&self, n: usize) -> String {
        match self.flavour {
            Flavour::Postgres => format!("${n}"),
            Flavour::MySql | Flavour::Sqlite => "?".to_owned(),
        }
    }

    fn json_param(&self, n: usize) -> String {
        match self.flavour {
            Flavour::Postgres => format!("CAST(${n} AS jsonb)"),
            Flavour::MySql | Flavour::Sqlite => "?".to_owned(),
        }
    }
}

fn query_error(action: &'static str, entity_type: EntityType, source: sqlx::Error) -> Error {
    Error::Query {
        action,
        table: table_name(entity_type),
        source,
    }
}

fn decode(entity_type: EntityType, row: &AnyRow) -> Result<StoredEntity> {
    let table = table_name(entity_type);
    // MySQL may type a text result as a BLOB through the `Any` driver: take bytes then.
    let column = |index: usize| {
        row.try_get::<String, _>(index).or_else(|_| {
            row.try_get::<Vec<u8>, _>(index)
                .map_err(|source| query_error("read a column", entity_type, source))
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| Error::InvalidDocument {
                        table,
                        id: String::new(),
                        problem: format!("column {index} is not UTF-8 text"),
                    })
                })
        })
    };
    let id = column(0)?;
    let name = column(1)?;
    let json = column(2)?;
    let entity: Value = serde_json::from_str(&json).map_err(|e| Error::InvalidDocument {
        table,
        id: id.clone(),
        // Line and column only: serde_json's messages never quote the input.
        problem: e.to_string(),
    })?;
    if !entity.is_object() {
        return Err(Error::InvalidDocument {
            table,
            id,
            problem: "it is not an object".to_owned(),
        });
    }
    Ok(StoredEntity {
        entity_type,
        id,
        name,
        entity,
    })
}

/// A random (version 4) UUID.
fn new_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_type_has_its_openmetadata_table() {
        let tables: std::collections::BTreeSet<_> =
            EntityType::all().iter().map(|t| table_name(*t)).collect();
        assert_eq!(tables.len(), EntityType::all().len());
        assert_eq!(table_name(EntityType::DatabaseService), "dbservice_entity");
        assert_eq!(table_name(EntityType::Workflow), "automations_workflow");
    }

    #[test]
    fn new_ids_are_version_4_uuids() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_id().unwrap());
    }
}
