//! Who owns which secret name, and which names the stored rows reference.
//!
//! Before a command writes anything, every stored entity is registered
//! ([`SecretsManager::register_stored`](crate::SecretsManager::register_stored)): each secret
//! field claims its computed name, and every `secret:` reference in the row (plain, or inside a
//! `fernet:` token) is recorded. A name goes to the claim with the best rank, ties to the first
//! registered:
//!
//! 1. [`Rank::Holds`]: the field already references its computed name, or holds a value no key
//!    opens (it may be such a reference: case 3 of issue 10, a row stored under a key that left
//!    the key list must not lose its name);
//! 2. [`Rank::Wants`]: the field holds a value that the store path would write under the name.
//!
//! Claims are keyed by the entity's identity in its table ([`EntityKey`]): ingestion pipelines
//! by fully qualified name, so `sales.dbt` and `finance.dbt` never share a secret.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::SecretsManager;
use crate::catalog::SecretField;
use crate::catalog::pointer;
use crate::entity::{EntityType, SecretScope};
use crate::error::{EntityRef, Error, FieldRef, Result};
use crate::identity::EntityKey;
use crate::naming::SecretName;
use crate::reference::{SECRET_PREFIX, is_reference};

/// How strongly a field claims its computed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// The row references the name already (or may: its value opens with no key).
    Holds,
    /// The row holds a value that would be written under the name.
    Wants,
}

/// A row, as the registry tells rows apart: its entity type and its `id` (or its identity when
/// the document has no id yet).
pub(crate) type RowKey = (&'static str, String);

#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub(crate) key: EntityKey,
    pub(crate) field: FieldRef,
    pub(crate) rank: Rank,
    row: RowKey,
    order: u64,
}

/// The claims and references of the rows a command has seen.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    claims: BTreeMap<SecretName, Vec<Claim>>,
    /// Names referenced by each row, with where (for the audit trail).
    references: BTreeMap<RowKey, BTreeMap<SecretName, FieldRef>>,
    /// Rows holding a `fernet:` value no key opens: they may reference any name.
    unreadable: BTreeSet<RowKey>,
    next: u64,
}

impl Registry {
    /// The claim that owns `name`, if any.
    pub(crate) fn owner(&self, name: &SecretName) -> Option<&Claim> {
        self.claims
            .get(name)?
            .iter()
            .min_by_key(|claim| (claim.rank, claim.order))
    }

    /// Records `row`'s claims, replacing what the row claimed before. Returns the first claim
    /// this row loses at [`Rank::Holds`] to another entity (two rows that already share a
    /// secret).
    pub(crate) fn claim(
        &mut self,
        row: &RowKey,
        key: &EntityKey,
        claims: Vec<(SecretName, FieldRef, Rank)>,
    ) -> Option<(SecretName, FieldRef, Claim)> {
        self.forget_claims(row);
        let mut lost = None;
        for (name, field, rank) in claims {
            if rank == Rank::Holds
                && lost.is_none()
                && let Some(owner) = self.owner(&name)
                && owner.rank == Rank::Holds
                && owner.key != *key
            {
                lost = Some((name.clone(), field.clone(), owner.clone()));
            }
            self.next += 1;
            self.claims.entry(name).or_default().push(Claim {
                key: key.clone(),
                field,
                rank,
                row: row.clone(),
                order: self.next,
            });
        }
        lost
    }

    fn forget_claims(&mut self, row: &RowKey) {
        self.claims.retain(|_, claims| {
            claims.retain(|claim| claim.row != *row);
            !claims.is_empty()
        });
    }

    /// Records the names `row` references (replacing what it referenced before) and whether it
    /// holds values no key opens.
    pub(crate) fn reference(
        &mut self,
        row: &RowKey,
        names: BTreeMap<SecretName, FieldRef>,
        unreadable: bool,
    ) {
        self.references.insert(row.clone(), names);
        if unreadable {
            self.unreadable.insert(row.clone());
        } else {
            self.unreadable.remove(row);
        }
    }

