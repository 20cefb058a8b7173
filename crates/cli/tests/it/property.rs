//! The "nothing is lost" invariant as a property (issue 10): random sequences of imports
//! (plaintexts, cleared fields, user references; in db and managed mode), migrate-secrets,
//! rotate-fernet-key and export --reveal, with failures injected in the database and the vault
//! and another writer editing rows while commands run, through the binary on SQLite against the
//! TLS emulator. After every step:
//!
//! - every value last written (by an import that succeeded, or by the other writer) reveals
//!   exactly, and a user reference reveals what its secret holds;
//! - no secret that a row references is deleted.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use vaultref_emulator::{Fault, Target};
use vaultref_fernet::KeyRing;

use crate::databases::sqlite;
use crate::integrity::{
    DB_MODE, Deployment, PASSWORD, entity, line, parse_lines, password_secret, service,
};
use crate::support::vaultref;
use crate::vault::{KEY, Vault};

const ENTITIES: usize = 3;
/// Imports carrying this in their description are refused by a trigger in the database.
const REFUSED: &str = "refused-by-the-database";

#[derive(Debug, Clone)]
enum NewValue {
    Plain,
    Empty,
    Null,
    /// `secret:<name>` of another entity's computed secret name, typed by a user.
    Reference(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Import {
        entity: usize,
        value: NewValue,
        managed: bool,
        refused_by_database: bool,
        vault_denies: bool,
    },
    MigrateSecrets {
        vault_denies: bool,
        other_writer: bool,
    },
    RotateFernetKey {
        other_writer: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![
        3 => Just(NewValue::Plain),
        1 => Just(NewValue::Empty),
        1 => Just(NewValue::Null),
        3 => (0..ENTITIES).prop_map(NewValue::Reference),
    ];
    prop_oneof![
        6 => (0..ENTITIES, value, prop::bool::weighted(0.7), prop::bool::weighted(0.15), prop::bool::weighted(0.15))
            .prop_map(|(entity, value, managed, refused_by_database, vault_denies)| Op::Import {
                entity,
                value,
                managed,
                refused_by_database,
                vault_denies,
            }),
        2 => (prop::bool::weighted(0.3), any::<bool>())
            .prop_map(|(vault_denies, other_writer)| Op::MigrateSecrets { vault_denies, other_writer }),
        1 => any::<bool>().prop_map(|other_writer| Op::RotateFernetKey { other_writer }),
    ]
}

/// What a row's password should reveal as.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Value(Value),
    /// What the vault holds under this name.
    Reference(String),
}

struct World<'a> {
    vault: &'a Vault,
    deployment: Deployment<'a>,
    /// The Fernet key list, newest first (old keys are never dropped here).
    keys: Vec<String>,
    expected: BTreeMap<usize, Expected>,
    written: usize,
    /// Secrets a user referenced while they did not exist: their deletion was not vaultref's.
    dangling: std::collections::BTreeSet<String>,
}

