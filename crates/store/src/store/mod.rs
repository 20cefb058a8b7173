//! The SQL entity store: OpenMetadata's tables, one per entity type, over one sqlx `Any` pool.
//! Connecting and reading are here; a row as read is in `row`, writing rows in `cas`.

mod barrier;
mod cas;
mod row;
mod versions;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use secrecy::ExposeSecret;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection};
use vaultref_core::{Clock, Config, DatabaseConfig, Document, EntityKey, EntityType, SystemClock};

pub(crate) use self::barrier::Barrier;
pub(crate) use self::cas::{RowChange, RowFailure, RowWritten};
pub use self::row::{StoredEntity, Upserted};
pub use self::versions::EntityVersion;
use crate::error::{Error, Result};
use crate::layout::{Layout, Table, name_hash};
pub(crate) use crate::tables::VERSIONS_TABLE;
pub use crate::tables::{entity_types_with_tables, table_name};
use crate::url::{Flavour, database_identity, database_url, redact_url};

/// How many rows a page of [`Store::stream`] reads when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// How many times [`Store::stream`] lists a table again for rows inserted while it ran.
const CATCH_UP_LISTINGS: usize = 10;

/// Where [`Store::stream`] is: the ids listed, how far it got, every id listed so far.
#[derive(Default)]
struct Listing {
    ids: Vec<String>,
    at: usize,
    seen: std::collections::HashSet<String>,
    listings: usize,
}

/// How many times an entity is read and planned again when other writers keep changing it.
pub(crate) const MAX_ATTEMPTS: usize = 5;

/// [`Error::Conflict`] for `entity`, a row of `entity_type` that other writers kept changing
/// for [`MAX_ATTEMPTS`] attempts (named by its identity when it has one, else `fallback`).
pub(crate) fn conflict(
    entity_type: EntityType,
    entity: &serde_json::Value,
    fallback: &str,
) -> Error {
    Error::Conflict {
        table: table_name(entity_type),
        name: EntityKey::of(entity_type, entity)
            .map_or_else(|| fallback.to_owned(), |key| key.fqn()),
        attempts: MAX_ATTEMPTS,
    }
}

/// The longest entity id the tables hold (a UUID).
const MAX_ID_LEN: usize = 36;

