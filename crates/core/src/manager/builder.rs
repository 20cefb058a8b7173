//! [`SecretsManagerBuilder`]: the options of a [`SecretsManager`] beyond its provider and keys,
//! checked together when it is built.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use vaultref_fernet::{Clock, KeyRing, SystemClock};

use super::SecretsManager;
use super::claims::Registry;
use crate::audit::{AuditSink, TracingAuditSink};
use crate::backend::{InMemoryBackend, SecretBackend};
use crate::catalog::Catalog;
use crate::config::{Config, ProviderKind};
use crate::error::{Error, Result};
use crate::naming::{LongNamePolicy, NamingScheme, SecretIdBuilder};
use crate::ratelimit::{RateLimitedBackend, TokioTimer};

/// Options of a [`SecretsManager`] beyond the provider and the Fernet keys.
#[must_use]
pub struct SecretsManagerBuilder {
    provider: ProviderKind,
    keys: KeyRing,
    cluster_name: String,
    prefix: String,
    backend: Option<Arc<dyn SecretBackend>>,
    catalog: Option<Arc<Catalog>>,
    tags: BTreeMap<String, String>,
    expires_after_days: Option<u32>,
    clock: Arc<dyn Clock>,
    long_names: LongNamePolicy,
    audit: Arc<dyn AuditSink>,
    deployment: Option<String>,
}

impl fmt::Debug for SecretsManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerBuilder")
            .field("provider", &self.provider)
            .field("cluster_name", &self.cluster_name)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerBuilder {
    /// `secretsManagerConfiguration.prefix` (default none).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// The vault (required for managed providers; `in-memory` makes its own when unset).
    pub fn backend(mut self, backend: Arc<dyn SecretBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The secret-field catalog (default: [`Catalog::builtin`]).
    pub fn catalog(mut self, catalog: Arc<Catalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Tags written with every secret.
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    /// Written secrets expire that many days after each write.
    pub fn expires_after_days(mut self, days: Option<u32>) -> Self {
        self.expires_after_days = days;
        self
    }

    /// The clock for expiry dates (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// What to do with names over 127 characters (default: refuse).
    pub fn long_names(mut self, policy: LongNamePolicy) -> Self {
        self.long_names = policy;
        self
    }

    /// Where the audit events of vault writes, deletes and recoveries go (default:
    /// [`TracingAuditSink`]).
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = sink;
        self
    }

    /// The deployment this manager writes for: the value of the ownership tag
    /// ([`OWNER_TAG`](crate::OWNER_TAG)) on every secret it writes. vaultref overwrites and
    /// deletes only secrets that carry its own deployment's tag (or, for writes, that a row of
    /// its database references), so two deployments sharing a vault and a `clusterName` cannot
    /// destroy each other's secrets. The SQL store names its database here; the default is the
    /// cluster name with the prefix.
    pub fn deployment(mut self, deployment: &str) -> Self {
        self.deployment = Some(deployment.to_owned());
        self
    }

    /// The manager.
    ///
    /// # Errors
    /// [`Error::Config`] when a managed provider other than `in-memory` has no backend.
    pub fn build(self) -> Result<SecretsManager> {
        let backend = match (self.backend, self.provider) {
            (Some(backend), _) => Some(backend),
            (None, ProviderKind::InMemory) => {
                Some(Arc::new(InMemoryBackend::new()) as Arc<dyn SecretBackend>)
            }
            (None, provider) if provider.is_managed() => {
                return Err(Error::config(
                    "secretsManagerConfiguration.secretsManager",
                    format!("is {provider}, which needs a vault: configure its parameters"),
                ));
            }
            (None, _) => None,
        };
        // Every provider vaultref has writes Key Vault names; in-memory stands in for it.
        let ids = SecretIdBuilder::new(NamingScheme::Azure, &self.cluster_name, &self.prefix);
        Ok(SecretsManager {
            provider: self.provider,
            backend,
            deployment: self.deployment.unwrap_or_else(|| ids.entity_id(&[])),
            ids,
            catalog: self.catalog.unwrap_or_else(|| Arc::new(Catalog::builtin())),
            keys: self.keys,
            tags: self.tags,
            expires_after_days: self.expires_after_days,
            clock: self.clock,
            long_names: self.long_names,
            audit: self.audit,
            registry: Mutex::new(Registry::default()),
        })
    }
}

impl SecretsManager {
    /// A builder for `provider`, with the Fernet key ring and OpenMetadata's `clusterName`.
    pub fn builder(
        provider: ProviderKind,
        keys: KeyRing,
        cluster_name: &str,
    ) -> SecretsManagerBuilder {
        SecretsManagerBuilder {
            provider,
            keys,
            cluster_name: cluster_name.to_owned(),
            prefix: String::new(),
            backend: None,
            catalog: None,
            tags: BTreeMap::new(),
            expires_after_days: None,
            clock: Arc::new(SystemClock),
            long_names: LongNamePolicy::default(),
            audit: Arc::new(TracingAuditSink),
            deployment: None,
        }
    }

    /// A manager as `config` describes it, writing to `backend` in managed mode (for
    /// `managed-azure-kv`, through a [`RateLimitedBackend`] at `rateLimitPermitsPerSecond`).
    /// [`connect_backend`](crate::connect_backend) builds the backend the configuration names.
    ///
    /// # Errors
    /// [`Error::Config`] when the Fernet key does not parse or a managed provider has no backend.
    pub fn from_config(
        config: &Config,
        backend: Option<Arc<dyn SecretBackend>>,
        catalog: Arc<Catalog>,
    ) -> Result<Self> {
        Self::builder_from_config(config, backend, catalog)?.build()
    }

    /// Like [`from_config`](Self::from_config), returning the builder for further options
    /// (an audit sink, a clock).
    ///
    /// # Errors
    /// [`Error::Config`] when the Fernet key does not parse.
    pub fn builder_from_config(
        config: &Config,
        backend: Option<Arc<dyn SecretBackend>>,
        catalog: Arc<Catalog>,
    ) -> Result<SecretsManagerBuilder> {
        let keys = KeyRing::parse(config.fernet_key.expose_secret()).map_err(|e| {
            Error::config(
                "fernetConfiguration.fernetKey",
                format!("is not a valid Fernet key list: {e}"),
            )
        })?;
        let sm = &config.secrets_manager;
        let mut builder = Self::builder(sm.provider, keys, &config.cluster_name)
            .prefix(&sm.prefix)
            .tags(sm.tags.clone())
            .expires_after_days(sm.expires_after_days)
            .long_names(sm.long_names)
            .catalog(catalog);
        if let Some(backend) = backend {
            // Key Vault has a request quota; the in-memory vault has none.
            let backend = if sm.provider == ProviderKind::ManagedAzureKeyVault {
                Arc::new(RateLimitedBackend::new(
                    backend,
                    sm.rate_limit_permits_per_second,
                    Arc::new(TokioTimer),
                ))
            } else {
                backend
            };
            builder = builder.backend(backend);
        }
        Ok(builder)
    }
}
