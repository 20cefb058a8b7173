-- Ingestion pipelines are unique by fully qualified name, as in OpenMetadata
-- (ingestion_pipeline_entity.fqnHash): pipelines of two services may share a name
-- (`sales.dbt`, `finance.dbt`). vaultref fills fqnhash as OpenMetadata does on insert.
CREATE TABLE ingestion_pipeline_entity_by_fqn (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    json TEXT NOT NULL CHECK (json_valid(json)),
    fqnhash TEXT UNIQUE
);
INSERT INTO ingestion_pipeline_entity_by_fqn (id, name, json)
    SELECT id, name, json FROM ingestion_pipeline_entity;
DROP TABLE ingestion_pipeline_entity;
ALTER TABLE ingestion_pipeline_entity_by_fqn RENAME TO ingestion_pipeline_entity;
CREATE INDEX ingestion_pipeline_entity_name ON ingestion_pipeline_entity (name);
