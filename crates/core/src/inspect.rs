//! Looking at an entity's secrets without storing them: what the catalog finds
//! ([`SecretsManager::discover_fields`]), masking for readers without permission
//! ([`SecretsManager::mask_entity`]), and what is left readable at rest
//! ([`SecretsManager::scan_entity`], for `vaultref scan`).

use serde_json::Value;

use crate::catalog::{dotted, pointer, pointer_mut};
use crate::document::{JsonPath, PathStep};
use crate::entity::{EntityType, SecretScope};
use crate::error::{Error, FieldRef, Result};
use crate::manager::{PASSWORD_MASK, SecretsManager};
use crate::reference::is_reference;

/// What `scan` finds wrong with a field at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtRest {
    /// A secret field holds a plaintext (neither `fernet:` nor `secret:`).
    Plaintext,
    /// A secret field holds a `fernet:` token of a plaintext while the provider is managed
    /// (the secret belongs in the vault).
    FernetOfPlaintext,
    /// A secret field holds a `fernet:` token that none of the keys opens.
    Undecryptable,
    /// A secret field holds something other than a string.
    NotAString,
    /// A field looks secret, the catalog does not classify it, and it holds a plaintext.
    Unclassified,
}

impl AtRest {
    /// A short description for reports.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext secret",
            Self::FernetOfPlaintext => {
                "fernet: of a plaintext (managed mode keeps it in the vault)"
            }
            Self::Undecryptable => "fernet: token no configured key opens",
            Self::NotAString => "secret field that is not a string",
            Self::Unclassified => "looks secret, not in the catalog, plaintext",
        }
    }

    /// A stable identifier for JSON output.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::FernetOfPlaintext => "fernet-of-plaintext",
            Self::Undecryptable => "undecryptable",
            Self::NotAString => "not-a-string",
            Self::Unclassified => "unclassified",
        }
    }
}

impl SecretsManager {
    /// The secret fields of an entity as the catalog finds them (paths from the entity root,
    /// `.`-joined), and the fields that look secret but that the catalog does not classify
    /// and that hold a plaintext. No Fernet, no vault: what `scan` and the conformance test
    /// compare.
    ///
    /// # Errors
    /// Entity shape errors and [`Error::UnknownConnectionType`].
    pub fn discover_fields(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<(Vec<FieldRef>, Vec<FieldRef>)> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let secrets = fields.iter().map(|s| self.locate(&scope, s).1).collect();
        let unclassified = self.unclassified(&scope, entity);
        Ok((secrets, unclassified))
    }

    /// The secret fields of `entity` with their steps from the entity root (array items as
    /// indexes, keys as they are, dots included): where to read or edit each one.
    ///
    /// # Errors
    /// Entity shape errors and [`Error::UnknownConnectionType`].
    pub fn secret_field_paths(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Vec<(JsonPath, FieldRef)>> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(Vec::new());
        };
        Ok(fields.iter().map(|s| self.locate(&scope, s)).collect())
    }

    /// Masks every secret field of `entity` as OpenMetadata's API does for readers without
    /// permission (`*********`), and every field that looks secret and is not classified.
    /// Returns how many fields were masked.
    ///
    /// # Errors
    /// Entity shape errors and [`Error::UnknownConnectionType`].
    pub fn mask_entity(&self, entity_type: EntityType, entity: &mut Value) -> Result<usize> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(0);
        };
        let mut paths: Vec<JsonPath> = fields.iter().map(|s| self.locate(&scope, s).0).collect();
        paths.extend(self.unclassified_paths(&scope, entity));
        let mut masked = 0;
        for steps in paths {
            if let Some(slot) = pointer_mut(entity, &steps)
                && !slot.is_null()
            {
                *slot = Value::String(PASSWORD_MASK.to_owned());
                masked += 1;
            }
        }
        Ok(masked)
    }

    pub(crate) fn unclassified_paths(
        &self,
        scope: &SecretScope<'_>,
        entity: &Value,
    ) -> Vec<JsonPath> {
        let Some(root) = scope.root_value(entity) else {
            return Vec::new();
        };
        self.catalog()
            .unclassified(scope.shape, root)
            .into_iter()
            .map(|tail| {
                scope
                    .root
                    .iter()
                    .cloned()
                    .map(PathStep::Key)
                    .chain(tail)
                    .collect()
            })
            .collect()
    }

    pub(crate) fn unclassified(&self, scope: &SecretScope<'_>, entity: &Value) -> Vec<FieldRef> {
        self.unclassified_paths(scope, entity)
            .iter()
            .map(|steps| FieldRef {
                entity: scope.entity.clone(),
                path: dotted(steps),
            })
            .collect()
    }

    /// [`Error::UnclassifiedSecret`] for the first field that looks secret, is not classified
    /// and holds a plaintext.
    pub(crate) fn refuse_unclassified(
        &self,
        scope: &SecretScope<'_>,
        entity: &Value,
    ) -> Result<()> {
        match self.unclassified(scope, entity).into_iter().next() {
            Some(field) => Err(Error::UnclassifiedSecret(field)),
            None => Ok(()),
        }
    }

    /// Every secret field of `entity` that is readable at rest, and every unclassified field
    /// that looks secret and holds a plaintext (`vaultref scan`). Never a value.
    ///
    /// # Errors
    /// Entity shape errors and [`Error::UnknownConnectionType`]: the entity cannot be checked.
    pub fn scan_entity(
        &self,
        entity_type: EntityType,
        entity: &Value,
    ) -> Result<Vec<(FieldRef, AtRest)>> {
        let Some((scope, fields)) = self.discover(entity_type, entity)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for secret in &fields {
            let (steps, field) = self.locate(&scope, secret);
            let finding = match pointer(entity, &steps) {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) if text.is_empty() || is_reference(text) => None,
                Some(Value::String(text)) => match self.keys.decrypt_if_tokenized(text) {
                    Err(_) => Some(AtRest::Undecryptable),
                    Ok(_) if !text.starts_with(vaultref_fernet::FERNET_PREFIX) => {
                        Some(AtRest::Plaintext)
                    }
                    Ok(plain)
                        if self.provider().is_managed()
                            && !plain.is_empty()
                            && !is_reference(&plain) =>
                    {
                        Some(AtRest::FernetOfPlaintext)
                    }
                    Ok(_) => None,
                },
                Some(_) => Some(AtRest::NotAString),
            };
            if let Some(finding) = finding {
                out.push((field, finding));
            }
        }
        out.extend(
            self.unclassified(&scope, entity)
                .into_iter()
                .map(|f| (f, AtRest::Unclassified)),
        );
        Ok(out)
    }
}
