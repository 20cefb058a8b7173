//! `entities delete`: an entity's row, then the secrets computed for it, as OpenMetadata's hard
//! delete does (`ServiceEntityRepository.postDelete` deletes the connection's secrets only on a
//! hard delete: openmetadata-service/.../jdbi3/ServiceEntityRepository.java @ 5fcfc21b).
//!
//! The row goes first (compared with the text read), the secrets after: a failure in between
//! leaves secrets no row references, never a row whose secrets are gone. Only the names
//! computed for the entity's secret fields are candidates, never a user's own `secret:`
//! reference, and each is deleted only when this deployment wrote it and no remaining row
//! references it (every row is read again first). Key Vault keeps a deleted secret
//! recoverable until it is purged.

use vaultref_core::{EntityKey, Release, SecretName, SecretsManager};

use crate::error::{Error, Result};
use crate::store::{MAX_ATTEMPTS, Store, StoredEntity, table_name};
use crate::write::{recover_references_written_meanwhile, register_references_again};

/// What [`delete_entity`] did (or, in a dry run, would do).
#[derive(Debug)]
#[non_exhaustive]
pub struct Deleted {
    /// The entity.
    pub key: EntityKey,
    /// Its row's id.
    pub id: String,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// The names computed for its secret fields: the candidates for deletion.
    pub secrets: Vec<SecretName>,
    /// What became of each candidate (empty in a dry run and in non-managed modes).
    pub released: Vec<Release>,
}

/// Deletes the entity `key` names: its row, then its computed secrets (see the module docs).
/// `Ok(None)` when there is no such entity. With `dry_run` nothing is deleted and
/// [`Deleted::secrets`] lists the candidates.
///
/// # Errors
/// [`Error::OpenMetadataRow`] on OpenMetadata's tables (OpenMetadata's own delete must run
/// there); [`Error::Conflict`] when other writers kept changing the row; [`Error::Query`];
/// [`Error::Core`] for secret naming errors (before anything is deleted).
pub async fn delete_entity(
    store: &Store,
    manager: &SecretsManager,
    key: &EntityKey,
    dry_run: bool,
) -> Result<Option<Deleted>> {
    let entity_type = key.entity_type();
    // The database as a whole, not only this table: one table read as vaultref's on an
    // OpenMetadata database must not let a raw delete through.
    let openmetadata = store.layout().await?.is_openmetadata()
        || store
            .table(entity_type)
            .await?
            .is_some_and(|table| table.openmetadata);
    if openmetadata {
        return Err(Error::OpenMetadataRow {
            entity: key.to_string(),
        });
    }
    let Some(mut row) = store.find(key).await? else {
        return Ok(None);
    };
    let secrets = secret_names(manager, &row)?;
    let mut deleted = Deleted {
        key: key.clone(),
        id: row.id.clone(),
        dry_run,
        secrets,
        released: Vec::new(),
    };
    if dry_run {
        return Ok(Some(deleted));
    }
    let mut attempts = 0;
    while !store.delete_if_unchanged(&row).await? {
        attempts += 1;
        // Changed meanwhile: read again (its secrets may have changed too), or gone.
        match store.get_by_id(entity_type, &row.id).await? {
            Some(again) if attempts < MAX_ATTEMPTS => row = again,
            Some(_) => {
                return Err(Error::Conflict {
                    table: table_name(entity_type),
                    name: key.fqn(),
                    attempts,
                });
            }
            None => return Ok(None),
        }
    }
    // The row deleted may be a later version than the one first read: its names are the
    // candidates.
    deleted.secrets = secret_names(manager, &row)?;
    register_references_again(store, manager).await?;
    deleted.released = manager
        .delete_entity_secrets(entity_type, &row.entity)
        .await?;
    recover_references_written_meanwhile(store, manager, &mut deleted.released).await?;
    Ok(Some(deleted))
}

/// The names computed for `row`'s secret fields.
fn secret_names(manager: &SecretsManager, row: &StoredEntity) -> Result<Vec<SecretName>> {
    Ok(manager
        .secret_names(row.entity_type, &row.entity)?
        .into_iter()
        .map(|(_, name)| name)
        .collect())
}
