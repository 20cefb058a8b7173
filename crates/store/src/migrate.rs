//! `migrate-secrets` and `rotate-fernet-key`: the store path over every stored entity, one
//! entity at a time, continuing past failures.
//!
//! OpenMetadata's `migrate-secrets` aborts the whole run at the first entity that fails; here a
//! failed entity is recorded and the others still migrate. A row is updated only after the
//! vault confirmed every write for it, and only when its database form changes in substance
//! (a `fernet:` token re-encrypted to the same plaintext is not a change), so a second run
//! writes nothing.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use vaultref_core::{EntityType, SecretName, SecretsManager};
use vaultref_fernet::KeyRing;

use crate::error::{Error, Result};
use crate::store::{DEFAULT_PAGE_SIZE, Store, StoredEntity};

const FERNET_PREFIX: &str = "fernet:";

/// Options of [`migrate_secrets`] and [`rotate_fernet_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrateOptions {
    /// Compute what would change without writing to the vault or the database.
    pub dry_run: bool,
    /// Rows read per query.
    pub page_size: u32,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl MigrateOptions {
    /// These options with `dry_run` set.
    #[must_use]
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// These options with `page_size` rows per query.
    #[must_use]
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }
}

/// What happened to one entity.
#[derive(Debug)]
#[non_exhaustive]
pub enum EntityStatus {
    /// Nothing to do: its row is already in the target form.
    Unchanged,
    /// Its row was updated, after these secrets were written to the vault (none in
    /// non-managed modes and for key rotation).
    Updated {
        /// The secrets written.
        written: Vec<SecretName>,
    },
    /// Dry run: its row would be updated, after writing these secrets.
    WouldUpdate {
        /// The secrets that would be written.
        to_write: Vec<SecretName>,
        /// The secrets that would be deleted (their field is explicitly null).
        to_delete: Vec<SecretName>,
    },
    /// It failed; its row is unchanged (secrets already written for it stay in the vault, and
    /// running again is safe).
    Failed {
        /// Why.
        error: Error,
    },
}

/// One entity's result.
#[derive(Debug)]
#[non_exhaustive]
pub struct EntityResult {
    /// Its type.
    pub entity_type: EntityType,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What happened.
    pub status: EntityStatus,
}

impl EntityResult {
    /// Whether it failed.
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(self.status, EntityStatus::Failed { .. })
    }
}

/// What a run did to every entity it looked at, in the order it looked at them.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// One result per entity.
    pub entities: Vec<EntityResult>,
}

impl MigrationReport {
    /// The entities that failed.
    pub fn failed(&self) -> impl Iterator<Item = &EntityResult> {
        self.entities.iter().filter(|e| e.is_failed())
    }

    /// Whether no entity failed (the command's exit status is non-zero otherwise).
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.failed().next().is_none()
    }

    /// How many rows were updated (or would be, in a dry run).
    #[must_use]
    pub fn updated(&self) -> usize {
        self.entities
            .iter()
            .filter(|e| {
                matches!(
                    e.status,
                    EntityStatus::Updated { .. } | EntityStatus::WouldUpdate { .. }
                )
            })
            .count()
    }

    /// How many entities needed nothing.
    #[must_use]
    pub fn unchanged(&self) -> usize {
        self.entities
            .iter()
            .filter(|e| matches!(e.status, EntityStatus::Unchanged))
            .count()
    }

    /// Every secret written to the vault (or that would be, in a dry run).
    #[must_use]
    pub fn secrets_written(&self) -> Vec<&SecretName> {
        self.entities
            .iter()
            .flat_map(|e| match &e.status {
                EntityStatus::Updated { written } => written.as_slice(),
                EntityStatus::WouldUpdate { to_write, .. } => to_write.as_slice(),
                _ => &[],
            })
            .collect()
    }
}

