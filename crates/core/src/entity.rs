//! OpenMetadata's entity types, and where each keeps its secrets.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::catalog::{Catalog, Shape};
use crate::error::{EntityRef, Error, Result};

/// An OpenMetadata entity type, spelled as OpenMetadata spells it (`databaseService`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntityType {
    /// `databaseService`.
    DatabaseService,
    /// `dashboardService`.
    DashboardService,
    /// `messagingService`.
    MessagingService,
    /// `pipelineService`.
    PipelineService,
    /// `mlmodelService`.
    MlmodelService,
    /// `storageService`.
    StorageService,
    /// `metadataService`.
    MetadataService,
    /// `searchService`.
    SearchService,
    /// `apiService`.
    ApiService,
    /// `driveService`.
    DriveService,
    /// `securityService`.
    SecurityService,
    /// `llmService`.
    LlmService,
    /// `mcpService`.
    McpService,
    /// `user`: bot users (`isBot: true`) keep a secret in `authenticationMechanism`.
    User,
    /// `bot`: refers to its bot user; holds no secret itself.
    Bot,
    /// `ingestionPipeline`: dbt sources keep credentials in `sourceConfig.config`.
    IngestionPipeline,
    /// `workflow`: automations such as test-connection requests.
    Workflow,
}

const ALL: [EntityType; 17] = [
    EntityType::DatabaseService,
    EntityType::DashboardService,
    EntityType::MessagingService,
    EntityType::PipelineService,
    EntityType::MlmodelService,
    EntityType::StorageService,
    EntityType::MetadataService,
    EntityType::SearchService,
    EntityType::ApiService,
    EntityType::DriveService,
    EntityType::SecurityService,
    EntityType::LlmService,
    EntityType::McpService,
    EntityType::User,
    EntityType::Bot,
    EntityType::IngestionPipeline,
    EntityType::Workflow,
];

impl EntityType {
    /// Every entity type.
    #[must_use]
    pub fn all() -> &'static [EntityType] {
        &ALL
    }

    /// OpenMetadata's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DatabaseService => "databaseService",
            Self::DashboardService => "dashboardService",
            Self::MessagingService => "messagingService",
            Self::PipelineService => "pipelineService",
            Self::MlmodelService => "mlmodelService",
            Self::StorageService => "storageService",
            Self::MetadataService => "metadataService",
            Self::SearchService => "searchService",
            Self::ApiService => "apiService",
            Self::DriveService => "driveService",
            Self::SecurityService => "securityService",
            Self::LlmService => "llmService",
            Self::McpService => "mcpService",
            Self::User => "user",
            Self::Bot => "bot",
            Self::IngestionPipeline => "ingestionPipeline",
            Self::Workflow => "workflow",
        }
    }

    /// For services, the category: the lower-cased `ServiceType` that starts their secret ids
    /// (`database`, `mlmodel`, ...) and the folder of their connection schemas.
    #[must_use]
    pub fn service_category(self) -> Option<&'static str> {
        Some(match self {
            Self::DatabaseService => "database",
            Self::DashboardService => "dashboard",
            Self::MessagingService => "messaging",
            Self::PipelineService => "pipeline",
            Self::MlmodelService => "mlmodel",
            Self::StorageService => "storage",
            Self::MetadataService => "metadata",
            Self::SearchService => "search",
            Self::ApiService => "api",
            Self::DriveService => "drive",
            Self::SecurityService => "security",
            Self::LlmService => "llm",
            Self::McpService => "mcp",
            _ => return None,
        })
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ALL.iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownEntityType(s.to_owned()))
    }
}

/// Where an entity keeps its secrets: the walked sub-document, what the catalog says of it,
/// the id values.
#[derive(Debug)]
pub(crate) struct SecretScope<'c> {
    /// The entity, for messages.
    pub(crate) entity: EntityRef,
    /// JSON keys from the entity root to the walked value.
    pub(crate) root: Vec<String>,
    /// What the catalog says of the walked value.
    pub(crate) shape: &'c Shape,
    /// Values of OpenMetadata's `buildSecretId(true, ...)` for this entity.
    pub(crate) id_values: Vec<String>,
}

