-- OpenMetadata 2.0 on PostgreSQL: what 2.0 changes in vaultref's tables, applied on top of
-- ../1.13/postgres.sql (the tests load both, as OpenMetadata migrates a 1.13 database).
-- Sources (github.com/open-metadata/OpenMetadata): the automations_workflow migration that
-- renames the JSON key `status` to `workflowStatus` and regenerates the `status` column from it
-- (it names no release; it is not in the <2.0 baseline, so it comes with 2.0); and
-- bootstrap/sql/migrations/native/2.0.0/postgres/schemaChanges.sql (@ a3b584d3), which alters
-- none of vaultref's tables.

ALTER TABLE automations_workflow DROP COLUMN status;
ALTER TABLE automations_workflow
    ADD COLUMN status varchar(256) GENERATED ALWAYS AS ((json ->> 'workflowStatus')) STORED;

INSERT INTO server_change_log VALUES
  ('2.0.0', 'bootstrap/sql/migrations/native/2.0.0');