/// The SQL entity store on PostgreSQL, MySQL/MariaDB or SQLite.
///
/// Reads select `id`, `name` and `json` (as text); updates set `json` alone (by id, compared
/// with the text read), so that they also work on an OpenMetadata database, whose `id` and
/// `name` columns are generated from the document. Inserts set `id`, `name` and `json` on the
/// store's own tables ([`Store::migrate`]), and only `json` and the name hash on
/// OpenMetadata's ([`Store::layout`]). Names are compared exactly, whatever the collation
/// (MariaDB's default one would take `cafe` for `café`): on OpenMetadata's tables through
/// their `nameHash` / `fqnHash`.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    flavour: Flavour,
    /// Redacted, for messages.
    url: String,
    /// The database's identity, for vaultref's ownership tag.
    identity: String,
    /// The layout, read once (and again after [`Store::migrate`]).
    layout: Arc<Mutex<Option<Arc<Layout>>>>,
    /// The time written into new rows of OpenMetadata's tables (`updatedAt`).
    clock: Arc<dyn Clock>,
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
            layout: Arc::default(),
            clock: Arc::new(SystemClock),
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

    /// This store, writing `clock`'s time into the `updatedAt` of rows it inserts into
    /// OpenMetadata's tables (the system clock by default).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whose tables the database holds (OpenMetadata's, by release when it records one;
    /// vaultref's own; none), and which of vaultref's tables it lacks. Read from the
    /// database's catalog once.
    ///
    /// # Errors
    /// [`Error::Query`] when the catalog cannot be read.
    pub async fn layout(&self) -> Result<Arc<Layout>> {
        if let Some(layout) = self.cached_layout() {
            return Ok(layout);
        }
        let layout = Arc::new(crate::layout::detect(&self.pool, self.flavour).await?);
        *self.layout.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&layout));
        Ok(layout)
    }

    fn cached_layout(&self) -> Option<Arc<Layout>> {
        self.layout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The layout of the table of `entity_type`, `None` when the database has no such table.
    pub(crate) async fn table(&self, entity_type: EntityType) -> Result<Option<Table>> {
        Ok(self.layout().await?.table(entity_type))
    }

    pub(crate) fn now_millis(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
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
    /// exactly on MySQL/MariaDB, ingestion pipelines unique by fully qualified name. On
    /// OpenMetadata's layout ([`layout`](Self::layout)) nothing is done: its tables are
    /// OpenMetadata's to create, and a table its release lacks stays missing.
    ///
    /// # Errors
    /// [`Error::Migrate`], [`Error::Query`].
    pub async fn migrate(&self) -> Result<()> {
        if self.layout().await?.is_openmetadata() {
            tracing::info!(layout = %self.layout().await?, "OpenMetadata's tables: no migration");
            return Ok(());
        }
        *self.layout.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let migrator = match self.flavour {
            Flavour::Postgres => sqlx::migrate!("migrations/postgres"),
            Flavour::MySql => sqlx::migrate!("migrations/mysql"),
            Flavour::Sqlite => sqlx::migrate!("migrations/sqlite"),
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|source| Error::Migrate { source })?;
        crate::layout::fit_standalone_tables(&self.pool, self.flavour).await?;
        *self.layout.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
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
        if entity_type != EntityType::IngestionPipeline {
            let key = EntityKey::of(entity_type, &serde_json::json!({ "name": name }));
            if let Some(key) = key {
                return self.find(&key).await;
            }
        }
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
        let entity_type = key.entity_type();
        let Some(table) = self.table(entity_type).await? else {
            return Ok(None);
        };
        if let (true, Some(hash)) = (table.openmetadata, table.hash) {
            // OpenMetadata's identity: the hash column, exact and indexed.
            let Ok(value) = name_hash(key) else {
                return Ok(None);
            };
            let sql = format!(
                "{} WHERE {} = {} ORDER BY id",
                self.select(entity_type),
                hash.column(),
                self.param(1)
            );
            let rows = sqlx::query(&sql)
                .bind(value)
                .fetch_all(&self.pool)
                .await
                .map_err(|source| query_error("read an entity", entity_type, source))?;
            // The hash is OpenMetadata's identity of the row: it decides, not the document.
            return rows
                .first()
                .map(|row| decode(entity_type, row).1)
                .transpose();
        }
        Ok(self
            .named(key.entity_type(), key.name())
            .await?
            .into_iter()
            .find(|row| row.name == key.name() && row.key().as_ref() == Some(key)))
    }

    /// The rows whose name the database's collation takes for `name` (a superset of the exact
    /// matches on MySQL/MariaDB), in id order.
    async fn named(&self, entity_type: EntityType, name: &str) -> Result<Vec<StoredEntity>> {
        if self.table(entity_type).await?.is_none() {
            return Ok(Vec::new());
        }
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
        if self.table(entity_type).await?.is_none() {
            return Ok(None);
        }
        let sql = format!("{} WHERE id = {}", self.select(entity_type), self.param(1));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|source| query_error("read an entity", entity_type, source))?;
        row.map(|row| decode(entity_type, &row).1).transpose()
    }

    /// How many rows the table of `entity_type` has (none when the database has no such
    /// table: see [`Layout::missing_tables`]).
    ///
    /// # Errors
    /// [`Error::Query`].
    pub async fn count(&self, entity_type: EntityType) -> Result<u64> {
        if self.table(entity_type).await?.is_none() {
            return Ok(0);
        }
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
        if self.table(entity_type).await?.is_none() {
            return Ok(Vec::new());
        }
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

    /// Every row of the table of `entity_type`, by name then id (the order reports and
    /// progress lines show), read `page_size` rows at a time. A row whose document does not
    /// parse is an [`Error::InvalidDocument`] item and the stream goes on; a failed query ends
    /// it.
    ///
    /// The ids are listed first (ordered by name, then id, byte for byte whatever the
    /// database's collation) and the rows fetched by id, page by page: a row renamed by
    /// another writer meanwhile (OpenMetadata's server) is still read, under its new name,
    /// where paging by name could pass it over without a word. When the list is done the ids
    /// are listed again and rows inserted meanwhile follow, until a listing finds none (at
    /// most ten times, so that a writer inserting without end cannot keep a
    /// run going). A row deleted meanwhile is not an item.
    pub fn stream(
        &self,
        entity_type: EntityType,
        page_size: u32,
    ) -> impl Stream<Item = Result<StoredEntity>> + Send + '_ {
        // At most 1,000 ids bound to one query: every engine takes that many parameters.
        let page_size = page_size.clamp(1, 1_000) as usize;
        stream::try_unfold(Listing::default(), move |mut listing| async move {
            loop {
                if listing.at < listing.ids.len() {
                    let end = (listing.at + page_size).min(listing.ids.len());
                    let page = self
                        .rows_by_id(entity_type, &listing.ids[listing.at..end])
                        .await?;
                    listing.at = end;
                    return Ok::<_, Error>(Some((page, listing)));
                }
                if listing.listings > CATCH_UP_LISTINGS {
                    return Ok(None);
                }
                let ids: Vec<String> = self
                    .ids_by_name(entity_type)
                    .await?
                    .into_iter()
                    .filter(|id| !listing.seen.contains(id))
                    .collect();
                if ids.is_empty() {
                    return Ok(None);
                }
                listing.seen.extend(ids.iter().cloned());
                listing.listings += 1;
                listing.ids = ids;
                listing.at = 0;
            }
        })
        // Each row is its own item: an undecodable one does not end the stream.
        .map_ok(|page| stream::iter(page.into_iter().map(|(_, row)| row)))
        .try_flatten()
        .boxed()
    }

    /// Every id of the table of `entity_type`, by name then id (names compared as bytes; a
    /// name that cannot be read sorts first, so that its row is still read and reported).
    async fn ids_by_name(&self, entity_type: EntityType) -> Result<Vec<String>> {
        if self.table(entity_type).await?.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id, name FROM {}", table_name(entity_type));
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|source| query_error("list entities", entity_type, source))?;
        let mut keyed = rows
            .iter()
            .map(|row| {
                let id = column_text(entity_type, row, 0)?;
                let name = column_text(entity_type, row, 1).unwrap_or_default();
                Ok((name, id))
            })
            .collect::<Result<Vec<_>>>()?;
        keyed.sort_unstable();
        Ok(keyed.into_iter().map(|(_, id)| id).collect())
    }

    /// The rows with `ids`, in that order, each decoded on its own; ids no row has any more
    /// (deleted meanwhile) are left out.
    async fn rows_by_id(
        &self,
        entity_type: EntityType,
        ids: &[String],
    ) -> Result<Vec<(String, Result<StoredEntity>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (1..=ids.len()).map(|n| self.param(n)).collect();
        let sql = format!(
            "{} WHERE id IN ({})",
            self.select(entity_type),
            params.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.as_str());
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|source| query_error("list entities", entity_type, source))?;
        let mut decoded: std::collections::HashMap<String, Result<StoredEntity>> =
            rows.iter().map(|row| decode(entity_type, row)).collect();
        let mut page: Vec<_> = ids
            .iter()
            .filter_map(|id| decoded.remove(id).map(|row| (id.clone(), row)))
            .collect();
        // A row whose id itself could not be read still gets its item.
        page.extend(decoded);
        Ok(page)
    }

    /// Every row of the table of `entity_type`, in the order of [`stream`](Self::stream).
    ///
    /// # Errors
    /// As [`list_page`](Self::list_page).
    pub async fn list(&self, entity_type: EntityType) -> Result<Vec<StoredEntity>> {
        self.stream(entity_type, DEFAULT_PAGE_SIZE)
            .try_collect()
            .await
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

    /// A bound document for the `json` column of `table`: PostgreSQL's `json` type (kept as
    /// written) or `jsonb`.
    fn json_param(&self, n: usize, table: Option<Table>) -> String {
        match self.flavour {
            Flavour::Postgres if table.is_some_and(|t| t.plain_json) => {
                format!("CAST(${n} AS json)")
            }
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

/// A row's id, and the row (or why its document cannot be read).
/// A text column of a row of `entity_type`'s table.
fn column_text(entity_type: EntityType, row: &AnyRow, index: usize) -> Result<String> {
    text_column(table_name(entity_type), row, index)
}

/// A text column of a row of `table`.
pub(super) fn text_column(table: &'static str, row: &AnyRow, index: usize) -> Result<String> {
    // MySQL may type a text result as a BLOB through the `Any` driver: take bytes then.
    row.try_get::<String, _>(index).or_else(|_| {
        row.try_get::<Vec<u8>, _>(index)
            .map_err(|source| Error::Query {
                action: "read a column",
                table,
                source,
            })
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| Error::InvalidDocument {
                    table,
                    id: String::new(),
                    problem: format!("column {index} is not UTF-8 text"),
                })
            })
    })
}

fn decode(entity_type: EntityType, row: &AnyRow) -> (String, Result<StoredEntity>) {
    let table = table_name(entity_type);
    let column = |index: usize| column_text(entity_type, row, index);
    let id = match column(0) {
        Ok(id) => id,
        Err(e) => return (String::new(), Err(e)),
    };
    let row = (|| {
        let name = column(1)?;
        let document = parse_document(table, &id, column(2)?)?;
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

/// A row's `json` column as a document, which must be a JSON object. Errors name the table,
/// the row and the parser's position, never the content.
pub(super) fn parse_document(table: &'static str, id: &str, text: String) -> Result<Document> {
    let invalid = |problem: String| Error::InvalidDocument {
        table,
        id: id.to_owned(),
        problem,
    };
    let document = Document::parse(text).map_err(|e| match e {
        vaultref_core::Error::InvalidJson { problem } => invalid(problem),
        other => invalid(other.to_string()),
    })?;
    if !document.value().is_object() {
        return Err(invalid("it is not an object".to_owned()));
    }
    Ok(document)
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
