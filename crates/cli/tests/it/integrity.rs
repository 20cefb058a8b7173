//! Nothing lost, nothing overwritten (issue 10): each way an operator lost or overwrote a
//! secret or a row, run through the binary on every database it concerns, against the TLS
//! emulator.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use vaultref_emulator::{Fault, Target};
use vaultref_fernet::KeyRing;

use crate::databases::{Database, databases, sqlite};
use crate::support::{AUDIT_LOG, Run, audit_records, vaultref};
use crate::vault::{KEY, Vault};

pub(crate) const DB_MODE: [(&str, &str); 1] = [("SECRET_MANAGER", "db")];
pub(crate) const PASSWORD: &str = "/connection/config/authType/password";

/// One deployment: a database and a configuration naming it and the emulated vault.
pub(crate) struct Deployment<'a> {
    vault: &'a Vault,
    pub(crate) db: Database,
    pub(crate) config: PathBuf,
}

impl<'a> Deployment<'a> {
    pub(crate) fn new(vault: &'a Vault, db: Database) -> Self {
        let file = format!(
            "{}-{}.yaml",
            db.label,
            vault.dir.path().read_dir().unwrap().count()
        );
        let config = vault.config_with(
            &file,
            &vault.app(),
            true,
            &format!("database:\n  url: {}\n", db.url),
        );
        Self { vault, db, config }
    }

    fn label(&self) -> &'static str {
        self.db.label
    }

    /// The same database and vault, with no vault parameters at all (a `db` deployment that
    /// never used a vault).
    fn without_vault(&self) -> PathBuf {
        crate::vault::write(
            self.vault.dir.path(),
            &format!("novault-{}.yaml", self.db.label),
            &format!(
                "fernetConfiguration:\n  fernetKey: ${{FERNET_KEY:-{KEY}}}\n\
                 secretsManagerConfiguration:\n  secretsManager: db\n\
                 database:\n  url: {}\n",
                self.db.url
            ),
        )
    }

    pub(crate) fn run(&self, words: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
        run_with(&self.config, words, env, stdin)
    }

    pub(crate) fn import(&self, env: &[(&str, &str)], lines: &str) -> Run {
        self.run(&["entities", "import"], env, lines.as_bytes())
    }

    /// Every row exported (revealed or as stored), keyed by nothing: in table and id order.
    pub(crate) fn export(&self, env: &[(&str, &str)], reveal: bool) -> Vec<Value> {
        let words: &[&str] = if reveal {
            &["entities", "export", "--reveal"]
        } else {
            &["entities", "export"]
        };
        parse_lines(&self.run(words, env, b"").ok_text())
    }

    /// The `vaultref` binary running in the background.
    pub(crate) fn spawn(&self, words: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_vaultref"))
            .args(words)
            .args(["--config", self.config.to_str().unwrap()])
            .env_remove("FERNET_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// Runs `test` once per database, each time with a fresh emulator and a deployment on the two.
pub(crate) fn on_every_database(test: impl Fn(&Vault, &Deployment<'_>)) {
    for db in databases() {
        let vault = Vault::start();
        test(&vault, &Deployment::new(&vault, db));
    }
}

fn run_with(config: &std::path::Path, words: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut args = words.to_vec();
    args.extend(["--config", config.to_str().unwrap()]);
    vaultref(&args, env, stdin)
}

pub(crate) fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A PostgreSQL service with `password` (a string, or null).
pub(crate) fn service(name: &str, password: &Value) -> Value {
    json!({"name": name, "serviceType": "Postgres", "connection": {"config": {"type": "Postgres",
        "hostPort": "db:5432", "authType": {"password": password}}}})
}

pub(crate) fn line(entity_type: &str, entity: &Value) -> String {
    format!("{}\n", json!({"entityType": entity_type, "entity": entity}))
}

/// The Key Vault name of a PostgreSQL service's password.
pub(crate) fn password_secret(service: &str) -> String {
    let cleaned: String = service
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "openmetadata-database-{}-authtype-password",
        cleaned.to_lowercase()
    )
}

/// The entity named `name` among exported rows.
pub(crate) fn entity<'r>(rows: &'r [Value], name: &str) -> &'r Value {
    &rows
        .iter()
        .find(|r| r["entity"]["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"))["entity"]
}