impl World<'_> {
    fn key_list(&self) -> String {
        self.keys.join(",")
    }

    fn env(&self, managed: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![("FERNET_KEY", self.key_list())];
        if !managed {
            env.push(("SECRET_MANAGER", "db".to_owned()));
        }
        env
    }

    fn run(&self, words: &[&str], managed: bool, stdin: &[u8]) -> crate::support::Run {
        let env = self.env(managed);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.deployment.run(words, &env, stdin)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Import {
                entity,
                value,
                managed,
                refused_by_database,
                vault_denies,
            } => {
                let name = format!("e{entity}");
                let (password, expected) = match value {
                    NewValue::Plain => {
                        self.written += 1;
                        let text = format!("value-{}", self.written);
                        (json!(text), Expected::Value(json!(text)))
                    }
                    NewValue::Empty => (json!(""), Expected::Value(json!(""))),
                    NewValue::Null => (Value::Null, Expected::Value(Value::Null)),
                    NewValue::Reference(other) => {
                        let secret = password_secret(&format!("e{other}"));
                        (
                            json!(format!("secret:{secret}")),
                            Expected::Reference(secret),
                        )
                    }
                };
                let mut doc = service(&name, &password);
                if *refused_by_database {
                    doc["description"] = json!(REFUSED);
                }
                if *vault_denies {
                    self.vault
                        .emulator
                        .inject(Fault::forbidden_by_policy(Target::Vault, 1));
                }
                let out = self.run(
                    &["entities", "import"],
                    *managed,
                    line("databaseService", &doc).as_bytes(),
                );
                self.vault.emulator.clear_faults();
                let stored = out.stderr.contains("line 1: databaseService");
                if *refused_by_database {
                    prop_assert!(!stored, "a refused row was stored: {}", out.stderr);
                }
                if stored {
                    if let Expected::Reference(secret) = &expected
                        && self.vault.emulator.secret_value(secret).is_none()
                    {
                        // A user may reference what does not exist (yet, or any more).
                        self.dangling.insert(secret.clone());
                    }
                    self.expected.insert(*entity, expected);
                }
            }
            Op::MigrateSecrets {
                vault_denies,
                other_writer,
            } => {
                if *vault_denies {
                    self.vault
                        .emulator
                        .inject(Fault::forbidden_by_policy(Target::Vault, 1));
                }
                self.with_other_writer(*other_writer, &["migrate-secrets"], true);
                self.vault.emulator.clear_faults();
            }
            Op::RotateFernetKey { other_writer } => {
                let key = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
                self.keys.insert(0, key.trim().to_owned());
                self.with_other_writer(*other_writer, &["rotate-fernet-key"], false);
            }
        }
        self.check()
    }

    /// Runs the command in the background while (optionally) another writer rewrites random
    /// rows with new plaintexts, as OpenMetadata's server in db mode writes them.
    fn with_other_writer(&mut self, other_writer: bool, words: &[&str], managed: bool) {
        let stored = parse_lines(&self.run(&["entities", "export"], false, b"").ok_text());
        let mut child = {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vaultref"));
            command
                .args(words)
                .args(["--config", self.deployment.config.to_str().unwrap()])
                .env("FERNET_KEY", self.key_list())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if !managed {
                command.env("SECRET_MANAGER", "db");
            }
            command.spawn().unwrap()
        };
        if !other_writer || stored.is_empty() {
            child.wait().unwrap();
            return;
        }
        // Tokens under the oldest key, which every key list here keeps.
        let keys = KeyRing::parse(self.keys.last().unwrap()).unwrap();
        let mut session = self.deployment.db.connection();
        let mut seed = u64::try_from(self.written).unwrap() * 2_654_435_761 + 1;
        while child.try_wait().unwrap().is_none() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let row = &stored[usize::try_from(seed % stored.len() as u64).unwrap()]["entity"];
            let index: usize = row["name"].as_str().unwrap()[1..].parse().unwrap();
            self.written += 1;
            let text = format!("value-{}", self.written);
            let mut doc = row.clone();
            *doc.pointer_mut(PASSWORD).unwrap() = json!(keys.encrypt_if_not_tokenized(&text));
            session.execute(
                "UPDATE dbservice_entity SET json = JSON(?) WHERE id = ?",
                &[&doc.to_string(), doc["id"].as_str().unwrap()],
            );
            self.expected.insert(index, Expected::Value(json!(text)));
            // Pacing the other writer, not waiting for anything.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let emulator = &self.vault.emulator;
        self.dangling
            .retain(|secret| emulator.secret_value(secret).is_none());
        // No secret a row references is deleted.
        let ring = KeyRing::parse(&self.key_list()).unwrap();
        let stored = parse_lines(&self.run(&["entities", "export"], false, b"").ok_text());
        let deleted = emulator.deleted_secret_names();
        for row in &stored {
            let Some(value) = row["entity"].pointer(PASSWORD).and_then(Value::as_str) else {
                continue;
            };
            let plain = ring.decrypt_if_tokenized(value).unwrap();
            if let Some(name) = plain.strip_prefix("secret:") {
                prop_assert!(
                    self.dangling.contains(name) || !deleted.iter().any(|d| d == name),
                    "{} references the deleted secret {name}",
                    row["entity"]["name"]
                );
            }
        }
        // Every value last written reveals exactly.
        let out = self.run(&["entities", "export", "--reveal"], true, b"");
        let revealed = parse_lines(&String::from_utf8(out.stdout.clone()).unwrap());
        for (index, expected) in &self.expected {
            let name = format!("e{index}");
            let shown = revealed
                .iter()
                .find(|r| r["entity"]["name"] == name.as_str())
                .map(|_| entity(&revealed, &name).pointer(PASSWORD).cloned());
            match expected {
                Expected::Value(value) => prop_assert_eq!(
                    shown.clone().flatten(),
                    Some(value.clone()),
                    "{} lost its value ({})",
                    name,
                    out.stderr
                ),
                Expected::Reference(secret) => match emulator.secret_value(secret) {
                    Some(held) => prop_assert_eq!(
                        shown.clone().flatten(),
                        Some(json!(held)),
                        "{} does not reveal what {} holds ({})",
                        name,
                        secret,
                        out.stderr
                    ),
                    // Never written: its row cannot be revealed, and says so.
                    None => prop_assert!(
                        shown.is_none() && out.stderr.contains(&format!("`{name}`")),
                        "{}: {}",
                        name,
                        out.stderr
                    ),
                },
            }
        }
        Ok(())
    }
}

#[test]
fn nothing_written_last_is_lost_whatever_the_sequence() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        max_shrink_iters: 30,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 4..11), |ops| {
            let vault = Vault::start();
            let deployment = Deployment::new(&vault, sqlite());
            // The tables, then the database's refusal of marked rows.
            deployment.import(&DB_MODE, "").assert_ok();
            deployment
                .db
                .fail_writes_containing("dbservice_entity", REFUSED);
            let mut world = World {
                vault: &vault,
                deployment,
                keys: vec![KEY.to_owned()],
                expected: BTreeMap::new(),
                written: 0,
                dangling: std::collections::BTreeSet::new(),
            };
            // Every sequence starts where losses hide: a secret in the vault that another
            // entity references by hand.
            let start = [
                Op::Import {
                    entity: 0,
                    value: NewValue::Plain,
                    managed: true,
                    refused_by_database: false,
                    vault_denies: false,
                },
                Op::Import {
                    entity: 1,
                    value: NewValue::Reference(0),
                    managed: true,
                    refused_by_database: false,
                    vault_denies: false,
                },
            ];
            for op in start.iter().chain(&ops) {
                world.apply(op)?;
            }
            Ok(())
        })
        .unwrap();
}
