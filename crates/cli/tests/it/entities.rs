//! `vaultref entities import|export`, `migrate-secrets` and `rotate-fernet-key` on SQLite
//! against the TLS emulator, with the sample entities of `tests/data/entities.jsonl`.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;
use vaultref_emulator::{Fault, Target};
use vaultref_fernet::KeyRing;

use crate::integrity::DB_MODE;
use crate::support::{AUDIT_LOG, Run, audit_records, data, vaultref};
use crate::vault::{KEY, Vault};

/// Entity name, JSON pointer of its secret, Key Vault name, value.
const SECRETS: [(&str, &str, &str, &str); 3] = [
    (
        "mysql-test",
        "/connection/config/authType/password",
        "openmetadata-database-mysql-test-authtype-password",
        "s3cret",
    ),
    (
        "ingestion-bot",
        "/authenticationMechanism/config/JWTToken",
        "openmetadata-bot-ingestion-bot-config-jwttoken",
        "eyJhbGciOiJSUzI1NiJ9.bot.token",
    ),
    (
        "my-pipeline",
        "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
        "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey",
        "aws-s3cret",
    ),
];

/// A configuration with a SQLite database in the vault's directory.
fn config(vault: &Vault) -> PathBuf {
    let db = vault.dir.path().join("vaultref.db");
    vault.config_with(
        "store.yaml",
        &vault.app(),
        true,
        &format!("database:\n  url: sqlite://{}\n", db.display()),
    )
}

fn run(config: &std::path::Path, words: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut args = words.to_vec();
    args.extend(["--config", config.to_str().unwrap()]);
    vaultref(&args, env, stdin)
}

fn export(config: &std::path::Path, env: &[(&str, &str)], reveal: bool) -> Vec<Value> {
    let words: &[&str] = if reveal {
        &["entities", "export", "--reveal"]
    } else {
        &["entities", "export"]
    };
    run(config, words, env, b"")
        .ok_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn stored<'a>(rows: &'a [Value], name: &str, pointer: &str) -> &'a str {
    let row = rows
        .iter()
        .find(|r| r["entity"]["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"));
    row["entity"].pointer(pointer).unwrap().as_str().unwrap()
}

fn sample() -> Vec<u8> {
    std::fs::read(data("entities.jsonl")).unwrap()
}

/// Imports the sample in db mode: its values Fernet-encrypted in the rows, none in the vault.
fn import_sample_in_db_mode(config: &std::path::Path) {
    run(config, &["entities", "import"], &DB_MODE, &sample()).assert_ok();
}

/// The Key Vault name of the password of the PostgreSQL service `pg`.
const PG_SECRET: &str = "openmetadata-database-pg-authtype-password";

/// Asserts that `import` exited 1 with `summary` on stdout and stderr lines that start with
/// `starts`, in order.
fn assert_partly_imported(import: &Run, summary: &str, starts: &[&str]) {
    assert_eq!(import.code, Some(1), "{}", import.stderr);
    assert_eq!(String::from_utf8(import.stdout.clone()).unwrap(), summary);
    let lines: Vec<&str> = import.stderr.lines().collect();
    assert!(lines.len() >= starts.len(), "{lines:?}");
    for (line, start) in lines.iter().zip(starts) {
        assert!(line.starts_with(start), "{lines:?}");
    }
}