pub(crate) fn password(rows: &[Value], name: &str) -> Value {
    entity(rows, name).pointer(PASSWORD).unwrap().clone()
}

/// Case 1: migrate-secrets while another writer (as OpenMetadata's server does when a user
/// edits a service) changes random services' passwords: every change survives.
#[test]
fn a_row_changed_by_another_writer_during_migrate_secrets_keeps_the_change() {
    for db in databases() {
        // SQLite serializes the two writers: an edit gets in only between two rows'
        // transactions (each held across its vault write); the session polls for those gaps.
        let services: usize = 30;
        let vault = Vault::start();
        let d = Deployment::new(&vault, db);
        let lines: String = (0..services)
            .map(|i| {
                line(
                    "databaseService",
                    &service(&format!("svc-{i}"), &json!(format!("pw-{i}-0"))),
                )
            })
            .collect();
        d.import(&DB_MODE, &lines).assert_ok();
        let stored = d.export(&DB_MODE, false);
        let keys = KeyRing::parse(KEY).unwrap();
        // Slow vault answers keep the migration running while the other writer works: at
        // least 30 x 50 ms whatever the machine's load (10 ms let a loaded machine finish the
        // migration before ten edits got in).
        vault
            .emulator
            .inject(Fault::latency(Target::Vault, Duration::from_millis(50)));
        let mut migration = d.spawn(&["migrate-secrets"]);
        let mut last: Vec<String> = (0..services).map(|i| format!("pw-{i}-0")).collect();
        let mut session = d.db.connection();
        let (mut edits, mut seed) = (0_usize, 0x2545_f491_4f6c_dd1d_u64);
        while migration.try_wait().unwrap().is_none() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = usize::try_from(seed % services as u64).unwrap();
            edits += 1;
            let new = format!("pw-{i}-{edits}");
            let mut doc = entity(&stored, &format!("svc-{i}")).clone();
            *doc.pointer_mut(PASSWORD).unwrap() = json!(keys.encrypt_if_not_tokenized(&new));
            // A blind write of the whole document, as OpenMetadata's server writes it.
            let changed = session.execute(
                "UPDATE dbservice_entity SET json = JSON(?) WHERE id = ?",
                &[&doc.to_string(), doc["id"].as_str().unwrap()],
            );
            assert_eq!(changed, 1);
            last[i] = new;
            // Pacing the other writer, not waiting for anything.
            std::thread::sleep(Duration::from_millis(3));
        }
        let out = migration.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", d.label());
        assert!(edits >= 10, "{}: only {edits} edits", d.label());
        vault.emulator.clear_faults();
        let revealed = d.export(&[], true);
        for (i, expected) in last.iter().enumerate() {
            assert_eq!(
                password(&revealed, &format!("svc-{i}")),
                json!(expected),
                "{}: svc-{i} lost its last change ({stderr})",
                d.label()
            );
        }
    }
}

