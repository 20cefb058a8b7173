-- vaultref's entity tables for standalone use: OpenMetadata's table names, with the columns
-- vaultref reads and writes (id, name, the entity as a JSON document).
CREATE TABLE IF NOT EXISTS dbservice_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY dbservice_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS dashboard_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY dashboard_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS messaging_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY messaging_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS pipeline_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY pipeline_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS mlmodel_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY mlmodel_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS storage_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY storage_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS metadata_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY metadata_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS search_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY search_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS api_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY api_service_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS user_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY user_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS bot_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY bot_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS ingestion_pipeline_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY ingestion_pipeline_entity_name (name)
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS automations_workflow (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL,
    json JSON NOT NULL,
    UNIQUE KEY automations_workflow_name (name)
) DEFAULT CHARSET = utf8mb4;
