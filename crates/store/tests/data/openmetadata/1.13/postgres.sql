-- OpenMetadata 1.13 on PostgreSQL: the entity tables vaultref reads and writes, recreated by vaultref
-- from the facts of OpenMetadata's bootstrap SQL (column names, types, generation expressions,
-- keys; the layout an OpenMetadata server creates, not its text). Source: OpenMetadata's
-- consolidated migration baseline for PostgreSQL ("flyway v000-v015 + native 1.1.0-1.13.4, everything
-- strictly below 2.0.0"), generated from github.com/open-metadata/OpenMetadata revision
-- b07117a765466d3fd12c3179ac800bc734de0a5f (facts gathered for issue 12).
-- Left out: indexes that are not constraints, and every table vaultref does not touch.

CREATE TABLE dbservice_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT dbservice_entity_pkey PRIMARY KEY (id),
    CONSTRAINT dbservice_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE dashboard_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT dashboard_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT dashboard_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE messaging_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT messaging_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT messaging_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE pipeline_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT pipeline_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT pipeline_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE mlmodel_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT mlmodel_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT mlmodel_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE storage_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT storage_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT storage_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE metadata_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT metadata_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT metadata_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE search_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT search_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT search_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE api_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT api_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT api_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE drive_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT drive_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT drive_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE security_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT security_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT security_service_entity_name_key UNIQUE (name)
);

CREATE TABLE llm_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT llm_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT llm_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE mcp_service_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    servicetype varchar(256) GENERATED ALWAYS AS ((json ->> 'serviceType')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT mcp_service_entity_pkey PRIMARY KEY (id),
    CONSTRAINT mcp_service_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE bot_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT bot_entity_pkey PRIMARY KEY (id),
    CONSTRAINT bot_entity_namehash_key UNIQUE (namehash)
);

CREATE TABLE user_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    email varchar(256) GENERATED ALWAYS AS ((json ->> 'email')) STORED NOT NULL,
    deactivated varchar(8) GENERATED ALWAYS AS ((json ->> 'deactivated')) STORED,
    -- Generated from 'deleted', not 'isBot': that is what the baseline says.
    isbot boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED NOT NULL,
    lastlogintime bigint GENERATED ALWAYS AS (((json ->> 'lastLoginTime'))::bigint) STORED,
    lastactivitytime bigint GENERATED ALWAYS AS (((json ->> 'lastActivityTime'))::bigint) STORED,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT user_entity_pkey PRIMARY KEY (id),
    CONSTRAINT user_entity_namehash_key UNIQUE (namehash),
    CONSTRAINT user_entity_email_key UNIQUE (email),
    CONSTRAINT user_entity_name_key UNIQUE (name)
);

CREATE TABLE ingestion_pipeline_entity (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    apptype varchar(256) GENERATED ALWAYS AS (json -> 'sourceConfig' -> 'config' -> 'appConfig' ->> 'type') STORED,
    pipelinetype varchar(256) GENERATED ALWAYS AS ((json ->> 'pipelineType')) STORED,
    "timestamp" bigint,
    json json NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    fqnhash varchar(768) NOT NULL,
    impersonatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'impersonatedBy')) STORED,
    CONSTRAINT ingestion_pipeline_entity_pkey PRIMARY KEY (id),
    CONSTRAINT ingestion_pipeline_entity_fqnhash_key UNIQUE (fqnhash)
);

CREATE TABLE automations_workflow (
    id varchar(36) GENERATED ALWAYS AS ((json ->> 'id')) STORED NOT NULL,
    name varchar(256) GENERATED ALWAYS AS ((json ->> 'name')) STORED NOT NULL,
    workflowtype varchar(256) GENERATED ALWAYS AS ((json ->> 'workflowType')) STORED NOT NULL,
    status varchar(256) GENERATED ALWAYS AS ((json ->> 'status')) STORED,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED NOT NULL,
    updatedby varchar(256) GENERATED ALWAYS AS ((json ->> 'updatedBy')) STORED NOT NULL,
    deleted boolean GENERATED ALWAYS AS (((json ->> 'deleted'))::boolean) STORED,
    namehash varchar(256) NOT NULL,
    CONSTRAINT automations_workflow_pkey PRIMARY KEY (id),
    CONSTRAINT automations_workflow_namehash_key UNIQUE (namehash)
);

-- Entity version history: a row per (entity id, '<entityType>.version.<x.y>') holding the
-- document as it was before each change (EntityUtil.getVersionExtension); old versions keep the
-- secrets of their time. `vaultref scan` reads it.
CREATE TABLE entity_extension (
    id varchar(36) NOT NULL,
    extension varchar(256) NOT NULL,
    jsonschema varchar(256) NOT NULL,
    json jsonb NOT NULL,
    updatedat bigint GENERATED ALWAYS AS (((json ->> 'updatedAt'))::bigint) STORED,
    CONSTRAINT entity_extension_pkey PRIMARY KEY (id, extension)
);

-- One row per applied migration; `version` is its key (base dump @ 010700ce). Only the
-- versions matter to vaultref: the highest one names the release.
CREATE TABLE server_change_log (
    version varchar(256) NOT NULL PRIMARY KEY,
    migrationfilename varchar(256) NOT NULL
);

INSERT INTO server_change_log VALUES
  ('1.1.0', 'bootstrap/sql/migrations/native/1.1.0'),
  ('1.9.0', 'bootstrap/sql/migrations/native/1.9.0'),
  ('1.12.0', 'bootstrap/sql/migrations/native/1.12.0'),
  ('1.13.4', 'bootstrap/sql/migrations/native/1.13.4');