/// Case 2: the documented rollback (docs/operations.md, "Rolling back") brings every value
/// back into the database, so that the vault secrets can be deleted and purged.
#[test]
fn the_documented_rollback_keeps_every_value_once_the_vault_is_emptied() {
    on_every_database(|vault, d| {
        vault.emulator.set_secret("hand-made", "user-written");
        let lines = [
            line("databaseService", &service("pg1", &json!("p1"))),
            line(
                "databaseService",
                &service("pg2", &json!("secret:hand-made")),
            ),
            line("databaseService", &service("pg3", &Value::Null)),
        ]
        .concat();
        d.import(&[], &lines).assert_ok();

        // 1. With the managed configuration, reveal everything.
        let revealed = d
            .run(&["entities", "export", "--reveal"], &[], b"")
            .ok_text();
        let values: Vec<Value> = parse_lines(&revealed);
        assert_eq!(password(&values, "pg1"), "p1", "{}", d.label());
        assert_eq!(password(&values, "pg2"), "user-written");
        // In db mode the vault the parameters name is still read: reveal never prints
        // references.
        let in_db_mode = d.export(&DB_MODE, true);
        assert_eq!(in_db_mode, values, "{}", d.label());
        // A configuration that names no vault cannot reveal references: it fails and says so.
        let no_vault = d.without_vault();
        let refused = run_with(&no_vault, &["entities", "export", "--reveal"], &[], b"");
        assert_eq!(refused.code, Some(1), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("names no vault"),
            "{}",
            refused.stderr
        );

        // 2. Switch to db and import the revealed entities.
        d.import(&DB_MODE, &revealed).assert_ok();
        // 3. Without any vault configured, every row reveals: none references the vault.
        let check = run_with(&no_vault, &["entities", "export", "--reveal"], &[], b"");
        assert_eq!(parse_lines(&check.ok_text()), values, "{}", d.label());
        // 4. The vault secrets can go.
        for name in vault.emulator.secret_names() {
            d.run(&["secret", "delete", &name], &[], b"").assert_ok();
            d.run(&["secret", "purge", &name], &[], b"").assert_ok();
        }
        assert!(vault.emulator.secret_names().is_empty());
        let after = run_with(&no_vault, &["entities", "export", "--reveal"], &[], b"");
        assert_eq!(parse_lines(&after.ok_text()), values, "{}", d.label());
    });
}

/// Case 3: an entity whose secrets no configured key opens still owns its names: another
/// entity with the same Key Vault name is refused, by import and by migrate-secrets.
#[test]
fn an_entity_no_key_opens_keeps_its_secret_names() {
    let new_key = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
    let new_key = new_key.trim();
    on_every_database(|vault, d| {
        let secret = password_secret("pg_1");
        assert_eq!(secret, password_secret("pg1"));
        d.import(
            &[],
            &line("databaseService", &service("pg_1", &json!("first"))),
        )
        .assert_ok();
        // The key list moves on without the old key: pg_1's row opens with no key.
        let new_only = [("FERNET_KEY", new_key)];
        let refused = d.import(
            &new_only,
            &line("databaseService", &service("pg1", &json!("second"))),
        );
        assert_eq!(refused.code, Some(1), "{}: {}", d.label(), refused.stderr);
        assert!(
            refused.stderr.contains("map to the same secret name"),
            "{}",
            refused.stderr
        );
        vault.assert_secret(&secret, "first");

        // The same through migrate-secrets: pg1 stored in db mode, then migrated.
        let db_new = [("FERNET_KEY", new_key), ("SECRET_MANAGER", "db")];
        d.import(
            &db_new,
            &line("databaseService", &service("pg1", &json!("second"))),
        )
        .assert_ok();
        let migrated = d.run(&["migrate-secrets"], &new_only, b"");
        assert_eq!(migrated.code, Some(1), "{}", migrated.stderr);
        assert!(
            migrated
                .stderr
                .lines()
                .any(|l| l.contains("`pg1`: FAILED") && l.contains("same secret name")),
            "{}",
            migrated.stderr
        );
        vault.assert_secret(&secret, "first");
    });
}

/// An ingestion pipeline named `dbt` under `service`, with its dbt S3 key.
fn pipeline(service: &str, key: &str) -> Value {
    json!({"name": "dbt", "pipelineType": "dbt",
        "service": {"type": "databaseService", "name": service},
        "sourceConfig": {"config": {"type": "DBT", "dbtConfigSource": {"dbtConfigType": "s3",
            "dbtSecurityConfig": {"awsAccessKeyId": "AKIAEXAMPLE", "awsSecretAccessKey": key,
                "awsRegion": "eu-west-1"}}}}})
}

