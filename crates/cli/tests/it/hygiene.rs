//! The hygiene test (issue 14): the end-to-end story of `cargo xtask e2e` and the error cases a
//! user meets, every command logging at trace level (`VAULTREF_LOG=trace`: vaultref's own
//! events and every library's, hyper's connection pool and sqlx's statements included), and
//! every line of stdout and stderr scanned for every secret value, the client secret, the
//! Fernet keys and every access token the vault was sent. Outputs whose purpose is a secret
//! value (`secret get`, `resolve`, `export --reveal`, `fernet decrypt`) are checked to hold
//! exactly that, and their stderr is scanned. The fault cases run at trace level and are
//! scanned the same way in `faults/`.

use serde_json::Value;
use vaultref_emulator::{EmulatorConfig, Fault, Target};

use crate::faults::harness::{Database, Site, fleet, marker};
use crate::support::{Run, Secrets, vaultref};
use crate::vault::KEY;

/// Everything secret in `site` and its runs so far, plus `more`.
fn secrets(site: &Site, more: &[(&str, &str)]) -> Secrets {
    let mut secrets = Secrets::default();
    secrets.add("a secret value", marker());
    secrets.add("the client secret", site.vault.emulator.client_secret());
    secrets.add_fernet_key(KEY);
    for (label, value) in more {
        if label.contains("Fernet key") {
            secrets.add_fernet_key(value);
        } else {
            secrets.add(label, value);
        }
    }
    assert!(
        secrets.add_credentials_seen_by(&site.vault.emulator) > 0,
        "the story reached the vault"
    );
    secrets
}

/// `vaultref WORDS` outside a configuration, at trace level.
fn traced(words: &[&str], stdin: &[u8]) -> Run {
    vaultref(words, &[("VAULTREF_LOG", "trace")], stdin)
}

#[test]
fn the_end_to_end_story_at_trace_level_prints_no_secret() {
    let fleet = fleet(8);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    // (run, whether its stdout is meant to hold secret values)
    let mut runs: Vec<(&str, Run, bool)> = Vec::new();

    let check = site.run(&["check"], &[], b"");
    assert!(check.ok_text().contains("ok: got a token"));
    runs.push(("check", check, false));
    let dry = site.run(&["migrate-secrets", "--dry-run"], &[], b"");
    assert!(dry.ok_text().contains("would update 8"));
    runs.push(("migrate-secrets --dry-run", dry, false));
    let migrate = site.migrate();
    assert!(migrate.ok_text().contains("updated 8"));
    runs.push(("migrate-secrets", migrate, false));
    let again = site.migrate();
    assert!(again.ok_text().contains("updated 0"));
    runs.push(("migrate-secrets again", again, false));

    // Every value read back by name, and through a document of references.
    let names = site.vault.emulator.secret_names();
    assert_eq!(names.len(), fleet.len());
    let mut document = String::new();
    let mut expected = String::new();
    for (i, name) in names.iter().enumerate() {
        let value = site.vault.emulator.secret_value(name).unwrap();
        let get = site.run(&["secret", "get", name], &[], b"");
        assert_eq!(get.ok_text(), value);
        runs.push(("secret get", get, true));
        document.push_str(&format!("field{i}: secret:{name}\n"));
        expected.push_str(&format!("field{i}: {value}\n"));
    }
    let resolved = site.run(&["resolve", "-"], &[], document.as_bytes());
    assert_eq!(resolved.ok_text(), expected);
    runs.push(("resolve", resolved, true));

    // A new key first: every row re-encrypted, the old key still readable until dropped.
    let new_key = traced(&["fernet", "generate-key"], b"").ok_text();
    let new_key = new_key.trim();
    let both = format!("{new_key},{KEY}");
    let rotate = site.run(&["rotate-fernet-key"], &[("FERNET_KEY", &both)], b"");
    assert!(rotate.ok_text().contains("updated 8"));
    runs.push(("rotate-fernet-key", rotate, false));
    let export = site.run(&["entities", "export"], &[("FERNET_KEY", new_key)], b"");
    export.assert_ok();
    runs.push(("entities export", export, false));
    let reveal = site.run(
        &["entities", "export", "--reveal"],
        &[("FERNET_KEY", new_key)],
        b"",
    );
    let revealed = reveal.ok_text();
    for planted in &fleet.secrets {
        let row: Value = revealed
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["entity"]["name"] == planted.name.as_str())
            .unwrap();
        assert_eq!(
            row["entity"].pointer(planted.pointer).unwrap(),
            planted.value.as_str()
        );
    }
    runs.push(("entities export --reveal", reveal, true));

    let secrets = secrets(&site, &[("the new Fernet key", new_key)]);
    for (what, run, stdout_is_secret) in &runs {
        if *stdout_is_secret {
            secrets.assert_absent(&format!("the stderr of {what}"), run.stderr.as_bytes());
        } else {
            secrets.assert_absent_from(what, run);
        }
    }
}

