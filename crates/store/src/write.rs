//! Writing one entity without losing anyone's data.
//!
//! Every write follows the same steps: plan (no I/O); write the row, compared with the text it
//! was read with, in a transaction; with the row locked, write the vault; commit. The database
//! refuses a row (a value PostgreSQL cannot store, a row someone changed) before the vault is
//! touched; a vault failure rolls the row back and puts back the secrets already written; a
//! failed commit puts them back too. A row another writer changed is read again and planned
//! again, at most [`MAX_ATTEMPTS`] times. Secrets a new row no longer references are released
//! only afterwards, once every row has been looked at again ([`release_secrets`]).

use futures::StreamExt as _;
use serde_json::Value;
use vaultref_core::{
    Document, EntityKey, EntityType, FieldRef, PathStep, References, Release, ReleaseOutcome,
    SecretName, SecretsManager, StorePlan, VaultWrites, migration_order,
};

use crate::error::{Error, Result};
use crate::store::{
    Barrier, MAX_ATTEMPTS, RowChange, RowFailure, RowWritten, Store, StoredEntity, Upserted,
    conflict, table_name,
};

/// What [`import_entity`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Imported {
    /// The entity's identity.
    pub key: EntityKey,
    /// Whether its row was inserted or replaced.
    pub upserted: Upserted,
    /// The secrets written to the vault.
    pub written: Vec<SecretName>,
    /// The secrets the replaced row referenced and the new one does not: release them with
    /// [`release_secrets`] once every entity is written.
    pub released: Vec<(SecretName, FieldRef)>,
}

/// Stores one entity document (as a user gives it: any text, numbers and key order kept)
/// through `manager`'s store path: inserted, or replacing the row with the same identity
/// (its name; an ingestion pipeline's fully qualified name), compared exactly. On
/// OpenMetadata's tables a stored entity keeps its document and only its secret fields take
/// the imported values (OpenMetadata owns the rest: `updatedAt`, `version`,
/// `changeDescription`, the connection's other settings), and a new row gets the members
/// OpenMetadata's generated columns need (see [`Store::upsert`]). Call
/// [`register_stored_rows`] first, so that names other entities own are refused.
///
/// # Errors
/// Anything that makes the entity fail; nothing of it then remains in the database or the
/// vault ([`Error::PutBack`] says which secrets were put back, or which one could not be).
pub async fn import_entity(
    store: &Store,
    manager: &SecretsManager,
    entity_type: EntityType,
    document: &Document,
) -> Result<Imported> {
    for _ in 0..MAX_ATTEMPTS {
        let target = store.target(entity_type, document).await?;
        let plan = manager.plan_store(entity_type, target.document.value())?;
        let new = target.document.edited(&plan.edits())?;
        let new = match &target.existing {
            Some(row) if target.table.openmetadata => secrets_into(manager, row, &new)?,
            _ => new,
        };
        let change = match &target.existing {
            Some(row) => RowChange::Update {
                row,
                text: new.text(),
            },
            None => RowChange::Insert {
                entity_type,
                id: &target.id,
                key: &target.key,
                text: new.text(),
            },
        };
        let Some(writes) = write(store, Some(manager), change, Some(&plan)).await? else {
            continue;
        };
        let before = target
            .existing
            .as_ref()
            .map(|row| manager.references(entity_type, &row.entity))
            .unwrap_or_default();
        let after = committed(manager, entity_type, new.value());
        return Ok(Imported {
            key: target.key,
            upserted: if target.existing.is_some() {
                Upserted::Updated
            } else {
                Upserted::Inserted
            },
            written: writes.names(),
            released: before.dropped_by(&after),
        });
    }
    Err(conflict(entity_type, document.value(), ""))
}

/// The stored row's document with the secret fields of `new` (an imported document, in its
/// database form) put in: nothing else changes, byte for byte. A secret field `new` sets that
/// the stored document lacks is an error (it would be dropped otherwise).
fn secrets_into(manager: &SecretsManager, row: &StoredEntity, new: &Document) -> Result<Document> {
    let mut edits = Vec::new();
    // The real steps (array items by index, keys with dots whole): a path rebuilt from the
    // dotted text would miss those fields and leave the stored value in place.
    for (path, field) in manager.secret_field_paths(row.entity_type, new.value())? {
        let Some(value) = at(new.value(), &path) else {
            // Discovery found the field in this very document.
            return Err(Error::FieldNotStored {
                entity_type: row.entity_type.to_string(),
                name: row.key().map_or_else(|| row.name.clone(), |key| key.fqn()),
                path: field.path,
            });
        };
        match at(&row.entity, &path) {
            Some(stored) if stored == value => {}
            Some(_) => edits.push((path, value.clone())),
            None => {
                return Err(Error::FieldNotStored {
                    entity_type: row.entity_type.to_string(),
                    name: row.key().map_or_else(|| row.name.clone(), |key| key.fqn()),
                    path: field.path,
                });
            }
        }
    }
    Ok(row.document().edited(&edits)?)
}