#[test]
fn import_in_managed_mode_puts_secrets_in_the_vault_and_export_reveals_them() {
    let vault = Vault::start();
    let config = config(&vault);
    let path = data("entities.jsonl");
    let import = run(
        &config,
        &["entities", "import", path.to_str().unwrap()],
        &[],
        b"",
    );
    assert_eq!(
        import.ok_text(),
        "imported 3 entities, 3 secret(s) written to the vault, 0 secret(s) deleted from it, 0 failed\n"
    );
    let keys = KeyRing::parse(KEY).unwrap();
    let rows = export(&config, &[], false);
    assert_eq!(rows.len(), 3);
    let text = serde_json::to_string(&rows).unwrap();
    for (name, pointer, secret, value) in SECRETS {
        vault.assert_secret(secret, value);
        let token = stored(&rows, name, pointer);
        assert_eq!(
            keys.decrypt_if_tokenized(token).unwrap().as_str(),
            format!("secret:{secret}")
        );
        assert!(!text.contains(value), "{name}: export shows the value");
        assert!(!import.stderr.contains(value), "{}", import.stderr);
    }
    let revealed = export(&config, &[], true);
    for (name, pointer, _, value) in SECRETS {
        assert_eq!(stored(&revealed, name, pointer), value);
    }

    // An entity whose secret name collides with a stored entity's is refused before any
    // write, in a new process: the stored entities' names are claimed first.
    let clash = br#"{"entityType":"databaseService","entity":{"name":"mysql-test!","serviceType":"Mysql","connection":{"config":{"type":"Mysql","authType":{"password":"other-pw"}}}}}"#;
    let refused = run(&config, &["entities", "import"], &[], clash);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("map to the same secret name"),
        "{}",
        refused.stderr
    );
    vault.assert_secret(SECRETS[0].2, SECRETS[0].3);
    assert_eq!(export(&config, &[], false).len(), 3);
}

#[test]
fn bad_lines_are_reported_by_number_and_the_others_imported() {
    let vault = Vault::start();
    let config = config(&vault);
    let input = b"not json\n\n{\"entityType\":\"nope\",\"entity\":{\"name\":\"x\"}}\n{\"entityType\":\"databaseService\",\"entity\":{\"name\":\"pg\",\"serviceType\":\"Postgres\",\"connection\":{\"config\":{\"type\":\"Postgres\",\"authType\":{\"password\":\"pg-pass-1\"}}}}}\n";
    let import = run(&config, &["entities", "import", "-"], &[], input);
    assert_partly_imported(
        &import,
        "imported 1 entity, 1 secret(s) written to the vault, 0 secret(s) deleted from it, 2 failed\n",
        &[
            "line 1: failed: not JSON",
            "line 3: failed: unknown entity type `nope`",
            "line 4: databaseService `pg` inserted",
            "error: 2 line(s) failed",
        ],
    );
    assert!(!import.stderr.contains("pg-pass-1"));
    vault.assert_secret(PG_SECRET, "pg-pass-1");
}

#[test]
fn a_line_that_is_not_utf8_fails_alone() {
    let vault = Vault::start();
    let config = config(&vault);
    let mut input =
        b"{\"entityType\":\"databaseService\",\"entity\":{\"name\":\"bad\xff\"}}\n".to_vec();
    input.extend_from_slice(b"{\"entityType\":\"databaseService\",\"entity\":{\"name\":\"pg\",\"serviceType\":\"Postgres\",\"connection\":{\"config\":{\"type\":\"Postgres\",\"authType\":{\"password\":\"pg-pass-2\"}}}}}\r\n");
    let import = run(&config, &["entities", "import", "-"], &[], &input);
    assert_partly_imported(
        &import,
        "imported 1 entity, 1 secret(s) written to the vault, 0 secret(s) deleted from it, 1 failed\n",
        &[
            "line 1: failed: not UTF-8",
            "line 2: databaseService `pg` inserted",
        ],
    );
    vault.assert_secret(PG_SECRET, "pg-pass-2");
}