const DBT_KEY: &str = "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey";
const DBT_SECRET: &str = "openmetadata-pipeline-dbt-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey";

/// Case 4: pipelines are unique by fully qualified name: `sales.dbt` and `finance.dbt` are two
/// rows, and they never share one secret.
#[test]
fn same_name_pipelines_of_two_services_are_two_rows_that_never_share_a_secret() {
    on_every_database(|vault, d| {
        let lines = [
            line("ingestionPipeline", &pipeline("sales", "sales-key")),
            line("ingestionPipeline", &pipeline("finance", "finance-key")),
        ]
        .concat();
        let imported = d.import(&DB_MODE, &lines);
        imported.assert_ok();
        assert!(
            imported
                .stderr
                .contains("line 2: ingestionPipeline `finance.dbt` inserted"),
            "{}: {}",
            d.label(),
            imported.stderr
        );
        let rows = d.export(&DB_MODE, true);
        assert_eq!(rows.len(), 2, "{}", d.label());

        let migrated = d.run(&["migrate-secrets"], &[], b"");
        assert_eq!(migrated.code, Some(1), "{}", migrated.stderr);
        assert!(
            migrated.stderr.contains("ingestionPipeline `sales.dbt`")
                && migrated.stderr.contains("ingestionPipeline `finance.dbt`")
                && migrated.stderr.contains("same secret name"),
            "{}",
            migrated.stderr
        );
        // One of the two (the first in id order) moved its key to the vault; the other kept its
        // own in its row.
        let held = vault.emulator.secret_value(DBT_SECRET).unwrap();
        let (winner, loser) = if held == "sales-key" {
            ("sales", "finance")
        } else {
            ("finance", "sales")
        };
        assert_eq!(held, format!("{winner}-key"), "{}", d.label());
        assert!(
            migrated
                .stderr
                .contains("ingestionPipeline `dbt`: FAILED: field"),
            "{}",
            migrated.stderr
        );
        let revealed = d.export(&[], true);
        let key_of = |service: &str| {
            revealed
                .iter()
                .find(|r| r["entity"]["service"]["name"] == service)
                .unwrap()["entity"]
                .pointer(DBT_KEY)
                .unwrap()
                .clone()
        };
        assert_eq!(key_of(winner), json!(held), "{}", d.label());
        assert_eq!(key_of(loser), format!("{loser}-key"), "{}", d.label());
        // Importing the other one in managed mode is refused the same way.
        let refused = d.import(&[], &line("ingestionPipeline", &pipeline(loser, "new")));
        assert_eq!(refused.code, Some(1), "{}", refused.stderr);
        vault.assert_secret(DBT_SECRET, held.as_str());
    });
}

/// Case 5: names are compared exactly, whatever the collation: `cafe` is not `café`, `Alice`
/// is not `alice`.
#[test]
fn names_that_differ_only_in_case_or_accents_are_different_rows() {
    on_every_database(|_, d| {
        let lines = [
            line("databaseService", &service("café", &json!("accent"))),
            line("databaseService", &service("cafe", &json!("plain"))),
            line("user", &json!({"name": "alice", "email": "a@x"})),
            line("user", &json!({"name": "Alice", "email": "A@x"})),
        ]
        .concat();
        let imported = d.import(&DB_MODE, &lines);
        imported.assert_ok();
        assert_eq!(
            imported.stderr.matches(" inserted ").count(),
            4,
            "{}: {}",
            d.label(),
            imported.stderr
        );
        let rows = d.export(&DB_MODE, true);
        assert_eq!(rows.len(), 4, "{}", d.label());
        assert_eq!(password(&rows, "café"), "accent");
        assert_eq!(password(&rows, "cafe"), "plain");
        // Replacing one finds exactly it.
        let again = d.import(
            &DB_MODE,
            &line("databaseService", &service("cafe", &json!("p2"))),
        );
        assert!(again.stderr.contains("`cafe` replaced"), "{}", again.stderr);
        let rows = d.export(&DB_MODE, true);
        assert_eq!(password(&rows, "café"), "accent", "{}", d.label());
    });
}

