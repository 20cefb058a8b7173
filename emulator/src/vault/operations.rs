//! The secret operations on one vault: set, get, update, delete, get deleted, purge,
//! recover, backup and restore, with Key Vault's limits, conflicts and soft delete.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{Deleted, Secret, Vault, Version};
use super::replies::{bad_parameter, being_deleted, deleted_not_found, kv_error, not_found};
use crate::wire::{Call, Reply};

/// Largest secret value Key Vault stores (25 KiB).
const MAX_VALUE_BYTES: usize = 25 * 1024;
const MAX_CONTENT_TYPE: usize = 255;
const MAX_TAGS: usize = 15;
const MAX_TAG_CHARS: usize = 512;
const BACKUP_FORMAT: &str = "vaultref-emulator-backup/1";

/// The writable attributes of `SecretSetParameters` / `SecretUpdateParameters`.
#[derive(Debug, Default, Deserialize)]
struct AttributesIn {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

/// A set request; `Debug` redacts the value.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetIn {
    value: Option<String>,
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    attributes: Option<AttributesIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateIn {
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    attributes: Option<AttributesIn>,
}

impl fmt::Debug for SetIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetIn")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("content_type", &self.content_type)
            .field("tags", &self.tags)
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// A restore request; `Debug` redacts the blob (it holds every version's value).
#[derive(Deserialize)]
struct RestoreIn {
    value: Option<String>,
}

impl fmt::Debug for RestoreIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreIn")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct BackupBlob {
    format: String,
    secret: Secret,
}

/// A request to the secrets API, authenticated and routed to its vault: what every
/// operation needs to answer it.
pub(super) struct SecretsRequest<'c, 'a> {
    /// `scheme://host[:port]` as the client addressed the vault (ids and links use it).
    pub(super) origin: String,
    /// The emulator clock, in Unix seconds.
    pub(super) now: i64,
    /// The api-version the client sent (next links repeat it).
    pub(super) api_version: String,
    pub(super) call: &'c Call<'a>,
}

