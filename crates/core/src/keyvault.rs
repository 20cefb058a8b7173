//! The `managed-azure-kv` / `azure-kv` provider: a [`SecretBackend`] over vaultref-keyvault's
//! [`SecretClient`], built from the configuration or from a consumer loader.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use url::Url;
use vaultref_keyvault::{
    ConnectOptions, SecretClient, SecretValue, SetSecretOptions, VaultCredential,
};
use vaultref_transport::redact;

pub use vaultref_keyvault::WaitOptions;

use crate::backend::{SecretAttributes, SecretBackend, VaultSecret};
use crate::config::{Config, KeyVaultConfig, ProviderKind};
use crate::env::Environment;
use crate::error::{BackendErrorKind, Error, Result};
use crate::loader::ConsumerVault;
use crate::naming::SecretName;

/// Azure Key Vault as a [`SecretBackend`].
///
/// Failures are classified for the store path and the resolver: 404 `SecretNotFound` →
/// [`BackendErrorKind::NotFound`], 409 `ObjectIsDeletedButRecoverable` →
/// [`BackendErrorKind::DeletedButRecoverable`], 403 → [`BackendErrorKind::Forbidden`], 401 and
/// credential failures → [`BackendErrorKind::Unauthenticated`], 429 after the client's retries
/// → [`BackendErrorKind::Throttled`], no answer → [`BackendErrorKind::Unreachable`]. The
/// detail keeps the client's message, which says what to fix and never holds a value.
///
/// Deletes and recoveries wait until Key Vault shows their effect ([`WaitOptions`]), so that
/// the next write of the name behaves predictably.
#[derive(Clone)]
pub struct KeyVaultBackend {
    client: SecretClient,
    wait: WaitOptions,
}

impl fmt::Debug for KeyVaultBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVaultBackend")
            .field("vault", &self.client.vault_url().as_str())
            .field("wait", &self.wait)
            .finish()
    }
}

impl KeyVaultBackend {
    /// A backend over an existing client.
    #[must_use]
    pub fn new(client: SecretClient) -> Self {
        Self {
            client,
            wait: WaitOptions::default(),
        }
    }

    /// How long deletes and recoveries are polled for.
    #[must_use]
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// The client.
    #[must_use]
    pub fn client(&self) -> &SecretClient {
        &self.client
    }

    /// The server side: the vault and credential of `secretsManagerConfiguration.parameters`.
    /// As in OpenMetadata's server, a client-secret credential is used when `tenantId` is set,
    /// else the default chain (environment, workload identity, managed identity) read from
    /// `env`. `authorityHost` and `caCertFile` (else `SSL_CERT_FILE`) apply to both.
    ///
    /// # Errors
    /// [`Error::VaultClient`] when the credential or the HTTP client cannot be built (an
    /// invalid tenant id, an unreadable CA file, an invalid `AZURE_TOKEN_CREDENTIALS`...).
    pub fn from_config(config: &KeyVaultConfig, env: &Environment) -> Result<Self> {
        let credential = match (&config.tenant_id, &config.client_id, &config.client_secret) {
            (Some(tenant_id), Some(client_id), Some(client_secret)) => {
                VaultCredential::ClientSecret {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: SecretString::from(client_secret.expose_secret()),
                }
            }
            // The configuration refuses a tenantId without client id and secret.
            _ => VaultCredential::DefaultChain,
        };
        connect(
            &config.vault_url,
            &credential,
            config.authority_host.clone(),
            config.ca_cert_file.clone(),
            env,
        )
    }

    /// The consumer side: the vault and credential a loader found (`env`, `airflow`). The
    /// authority host comes from `AZURE_AUTHORITY_HOST` and extra CA certificates from
    /// `SSL_CERT_FILE`, both read from `env`.
    ///
    /// # Errors
    /// As [`KeyVaultBackend::from_config`].
    pub fn from_consumer(vault: &ConsumerVault, env: &Environment) -> Result<Self> {
        connect(&vault.vault_url, &vault.credential, None, None, env)
    }
}

/// The vault backend `config` names: Key Vault for `managed-azure-kv`, and for `azure-kv` when
/// its parameters name a vault (only consumers read it then); `None` for `db` and `in-memory`
/// (the manager makes its own in-memory vault).
///
/// # Errors
/// As [`KeyVaultBackend::from_config`].
pub fn connect_backend(
    config: &Config,
    env: &Environment,
) -> Result<Option<Arc<dyn SecretBackend>>> {
    let sm = &config.secrets_manager;
    match (sm.provider, &sm.key_vault) {
        (ProviderKind::ManagedAzureKeyVault | ProviderKind::AzureKeyVault, Some(kv)) => {
            Ok(Some(Arc::new(KeyVaultBackend::from_config(kv, env)?)))
        }
        _ => Ok(None),
    }
}

/// The vault a consumer resolving `secret:` references reads, as `config` says: the Key Vault of
/// `secretsManagerConfiguration.parameters` when it names one, else the vault the
/// `secretsManagerLoader` finds (`env`, `airflow`; Airflow's file is read where Airflow looks
/// for it).
///
/// # Errors
/// [`Error::Config`] when neither names a vault (the `noop` loader), else as
/// [`KeyVaultBackend::from_config`] / [`KeyVaultBackend::from_consumer`].
pub fn consumer_backend(config: &Config, env: &Environment) -> Result<Arc<dyn SecretBackend>> {
    Ok(Arc::new(KeyVaultBackend::for_consumers(config, env)?))
}

