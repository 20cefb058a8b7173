//! `migrate-secrets` and `rotate-fernet-key`: the store path (or a key rotation) over every
//! stored entity, one entity at a time, continuing past failures.
//!
//! OpenMetadata's `migrate-secrets` aborts the whole run at the first entity that fails; here a
//! failed entity (a vault failure, a row that does not parse, a name another entity owns) is
//! recorded and the others still migrate. Each row is written as [`crate::write`] says: only
//! after the vault confirmed, compared with what was read (another writer's change is never
//! overwritten), and only when it changes in substance (a `fernet:` token re-encrypted to the
//! same plaintext is not a change), so a second run writes nothing. The policy (order,
//! claims, equivalence, rotation) is vaultref-core's; this module reads rows and reports.
//!
//! Soft-deleted entities (`"deleted": true`) are skipped unless asked for, as OpenMetadata's
//! `migrate-secrets` does: `SecretsManagerUpdateService`
//! (openmetadata-service/.../secrets/SecretsManagerUpdateService.java @ f3f1c274) lists
//! entities with a default `ListFilter`, whose `include` is `NON_DELETED`
//! (.../jdbi3/ListFilter.java). Each one skipped is in the report, never dropped silently.

use futures::StreamExt as _;
use secrecy::{ExposeSecret, SecretString};
use vaultref_core::{
    Document, EntityType, FernetRotation, SecretName, SecretsManager, StorePlan, holds_secrets,
    migration_order,
};

use crate::error::{Error, Result};
use crate::store::{DEFAULT_PAGE_SIZE, Store, StoredEntity};
use crate::write::{Rewrite, RowPlanner, register_rows, rewrite_row, tables};

/// Options of [`migrate_secrets`] and [`rotate_fernet_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrateOptions {
    /// Compute what would change without writing to the vault or the database.
    pub dry_run: bool,
    /// Rows read per query.
    pub page_size: u32,
    /// Also rewrite soft-deleted entities (`"deleted": true`); by default they are skipped,
    /// as OpenMetadata's `migrate-secrets` skips them, and reported as
    /// [`EntityStatus::SkippedDeleted`]. A key rotation that skips them leaves their values
    /// under the old key: keep it until they are rotated or hard-deleted.
    pub include_deleted: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            page_size: DEFAULT_PAGE_SIZE,
            include_deleted: false,
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

    /// These options with `include_deleted` set: soft-deleted entities are rewritten too.
    #[must_use]
    pub fn with_include_deleted(mut self, include_deleted: bool) -> Self {
        self.include_deleted = include_deleted;
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
    },
    /// It is soft-deleted (`"deleted": true`) and was left as it is
    /// ([`MigrateOptions::include_deleted`] was not set).
    SkippedDeleted,
    /// It failed; its row is unchanged and so is the vault (secrets written for it were put
    /// back). Running again is safe.
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
    /// For a key rotation: what the values were found under.
    pub rotation: Option<RotationSummary>,
    /// vaultref's tables the database does not have: on OpenMetadata's layout, entities its
    /// release does not know (none were read; not an error).
    pub missing_tables: Vec<&'static str>,
}

/// What a key rotation found in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationSummary {
    /// How many keys the list has.
    pub keys: usize,
    /// `fernet:` values re-encrypted under the first key (or that would be, in a dry run).
    pub rotated: usize,
    /// `fernet:` values already under the first key.
    pub under_first_key: usize,
}

impl RotationSummary {
    /// Whether the run re-encrypted nothing although the list has several keys and the
    /// database holds values: every value is already under the first key. Either the rotation
    /// is done, or the keys are in the wrong order (`old,new`), and dropping the "old" key
    /// would strand every row.
    #[must_use]
    pub fn nothing_rotated(&self) -> bool {
        self.keys > 1 && self.rotated == 0 && self.under_first_key > 0
    }
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