/// Hears about a run as it goes (the CLI prints it). Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// The run starts on the entities of `entity_type`, of which the table holds `rows`.
    fn entity_type_started(&self, entity_type: EntityType, rows: u64) {
        let _ = (entity_type, rows);
    }

    /// One entity is done.
    fn entity_done(&self, result: &EntityResult) {
        let _ = result;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The entity types `migrate-secrets` visits, in OpenMetadata's order: services, bot users,
/// ingestion pipelines, then workflows (which OpenMetadata skips).
fn migration_order() -> Vec<EntityType> {
    let mut order: Vec<EntityType> = EntityType::all()
        .iter()
        .copied()
        .filter(|t| t.service_category().is_some())
        .collect();
    order.extend([
        EntityType::User,
        EntityType::IngestionPipeline,
        EntityType::Workflow,
    ]);
    order
}

/// Whether migrate-secrets looks at this row: users only when they are bots.
fn has_secrets(row: &StoredEntity) -> bool {
    row.entity_type != EntityType::User
        || row.entity.get("isBot").and_then(Value::as_bool) == Some(true)
}

/// Runs `manager`'s store path over every service, bot user, ingestion pipeline and workflow
/// in `store`: plaintexts move to the vault (managed mode) or get Fernet-encrypted, `fernet:`
/// values are re-encrypted under the first key when their plaintext must change form.
///
/// First every entity's secret names are claimed ([`SecretsManager::claim_existing`]), so a
/// name collision with any stored entity is found before anything is written; an entity that
/// cannot be claimed fails and is skipped. Then entity by entity: plan, write the vault, and
/// update the row only after the vault confirmed. A failed entity is recorded and the run
/// goes on. With `options.dry_run` nothing is written anywhere.
///
/// # Errors
/// Only when the store cannot be read ([`Error::Query`], [`Error::InvalidDocument`]);
/// per-entity failures are in the report.
pub async fn migrate_secrets(
    store: &Store,
    manager: &SecretsManager,
    options: &MigrateOptions,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    let mut report = MigrationReport {
        dry_run: options.dry_run,
        entities: Vec::new(),
    };
    let order = migration_order();
    // Claims first, across every type, so that a name collision is found before any write:
    // entities that already reference their names own them (pass 1), then entities that would
    // write claim theirs (pass 2), so a new entity never takes an existing entity's secret.
    let mut unclaimable: Vec<(EntityType, String, Error)> = Vec::new();
    let mut writers: BTreeSet<(usize, String)> = BTreeSet::new();
    for (index, &entity_type) in order.iter().enumerate() {
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.try_next().await? {
            if !has_secrets(&row) {
                continue;
            }
            match manager.plan_store(entity_type, &row.entity) {
                Ok(plan) if plan.names_to_write().is_empty() => {
                    if let Err(e) = manager.claim_existing(entity_type, &row.entity) {
                        unclaimable.push((entity_type, row.id, e.into()));
                    }
                }
                Ok(_) => {
                    writers.insert((index, row.id));
                }
                Err(e) => unclaimable.push((entity_type, row.id, e.into())),
            }
        }
    }
    for (index, &entity_type) in order.iter().enumerate() {
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.try_next().await? {
            if !writers.contains(&(index, row.id.clone())) {
                continue;
            }
            if let Err(e) = manager.claim_existing(entity_type, &row.entity) {
                unclaimable.push((entity_type, row.id, e.into()));
            }
        }
    }
    for &entity_type in &order {
        progress.entity_type_started(entity_type, store.count(entity_type).await?);
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.try_next().await? {
            if !has_secrets(&row) {
                continue;
            }
            let failed_claim = unclaimable
                .iter()
                .position(|(t, id, _)| *t == entity_type && *id == row.id);
            let status = match failed_claim {
                Some(i) => EntityStatus::Failed {
                    error: unclaimable.swap_remove(i).2,
                },
                None => migrate_one(store, manager, options.dry_run, &row).await,
            };
            if let EntityStatus::Failed { error } = &status {
                tracing::warn!(entity_type = %entity_type, name = %row.name, error = %error, "secrets migration failed for an entity; continuing");
            }
            let result = EntityResult {
                entity_type,
                id: row.id,
                name: row.name,
                status,
            };
            progress.entity_done(&result);
            report.entities.push(result);
        }
    }
    Ok(report)
}

async fn migrate_one(
    store: &Store,
    manager: &SecretsManager,
    dry_run: bool,
    row: &StoredEntity,
) -> EntityStatus {
    let failed = |error: Error| EntityStatus::Failed { error };
    let plan = match manager.plan_store(row.entity_type, &row.entity) {
        Ok(plan) => plan,
        Err(e) => return failed(e.into()),
    };
    let to_write: Vec<SecretName> = plan.names_to_write().into_iter().cloned().collect();
    let to_delete: Vec<SecretName> = plan.names_to_delete().into_iter().cloned().collect();
    if dry_run && (!to_write.is_empty() || !to_delete.is_empty()) {
        return EntityStatus::WouldUpdate {
            to_write,
            to_delete,
        };
    }
    // From here on a dry-run plan only sets database values: applying it does no I/O.
    let mut entity = row.entity.clone();
    let outcome = match manager.apply(plan, &mut entity).await {
        Ok(outcome) => outcome,
        Err(e) => return failed(e.into()),
    };
    if outcome.written.is_empty()
        && outcome.deleted.is_empty()
        && equivalent(manager, row.entity_type, &row.entity, &entity)
    {
        return EntityStatus::Unchanged;
    }
    if dry_run {
        return EntityStatus::WouldUpdate {
            to_write,
            to_delete,
        };
    }
    let updated = StoredEntity {
        entity,
        ..row.clone()
    };
    match store.update(&updated).await {
        Ok(true) => {
            tracing::info!(entity_type = %row.entity_type, name = %row.name, secrets_written = outcome.written.len(), "entity migrated");
            EntityStatus::Updated {
                written: outcome.written,
            }
        }
        Ok(false) => failed(Error::Query {
            action: "update an entity (the row disappeared during the run)",
            table: crate::store::table_name(row.entity_type),
            source: sqlx::Error::RowNotFound,
        }),
        Err(e) => failed(e),
    }
}

/// Whether two forms of an entity hold the same data: their secret fields decrypt to the same
/// values, and they differ at most by one `fernet:` token replacing another (a re-encryption
/// of the same plaintext), never by a plaintext becoming a token.
fn equivalent(manager: &SecretsManager, entity_type: EntityType, old: &Value, new: &Value) -> bool {
    let decrypted = |v: &Value| {
        let mut v = v.clone();
        manager.decrypt_entity(entity_type, &mut v).ok().map(|()| v)
    };
    match (decrypted(old), decrypted(new)) {
        (Some(a), Some(b)) if a == b => same_shape(old, new),
        _ => false,
    }
}

/// Equal, except that any two `fernet:` tokens count as equal.
fn same_shape(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::String(a), Value::String(b)) => {
            a == b || (a.starts_with(FERNET_PREFIX) && b.starts_with(FERNET_PREFIX))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_shape(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| same_shape(x, y)))
        }
        _ => old == new,
    }
}