impl KeyVaultBackend {
    /// [`consumer_backend`]'s vault as its concrete type, for callers that need the client
    /// (the operator's `secret` commands).
    ///
    /// # Errors
    /// As [`consumer_backend`].
    pub fn for_consumers(config: &Config, env: &Environment) -> Result<Self> {
        if let Some(kv) = &config.secrets_manager.key_vault {
            return Self::from_config(kv, env);
        }
        if config.secrets_manager_loader == crate::config::LoaderKind::Noop {
            return Err(crate::Error::config(
                "secretsManagerConfiguration.parameters",
                "name no Key Vault, and the secretsManagerLoader is noop: set \
                 secretsManagerConfiguration.parameters.vaultName (or vaultUrl), or set \
                 pipelineServiceClientConfiguration.secretsManagerLoader to env or airflow",
            ));
        }
        let vault = ConsumerVault::load_from(config.secrets_manager_loader, env)?;
        Self::from_consumer(&vault, env)
    }
}

/// The client, with its credential wired to the same HTTP client (vaultref-keyvault's
/// [`SecretClient::connect`]).
fn connect(
    vault_url: &Url,
    credential: &VaultCredential,
    authority_host: Option<Url>,
    ca_cert_file: Option<PathBuf>,
    env: &Environment,
) -> Result<KeyVaultBackend> {
    let options = ConnectOptions {
        authority_host,
        ca_cert_file,
        env: env.clone(),
        user_agent: concat!("vaultref-core/", env!("CARGO_PKG_VERSION")).to_owned(),
        ..ConnectOptions::default()
    };
    KeyVaultBackend::connect(vault_url, credential, options)
}

impl KeyVaultBackend {
    /// A backend for `vault_url` with `credential`, built as `options` say (vaultref-keyvault's
    /// [`SecretClient::connect`]: one HTTP client shared by the credential and the vault;
    /// `AZURE_*` / `IDENTITY_*` and `SSL_CERT_FILE` read from `options.env`).
    ///
    /// # Errors
    /// [`Error::VaultClient`] when the credential or the HTTP client cannot be built.
    pub fn connect(
        vault_url: &Url,
        credential: &VaultCredential,
        options: ConnectOptions,
    ) -> Result<Self> {
        SecretClient::connect(vault_url, credential, options)
            .map(KeyVaultBackend::new)
            .map_err(|e| Error::VaultClient {
                vault: redact(vault_url),
                detail: e.to_string(),
            })
    }
}

impl Error {
    /// Core's error for a Key Vault client failure on `name`, classified for the store path and
    /// the resolver ([`BackendErrorKind`]); the detail keeps the client's message.
    #[must_use]
    pub fn from_key_vault(name: &SecretName, error: &vaultref_keyvault::Error) -> Self {
        use vaultref_keyvault::Error as Kv;
        let kind = match error {
            Kv::NotFound { .. } => BackendErrorKind::NotFound,
            Kv::DeletedButRecoverable { .. } => BackendErrorKind::DeletedButRecoverable,
            Kv::Forbidden { .. } => BackendErrorKind::Forbidden,
            Kv::Unauthorized { .. } | Kv::Credential(_) => BackendErrorKind::Unauthenticated,
            Kv::Throttled { .. } => BackendErrorKind::Throttled,
            Kv::Transport { .. } => BackendErrorKind::Unreachable,
            _ => BackendErrorKind::Other,
        };
        Error::Backend {
            kind,
            name: name.clone(),
            detail: error.to_string(),
        }
    }
}

fn expiry(attributes: &SecretAttributes) -> Option<OffsetDateTime> {
    let seconds = i64::try_from(attributes.expires_on?).ok()?;
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

#[async_trait]
impl SecretBackend for KeyVaultBackend {
    async fn set_secret(
        &self,
        name: &SecretName,
        value: &SecretString,
        attributes: &SecretAttributes,
    ) -> Result<Option<String>> {
        let options = SetSecretOptions {
            tags: attributes.tags.clone(),
            expires_on: expiry(attributes),
            ..SetSecretOptions::default()
        };
        let secret = self
            .client
            .set_secret(name, &SecretValue::from(value.expose_secret()), &options)
            .await
            .map_err(|e| Error::from_key_vault(name, &e))?;
        Ok(secret.properties.version)
    }

    async fn get_secret(&self, name: &SecretName) -> Result<SecretString> {
        let secret = self
            .client
            .get_secret(name)
            .await
            .map_err(|e| Error::from_key_vault(name, &e))?;
        Ok(SecretString::from(secret.value.expose()))
    }

    async fn read_secret(&self, name: &SecretName) -> Result<VaultSecret> {
        let secret = self
            .client
            .get_secret(name)
            .await
            .map_err(|e| Error::from_key_vault(name, &e))?;
        Ok(VaultSecret::new(
            SecretString::from(secret.value.expose()),
            secret.properties.version,
            secret.properties.tags,
        ))
    }

    async fn deleted_secret_tags(&self, name: &SecretName) -> Result<BTreeMap<String, String>> {
        let deleted = self
            .client
            .get_deleted_secret(name)
            .await
            .map_err(|e| Error::from_key_vault(name, &e))?;
        Ok(deleted.properties.tags)
    }

    async fn delete_secret(&self, name: &SecretName) -> Result<()> {
        self.client
            .delete_secret_and_wait(name, &self.wait)
            .await
            .map(drop)
            .map_err(|e| Error::from_key_vault(name, &e))
    }

    async fn recover_secret(&self, name: &SecretName) -> Result<()> {
        self.client
            .recover_deleted_secret_and_wait(name, &self.wait)
            .await
            .map(drop)
            .map_err(|e| Error::from_key_vault(name, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_the_unix_time_given() {
        let attributes = SecretAttributes {
            expires_on: Some(86_400),
            ..SecretAttributes::default()
        };
        assert_eq!(
            expiry(&attributes).unwrap(),
            time::macros::datetime!(1970-01-02 0:00 UTC)
        );
        assert_eq!(expiry(&SecretAttributes::default()), None);
    }
}