    /// Forgets every reference (before a fresh scan of the rows).
    pub(crate) fn forget_references(&mut self) {
        self.references.clear();
        self.unreadable.clear();
    }

    /// A field of some row that references `name`.
    pub(crate) fn referrer(&self, name: &SecretName) -> Option<&FieldRef> {
        self.references.values().find_map(|names| names.get(name))
    }

    /// How many rows hold values no key opens.
    pub(crate) fn unreadable_rows(&self) -> usize {
        self.unreadable.len()
    }
}

impl SecretsManager {
    /// Registers a stored entity before anything is written, so that a later entity whose
    /// secret name collides with one of its names is refused, and so that no secret it
    /// references is deleted: its secret fields claim their computed names, and every `secret:`
    /// reference in it is recorded. A name goes first to an entity that references it already
    /// (or holds a value no key opens, which may be such a reference), then to the first entity
    /// registered that would write it; claims are keyed by [`EntityKey`], so two pipelines of
    /// different services are two claimants. Registering the same row again (same type and `id`) replaces what it
    /// registered before. Call it for every stored row before storing in a fresh process.
    /// Returns how many names were claimed.
    ///
    /// # Errors
    /// Discovery errors (the entity's references are still recorded), and
    /// [`Error::SecretNameCollision`] when this entity and one registered before already
    /// reference the same name.
    pub fn register_stored(&self, entity_type: EntityType, entity: &Value) -> Result<usize> {
        let Some(key) = EntityKey::of(entity_type, entity) else {
            return Ok(0);
        };
        let row = row_key(entity_type, entity, &key);
        let references = self.references(entity_type, entity);
        self.registry()
            .reference(&row, references.names, references.unreadable);
        let claims = self.stored_claims(entity_type, entity, &key)?;
        let count = claims.len();
        if let Some((name, field, owner)) = self.registry().claim(&row, &key, claims) {
            return Err(Error::SecretNameCollision {
                name,
                first: Box::new(owner.field),
                second: Box::new(field),
            });
        }
        Ok(count)
    }

    /// Records only the `secret:` references of a stored entity (for a fresh scan of the rows
    /// before releasing secrets, see [`forget_references`](Self::forget_references)).
    pub fn register_references(&self, entity_type: EntityType, entity: &Value) {
        let Some(key) = EntityKey::of(entity_type, entity) else {
            return;
        };
        let references = self.references(entity_type, entity);
        self.registry().reference(
            &row_key(entity_type, entity, &key),
            references.names,
            references.unreadable,
        );
    }

    /// Records a stored row whose document cannot be read: it may reference any secret, so no
    /// secret is released while it is there.
    pub fn register_unreadable(&self, entity_type: EntityType, id: &str) {
        self.registry().reference(
            &(entity_type.as_str(), format!("id:{id}")),
            BTreeMap::new(),
            true,
        );
    }

    /// Forgets the references registered so far: the rows are about to be scanned again.
    pub fn forget_references(&self) {
        self.registry().forget_references();
    }

    /// The vault secrets `entity` references: every `secret:<name>` string in it, plain or
    /// inside a `fernet:` token, wherever it is (consumers resolve references in any field).
    #[must_use]
    pub fn references(&self, entity_type: EntityType, entity: &Value) -> References {
        let entity_ref = EntityRef {
            entity_type: entity_type.as_str().to_owned(),
            name: EntityKey::of(entity_type, entity)
                .map(|key| key.fqn())
                .unwrap_or_default(),
        };
        let mut references = References::default();
        visit_strings(entity, &mut Vec::new(), &mut |path, text| {
            let Ok(plain) = self.keys.decrypt_if_tokenized(text) else {
                references.unreadable = true;
                return;
            };
            if let Some(name) = crate::reference::reference_name(&plain)
                .and_then(|name| SecretName::new(&name).ok())
            {
                references.names.entry(name).or_insert_with(|| FieldRef {
                    entity: entity_ref.clone(),
                    path: path.join("."),
                });
            }
        });
        references
    }

