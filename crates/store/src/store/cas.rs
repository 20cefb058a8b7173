//! Writing rows: compare-and-set updates against the text read, inserts that find a row with
//! the same identity, and the transaction that holds a row while the vault is written.

use std::future::Future;

use serde_json::Value;
use vaultref_core::{Document, EntityKey, EntityType, VaultWrites};

use super::{
    MAX_ATTEMPTS, MAX_ID_LEN, Store, StoredEntity, Upserted, conflict, new_id, query_error,
    table_name,
};
use crate::error::{Error, Result};
use crate::layout::{Table, hash_parts, name_hash};

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
    /// Inserts `entity`, or replaces the row with the same identity (its exact name; an
    /// ingestion pipeline's fully qualified name), keeping that row's id; a row written by
    /// someone else meanwhile is read again, never overwritten blindly. An entity without an
    /// `id` gets the existing row's id or a new random UUID, written into the document as
    /// OpenMetadata does. No secret is touched: this is for documents already in their
    /// database form ([`import_entity`](crate::import_entity) applies the store path). Returns
    /// the row as stored.
    ///
    /// On OpenMetadata's tables a new row gets what their generated columns need where the
    /// document lacks it (`fullyQualifiedName`, `updatedAt` from the store's clock,
    /// `updatedBy: "vaultref"`, `deleted: false`, `version: 0.1`); a replaced row takes the
    /// whole document given (`import_entity` instead changes only secret fields). Names with a
    /// `"` are refused there ([`Error::UnsupportedName`]).
    ///
    /// # Errors
    /// [`Error::NotAnObject`], [`Error::MissingName`], [`Error::InvalidId`], [`Error::Query`],
    /// [`Error::Conflict`], [`Error::MissingTable`], [`Error::UnsupportedName`],
    /// [`Error::Duplicate`].
    pub async fn upsert(
        &self,
        entity_type: EntityType,
        entity: Value,
    ) -> Result<(StoredEntity, Upserted)> {
        let document = Document::from_value(entity);
        for _ in 0..MAX_ATTEMPTS {
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
        Err(conflict(entity_type, document.value(), ""))
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
        let table = self
            .table(entity_type)
            .await?
            .ok_or_else(|| Error::MissingTable {
                table: table_name(entity_type),
                layout: String::new(),
            });
        let table = match table {
            Ok(table) => table,
            Err(Error::MissingTable { table, .. }) => {
                return Err(Error::MissingTable {
                    table,
                    layout: self.layout().await?.to_string(),
                });
            }
            Err(e) => return Err(e),
        };
        if table.openmetadata && name_hash(&key).is_err() {
            return Err(Error::UnsupportedName {
                entity_type: entity_type.to_string(),
                name: key.fqn(),
            });
        }
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
        let mut document = if object.get("id").and_then(Value::as_str) == Some(id.as_str()) {
            document.clone()
        } else {
            document.with_member("id", Value::String(id.clone()))?
        };
        if table.openmetadata && existing.is_none() {
            document = self.with_required_members(document, &key)?;
        }
        Ok(Target {
            existing,
            id,
            key,
            table,
            document,
        })
    }

    /// A new row of OpenMetadata's tables: the members its generated `NOT NULL` columns and
    /// its readers need, where the document lacks them (what is given is kept): the fully
    /// qualified name, `updatedAt` (now, in milliseconds), `updatedBy`, `deleted` (false: on
    /// PostgreSQL `user_entity.isbot` is generated from it and may not be null) and `version`
    /// (OpenMetadata's first, 0.1), and a user's `isBot` (false, the schema's default; MySQL's
    /// `user_entity.isBot` may not be null). `serviceType` and a user's `email` are the
    /// entity's own: the database refuses a row without them.
    fn with_required_members(&self, mut document: Document, key: &EntityKey) -> Result<Document> {
        let mut members = vec![
            ("fullyQualifiedName", Value::String(key.fqn())),
            ("updatedAt", Value::from(self.now_millis())),
            ("updatedBy", Value::String("vaultref".to_owned())),
            ("deleted", Value::Bool(false)),
            ("version", Value::from(0.1)),
        ];
        if key.entity_type() == EntityType::User {
            members.push(("isBot", Value::Bool(false)));
        }
        for (member, value) in members {
            if document.value().get(member).is_none() {
                document = document.with_member(member, value)?;
            }
        }
        Ok(document)
    }

    /// Sets the row's `json` to `text` if it still holds the text read; `false` when it does
    /// not (changed, or deleted).
    async fn update_if_unchanged(&self, row: &StoredEntity, text: &str) -> Result<bool> {
        let sql = self.cas_sql(row.entity_type, self.table(row.entity_type).await?);
        let done = sqlx::query(&sql)
            .bind(text)
            .bind(row.id.as_str())
            .bind(row.text.as_str())
            .execute(&self.pool)
            .await
            .map_err(|source| query_error("update an entity", row.entity_type, source))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes `row` if it still holds the text read; `false` when it does not (changed, or
    /// deleted already).
    pub(crate) async fn delete_if_unchanged(&self, row: &StoredEntity) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE id = {} AND {} = {}",
            table_name(row.entity_type),
            self.param(1),
            self.json_text(),
            self.param(2)
        );
        let done = sqlx::query(&sql)
            .bind(row.id.as_str())
            .bind(row.text.as_str())
            .execute(&self.pool)
            .await
            .map_err(|source| query_error("delete an entity", row.entity_type, source))?;
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
        let table = self.table(entity_type).await?;
        let sql = self.insert_sql(entity_type, table);
        match bind_insert(sqlx::query(&sql), table, id, key, text)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => self.taken(key).await.map(|()| false),
            Err(source) => Err(query_error("insert an entity", entity_type, source)),
        }
    }

    /// After an insert broke a unique key: fine (a conflict, planned again) when a row with
    /// `key`'s identity appeared; an error when none did, since another unique value of the
    /// entity is taken (on OpenMetadata's tables: a user's email, or a security service's name
    /// as MySQL compares it, without case or accents), and trying again cannot help.
    async fn taken(&self, key: &EntityKey) -> Result<()> {
        if self.find(key).await?.is_some() {
            return Ok(());
        }
        Err(Error::Duplicate {
            table: table_name(key.entity_type()),
            name: key.fqn(),
        })
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
        let table = self.table(entity_type).await.map_err(RowFailure::Row)?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|source| failed("start a transaction", source))?;
        match &change {
            RowChange::Update { row, text } => {
                let sql = self.cas_sql(entity_type, table);
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
                let sql = self.insert_sql(entity_type, table);
                match bind_insert(sqlx::query(&sql), table, id, key, text)
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        drop(tx);
                        self.taken(key).await.map_err(RowFailure::Row)?;
                        return Ok(RowWritten::Conflict);
                    }
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
    fn cas_sql(&self, entity_type: EntityType, table: Option<Table>) -> String {
        // Compared as text: PostgreSQL's `json` type (OpenMetadata's ingestion_pipeline_entity)
        // has no equality operator, documents need not carry a version, and any change by
        // another writer (OpenMetadata's server among them) shows in the text.
        format!(
            "UPDATE {} SET json = {} WHERE id = {} AND {} = {}",
            table_name(entity_type),
            self.json_param(1, table),
            self.param(2),
            self.json_text(),
            self.param(3)
        )
    }

    /// `INSERT` of a row. OpenMetadata's tables: the name hash and the text, the only columns
    /// a writer may set (OpenMetadata's own `EntityDAO.insert` writes just these two; the
    /// rest is generated). vaultref's own: id, name, text (and an ingestion pipeline's
    /// fqnHash).
    fn insert_sql(&self, entity_type: EntityType, table: Option<Table>) -> String {
        let name = table_name(entity_type);
        match table {
            Some(Table {
                openmetadata: true,
                hash: Some(hash),
                ..
            }) => format!(
                "INSERT INTO {name} ({}, json) VALUES ({}, {})",
                hash.column(),
                self.param(1),
                self.json_param(2, table)
            ),
            _ if entity_type == EntityType::IngestionPipeline => format!(
                "INSERT INTO {name} (id, name, json, fqnhash) VALUES ({}, {}, {}, {})",
                self.param(1),
                self.param(2),
                self.json_param(3, table),
                self.param(4)
            ),
            _ => format!(
                "INSERT INTO {name} (id, name, json) VALUES ({}, {}, {})",
                self.param(1),
                self.param(2),
                self.json_param(3, table)
            ),
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
    /// The table's layout.
    pub(crate) table: Table,
    /// The document, with that id (and, for a new row of OpenMetadata's tables, the members
    /// it needs).
    pub(crate) document: Document,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the values of [`Store::insert_sql`].
fn bind_insert<'q>(
    query: AnyQuery<'q>,
    table: Option<Table>,
    id: &'q str,
    key: &EntityKey,
    text: &'q str,
) -> AnyQuery<'q> {
    match table {
        Some(Table {
            openmetadata: true,
            hash: Some(_),
            ..
        }) => query.bind(hash_parts(key)).bind(text),
        _ if key.entity_type() == EntityType::IngestionPipeline => query
            .bind(id)
            .bind(key.name().to_owned())
            .bind(text)
            .bind(hash_parts(key)),
        _ => query.bind(id).bind(key.name().to_owned()).bind(text),
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation))
}
