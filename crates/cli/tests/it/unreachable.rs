//! Failures a retry cannot fix end at once with their root cause (a refused loopback port, an
//! untrusted certificate); transient ones (a 503 burst) are retried, and every retry shows on
//! stderr.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, time::Instant};

use vaultref_emulator::{Fault, Target};

use crate::support::{Run, vaultref};
use crate::vault::{Endpoints, Vault};

/// A configuration whose vault is `vault_url`, with the emulator's authority and credential.
fn config_for(vault: &Vault, file: &str, vault_url: &str, trust_ca: bool) -> PathBuf {
    let authority = vault.emulator.authority_host();
    let endpoints = Endpoints {
        vault: vault_url,
        authority: authority.as_str(),
    };
    vault.config_for(file, &vault.app(), &endpoints, trust_ca, "")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// Runs `args` with nothing from the test's environment supplying a CA, and reports the time
/// it took (speed is not asserted; the report quotes these numbers).
#[allow(clippy::print_stderr)] // Not inside a #[test] function, where printing is allowed.
fn timed(label: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    let run = vaultref(args, &[("SSL_CERT_FILE", ""), ("VAULTREF_LOG", "")], b"");
    eprintln!("{label}: {:?}", started.elapsed());
    run
}

fn all_output(run: &Run) -> String {
    format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr)
}

/// The one `problem:` line of a failed `check` run, which made no retry.
fn only_problem_without_retry(check: &Run) -> String {
    assert_eq!(check.code, Some(1), "{}", all_output(check));
    assert!(
        !all_output(check).contains("retrying"),
        "{}",
        all_output(check)
    );
    let out = String::from_utf8(check.stdout.clone()).unwrap();
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("problem:")).collect();
    assert_eq!(problems.len(), 1, "{out}");
    assert!(problems[0].contains("after 1 attempt(s)"), "{out}");
    problems[0].to_owned()
}

/// The error line of a failed `secret get` run, which made no retry.
fn error_without_retry(get: &Run) -> &str {
    get.assert_one_line_failure();
    assert!(get.stderr.contains("after 1 attempt(s)"), "{}", get.stderr);
    assert!(!get.stderr.contains("retrying"), "{}", get.stderr);
    &get.stderr
}

#[test]
fn a_closed_loopback_port_fails_at_once_with_connection_refused() {
    let vault = Vault::start();
    let url = format!("https://127.0.0.1:{}/", closed_port());
    let config = config_for(&vault, "closed.yaml", &url, true);
    let config = config.to_str().unwrap();

    let check = timed("check, closed port", &["check", "--config", config]);
    let problem = only_problem_without_retry(&check);
    assert!(problem.contains("Connection refused"), "{problem}");
    assert!(
        problem.contains("connection refused: nothing listens"),
        "{problem}"
    );

    let get = ["secret", "get", "--config", config, "db-password"];
    let get = timed("secret get, closed port", &get);
    let error = error_without_retry(&get);
    assert!(error.contains("Connection refused"), "{error}");
}

#[test]
fn an_untrusted_certificate_fails_at_once_with_the_ca_hint() {
    let vault = Vault::start();
    let url = vault.emulator.vault_url().to_string();
    let config = config_for(&vault, "untrusted.yaml", &url, false);
    let config = config.to_str().unwrap();

    let check = timed(
        "check, untrusted certificate",
        &["check", "--config", config],
    );
    let problem = only_problem_without_retry(&check);
    assert!(problem.contains("UnknownIssuer"), "{problem}");
    assert!(
        problem.contains("not trusted") && problem.contains("caCertFile"),
        "{problem}"
    );

    let get = ["secret", "get", "--config", config, "db-password"];
    let get = timed("secret get, untrusted certificate", &get);
    let error = error_without_retry(&get);
    assert!(
        error.contains("UnknownIssuer") && error.contains("caCertFile"),
        "{error}"
    );
    // Nothing got through TLS, so the vault saw nothing.
    assert!(vault.emulator.requests().is_empty());
}

#[test]
fn a_503_burst_is_retried_and_each_retry_shows_on_stderr() {
    let vault = Vault::start();
    let config = vault.config("kv.yaml", &vault.app());
    vault.emulator.set_secret("db-password", "s3cret");
    vault.emulator.inject(Fault::status(Target::Vault, 2, 503));
    let get = vaultref(
        &[
            "secret",
            "get",
            "--config",
            config.to_str().unwrap(),
            "db-password",
        ],
        &[],
        b"",
    );
    get.assert_ok();
    assert_eq!(get.stdout, b"s3cret");
    let retries: Vec<&str> = get.stderr.lines().collect();
    assert_eq!(retries.len(), 2, "{}", get.stderr);
    for (n, line) in retries.iter().enumerate() {
        assert!(
            line.starts_with("warning: get secret on https://127.0.0.1:")
                && line.contains(": Key Vault answered HTTP 503; retrying in ")
                && line.ends_with(&format!("(retry {} of 8)", n + 1)),
            "{line}"
        );
    }
    assert!(!get.stderr.contains("s3cret"));
}