/// The value at `path` in `value`.
fn at<'a>(value: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        PathStep::Key(key) => value.get(key),
        PathStep::Index(index) => value.get(index),
    })
}

/// What [`rewrite_row`] found for one stored row.
pub(crate) enum Rewrite {
    /// Nothing to change.
    Unchanged,
    /// Dry run: it would be written, after these secrets.
    Would(Vec<SecretName>),
    /// Written, after these secrets.
    Written(Vec<SecretName>),
}

/// How a stored row is rewritten: the store path (`migrate-secrets`) or a key rotation.
pub(crate) trait RowPlanner {
    /// The vault writes (none for a rotation) and the new document for `row`; `None` when
    /// nothing changes.
    fn plan(&self, row: &StoredEntity) -> Result<Option<(Option<StorePlan>, Document)>>;

    /// The manager whose store path the plans follow (none for a rotation).
    fn manager(&self) -> Option<&SecretsManager>;
}

/// Rewrites a stored row as `planner` says, reading it again and planning again when another
/// writer changed it meanwhile.
pub(crate) async fn rewrite_row(
    store: &Store,
    planner: &dyn RowPlanner,
    mut row: StoredEntity,
    dry_run: bool,
) -> Result<Rewrite> {
    let manager = planner.manager();
    for _ in 0..MAX_ATTEMPTS {
        let Some((plan, new)) = planner.plan(&row)? else {
            return Ok(Rewrite::Unchanged);
        };
        let to_write: Vec<SecretName> = plan
            .iter()
            .flat_map(StorePlan::names_to_write)
            .cloned()
            .collect();
        if dry_run {
            return Ok(Rewrite::Would(to_write));
        }
        let change = RowChange::Update {
            row: &row,
            text: new.text(),
        };
        if let Some(writes) = write(store, manager, change, plan.as_ref()).await? {
            if let Some(manager) = manager {
                committed(manager, row.entity_type, new.value());
            }
            return Ok(Rewrite::Written(writes.names()));
        }
        row = store
            .get_by_id(row.entity_type, &row.id)
            .await?
            .ok_or_else(|| Error::RowGone {
                table: table_name(row.entity_type),
                id: row.id.clone(),
            })?;
        if let Some(manager) = manager {
            // What the row claims and references now.
            let _ = manager.register_stored(row.entity_type, &row.entity);
        }
    }
    Err(conflict(row.entity_type, &row.entity, &row.name))
}

/// One attempt: the row (compare-and-set) and the plan's vault writes, committed together.
/// `None` when the row changed meanwhile (nothing was written).
async fn write(
    store: &Store,
    manager: Option<&SecretsManager>,
    change: RowChange<'_>,
    plan: Option<&StorePlan>,
) -> Result<Option<VaultWrites>> {
    let during = || async move {
        match (manager, plan) {
            (Some(manager), Some(plan)) => manager.write_secrets(plan).await,
            _ => Ok(VaultWrites::default()),
        }
    };
    match store.write_row(change, during).await {
        Ok(RowWritten::Done(writes)) => Ok(Some(writes)),
        Ok(RowWritten::Conflict | RowWritten::Gone) => Ok(None),
        Err(RowFailure::Row(e)) => Err(e),
        Err(RowFailure::During(e)) => Err(e.into()),
        Err(RowFailure::Commit(cause, writes)) => {
            let Some(manager) = manager else {
                return Err(cause);
            };
            let put_back = manager.undo_writes(writes).await;
            Err(if put_back.is_empty() {
                cause
            } else {
                Error::PutBack {
                    cause: Box::new(cause),
                    put_back: Box::new(put_back),
                }
            })
        }
    }
}

/// Registers a committed row's new claims and references; returns its references.
fn committed(
    manager: &SecretsManager,
    entity_type: EntityType,
    entity: &serde_json::Value,
) -> References {
    // A stored row that collides was refused before it was written; re-registering it only
    // records what it now references.
    let _ = manager.register_stored(entity_type, entity);
    manager.references(entity_type, entity)
}

/// A row that cannot take part in a run, and why.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) entity_type: EntityType,
    pub(crate) id: String,
    pub(crate) error: Error,
}

