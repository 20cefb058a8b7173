//! The SQL entity store: OpenMetadata's tables, one per entity type, over one sqlx `Any` pool.

use std::fmt;
use std::future::Future;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use md5::Digest as _;
use secrecy::ExposeSecret;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection};
use vaultref_core::{Config, DatabaseConfig, Document, EntityKey, EntityType, VaultWrites};

use crate::error::{Error, Result};
use crate::url::{Flavour, database_identity, database_url, redact_url};

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
/// fields in their database form: `fernet:` tokens), with the exact text the database gave.
///
/// `Debug` shows the type, id and name only: the document may hold secrets. Two rows are equal
/// when their type, id, name and document are (the text may differ in spacing and order).
#[derive(Clone)]
#[non_exhaustive]
pub struct StoredEntity {
    /// The entity type (which table the row is in).
    pub entity_type: EntityType,
    /// The `id` column (the document's `id`).
    pub id: String,
    /// The `name` column (the document's `name`).
    pub name: String,
    /// The `json` column, parsed (read it; a rewrite must edit [`text`](Self::text), which
    /// keeps numbers digit for digit and keys in order).
    pub entity: Value,
    /// The `json` column as the database returned it: what a compare-and-set compares.
    pub text: String,
}

impl PartialEq for StoredEntity {
    fn eq(&self, other: &Self) -> bool {
        (self.entity_type, &self.id, &self.name, &self.entity)
            == (other.entity_type, &other.id, &other.name, &other.entity)
    }
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

impl StoredEntity {
    /// The row's document as a [`Document`]: the text with its parsed value.
    #[must_use]
    pub fn document(&self) -> Document {
        // The text parsed into `entity` when it was read, so parsing it again cannot fail.
        Document::parse(self.text.clone())
            .unwrap_or_else(|_| Document::from_value(self.entity.clone()))
    }

    /// The entity's identity in its table (ingestion pipelines: their fully qualified name).
    #[must_use]
    pub fn key(&self) -> Option<EntityKey> {
        EntityKey::of(self.entity_type, &self.entity)
    }
}

/// Whether [`Store::upsert`] inserted a row or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upserted {
    /// A new row.
    Inserted,
    /// The row with the same identity was replaced (its id kept).
    Updated,
}

/// The SQL entity store on PostgreSQL, MySQL/MariaDB or SQLite.
///
/// Reads select `id`, `name` and `json` (as text); updates set `json` alone (by id, compared
/// with the text read), so that they also work on an OpenMetadata database, whose `id` and
/// `name` columns are generated from the document. Inserts set the columns too and need the
/// store's own tables ([`Store::migrate`]). Names are compared exactly, whatever the
/// collation (MariaDB's default one would take `cafe` for `café`).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    flavour: Flavour,
    /// Redacted, for messages.
    url: String,
    /// The database's identity, for vaultref's ownership tag.
    identity: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("flavour", &self.flavour)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What a row write found.
pub(crate) enum RowWritten<T> {
    /// Written and committed.
    Done(T),
    /// The row is not what was read any more (or a row with the same identity appeared):
    /// nothing was written.
    Conflict,
    /// The row was deleted: nothing was written.
    Gone,
}

/// Why a row write failed; nothing of it remains in the database.
pub(crate) enum RowFailure {
    /// The database refused the row before anything else was done.
    Row(Error),
    /// What ran with the row locked failed.
    During(vaultref_core::Error),
    /// The commit failed after what ran with the row locked succeeded.
    Commit(Error, VaultWrites),
}

