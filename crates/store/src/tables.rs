//! Which table holds which entity: OpenMetadata's table names, which every layout shares.

use vaultref_core::EntityType;

/// OpenMetadata's entity version history.
pub(crate) const VERSIONS_TABLE: &str = "entity_extension";

/// OpenMetadata's table for an entity type (`databaseService` is `dbservice_entity`, bot users
/// are rows of `user_entity`, workflows are `automations_workflow`).
#[must_use]
pub fn table_name(entity_type: EntityType) -> &'static str {
    match entity_type {
        EntityType::DatabaseService => "dbservice_entity",
        EntityType::DashboardService => "dashboard_service_entity",
        EntityType::MessagingService => "messaging_service_entity",
        EntityType::PipelineService => "pipeline_service_entity",
        EntityType::MlmodelService => "mlmodel_service_entity",
        EntityType::StorageService => "storage_service_entity",
        EntityType::MetadataService => "metadata_service_entity",
        EntityType::SearchService => "search_service_entity",
        EntityType::ApiService => "api_service_entity",
        EntityType::DriveService => "drive_service_entity",
        EntityType::SecurityService => "security_service_entity",
        EntityType::LlmService => "llm_service_entity",
        EntityType::McpService => "mcp_service_entity",
        EntityType::User => "user_entity",
        EntityType::Bot => "bot_entity",
        EntityType::IngestionPipeline => "ingestion_pipeline_entity",
        // Workflows, and any type core adds later, until it gets a table of its own.
        _ => "automations_workflow",
    }
}

/// Every entity type with a table of its own, once (bot users share `user_entity` with users;
/// a type without a table of its own is left out).
#[must_use]
pub fn entity_types_with_tables() -> Vec<EntityType> {
    let mut seen = std::collections::BTreeSet::new();
    EntityType::all()
        .iter()
        .copied()
        .filter(|t| seen.insert(table_name(*t)))
        .collect()
}
