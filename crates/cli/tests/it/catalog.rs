//! The secret-field catalog against openmetadata-ingestion's own models (issue 9).
//!
//! `xtask/openmetadata/om_corpus.py`, run by `VAULTREF_PYTHON` on the 2.0.7.0 models that
//! `cargo xtask venv` unpacks beside it, builds one entity per secret path of every connection
//! type and entity kind, fills every secret field with a distinct marker, loads each through
//! OpenMetadata's pydantic models and lists their `CustomSecretStr` values with OpenMetadata's
//! names. vaultref must find exactly those, under those names (conformance), and the corpus
//! must end in the vault and in no row, on every database, through the binary.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use vaultref_core::{Catalog, EntityType, ProviderKind, SecretsManager};
use vaultref_fernet::KeyRing;

use crate::databases::{Database, databases, sqlite};
use crate::integrity::DB_MODE;
use crate::support::{Run, python, run, vaultref};
use crate::vault::{KEY, Vault};

/// One corpus entity and what OpenMetadata's models list in it.
struct Entry {
    entity_type: String,
    entity: Value,
    /// (path from the entity root, marker, OpenMetadata's Key Vault name).
    secrets: Vec<(String, String, String)>,
    /// Markers the models did not list: (path, where the model kept a free-form dict, if
    /// anywhere).
    free_form: Vec<(String, Option<String>)>,
}

const RELEASE: &str = "2.0.7.0";

fn corpus() -> Option<Vec<Entry>> {
    let python = python(&["pydantic", "email_validator"])?;
    let models = python
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("openmetadata")
        .join(RELEASE);
    assert!(
        models.join("metadata/generated").exists(),
        "{} is missing: run `cargo xtask venv`",
        models.display()
    );
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/openmetadata/om_corpus.py");
    let out = run(
        &python,
        &[script.to_str().unwrap(), models.to_str().unwrap()],
        &[],
        b"",
    );
    out.assert_ok();
    let mut entries = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        if let Some(refused) = value.get("refused") {
            // Custom connection types whose models need more than the generator gives them.
            assert!(refused.as_u64().unwrap() <= 6, "{}", out.stderr);
            continue;
        }
        let secrets = value["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let text = |k: &str| s[k].as_str().unwrap().to_owned();
                (text("path"), text("value"), text("name"))
            })
            .collect();
        let free_form = value["freeForm"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let at = f["at"].as_str().map(str::to_owned);
                (f["path"].as_str().unwrap().to_owned(), at)
            })
            .collect();
        entries.push(Entry {
            entity_type: value["entityType"].as_str().unwrap().to_owned(),
            entity: value["entity"].clone(),
            secrets,
            free_form,
        });
    }
    Some(entries)
}