#[test]
fn migrate_secrets_moves_db_mode_secrets_to_the_vault_and_continues_past_a_failure() {
    let vault = Vault::start();
    let config = config(&vault);
    import_sample_in_db_mode(&config);
    let keys = KeyRing::parse(KEY).unwrap();
    let rows = export(&config, &[], false);
    for (name, pointer, _, value) in SECRETS {
        let token = stored(&rows, name, pointer);
        assert_eq!(keys.decrypt_if_tokenized(token).unwrap().as_str(), value);
    }
    assert!(vault.emulator.secret_names().is_empty());

    let dry = run(&config, &["migrate-secrets", "--dry-run"], &[], b"");
    assert_eq!(
        dry.ok_text(),
        "migrate-secrets (dry run): 3 entities, would update 3, unchanged 0, failed 0, 3 secret(s) to write to the vault\n"
    );
    assert!(vault.emulator.secret_names().is_empty());

    // The first vault write (the MySQL service's) is denied: that entity fails, the others
    // migrate, the exit status is 1.
    vault
        .emulator
        .inject(Fault::forbidden_by_policy(Target::Vault, 1));
    let first = run(&config, &["migrate-secrets"], &[], b"");
    assert_eq!(first.code, Some(1), "{}", first.stderr);
    assert_eq!(
        String::from_utf8(first.stdout.clone()).unwrap(),
        "migrate-secrets: 3 entities, updated 2, unchanged 0, failed 1, 2 secret(s) written to the vault\n"
    );
    assert!(
        first
            .stderr
            .lines()
            .any(|l| l.contains("databaseService `mysql-test`: FAILED")),
        "{}",
        first.stderr
    );
    let last = first.stderr.lines().last().unwrap();
    assert!(last.starts_with("error: 1 entity failed"), "{last}");
    for (_, _, _, value) in SECRETS {
        assert!(!first.stderr.contains(value), "{}", first.stderr);
    }

    let second = run(&config, &["migrate-secrets"], &[], b"");
    assert_eq!(
        second.ok_text(),
        "migrate-secrets: 3 entities, updated 1, unchanged 2, failed 0, 1 secret(s) written to the vault\n"
    );
    let rows = export(&config, &[], false);
    for (name, pointer, secret, value) in SECRETS {
        vault.assert_secret(secret, value);
        let token = stored(&rows, name, pointer);
        assert_eq!(
            keys.decrypt_if_tokenized(token).unwrap().as_str(),
            format!("secret:{secret}")
        );
    }
}

#[test]
fn vaultref_log_shows_the_audit_trail_of_vault_writes_without_values() {
    let vault = Vault::start();
    let config = config(&vault);
    import_sample_in_db_mode(&config);

    // Without VAULTREF_LOG stderr carries only the progress lines, no log records.
    let quiet = run(&config, &["migrate-secrets", "--dry-run"], &[], b"");
    assert!(
        !quiet.stderr.contains("vaultref::audit"),
        "{}",
        quiet.stderr
    );

    let logged = run(&config, &["migrate-secrets"], &AUDIT_LOG, b"");
    logged.assert_ok();
    let audit = audit_records(&logged.stderr);
    assert_eq!(audit.len(), SECRETS.len(), "{}", logged.stderr);
    for (name, _, secret, value) in SECRETS {
        let event = audit
            .iter()
            .find(|record| record["fields"]["secret"] == secret)
            .unwrap_or_else(|| panic!("no audit event for {secret}: {}", logged.stderr));
        assert_eq!(event["fields"]["action"], "write");
        assert_eq!(event["fields"]["entity"], name);
        assert!(!logged.stderr.contains(value), "{}", logged.stderr);
    }
}

#[test]
fn migrate_secrets_refuses_the_in_memory_vault_that_would_vanish_with_the_secrets() {
    let vault = Vault::start();
    let config = config(&vault);
    import_sample_in_db_mode(&config);
    let before = export(&config, &[], false);
    let in_memory = [("SECRET_MANAGER", "in-memory")];

    let out = run(&config, &["migrate-secrets"], &in_memory, b"");
    out.assert_one_line_failure();
    assert!(out.stderr.contains("in-memory"), "{}", out.stderr);
    assert_eq!(export(&config, &[], false), before, "a row changed");
    // A dry run writes nothing, so it may still say what would change.
    let dry = run(&config, &["migrate-secrets", "--dry-run"], &in_memory, b"");
    assert!(dry.ok_text().contains("would update 3"));
    assert_eq!(export(&config, &[], false), before);
}

