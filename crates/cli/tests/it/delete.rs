//! `vaultref entities delete TYPE NAME [--dry-run]` (issue 12) on every database, against the
//! TLS emulator: the row goes, then exactly the secrets computed for it, as the emulator's
//! request log shows; a user's own `secret:` reference and other entities' secrets stay.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use vaultref_testkit::vault_calls;

use crate::integrity::{Deployment, line, on_every_database, password_secret, service};
use crate::support::{AUDIT_LOG, audit_records};
use crate::vault::Vault;

/// A user's own secret, referenced by `pg1`'s SSL key.
const USERS_OWN: &str = "users-own-ssl-key";
/// The Key Vault name of the pipeline's dbt secret.
const PIPELINE_SECRET: &str = "openmetadata-pipeline-dbt-run-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey";

/// `pg1` (a computed password, and the user's own reference as its SSL key), `pg2` (a computed
/// password) and pipeline `pg2.dbt-run` (a computed dbt secret), imported in managed mode.
fn import(d: &Deployment<'_>) {
    let mut pg1 = service("pg1", &json!("p1"));
    pg1["connection"]["config"]["sslConfig"] = json!({"sslKey": format!("secret:{USERS_OWN}")});
    let pipeline = json!({"name": "dbt-run", "pipelineType": "dbt",
        "service": {"type": "databaseService", "name": "pg2"},
        "sourceConfig": {"config": {"type": "DBT", "dbtConfigSource": {"dbtConfigType": "s3",
            "dbtSecurityConfig": {"awsAccessKeyId": "AKIAEXAMPLE",
                                  "awsSecretAccessKey": "aws-s3cret", "awsRegion": "eu-west-1"},
            "dbtPrefixConfig": {"dbtBucketName": "dbt"}}}}});
    let lines = [
        line("databaseService", &pg1),
        line("databaseService", &service("pg2", &json!("p2"))),
        line("ingestionPipeline", &pipeline),
    ]
    .concat();
    d.import(&[], &lines).assert_ok();
}

/// The names of the vault's secrets the emulator was asked to delete.
fn deletes(vault: &Vault) -> Vec<String> {
    vault_calls(&vault.emulator, "DELETE")
        .into_iter()
        .map(|(path, _)| {
            path.trim_matches('/')
                .trim_start_matches("secrets/")
                .to_owned()
        })
        .collect()
}

fn names(exported: &[Value]) -> Vec<String> {
    exported
        .iter()
        .map(|row| row["entity"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn entities_delete_removes_exactly_the_entitys_computed_secrets() {
    on_every_database(|vault, d| {
        vault
            .emulator
            .set_secret(USERS_OWN, "-----BEGIN PRIVATE KEY-----");
        let label = d.db.label;
        import(d);
        let (pg1, pg2) = (password_secret("pg1"), password_secret("pg2"));

        // A dry run names the candidates, sends no DELETE and leaves the row.
        vault.emulator.clear_requests();
        let dry = d.run(
            &[
                "--output",
                "json",
                "entities",
                "delete",
                "databaseService",
                "pg1",
                "--dry-run",
            ],
            &[],
            b"",
        );
        let dry: Value = serde_json::from_str(&dry.ok_text()).unwrap();
        assert_eq!(dry["dry_run"], true, "{label}: {dry}");
        let candidates = dry["secrets"].as_array().unwrap();
        assert!(candidates.contains(&json!(pg1)), "{label}: {dry}");
        assert!(!candidates.contains(&json!(USERS_OWN)), "{label}: {dry}");
        assert!(deletes(vault).is_empty(), "{label}: {:?}", deletes(vault));
        assert!(
            names(&d.export(&[], false)).contains(&"pg1".to_owned()),
            "{label}"
        );

        // The real delete: the row, then pg1's computed password only.
        vault.emulator.clear_requests();
        let run = d.run(&["entities", "delete", "databaseService", "pg1"], &[], b"");
        let out = run.ok_text();
        assert!(
            out.starts_with("deleted databaseService `pg1` (row "),
            "{label}: {out}"
        );
        assert!(
            out.ends_with(", 1 secret(s) deleted from the vault\n"),
            "{label}: {out}"
        );
        let deleted = deletes(vault);
        assert_eq!(deleted, [pg1.as_str()], "{label}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("deleted secret `{pg1}`")),
            "{label}: {}",
            run.stderr
        );
        assert_eq!(names(&d.export(&[], false)), ["pg2", "dbt-run"], "{label}");
        let remaining = vault.emulator.secret_names();
        for kept in [USERS_OWN, pg2.as_str(), PIPELINE_SECRET] {
            assert!(
                remaining.contains(&kept.to_owned()),
                "{label}: {kept} gone: {remaining:?}"
            );
        }
        assert!(!remaining.contains(&pg1), "{label}: {remaining:?}");
        assert!(
            vault.emulator.deleted_secret_names().contains(&pg1),
            "{label}: soft delete"
        );

        // A pipeline is named by its fully qualified name; its own name alone is no entity.
        let short = d.run(
            &["entities", "delete", "ingestionPipeline", "dbt-run"],
            &[],
            b"",
        );
        short.assert_one_line_failure();
        assert!(
            short.stderr.contains("service.pipeline"),
            "{label}: {}",
            short.stderr
        );
        vault.emulator.clear_requests();
        let json = d.run(
            &[
                "--output",
                "json",
                "entities",
                "delete",
                "ingestionPipeline",
                "pg2.dbt-run",
            ],
            &[],
            b"",
        );
        let json: Value = serde_json::from_str(&json.ok_text()).unwrap();
        assert_eq!(json["name"], "pg2.dbt-run", "{label}: {json}");
        assert_eq!(json["secrets_deleted"], 1, "{label}: {json}");
        assert_eq!(deletes(vault), [PIPELINE_SECRET], "{label}");
        assert_eq!(names(&d.export(&[], false)), ["pg2"], "{label}");

        // An unknown name: exit 1, one line, nothing sent to the vault.
        vault.emulator.clear_requests();
        let unknown = d.run(&["entities", "delete", "databaseService", "nope"], &[], b"");
        unknown.assert_one_line_failure();
        assert!(
            unknown
                .stderr
                .contains("no databaseService `nope` in the database"),
            "{label}: {}",
            unknown.stderr
        );
        assert!(deletes(vault).is_empty(), "{label}");
    });
}

#[test]
fn entities_delete_leaves_an_audit_record_per_secret_deleted() {
    let vault = Vault::start();
    let d = Deployment::new(&vault, crate::databases::sqlite());
    import(&d);
    let run = d.run(
        &["entities", "delete", "databaseService", "pg2"],
        &AUDIT_LOG,
        b"",
    );
    run.assert_ok();
    let records = audit_records(&run.stderr);
    assert_eq!(records.len(), 1, "{}", run.stderr);
    let fields = &records[0]["fields"];
    assert_eq!(fields["action"], "delete", "{fields}");
    assert_eq!(fields["secret"], password_secret("pg2"), "{fields}");
    assert!(
        fields["entity"].as_str().unwrap().contains("pg2"),
        "{fields}"
    );
}
