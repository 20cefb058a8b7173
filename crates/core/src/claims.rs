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

use crate::error::FieldRef;
use crate::identity::EntityKey;
use crate::naming::SecretName;

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