/// Case 6: a line whose row the database refuses, or whose secrets the vault refuses, has no
/// effect at all: no secret version written, nothing deleted, the row as it was.
#[test]
fn a_failed_import_line_changes_neither_the_vault_nor_the_row() {
    on_every_database(|vault, d| {
        let secret = password_secret("pg1");
        d.import(&[], &line("databaseService", &service("pg1", &json!("p1"))))
            .assert_ok();
        let before = d.export(&[], false);
        d.db.fail_writes_containing("dbservice_entity", "refuse-this-row");
        let mut refused = service("pg1", &json!("p2"));
        refused["description"] = json!("refuse-this-row");
        let mut emptied = service("pg1", &Value::Null);
        emptied["description"] = json!("refuse-this-row");
        for doc in [refused, emptied] {
            let out = d.import(&[], &line("databaseService", &doc));
            assert_eq!(out.code, Some(1), "{}: {}", d.label(), out.stderr);
            vault.assert_secret(&secret, "p1");
            assert_eq!(vault.emulator.version_count(&secret), 1, "{}", d.label());
            assert!(vault.emulator.deleted_secret_names().is_empty());
            assert_eq!(d.export(&[], false), before, "{}", d.label());
        }
        if d.label() == "postgres" {
            // PostgreSQL's jsonb refuses U+0000.
            let mut nul = service("pg1", &json!("p3"));
            nul["description"] = json!("a\u{0}b");
            let out = d.import(&[], &line("databaseService", &nul));
            assert_eq!(out.code, Some(1), "{}", out.stderr);
            vault.assert_secret(&secret, "p1");
            assert_eq!(vault.emulator.version_count(&secret), 1);
        }

        // Two secrets, the second over Key Vault's 25 KiB: the first is put back as it was.
        let snowflake = |password: &str, key: &str| {
            json!({"name": "snow", "serviceType": "Snowflake", "connection": {"config": {
                "type": "Snowflake", "username": "u", "password": password, "privateKey": key}}})
        };
        d.import(&[], &line("databaseService", &snowflake("s1", "k1")))
            .assert_ok();
        let before = d.export(&[], false);
        let out = d.import(
            &[],
            &line("databaseService", &snowflake("s2", &"k".repeat(26_000))),
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains("25"), "{}", out.stderr);
        // Every change to the vault shows: a password written before the refused key was put
        // back (written, then given its previous value again), and says so.
        let put_back = out
            .stderr
            .contains("`openmetadata-database-snow-password` given their previous value again");
        let versions = vault
            .emulator
            .version_count("openmetadata-database-snow-password");
        assert_eq!(versions, if put_back { 3 } else { 1 }, "{}", out.stderr);
        for (name, value) in [
            ("openmetadata-database-snow-password", "s1"),
            ("openmetadata-database-snow-privatekey", "k1"),
        ] {
            assert_eq!(
                vault.emulator.secret_value(name).as_deref(),
                Some(value),
                "{}: {name}",
                d.label()
            );
        }
        assert_eq!(d.export(&[], false), before, "{}", d.label());
    });
}

/// Case 7: `entities import` refuses the in-memory provider, whose vault ends with the command.
#[test]
fn import_refuses_the_in_memory_vault_that_would_vanish_with_the_secrets() {
    let vault = Vault::start();
    let d = Deployment::new(&vault, sqlite());
    d.import(
        &DB_MODE,
        &line("databaseService", &service("kept", &json!("k"))),
    )
    .assert_ok();
    let out = d.import(
        &[("SECRET_MANAGER", "in-memory")],
        &line("databaseService", &service("lost", &json!("l"))),
    );
    out.assert_one_line_failure();
    assert!(out.stderr.contains("in-memory"), "{}", out.stderr);
    let rows = d.export(&DB_MODE, false);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["entity"]["name"], "kept");
}

