//! The policy of `migrate-secrets` and `rotate-fernet-key`, apart from reading and writing rows:
//! the order in which entity types are visited, which rows hold secrets, when a rewritten row
//! is the same in substance, and how a document's `fernet:` values move to the first key.

use serde_json::Value;
use vaultref_fernet::{FERNET_PREFIX, KeyRing};

use crate::document::{JsonPath, PathStep};
use crate::entity::EntityType;
use crate::error::{EntityRef, Error, FieldRef, Result};
use crate::identity::EntityKey;
use crate::manager::SecretsManager;

/// The entity types `migrate-secrets` visits, in OpenMetadata's order: services, bot users,
/// ingestion pipelines, then workflows (which OpenMetadata skips).
#[must_use]
pub fn migration_order() -> Vec<EntityType> {
    let mut order: Vec<EntityType> = EntityType::all()
        .iter()
        .copied()
        .filter(|t| t.service_category().is_some())
        .collect();
    order.extend([
        EntityType::User,
        EntityType::IngestionPipeline,
        EntityType::Workflow,
    ]);
    order
}

/// Whether `migrate-secrets` looks at a row: users only when they are bots.
#[must_use]
pub fn holds_secrets(entity_type: EntityType, entity: &Value) -> bool {
    entity_type != EntityType::User || entity.get("isBot").and_then(Value::as_bool) == Some(true)
}

impl SecretsManager {
    /// Whether two forms of an entity hold the same data: their secret fields decrypt to the
    /// same values, and they differ at most by one `fernet:` token replacing another (a
    /// re-encryption of the same plaintext), never by a plaintext becoming a token. A row
    /// whose rewrite is equivalent is left as it is, so a second run writes nothing.
    #[must_use]
    pub fn equivalent(&self, entity_type: EntityType, old: &Value, new: &Value) -> bool {
        let decrypted = |v: &Value| {
            let mut v = v.clone();
            self.decrypt_entity(entity_type, &mut v).ok().map(|()| v)
        };
        match (decrypted(old), decrypted(new)) {
            (Some(a), Some(b)) if a == b => same_shape(old, new),
            _ => false,
        }
    }
}

/// Equal, except that any two `fernet:` tokens count as equal.
fn same_shape(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::String(a), Value::String(b)) => {
            a == b || (a.starts_with(FERNET_PREFIX) && b.starts_with(FERNET_PREFIX))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_shape(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| same_shape(x, y)))
        }
        _ => old == new,
    }
}

/// Moving every `fernet:` value to the first key of a key list (`FERNET_KEY=new,old`),
/// keeping each token's timestamp.
pub struct FernetRotation {
    keys: KeyRing,
}

impl std::fmt::Debug for FernetRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetRotation")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// What rotating one document found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Rotation {
    /// The re-encrypted values, as edits of the document.
    pub edits: Vec<(JsonPath, Value)>,
    /// Values already under the first key, left as they are.
    pub under_first_key: usize,
}

impl FernetRotation {
    /// The rotation to the first key of a comma-separated key list.
    ///
    /// # Errors
    /// [`Error::Config`] (key `fernetConfiguration.fernetKey`) when the list does not parse.
    pub fn parse(key_list: &str) -> Result<Self> {
        let invalid = |e: vaultref_fernet::KeyError| {
            Error::config(
                "fernetConfiguration.fernetKey",
                format!(
                    "is not a valid Fernet key list: {e} (set FERNET_KEY to comma-separated keys, \
                     the new key first)"
                ),
            )
        };
        Ok(Self {
            keys: KeyRing::parse(key_list).map_err(invalid)?,
        })
    }

    /// How many keys the list has.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The edits that re-encrypt every `fernet:` value of `document` not yet under the first
    /// key, wherever it is.
    ///
    /// # Errors
    /// [`Error::FernetDecrypt`] naming the first value that no key opens.
    pub fn rotate(&self, entity_type: EntityType, document: &Value) -> Result<Rotation> {
        let mut rotation = Rotation::default();
        let mut failed = None;
        self.visit(document, &mut Vec::new(), &mut rotation, &mut failed);
        match failed {
            None => Ok(rotation),
            Some(path) => Err(Error::FernetDecrypt(FieldRef {
                entity: EntityRef {
                    entity_type: entity_type.as_str().to_owned(),
                    name: EntityKey::of(entity_type, document)
                        .map(|key| key.fqn())
                        .unwrap_or_default(),
                },
                path: path
                    .iter()
                    .map(|step| match step {
                        PathStep::Key(key) => key.clone(),
                        PathStep::Index(index) => index.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("."),
            })),
        }
    }

    fn visit(
        &self,
        value: &Value,
        path: &mut JsonPath,
        rotation: &mut Rotation,
        failed: &mut Option<JsonPath>,
    ) {
        if failed.is_some() {
            return;
        }
        match value {
            Value::String(text) => {
                let Some(token) = text.strip_prefix(FERNET_PREFIX) else {
                    return;
                };
                match self.keys.rotate_to_first(token) {
                    Ok(None) => rotation.under_first_key += 1,
                    Ok(Some(rotated)) => rotation.edits.push((
                        path.clone(),
                        Value::String(format!("{FERNET_PREFIX}{rotated}")),
                    )),
                    Err(_) => *failed = Some(path.clone()),
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(index));
                    self.visit(item, path, rotation, failed);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    path.push(PathStep::Key(key.clone()));
                    self.visit(item, path, rotation, failed);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}
