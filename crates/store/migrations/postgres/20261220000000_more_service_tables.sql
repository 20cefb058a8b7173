-- The service categories OpenMetadata added after the first tables (drive, security, llm, mcp),
-- with OpenMetadata's table names (bootstrap/sql/schema, docs/facts-checked.md).
CREATE TABLE IF NOT EXISTS drive_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS security_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS mcp_service_entity (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(256) NOT NULL UNIQUE,
    json JSONB NOT NULL
);