impl SecretsRequest<'_, '_> {
    pub(super) fn visible<'v>(&self, vault: &'v Vault, name: &str) -> Option<&'v Secret> {
        vault
            .secrets
            .get(&name.to_ascii_lowercase())
            .filter(|s| s.visible(self.now))
    }

    fn body<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, Reply> {
        if self.call.body.is_empty() {
            return Ok(T::default());
        }
        serde_json::from_slice(self.call.body).map_err(|e| {
            bad_parameter(&format!(
                "The request body is not a valid JSON document for this operation: {e}"
            ))
        })
    }

    fn conflict_if_blocked(&self, vault: &Vault, name: &str) -> Option<Reply> {
        let key = name.to_ascii_lowercase();
        if let Some(deleted) = vault.deleted.get(&key) {
            return Some(if deleted.visible(self.now) {
                kv_error(
                    409,
                    "Conflict",
                    &format!(
                        "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
                    ),
                    Some("ObjectIsDeletedButRecoverable"),
                )
            } else {
                being_deleted(name)
            });
        }
        if vault
            .secrets
            .get(&key)
            .is_some_and(|s| !s.visible(self.now))
        {
            return Some(kv_error(
                409,
                "Conflict",
                &format!(
                    "Secret {name} is currently being recovered and cannot be re-created; retry later."
                ),
                Some("ObjectIsBeingRecovered"),
            ));
        }
        None
    }

    pub(super) fn set(&self, vault: &mut Vault, name: &str, version_id: String) -> (Reply, bool) {
        let input: SetIn = match self.body() {
            Ok(b) => b,
            Err(r) => return (r, false),
        };
        let Some(value) = input.value else {
            return (
                bad_parameter("The request body must contain a 'value' property."),
                false,
            );
        };
        if value.len() > MAX_VALUE_BYTES {
            return (
                bad_parameter(&format!(
                    "The secret value is {} bytes; Key Vault accepts at most {MAX_VALUE_BYTES} bytes (25 KB).",
                    value.len()
                )),
                false,
            );
        }
        if let Err(r) = validate_meta(input.content_type.as_deref(), input.tags.as_ref()) {
            return (r, false);
        }
        if let Some(r) = self.conflict_if_blocked(vault, name) {
            return (r, false);
        }
        let attributes = input.attributes.unwrap_or_default();
        let version = Version {
            id: version_id,
            value,
            content_type: input.content_type,
            tags: input.tags,
            enabled: attributes.enabled.unwrap_or(true),
            nbf: attributes.nbf,
            exp: attributes.exp,
            created: self.now,
            updated: self.now,
        };
        vault.put(name, version);
        let secret = &vault.secrets[&name.to_ascii_lowercase()];
        let Some(latest) = secret.latest() else {
            return (not_found(name), true);
        };
        (
            Reply::json(200, &self.bundle(vault, secret, latest, true)),
            true,
        )
    }

    fn find_version<'v>(
        &self,
        vault: &'v Vault,
        name: &str,
        version: Option<&str>,
    ) -> Result<(&'v Secret, &'v Version), Reply> {
        let secret = self.visible(vault, name).ok_or_else(|| not_found(name))?;
        let found = match version {
            None => secret.latest(),
            Some(v) => secret
                .versions
                .iter()
                .find(|x| x.id.eq_ignore_ascii_case(v)),
        };
        found
            .map(|v| (secret, v))
            .ok_or_else(|| not_found(&format!("{name}/{}", version.unwrap_or_default())))
    }

    pub(super) fn get(&self, vault: &Vault, name: &str, version: Option<&str>) -> Reply {
        match self.find_version(vault, name, version) {
            Err(r) => r,
            Ok((_, v)) if !v.enabled => kv_error(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                Some("SecretDisabled"),
            ),
            Ok((secret, v)) => Reply::json(200, &self.bundle(vault, secret, v, true)),
        }
    }

    pub(super) fn update(
        &self,
        vault: &mut Vault,
        name: &str,
        version: Option<&str>,
    ) -> (Reply, bool) {
        let input: UpdateIn = match self.body() {
            Ok(b) => b,
            Err(r) => return (r, false),
        };
        if let Err(r) = validate_meta(input.content_type.as_deref(), input.tags.as_ref()) {
            return (r, false);
        }
        let version_id = match self.find_version(vault, name, version) {
            Ok((_, v)) => v.id.clone(),
            Err(r) => return (r, false),
        };
        let now = self.now;
        let key = name.to_ascii_lowercase();
        let Some(secret) = vault.secrets.get_mut(&key) else {
            return (not_found(name), false);
        };
        let Some(target) = secret.versions.iter_mut().find(|v| v.id == version_id) else {
            return (not_found(name), false);
        };
        if let Some(content_type) = input.content_type {
            target.content_type = Some(content_type);
        }
        if let Some(tags) = input.tags {
            target.tags = Some(tags);
        }
        if let Some(attrs) = input.attributes {
            if let Some(enabled) = attrs.enabled {
                target.enabled = enabled;
            }
            if attrs.nbf.is_some() {
                target.nbf = attrs.nbf;
            }
            if attrs.exp.is_some() {
                target.exp = attrs.exp;
            }
        }
        target.updated = now;
        let secret = &vault.secrets[&key];
        let Some(v) = secret.versions.iter().find(|v| v.id == version_id) else {
            return (not_found(name), true);
        };
        (
            Reply::json(200, &self.bundle(vault, secret, v, false)),
            true,
        )
    }

    pub(super) fn delete(
        &self,
        vault: &mut Vault,
        name: &str,
        delay: Option<i64>,
    ) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        if self.visible(vault, name).is_none() {
            return (not_found(name), false);
        }
        let Some(secret) = vault.secrets.remove(&key) else {
            return (not_found(name), false);
        };
        let deleted = Deleted {
            secret: Secret {
                visible_from: None,
                ..secret
            },
            deleted_date: self.now,
            scheduled_purge_date: self.now + i64::from(vault.retention_days) * 86_400,
            visible_from: delay.map(|d| self.now + d),
        };
        let body = self.deleted_bundle(vault, &deleted);
        vault.deleted.insert(key, deleted);
        (Reply::json(200, &body), true)
    }

    pub(super) fn get_deleted(&self, vault: &Vault, name: &str) -> Reply {
        match vault
            .deleted
            .get(&name.to_ascii_lowercase())
            .filter(|d| d.visible(self.now))
        {
            Some(deleted) => Reply::json(200, &self.deleted_bundle(vault, deleted)),
            None => deleted_not_found(name),
        }
    }

    pub(super) fn purge(&self, vault: &mut Vault, name: &str) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        match vault.deleted.get(&key) {
            None => return (deleted_not_found(name), false),
            Some(d) if !d.visible(self.now) => {
                return (being_deleted(name), false);
            }
            Some(_) => {}
        }
        if vault.purge_protection {
            return (
                kv_error(
                    403,
                    "Forbidden",
                    &format!(
                        "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: {};location=eastus",
                        vault.name
                    ),
                    None,
                ),
                false,
            );
        }
        vault.deleted.remove(&key);
        (Reply::empty(204), true)
    }

    pub(super) fn recover(
        &self,
        vault: &mut Vault,
        name: &str,
        delay: Option<i64>,
    ) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        match vault.deleted.get(&key) {
            Some(d) if d.visible(self.now) => {}
            _ => return (deleted_not_found(name), false),
        }
        let Some(deleted) = vault.deleted.remove(&key) else {
            return (deleted_not_found(name), false);
        };
        let mut secret = deleted.secret;
        secret.visible_from = delay.map(|d| self.now + d);
        let body = secret
            .latest()
            .map(|latest| self.bundle(vault, &secret, latest, false))
            .unwrap_or_default();
        vault.secrets.insert(key, secret);
        (Reply::json(200, &body), true)
    }

    pub(super) fn backup(&self, vault: &Vault, name: &str) -> Reply {
        let Some(secret) = self.visible(vault, name) else {
            return not_found(name);
        };
        let blob = BackupBlob {
            format: BACKUP_FORMAT.to_owned(),
            secret: secret.clone(),
        };
        let bytes = serde_json::to_vec(&blob).unwrap_or_default();
        Reply::json(200, &json!({"value": URL_SAFE_NO_PAD.encode(bytes)}))
    }

    pub(super) fn restore(&self, vault: &mut Vault) -> (Reply, bool) {
        let input: RestoreIn = match self.body::<Option<RestoreIn>>() {
            Ok(Some(b)) => b,
            Ok(None) => RestoreIn { value: None },
            Err(r) => return (r, false),
        };
        let Some(value) = input.value else {
            return (
                bad_parameter(
                    "The request body must contain a 'value' property with the backup blob.",
                ),
                false,
            );
        };
        let blob = URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BackupBlob>(&bytes).ok())
            .filter(|b| b.format == BACKUP_FORMAT && !b.secret.versions.is_empty());
        let Some(blob) = blob else {
            return (
                bad_parameter("Backup blob is corrupt or was not produced by a secret backup."),
                false,
            );
        };
        let key = blob.secret.name.to_ascii_lowercase();
        if vault.secrets.contains_key(&key) || vault.deleted.contains_key(&key) {
            return (
                kv_error(
                    409,
                    "Conflict",
                    &format!(
                        "Secret {} already exists in this vault (possibly soft-deleted); delete and purge it before restoring.",
                        blob.secret.name
                    ),
                    None,
                ),
                false,
            );
        }
        let mut secret = blob.secret;
        secret.visible_from = None;
        let body = secret
            .latest()
            .map(|latest| self.bundle(vault, &secret, latest, false))
            .unwrap_or_default();
        vault.secrets.insert(key, secret);
        (Reply::json(200, &body), true)
    }
}

fn validate_meta(
    content_type: Option<&str>,
    tags: Option<&BTreeMap<String, String>>,
) -> Result<(), Reply> {
    if content_type.is_some_and(|c| c.chars().count() > MAX_CONTENT_TYPE) {
        return Err(bad_parameter(&format!(
            "contentType is longer than {MAX_CONTENT_TYPE} characters."
        )));
    }
    if let Some(tags) = tags {
        if tags.len() > MAX_TAGS {
            return Err(bad_parameter(&format!(
                "A secret can have at most {MAX_TAGS} tags; {} were given.",
                tags.len()
            )));
        }
        if tags
            .iter()
            .any(|(k, v)| k.chars().count() > MAX_TAG_CHARS || v.chars().count() > MAX_TAG_CHARS)
        {
            return Err(bad_parameter(&format!(
                "Tag names and values are limited to {MAX_TAG_CHARS} characters."
            )));
        }
    }
    Ok(())
}
