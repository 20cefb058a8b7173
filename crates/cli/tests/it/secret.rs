//! `vaultref secret get|set|list|delete|recover|purge` against the TLS emulator.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use crate::support::{Run, vaultref};
use crate::vault::Vault;

fn secret(config: &std::path::Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["secret", args[0], "--config", config.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    vaultref(&all, &[], stdin)
}

fn names(run: &Run) -> Vec<String> {
    run.ok_text().lines().map(str::to_owned).collect()
}

#[test]
fn set_get_list_delete_recover_purge() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    let emu = &vault.emulator;
    // A value with a trailing newline and non-ASCII text is kept byte for byte.
    let value = "pa55 wörd\n";

    let set = secret(&config, &["set", "db-password"], value.as_bytes());
    let out = set.ok_text();
    assert!(out.starts_with("set db-password (version "), "{out}");
    assert!(!out.contains("pa55"), "{out}");
    vault.assert_secret("db-password", value);
    // The configured tags go with the write.
    let tags = emu.secret_tags("db-password").unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("data"));

    let get = secret(&config, &["get", "db-password"], b"");
    get.assert_ok();
    assert_eq!(get.stdout, value.as_bytes());

    emu.set_secret("api-token", "t0ken");
    assert_eq!(
        names(&secret(&config, &["list"], b"")),
        ["api-token", "db-password"]
    );

    let deleted = secret(&config, &["delete", "db-password"], b"").ok_text();
    assert!(deleted.starts_with("deleted db-password"), "{deleted}");
    assert_eq!(emu.secret_value("db-password"), None);
    assert_eq!(names(&secret(&config, &["list"], b"")), ["api-token"]);
    assert_eq!(
        names(&secret(&config, &["list", "--deleted"], b"")),
        ["db-password"]
    );
    // Reading a deleted secret: one line, exit 1.
    let gone = secret(&config, &["get", "db-password"], b"");
    gone.assert_one_line_failure();
    assert!(gone.stderr.contains("db-password"), "{}", gone.stderr);

    let recovered = secret(&config, &["recover", "db-password"], b"").ok_text();
    assert_eq!(recovered, "recovered db-password\n");
    assert_eq!(
        secret(&config, &["get", "db-password"], b"").stdout,
        value.as_bytes()
    );

    secret(&config, &["delete", "db-password"], b"").assert_ok();
    let purged = secret(&config, &["purge", "db-password"], b"").ok_text();
    assert_eq!(purged, "purged db-password\n");
    assert!(names(&secret(&config, &["list", "--deleted"], b"")).is_empty());
    // The name is free again.
    secret(&config, &["set", "db-password"], b"new").assert_ok();
    vault.assert_secret("db-password", "new");
}

#[test]
fn failures_are_one_line_and_never_show_values() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    let emu = &vault.emulator;

    let missing = secret(&config, &["get", "nothing-here"], b"");
    missing.assert_one_line_failure();
    assert!(
        missing.stderr.contains("nothing-here") && missing.stderr.contains("not found"),
        "{}",
        missing.stderr
    );

    // An invalid name is refused before any request.
    emu.clear_requests();
    let bad = secret(&config, &["set", "no_underscores"], b"value-123");
    bad.assert_one_line_failure();
    // Described, not echoed (issue 14: a value pasted as a name must not reach the output).
    assert!(
        bad.stderr
            .contains("14 characters long and character 3 is '_'"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stderr.contains("no_underscores"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("value-123"));
    assert!(emu.requests().is_empty());

    // Setting over a soft-deleted name says to recover or purge it.
    emu.set_secret("old-one", "v1");
    secret(&config, &["delete", "old-one"], b"").assert_ok();
    let taken = secret(&config, &["set", "old-one"], b"value-456");
    taken.assert_one_line_failure();
    assert!(
        taken.stderr.contains("recover") && taken.stderr.contains("purge"),
        "{}",
        taken.stderr
    );
    assert!(!taken.stderr.contains("value-456"));

    // A configuration without a vault.
    let db = crate::vault::write(
        vault.dir.path(),
        "db.yaml",
        &format!(
            "fernetConfiguration:\n  fernetKey: {}\nsecretsManagerConfiguration:\n  secretsManager: db\n",
            crate::vault::KEY
        ),
    );
    let none = secret(&db, &["list"], b"");
    none.assert_one_line_failure();
    assert!(none.stderr.contains("vaultName"), "{}", none.stderr);
}