/// Registers every stored row with `manager` ([`SecretsManager::register_stored`]), one pass
/// over each table, in `migrate-secrets`' order: names are claimed and references recorded
/// before anything is written. Returns the rows that cannot be registered (a collision, an
/// unknown connection type, a document that does not parse); those that do not parse count
/// as rows that may reference any secret.
///
/// # Errors
/// [`Error::Query`] when a table cannot be read.
pub(crate) async fn register_rows(
    store: &Store,
    manager: &SecretsManager,
    page_size: u32,
) -> Result<Vec<Refused>> {
    let mut refused = Vec::new();
    for entity_type in tables() {
        let mut rows = store.stream(entity_type, page_size);
        while let Some(row) = rows.next().await {
            match row {
                Ok(row) => {
                    if let Err(e) = manager.register_stored(entity_type, &row.entity) {
                        refused.push(Refused {
                            entity_type,
                            id: row.id,
                            error: e.into(),
                        });
                    }
                }
                Err(Error::InvalidDocument { table, id, problem }) => {
                    manager.register_unreadable(entity_type, &id);
                    refused.push(Refused {
                        entity_type,
                        id: id.clone(),
                        error: Error::InvalidDocument { table, id, problem },
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(refused)
}

/// Registers every stored row with `manager` before entities are imported (see
/// [`SecretsManager::register_stored`]): one pass over each table. Returns why each row that
/// could not be registered was refused; such rows keep their names all the same.
///
/// # Errors
/// [`Error::Query`] when a table cannot be read.
pub async fn register_stored_rows(store: &Store, manager: &SecretsManager) -> Result<Vec<Error>> {
    Ok(
        register_rows(store, manager, crate::store::DEFAULT_PAGE_SIZE)
            .await?
            .into_iter()
            .map(|refused| refused.error)
            .collect(),
    )
}

/// Every table once, in `migrate-secrets`' order (then the bots' table).
pub(crate) fn tables() -> Vec<EntityType> {
    let mut seen = std::collections::BTreeSet::new();
    migration_order()
        .into_iter()
        .chain(EntityType::all().iter().copied())
        .filter(|t| seen.insert(table_name(*t)))
        .collect()
}

/// Releases the secrets rows stopped referencing ([`Imported::released`]): every row is read
/// again first, so that a reference another writer added meanwhile keeps its secret; then
/// [`SecretsManager::release_secrets`] deletes those this deployment wrote and no row
/// references. Says what became of each.
///
/// # Errors
/// [`Error::Query`] when a table cannot be read (nothing is deleted then).
pub async fn release_secrets(
    store: &Store,
    manager: &SecretsManager,
    candidates: Vec<(SecretName, FieldRef)>,
) -> Result<Vec<Release>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    register_references_again(store, manager).await?;
    let mut releases = manager.release_secrets(candidates).await;
    recover_references_written_meanwhile(store, manager, &mut releases).await?;
    Ok(releases)
}

/// After secrets were deleted: waits for the writers that were in flight
/// ([`Store::wait_for_writers`]), reads every row again and recovers each deleted secret a row
/// now references ([`SecretsManager::recover_referenced`]). Another vaultref writes a row,
/// then the vault, then commits: a reference it was committing while the rows were read was
/// not seen, and its secret must not stay deleted.
pub(crate) async fn recover_references_written_meanwhile(
    store: &Store,
    manager: &SecretsManager,
    releases: &mut [Release],
) -> Result<()> {
    let deleted: Vec<&str> = releases
        .iter()
        .filter(|r| matches!(r.outcome, ReleaseOutcome::Deleted))
        .map(|r| r.name.as_str())
        .collect();
    if deleted.is_empty() {
        return Ok(());
    }
    match store.wait_for_writers().await {
        Ok(()) => {}
        Err(Barrier::Store(e)) => return Err(e),
        Err(Barrier::Lock(source)) => {
            return Err(Error::Barrier {
                deleted: deleted.join(", "),
                source,
            });
        }
    }
    register_references_again(store, manager).await?;
    manager.recover_referenced(releases).await;
    Ok(())
}

/// Forgets what `manager` knows rows reference and reads every row again: a reference another
/// writer added meanwhile keeps its secret.
pub(crate) async fn register_references_again(
    store: &Store,
    manager: &SecretsManager,
) -> Result<()> {
    manager.forget_references();
    for entity_type in tables() {
        let mut rows = store.stream(entity_type, crate::store::DEFAULT_PAGE_SIZE);
        while let Some(row) = rows.next().await {
            match row {
                Ok(row) => manager.register_references(entity_type, &row.entity),
                Err(Error::InvalidDocument { id, .. }) => {
                    manager.register_unreadable(entity_type, &id);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
