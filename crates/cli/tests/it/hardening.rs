//! Issue 14 through the binary: no URL credential, query or pasted secret in any output, and
//! every input read with a cap.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use crate::support::{Run, vaultref};
use crate::vault::{Endpoints, KEY, Vault, write};

const PASSWORD: &str = "P4ssw0rd-in-url";
const SIGNATURE: &str = "S1gn4ture-in-query";

/// A managed-azure-kv configuration naming `vault_url` and `authority`, trusting the
/// emulator.
fn config_with(vault: &Vault, file: &str, vault_url: &str, authority: &str) -> PathBuf {
    let endpoints = Endpoints {
        vault: vault_url,
        authority,
    };
    vault.config_for(file, &vault.app(), &endpoints, true, "")
}

fn output(run: &Run) -> String {
    format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr)
}

fn check(config: &std::path::Path, env: &[(&str, &str)]) -> Run {
    vaultref(&["check", "--config", config.to_str().unwrap()], env, b"")
}

#[test]
fn check_never_prints_a_vault_urls_credentials_or_query() {
    let vault = Vault::start();
    let port = vault.emulator.port();
    for (file, url) in [
        (
            "userinfo.yaml",
            format!("https://admin:{PASSWORD}@127.0.0.1:{port}/"),
        ),
        (
            "query.yaml",
            format!("https://127.0.0.1:{port}/?sig={SIGNATURE}"),
        ),
    ] {
        let authority = vault.emulator.authority_host();
        let config = config_with(&vault, file, &url, authority.as_str());
        let run = check(&config, &[]);
        let shown = output(&run);
        assert_eq!(run.code, Some(1), "{shown}");
        assert!(
            shown.contains("problem: secretsManagerConfiguration.parameters.vaultUrl"),
            "{shown}"
        );
        for hidden in [PASSWORD, SIGNATURE, "admin"] {
            assert!(!shown.contains(hidden), "{file}: {shown}");
        }
    }
}

#[test]
fn an_authority_with_credentials_is_refused_and_never_reaches_the_connection_pool() {
    let vault = Vault::start();
    let authority = vault.emulator.authority_host();
    let with_password = format!(
        "https://admin:{PASSWORD}@{}:{}/",
        authority.host_str().unwrap(),
        authority.port().unwrap()
    );
    let vault_url = vault.emulator.vault_url();
    let config = config_with(&vault, "authority.yaml", vault_url.as_str(), &with_password);
    // Every log on, hyper's connection pool (which names the hosts it pools) explicitly.
    let run = check(
        &config,
        &[("VAULTREF_LOG", "trace,hyper_util=trace,hyper=trace")],
    );
    let shown = output(&run);
    assert_eq!(run.code, Some(1), "{shown}");
    assert!(
        shown.contains("contains a user name or password"),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(
        vault.emulator.requests().is_empty(),
        "refused before any request"
    );

    // A bad scheme is not echoed whole either.
    let bad_scheme = format!("ftp://admin:{PASSWORD}@login.example/");
    let config = config_with(&vault, "scheme.yaml", vault_url.as_str(), &bad_scheme);
    let run = check(&config, &[]);
    let shown = output(&run);
    assert!(shown.contains("authorityHost is `ftp:"), "{shown}");
    assert!(
        !shown.contains(PASSWORD) && !shown.contains("admin"),
        "{shown}"
    );
}

#[test]
fn plain_http_to_a_remote_vault_is_refused_saying_why() {
    let vault = Vault::start();
    let authority = vault.emulator.authority_host();
    let config = config_with(&vault, "http.yaml", "http://10.0.0.5/", authority.as_str());
    let run = check(&config, &[]);
    let shown = output(&run);
    assert_eq!(run.code, Some(1), "{shown}");
    assert!(shown.contains("must use https"), "{shown}");
    assert!(shown.contains("only sent over TLS"), "{shown}");
}

#[test]
fn a_secret_pasted_as_a_name_is_described_not_echoed() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    let run = vaultref(
        &[
            "secret",
            "get",
            "--config",
            config.to_str().unwrap(),
            "password=SuperSecret1",
        ],
        &[],
        b"",
    );
    run.assert_one_line_failure();
    assert!(!run.stderr.contains("SuperSecret1"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("21 characters long and character 9 is '='"),
        "{}",
        run.stderr
    );
    assert!(vault.emulator.requests().is_empty());
}

#[test]
fn endless_or_huge_inputs_fail_fast_with_a_clear_error() {
    for args in [
        &["check", "--config", "/dev/zero"][..],
        &["secret", "list", "--config", "/dev/zero"][..],
    ] {
        let run = vaultref(args, &[], b"");
        let shown = output(&run);
        assert_eq!(run.code, Some(1), "{shown}");
        assert!(
            shown.contains("/dev/zero") && shown.contains("larger than 4 MiB"),
            "{args:?}: {shown}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vaultref.db");
    let config = write(
        dir.path(),
        "db.yaml",
        &format!(
            "fernetConfiguration:\n  fernetKey: {KEY}\nsecretsManagerConfiguration:\n  secretsManager: db\ndatabase:\n  url: sqlite://{}\n",
            db.display()
        ),
    );
    let config = config.to_str().unwrap();

    // A document over 16 MiB is refused before it is parsed.
    let huge = vec![b' '; 16 * 1024 * 1024 + 1];
    let run = vaultref(&["resolve", "--config", config, "-"], &[], &huge);
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("stdin is larger than 16 MiB"),
        "{}",
        run.stderr
    );

    // An entity line over 16 MiB fails alone; the next line is imported.
    let mut lines = vec![b'x'; 16 * 1024 * 1024 + 1];
    lines.extend_from_slice(
        b"\n{\"entityType\":\"databaseService\",\"entity\":{\"name\":\"after\",\"serviceType\":\"Mysql\",\"connection\":{\"config\":{\"type\":\"Mysql\",\"username\":\"u\",\"authType\":{\"password\":\"pw-after\"}}}}}\n",
    );
    let run = vaultref(&["entities", "import", "--config", config], &[], &lines);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 1: failed: longer than 16 MiB, the most an entity line may hold"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 2: databaseService `after` inserted"),
        "{}",
        run.stderr
    );
}