/// A row write: the new text of a row read before, or a new row.
pub(crate) enum RowChange<'a> {
    Update {
        row: &'a StoredEntity,
        text: &'a str,
    },
    Insert {
        entity_type: EntityType,
        id: &'a str,
        key: &'a EntityKey,
        text: &'a str,
    },
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
        let identity = database_identity(url);
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
            identity,
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

    /// The database's identity ([`database_identity`]): the deployment a
    /// [`SecretsManager`](vaultref_core::SecretsManager) writing for this store names in its
    /// ownership tag.
    #[must_use]
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Creates the entity tables (sqlx migrations for the flavour; applied ones are skipped),
    /// then fits vaultref's own tables to the identities OpenMetadata's have: names compared
    /// exactly on MySQL/MariaDB, ingestion pipelines unique by fully qualified name. Tables
    /// OpenMetadata created (their `name` is generated from the document) are left alone.
    ///
    /// # Errors
    /// [`Error::Migrate`], [`Error::Query`].
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.flavour {
            Flavour::Postgres => sqlx::migrate!("migrations/postgres"),
            Flavour::MySql => sqlx::migrate!("migrations/mysql"),
            Flavour::Sqlite => sqlx::migrate!("migrations/sqlite"),
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|source| Error::Migrate { source })?;
        crate::layout::fit_standalone_tables(&self.pool, self.flavour).await
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The entity of `entity_type` whose name is exactly `name` (for ingestion pipelines,
    /// which may share a name, the first by id: use [`find`](Self::find)).
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::InvalidDocument`].
    pub async fn get(&self, entity_type: EntityType, name: &str) -> Result<Option<StoredEntity>> {
        Ok(self
            .named(entity_type, name)
            .await?
            .into_iter()
            .find(|row| row.name == name))
    }

    /// The entity with identity `key` (its name, or an ingestion pipeline's fully qualified
    /// name), compared exactly.
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::InvalidDocument`].
    pub async fn find(&self, key: &EntityKey) -> Result<Option<StoredEntity>> {
        Ok(self
            .named(key.entity_type(), key.name())
            .await?
            .into_iter()
            .find(|row| row.name == key.name() && row.key().as_ref() == Some(key)))
    }

    /// The rows whose name the database's collation takes for `name` (a superset of the exact
    /// matches on MySQL/MariaDB), in id order.
    async fn named(&self, entity_type: EntityType, name: &str) -> Result<Vec<StoredEntity>> {
        let sql = format!(
            "{} WHERE name = {} ORDER BY id",
            self.select(entity_type),
            self.param(1)
        );
        let rows = sqlx::query(&sql)
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(|source| query_error("read an entity", entity_type, source))?;
        rows.iter().map(|row| decode(entity_type, row).1).collect()
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
        row.map(|row| decode(entity_type, &row).1).transpose()
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
    /// [`Error::Query`], and [`Error::InvalidDocument`] for the first row whose document does
    /// not parse ([`stream`](Self::stream) reports such rows one by one instead).
    pub async fn list_page(
        &self,
        entity_type: EntityType,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEntity>> {
        self.page(entity_type, after.unwrap_or_default(), limit)
            .await?
            .into_iter()
            .map(|(_, row)| row)
            .collect()
    }

    /// Each row of a page with its id, decoded one by one.
    async fn page(
        &self,
        entity_type: EntityType,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, Result<StoredEntity>)>> {
        let sql = format!(
            "{} WHERE id > {} ORDER BY id LIMIT {}",
            self.select(entity_type),
            self.param(1),
            limit.max(1)
        );
        let rows = sqlx::query(&sql)
            .bind(after)
            .fetch_all(&self.pool)
            .await
            .map_err(|source| query_error("list entities", entity_type, source))?;
        Ok(rows.iter().map(|row| decode(entity_type, row)).collect())
    }

    /// Every row of the table of `entity_type`, read `page_size` rows at a time (keyset paging
    /// by id, so memory stays bounded on large tables). A row whose document does not parse is
    /// an [`Error::InvalidDocument`] item and the stream goes on; a failed query ends it.
    pub fn stream(
        &self,
        entity_type: EntityType,
        page_size: u32,
    ) -> impl Stream<Item = Result<StoredEntity>> + Send + '_ {
        stream::try_unfold(Some(String::new()), move |after| async move {
            let Some(after) = after else {
                return Ok::<_, Error>(None);
            };
            let page = self.page(entity_type, &after, page_size).await?;
            let next = if page.len() < page_size.max(1) as usize {
                None
            } else {
                page.last().map(|(id, _)| id.clone())
            };
            Ok(Some((page, next)))
        })
        // Each row is its own item: an undecodable one does not end the stream.
        .map_ok(|page| stream::iter(page.into_iter().map(|(_, row)| row)))
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

    /// Inserts `entity`, or replaces the row with the same identity (its exact name; an
    /// ingestion pipeline's fully qualified name), keeping that row's id; a row written by
    /// someone else meanwhile is read again, never overwritten blindly. An entity without an
    /// `id` gets the existing row's id or a new random UUID, written into the document as
    /// OpenMetadata does. No secret is touched: this is for documents already in their
    /// database form ([`import_entity`](crate::import_entity) applies the store path). Returns
    /// the row as stored.
    ///
    /// # Errors
    /// [`Error::NotAnObject`], [`Error::MissingName`], [`Error::InvalidId`], [`Error::Query`],
    /// [`Error::Conflict`].
    pub async fn upsert(
        &self,
        entity_type: EntityType,
        entity: Value,
    ) -> Result<(StoredEntity, Upserted)> {
        let document = Document::from_value(entity);
        for _ in 0..crate::write::MAX_ATTEMPTS {
            let target = self.target(entity_type, &document).await?;
            let written = match &target.existing {
                Some(row) => {
                    self.update_if_unchanged(row, target.document.text())
                        .await?
                }
                None => {
                    self.insert(entity_type, &target.id, &target.key, target.document.text())
                        .await?
                }
            };
            if written {
                let row = self
                    .get_by_id(entity_type, &target.id)
                    .await?
                    .ok_or_else(|| Error::RowGone {
                        table: table_name(entity_type),
                        id: target.id.clone(),
                    })?;
                let how = if target.existing.is_some() {
                    Upserted::Updated
                } else {
                    Upserted::Inserted
                };
                return Ok((row, how));
            }
        }
        Err(Error::Conflict {
            table: table_name(entity_type),
            name: EntityKey::of(entity_type, document.value())
                .map(|key| key.fqn())
                .unwrap_or_default(),
            attempts: crate::write::MAX_ATTEMPTS,
        })
    }

    /// Where `document` goes: the row with its identity (if any), the id it keeps or gets, and
    /// the document with that id.
    pub(crate) async fn target(
        &self,
        entity_type: EntityType,
        document: &Document,
    ) -> Result<Target> {
        let Some(object) = document.value().as_object() else {
            return Err(Error::NotAnObject {
                entity_type: entity_type.to_string(),
            });
        };
        let key =
            EntityKey::of(entity_type, document.value()).ok_or_else(|| Error::MissingName {
                entity_type: entity_type.to_string(),
            })?;
        let existing = self.find(&key).await?;
        let id = match (&existing, object.get("id")) {
            (Some(row), _) => row.id.clone(),
            (None, Some(Value::String(id))) if !id.is_empty() && id.len() <= MAX_ID_LEN => {
                id.clone()
            }
            (None, None) => new_id()?,
            (None, Some(_)) => {
                return Err(Error::InvalidId {
                    entity_type: entity_type.to_string(),
                    name: key.fqn(),
                });
            }
        };
        let document = if object.get("id").and_then(Value::as_str) == Some(id.as_str()) {
            document.clone()
        } else {
            document.with_member("id", Value::String(id.clone()))?
        };
        Ok(Target {
            existing,
            id,
            key,
            document,
        })
    }

    /// Sets the row's `json` to `text` if it still holds the text read; `false` when it does
    /// not (changed, or deleted).
    async fn update_if_unchanged(&self, row: &StoredEntity, text: &str) -> Result<bool> {
        let sql = self.cas_sql(row.entity_type);
        let done = sqlx::query(&sql)
            .bind(text)
            .bind(row.id.as_str())
            .bind(row.text.as_str())
            .execute(&self.pool)
            .await
            .map_err(|source| query_error("update an entity", row.entity_type, source))?;
        Ok(done.rows_affected() > 0)
    }

    /// Inserts a row; `false` when a row with its id or identity exists already.
    async fn insert(
        &self,
        entity_type: EntityType,
        id: &str,
        key: &EntityKey,
        text: &str,
    ) -> Result<bool> {
        let sql = self.insert_sql(entity_type);
        match bind_insert(sqlx::query(&sql), entity_type, id, key, text)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(source) => Err(query_error("insert an entity", entity_type, source)),
        }
    }

    /// Writes `change` and, with the row locked, runs `during` (the vault writes); commits only
    /// when both succeeded. The row is compared with the text it was read with: a row changed
    /// or inserted by someone else is a [`RowWritten::Conflict`] and `during` does not run.
    pub(crate) async fn write_row<F, Fut>(
        &self,
        change: RowChange<'_>,
        during: F,
    ) -> std::result::Result<RowWritten<VaultWrites>, RowFailure>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = vaultref_core::Result<VaultWrites>>,
    {
        let entity_type = match &change {
            RowChange::Update { row, .. } => row.entity_type,
            RowChange::Insert { entity_type, .. } => *entity_type,
        };
        let failed = |action, source| RowFailure::Row(query_error(action, entity_type, source));
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|source| failed("start a transaction", source))?;
        match &change {
            RowChange::Update { row, text } => {
                let sql = self.cas_sql(entity_type);
                let done = sqlx::query(&sql)
                    .bind(*text)
                    .bind(row.id.as_str())
                    .bind(row.text.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| failed("update an entity", source))?;
                if done.rows_affected() == 0 {
                    drop(tx);
                    let exists = self
                        .get_by_id(entity_type, &row.id)
                        .await
                        .map_err(RowFailure::Row)?
                        .is_some();
                    return Ok(if exists {
                        RowWritten::Conflict
                    } else {
                        RowWritten::Gone
                    });
                }
            }
            RowChange::Insert { id, key, text, .. } => {
                let sql = self.insert_sql(entity_type);
                match bind_insert(sqlx::query(&sql), entity_type, id, key, text)
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Ok(RowWritten::Conflict),
                    Err(source) => return Err(failed("insert an entity", source)),
                }
            }
        }
        let writes = match during().await {
            Ok(writes) => writes,
            // Dropping the transaction rolls the row back.
            Err(e) => return Err(RowFailure::During(e)),
        };
        match tx.commit().await {
            Ok(()) => Ok(RowWritten::Done(writes)),
            Err(source) => Err(RowFailure::Commit(
                query_error("commit an entity", entity_type, source),
                writes,
            )),
        }
    }

    /// `UPDATE` of a row's `json`, if it still holds the text read: binds the new text, the
    /// id, the old text.
    fn cas_sql(&self, entity_type: EntityType) -> String {
        // Compared as text: PostgreSQL's `json` type (OpenMetadata's ingestion_pipeline_entity)
        // has no equality operator, documents need not carry a version, and any change by
        // another writer (OpenMetadata's server among them) shows in the text.
        format!(
            "UPDATE {} SET json = {} WHERE id = {} AND {} = {}",
            table_name(entity_type),
            self.json_param(1),
            self.param(2),
            self.json_text(),
            self.param(3)
        )
    }

    /// `INSERT` of a row: binds id, name, text (and an ingestion pipeline's fqnHash).
    fn insert_sql(&self, entity_type: EntityType) -> String {
        let table = table_name(entity_type);
        if entity_type == EntityType::IngestionPipeline {
            format!(
                "INSERT INTO {table} (id, name, json, fqnhash) VALUES ({}, {}, {}, {})",
                self.param(1),
                self.param(2),
                self.json_param(3),
                self.param(4)
            )
        } else {
            format!(
                "INSERT INTO {table} (id, name, json) VALUES ({}, {}, {})",
                self.param(1),
                self.param(2),
                self.json_param(3)
            )
        }
    }

    fn select(&self, entity_type: EntityType) -> String {
        format!(
            "SELECT id, name, {} FROM {}",
            self.json_text(),
            table_name(entity_type)
        )
    }

    /// The `json` column as text, compared byte for byte.
    fn json_text(&self) -> &'static str {
        match self.flavour {
            Flavour::Postgres => "json::text",
            Flavour::MySql => "CAST(json AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin",
            Flavour::Sqlite => "json",
        }
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