#[test]
fn vaultref_finds_exactly_what_openmetadata_models_find_under_their_names() {
    let Some(entries) = corpus() else { return };
    let manager = SecretsManager::builder(
        ProviderKind::InMemory,
        KeyRing::parse(KEY).unwrap(),
        "openmetadata",
    )
    .catalog(Arc::new(Catalog::builtin()))
    .build()
    .unwrap();
    let (mut fields, mut extra, mut mismatches) = (0, 0, Vec::new());
    for entry in &entries {
        let entity_type: EntityType = entry.entity_type.parse().unwrap();
        let who = format!("{} {}", entry.entity_type, entry.entity["name"]);
        let (found, unclassified) = match manager.discover_fields(entity_type, &entry.entity) {
            Ok(found) => found,
            Err(err) => {
                mismatches.push(format!("{who}: {err}"));
                continue;
            }
        };
        let ours: BTreeSet<String> = found
            .iter()
            .filter(|f| {
                let pointer = format!("/{}", f.path.replace('.', "/"));
                entry
                    .entity
                    .pointer(&pointer)
                    .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            })
            .map(|f| f.path.clone())
            .collect();
        let theirs: BTreeSet<String> = entry.secrets.iter().map(|s| s.0.clone()).collect();
        fields += theirs.len();
        // Where a union's free-form branch (`dict[str, Any]`) wins in pydantic, the models keep
        // a secret field as a plain string; vaultref fails closed and finds it too
        // (docs/compatibility.md). Every such marker must be explained by a free-form value.
        for (path, at) in &entry.free_form {
            if at.is_none() {
                mismatches.push(format!("{who}: the models do not list {path}, unexplained"));
            }
        }
        let free_form: BTreeSet<String> = entry.free_form.iter().map(|f| f.0.clone()).collect();
        let expected: BTreeSet<String> = theirs.union(&free_form).cloned().collect();
        if ours != expected {
            let missed: Vec<&String> = expected.difference(&ours).collect();
            let more: Vec<&String> = ours.difference(&expected).collect();
            mismatches.push(format!(
                "{who}: vaultref misses {missed:?}, finds more {more:?}"
            ));
        }
        extra += free_form.len();
        if !unclassified.is_empty() {
            mismatches.push(format!("{who}: unclassified {unclassified:?}"));
        }
        if entry.secrets.iter().any(|s| s.2.len() > 127) {
            continue; // refused before any write: names_over_127_characters_are_refused
        }
        let names = manager.secret_names(entity_type, &entry.entity).unwrap();
        for (path, _, name) in &entry.secrets {
            let ours = names
                .iter()
                .find(|(f, _)| &f.path == path)
                .map(|(_, n)| n.as_str());
            if ours != Some(name.as_str()) {
                mismatches.push(format!(
                    "{who} {path}: vaultref {ours:?}, OpenMetadata {name}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "{} entities, {fields} secret fields listed by the models, {extra} more under free-form \
         values, found by vaultref",
        entries.len()
    );
    // 516 entities and 501 secret fields from 2.0.7.0 when this was written.
    assert!(
        entries.len() > 400 && fields > 400,
        "{} entities, {fields} fields",
        entries.len()
    );
}

/// The corpus as JSON Lines for `entities import`, leaving out entities whose names exceed
/// Key Vault's limit (refused by design); with every marker and its name.
fn import_file(dir: &Path, entries: &[Entry]) -> (PathBuf, Vec<(String, String)>) {
    let mut text = String::new();
    let mut markers = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| e.secrets.iter().all(|s| s.2.len() <= 127))
    {
        text.push_str(
            &json!({"entityType": entry.entity_type, "entity": entry.entity}).to_string(),
        );
        text.push('\n');
        markers.extend(entry.secrets.iter().map(|s| (s.1.clone(), s.2.clone())));
    }
    let path = dir.join("corpus.jsonl");
    std::fs::write(&path, text).unwrap();
    (path, markers)
}

fn command(config: &Path, words: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = words.to_vec();
    args.extend(["--config", config.to_str().unwrap()]);
    vaultref(&args, env, b"")
}

fn config_for(vault: &Vault, db: &Database) -> PathBuf {
    vault.config_with(
        &format!("corpus-{}.yaml", db.label),
        &vault.app(),
        true,
        &format!("database:\n  url: {}\n", db.url),
    )
}

/// Asserts that the vault holds every marker under its name.
fn assert_markers_in_vault(vault: &Vault, markers: &[(String, String)], label: &str) {
    for (marker, name) in markers {
        assert_eq!(
            vault.emulator.secret_value(name).as_deref(),
            Some(marker.as_str()),
            "{label}: {name}"
        );
    }
}

/// Asserts that no marker shows in the rows `entities export` prints with `env`.
fn assert_markers_in_no_row(
    config: &Path,
    markers: &[(String, String)],
    env: &[(&str, &str)],
    label: &str,
) {
    let stored = command(config, &["entities", "export"], env).ok_text();
    let leaked = markers
        .iter()
        .filter(|(m, _)| stored.contains(m.as_str()))
        .count();
    assert_eq!(leaked, 0, "{label}: markers in database rows");
}

#[test]
fn the_corpus_goes_to_the_vault_and_to_no_row_on_every_database() {
    let Some(entries) = corpus() else { return };
    for db in databases() {
        let vault = Vault::start();
        let config = config_for(&vault, &db);
        let (file, markers) = import_file(vault.dir.path(), &entries);
        let imported = command(
            &config,
            &["entities", "import", file.to_str().unwrap()],
            &[],
        );
        imported.assert_ok();
        assert_markers_in_vault(&vault, &markers, db.label);
        assert_markers_in_no_row(&config, &markers, &[], db.label);
        command(&config, &["scan"], &[]).assert_ok();
        eprintln!(
            "{}: {} entities, {} secrets in the vault",
            db.label,
            entries.len(),
            markers.len()
        );
    }
}

#[test]
fn the_corpus_in_db_mode_is_fernet_encrypted_and_migrates_to_the_vault() {
    let Some(entries) = corpus() else { return };
    for db in databases() {
        let vault = Vault::start();
        let config = config_for(&vault, &db);
        let (file, markers) = import_file(vault.dir.path(), &entries);
        command(
            &config,
            &["entities", "import", file.to_str().unwrap()],
            &DB_MODE,
        )
        .assert_ok();
        assert!(vault.emulator.secret_names().is_empty());
        assert_markers_in_no_row(&config, &markers, &DB_MODE, db.label);
        // Every marker is there, Fernet-encrypted: revealed, each comes back.
        let revealed = command(&config, &["entities", "export", "--reveal"], &DB_MODE).ok_text();
        assert!(
            markers.iter().all(|(m, _)| revealed.contains(m.as_str())),
            "{}",
            db.label
        );
        command(&config, &["scan"], &DB_MODE).assert_ok();
        // Managed scan: fernet: of plaintexts are findings.
        assert_eq!(command(&config, &["scan"], &[]).code, Some(1));
        command(&config, &["migrate-secrets"], &[]).assert_ok();
        assert_markers_in_vault(&vault, &markers, db.label);
        assert_markers_in_no_row(&config, &markers, &[], db.label);
        command(&config, &["scan"], &[]).assert_ok();
    }
}

#[test]
fn unknown_types_and_unclassified_fields_are_refused_and_reported() {
    let db = sqlite();
    let vault = Vault::start();
    let config = config_for(&vault, &db);
    let unknown = r#"{"entityType":"databaseService","entity":{"name":"odd","serviceType":"Nosuchdb","connection":{"config":{"type":"Nosuchdb","password":"unknown-pw"}}}}"#;
    let unclassified = r#"{"entityType":"databaseService","entity":{"name":"my","serviceType":"Mysql","connection":{"config":{"type":"Mysql","authType":{"password":"p"},"connectionOptions":{"vendorPassword":"vendor-pw"}}}}}"#;
    let nested = r#"{"entityType":"databaseService","entity":{"name":"obj","serviceType":"Mysql","connection":{"config":{"type":"Mysql","authType":{"password":{"inner":"inner-pw"}}}}}}"#;
    for (line, path) in [
        (unknown, "connection.config"),
        (
            unclassified,
            "connection.config.connectionOptions.vendorPassword",
        ),
        (nested, "connection.config.authType.password"),
    ] {
        let file = vault.dir.path().join("bad.jsonl");
        std::fs::write(&file, line).unwrap();
        let out = command(
            &config,
            &["entities", "import", file.to_str().unwrap()],
            &[],
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains(path), "{}", out.stderr);
        assert!(!out.stderr.contains("-pw"), "{}", out.stderr);
        assert!(vault.emulator.secret_names().is_empty());
    }
    assert!(
        command(&config, &["entities", "export"], &[])
            .ok_text()
            .is_empty()
    );
    // Rows another writer left: migrate-secrets and export --reveal report them and go on.
    let mut session = db.connection();
    for (id, name, json) in [
        ("00000000-0000-0000-0000-000000000001", "odd", unknown),
        ("00000000-0000-0000-0000-000000000002", "my", unclassified),
    ] {
        let entity: Value = serde_json::from_str(json).unwrap();
        session.execute(
            "INSERT INTO dbservice_entity (id, name, json) VALUES (?, ?, JSON(?))",
            &[id, name, &entity["entity"].to_string()],
        );
    }
    let good = r#"{"entityType":"databaseService","entity":{"name":"fine","serviceType":"Mysql","connection":{"config":{"type":"Mysql","authType":{"password":"fine-pw"}}}}}"#;
    let file = vault.dir.path().join("good.jsonl");
    std::fs::write(&file, good).unwrap();
    command(
        &config,
        &["entities", "import", file.to_str().unwrap()],
        &[],
    )
    .assert_ok();
    let migrated = command(&config, &["migrate-secrets"], &[]);
    assert_eq!(migrated.code, Some(1), "{}", migrated.stderr);
    assert!(migrated.stderr.contains("Nosuchdb"), "{}", migrated.stderr);
    assert!(
        migrated.stderr.contains("vendorPassword"),
        "{}",
        migrated.stderr
    );
    let revealed = command(&config, &["entities", "export", "--reveal"], &[]);
    assert!(revealed.stderr.contains("Nosuchdb"), "{}", revealed.stderr);
    assert!(String::from_utf8_lossy(&revealed.stdout).contains("fine-pw"));
    let scanned = command(&config, &["scan", "--json"], &[]);
    assert_eq!(scanned.code, Some(1));
    let report: Value = serde_json::from_slice(&scanned.stdout).unwrap();
    let problems: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["problem"].as_str().unwrap())
        .collect();
    assert!(
        problems.contains("unchecked") && problems.contains("unclassified"),
        "{report}"
    );
    assert!(!String::from_utf8_lossy(&scanned.stdout).contains("-pw"));
    let masked = command(&config, &["entities", "export", "--masked"], &[]);
    assert!(String::from_utf8_lossy(&masked.stdout).contains("*********"));
    assert!(!String::from_utf8_lossy(&masked.stdout).contains("fine-pw"));
}