#[test]
fn error_cases_at_trace_level_print_no_secret() {
    let fleet = fleet(8);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    let emulator = &site.vault.emulator;
    let mut runs: Vec<(&str, Run)> = Vec::new();

    // A wrong client secret: Entra's 401 names the app, never the secret sent.
    let wrong_secret = "wrong-client-secret-Zk4Qp9";
    let text = std::fs::read_to_string(&site.config)
        .unwrap()
        .replace(emulator.client_secret(), wrong_secret);
    let wrong = crate::vault::write(site.vault.dir.path(), "wrong.yaml", &text);
    let config = wrong.to_str().unwrap();
    let check = vaultref(
        &["check", "--config", config],
        &[("VAULTREF_LOG", "trace")],
        b"",
    );
    assert_eq!(check.code, Some(1));
    runs.push(("check with a wrong client secret", check));
    let migrate = vaultref(
        &["migrate-secrets", "--config", config],
        &[("VAULTREF_LOG", "trace")],
        b"",
    );
    assert_eq!(migrate.code, Some(1));
    runs.push(("migrate-secrets with a wrong client secret", migrate));

    // The vault refuses: a policy denial on each of the first writes, then a migration that
    // fails for those entities and goes on.
    emulator.inject(Fault::forbidden_by_policy(Target::Vault, 2));
    let denied = site.migrate();
    assert_eq!(denied.code, Some(1), "{}", denied.stderr);
    runs.push(("migrate-secrets with denied writes", denied));

    // A value set from stdin, then read with a key that opens nothing.
    let value = format!("{}-set-from-stdin", marker());
    let set = site.run(&["secret", "set", "from-stdin"], &[], value.as_bytes());
    set.assert_ok();
    runs.push(("secret set", set));
    let missing = site.run(&["secret", "get", "no-such-secret"], &[], b"");
    assert_eq!(missing.code, Some(1));
    runs.push(("secret get of a missing secret", missing));
    let other_key = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    let export = site.run(
        &["entities", "export", "--reveal"],
        &[("FERNET_KEY", other_key)],
        b"",
    );
    assert_eq!(export.code, Some(1), "{}", export.stderr);
    runs.push(("export --reveal with the wrong key", export));
    let token = traced(&["fernet", "encrypt", "--key", KEY], value.as_bytes()).ok_text();
    let decrypt = traced(&["fernet", "decrypt", "--key", other_key], token.as_bytes());
    assert_eq!(decrypt.code, Some(1));
    runs.push(("fernet decrypt with the wrong key", decrypt));

    // Input with secrets in it that vaultref refuses: a line that is not JSON, a secret field
    // holding an object, a document that is neither JSON nor YAML.
    let broken = format!(
        "{{\"entityType\":\"databaseService\",\"entity\":{{\"name\":\"broken\",\"connection\":{{\"config\":{{\"type\":\"Mysql\",\"authType\":{{\"password\":\"{value}\"}}}}}}\n"
    );
    let import = site.run(&["entities", "import", "-"], &[], broken.as_bytes());
    assert_eq!(import.code, Some(1), "{}", import.stderr);
    runs.push(("import of a broken line", import));
    let nested = format!(
        "{{\"entityType\":\"databaseService\",\"entity\":{{\"name\":\"nested\",\"serviceType\":\"Mysql\",\"connection\":{{\"config\":{{\"type\":\"Mysql\",\"authType\":{{\"password\":{{\"inner\":\"{value}\"}}}}}}}}}}}}\n"
    );
    let import = site.run(&["entities", "import", "-"], &[], nested.as_bytes());
    runs.push(("import of a secret field holding an object", import));
    let bad_document = format!("a: [secret:x, {value}\n");
    let resolve = site.run(&["resolve", "-"], &[], bad_document.as_bytes());
    assert_eq!(resolve.code, Some(1));
    runs.push(("resolve of a broken document", resolve));

    let secrets = secrets(
        &site,
        &[
            ("the wrong client secret", wrong_secret),
            ("the other Fernet key", other_key),
            ("the Fernet token", token.trim()),
        ],
    );
    for (what, run) in &runs {
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        secrets.assert_absent_from(what, run);
    }
}

#[test]
fn the_scan_finds_secrets_in_any_spelling_and_names_them_without_the_value() {
    let mut secrets = Secrets::default();
    secrets.add("the client secret", "client-secret-value");
    secrets.add("too short to scan", "short");
    secrets.add_fernet_key(KEY);
    let url_safe_key = KEY.replace('/', "_");
    let output = format!(
        "first line\n{{\"key\":\"{}\"}}\nthird\n",
        url_safe_key.trim_end_matches('=')
    );
    assert_eq!(
        secrets.first_in(output.as_bytes()),
        Some(("a Fernet key".to_owned(), 2))
    );
    assert_eq!(
        secrets.first_in(b"x client-secret-value y"),
        Some(("the client secret".to_owned(), 1))
    );
    assert_eq!(secrets.first_in(b"a short line, nothing secret"), None);
}
