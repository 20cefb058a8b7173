//! The seam to the vault: [`SecretBackend`], and the `in-memory` provider on it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{BackendErrorKind, Error, Result};
use crate::naming::SecretName;

/// What is written with a secret besides its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretAttributes {
    /// Tags (`secretsManagerConfiguration.tags`).
    pub tags: BTreeMap<String, String>,
    /// Expiry as Unix seconds (`parameters.expiresAfterDays` after the write), if any.
    pub expires_on: Option<u64>,
}

/// A secret's latest version as the vault holds it: value, version and tags.
///
/// `Debug` shows the version and the tags, never the value.
#[derive(Clone)]
#[non_exhaustive]
pub struct VaultSecret {
    /// The value.
    pub value: SecretString,
    /// The version id, when the vault reports one.
    pub version: Option<String>,
    /// The tags of that version.
    pub tags: BTreeMap<String, String>,
}

impl VaultSecret {
    /// A secret with this value, version and tags.
    #[must_use]
    pub fn new(
        value: SecretString,
        version: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> Self {
        Self {
            value,
            version,
            tags,
        }
    }
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecret")
            .field("version", &self.version)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// A secret store with Key Vault's semantics: names are [`SecretName`]s, a write creates a new
/// version, a delete is soft (the name stays taken until recovered or purged).
///
/// Implementations classify failures with [`Error::Backend`] and a [`BackendErrorKind`]; the
/// store path relies on `NotFound` and `DeletedButRecoverable` being exact.
#[async_trait]
pub trait SecretBackend: Send + Sync + fmt::Debug {
    /// Writes `value` under `name` (a new version when the name exists); returns the version
    /// id the vault gave the write, when it reports one.
    async fn set_secret(
        &self,
        name: &SecretName,
        value: &SecretString,
        attributes: &SecretAttributes,
    ) -> Result<Option<String>>;

    /// Reads the current value of `name`.
    async fn get_secret(&self, name: &SecretName) -> Result<SecretString>;

    /// Reads the current version of `name` with its version id and tags (ownership checks and
    /// putting a secret back need them). The default reads the value alone, without version or
    /// tags: a backend that cannot tell who wrote a secret gets no secret overwritten or
    /// deleted unless a row references it.
    async fn read_secret(&self, name: &SecretName) -> Result<VaultSecret> {
        Ok(VaultSecret::new(
            self.get_secret(name).await?,
            None,
            BTreeMap::new(),
        ))
    }

    /// The tags of the soft-deleted secret `name` (`NotFound` when no deleted secret has that
    /// name). The default knows no tags.
    async fn deleted_secret_tags(&self, name: &SecretName) -> Result<BTreeMap<String, String>> {
        let _ = name;
        Ok(BTreeMap::new())
    }

    /// Soft-deletes `name`.
    async fn delete_secret(&self, name: &SecretName) -> Result<()>;

    /// Recovers the soft-deleted `name`, with its last value; returns once the secret can be
    /// written again (Key Vault's recovery is a long-running operation: implementations wait
    /// for it to complete).
    async fn recover_secret(&self, name: &SecretName) -> Result<()>;
}

/// A stored secret of the in-memory backend.
struct Stored {
    value: SecretString,
    attributes: SecretAttributes,
    version: String,
}

#[derive(Default)]
struct State {
    live: BTreeMap<SecretName, Stored>,
    deleted: BTreeMap<SecretName, Stored>,
    writes: usize,
}

/// The `in-memory` provider: a process-local vault with Key Vault's soft-delete rules
/// (writing a deleted name fails with `DeletedButRecoverable` until it is recovered).
#[derive(Default)]
pub struct InMemoryBackend {
    state: Mutex<State>,
}

impl InMemoryBackend {
    /// An empty vault.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Names of the live secrets, in order.
    #[must_use]
    pub fn names(&self) -> Vec<SecretName> {
        self.state().live.keys().cloned().collect()
    }

    /// Names of the soft-deleted secrets, in order.
    #[must_use]
    pub fn deleted_names(&self) -> Vec<SecretName> {
        self.state().deleted.keys().cloned().collect()
    }

    /// The attributes `name` was last written with.
    #[must_use]
    pub fn attributes(&self, name: &SecretName) -> Option<SecretAttributes> {
        self.state()
            .live
            .get(name)
            .map(|stored| stored.attributes.clone())
    }

    /// How many writes were accepted since creation.
    #[must_use]
    pub fn write_count(&self) -> usize {
        self.state().writes
    }

    fn not_found(name: &SecretName) -> Error {
        Error::Backend {
            kind: BackendErrorKind::NotFound,
            name: name.clone(),
            detail: "no such secret in the in-memory vault".to_owned(),
        }
    }
}

impl fmt::Debug for InMemoryBackend {
    /// Names only, never values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("InMemoryBackend")
            .field("live", &state.live.keys().collect::<Vec<_>>())
            .field("deleted", &state.deleted.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl SecretBackend for InMemoryBackend {
    async fn set_secret(
        &self,
        name: &SecretName,
        value: &SecretString,
        attributes: &SecretAttributes,
    ) -> Result<Option<String>> {
        let mut state = self.state();
        if state.deleted.contains_key(name) {
            return Err(Error::Backend {
                kind: BackendErrorKind::DeletedButRecoverable,
                name: name.clone(),
                detail: "the name belongs to a deleted secret".to_owned(),
            });
        }
        state.writes += 1;
        // Key Vault's version ids are 32 hex digits.
        let version = format!("{:032x}", state.writes);
        state.live.insert(
            name.clone(),
            Stored {
                value: SecretString::from(value.expose_secret()),
                attributes: attributes.clone(),
                version: version.clone(),
            },
        );
        Ok(Some(version))
    }

    async fn get_secret(&self, name: &SecretName) -> Result<SecretString> {
        self.state()
            .live
            .get(name)
            .map(|stored| SecretString::from(stored.value.expose_secret()))
            .ok_or_else(|| Self::not_found(name))
    }

    async fn read_secret(&self, name: &SecretName) -> Result<VaultSecret> {
        self.state()
            .live
            .get(name)
            .map(|stored| {
                VaultSecret::new(
                    SecretString::from(stored.value.expose_secret()),
                    Some(stored.version.clone()),
                    stored.attributes.tags.clone(),
                )
            })
            .ok_or_else(|| Self::not_found(name))
    }

    async fn deleted_secret_tags(&self, name: &SecretName) -> Result<BTreeMap<String, String>> {
        self.state()
            .deleted
            .get(name)
            .map(|stored| stored.attributes.tags.clone())
            .ok_or_else(|| Self::not_found(name))
    }

    async fn delete_secret(&self, name: &SecretName) -> Result<()> {
        let mut state = self.state();
        let stored = state
            .live
            .remove(name)
            .ok_or_else(|| Self::not_found(name))?;
        state.deleted.insert(name.clone(), stored);
        Ok(())
    }

    async fn recover_secret(&self, name: &SecretName) -> Result<()> {
        let mut state = self.state();
        let stored = state
            .deleted
            .remove(name)
            .ok_or_else(|| Self::not_found(name))?;
        state.live.insert(name.clone(), stored);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SecretName {
        SecretName::new(s).unwrap()
    }

    #[tokio::test]
    async fn soft_delete_and_recover_follow_key_vault() {
        let vault = InMemoryBackend::new();
        let n = name("a-secret");
        let attrs = SecretAttributes::default();
        vault
            .set_secret(&n, &SecretString::from("v1"), &attrs)
            .await
            .unwrap();
        assert_eq!(vault.get_secret(&n).await.unwrap().expose_secret(), "v1");
        vault.delete_secret(&n).await.unwrap();
        let kind = |r: Result<()>| r.unwrap_err().backend_kind();
        let set_kind = |r: Result<Option<String>>| r.unwrap_err().backend_kind();
        assert_eq!(
            vault.get_secret(&n).await.unwrap_err().backend_kind(),
            Some(BackendErrorKind::NotFound)
        );
        assert_eq!(
            set_kind(
                vault
                    .set_secret(&n, &SecretString::from("v2"), &attrs)
                    .await
            ),
            Some(BackendErrorKind::DeletedButRecoverable)
        );
        assert_eq!(
            kind(vault.delete_secret(&n).await),
            Some(BackendErrorKind::NotFound)
        );
        vault.recover_secret(&n).await.unwrap();
        assert_eq!(vault.get_secret(&n).await.unwrap().expose_secret(), "v1");
        assert_eq!(
            kind(vault.recover_secret(&n).await),
            Some(BackendErrorKind::NotFound)
        );
        assert_eq!(vault.write_count(), 1);
        assert!(!format!("{vault:?}").contains("v1"));
    }
}
