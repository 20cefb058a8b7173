//! The store, read and delete paths: what OpenMetadata's `SecretsManager` does to an entity.
//!
//! Storing is two steps. [`SecretsManager::plan_store`] is pure (no I/O): it finds the secret
//! fields, Fernet-decrypts them, computes and checks every secret name (length, collisions
//! inside the entity and with names other entities claimed), and prepares the database values.
//! Nothing is written when it fails. [`SecretsManager::apply`] then writes the vault and, only
//! when every write succeeded, updates the entity.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use vaultref_fernet::{Clock, KeyRing, SystemClock, Zeroizing};

use crate::audit::{AuditAction, AuditEvent, AuditSink, TracingAuditSink};
use crate::backend::{InMemoryBackend, SecretAttributes, SecretBackend};
use crate::config::{Config, ProviderKind};
use crate::entity::{EntityType, SecretScope};
use crate::error::{BackendErrorKind, Error, FieldRef, Result};
use crate::naming::{
    LongNamePolicy, MAX_SECRET_NAME_LEN, NamingScheme, SecretIdBuilder, SecretName, secret_name,
    shortened_secret_name,
};
use crate::ratelimit::{RateLimitedBackend, TokioTimer};
use crate::resolve::Resolver;
use crate::schema::{SchemaRegistry, SecretField};

/// The prefix of a reference to a vault secret (`secret:<name>`), on both sides.
pub const SECRET_PREFIX: &str = "secret:";

/// What OpenMetadata shows unauthorized readers instead of a secret (`PASSWORD_MASK`).
const PASSWORD_MASK: &str = "*********";

const SECONDS_PER_DAY: u64 = 86_400;

/// Applies a provider's rules to entities. Build one with [`SecretsManager::builder`] or
/// [`SecretsManager::from_config`].
pub struct SecretsManager {
    provider: ProviderKind,
    backend: Option<Arc<dyn SecretBackend>>,
    ids: SecretIdBuilder,
    schemas: Arc<SchemaRegistry>,
    keys: KeyRing,
    tags: BTreeMap<String, String>,
    expires_after_days: Option<u32>,
    clock: Arc<dyn Clock>,
    long_names: LongNamePolicy,
    audit: Arc<dyn AuditSink>,
    /// Secret names already owned by a field, across entities.
    claims: Mutex<BTreeMap<SecretName, FieldRef>>,
}

impl fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManager")
            .field("provider", &self.provider)
            .field("ids", &self.ids)
            .field("long_names", &self.long_names)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Options of a [`SecretsManager`] beyond the provider and the Fernet keys.
#[must_use]
pub struct SecretsManagerBuilder {
    provider: ProviderKind,
    keys: KeyRing,
    cluster_name: String,
    prefix: String,
    backend: Option<Arc<dyn SecretBackend>>,
    schemas: Option<Arc<SchemaRegistry>>,
    tags: BTreeMap<String, String>,
    expires_after_days: Option<u32>,
    clock: Arc<dyn Clock>,
    long_names: LongNamePolicy,
    audit: Arc<dyn AuditSink>,
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

    /// The schemas (default: [`SchemaRegistry::builtin`]).
    pub fn schemas(mut self, schemas: Arc<SchemaRegistry>) -> Self {
        self.schemas = Some(schemas);
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
        Ok(SecretsManager {
            provider: self.provider,
            backend,
            // Every provider vaultref has writes Key Vault names; in-memory stands in for it.
            ids: SecretIdBuilder::new(NamingScheme::Azure, &self.cluster_name, &self.prefix),
            schemas: self
                .schemas
                .unwrap_or_else(|| Arc::new(SchemaRegistry::builtin())),
            keys: self.keys,
            tags: self.tags,
            expires_after_days: self.expires_after_days,
            clock: self.clock,
            long_names: self.long_names,
            audit: self.audit,
            claims: Mutex::new(BTreeMap::new()),
        })
    }
}

/// What storing one field will do.
enum FieldAction {
    /// Set the field to this database value (no vault access).
    Set(String),
    /// Write the plaintext to the vault under the name, then set the field.
    Write {
        name: SecretName,
        plaintext: Zeroizing<String>,
        stored: String,
    },
    /// The field is empty: delete its secret (managed mode); the field stays as it is.
    Delete(SecretName),
    /// Leave the field as it is (empty, db mode).
    Keep,
}