/// Case 8: two deployments share a vault and a clusterName: neither overwrites nor deletes the
/// other's secrets, and every delete shows in the output and the audit trail.
#[test]
fn a_deployment_neither_overwrites_nor_deletes_another_deployments_secret() {
    for db in databases() {
        let vault = Vault::start();
        let first = Deployment::new(&vault, db);
        let second = Deployment::new(&vault, sqlite());
        let secret = password_secret("pg1");
        first
            .import(
                &[],
                &line("databaseService", &service("pg1", &json!("first"))),
            )
            .assert_ok();

        let out = second.import(
            &[],
            &line("databaseService", &service("pg1", &json!("second"))),
        );
        assert_eq!(out.code, Some(1), "{}: {}", first.label(), out.stderr);
        assert!(
            out.stderr.contains("belongs to another deployment"),
            "{}",
            out.stderr
        );
        vault.assert_secret(&secret, "first");

        // Through migrate-secrets: a plaintext is refused, a null field deletes nothing.
        second
            .import(
                &DB_MODE,
                &[
                    line("databaseService", &service("pg1", &json!("second"))),
                    line("databaseService", &service("pg2", &json!("other"))),
                ]
                .concat(),
            )
            .assert_ok();
        let migrated = second.run(&["migrate-secrets"], &[], b"");
        assert_eq!(migrated.code, Some(1), "{}", migrated.stderr);
        assert!(
            migrated.stderr.contains("`pg1`: FAILED"),
            "{}",
            migrated.stderr
        );
        second
            .import(
                &DB_MODE,
                &line("databaseService", &service("pg1", &Value::Null)),
            )
            .assert_ok();
        second.run(&["migrate-secrets"], &[], b"").assert_ok();
        vault.assert_secret(&secret, "first");

        // A row of the second deployment that referenced the first's secret lets go of it:
        // the secret is kept, and the output says why.
        second
            .import(
                &DB_MODE,
                &line(
                    "databaseService",
                    &service("pg3", &json!(format!("secret:{secret}"))),
                ),
            )
            .assert_ok();
        let out = second.import(
            &[],
            &line("databaseService", &service("pg3", &json!("own"))),
        );
        out.assert_ok();
        assert!(
            out.stderr.contains(&format!("kept secret `{secret}`"))
                && out.stderr.contains("belongs to deployment"),
            "{}",
            out.stderr
        );
        vault.assert_secret(&secret, "first");

        // The owner clears its field: the delete is in the output and the audit trail.
        let out = first.run(
            &["entities", "import"],
            &AUDIT_LOG,
            line("databaseService", &service("pg1", &Value::Null)).as_bytes(),
        );
        let stdout = out.ok_text();
        assert!(
            stdout.contains("1 secret(s) deleted from it"),
            "{}: {stdout}",
            first.label()
        );
        assert!(
            out.stderr.contains(&format!("deleted secret `{secret}`")),
            "{}",
            out.stderr
        );
        let deletes: Vec<Value> = audit_records(&out.stderr)
            .into_iter()
            .filter(|r| r["fields"]["action"] == "delete")
            .collect();
        assert_eq!(deletes.len(), 1, "{}", out.stderr);
        assert_eq!(deletes[0]["fields"]["secret"], secret.as_str());
        assert_eq!(vault.emulator.deleted_secret_names(), [secret.as_str()]);
    }
}

