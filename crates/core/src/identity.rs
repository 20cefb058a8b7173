//! Which row of its table an entity is, as OpenMetadata identifies it.
//!
//! Every entity table is unique by name except `ingestion_pipeline_entity`, which is unique by
//! fully qualified name (`fqnHash`, spec §8): `sales.dbt` and `finance.dbt` are two pipelines
//! named `dbt`. Claims on secret names and row lookups follow this identity.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::entity::EntityType;

/// An entity's identity in its table: its type and the parts of its fully qualified name (one
/// part, the name, for every type but ingestion pipelines: `[service, pipeline]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityKey {
    entity_type: EntityType,
    parts: Vec<String>,
}

impl EntityKey {
    /// The identity of `entity`, or `None` when it has no non-empty `name` string.
    ///
    /// An ingestion pipeline's fully qualified name is its `fullyQualifiedName`, else its
    /// `service` reference's fully qualified name (or name) followed by its own name, else its
    /// name alone (a document without a service cannot be told apart by more).
    #[must_use]
    pub fn of(entity_type: EntityType, entity: &Value) -> Option<Self> {
        let name = entity
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())?;
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let parts = if entity_type == EntityType::IngestionPipeline {
            if let Some(fqn) = text(entity.get("fullyQualifiedName")) {
                split_fqn(&fqn)
            } else {
                let service = entity.get("service");
                let mut parts = match (
                    text(service.and_then(|s| s.get("fullyQualifiedName"))),
                    text(service.and_then(|s| s.get("name"))),
                ) {
                    (Some(fqn), _) => split_fqn(&fqn),
                    (None, Some(service)) => vec![service],
                    (None, None) => Vec::new(),
                };
                parts.push(name.to_owned());
                parts
            }
        } else {
            vec![name.to_owned()]
        };
        Some(Self { entity_type, parts })
    }

    /// The entity type.
    #[must_use]
    pub fn entity_type(&self) -> EntityType {
        self.entity_type
    }

    /// The parts of the fully qualified name, unquoted.
    #[must_use]
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The entity's own name (the last part).
    #[must_use]
    pub fn name(&self) -> &str {
        self.parts.last().map_or("", String::as_str)
    }

    /// The fully qualified name as OpenMetadata writes it: parts joined with `.`, a part that
    /// contains a `.` in double quotes.
    #[must_use]
    pub fn fqn(&self) -> String {
        self.parts
            .iter()
            .map(|part| {
                if part.contains('.') {
                    format!("\"{part}\"")
                } else {
                    part.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl Ord for EntityKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.entity_type.as_str(), &self.parts).cmp(&(other.entity_type.as_str(), &other.parts))
    }
}

impl PartialOrd for EntityKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.entity_type, self.fqn())
    }
}

/// OpenMetadata's `FullyQualifiedName.split`: parts separated by `.`, a part in double quotes
/// may contain `.`; the quotes are removed.
fn split_fqn(fqn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    for c in fqn.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    parts.push(part);
    parts
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pipelines_are_identified_by_service_and_name_everything_else_by_name() {
        let pipeline = |doc: Value| EntityKey::of(EntityType::IngestionPipeline, &doc).unwrap();
        let sales = pipeline(json!({"name": "dbt", "service": {"name": "sales"}}));
        let finance = pipeline(json!({"name": "dbt", "service": {"name": "finance"}}));
        assert_ne!(sales, finance);
        assert_eq!(sales.fqn(), "sales.dbt");
        assert_eq!(sales.name(), "dbt");
        let dotted =
            pipeline(json!({"name": "dbt", "service": {"fullyQualifiedName": "\"team.sales\""}}));
        assert_eq!(dotted.parts(), ["team.sales", "dbt"]);
        assert_eq!(dotted.fqn(), "\"team.sales\".dbt");
        assert_eq!(
            pipeline(json!({"name": "dbt", "fullyQualifiedName": "\"team.sales\".dbt"})),
            dotted
        );
        assert_eq!(pipeline(json!({"name": "dbt"})).fqn(), "dbt");

        let service = EntityKey::of(
            EntityType::DatabaseService,
            &json!({"name": "a.b", "fullyQualifiedName": "x"}),
        )
        .unwrap();
        assert_eq!(service.parts(), ["a.b"]);
        assert!(EntityKey::of(EntityType::User, &json!({"name": ""})).is_none());
        assert_eq!(
            EntityKey::of(EntityType::User, &json!({"name": "Alice"}))
                .unwrap()
                .to_string(),
            "user `Alice`"
        );
    }
}