    /// How many soft-deleted entities were skipped.
    #[must_use]
    pub fn skipped_deleted(&self) -> usize {
        self.entities
            .iter()
            .filter(|e| matches!(e.status, EntityStatus::SkippedDeleted))
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

/// Runs `manager`'s store path over every service, bot user, ingestion pipeline and workflow
/// in `store`: plaintexts move to the vault (managed mode) or get Fernet-encrypted, `fernet:`
/// values are re-encrypted under the first key when their plaintext must change form.
///
/// First every stored row is registered ([`SecretsManager::register_stored`]), so that a name
/// collision with any stored entity, or a name an unreadable row may hold, is found before
/// anything is written; an entity that cannot be registered fails and is skipped. Then entity
/// by entity: the row (compare-and-set) and its vault writes committed together, re-planned
/// when another writer changed the row. A failed entity is recorded and the run goes on. With
/// `options.dry_run` nothing is written anywhere. Nothing is deleted from the vault.
///
/// # Errors
/// Only when a table cannot be read ([`Error::Query`]); per-entity failures are in the report.
pub async fn migrate_secrets(
    store: &Store,
    manager: &SecretsManager,
    options: &MigrateOptions,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    let mut report = MigrationReport {
        dry_run: options.dry_run,
        missing_tables: store.layout().await?.missing_tables(),
        ..MigrationReport::default()
    };
    let mut refused: std::collections::HashMap<(EntityType, String), Error> =
        register_rows(store, manager, options.page_size)
            .await?
            .into_iter()
            .map(|r| ((r.entity_type, r.id), r.error))
            .collect();
    let planner = StorePath { manager };
    for entity_type in migration_order() {
        progress.entity_type_started(entity_type, store.count(entity_type).await?);
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.next().await {
            let result = match row {
                Ok(row) if !holds_secrets(entity_type, &row.entity) => continue,
                Ok(row) if skipped(&row, options) => skipped_deleted(row),
                Ok(row) => {
                    let (id, name) = (row.id.clone(), row.name.clone());
                    let status = match refused.remove(&(entity_type, row.id.clone())) {
                        Some(error) => EntityStatus::Failed { error },
                        None => status(rewrite_row(store, &planner, row, options.dry_run).await),
                    };
                    EntityResult {
                        entity_type,
                        id,
                        name,
                        status,
                    }
                }
                Err(error) => unreadable(entity_type, error)?,
            };
            if let EntityStatus::Failed { error } = &result.status {
                tracing::warn!(entity_type = %entity_type, name = %result.name, error = %error, "secrets migration failed for an entity; continuing");
            }
            progress.entity_done(&result);
            report.entities.push(result);
        }
    }
    Ok(report)
}

/// Whether `row` is soft-deleted and the options leave such rows alone.
fn skipped(row: &StoredEntity, options: &MigrateOptions) -> bool {
    !options.include_deleted && row.entity.get("deleted") == Some(&serde_json::Value::Bool(true))
}

fn skipped_deleted(row: StoredEntity) -> EntityResult {
    EntityResult {
        entity_type: row.entity_type,
        id: row.id,
        name: row.name,
        status: EntityStatus::SkippedDeleted,
    }
}

/// A row whose document does not parse is reported, and the run goes on; a failed query ends
/// it.
fn unreadable(entity_type: EntityType, error: Error) -> Result<EntityResult> {
    match error {
        Error::InvalidDocument { ref id, .. } => Ok(EntityResult {
            entity_type,
            id: id.clone(),
            name: String::new(),
            status: EntityStatus::Failed { error },
        }),
        other => Err(other),
    }
}

fn status(rewrite: Result<Rewrite>) -> EntityStatus {
    match rewrite {
        Ok(Rewrite::Unchanged) => EntityStatus::Unchanged,
        Ok(Rewrite::Would(to_write)) => EntityStatus::WouldUpdate { to_write },
        Ok(Rewrite::Written(written)) => EntityStatus::Updated { written },
        Err(error) => EntityStatus::Failed { error },
    }
}

/// `migrate-secrets`: the store path of the configured provider.
struct StorePath<'a> {
    manager: &'a SecretsManager,
}

impl RowPlanner for StorePath<'_> {
    fn plan(&self, row: &StoredEntity) -> Result<Option<(Option<StorePlan>, Document)>> {
        let plan = self.manager.plan_store(row.entity_type, &row.entity)?;
        let new = row.document().edited(&plan.edits())?;
        if !plan.has_writes()
            && self
                .manager
                .equivalent(row.entity_type, &row.entity, new.value())
        {
            return Ok(None);
        }
        Ok(Some((Some(plan), new)))
    }