#[test]
fn rotate_fernet_key_re_encrypts_every_row_under_the_new_key() {
    let vault = Vault::start();
    let config = config(&vault);
    import_sample_in_db_mode(&config);
    let new_key = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
    let new_key = new_key.trim();
    let both = format!("{new_key},{KEY}");
    let rotate = run(
        &config,
        &["rotate-fernet-key"],
        &[("FERNET_KEY", &both), ("SECRET_MANAGER", "db")],
        b"",
    );
    assert_eq!(
        rotate.ok_text(),
        "rotate-fernet-key: 3 entities, updated 3, unchanged 0, failed 0\n"
    );
    let new_ring = KeyRing::parse(new_key).unwrap();
    let old_ring = KeyRing::parse(KEY).unwrap();
    let rows = export(&config, &[], false);
    for (name, pointer, _, value) in SECRETS {
        let token = stored(&rows, name, pointer);
        assert_eq!(
            new_ring.decrypt_if_tokenized(token).unwrap().as_str(),
            value
        );
        assert!(old_ring.decrypt_if_tokenized(token).is_err(), "{name}");
    }
    // With only the old key, reveal fails for every row, naming the field and the fix, and
    // prints none of them.
    let stale = run(&config, &["entities", "export", "--reveal"], &DB_MODE, b"");
    assert_eq!(stale.code, Some(1), "{}", stale.stderr);
    assert!(stale.stdout.is_empty());
    let lines: Vec<&str> = stale.stderr.lines().collect();
    assert_eq!(lines.len(), SECRETS.len() + 1, "{}", stale.stderr);
    for line in &lines[..SECRETS.len()] {
        assert!(line.starts_with("cannot reveal "), "{line}");
        assert!(line.contains("fernetConfiguration.fernetKey"), "{line}");
    }
    assert!(lines[SECRETS.len()].starts_with("error: 3 entities could not be exported"));
}

#[test]
fn check_tells_the_database_layout_and_counts_the_entity_tables() {
    let vault = Vault::start();
    let config = config(&vault);
    let before = run(&config, &["check"], &[], b"");
    let out = before.ok_text();
    assert!(
        out.contains("ok: connected to the database sqlite://"),
        "{out}"
    );
    assert!(
        out.contains("warning: database layout: no entity tables"),
        "{out}"
    );
    assert!(out.contains("`vaultref entities import` creates"), "{out}");
    run(&config, &["entities", "import"], &[], &sample()).assert_ok();
    let after = run(&config, &["check"], &[], b"").ok_text();
    assert!(
        after.contains("ok: database layout: vaultref's own layout\n"),
        "{after}"
    );
    assert!(
        after.contains("ok: the entity tables hold 3 row(s)"),
        "{after}"
    );
    let json = run(&config, &["--output", "json", "check"], &[], b"").ok_text();
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["database"],
        serde_json::json!({"layout": "vaultref", "release": null, "missing_tables": [],
                           "rows": 3}),
        "{json}"
    );

    // An unreachable database is a problem.
    let unreachable = vault.config_with(
        "nodb.yaml",
        &vault.app(),
        true,
        "database:\n  url: postgres://vaultref@127.0.0.1:1/none\n",
    );
    let failed = run(&unreachable, &["check"], &[], b"");
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    let out = String::from_utf8(failed.stdout).unwrap();
    assert!(
        out.lines().any(|l| l.starts_with("problem: database:")),
        "{out}"
    );
}

#[test]
fn a_database_without_tables_says_how_to_create_them_once() {
    let vault = Vault::start();
    let config = config(&vault);
    for words in [
        &["entities", "export"][..],
        &["migrate-secrets"],
        &["rotate-fernet-key"],
    ] {
        let failed = run(&config, words, &[], b"");
        failed.assert_one_line_failure();
        assert!(
            failed.stderr.contains("`vaultref entities import`"),
            "{}",
            failed.stderr
        );
        // Said once, not once per table.
        assert_eq!(
            failed.stderr.matches("no entity tables").count(),
            1,
            "{}",
            failed.stderr
        );
    }
}