struct FieldPlan {
    /// JSON keys from the entity root.
    keys: Vec<String>,
    field: FieldRef,
    action: FieldAction,
    /// The computed name this field owns once applied (written now, or referenced already).
    claim: Option<SecretName>,
}

/// The result of [`SecretsManager::plan_store`]: every check done, nothing written yet.
pub struct StorePlan {
    entity_type: EntityType,
    fields: Vec<FieldPlan>,
}

impl fmt::Debug for StorePlan {
    /// Field paths and secret names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorePlan")
            .field("entity_type", &self.entity_type)
            .field("writes", &self.names_to_write())
            .field("deletes", &self.names_to_delete())
            .finish_non_exhaustive()
    }
}

impl StorePlan {
    /// The secret names this plan writes, in field order (for dry runs).
    #[must_use]
    pub fn names_to_write(&self) -> Vec<&SecretName> {
        self.fields
            .iter()
            .filter_map(|f| match &f.action {
                FieldAction::Write { name, .. } => Some(name),
                _ => None,
            })
            .collect()
    }

    /// The secret names this plan deletes because their field was emptied.
    #[must_use]
    pub fn names_to_delete(&self) -> Vec<&SecretName> {
        self.fields
            .iter()
            .filter_map(|f| match &f.action {
                FieldAction::Delete(name) => Some(name),
                _ => None,
            })
            .collect()
    }

    /// How many secret fields the entity has.
    #[must_use]
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
}