    fn manager(&self) -> Option<&SecretsManager> {
        Some(self.manager)
    }
}

/// `rotate-fernet-key`: every `fernet:` value to the first key, counting what it finds.
struct Rotate {
    rotation: FernetRotation,
    rotated: std::sync::atomic::AtomicUsize,
    under_first_key: std::sync::atomic::AtomicUsize,
}

impl RowPlanner for Rotate {
    fn plan(&self, row: &StoredEntity) -> Result<Option<(Option<StorePlan>, Document)>> {
        use std::sync::atomic::Ordering::Relaxed;
        let rotation = self
            .rotation
            .rotate(row.entity_type, &row.entity)
            .map_err(|e| match e {
                vaultref_core::Error::FernetDecrypt(field) => Error::UndecryptableValue {
                    entity_type: field.entity.entity_type,
                    name: field.entity.name,
                },
                other => other.into(),
            })?;
        // Counted per attempt: a row read again after a conflict counts once more, which
        // only matters when it was rotated (then `rotated` is not zero anyway).
        self.under_first_key
            .fetch_add(rotation.under_first_key, Relaxed);
        if rotation.edits.is_empty() {
            return Ok(None);
        }
        self.rotated.fetch_add(rotation.edits.len(), Relaxed);
        Ok(Some((None, row.document().edited(&rotation.edits)?)))
    }

    fn manager(&self) -> Option<&SecretsManager> {
        None
    }
}

/// Re-encrypts every `fernet:` value in every row of every table under the first key of
/// `fernet_key` (a comma-separated list, first key first, as `FERNET_KEY=new,old`), keeping
/// each token's timestamp. Values already under the first key are left alone, so a second
/// run writes nothing. A row with a token no key opens (or that does not parse) fails and
/// stays unchanged; the run goes on. Soft-deleted rows are skipped unless
/// [`MigrateOptions::include_deleted`] is set. Once the report is a success and its
/// [`RotationSummary`] shows values were rotated, the old keys can be dropped from the list.
///
/// # Errors
/// [`Error::Core`] when the key list does not parse; [`Error::Query`] when a table cannot be
/// read.
pub async fn rotate_fernet_key(
    store: &Store,
    fernet_key: &SecretString,
    options: &MigrateOptions,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    use std::sync::atomic::Ordering::Relaxed;
    let planner = Rotate {
        rotation: FernetRotation::parse(fernet_key.expose_secret())?,
        rotated: 0.into(),
        under_first_key: 0.into(),
    };
    let mut report = MigrationReport {
        dry_run: options.dry_run,
        missing_tables: store.layout().await?.missing_tables(),
        ..MigrationReport::default()
    };
    for entity_type in tables() {
        progress.entity_type_started(entity_type, store.count(entity_type).await?);
        let mut rows = store.stream(entity_type, options.page_size);
        while let Some(row) = rows.next().await {
            let result = match row {
                Ok(row) if skipped(&row, options) => skipped_deleted(row),
                Ok(row) => EntityResult {
                    entity_type,
                    id: row.id.clone(),
                    name: row.name.clone(),
                    status: status(rewrite_row(store, &planner, row, options.dry_run).await),
                },
                Err(error) => unreadable(entity_type, error)?,
            };
            progress.entity_done(&result);
            report.entities.push(result);
        }
    }
    report.rotation = Some(RotationSummary {
        keys: planner.rotation.key_count(),
        rotated: planner.rotated.load(Relaxed),
        under_first_key: planner.under_first_key.load(Relaxed),
    });
    Ok(report)
}
