//! The store, read and delete paths: what OpenMetadata's `SecretsManager` does to an entity.
//!
//! Storing is two steps. [`SecretsManager::plan_store`] is pure (no I/O): it finds the secret
//! fields, Fernet-decrypts them, computes and checks every secret name (length, collisions
//! inside the entity and with names other entities claimed), and prepares the database values.
//! Nothing is written when it fails. [`SecretsManager::apply`] then writes the vault and, only
//! when every write succeeded, updates the entity. A caller that persists the entity itself
//! (the SQL store) writes the vault with [`SecretsManager::write_secrets`], the row, and puts
//! the secrets back with [`SecretsManager::undo_writes`] if the row cannot be written; secrets
//! no row references any more are released afterwards ([`SecretsManager::release_secrets`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use vaultref_fernet::{Clock, KeyRing, Zeroizing};

use crate::audit::{AuditAction, AuditEvent, AuditSink};
use crate::backend::{SecretAttributes, SecretBackend};
use crate::catalog::{Catalog, SecretField, dotted, pointer, pointer_mut};
use crate::config::OWNER_TAG;
use crate::config::ProviderKind;
use crate::document::JsonPath;
use crate::entity::{EntityType, SecretScope};
use crate::error::{Error, FieldRef, Result};
use crate::identity::EntityKey;
use crate::naming::{
    LongNamePolicy, MAX_SECRET_NAME_LEN, SecretIdBuilder, SecretName, secret_name,
    shortened_secret_name,
};
use crate::reference::{is_reference, reference_to};
use crate::resolve::Resolver;

mod builder;
mod claims;
mod custody;

pub use self::builder::SecretsManagerBuilder;
pub use self::claims::References;
use self::claims::{Registry, row_key};
pub use self::custody::{Release, ReleaseOutcome, VaultWrites};

/// What OpenMetadata shows unauthorized readers instead of a secret (`PASSWORD_MASK`).
pub(crate) const PASSWORD_MASK: &str = "*********";

const SECONDS_PER_DAY: u64 = 86_400;

/// Applies a provider's rules to entities. Build one with [`SecretsManager::builder`] or
/// [`SecretsManager::from_config`].
pub struct SecretsManager {
    provider: ProviderKind,
    backend: Option<Arc<dyn SecretBackend>>,
    ids: SecretIdBuilder,
    catalog: Arc<Catalog>,
    pub(crate) keys: KeyRing,
    tags: BTreeMap<String, String>,
    expires_after_days: Option<u32>,
    clock: Arc<dyn Clock>,
    long_names: LongNamePolicy,
    audit: Arc<dyn AuditSink>,
    /// The value of the ownership tag on every secret this deployment writes.
    pub(crate) deployment: String,
    /// Who owns which secret name, and which names the rows seen so far reference.
    registry: Mutex<Registry>,
}

impl fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManager")
            .field("provider", &self.provider)
            .field("ids", &self.ids)
            .field("long_names", &self.long_names)
            .field("keys", &self.keys)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

/// What storing one field will do.
pub(crate) enum FieldAction {
    /// Set the field to this database value (no vault access).
    Set(String),
    /// Write the plaintext to the vault under the name, then set the field.
    Write {
        name: SecretName,
        plaintext: Zeroizing<String>,
        stored: String,
    },
    /// Leave the field as it is (empty).
    Keep,
}

pub(crate) struct FieldPlan {
    /// Steps from the entity root.
    steps: JsonPath,
    pub(crate) field: FieldRef,
    pub(crate) action: FieldAction,
    /// The computed name of a field left empty in managed mode: OpenMetadata deletes that
    /// secret when it stores the entity.
    emptied: Option<SecretName>,
}

/// The result of [`SecretsManager::plan_store`]: every check done, nothing written yet.
pub struct StorePlan {
    entity_type: EntityType,
    pub(crate) fields: Vec<FieldPlan>,
}

impl fmt::Debug for StorePlan {
    /// Field paths and secret names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorePlan")
            .field("entity_type", &self.entity_type)
            .field("writes", &self.names_to_write())
            .field("emptied", &self.emptied_names())
            .finish_non_exhaustive()
    }
}

impl StorePlan {
    /// The database values the plan sets, as edits of the entity document: only the secret
    /// fields, so a stored text can keep everything else byte for byte.
    #[must_use]
    pub fn edits(&self) -> Vec<(JsonPath, Value)> {
        self.fields
            .iter()
            .filter_map(|f| match &f.action {
                FieldAction::Write { stored, .. } | FieldAction::Set(stored) => {
                    Some((f.steps.clone(), Value::String(stored.clone())))
                }
                FieldAction::Keep => None,
            })
            .collect()
    }

