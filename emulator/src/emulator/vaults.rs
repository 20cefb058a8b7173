//! Reaching the vaults: a handle on one vault by name (`Emulator::vault`), and the
//! default-vault shortcuts on `Emulator` itself.

use std::collections::BTreeMap;

use url::Url;

use super::Emulator;
use crate::access::AccessModel;
use crate::properties::SecretProperties;
use crate::vault::{Secret, seeded_version, valid_vault_name};

/// One vault of an [`Emulator`], by name (case-insensitive), from [`Emulator::vault`]: seed
/// and inspect its secrets bypassing HTTP, read its URL, set its access model.
///
/// Reads of a vault that does not exist find nothing; `set_secret`, `url` and
/// `set_access_model` create it (the last two only when the name is a valid vault name).
#[derive(Debug, Clone)]
pub struct VaultHandle<'e> {
    emulator: &'e Emulator,
    name: String,
}

impl Emulator {
    /// The vault `name` (created when something is stored in it or its URL is asked for).
    #[must_use]
    pub fn vault(&self, name: &str) -> VaultHandle<'_> {
        VaultHandle {
            emulator: self,
            name: name.to_owned(),
        }
    }

    /// The default vault, served at [`Emulator::vault_url`]. Its name is read under the
    /// state lock, which is released at once.
    fn default_vault(&self) -> VaultHandle<'_> {
        let name = self.service.state().vaults.default.clone();
        self.vault(&name)
    }

    /// Stores a new version of `name` in the default vault, bypassing HTTP; returns its version id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        self.default_vault().set_secret(name, value)
    }

    /// The latest value of `name` in the default vault, if it exists and is not deleted.
    #[must_use]
    pub fn secret_value(&self, name: &str) -> Option<String> {
        self.default_vault().secret_value(name)
    }

    /// The attributes of the latest version of `name` in the default vault (tags, expiry,
    /// content type, …; never the value), if it exists and is not deleted.
    #[must_use]
    pub fn secret_properties(&self, name: &str) -> Option<SecretProperties> {
        self.default_vault().secret_properties(name)
    }

    /// The tags of the latest version of `name` in the default vault (empty when it has
    /// none); `None` when the secret does not exist or is deleted.
    #[must_use]
    pub fn secret_tags(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.default_vault().secret_tags(name)
    }

    /// The expiry (`attributes.exp`, seconds since the Unix epoch) of the latest version of
    /// `name` in the default vault; `None` when it has no expiry, does not exist or is deleted
    /// (use [`Emulator::secret_properties`] to tell these apart).
    #[must_use]
    pub fn secret_expires_on(&self, name: &str) -> Option<i64> {
        self.default_vault().secret_expires_on(name)
    }

    /// Names of the live (not deleted) secrets of the default vault, sorted case-insensitively.
    #[must_use]
    pub fn secret_names(&self) -> Vec<String> {
        self.default_vault().secret_names()
    }

    /// Names of the soft-deleted secrets of the default vault.
    #[must_use]
    pub fn deleted_secret_names(&self) -> Vec<String> {
        self.default_vault().deleted_secret_names()
    }

    /// Number of versions of `name` in the default vault (0 when absent or deleted).
    #[must_use]
    pub fn version_count(&self, name: &str) -> usize {
        self.default_vault().version_count(name)
    }
}

impl VaultHandle<'_> {
    /// The vault's name as given.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `https://{name}.localhost:PORT/` (`http://` without TLS); the vault is created if it
    /// does not exist yet. (`*.localhost` may not resolve through glibc: map it to 127.0.0.1
    /// in the client, see docs/emulator.md.) An invalid vault name is not created and its
    /// requests get 404.
    #[must_use]
    pub fn url(&self) -> Url {
        let emulator = self.emulator;
        if valid_vault_name(&self.name) {
            emulator.service.state().vaults.ensure(&self.name);
        }
        Url::parse(&format!(
            "{}://{}.localhost:{}/",
            emulator.scheme(),
            self.name.to_ascii_lowercase(),
            emulator.port
        ))
        .unwrap_or_else(|_| emulator.vault_url())
    }

    /// Stores a new version of `name` (the vault is created if missing), bypassing HTTP;
    /// returns its version id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        let service = &self.emulator.service;
        let now = service.clock.now();
        let (id, (generation, snapshot)) = {
            let mut state = service.state();
            let id = state.random.hex32();
            state
                .vaults
                .ensure(&self.name)
                .put(name, seeded_version(id.clone(), value, now));
            (id, state.changed())
        };
        service.persist(generation, &snapshot);
        id
    }

    /// What `read` makes of the live (not deleted) secret `name`, if there is one.
    fn with_secret<T>(&self, name: &str, read: impl FnOnce(&Secret) -> Option<T>) -> Option<T> {
        let state = self.emulator.service.state();
        read(state.vaults.secret(&self.name, name)?)
    }

    /// The latest value of `name`, if it exists and is not deleted.
    #[must_use]
    pub fn secret_value(&self, name: &str) -> Option<String> {
        self.with_secret(name, |s| s.versions.last().map(|v| v.value.clone()))
    }

    /// The attributes of the latest version of `name` (never its value), if it exists and
    /// is not deleted.
    #[must_use]
    pub fn secret_properties(&self, name: &str) -> Option<SecretProperties> {
        self.with_secret(name, SecretProperties::of)
    }

    /// The tags of the latest version of `name` (empty when it has none); `None` when the
    /// secret does not exist or is deleted.
    #[must_use]
    pub fn secret_tags(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.secret_properties(name).map(|p| p.tags)
    }

    /// The expiry (`attributes.exp`, Unix seconds) of the latest version of `name`; `None`
    /// when it has no expiry, does not exist or is deleted.
    #[must_use]
    pub fn secret_expires_on(&self, name: &str) -> Option<i64> {
        self.secret_properties(name).and_then(|p| p.expires_on)
    }

    /// Names of the live (not deleted) secrets, sorted case-insensitively.
    #[must_use]
    pub fn secret_names(&self) -> Vec<String> {
        let state = self.emulator.service.state();
        state
            .vaults
            .get(&self.name)
            .map(|v| v.secrets.values().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Names of the soft-deleted secrets.
    #[must_use]
    pub fn deleted_secret_names(&self) -> Vec<String> {
        let state = self.emulator.service.state();
        state
            .vaults
            .get(&self.name)
            .map(|v| v.deleted.values().map(|d| d.secret.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Number of versions of `name` (0 when absent or deleted).
    #[must_use]
    pub fn version_count(&self, name: &str) -> usize {
        self.with_secret(name, |s| Some(s.versions.len()))
            .unwrap_or(0)
    }

    /// Makes this vault alone (created if missing) authorize like `model`, e.g. one RBAC vault
    /// next to access-policy ones. An invalid vault name changes nothing.
    pub fn set_access_model(&self, model: AccessModel) {
        if valid_vault_name(&self.name) {
            self.emulator
                .service
                .state()
                .vaults
                .ensure(&self.name)
                .access_model = model;
        }
    }
}
