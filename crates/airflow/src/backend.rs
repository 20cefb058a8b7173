//! [`AirflowBackend`]: Airflow's lookups over Key Vault, through the resolver's cache.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt as _;
use secrecy::{ExposeSecret, SecretString};
use vaultref_keyvault::{
    ConnectOptions, ListOptions, SecretValue, SetSecretOptions, VaultCredential,
};

use vaultref_core::SecretBackend;

use crate::connection::{AirflowConnection, ConnectionForm};
use crate::error::Error;
use crate::error::Result;
use crate::naming::{AirflowKind, AirflowNaming, NameCandidate, NamePlan};
use crate::settings::AirflowSettings;
use vaultref_core::Environment;
use vaultref_core::KeyVaultBackend;
use vaultref_core::SecretName;
use vaultref_core::{Resolver, ResolverOptions};

/// Tag on secrets vaultref writes: the kind (`connection`, `variable`, `config`).
pub const TAG_KIND: &str = "airflow-kind";
/// Tag on secrets vaultref writes: the id or key as given (names lose `_` and case).
pub const TAG_ID: &str = "airflow-id";
/// Tag on team-scoped secrets vaultref writes: the team.
pub const TAG_TEAM: &str = "airflow-team";

/// A vault secret under one of the backend's prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedSecret {
    /// The kind its prefix says.
    pub kind: AirflowKind,
    /// The secret name.
    pub name: String,
    /// The id it was written for, when vaultref wrote it (names alone cannot tell `a_b`
    /// from `a-b`).
    pub id: Option<String>,
    /// The team, for a team-scoped secret vaultref wrote.
    pub team: Option<String>,
}

/// Airflow's secrets in Key Vault, read and written as `AzureKeyVaultBackend` names them.
///
/// Unlike the backend, which reads the vault on every lookup (apache/airflow#29486), lookups go
/// through a [`Resolver`]: one read per name however many callers ask at once, values cached
/// for a TTL, misses remembered for a while. A missing secret, a disabled kind, an invalid
/// name and (in multi-team mode) an ambiguous id are "no value", as in Airflow; the vault's
/// other failures are errors.
#[derive(Debug)]
pub struct AirflowBackend {
    naming: AirflowNaming,
    vault: KeyVaultBackend,
    resolver: Resolver,
}

impl AirflowBackend {
    /// A backend over `vault`, naming as `naming` says, caching as `options` say.
    ///
    /// A stored `"null"` is always read as it is here: it is a value like any other for Airflow.
    #[must_use]
    pub fn new(
        naming: AirflowNaming,
        vault: KeyVaultBackend,
        mut options: ResolverOptions,
    ) -> Self {
        options.legacy_null_as_empty = false;
        let resolver = Resolver::new(Arc::new(vault.clone()) as Arc<dyn SecretBackend>, options);
        Self {
            naming,
            vault,
            resolver,
        }
    }

    /// Connects as `settings` say (vault, credential chosen as the provider chooses it, SDK
    /// options), reading credential variables (`AZURE_*`, `IDENTITY_*`) and `SSL_CERT_FILE`
    /// from `env`.
    ///
    /// # Errors
    /// [`Error::Core`](crate::Error::Core) holding vaultref-core's `Error::VaultClient` when
    /// the credential or the HTTP client cannot be built.
    pub fn connect(
        settings: &AirflowSettings,
        env: &Environment,
        options: ResolverOptions,
    ) -> Result<Self> {
        let chain = settings.credential.chain_options();
        let (credential, additionally_allowed_tenants) = match (&settings.credential, chain) {
            (
                crate::settings::AirflowCredential::ClientSecret {
                    tenant_id,
                    client_id,
                    client_secret,
                },
                _,
            ) => (
                VaultCredential::ClientSecret {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                },
                Vec::new(),
            ),
            (_, Some((chain, tenants))) => (VaultCredential::DefaultChainWith(chain), tenants),
            (_, None) => (VaultCredential::DefaultChain, Vec::new()),
        };
        let client = ConnectOptions {
            ca_cert_file: settings.ca_cert_file.clone(),
            env: env.clone(),
            user_agent: concat!("vaultref-airflow/", env!("CARGO_PKG_VERSION")).to_owned(),
            verify_challenge_resource: settings.verify_challenge_resource,
            api_version: settings.api_version.clone(),
            connect_timeout: settings.connect_timeout,
            additionally_allowed_tenants,
            ..ConnectOptions::default()
        };
        let vault = KeyVaultBackend::connect(&settings.vault_url, &credential, client)?;
        Ok(Self::new(settings.naming.clone(), vault, options))
    }

