//! OpenMetadata's entity types, and where each keeps its secrets.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::error::{EntityRef, Error, Result};
use crate::schema::SchemaRegistry;

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
    /// `user`: bot users (`isBot: true`) keep a secret in `authenticationMechanism`.
    User,
    /// `bot`: refers to its bot user; holds no secret itself.
    Bot,
    /// `ingestionPipeline`: dbt sources keep credentials in `sourceConfig.config`.
    IngestionPipeline,
    /// `workflow`: automations such as test-connection requests.
    Workflow,
}

const ALL: [EntityType; 13] = [
    EntityType::DatabaseService,
    EntityType::DashboardService,
    EntityType::MessagingService,
    EntityType::PipelineService,
    EntityType::MlmodelService,
    EntityType::StorageService,
    EntityType::MetadataService,
    EntityType::SearchService,
    EntityType::ApiService,
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

/// Where an entity keeps its secrets: the walked sub-document, its schema, the id values.
#[derive(Debug)]
pub(crate) struct SecretScope {
    /// The entity, for messages.
    pub(crate) entity: EntityRef,
    /// JSON keys from the entity root to the walked value.
    pub(crate) root: &'static [&'static str],
    /// Schema location of the walked value.
    pub(crate) schema: String,
    /// Values of OpenMetadata's `buildSecretId(true, ...)` for this entity.
    pub(crate) id_values: Vec<String>,
}

impl SecretScope {
    /// The scope of `entity`, or `None` when this entity cannot hold secrets (a non-bot user, a
    /// bot, a service without connection config).
    pub(crate) fn of(
        entity_type: EntityType,
        entity: &Value,
        schemas: &SchemaRegistry,
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
        let scope = |root, schema: &str, kind: &str| {
            Some(Self {
                entity: entity_ref.clone(),
                root,
                schema: schema.to_owned(),
                id_values: vec![kind.to_owned(), name.to_owned()],
            })
        };
        Ok(match entity_type {
            _ if entity_type.service_category().is_some() => {
                let category = entity_type.service_category().unwrap_or_default();
                let Some(config) = entity
                    .pointer("/connection/config")
                    .filter(|c| c.is_object())
                else {
                    return Ok(None);
                };
                let connection_type = entity
                    .get("serviceType")
                    .and_then(Value::as_str)
                    .or_else(|| config.get("type").and_then(Value::as_str))
                    .ok_or_else(|| Error::Entity {
                        entity: entity_ref.clone(),
                        problem: "has neither `serviceType` nor `connection.config.type`: set \
                                  one (e.g. \"Mysql\")"
                            .to_owned(),
                    })?;
                let schema = schemas
                    .connection_schema(category, connection_type)
                    .or_else(|| {
                        // serviceType and config.type normally agree; accept either.
                        let config_type = config.get("type").and_then(Value::as_str)?;
                        schemas.connection_schema(category, config_type)
                    })
                    .ok_or_else(|| Error::UnknownConnectionType {
                        entity_type: entity_type.as_str().to_owned(),
                        category: category.to_owned(),
                        connection_type: connection_type.to_owned(),
                    })?;
                scope(&["connection", "config"], schema, category)
            }
            EntityType::User => {
                let is_bot = entity.get("isBot").and_then(Value::as_bool) == Some(true);
                let has_mechanism = entity
                    .get("authenticationMechanism")
                    .is_some_and(Value::is_object);
                if !(is_bot && has_mechanism) {
                    return Ok(None);
                }
                scope(
                    &["authenticationMechanism"],
                    "entity/teams/user.json#/definitions/authenticationMechanism",
                    "bot",
                )
            }
            EntityType::IngestionPipeline => scope(
                &[],
                "entity/services/ingestionPipelines/ingestionPipeline.json",
                "pipeline",
            ),
            EntityType::Workflow => scope(&[], "entity/automations/workflow.json", "workflow"),
            _ => None,
        })
    }

    /// The walked value inside `entity`.
    pub(crate) fn root_value<'a>(&self, entity: &'a Value) -> Option<&'a Value> {
        self.root
            .iter()
            .try_fold(entity, |value, key| value.get(*key))
    }
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