/// Where [`Store::target`] puts a document.
pub(crate) struct Target {
    /// The row with the document's identity.
    pub(crate) existing: Option<StoredEntity>,
    /// The id the row keeps or gets.
    pub(crate) id: String,
    pub(crate) key: EntityKey,
    /// The document, with that id.
    pub(crate) document: Document,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the values of [`Store::insert_sql`].
fn bind_insert<'q>(
    query: AnyQuery<'q>,
    entity_type: EntityType,
    id: &'q str,
    key: &EntityKey,
    text: &'q str,
) -> AnyQuery<'q> {
    let query = query.bind(id).bind(key.name().to_owned()).bind(text);
    if entity_type == EntityType::IngestionPipeline {
        query.bind(fqn_hash(key))
    } else {
        query
    }
}

/// OpenMetadata's `fqnHash`: the MD5 of each part of the fully qualified name, in hex, joined
/// with `.` (`FullyQualifiedName.buildHash`, spec §8).
pub(crate) fn fqn_hash(key: &EntityKey) -> String {
    key.parts()
        .iter()
        .map(|part| {
            // A part holding a `.` is hashed with its quotes, as OpenMetadata writes it.
            let part = if part.contains('.') {
                format!("\"{part}\"")
            } else {
                part.clone()
            };
            md5::Md5::digest(part.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

fn query_error(action: &'static str, entity_type: EntityType, source: sqlx::Error) -> Error {
    Error::Query {
        action,
        table: table_name(entity_type),
        source,
    }
}

/// A row's id, and the row (or why its document cannot be read).
fn decode(entity_type: EntityType, row: &AnyRow) -> (String, Result<StoredEntity>) {
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
    let id = match column(0) {
        Ok(id) => id,
        Err(e) => return (String::new(), Err(e)),
    };
    let row = (|| {
        let name = column(1)?;
        let text = column(2)?;
        let invalid = |problem: String| Error::InvalidDocument {
            table,
            id: id.clone(),
            problem,
        };
        // Line and column only: the parser's messages never quote the input.
        let document = Document::parse(text).map_err(|e| match e {
            vaultref_core::Error::InvalidJson { problem } => invalid(problem),
            other => invalid(other.to_string()),
        })?;
        if !document.value().is_object() {
            return Err(invalid("it is not an object".to_owned()));
        }
        let entity = document.value().clone();
        Ok(StoredEntity {
            entity_type,
            id: id.clone(),
            name,
            entity,
            text: document.into_text(),
        })
    })();
    (id, row)
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
    fn fqn_hashes_are_openmetadatas() {
        // FullyQualifiedName.buildHash: MD5 per part, a dotted part hashed with its quotes.
        let key = EntityKey::of(
            EntityType::IngestionPipeline,
            &serde_json::json!({"name": "dbt", "service": {"fullyQualifiedName": "\"team.sales\""}}),
        )
        .unwrap();
        assert_eq!(
            fqn_hash(&key),
            format!(
                "{:x}.{:x}",
                md5::Md5::digest(b"\"team.sales\""),
                md5::Md5::digest(b"dbt")
            )
        );
    }

    #[test]
    fn new_ids_are_version_4_uuids() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_id().unwrap());
    }
}
