//! One row of an entity table, as read.

use std::fmt;

use serde_json::Value;
use vaultref_core::{Document, EntityKey, EntityType};

/// One row of an entity table: the entity's id, name and JSON document as stored (secret
/// fields in their database form: `fernet:` tokens), with the exact text the database gave.
///
/// `Debug` shows the type, id and name only: the document may hold secrets. Two rows are equal
/// when their type, id, name and document are (the text may differ in spacing and order).
#[derive(Clone)]
#[non_exhaustive]
pub struct StoredEntity {
    /// The entity type (which table the row is in).
    pub entity_type: EntityType,
    /// The `id` column (the document's `id`).
    pub id: String,
    /// The `name` column (the document's `name`).
    pub name: String,
    /// The `json` column, parsed (read it; a rewrite must edit [`text`](Self::text), which
    /// keeps numbers digit for digit and keys in order).
    pub entity: Value,
    /// The `json` column as the database returned it: what a compare-and-set compares.
    pub text: String,
}

impl PartialEq for StoredEntity {
    fn eq(&self, other: &Self) -> bool {
        (self.entity_type, &self.id, &self.name, &self.entity)
            == (other.entity_type, &other.id, &other.name, &other.entity)
    }
}

impl fmt::Debug for StoredEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredEntity")
            .field("entity_type", &self.entity_type)
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl StoredEntity {
    /// The row's document as a [`Document`]: the text with its parsed value.
    #[must_use]
    pub fn document(&self) -> Document {
        // The text parsed into `entity` when it was read, so parsing it again cannot fail.
        Document::parse(self.text.clone())
            .unwrap_or_else(|_| Document::from_value(self.entity.clone()))
    }

    /// The entity's identity in its table (ingestion pipelines: their fully qualified name).
    #[must_use]
    pub fn key(&self) -> Option<EntityKey> {
        EntityKey::of(self.entity_type, &self.entity)
    }
}

/// Whether [`Store::upsert`](super::Store::upsert) inserted a row or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upserted {
    /// A new row.
    Inserted,
    /// The row with the same identity was replaced (its id kept).
    Updated,
}
