//! Sharing a database with OpenMetadata (issue 12), through the binary: soft-deleted entities
//! skipped by `migrate-secrets` and `rotate-fernet-key` unless `--include-deleted`, a table the
//! database lacks reported as a note (not an error), and on OpenMetadata's own tables `check`
//! naming the release and `entities delete` pointing to OpenMetadata's hard delete.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::databases::databases;
use crate::integrity::{DB_MODE, Deployment, line, on_every_database, password_secret, service};
use crate::vault::{KEY, Vault};

/// A second Fernet key (32 bytes of 0x01), to rotate to.
const NEW_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// `live` and the soft-deleted `old`, imported in `db` mode (Fernet tokens in the rows).
fn import(d: &Deployment<'_>) {
    let mut old = service("old", &json!("p-old"));
    old["deleted"] = json!(true);
    let lines = [
        line("databaseService", &service("live", &json!("p-live"))),
        line("databaseService", &old),
    ]
    .concat();
    d.import(&DB_MODE, &lines).assert_ok();
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn status_of<'v>(report: &'v Value, name: &str) -> &'v Value {
    &report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name}: {report}"))["status"]
}

#[test]
fn soft_deleted_entities_are_skipped_unless_included() {
    on_every_database(|vault, d| {
        let label = d.db.label;
        import(d);

        // Key rotation first: the soft-deleted row stays under the old key, and a note says to
        // keep it.
        let keys = format!("{NEW_KEY},{KEY}");
        let rotate = d.run(&["rotate-fernet-key"], &[("FERNET_KEY", &keys)], b"");
        let out = rotate.ok_text();
        assert!(
            out.contains("updated 1, unchanged 0, failed 0, skipped 1 soft-deleted"),
            "{label}: {out}"
        );
        assert!(
            rotate.stderr.contains(
                "databaseService `old`: skipped: soft-deleted (--include-deleted to include)"
            ),
            "{label}: {}",
            rotate.stderr
        );
        assert!(
            rotate.stderr.contains("stay under the old key"),
            "{label}: {}",
            rotate.stderr
        );
        let again = d.run(
            &["--output", "json", "rotate-fernet-key", "--include-deleted"],
            &[("FERNET_KEY", &keys)],
            b"",
        );
        let again = json_of(&again.ok_text());
        assert_eq!(again["skipped_deleted"], 0, "{label}: {again}");
        assert_eq!(status_of(&again, "old"), "updated", "{label}: {again}");
        assert_eq!(status_of(&again, "live"), "unchanged", "{label}: {again}");

        // migrate-secrets (managed): the soft-deleted entity's secret stays in the row.
        let new_key = [("FERNET_KEY", NEW_KEY)];
        let skipped = d.run(&["--output", "json", "migrate-secrets"], &new_key, b"");
        let skipped = json_of(&skipped.ok_text());
        assert_eq!(skipped["skipped_deleted"], 1, "{label}: {skipped}");
        assert_eq!(
            status_of(&skipped, "old"),
            "skipped_deleted",
            "{label}: {skipped}"
        );
        assert_eq!(skipped["missing_tables"], json!([]), "{label}: {skipped}");
        let names = vault.emulator.secret_names();
        assert!(
            names.contains(&password_secret("live")),
            "{label}: {names:?}"
        );
        assert!(
            !names.contains(&password_secret("old")),
            "{label}: {names:?}"
        );
        let included = d.run(&["migrate-secrets", "--include-deleted"], &new_key, b"");
        let out = included.ok_text();
        assert!(
            out.contains("updated 1, unchanged 1, failed 0, 1 secret(s)"),
            "{label}: {out}"
        );
        let names = vault.emulator.secret_names();
        assert!(
            names.contains(&password_secret("old")),
            "{label}: {names:?}"
        );
    });
}

#[test]
fn a_table_the_database_lacks_is_a_note_not_an_error() {
    // SQLite databases are vaultref's own, every table or none: the servers' catalogs tell.
    for db in databases().into_iter().filter(|db| db.label != "sqlite") {
        let vault = Vault::start();
        let d = Deployment::new(&vault, db);
        let label = d.db.label;
        import(&d);
        d.db.execute("DROP TABLE api_service_entity", &[]);
        let note = "note: no table api_service_entity: this release has no such entities";

        let migrated = d.run(&["--output", "json", "migrate-secrets"], &[], b"");
        let report = json_of(&migrated.ok_text());
        assert_eq!(
            report["missing_tables"],
            json!(["api_service_entity"]),
            "{label}: {report}"
        );
        assert!(
            migrated.stderr.contains(note),
            "{label}: {}",
            migrated.stderr
        );

        let scanned = d.run(&["scan", "--json"], &[], b"");
        let report = json_of(&String::from_utf8(scanned.stdout.clone()).unwrap());
        assert_eq!(
            report["missing_tables"],
            json!(["api_service_entity"]),
            "{label}: {report}"
        );
        assert!(scanned.stderr.contains(note), "{label}: {}", scanned.stderr);

        let checked = d.run(&["check"], &[], b"").ok_text();
        assert!(
            checked.contains(
                "ok: database layout: vaultref's own layout; no table api_service_entity (this \
                 release has no such entities)\n"
            ),
            "{label}: {checked}"
        );
    }
}

