//! What a vault stores: secrets with their versions, soft-deleted secrets, and the vaults
//! themselves with the settings that shape their replies.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::access::AccessModel;
use crate::clock::unix_seconds;

/// One version of a secret. `Debug` redacts the value.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) id: String,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<i64>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Version")
            .field("id", &self.id)
            .field("value", &"<redacted>")
            .field("content_type", &self.content_type)
            .field("tags", &self.tags)
            .field("enabled", &self.enabled)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}

/// A secret: its name as first created and its versions, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Secret {
    pub(crate) name: String,
    pub(crate) versions: Vec<Version>,
    /// While a recovery is "in progress" (see `Emulator::set_recover_delay`), invisible until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) visible_from: Option<i64>,
}

impl Secret {
    pub(super) fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
    pub(super) fn visible(&self, now: i64) -> bool {
        self.visible_from.is_none_or(|t| now >= t)
    }
}

/// A soft-deleted secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Deleted {
    pub(crate) secret: Secret,
    pub(crate) deleted_date: i64,
    pub(crate) scheduled_purge_date: i64,
    /// While the deletion is "in progress", invisible until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) visible_from: Option<i64>,
}

impl Deleted {
    pub(super) fn visible(&self, now: i64) -> bool {
        self.visible_from.is_none_or(|t| now >= t)
    }
}

/// One vault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Vault {
    pub(crate) name: String,
    pub(crate) purge_protection: bool,
    pub(crate) retention_days: u32,
    /// How 403s look (access policies unless set otherwise).
    #[serde(default)]
    pub(crate) access_model: AccessModel,
    /// Keyed by lowercase name: names are case-insensitive.
    pub(crate) secrets: BTreeMap<String, Secret>,
    pub(crate) deleted: BTreeMap<String, Deleted>,
}

impl Vault {
    pub(crate) fn new(
        name: &str,
        purge_protection: bool,
        retention_days: u32,
        access_model: AccessModel,
    ) -> Self {
        Self {
            name: name.to_owned(),
            purge_protection,
            retention_days,
            access_model,
            secrets: BTreeMap::new(),
            deleted: BTreeMap::new(),
        }
    }

    pub(super) fn recovery_level(&self) -> &'static str {
        match (self.purge_protection, self.retention_days >= 90) {
            (true, true) => "Recoverable",
            (false, true) => "Recoverable+Purgeable",
            (true, false) => "CustomizedRecoverable",
            (false, false) => "CustomizedRecoverable+Purgeable",
        }
    }

    /// Adds a version directly (the `Emulator::set_secret` seeding path).
    pub(crate) fn put(&mut self, name: &str, version: Version) {
        self.secrets
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| Secret {
                name: name.to_owned(),
                versions: Vec::new(),
                visible_from: None,
            })
            .versions
            .push(version);
    }
}

/// All vaults, the default one, and the delays of long-running operations.
#[derive(Debug)]
pub(crate) struct Vaults {
    /// The vault served at `127.0.0.1:PORT` and `localhost:PORT`.
    pub(crate) default: String,
    pub(crate) vaults: BTreeMap<String, Vault>,
    pub(crate) recover_delay: Duration,
    pub(crate) delete_delay: Duration,
    pub(crate) purge_protection: bool,
    pub(crate) retention_days: u32,
    /// The access model of vaults created from now on.
    pub(crate) access_model: AccessModel,
}

impl Vaults {
    pub(crate) fn get(&self, name: &str) -> Option<&Vault> {
        self.vaults.get(&name.to_ascii_lowercase())
    }

    /// The live (not deleted) secret `name` of vault `vault`; both names are case-insensitive.
    pub(crate) fn secret(&self, vault: &str, name: &str) -> Option<&Secret> {
        self.get(vault)?.secrets.get(&name.to_ascii_lowercase())
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Vault> {
        self.vaults.get_mut(&name.to_ascii_lowercase())
    }

    /// The vault `name`, created if missing.
    pub(crate) fn ensure(&mut self, name: &str) -> &mut Vault {
        let (protection, retention, model) = (
            self.purge_protection,
            self.retention_days,
            self.access_model,
        );
        self.vaults
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| Vault::new(name, protection, retention, model))
    }
}

/// Whether `name` is a valid vault name (3-24 of `0-9a-zA-Z-`).
pub(crate) fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `name` is a valid secret name (1-127 of `0-9a-zA-Z-`).
pub(crate) fn valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A version for direct seeding through the library API.
pub(crate) fn seeded_version(id: String, value: &str, now: SystemTime) -> Version {
    let now = unix_seconds(now);
    Version {
        id,
        value: value.to_owned(),
        content_type: None,
        tags: None,
        enabled: true,
        nbf: None,
        exp: None,
        created: now,
        updated: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_like_key_vault() {
        assert!(valid_secret_name("db-Pass-1"));
        assert!(valid_secret_name("1-leading-digit"));
        assert!(!valid_secret_name("under_score"));
        assert!(!valid_secret_name(""));
        assert!(!valid_secret_name(&"a".repeat(128)));
        assert!(valid_secret_name(&"a".repeat(127)));
        assert!(valid_vault_name("my-vault"));
        assert!(!valid_vault_name("ab"));
    }

    #[test]
    fn debug_of_stored_versions_redacts_the_value() {
        let mut vault = Vault::new("v", false, 90, AccessModel::default());
        vault.put(
            "db",
            Version {
                id: "0123".into(),
                value: "s3cr3t-value".into(),
                content_type: None,
                tags: None,
                enabled: true,
                nbf: None,
                exp: None,
                created: 1,
                updated: 1,
            },
        );
        let shown = format!("{vault:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("0123"), "{shown}");
    }
}
