//! `vaultref resolve`: JSON stays JSON (key order kept), YAML stays YAML, an unresolvable
//! reference fails naming it and where it is.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::support::vaultref;
use crate::vault::{Vault, write};

#[test]
fn json_references_are_replaced_in_place() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    vault.emulator.set_secret("mysql-password", "s3cret");
    vault.emulator.set_secret("bot-token", "eyJ.token");
    let input = write(
        vault.dir.path(),
        "service.json",
        r#"{"zeta": "secret:mysql-password", "alpha": {"port": 3306, "tls": true,
            "tokens": ["secret:bot-token", "plain", "secret:mysql-password"]}, "note": null}"#,
    );
    let run = vaultref(
        &[
            "resolve",
            "--config",
            config.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        &[],
        b"",
    );
    let out = run.ok_text();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        json!({"zeta": "s3cret", "alpha": {"port": 3306, "tls": true,
            "tokens": ["eyJ.token", "plain", "s3cret"]}, "note": null})
    );
    // Keys keep their order: `zeta` before `alpha`.
    assert!(
        out.find("zeta").unwrap() < out.find("alpha").unwrap(),
        "{out}"
    );
}

#[test]
fn yaml_from_stdin_stays_yaml() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    vault
        .emulator
        .set_secret("openmetadata-database-mysql-test-authtype-password", "pw-1");
    let input = "source:\n  serviceConnection:\n    config:\n      type: Mysql\n      authType:\n        password: secret:openmetadata-database-mysql-test-authtype-password\n      hostPort: db:3306\n";
    let run = vaultref(
        &["resolve", "--config", config.to_str().unwrap(), "-"],
        &[],
        input.as_bytes(),
    );
    let out = run.ok_text();
    assert_eq!(
        out,
        "source:\n  serviceConnection:\n    config:\n      type: Mysql\n      authType:\n        password: pw-1\n      hostPort: db:3306\n"
    );
}

#[test]
fn a_missing_reference_fails_naming_it_and_its_place() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    vault.emulator.set_secret("present", "value-789");
    let run = vaultref(
        &["resolve", "--config", config.to_str().unwrap(), "-"],
        &[],
        br#"{"a": "secret:present", "b": {"c": "secret:absent-name"}}"#,
    );
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("secret:absent-name") && run.stderr.contains("/b/c"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("value-789"));

    let broken = vaultref(
        &["resolve", "--config", config.to_str().unwrap(), "-"],
        &[],
        b"a: [unclosed\n",
    );
    broken.assert_one_line_failure();
    assert!(
        broken.stderr.contains("neither JSON nor YAML"),
        "{}",
        broken.stderr
    );
}
