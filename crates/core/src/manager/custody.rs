//! Writing, putting back and deleting vault secrets without losing anyone's value.
//!
//! - Every secret vaultref writes carries the ownership tag [`OWNER_TAG`] naming its
//!   deployment (the database it serves). A secret tagged for another deployment is never
//!   overwritten nor deleted; an untagged one (OpenMetadata's, or written before vaultref
//!   tagged) is overwritten only when a row of this deployment references it, and never
//!   deleted.
//! - [`SecretsManager::write_secrets`] reads each secret before writing it, so that a failed
//!   operation can put every secret back as it was ([`SecretsManager::undo_writes`]): the
//!   previous value, the soft-deleted state, or no secret at all. A secret someone else wrote
//!   since is left alone.
//! - [`SecretsManager::release_secrets`] deletes a secret only when this deployment wrote it
//!   and no row it knows references it; every outcome is reported, every delete audited.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{FieldAction, SecretsManager, StorePlan};
use crate::audit::AuditAction;
use crate::backend::SecretAttributes;
use crate::config::OWNER_TAG;
use crate::error::{Error, FieldRef, PutBack, Result};
use crate::naming::SecretName;

/// What a name held before vaultref wrote it.
enum Before {
    Absent,
    /// Soft-deleted, with its last value and tags when they could be read after recovery.
    Deleted(Option<(SecretString, BTreeMap<String, String>)>),
    Live(SecretString, BTreeMap<String, String>),
}

enum Undone {
    Restored,
    Deleted,
}

struct Written {
    name: SecretName,
    field: FieldRef,
    before: Before,
    /// The version the write created.
    version: Option<String>,
}

/// The secrets [`SecretsManager::write_secrets`] wrote, with what to put back.
///
/// `Debug` shows the names only.
#[derive(Default)]
pub struct VaultWrites {
    writes: Vec<Written>,
}

impl fmt::Debug for VaultWrites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.writes.iter().map(|w| w.name.as_str()))
            .finish()
    }
}

impl VaultWrites {
    /// The secrets written, in order.
    #[must_use]
    pub fn names(&self) -> Vec<SecretName> {
        self.writes.iter().map(|w| w.name.clone()).collect()
    }
}

/// What [`SecretsManager::release_secrets`] did with one secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReleaseOutcome {
    /// Deleted (soft: recoverable until the vault purges it).
    Deleted,
    /// There was no such secret.
    Absent,
    /// Kept: a row still references it.
    Referenced {
        /// The field that references it.
        by: FieldRef,
    },
    /// Deleted, then recovered: another writer committed a row that references it while it
    /// was being deleted ([`SecretsManager::recover_referenced`]).
    Recovered {
        /// The field that references it.
        by: FieldRef,
    },
    /// Deleted, and a row that another writer committed meanwhile references it, but
    /// recovering it failed: the reference is broken until someone runs `vaultref secret
    /// recover NAME`.
    RecoveryFailed {
        /// The field that references it.
        by: FieldRef,
        /// Why the recovery failed.
        error: Error,
    },
    /// Kept: some rows hold `fernet:` values no key opens, which may reference it.
    UnreadableRows(usize),
    /// Kept: this deployment did not write it.
    NotOurs {
        /// The deployment its ownership tag names; `None` when it has no such tag.
        owner: Option<String>,
    },
    /// Kept: this provider writes no vault.
    NoVault,
    /// The vault failed.
    Failed(Error),
}

/// One secret a field stopped referencing, and what became of it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Release {
    /// The secret.
    pub name: SecretName,
    /// The field that referenced it.
    pub field: FieldRef,
    /// What was done.
    pub outcome: ReleaseOutcome,
}

