-- The service categories OpenMetadata added after the first tables (drive, security, llm, mcp),
-- with OpenMetadata's table names (bootstrap/sql/schema, docs/facts-checked.md).
CREATE TABLE IF NOT EXISTS drive_service_entity (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL CHECK (json_valid(json))
);
CREATE TABLE IF NOT EXISTS security_service_entity (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL CHECK (json_valid(json))
);
CREATE TABLE IF NOT EXISTS llm_service_entity (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL CHECK (json_valid(json))
);
CREATE TABLE IF NOT EXISTS mcp_service_entity (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL CHECK (json_valid(json))
);