/// Re-encrypts every `fernet:` value in every row of every table under the first key of
/// `fernet_key` (a comma-separated list, first key first, as `FERNET_KEY=new,old`), keeping
/// each token's timestamp. Values already under the first key are left alone, so a second
/// run writes nothing. A row with a token no key opens fails and stays unchanged; the run
/// goes on. Once the report is a success, the old keys can be dropped from the list.
///
/// # Errors
/// [`Error::InvalidFernetKey`] when the list does not parse; [`Error::Query`] and
/// [`Error::InvalidDocument`] when the store cannot be read.
pub async fn rotate_fernet_key(
    store: &Store,
    fernet_key: &SecretString,
    options: &MigrateOptions,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    let text = fernet_key.expose_secret();
    let all = KeyRing::parse(text).map_err(|e| Error::InvalidFernetKey {
        problem: e.to_string(),
    })?;
    let first_text = text.split(',').next().unwrap_or_default();
    let first = KeyRing::parse(first_text).map_err(|e| Error::InvalidFernetKey {
        problem: e.to_string(),
    })?;
    let mut report = MigrationReport {
        dry_run: options.dry_run,
        entities: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for &entity_type in EntityType::all() {
        // Several types could share a table; rotate each table once.
        if !seen.insert(crate::store::table_name(entity_type)) {
            continue;
        }
        progress.entity_type_started(entity_type, store.count(entity_type).await?);
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.try_next().await? {
            let mut entity = row.entity.clone();
            let status = match rotate_value(&mut entity, &all, &first, &row) {
                Ok(0) => EntityStatus::Unchanged,
                Ok(_) if options.dry_run => EntityStatus::WouldUpdate {
                    to_write: Vec::new(),
                    to_delete: Vec::new(),
                },
                Ok(_) => {
                    let updated = StoredEntity {
                        entity,
                        ..row.clone()
                    };
                    match store.update(&updated).await {
                        Ok(true) => EntityStatus::Updated {
                            written: Vec::new(),
                        },
                        // As in migrate-secrets: a row that vanished was not re-encrypted.
                        Ok(false) => EntityStatus::Failed {
                            error: Error::Query {
                                action: "update an entity (the row disappeared during the run)",
                                table: crate::store::table_name(entity_type),
                                source: sqlx::Error::RowNotFound,
                            },
                        },
                        Err(error) => EntityStatus::Failed { error },
                    }
                }
                Err(error) => EntityStatus::Failed { error },
            };
            let result = EntityResult {
                entity_type,
                id: row.id,
                name: row.name,
                status,
            };
            progress.entity_done(&result);
            report.entities.push(result);
        }
    }
    Ok(report)
}

/// Rotates every `fernet:` string in `value`; returns how many changed.
fn rotate_value(
    value: &mut Value,
    all: &KeyRing,
    first: &KeyRing,
    row: &StoredEntity,
) -> Result<usize> {
    match value {
        Value::String(s) => {
            let Some(token) = s.strip_prefix(FERNET_PREFIX) else {
                return Ok(0);
            };
            if first.extract_timestamp(token).is_ok() {
                return Ok(0);
            }
            let rotated = all.rotate(token).map_err(|_| Error::UndecryptableValue {
                entity_type: row.entity_type.to_string(),
                name: row.name.clone(),
            })?;
            *s = format!("{FERNET_PREFIX}{rotated}");
            Ok(1)
        }
        Value::Array(items) => items
            .iter_mut()
            .try_fold(0, |n, v| Ok(n + rotate_value(v, all, first, row)?)),
        Value::Object(map) => map
            .values_mut()
            .try_fold(0, |n, v| Ok(n + rotate_value(v, all, first, row)?)),
        _ => Ok(0),
    }
}