impl Release {
    /// Whether the vault failed (a delete, or the recovery of a secret a row references).
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(
            self.outcome,
            ReleaseOutcome::Failed(_) | ReleaseOutcome::RecoveryFailed { .. }
        )
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.outcome {
            ReleaseOutcome::Deleted => write!(
                f,
                "deleted secret `{name}` from the vault: {} no longer references it and no row \
                 does (recoverable with `vaultref secret recover {name}` until the vault purges \
                 it)",
                self.field
            ),
            ReleaseOutcome::Absent => write!(
                f,
                "secret `{name}`, released by {}, was not in the vault",
                self.field
            ),
            ReleaseOutcome::Referenced { by } => write!(
                f,
                "kept secret `{name}` that {} released: {by} still references it",
                self.field
            ),
            ReleaseOutcome::UnreadableRows(rows) => write!(
                f,
                "kept secret `{name}` that {} released: {rows} row(s) hold fernet: values no \
                 configured key opens, which may reference it",
                self.field
            ),
            ReleaseOutcome::NotOurs { owner: Some(owner) } => write!(
                f,
                "kept secret `{name}` that {} released: it belongs to deployment `{owner}`",
                self.field
            ),
            ReleaseOutcome::NotOurs { owner: None } => write!(
                f,
                "kept secret `{name}` that {} released: this deployment did not write it (no \
                 {OWNER_TAG} tag); delete it with `vaultref secret delete {name}` if nothing \
                 needs it",
                self.field
            ),
            ReleaseOutcome::NoVault => write!(
                f,
                "kept secret `{name}` that {} released: this provider does not delete vault \
                 secrets; delete it with `vaultref secret delete {name}` once nothing needs it",
                self.field
            ),
            ReleaseOutcome::Failed(error) => write!(
                f,
                "could not delete secret `{name}` that {} released: {error}",
                self.field
            ),
            ReleaseOutcome::Recovered { by } => write!(
                f,
                "deleted secret `{name}` that {} released, then recovered it: {by}, written by \
                 another writer meanwhile, references it",
                self.field
            ),
            ReleaseOutcome::RecoveryFailed { by, error } => write!(
                f,
                "deleted secret `{name}` that {} released, but {by}, written by another writer \
                 meanwhile, references it and recovering it failed: {error}; run `vaultref \
                 secret recover {name}`",
                self.field
            ),
        }
    }
}

impl SecretsManager {
    /// Writes the vault as `plan` says. Every secret is read first, before any write: its
    /// owner is checked (a secret another deployment owns, or an untagged one no row
    /// references, refuses the whole plan) and its state is kept. Then each is written with
    /// this deployment's ownership tag (a soft-deleted name is recovered first). A secret that
    /// already holds the value under this deployment's tag is not written again (unless written
    /// secrets expire). When a write fails, the secrets written before it are put back and
    /// nothing of the plan remains in the vault.
    ///
    /// # Errors
    /// [`Error::ForeignSecret`], [`Error::UnownedSecret`], [`Error::Backend`]; wrapped in
    /// [`Error::PutBack`] when secrets written before the failure were put back.
    pub async fn write_secrets(&self, plan: &StorePlan) -> Result<VaultWrites> {
        let mut pending = Vec::new();
        for field in &plan.fields {
            let FieldAction::Write {
                name, plaintext, ..
            } = &field.action
            else {
                continue;
            };
            if let Some(before) = self.inspect(name, plaintext).await? {
                pending.push((name, plaintext, &field.field, before));
            }
        }
        let mut done = VaultWrites::default();
        for (name, plaintext, field, before) in pending {
            match self.write_one(name, plaintext, field, before).await {
                Ok(written) => done.writes.push(written),
                Err(cause) => return Err(cause.put_back(self.undo_writes(done).await)),
            }
        }
        Ok(done)
    }