impl<'c> SecretScope<'c> {
    /// The scope of `entity`, or `None` when this entity cannot hold secrets (a non-bot user, a
    /// bot, a service without connection config).
    ///
    /// # Errors
    /// [`Error::Entity`] for a document without a name, [`Error::UnknownConnectionType`] for a
    /// service whose connection type the catalog does not know.
    pub(crate) fn of(
        entity_type: EntityType,
        entity: &Value,
        catalog: &'c Catalog,
    ) -> Result<Option<Self>> {
        let name = entity
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let entity_ref = EntityRef {
            entity_type: entity_type.as_str().to_owned(),
            name: name.to_owned(),
        };
        if !entity.is_object() {
            return Err(Error::Entity {
                entity: entity_ref,
                problem: "is not a JSON object".to_owned(),
            });
        }
        if name.is_empty() {
            return Err(Error::Entity {
                entity: entity_ref,
                problem: "has no `name`: every entity needs one, it is part of its secret names"
                    .to_owned(),
            });
        }
        if let Some(category) = entity_type.service_category() {
            let Some(config) = entity
                .pointer("/connection/config")
                .filter(|c| c.as_object().is_some_and(|c| !c.is_empty()))
            else {
                return Ok(None);
            };
            let config_type = config.get("type").and_then(Value::as_str);
            let connection_type = entity
                .get("serviceType")
                .and_then(Value::as_str)
                .or(config_type)
                .ok_or_else(|| Error::Entity {
                    entity: entity_ref.clone(),
                    problem: "has neither `serviceType` nor `connection.config.type`: set \
                              one (e.g. \"Mysql\")"
                        .to_owned(),
                })?;
            // serviceType and config.type normally agree; accept either.
            let shape = catalog
                .connection_shapes([category], connection_type)
                .into_iter()
                .chain(
                    config_type
                        .into_iter()
                        .flat_map(|t| catalog.connection_shapes([category], t)),
                )
                .next()
                .ok_or_else(|| Error::UnknownConnectionType {
                    entity: entity_ref.clone(),
                    category: category.to_owned(),
                    connection_type: connection_type.to_owned(),
                    path: "connection.config".to_owned(),
                })?;
            return Ok(Some(Self {
                entity: entity_ref,
                root: vec!["connection".to_owned(), "config".to_owned()],
                shape,
                id_values: vec![category.to_owned(), name.to_owned()],
            }));
        }
        let kind = match entity_type {
            EntityType::User => {
                let is_bot = entity.get("isBot").and_then(Value::as_bool) == Some(true);
                if !is_bot {
                    return Ok(None);
                }
                "bot"
            }
            EntityType::IngestionPipeline => "pipeline",
            EntityType::Workflow => "workflow",
            _ => "",
        };
        let (Some(shape), Some(root)) = (
            catalog.entity_shape(entity_type.as_str()),
            catalog.entity_root(entity_type.as_str()),
        ) else {
            return Ok(None);
        };
        if shape.is_empty() || !pointer_keys(entity, root).is_some_and(Value::is_object) {
            return Ok(None);
        }
        Ok(Some(Self {
            entity: entity_ref,
            root: root.to_vec(),
            shape,
            id_values: vec![kind.to_owned(), name.to_owned()],
        }))
    }

    /// The walked value inside `entity`.
    pub(crate) fn root_value<'a>(&self, entity: &'a Value) -> Option<&'a Value> {
        pointer_keys(entity, &self.root)
    }
}

fn pointer_keys<'a>(value: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_types_round_trip_and_unknown_ones_are_named() {
        for t in EntityType::all() {
            assert_eq!(t.as_str().parse::<EntityType>().unwrap(), *t);
        }
        let err = "databaseservice".parse::<EntityType>().unwrap_err();
        assert!(err.to_string().contains("databaseService"), "{err}");
    }
}
