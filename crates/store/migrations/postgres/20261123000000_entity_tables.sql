-- vaultref's entity tables for standalone use: OpenMetadata's table names, with the columns
-- vaultref reads and writes (id, name, the entity as a JSON document).
CREATE TABLE IF NOT EXISTS dbservice_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboard_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS messaging_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS pipeline_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS mlmodel_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS storage_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS metadata_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS search_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS api_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS user_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS bot_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS ingestion_pipeline_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS automations_workflow (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
