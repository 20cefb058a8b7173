//! What the client returns (secrets, their properties, deleted secrets) and what it takes to
//! set or update one.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::{SecretName, SecretValue};

/// Everything about one secret version except its value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretProperties {
    /// The secret id: `https://{vault}/secrets/{name}[/{version}]`.
    pub id: String,
    /// The name, as the vault spells it.
    pub name: SecretName,
    /// The version id (32 hex characters), absent on list entries of [`list_secrets`].
    ///
    /// [`list_secrets`]: crate::SecretClient::list_secrets
    pub version: Option<String>,
    /// The content type the secret was stored with (e.g. `text/plain`).
    pub content_type: Option<String>,
    /// Tags (at most 15).
    pub tags: BTreeMap<String, String>,
    /// Whether the version can be read; a disabled version answers 403.
    pub enabled: Option<bool>,
    /// Informational "valid from" time (Key Vault does not block reads before it).
    pub not_before: Option<OffsetDateTime>,
    /// Informational expiry time (Key Vault does not block reads after it).
    pub expires_on: Option<OffsetDateTime>,
    /// When the version was created.
    pub created_on: Option<OffsetDateTime>,
    /// When the version was last updated.
    pub updated_on: Option<OffsetDateTime>,
    /// The vault's recovery level, e.g. `Recoverable+Purgeable`.
    pub recovery_level: Option<String>,
    /// Soft-delete retention in days (0 when soft delete is off).
    pub recoverable_days: Option<i32>,
    /// Whether the secret is managed by Key Vault (backs a certificate).
    pub managed: bool,
    /// The certificate key id, for certificate-backed secrets.
    pub key_id: Option<String>,
}

/// A secret version with its value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Secret {
    /// The value (zeroized on drop, redacted in `Debug`).
    pub value: SecretValue,
    /// Everything else.
    pub properties: SecretProperties,
}

/// A soft-deleted secret: the properties of its latest version plus when it was deleted and
/// when it will be purged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedSecret {
    /// Properties of the latest version (no value).
    pub properties: SecretProperties,
    /// `https://{vault}/deletedsecrets/{name}`; absent when the vault has no soft delete.
    pub recovery_id: Option<String>,
    /// When it was deleted.
    pub deleted_on: Option<OffsetDateTime>,
    /// When Key Vault will purge it.
    pub scheduled_purge_date: Option<OffsetDateTime>,
}

/// Optional properties for [`SecretClient::set_secret`](crate::SecretClient::set_secret).
///
/// ```
/// use time::macros::datetime;
/// use vaultref_keyvault::SetSecretOptions;
///
/// let options = SetSecretOptions {
///     content_type: Some("text/plain".into()),
///     tags: [("owner".to_owned(), "etl".to_owned())].into(),
///     expires_on: Some(datetime!(2030-01-01 0:00 UTC)),
///     ..SetSecretOptions::default()
/// };
/// # drop(options);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetSecretOptions {
    /// Content type (at most 255 characters).
    pub content_type: Option<String>,
    /// Tags (at most 15; names and values at most 512 characters).
    pub tags: BTreeMap<String, String>,
    /// `Some(false)` stores the version disabled.
    pub enabled: Option<bool>,
    /// Informational "valid from" time.
    pub not_before: Option<OffsetDateTime>,
    /// Informational expiry time.
    pub expires_on: Option<OffsetDateTime>,
}

/// Changes for [`SecretClient::update_secret_properties`](crate::SecretClient::update_secret_properties);
/// `None` leaves a property as it is. The value of a version cannot be changed: set a new
/// version instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretUpdate {
    /// New content type.
    pub content_type: Option<String>,
    /// New tags (replace all tags).
    pub tags: Option<BTreeMap<String, String>>,
    /// Enable or disable the version.
    pub enabled: Option<bool>,
    /// New "valid from" time.
    pub not_before: Option<OffsetDateTime>,
    /// New expiry time.
    pub expires_on: Option<OffsetDateTime>,
}