    /// The naming rules.
    #[must_use]
    pub fn naming(&self) -> &AirflowNaming {
        &self.naming
    }

    /// The vault.
    #[must_use]
    pub fn vault(&self) -> &KeyVaultBackend {
        &self.vault
    }

    /// The stored value for `id` of `kind`, looked up as the backend does for a task of `team`:
    /// the team-scoped name first, then the global one. `None` when the backend would return
    /// none (the reason is logged as a warning, as Airflow does).
    ///
    /// # Errors
    /// The vault's failures other than "not found" (denied, throttled, unreachable...).
    pub async fn get(
        &self,
        kind: AirflowKind,
        id: &str,
        team: Option<&str>,
    ) -> Result<Option<SecretString>> {
        let names = match self.naming.plan(kind, id, team) {
            NamePlan::Disabled => return Ok(None),
            NamePlan::AmbiguousTeamId { normalized } => {
                tracing::warn!(%kind, id, normalized, "the id holds the team separator `--`: ambiguous in multi-team mode, not looked up");
                return Ok(None);
            }
            NamePlan::Names(names) => names,
        };
        for candidate in names {
            match candidate {
                NameCandidate::Invalid(name) => {
                    tracing::warn!(%kind, id, name, "not a valid Key Vault secret name: not looked up");
                }
                NameCandidate::Valid(name) => match self.resolver.secret_value(name.as_str()).await
                {
                    Ok(value) => return Ok(Some(value)),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Ok(None)
    }

    /// `get_conn_value`: the connection as stored (URI or JSON).
    ///
    /// # Errors
    /// As [`AirflowBackend::get`].
    pub async fn get_conn_value(
        &self,
        conn_id: &str,
        team: Option<&str>,
    ) -> Result<Option<SecretString>> {
        self.get(AirflowKind::Connection, conn_id, team).await
    }

    /// `get_connection`: the stored connection read into its fields; an empty value is none.
    ///
    /// # Errors
    /// As [`AirflowBackend::get`], and [`Error::InvalidConnection`] for a value Airflow
    /// could not read either.
    pub async fn get_connection(
        &self,
        conn_id: &str,
        team: Option<&str>,
    ) -> Result<Option<AirflowConnection>> {
        match self.get_conn_value(conn_id, team).await? {
            Some(value) if !value.expose_secret().is_empty() => {
                Ok(Some(AirflowConnection::parse(value.expose_secret())?))
            }
            _ => Ok(None),
        }
    }

    /// `get_variable`.
    ///
    /// # Errors
    /// As [`AirflowBackend::get`].
    pub async fn get_variable(
        &self,
        key: &str,
        team: Option<&str>,
    ) -> Result<Option<SecretString>> {
        self.get(AirflowKind::Variable, key, team).await
    }

    /// `get_config` (configuration options have no team scope).
    ///
    /// # Errors
    /// As [`AirflowBackend::get`].
    pub async fn get_config(&self, key: &str) -> Result<Option<SecretString>> {
        self.get(AirflowKind::Config, key, None).await
    }

    /// Stores `value` where the backend looks for `id` of `kind` first (the team-scoped name
    /// when `team` is given), tagged with the kind, the id and the team. Returns the name.
    ///
    /// # Errors
    /// [`Error`] when Airflow would never read it back ([`Error::KindDisabled`],
    /// [`Error::InvalidName`], [`Error::AmbiguousTeamId`]) or when the name
    /// already holds another id's secret ([`Error::NameCollision`]); nothing is written
    /// then. Else the vault's failures.
    pub async fn set(
        &self,
        kind: AirflowKind,
        id: &str,
        team: Option<&str>,
        value: &SecretString,
    ) -> Result<SecretName> {
        let team = team.filter(|t| !t.is_empty() && kind != AirflowKind::Config);
        let name = self
            .naming
            .write_name(kind, id, team)
            .map_err(|plan| match plan {
                NamePlan::Disabled => Error::KindDisabled { kind },
                NamePlan::AmbiguousTeamId { normalized } => Error::AmbiguousTeamId {
                    kind,
                    id: id.to_owned(),
                    normalized,
                },
                NamePlan::Names(names) => Error::InvalidName {
                    kind,
                    id: id.to_owned(),
                    name: match names.into_iter().next() {
                        Some(NameCandidate::Invalid(name)) => name,
                        _ => String::new(),
                    },
                },
            })?;
        let kv_name = name.clone();
        let mut tags = BTreeMap::from([
            (TAG_KIND.to_owned(), kind.as_str().to_owned()),
            (TAG_ID.to_owned(), id.to_owned()),
        ]);
        if let Some(team) = team {
            tags.insert(TAG_TEAM.to_owned(), team.to_owned());
        }
        match self.vault.client().get_secret(&kv_name).await {
            Ok(existing) => {
                let owner = |key: &str| existing.properties.tags.get(key).cloned();
                if owner(TAG_ID).is_some()
                    && (owner(TAG_ID) != tags.get(TAG_ID).cloned()
                        || owner(TAG_KIND) != tags.get(TAG_KIND).cloned()
                        || owner(TAG_TEAM) != tags.get(TAG_TEAM).cloned())
                {
                    let team = owner(TAG_TEAM)
                        .map(|t| format!(" of team `{t}`"))
                        .unwrap_or_default();
                    return Err(Error::NameCollision {
                        kind,
                        id: id.to_owned(),
                        name: name.as_str().to_owned(),
                        existing: format!(
                            "{} `{}`{team}",
                            owner(TAG_KIND).unwrap_or_else(|| "secret".to_owned()),
                            owner(TAG_ID).unwrap_or_default()
                        ),
                    });
                }
            }
            Err(vaultref_keyvault::Error::NotFound { .. }) => {}
            Err(e) => return Err(vaultref_core::Error::from_key_vault(&name, &e).into()),
        }
        let options = SetSecretOptions {
            tags,
            ..SetSecretOptions::default()
        };
        let written = self
            .vault
            .client()
            .set_secret(
                &kv_name,
                &SecretValue::from(value.expose_secret()),
                &options,
            )
            .await
            .map_err(|e| vaultref_core::Error::from_key_vault(&name, &e))?;
        self.resolver.invalidate(&name);
        tracing::info!(
            target: vaultref_core::AUDIT_TARGET,
            action = "write",
            airflow_kind = %kind,
            id,
            secret = %name,
            version = written.properties.version.as_deref().unwrap_or("-"),
        );
        Ok(name)
    }

    /// Stores `connection` for `conn_id` in `form`.
    ///
    /// # Errors
    /// As [`AirflowBackend::set`], and [`Error::InvalidConnection`] when the URI form
    /// cannot hold the port.
    pub async fn set_connection(
        &self,
        conn_id: &str,
        team: Option<&str>,
        connection: &AirflowConnection,
        form: ConnectionForm,
    ) -> Result<SecretName> {
        let value = match form {
            ConnectionForm::Uri => connection.to_uri()?,
            ConnectionForm::Json => connection.to_json(),
        };
        self.set(
            AirflowKind::Connection,
            conn_id,
            team,
            &SecretString::from(value),
        )
        .await
    }

    /// `set` for a variable.
    ///
    /// # Errors
    /// As [`AirflowBackend::set`].
    pub async fn set_variable(
        &self,
        key: &str,
        team: Option<&str>,
        value: &SecretString,
    ) -> Result<SecretName> {
        self.set(AirflowKind::Variable, key, team, value).await
    }

    /// The vault's secrets under the backend's prefixes, sorted by kind and name (values are not
    /// read).
    ///
    /// # Errors
    /// The vault's failures.
    pub async fn list(&self) -> Result<Vec<ListedSecret>> {
        // Errors name a secret; a listing has none, so they name the operation.
        let listing = vaultref_core::secret_name("list")?;
        let properties: Vec<_> = self
            .vault
            .client()
            .list_secrets(&ListOptions::default())
            .map_err(|e| vaultref_core::Error::from_key_vault(&listing, &e))?
            .try_collect()
            .await
            .map_err(|e| vaultref_core::Error::from_key_vault(&listing, &e))?;
        let mut listed: Vec<ListedSecret> = properties
            .into_iter()
            .filter_map(|p| {
                let name = p.name.into_string();
                let kind = self.naming.kind_of(&name)?;
                Some(ListedSecret {
                    kind,
                    id: p.tags.get(TAG_ID).cloned(),
                    team: p.tags.get(TAG_TEAM).cloned(),
                    name,
                })
            })
            .collect();
        listed.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(listed)
    }
}