    /// Sets the entity's secret fields to their database values; returns how many were set.
    pub fn apply_to(&self, entity: &mut Value) -> usize {
        let mut set = 0;
        for (path, value) in self.edits() {
            if let Some(slot) = pointer_mut(entity, &path) {
                *slot = value;
                set += 1;
            }
        }
        set
    }

    /// Whether the plan writes to the vault.
    #[must_use]
    pub fn has_writes(&self) -> bool {
        !self.names_to_write().is_empty()
    }

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

    /// The computed names of the secret fields this plan leaves empty, with the fields
    /// (managed mode only). OpenMetadata deletes those secrets when it stores the entity;
    /// [`SecretsManager::store_entity`] releases them once the entity is stored.
    #[must_use]
    pub fn emptied_names(&self) -> Vec<(&SecretName, &FieldRef)> {
        self.fields
            .iter()
            .filter_map(|f| f.emptied.as_ref().map(|name| (name, &f.field)))
            .collect()
    }

    /// How many secret fields the entity has.
    #[must_use]
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
}

/// What [`SecretsManager::apply`] and [`SecretsManager::store_entity`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StoreOutcome {
    /// Secrets written to the vault.
    pub written: Vec<SecretName>,
    /// What became of the secrets of emptied fields ([`SecretsManager::store_entity`] only).
    pub released: Vec<Release>,
    /// Secret fields whose database value was set.
    pub fields_updated: usize,
}

impl StoreOutcome {
    /// The secrets deleted from the vault.
    #[must_use]
    pub fn deleted(&self) -> Vec<&SecretName> {
        self.released
            .iter()
            .filter(|r| matches!(r.outcome, ReleaseOutcome::Deleted))
            .map(|r| &r.name)
            .collect()
    }
}