    /// The claims of a stored entity's secret fields.
    fn stored_claims(
        &self,
        entity_type: EntityType,
        entity: &Value,
        key: &EntityKey,
    ) -> Result<Vec<(SecretName, FieldRef, Rank)>> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(Vec::new());
        };
        let mut claims = Vec::new();
        for secret in &fields {
            let (steps, field) = self.locate(&scope, secret);
            // Nothing can exist under a name Key Vault refuses.
            let Ok(name) = self.secret_name(&scope, secret, &field) else {
                continue;
            };
            let rank = match pointer(entity, &steps) {
                Some(Value::String(text)) => match self.keys.decrypt_if_tokenized(text) {
                    Err(_) => Rank::Holds,
                    Ok(plain) if plain.strip_prefix(SECRET_PREFIX) == Some(name.as_str()) => {
                        Rank::Holds
                    }
                    Ok(plain) if plain.is_empty() || is_reference(&plain) => continue,
                    Ok(_) => Rank::Wants,
                },
                _ => continue,
            };
            claims.push((name, claimant(key, field), rank));
        }
        Ok(claims)
    }

    /// Computes a field's name and checks it against the entity's other names and against the
    /// names other entities own.
    pub(crate) fn claim_name(
        &self,
        key: Option<&EntityKey>,
        scope: &SecretScope<'_>,
        secret: &SecretField,
        field: &FieldRef,
        names: &mut BTreeMap<SecretName, FieldRef>,
    ) -> Result<SecretName> {
        let name = self.secret_name(scope, secret, field)?;
        let second = key.map_or_else(|| field.clone(), |key| claimant(key, field.clone()));
        let collision = |first: &FieldRef| Error::SecretNameCollision {
            name: name.clone(),
            first: Box::new(first.clone()),
            second: Box::new(second.clone()),
        };
        if let Some(first) = names.get(&name) {
            return Err(collision(first));
        }
        if let Some(owner) = self.registry().owner(&name)
            && Some(&owner.key) != key
        {
            return Err(collision(&owner.field));
        }
        names.insert(name.clone(), field.clone());
        Ok(name)
    }
}

/// The `secret:` references of an entity ([`SecretsManager::references`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct References {
    /// Each name referenced, with the first field that references it.
    pub names: BTreeMap<SecretName, FieldRef>,
    /// Whether some `fernet:` value opens with no key (it may reference any name).
    pub unreadable: bool,
}

impl References {
    /// The names these references hold and `newer` does not, with the field that held them.
    #[must_use]
    pub fn dropped_by(&self, newer: &References) -> Vec<(SecretName, FieldRef)> {
        self.names
            .iter()
            .filter(|(name, _)| !newer.names.contains_key(*name))
            .map(|(name, field)| (name.clone(), field.clone()))
            .collect()
    }
}

/// The field as claims name it: for an ingestion pipeline, its fully qualified name.
fn claimant(key: &EntityKey, mut field: FieldRef) -> FieldRef {
    if key.parts().len() > 1 {
        field.entity.name = key.fqn();
    }
    field
}

/// A row as the registry tells rows apart: type and `id`, else identity.
pub(crate) fn row_key(entity_type: EntityType, entity: &Value, key: &EntityKey) -> RowKey {
    let id = entity
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map_or_else(|| format!("fqn:{}", key.fqn()), |id| format!("id:{id}"));
    (entity_type.as_str(), id)
}

/// Calls `visit` with every string in `value` and the keys (and indices) leading to it.
fn visit_strings(value: &Value, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &str)) {
    match value {
        Value::String(text) => visit(path, text),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(key.clone());
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}