/// OpenMetadata's own tables of `releases` (crates/store/tests/data/openmetadata; 2.0 is 1.13
/// with 2.0's changes applied, as OpenMetadata migrates), loaded into `db`. PostgreSQL only:
/// the store's tests cover MariaDB's form of the same layout.
fn load_openmetadata(db: &crate::databases::Database, releases: &[&str]) {
    for release in releases {
        let path = format!(
            "{}/../store/tests/data/openmetadata/{release}/postgres.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        db.execute_script(&std::fs::read_to_string(path).unwrap());
    }
}

#[test]
fn on_openmetadatas_tables_check_names_the_release_and_entities_delete_points_to_openmetadata() {
    let layouts: [(&[&str], &str); 2] = [(&["1.13"], "1.13.4"), (&["1.13", "2.0"], "2.0.0")];
    for (releases, release) in layouts {
        let Some(db) = databases().into_iter().find(|db| db.label == "postgres") else {
            return;
        };
        load_openmetadata(&db, releases);
        // An earlier version of a service, as OpenMetadata keeps it, with its password then.
        db.execute_script(
            "INSERT INTO entity_extension (id, extension, jsonschema, json) VALUES \
             ('0b5f7c1e-52a4-4c41-9a55-2f4d3e1a7b01', 'databaseService.version.0.1', \
             'databaseService', '{\"name\": \"old\", \"serviceType\": \"Mysql\", \
             \"connection\": {\"config\": {\"type\": \"Mysql\", \"authType\": \
             {\"password\": \"then-plain\"}}}}');",
        );
        let vault = Vault::start();
        let d = Deployment::new(&vault, db);
        import(&d);

        let checked = d.run(&["check"], &[], b"").ok_text();
        assert!(
            checked.contains(&format!(
                "ok: database layout: OpenMetadata {release} layout\n"
            )),
            "{release}: {checked}"
        );
        let json = json_of(&d.run(&["--output", "json", "check"], &[], b"").ok_text());
        assert_eq!(json["database"]["layout"], "openmetadata", "{json}");
        assert_eq!(json["database"]["release"], release, "{json}");

        // Refused, with the way to delete it through OpenMetadata; the row and vault stay.
        vault.emulator.clear_requests();
        let refused = d.run(&["entities", "delete", "databaseService", "live"], &[], b"");
        refused.assert_one_line_failure();
        assert!(
            refused.stderr.contains("delete it through OpenMetadata")
                && refused.stderr.contains("`?hardDelete=true&recursive=true`")
                && refused.stderr.contains("its secrets"),
            "{release}: {}",
            refused.stderr
        );
        assert!(
            vault
                .emulator
                .requests_to(vaultref_emulator::Target::Vault)
                .is_empty()
        );
        let rows = d.export(&[], false);
        assert_eq!(rows.len(), 2, "{release}: {rows:?}");

        // The migration runs on them, skipping the soft-deleted entity.
        let migrated = d.run(&["migrate-secrets"], &[], b"").ok_text();
        assert!(
            migrated.contains("updated 1, unchanged 0, failed 0, skipped 1 soft-deleted"),
            "{release}: {migrated}"
        );

        // scan reads the version history too, and says migrate-secrets cannot fix it.
        let scanned = d.run(&["--output", "json", "scan"], &[], b"");
        assert_eq!(scanned.code, Some(1), "{release}: {}", scanned.stderr);
        let stdout = String::from_utf8(scanned.stdout.clone()).unwrap();
        let report = json_of(&stdout);
        let in_history: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["table"] == "entity_extension")
            .collect();
        assert_eq!(in_history.len(), 1, "{release}: {report}");
        assert_eq!(in_history[0]["version"], "0.1");
        assert_eq!(in_history[0]["path"], "connection.config.authType.password");
        assert!(
            !stdout.contains("then-plain") && !scanned.stderr.contains("then-plain"),
            "{release}: a value was printed"
        );
        assert!(
            scanned
                .stderr
                .contains("1 finding(s) in OpenMetadata's version history"),
            "{release}: {}",
            scanned.stderr
        );
    }
}
