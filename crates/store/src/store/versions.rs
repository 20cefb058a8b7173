//! OpenMetadata's entity version history (`entity_extension`): every earlier version of an
//! entity is a whole document there, secrets as they were at the time, under the extension
//! `<entityType>.version.<x.y>` (OpenMetadata's `EntityUtil.getVersionExtension`). Read only:
//! `scan` reports what the history keeps readable; nothing here writes it.

use std::fmt;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use serde_json::Value;
use sqlx::any::AnyRow;
use vaultref_core::EntityType;

use super::{Store, VERSIONS_TABLE, parse_document, text_column};
use crate::error::{Error, Result};
use crate::url::Flavour;

/// The infix between an entity type and a version number in an extension.
const VERSION_INFIX: &str = ".version.";

/// One earlier version of an entity, from OpenMetadata's `entity_extension`.
///
/// `Debug` shows the type, id and extension only: the document may hold secrets.
#[derive(Clone)]
#[non_exhaustive]
pub struct EntityVersion {
    /// The entity type, from the extension's prefix.
    pub entity_type: EntityType,
    /// The entity's id.
    pub id: String,
    /// The version (`0.2`), from the extension.
    pub version: String,
    /// The document as it was then.
    pub entity: Value,
}

impl fmt::Debug for EntityVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntityVersion")
            .field("entity_type", &self.entity_type)
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The position after a page: the last (id, extension) read.
type Cursor = (String, String);

impl Store {
    /// Every earlier version of every entity of a type vaultref knows, from OpenMetadata's
    /// `entity_extension`, `page_size` rows at a time (keyset paging by id and extension).
    /// Empty when the database has no such table ([`Layout::has_versions`]). A row whose
    /// document does not parse is an [`Error::InvalidDocument`] item and the stream goes on; a
    /// failed query ends it.
    ///
    /// [`Layout::has_versions`]: crate::Layout::has_versions
    pub fn stream_versions(
        &self,
        page_size: u32,
    ) -> impl Stream<Item = Result<EntityVersion>> + Send + '_ {
        self.stream_typed_versions(page_size)
            .map(|item| item.and_then(|(_, version)| version))
    }

    /// As [`stream_versions`](Self::stream_versions), each row with the entity type its
    /// extension names (known even when its document does not parse).
    pub(crate) fn stream_typed_versions(
        &self,
        page_size: u32,
    ) -> impl Stream<Item = Result<(EntityType, Result<EntityVersion>)>> + Send + '_ {
        stream::try_unfold(
            Some(None),
            move |cursor: Option<Option<Cursor>>| async move {
                let Some(after) = cursor else {
                    return Ok::<_, Error>(None);
                };
                if after.is_none() && !self.layout().await?.has_versions() {
                    return Ok(None);
                }
                let (page, last) = self.versions_page(after.as_ref(), page_size).await?;
                let next = (page.len() >= page_size.max(1) as usize).then_some(last);
                Ok(Some((page, next)))
            },
        )
        .map_ok(stream::iter)
        .try_flatten()
        .boxed()
    }

    /// One page after `after`, and the cursor of its last row.
    async fn versions_page(
        &self,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<(
        Vec<Result<(EntityType, Result<EntityVersion>)>>,
        Option<Cursor>,
    )> {
        // Only the types vaultref knows: the history of tables, dashboards, ... is left alone.
        // The prefixes are vaultref's own constants (letters only), not input.
        // Case-sensitive everywhere (MySQL's default collation is not): a prefix that only
        // looks like a known type is not one, and is left alone like any other type's.
        let like = match self.flavour {
            Flavour::MySql => "LIKE BINARY",
            Flavour::Postgres | Flavour::Sqlite => "LIKE",
        };
        let types = EntityType::all()
            .iter()
            .map(|t| format!("extension {like} '{}{VERSION_INFIX}%'", t.as_str()))
            .collect::<Vec<_>>()
            .join(" OR ");
        let keyset = if after.is_some() {
            format!(
                " AND (id > {} OR (id = {} AND extension > {}))",
                self.param(1),
                self.param(2),
                self.param(3)
            )
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT id, extension, {} FROM {VERSIONS_TABLE} WHERE ({types}){keyset} \
             ORDER BY id, extension LIMIT {}",
            self.json_text(),
            limit.max(1)
        );
        let mut query = sqlx::query(&sql);
        if let Some((id, extension)) = after {
            query = query
                .bind(id.clone())
                .bind(id.clone())
                .bind(extension.clone());
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|source| Error::Query {
                action: "list entity versions",
                table: VERSIONS_TABLE,
                source,
            })?;
        // The next page starts after the last row: if its key cannot be read, the scan stops
        // with that error rather than skip or loop.
        let last = match rows.last() {
            Some(row) => Some((text(row, 0)?, text(row, 1)?)),
            None => None,
        };
        let page = rows
            .iter()
            .map(|row| decode(&text(row, 0)?, &text(row, 1)?, text(row, 2)?))
            .collect();
        Ok((page, last))
    }
}

fn text(row: &AnyRow, index: usize) -> Result<String> {
    text_column(VERSIONS_TABLE, row, index)
}

/// The row's entity type (an error when the extension names none: the query selects only
/// extensions of known types), and its version (an error when the document does not parse).
fn decode(id: &str, extension: &str, text: String) -> Result<(EntityType, Result<EntityVersion>)> {
    let invalid = |problem: String| Error::InvalidDocument {
        table: VERSIONS_TABLE,
        id: id.to_owned(),
        problem,
    };
    let (entity_type, version) = extension
        .split_once(VERSION_INFIX)
        .and_then(|(prefix, version)| Some((prefix.parse().ok()?, version)))
        .ok_or_else(|| {
            invalid(format!(
                "extension `{extension}` names no known entity type"
            ))
        })?;
    let version = parse_document(VERSIONS_TABLE, id, text).map(|document| EntityVersion {
        entity_type,
        id: id.to_owned(),
        version: version.to_owned(),
        entity: document.value().clone(),
    });
    Ok((entity_type, version))
}