/// What [`SecretsManager::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOutcome {
    /// Secrets written to the vault.
    pub written: Vec<SecretName>,
    /// Secrets deleted because their field was emptied (absent ones are not listed).
    pub deleted: Vec<SecretName>,
    /// Secret fields whose database value was set.
    pub fields_updated: usize,
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
            schemas: None,
            tags: BTreeMap::new(),
            expires_after_days: None,
            clock: Arc::new(SystemClock),
            long_names: LongNamePolicy::default(),
            audit: Arc::new(TracingAuditSink),
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
        schemas: Arc<SchemaRegistry>,
    ) -> Result<Self> {
        Self::builder_from_config(config, backend, schemas)?.build()
    }

    /// Like [`from_config`](Self::from_config), returning the builder for further options
    /// (an audit sink, a clock).
    ///
    /// # Errors
    /// [`Error::Config`] when the Fernet key does not parse.
    pub fn builder_from_config(
        config: &Config,
        backend: Option<Arc<dyn SecretBackend>>,
        schemas: Arc<SchemaRegistry>,
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
            .schemas(schemas);
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

    /// The provider.
    #[must_use]
    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The secret-id builder (cluster name, prefix, Azure naming).
    #[must_use]
    pub fn ids(&self) -> &SecretIdBuilder {
        &self.ids
    }

    /// Checks `entity` and prepares its database values, without any I/O.
    ///
    /// # Errors
    /// Schema and entity shape errors, [`Error::FernetDecrypt`], [`Error::SecretNotAString`],
    /// [`Error::SecretNameTooLong`] and [`Error::SecretNameCollision`].
    pub fn plan_store(&self, entity_type: EntityType, entity: &Value) -> Result<StorePlan> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(StorePlan {
                entity_type,
                fields: Vec::new(),
            });
        };
        let managed = self.provider.is_managed();
        let mut plans = Vec::with_capacity(fields.len());
        let mut names: BTreeMap<SecretName, FieldRef> = BTreeMap::new();
        for secret in &fields {
            let (keys, field) = self.locate(&scope, secret);
            let value = pointer(entity, &keys).unwrap_or(&Value::Null);
            let plain = match value {
                Value::Null => None,
                Value::String(s) => Some(
                    self.keys
                        .decrypt_if_tokenized(s)
                        .map_err(|_| Error::FernetDecrypt(field.clone()))?,
                ),
                _ => return Err(Error::SecretNotAString(field)),
            };
            if plain.as_ref().is_some_and(|p| p.as_str() == PASSWORD_MASK) {
                return Err(Error::MaskedSecret(field));
            }
            let mut claim = None;
            let action = match plain {
                None => self.empty_action(&scope, secret, &field, &mut names)?,
                Some(plain) if plain.is_empty() => {
                    self.empty_action(&scope, secret, &field, &mut names)?
                }
                Some(plain) if plain.starts_with(SECRET_PREFIX) => {
                    // A reference to the field's own computed name (stored earlier) still owns
                    // that name: another entity must not overwrite it.
                    if managed
                        && let Ok(name) = self.secret_name(&scope, secret, &field)
                        && plain.strip_prefix(SECRET_PREFIX) == Some(name.as_str())
                    {
                        claim = Some(self.claim(&scope, secret, &field, &mut names)?);
                    }
                    FieldAction::Set(self.keys.encrypt_if_not_tokenized(&plain))
                }
                Some(plain) if managed => {
                    let name = self.claim(&scope, secret, &field, &mut names)?;
                    claim = Some(name.clone());
                    let reference = format!("{SECRET_PREFIX}{name}");
                    FieldAction::Write {
                        stored: self.keys.encrypt_if_not_tokenized(&reference),
                        name,
                        plaintext: plain,
                    }
                }
                Some(plain) => FieldAction::Set(self.keys.encrypt_if_not_tokenized(&plain)),
            };
            plans.push(FieldPlan {
                keys,
                field,
                action,
                claim,
            });
        }
        Ok(StorePlan {
            entity_type,
            fields: plans,
        })
    }

    /// Writes the vault as `plan` says, then sets the entity's secret fields to their database
    /// values. A soft-deleted name is recovered and written again. When a write fails, the
    /// entity is left unchanged (secrets already written stay; running again is safe).
    ///
    /// # Errors
    /// [`Error::Backend`] from the vault (a missing secret on delete is not an error).
    pub async fn apply(&self, plan: StorePlan, entity: &mut Value) -> Result<StoreOutcome> {
        let mut outcome = StoreOutcome::default();
        let attributes = self.attributes();
        for field in &plan.fields {
            match &field.action {
                FieldAction::Write {
                    name, plaintext, ..
                } => {
                    let backend = self.backend()?;
                    let value = SecretString::from(plaintext.as_str());
                    let version = match backend.set_secret(name, &value, &attributes).await {
                        Err(e)
                            if e.backend_kind()
                                == Some(BackendErrorKind::DeletedButRecoverable) =>
                        {
                            tracing::info!(secret = %name, "recovering a soft-deleted secret before writing it again");
                            backend.recover_secret(name).await?;
                            self.audited(AuditAction::Recover, &field.field, name, None);
                            backend.set_secret(name, &value, &attributes).await?
                        }
                        other => other?,
                    };
                    self.audited(AuditAction::Write, &field.field, name, version);
                    outcome.written.push(name.clone());
                }
                FieldAction::Delete(name) => {
                    if self.delete_tolerating_absence(name, &field.field).await? {
                        outcome.deleted.push(name.clone());
                    }
                }
                FieldAction::Set(_) | FieldAction::Keep => {}
            }
        }
        let mut claims = self.claims();
        for FieldPlan {
            keys,
            field,
            action,
            claim,
        } in plan.fields
        {
            if let Some(name) = claim {
                claims.insert(name, field);
            }
            let stored = match action {
                FieldAction::Write { stored, .. } | FieldAction::Set(stored) => stored,
                FieldAction::Delete(name) => {
                    claims.remove(&name);
                    continue;
                }
                FieldAction::Keep => continue,
            };
            if let Some(slot) = pointer_mut(entity, &keys) {
                *slot = Value::String(stored);
                outcome.fields_updated += 1;
            }
        }
        Ok(outcome)
    }

    /// [`plan_store`](Self::plan_store) then [`apply`](Self::apply): what OpenMetadata does
    /// when it stores a service, a bot user, an ingestion pipeline or a workflow.
    ///
    /// # Errors
    /// As both steps; nothing is written when planning fails.
    pub async fn store_entity(
        &self,
        entity_type: EntityType,
        entity: &mut Value,
    ) -> Result<StoreOutcome> {
        let plan = self.plan_store(entity_type, entity)?;
        self.apply(plan, entity).await
    }

    /// Records the secret names `entity` owns (or will own when stored) without writing
    /// anything, so that a later entity whose name collides is refused. Call it for every
    /// stored entity before storing new ones in a fresh process. Returns how many names were
    /// claimed.
    ///
    /// # Errors
    /// As [`plan_store`](Self::plan_store); in particular [`Error::SecretNameCollision`] when
    /// two stored entities already share a name.
    pub fn claim_existing(&self, entity_type: EntityType, entity: &Value) -> Result<usize> {
        let plan = self.plan_store(entity_type, entity)?;
        let mut claims = self.claims();
        let mut count = 0;
        for field in plan.fields {
            if let Some(name) = field.claim {
                claims.insert(name, field.field);
                count += 1;
            }
        }
        Ok(count)
    }

    /// The read path: Fernet-decrypts every secret field in place; `secret:` references stay
    /// as they are (consumers resolve them), the vault is not read.
    ///
    /// # Errors
    /// [`Error::FernetDecrypt`] when a token does not open with any key.
    pub fn decrypt_entity(&self, entity_type: EntityType, entity: &mut Value) -> Result<()> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(());
        };
        for secret in &fields {
            let (keys, field) = self.locate(&scope, secret);
            if let Some(Value::String(value)) = pointer_mut(entity, &keys) {
                let plain = self
                    .keys
                    .decrypt_if_tokenized(value)
                    .map_err(|_| Error::FernetDecrypt(field))?;
                *value = plain.as_str().to_owned();
            }
        }
        Ok(())
    }

    /// The read path with the vault: Fernet-decrypts every secret field and replaces each
    /// `secret:` reference by its value through `resolver` (what OpenMetadata's server does for
    /// bot tokens, and `entities export --reveal` needs). Returns how many references resolved.
    ///
    /// # Errors
    /// [`Error::FernetDecrypt`], and the resolver's errors for references that do not resolve.
    pub async fn reveal_entity(
        &self,
        entity_type: EntityType,
        entity: &mut Value,
        resolver: &Resolver,
    ) -> Result<usize> {
        self.decrypt_entity(entity_type, entity)?;
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(0);
        };
        // The secret fields, keyed by their path, resolved together: distinct names are read
        // concurrently and an error names the field.
        let mut located = Vec::new();
        let mut references = serde_json::Map::new();
        for secret in &fields {
            let (keys, field) = self.locate(&scope, secret);
            if let Some(value @ Value::String(_)) = pointer(entity, &keys) {
                references.insert(field.path.clone(), value.clone());
                located.push((keys, field.path));
            }
        }
        let mut references = Value::Object(references);
        let report = resolver.resolve_references(&mut references).await?;
        for (keys, path) in located {
            if let (Some(slot), Some(value)) =
                (pointer_mut(entity, &keys), references.get_mut(&path))
            {
                *slot = value.take();
            }
        }
        Ok(report.resolved)
    }

    /// The delete path (hard delete of an entity): deletes the secrets at the names computed
    /// for its secret fields — never the names of user-written `secret:` references. Absent
    /// secrets are skipped. Returns the names deleted. Nothing happens in non-managed modes.
    ///
    /// # Errors
    /// Name errors before any delete, then [`Error::Backend`] from the vault.
    pub async fn delete_entity_secrets(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Vec<SecretName>> {
        if !self.provider.is_managed() {
            return Ok(Vec::new());
        }
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(Vec::new());
        };
        let mut names = Vec::new();
        for secret in &fields {
            let (_, field) = self.locate(&scope, secret);
            match self.secret_name(&scope, secret, &field) {
                Ok(name) => names.push((name, field)),
                // Such a name was never written.
                Err(Error::SecretNameTooLong { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut deleted = Vec::new();
        for (name, field) in names {
            let existed = self.delete_tolerating_absence(&name, &field).await?;
            self.claims().remove(&name);
            if existed {
                deleted.push(name);
            }
        }
        Ok(deleted)
    }

    /// The secret fields of an entity with their Key Vault names, as they would be stored.
    ///
    /// # Errors
    /// As [`plan_store`](Self::plan_store) for discovery and names.
    pub fn secret_names(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Vec<(FieldRef, SecretName)>> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(Vec::new());
        };
        fields
            .iter()
            .map(|secret| {
                let (_, field) = self.locate(&scope, secret);
                let name = self.secret_name(&scope, secret, &field)?;
                Ok((field, name))
            })
            .collect()
    }

    fn discover(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Option<(SecretScope, Vec<SecretField>)>> {
        let Some(scope) = SecretScope::of(entity_type, entity, &self.schemas)? else {
            return Ok(None);
        };
        let Some(root) = scope.root_value(entity) else {
            return Ok(None);
        };
        let fields = self.schemas.secret_fields(&scope.schema, root)?;
        Ok(Some((scope, fields)))
    }

    /// The field's keys from the entity root, and its name for messages.
    fn locate(&self, scope: &SecretScope, secret: &SecretField) -> (Vec<String>, FieldRef) {
        let keys: Vec<String> = scope
            .root
            .iter()
            .map(|k| (*k).to_owned())
            .chain(secret.keys.iter().cloned())
            .collect();
        let field = FieldRef {
            entity: scope.entity.clone(),
            path: keys.join("."),
        };
        (keys, field)
    }

    /// The Key Vault name of a field, with the long-name policy applied.
    fn secret_name(
        &self,
        scope: &SecretScope,
        secret: &SecretField,
        field: &FieldRef,
    ) -> Result<SecretName> {
        let values: Vec<&str> = scope.id_values.iter().map(String::as_str).collect();
        let id = self
            .ids
            .field_id(&self.ids.entity_id(&values), &secret.segments());
        if id.len() > MAX_SECRET_NAME_LEN {
            return match self.long_names {
                LongNamePolicy::Refuse => Err(Error::SecretNameTooLong {
                    field: field.clone(),
                    length: id.len(),
                    name: id,
                }),
                LongNamePolicy::Shorten => shortened_secret_name(&id),
            };
        }
        secret_name(&id)
    }

    /// Computes a field's name and checks it against the entity's other names and the claims.
    fn claim(
        &self,
        scope: &SecretScope,
        secret: &SecretField,
        field: &FieldRef,
        names: &mut BTreeMap<SecretName, FieldRef>,
    ) -> Result<SecretName> {
        let name = self.secret_name(scope, secret, field)?;
        let collision = |first: &FieldRef| Error::SecretNameCollision {
            name: name.clone(),
            first: Box::new(first.clone()),
            second: Box::new(field.clone()),
        };
        if let Some(first) = names.get(&name) {
            return Err(collision(first));
        }
        if let Some(owner) = self.claims().get(&name)
            && owner != field
        {
            return Err(collision(owner));
        }
        names.insert(name.clone(), field.clone());
        Ok(name)
    }

    fn empty_action(
        &self,
        scope: &SecretScope,
        secret: &SecretField,
        field: &FieldRef,
        names: &mut BTreeMap<SecretName, FieldRef>,
    ) -> Result<FieldAction> {
        if !self.provider.is_managed() {
            return Ok(FieldAction::Keep);
        }
        match self.claim(scope, secret, field, names) {
            Ok(name) => Ok(FieldAction::Delete(name)),
            // Nothing can exist under a name Key Vault refuses.
            Err(Error::SecretNameTooLong { .. }) => Ok(FieldAction::Keep),
            Err(e) => Err(e),
        }
    }

    /// Deletes `field`'s secret `name`; `Ok(false)` when it did not exist.
    async fn delete_tolerating_absence(&self, name: &SecretName, field: &FieldRef) -> Result<bool> {
        match self.backend()?.delete_secret(name).await {
            Ok(()) => {
                self.audited(AuditAction::Delete, field, name, None);
                Ok(true)
            }
            Err(e) if e.backend_kind() == Some(BackendErrorKind::NotFound) => {
                tracing::debug!(secret = %name, "secret to delete was already absent");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn backend(&self) -> Result<&Arc<dyn SecretBackend>> {
        self.backend.as_ref().ok_or_else(|| {
            Error::config(
                "secretsManagerConfiguration.secretsManager",
                format!("is {}, which has no vault to write to", self.provider),
            )
        })
    }

    fn audited(
        &self,
        action: AuditAction,
        field: &FieldRef,
        secret: &SecretName,
        version: Option<String>,
    ) {
        self.audit.record(&AuditEvent {
            action,
            entity: field.entity.clone(),
            field: field.path.clone(),
            secret: secret.clone(),
            version,
        });
    }

    fn attributes(&self) -> SecretAttributes {
        SecretAttributes {
            tags: self.tags.clone(),
            expires_on: self
                .expires_after_days
                .map(|days| self.clock.now_unix_seconds() + u64::from(days) * SECONDS_PER_DAY),
        }
    }

    fn claims(&self) -> MutexGuard<'_, BTreeMap<SecretName, FieldRef>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn pointer<'a>(value: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| v.get(k))
}

fn pointer_mut<'a>(value: &'a mut Value, keys: &[String]) -> Option<&'a mut Value> {
    keys.iter().try_fold(value, |v, k| v.get_mut(k))
}
