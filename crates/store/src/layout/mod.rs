//! Whose tables a database holds: OpenMetadata's (by release when it says), vaultref's own, or
//! none yet; and what the store must know of each table to read and write it.
//!
//! OpenMetadata's tables are told by their `name` column, which is generated from the document
//! (vaultref's own is a plain column). Their writable columns are the document and its name
//! hash (`nameHash`, `fqnHash` for ingestion pipelines); everything else is generated, so the
//! store writes only those two. A table of vaultref's list that does not exist on an
//! OpenMetadata database belongs to a release without such entities (`api_service_entity`
//! before 1.5, `drive_service_entity` before 1.9, ...): it is read as empty and said so.

mod detect;
mod fit;
mod hash;

use std::collections::BTreeMap;
use std::fmt;

use vaultref_core::EntityType;

pub(crate) use self::detect::detect;
pub(crate) use self::fit::fit_standalone_tables;
pub(crate) use self::hash::{hash_parts, name_hash};
use crate::tables::{entity_types_with_tables, table_name};

/// Whose entity tables a database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutKind {
    /// OpenMetadata's own tables (columns generated from the document, rows identified by
    /// `nameHash` / `fqnHash`): vaultref shares the database with an OpenMetadata server.
    OpenMetadata {
        /// The newest migration OpenMetadata recorded in `SERVER_CHANGE_LOG` (e.g. `1.13.4`),
        /// when the database has that table.
        release: Option<String>,
    },
    /// The tables vaultref's own migrations create ([`Store::migrate`](crate::Store::migrate)).
    Vaultref,
    /// No entity table at all: run vaultref's migrations, or point at OpenMetadata's database.
    Empty,
}

/// The layout of a database: whose tables, and which of vaultref's tables exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    kind: LayoutKind,
    tables: BTreeMap<&'static str, Table>,
    /// OpenMetadata's `entity_extension` (entity version history) is there.
    versions: bool,
}

/// What the store needs to know of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Table {
    /// OpenMetadata's: `id` and `name` are generated; write only `json` and `hash`.
    pub(crate) openmetadata: bool,
    /// The name-hash column OpenMetadata's writers set, if the table has one.
    pub(crate) hash: Option<HashColumn>,
    /// PostgreSQL: the `json` column is `json`, not `jsonb` (OpenMetadata's pipelines), so a
    /// written text keeps its key order.
    pub(crate) plain_json: bool,
}

/// The column that holds an entity's name hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashColumn {
    /// `nameHash`: MD5 of the quoted name.
    Name,
    /// `fqnHash`: MD5 of each quoted part of the fully qualified name, joined by `.`.
    Fqn,
}

impl HashColumn {
    /// The column, unquoted (PostgreSQL folds it to lower case, MySQL ignores case).
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Name => "nameHash",
            Self::Fqn => "fqnHash",
        }
    }
}

impl Layout {
    /// vaultref's own layout with every table (SQLite databases are always vaultref's).
    pub(crate) fn vaultref_complete() -> Self {
        let tables = entity_types_with_tables()
            .into_iter()
            .map(|t| {
                let table = Table {
                    openmetadata: false,
                    hash: (t == EntityType::IngestionPipeline).then_some(HashColumn::Fqn),
                    plain_json: false,
                };
                (table_name(t), table)
            })
            .collect();
        Self {
            kind: LayoutKind::Vaultref,
            tables,
            versions: false,
        }
    }

    /// Whose tables these are.
    #[must_use]
    pub fn kind(&self) -> &LayoutKind {
        &self.kind
    }

    /// Whether these are OpenMetadata's tables.
    #[must_use]
    pub fn is_openmetadata(&self) -> bool {
        matches!(self.kind, LayoutKind::OpenMetadata { .. })
    }

    /// The OpenMetadata release the database records, if it does.
    #[must_use]
    pub fn release(&self) -> Option<&str> {
        match &self.kind {
            LayoutKind::OpenMetadata { release } => release.as_deref(),
            _ => None,
        }
    }

    /// Whether the table of `entity_type` exists.
    #[must_use]
    pub fn has_table(&self, entity_type: EntityType) -> bool {
        self.tables.contains_key(table_name(entity_type))
    }

    /// vaultref's tables the database does not have, in table order. On OpenMetadata's layout
    /// these are the entities the release does not know (read as none).
    #[must_use]
    pub fn missing_tables(&self) -> Vec<&'static str> {
        entity_types_with_tables()
            .into_iter()
            .map(table_name)
            .filter(|t| !self.tables.contains_key(t))
            .collect()
    }

    /// Whether the database keeps OpenMetadata's entity version history (`entity_extension`),
    /// where every earlier version of an entity is a whole document, secrets included.
    #[must_use]
    pub fn has_versions(&self) -> bool {
        self.versions
    }

    pub(crate) fn table(&self, entity_type: EntityType) -> Option<Table> {
        self.tables.get(table_name(entity_type)).copied()
    }
}

impl fmt::Display for Layout {
    /// One line for `vaultref check`: `OpenMetadata 1.13.4 layout`, `OpenMetadata layout
    /// (release not recorded)`, `vaultref's own layout`, `no entity tables`; then the tables a
    /// release lacks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            LayoutKind::OpenMetadata {
                release: Some(release),
            } => write!(f, "OpenMetadata {release} layout")?,
            LayoutKind::OpenMetadata { release: None } => {
                f.write_str("OpenMetadata layout (release not recorded)")?;
            }
            LayoutKind::Vaultref => f.write_str("vaultref's own layout")?,
            LayoutKind::Empty => {
                return f.write_str(
                    "no entity tables (vaultref's migrations create them; or point database \
                     at OpenMetadata's database)",
                );
            }
        }
        let missing = self.missing_tables();
        if !missing.is_empty() {
            write!(
                f,
                "; no table {} (this release has no such entities)",
                missing.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Compares OpenMetadata versions (`1.9.0` < `1.13.4` < `2.0.0`) number by number; a part
/// that is not a number compares as text after the numbers.
pub(crate) fn newest_version(versions: impl IntoIterator<Item = String>) -> Option<String> {
    fn key(version: &str) -> Vec<(u64, String)> {
        version
            .split(['.', '-'])
            .map(|part| {
                part.parse()
                    .map_or((u64::MAX, part.to_owned()), |n| (n, String::new()))
            })
            .collect()
    }
    versions.into_iter().max_by(|a, b| key(a).cmp(&key(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_is_compared_number_by_number() {
        let versions = ["1.1.0", "1.9.0", "1.13.4", "1.12.0"].map(String::from);
        assert_eq!(newest_version(versions).as_deref(), Some("1.13.4"));
        let versions = ["1.13.4", "2.0.0", "1.9.0"].map(String::from);
        assert_eq!(newest_version(versions).as_deref(), Some("2.0.0"));
        assert_eq!(newest_version(Vec::new()), None);
    }

    #[test]
    fn the_layout_line_names_the_release_and_what_it_lacks() {
        let mut layout = Layout::vaultref_complete();
        assert_eq!(layout.to_string(), "vaultref's own layout");
        layout.kind = LayoutKind::OpenMetadata {
            release: Some("1.4.0".to_owned()),
        };
        layout.tables.remove("api_service_entity");
        assert_eq!(
            layout.to_string(),
            "OpenMetadata 1.4.0 layout; no table api_service_entity (this release has no such \
             entities)"
        );
        assert!(!layout.has_table(EntityType::ApiService));
        assert!(layout.has_table(EntityType::DatabaseService));
    }
}