    /// What `name` holds now, if this deployment may write `plaintext` there; `None` when it
    /// already holds it.
    async fn inspect(&self, name: &SecretName, plaintext: &str) -> Result<Option<Before>> {
        let backend = self.backend()?;
        match backend.read_secret(name).await {
            Ok(current) => {
                self.check_owner(name, &current.tags)?;
                let unchanged = self.owns(&current.tags)
                    && self.attributes().expires_on.is_none()
                    && current.value.expose_secret() == plaintext;
                Ok((!unchanged).then_some(Before::Live(current.value, current.tags)))
            }
            Err(e) if e.is_not_found() => match backend.deleted_secret_tags(name).await {
                Ok(tags) => {
                    self.check_owner(name, &tags)?;
                    Ok(Some(Before::Deleted(None)))
                }
                Err(e) if e.is_not_found() => Ok(Some(Before::Absent)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn write_one(
        &self,
        name: &SecretName,
        plaintext: &str,
        field: &FieldRef,
        mut before: Before,
    ) -> Result<Written> {
        let backend = self.backend()?;
        if let Before::Deleted(last) = &mut before {
            tracing::info!(secret = %name, "recovering a soft-deleted secret before writing it again");
            backend.recover_secret(name).await?;
            self.audited(AuditAction::Recover, field, name, None);
            *last = backend
                .read_secret(name)
                .await
                .ok()
                .map(|s| (s.value, s.tags));
        }
        let value = SecretString::from(plaintext);
        match backend.set_secret(name, &value, &self.attributes()).await {
            Ok(version) => {
                self.audited(AuditAction::Write, field, name, version.clone());
                Ok(Written {
                    name: name.clone(),
                    field: field.clone(),
                    before,
                    version,
                })
            }
            Err(cause) if matches!(before, Before::Deleted(_)) => {
                // Recovered for nothing: back to deleted.
                let recovered = VaultWrites {
                    writes: vec![Written {
                        name: name.clone(),
                        field: field.clone(),
                        before,
                        version: None,
                    }],
                };
                Err(cause.put_back(self.undo_writes(recovered).await))
            }
            Err(cause) => Err(cause),
        }
    }

    /// Puts every secret of `writes` back as it was before, last written first, and says what
    /// it did. A secret whose latest version is no longer the one written (someone wrote
    /// after) is left alone. A failure is reported and the other secrets are still put back.
    pub async fn undo_writes(&self, writes: VaultWrites) -> PutBack {
        let mut report = PutBack::default();
        for written in writes.writes.iter().rev() {
            match self.put_back(written).await {
                Ok(Some(Undone::Restored)) => report.restored.push(written.name.clone()),
                Ok(Some(Undone::Deleted)) => report.deleted.push(written.name.clone()),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(secret = %written.name, error = %e, "could not put a secret back after a failed operation");
                    report.failed.get_or_insert((written.name.clone(), e));
                }
            }
        }
        report
    }

    async fn put_back(&self, written: &Written) -> Result<Option<Undone>> {
        let backend = self.backend()?;
        let name = &written.name;
        if let Some(version) = &written.version {
            match backend.read_secret(name).await {
                Ok(current) if current.version.as_ref() != Some(version) => {
                    tracing::warn!(secret = %name, "not putting a secret back: it was written again since");
                    return Ok(None);
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        let restore = |value: &SecretString, tags: &BTreeMap<String, String>| {
            let attributes = SecretAttributes {
                tags: tags.clone(),
                expires_on: None,
            };
            let value = SecretString::from(value.expose_secret());
            async move { backend.set_secret(name, &value, &attributes).await }
        };
        Ok(Some(match &written.before {
            Before::Live(value, tags) => {
                let version = restore(value, tags).await?;
                self.audited(AuditAction::Restore, &written.field, name, version);
                Undone::Restored
            }
            Before::Absent | Before::Deleted(None) => {
                self.delete_audited(name, &written.field).await?;
                Undone::Deleted
            }
            Before::Deleted(Some((value, tags))) => {
                let version = restore(value, tags).await?;
                self.audited(AuditAction::Restore, &written.field, name, version);
                self.delete_audited(name, &written.field).await?;
                Undone::Deleted
            }
        }))
    }

    async fn delete_audited(&self, name: &SecretName, field: &FieldRef) -> Result<()> {
        match self.backend()?.delete_secret(name).await {
            Ok(()) => {
                self.audited(AuditAction::Delete, field, name, None);
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes each secret a field stopped referencing, when this deployment wrote it and no
    /// row it knows references it ([`register_stored`](Self::register_stored),
    /// [`register_references`](Self::register_references)); keeps it otherwise. Says what
    /// became of each; every delete is audited.
    pub async fn release_secrets(&self, candidates: Vec<(SecretName, FieldRef)>) -> Vec<Release> {
        let mut releases: Vec<Release> = Vec::new();
        for (name, field) in candidates {
            if releases.iter().any(|r| r.name == name) {
                continue;
            }
            let outcome = self.release_one(&name, &field).await;
            releases.push(Release {
                name,
                field,
                outcome,
            });
        }
        releases
    }

    async fn release_one(&self, name: &SecretName, field: &FieldRef) -> ReleaseOutcome {
        let Ok(backend) = self.backend() else {
            return ReleaseOutcome::NoVault;
        };
        if !self.provider().is_managed() {
            return ReleaseOutcome::NoVault;
        }
        {
            let registry = self.registry();
            if let Some(by) = registry.referrer(name) {
                return ReleaseOutcome::Referenced { by: by.clone() };
            }
            let unreadable = registry.unreadable_rows();
            if unreadable > 0 {
                return ReleaseOutcome::UnreadableRows(unreadable);
            }
        }
        let current = match backend.read_secret(name).await {
            Ok(current) => current,
            Err(e) if e.is_not_found() => return ReleaseOutcome::Absent,
            Err(e) => return ReleaseOutcome::Failed(e),
        };
        if !self.owns(&current.tags) {
            return ReleaseOutcome::NotOurs {
                owner: current.tags.get(OWNER_TAG).cloned(),
            };
        }
        match backend.delete_secret(name).await {
            Ok(()) => {
                self.audited(AuditAction::Delete, field, name, None);
                ReleaseOutcome::Deleted
            }
            Err(e) if e.is_not_found() => ReleaseOutcome::Absent,
            Err(e) => ReleaseOutcome::Failed(e),
        }
    }

    /// Recovers each secret of `releases` that was deleted and that a row references now:
    /// another writer committed that row while the secret was being deleted, after the rows
    /// were read. Call it once the writers that were in flight during the deletes have ended
    /// and every row has been registered again
    /// ([`register_references`](Self::register_references)); the store does both
    /// (vaultref-store's `release_secrets` and `delete_entity`). Each recovery is audited and
    /// its outcome becomes [`ReleaseOutcome::Recovered`], or
    /// [`ReleaseOutcome::RecoveryFailed`] with the vault's error.
    pub async fn recover_referenced(&self, releases: &mut [Release]) {
        for release in releases.iter_mut() {
            if !matches!(release.outcome, ReleaseOutcome::Deleted) {
                continue;
            }
            let Some(by) = self.registry().referrer(&release.name).cloned() else {
                continue;
            };
            let Ok(backend) = self.backend() else {
                continue;
            };
            tracing::warn!(
                secret = %release.name,
                "a row written meanwhile references a secret just deleted: recovering it"
            );
            release.outcome = match backend.recover_secret(&release.name).await {
                Ok(()) => {
                    self.audited(AuditAction::Recover, &by, &release.name, None);
                    ReleaseOutcome::Recovered { by }
                }
                Err(error) => ReleaseOutcome::RecoveryFailed { by, error },
            };
        }
    }

    fn owns(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(OWNER_TAG) == Some(&self.deployment)
    }

    /// Whether this deployment may write `name`: it wrote it, or (untagged) a row references it.
    fn check_owner(&self, name: &SecretName, tags: &BTreeMap<String, String>) -> Result<()> {
        match tags.get(OWNER_TAG) {
            Some(owner) if *owner == self.deployment => Ok(()),
            Some(owner) => Err(Error::ForeignSecret {
                name: name.clone(),
                tag: OWNER_TAG,
                owner: owner.clone(),
                deployment: self.deployment.clone(),
            }),
            None if self.registry().referrer(name).is_some() => Ok(()),
            None => Err(Error::UnownedSecret {
                name: name.clone(),
                tag: OWNER_TAG,
            }),
        }
    }
}
