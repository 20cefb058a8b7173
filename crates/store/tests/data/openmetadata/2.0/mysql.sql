-- OpenMetadata 2.0 on MySQL: what 2.0 changes in vaultref's tables, applied on top of
-- ../1.13/mysql.sql (the tests load both, as OpenMetadata migrates a 1.13 database).
-- Sources (github.com/open-metadata/OpenMetadata): the automations_workflow migration that
-- renames the JSON key `status` to `workflowStatus` and regenerates the `status` column from it
-- (it names no release; it is not in the <2.0 baseline, so it comes with 2.0); and
-- bootstrap/sql/migrations/native/2.0.0/mysql/schemaChanges.sql (@ a3b584d3 and the newest
-- stored copy), which alters none of vaultref's tables: its name indexes are not constraints
-- and are left out.

ALTER TABLE `automations_workflow`
  DROP COLUMN `status`,
  ADD COLUMN `status` varchar(256) GENERATED ALWAYS AS (json_unquote(json_extract(`json`,'$.workflowStatus'))) STORED;

INSERT INTO `SERVER_CHANGE_LOG` VALUES
  ('2.0.0', 'bootstrap/sql/migrations/native/2.0.0');