/// Case 9: clearing a field keeps a secret another entity references through a user-written
/// `secret:` value, and says so; once nothing references it, it is deleted, and says so.
#[test]
fn clearing_a_field_keeps_a_secret_another_entity_references() {
    on_every_database(|vault, d| {
        let secret = password_secret("pg1");
        d.import(
            &[],
            &[
                line("databaseService", &service("pg1", &json!("p1"))),
                line(
                    "databaseService",
                    &service("pg2", &json!(format!("secret:{secret}"))),
                ),
            ]
            .concat(),
        )
        .assert_ok();
        for empty in [json!(""), Value::Null] {
            d.import(&[], &line("databaseService", &service("pg1", &json!("p1"))))
                .assert_ok();
            let out = d.import(&[], &line("databaseService", &service("pg1", &empty)));
            assert_eq!(
                vault.emulator.secret_value(&secret).as_deref(),
                Some("p1"),
                "{}",
                d.label()
            );
            assert!(
                out.ok_text().contains("0 secret(s) deleted from it"),
                "{}",
                d.label()
            );
            assert!(
                out.stderr.contains(&format!("kept secret `{secret}`"))
                    && out
                        .stderr
                        .contains("databaseService `pg2` still references it"),
                "{}: {}",
                d.label(),
                out.stderr
            );
            vault.assert_secret(&secret, "p1");
        }
        assert_eq!(password(&d.export(&[], true), "pg2"), "p1");
        // pg2 lets go of it too: now nothing references it, and it goes.
        let out = d.import(
            &[],
            &line("databaseService", &service("pg2", &json!("own"))),
        );
        assert!(
            out.ok_text().contains("1 secret(s) deleted from it"),
            "{}",
            out.stderr
        );
        assert_eq!(vault.emulator.deleted_secret_names(), [secret.as_str()]);
    });
}

/// Case 10: a password that is literally `null` is revealed as `null`.
#[test]
fn a_password_that_is_literally_null_reveals_as_null() {
    let vault = Vault::start();
    let d = Deployment::new(&vault, sqlite());
    d.import(
        &[],
        &line("databaseService", &service("pg1", &json!("null"))),
    )
    .assert_ok();
    vault.assert_secret(&password_secret("pg1"), "null");
    assert_eq!(password(&d.export(&[], true), "pg1"), json!("null"));
}

/// Case 11: in db mode a value is always stored encrypted and readable, even when its
/// plaintext itself starts with `fernet:`.
#[test]
fn a_plaintext_that_looks_like_a_fernet_value_is_stored_encrypted() {
    on_every_database(|_, d| {
        let keys = KeyRing::parse(KEY).unwrap();
        let token = format!("fernet:{}", keys.encrypt(b"fernet:hunter2"));
        d.import(
            &DB_MODE,
            &line("databaseService", &service("pg1", &json!(token))),
        )
        .assert_ok();
        let stored = password(&d.export(&DB_MODE, false), "pg1");
        let opened = keys.decrypt_if_tokenized(stored.as_str().unwrap()).unwrap();
        assert_eq!(opened.as_str(), "fernet:hunter2", "{}", d.label());
        assert_eq!(
            password(&d.export(&DB_MODE, true), "pg1"),
            "fernet:hunter2",
            "{}",
            d.label()
        );
    });
}

