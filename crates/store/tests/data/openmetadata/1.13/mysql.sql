-- OpenMetadata 1.13 on MySQL: the entity tables vaultref reads and writes, recreated by vaultref
-- from the facts of OpenMetadata's bootstrap SQL (column names, types, generation expressions,
-- keys; the layout an OpenMetadata server creates, not its text). Source: OpenMetadata's
-- consolidated migration baseline for MySQL ("flyway v000-v015 + native 1.1.0-1.13.4, everything
-- strictly below 2.0.0"), generated from github.com/open-metadata/OpenMetadata revision
-- b07117a765466d3fd12c3179ac800bc734de0a5f (facts gathered for issue 12).
-- Left out: indexes that are not constraints, and every table vaultref does not touch.
-- MySQL 8 syntax, as OpenMetadata writes it. MariaDB refuses four of its forms; the tests
-- translate them line by line (tests/it/openmetadata.rs, `for_mariadb`): NOT NULL on a
-- generated column becomes a CHECK, PRIMARY KEY on the generated id a UNIQUE KEY, the
-- utf8mb4_0900_ai_ci collation utf8mb4_general_ci (also accent- and case-insensitive), and a
-- tinyint(1) taken from a JSON boolean compares its text with 'true'.

CREATE TABLE `dbservice_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `dashboard_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `messaging_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `pipeline_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `mlmodel_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `storage_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `metadata_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `search_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `api_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`),
  KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `drive_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `drive_service_entity_name_hash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `security_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `llm_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `mcp_service_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `serviceType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.serviceType'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `bot_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `email` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.email'))) VIRTUAL NOT NULL,
  `deactivated` varchar(8) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.deactivated'))) VIRTUAL,
  `isBot` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.isBot')) VIRTUAL NOT NULL,
  `lastLoginTime` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.lastLoginTime'))) VIRTUAL,
  `lastActivityTime` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.lastActivityTime'))) VIRTUAL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`),
  UNIQUE KEY `email` (`email`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `ingestion_pipeline_entity` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `appType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.sourceConfig.config.appConfig.type'))) STORED,
  `pipelineType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.pipelineType'))) STORED,
  `timestamp` bigint DEFAULT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `fqnHash` varchar(768) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  `impersonatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.impersonatedBy'))) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `fqnHash` (`fqnHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `automations_workflow` (
  `id` varchar(36) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.id'))) STORED NOT NULL,
  `name` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.name'))) VIRTUAL NOT NULL,
  `workflowType` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.workflowType'))) STORED NOT NULL,
  `status` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.status'))) STORED,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedAt'))) VIRTUAL NOT NULL,
  `updatedBy` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.updatedBy'))) VIRTUAL NOT NULL,
  `deleted` tinyint(1) GENERATED ALWAYS AS (json_extract(`json`,'$.deleted')) VIRTUAL,
  `nameHash` varchar(256) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `nameHash` (`nameHash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

-- Entity version history: a row per (entity id, `<entityType>.version.<x.y>`) holding the
-- document as it was before each change (EntityUtil.getVersionExtension); old versions keep the
-- secrets of their time. `vaultref scan` reads it.
CREATE TABLE `entity_extension` (
  `id` varchar(36) NOT NULL,
  `extension` varchar(256) NOT NULL,
  `jsonSchema` varchar(256) NOT NULL,
  `json` json NOT NULL,
  `updatedAt` bigint unsigned GENERATED ALWAYS AS (cast(json_unquote(json_extract(`json`,'$.updatedAt')) as unsigned)) STORED,
  PRIMARY KEY (`id`,`extension`),
  KEY `extension_index` (`extension`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

-- One row per applied migration; `version` is its key (base dump @ 010700ce). Only the
-- versions matter to vaultref: the highest one names the release.
CREATE TABLE `SERVER_CHANGE_LOG` (
  `version` varchar(256) NOT NULL,
  `migrationFileName` varchar(256) NOT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `SERVER_CHANGE_LOG` VALUES
  ('1.1.0', 'bootstrap/sql/migrations/native/1.1.0'),
  ('1.9.0', 'bootstrap/sql/migrations/native/1.9.0'),
  ('1.12.0', 'bootstrap/sql/migrations/native/1.12.0'),
  ('1.13.4', 'bootstrap/sql/migrations/native/1.13.4');