impl SecretsManager {
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
    /// Entity shape errors, [`Error::UnknownConnectionType`], [`Error::UnclassifiedSecret`]
    /// (a field that looks secret and that the catalog does not classify holds a plaintext),
    /// [`Error::FernetDecrypt`], [`Error::SecretNotAString`],
    /// [`Error::SecretNameTooLong`] and [`Error::SecretNameCollision`].
    pub fn plan_store(&self, entity_type: EntityType, entity: &Value) -> Result<StorePlan> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(StorePlan {
                entity_type,
                fields: Vec::new(),
            });
        };
        self.refuse_unclassified(&scope, entity)?;
        let managed = self.provider.is_managed();
        let key = EntityKey::of(entity_type, entity);
        let mut plans = Vec::with_capacity(fields.len());
        let mut names: BTreeMap<SecretName, FieldRef> = BTreeMap::new();
        for secret in &fields {
            let (steps, field) = self.locate(&scope, secret);
            let value = pointer(entity, &steps).unwrap_or(&Value::Null);
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
            let mut emptied = None;
            let action = match plain {
                Some(plain) if !plain.is_empty() && is_reference(&plain) => {
                    FieldAction::Set(self.seal(&plain))
                }
                Some(plain) if !plain.is_empty() && managed => {
                    let name = self.claim_name(key.as_ref(), &scope, secret, &field, &mut names)?;
                    let reference = reference_to(name.as_str());
                    FieldAction::Write {
                        stored: self.seal(&reference),
                        name,
                        plaintext: plain,
                    }
                }
                // Sealed whatever it looks like: a plaintext that itself starts with `fernet:`
                // would otherwise be stored bare, and no key would ever open it.
                Some(plain) if !plain.is_empty() => FieldAction::Set(self.seal(&plain)),
                _ => {
                    if managed {
                        // Nothing can exist under a name Key Vault refuses.
                        emptied = self.secret_name(&scope, secret, &field).ok();
                    }
                    FieldAction::Keep
                }
            };
            plans.push(FieldPlan {
                steps,
                field,
                action,
                emptied,
            });
        }
        Ok(StorePlan {
            entity_type,
            fields: plans,
        })
    }

    /// Writes the vault as `plan` says ([`write_secrets`](Self::write_secrets)), then sets the
    /// entity's secret fields to their database values and registers the entity as stored.
    /// When a write fails, the secrets already written for it are put back as they were and the
    /// entity is left unchanged. Nothing is deleted here.
    ///
    /// # Errors
    /// As [`write_secrets`](Self::write_secrets).
    pub async fn apply(&self, plan: StorePlan, entity: &mut Value) -> Result<StoreOutcome> {
        let writes = self.write_secrets(&plan).await?;
        let fields_updated = plan.apply_to(entity);
        // The entity is stored now: it owns the names it references.
        let _ = self.register_stored(plan.entity_type, entity);
        Ok(StoreOutcome {
            written: writes.names(),
            released: Vec::new(),
            fields_updated,
        })
    }

    /// What OpenMetadata does when it stores a service, a bot user, an ingestion pipeline or a
    /// workflow: [`plan_store`](Self::plan_store), [`apply`](Self::apply), then the secrets of
    /// emptied fields are released ([`release_secrets`](Self::release_secrets): deleted only
    /// when this deployment wrote them and no entity it knows references them).
    ///
    /// # Errors
    /// As both steps; nothing is written when planning fails.
    pub async fn store_entity(
        &self,
        entity_type: EntityType,
        entity: &mut Value,
    ) -> Result<StoreOutcome> {
        let plan = self.plan_store(entity_type, entity)?;
        let emptied: Vec<(SecretName, FieldRef)> = plan
            .emptied_names()
            .into_iter()
            .map(|(name, field)| (name.clone(), field.clone()))
            .collect();
        let mut outcome = self.apply(plan, entity).await?;
        outcome.released = self.release_secrets(emptied).await;
        Ok(outcome)
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
            let (steps, field) = self.locate(&scope, secret);
            if let Some(Value::String(value)) = pointer_mut(entity, &steps) {
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
            let (steps, field) = self.locate(&scope, secret);
            if let Some(value @ Value::String(_)) = pointer(entity, &steps) {
                references.insert(field.path.clone(), value.clone());
                located.push((steps, field.path));
            }
        }
        let mut references = Value::Object(references);
        let report = resolver.resolve_references(&mut references).await?;
        for (steps, path) in located {
            if let (Some(slot), Some(value)) =
                (pointer_mut(entity, &steps), references.get_mut(&path))
            {
                *slot = value.take();
            }
        }
        Ok(report.resolved)
    }

    /// The delete path (hard delete of an entity): releases the secrets at the names computed
    /// for its secret fields — never the names of user-written `secret:` references — as
    /// [`release_secrets`](Self::release_secrets) does: deleted only when this deployment wrote
    /// them and no other entity it knows references them. Returns what became of each.
    /// Nothing is deleted in non-managed modes.
    ///
    /// # Errors
    /// Name errors before any delete.
    pub async fn delete_entity_secrets(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Vec<Release>> {
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
        // The entity is gone: it neither claims nor references anything any more.
        if let Some(key) = EntityKey::of(entity_type, entity) {
            let row = row_key(entity_type, entity, &key);
            let mut registry = self.registry();
            registry.claim(&row, &key, Vec::new());
            registry.reference(&row, BTreeMap::new(), false);
        }
        Ok(self.release_secrets(names).await)
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

    /// The secret-field catalog this manager discovers secrets with.
    #[must_use]
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub(crate) fn discover(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Option<(SecretScope<'_>, Vec<SecretField>)>> {
        let Some(scope) = SecretScope::of(entity_type, entity, &self.catalog)? else {
            return Ok(None);
        };
        let Some(root) = scope.root_value(entity) else {
            return Ok(None);
        };
        let fields = self
            .catalog
            .secret_fields(scope.shape, root, &scope.entity)?;
        Ok(Some((scope, fields)))
    }

    /// The field's steps from the entity root, and its name for messages.
    pub(crate) fn locate(
        &self,
        scope: &SecretScope<'_>,
        secret: &SecretField,
    ) -> (JsonPath, FieldRef) {
        let steps: JsonPath = scope
            .root
            .iter()
            .cloned()
            .map(crate::document::PathStep::Key)
            .chain(secret.steps.iter().cloned())
            .collect();
        let field = FieldRef {
            entity: scope.entity.clone(),
            path: dotted(&steps),
        };
        (steps, field)
    }

    /// The Key Vault name of a field, with the long-name policy applied.
    pub(crate) fn secret_name(
        &self,
        scope: &SecretScope<'_>,
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

    /// `fernet:` and a token of `plain`, whatever `plain` looks like.
    fn seal(&self, plain: &str) -> String {
        format!("fernet:{}", self.keys.encrypt(plain.as_bytes()))
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn backend(&self) -> Result<&Arc<dyn SecretBackend>> {
        self.backend.as_ref().ok_or_else(|| {
            Error::config(
                "secretsManagerConfiguration.secretsManager",
                format!("is {}, which has no vault to write to", self.provider),
            )
        })
    }

    pub(crate) fn audited(
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

    /// The attributes of every write: the configured tags, this deployment's ownership tag,
    /// the expiry.
    pub(crate) fn attributes(&self) -> SecretAttributes {
        let mut tags = self.tags.clone();
        tags.insert(OWNER_TAG.to_owned(), self.deployment.clone());
        SecretAttributes {
            tags,
            expires_on: self
                .expires_after_days
                .map(|days| self.clock.now_unix_seconds() + u64::from(days) * SECONDS_PER_DAY),
        }
    }
}