/// Case 12: numbers (and, where the column keeps it, key order) in fields vaultref does not own
/// come back digit for digit when a row is imported and rewritten.
#[test]
fn numbers_and_key_order_vaultref_does_not_own_come_back_as_written() {
    on_every_database(|_, d| {
        let text = r#"{"entityType":"databaseService","entity":{"zeta":1,"name":"pg1","serviceType":"Postgres","big":123456789012345678901234567890,"u64":18446744073709551617,"tiny":0.10000000000000000001,"connection":{"config":{"type":"Postgres","connectionArguments":{"n":1.50},"authType":{"password":"p1"}}},"alpha":2}}"#;
        d.import(&DB_MODE, &format!("{text}\n")).assert_ok();
        d.run(&["migrate-secrets"], &[], b"").assert_ok();
        let exported = d.run(&["entities", "export"], &[], b"").ok_text();
        for number in [
            "123456789012345678901234567890",
            "18446744073709551617",
            "0.10000000000000000001",
        ] {
            assert!(exported.contains(number), "{}: {exported}", d.label());
        }
        if d.label() != "postgres" {
            // The column keeps the text: everything but the password and the id as written.
            assert!(exported.contains(r#""n":1.50"#), "{exported}");
            let zeta = exported.find("\"zeta\"").unwrap();
            let alpha = exported.find("\"alpha\"").unwrap();
            assert!(zeta < alpha, "{}: key order lost: {exported}", d.label());
        }
        assert_eq!(password(&d.export(&[], true), "pg1"), "p1");
    });
}

/// Case 13: one bad row does not stop a command: migrate-secrets and export --reveal report it
/// and go on, and exit non-zero at the end.
#[test]
fn one_bad_row_is_reported_and_the_others_are_done() {
    on_every_database(|vault, d| {
        d.import(
            &DB_MODE,
            &[
                line("databaseService", &service("pg1", &json!("p1"))),
                line("databaseService", &service("pg2", &json!("p2"))),
            ]
            .concat(),
        )
        .assert_ok();
        // A row no JSON reader holds (written by another tool).
        d.db.execute(
            "INSERT INTO dbservice_entity (id, name, json) VALUES (?, ?, JSON(?))",
            &[
                "00000000-0000-4000-8000-000000000000",
                "huge",
                r#"{"id":"00000000-0000-4000-8000-000000000000","name":"huge","n":1e400}"#,
            ],
        );
        let migrated = d.run(&["migrate-secrets"], &[], b"");
        assert_eq!(migrated.code, Some(1), "{}: {}", d.label(), migrated.stderr);
        assert!(
            String::from_utf8_lossy(&migrated.stdout).contains("updated 2, unchanged 0, failed 1"),
            "{}: {}",
            d.label(),
            migrated.stderr
        );
        assert!(
            migrated
                .stderr
                .contains("row 00000000-0000-4000-8000-000000000000: FAILED"),
            "{}",
            migrated.stderr
        );
        for name in ["pg1", "pg2"] {
            assert!(
                vault
                    .emulator
                    .secret_value(&password_secret(name))
                    .is_some()
            );
        }

        // export --reveal: a reference that does not resolve fails its row only.
        d.run(&["secret", "delete", &password_secret("pg1")], &[], b"")
            .assert_ok();
        let out = d.run(&["entities", "export", "--reveal"], &[], b"");
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains("cannot reveal databaseService `pg1`"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("cannot export"), "{}", out.stderr);
        let printed = parse_lines(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(printed.len(), 1, "{}", d.label());
        assert_eq!(password(&printed, "pg2"), "p2");
    });
}

/// rotate-fernet-key with the keys in the wrong order (`old,new`) re-encrypts nothing, and says
/// so and why, before anyone drops the "old" key.
#[test]
fn a_rotation_that_re_encrypts_nothing_says_why() {
    let vault = Vault::start();
    let d = Deployment::new(&vault, sqlite());
    d.import(
        &DB_MODE,
        &[
            line("databaseService", &service("pg1", &json!("p1"))),
            line("databaseService", &service("pg2", &json!("p2"))),
        ]
        .concat(),
    )
    .assert_ok();
    let new_key = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
    let wrong = format!("{KEY},{}", new_key.trim());
    let out = d.run(
        &["rotate-fernet-key"],
        &[("FERNET_KEY", &wrong), ("SECRET_MANAGER", "db")],
        b"",
    );
    assert_eq!(
        out.ok_text(),
        "rotate-fernet-key: 2 entities, updated 0, unchanged 2, failed 0\n"
    );
    assert!(
        out.stderr.contains("nothing was re-encrypted")
            && out.stderr.contains("FERNET_KEY=<new>,<old>"),
        "{}",
        out.stderr
    );
    let right = format!("{},{KEY}", new_key.trim());
    let out = d.run(
        &["rotate-fernet-key"],
        &[("FERNET_KEY", &right), ("SECRET_MANAGER", "db")],
        b"",
    );
    assert!(out.ok_text().contains("updated 2"));
    assert!(
        !out.stderr.contains("nothing was re-encrypted"),
        "{}",
        out.stderr
    );
}
