//! `vaultref check`: every broken section reported with its key, then a token and one call to
//! the TLS emulator, with what to fix when the credential, the trust or the permission is wrong.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use vaultref_emulator::Permissions;

use crate::support::vaultref;
use crate::vault::{Identity, KEY, Vault, write};

fn check(config: &std::path::Path) -> crate::support::Run {
    vaultref(&["check", "--config", config.to_str().unwrap()], &[], b"")
}

fn stdout(run: &crate::support::Run) -> String {
    String::from_utf8(run.stdout.clone()).unwrap()
}

/// The stdout of a `check` that must exit 1, and its first `problem:` line.
fn failed_check(run: &crate::support::Run) -> (String, String) {
    let out = stdout(run);
    assert_eq!(run.code, Some(1), "{out}");
    let problem = out
        .lines()
        .find(|l| l.starts_with("problem:"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    (out, problem)
}

#[test]
fn a_working_configuration_gets_a_token_and_lists_the_vault() {
    let vault = Vault::start();
    let config = vault.config("ok.yaml", &vault.app());
    let run = check(&config);
    let out = stdout(&run);
    assert_eq!(run.code, Some(0), "stdout: {out}\nstderr: {}", run.stderr);
    assert!(out.contains("provider managed-azure-kv"), "{out}");
    assert!(
        out.contains(&format!(
            "ok: got a token from Entra ID and listed secrets of {}",
            vault.emulator.vault_url()
        )),
        "{out}"
    );
    assert!(!out.contains("problem:"), "{out}");
    assert!(!out.contains(vault.emulator.client_secret()), "{out}");
    // The call really reached the vault with a token.
    let vault_calls: Vec<_> = vault
        .emulator
        .requests_to(vaultref_emulator::Target::Vault)
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert_eq!(vault_calls.len(), 1, "{vault_calls:?}");
}

#[test]
fn every_broken_section_is_reported_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "broken.yaml",
        "clusterName: ${OPENMETADATA_CLUSTER_NAME:-\"\"}\n\
             fernetConfiguration:\n  fernetKey: c2hvcnQ=\n\
             secretsManagerConfiguration:\n  secretsManager: vault9\n\
             pipelineServiceClientConfiguration:\n  secretsManagerLoader: vault\n\
             database:\n  url: oracle://db/om\n\
             server:\n  port: ${VAULTREF_TEST_UNSET_PORT}\n",
    );
    let run = check(&config);
    let out = stdout(&run);
    assert_eq!(run.code, Some(1), "{out}");
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("problem:")).collect();
    assert_eq!(problems.len(), 5, "{out}");
    for (key, hint) in [
        ("clusterName", "set OPENMETADATA_CLUSTER_NAME"),
        ("fernetConfiguration.fernetKey", "32 bytes"),
        (
            "secretsManagerConfiguration.secretsManager",
            "not a secrets manager",
        ),
        (
            "pipelineServiceClientConfiguration.secretsManagerLoader",
            "noop, env or airflow",
        ),
        ("database.url", "not a supported database URL"),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("problem: {key} ")) && p.contains(hint)),
            "no problem for {key} ({hint}): {out}"
        );
    }
    assert!(
        out.contains("line 11: ${VAULTREF_TEST_UNSET_PORT} is not set"),
        "{out}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("5 problem(s) in") && run.stderr.contains("broken.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_db_configuration_has_no_vault_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "db.yaml",
        &format!(
            "clusterName: ${{VAULTREF_TEST_CLUSTER:-openmetadata}}\nfernetConfiguration:\n  fernetKey: {KEY}\n\
             secretsManagerConfiguration:\n  secretsManager: db\n"
        ),
    );
    let run = check(&config);
    let out = stdout(&run);
    assert_eq!(run.code, Some(0), "{out}{}", run.stderr);
    assert!(out.contains("provider db"), "{out}");
    assert!(out.contains("no Key Vault to connect to"), "{out}");
    assert!(!out.contains("warning:"), "{out}");
}

#[test]
fn a_wrong_client_secret_is_a_token_problem() {
    let vault = Vault::start();
    let client_id = vault.emulator.client_id().to_owned();
    let config = vault.config(
        "wrong.yaml",
        &Identity {
            client_id: &client_id,
            client_secret: "not-the-secret-0123",
        },
    );
    let run = check(&config);
    let (out, problem) = failed_check(&run);
    assert!(problem.contains("token"), "{problem}");
    assert!(problem.contains("AADSTS7000215"), "{problem}");
    assert!(!out.contains("not-the-secret-0123"), "{out}");
    assert!(!run.stderr.contains("not-the-secret-0123"));
}

#[test]
fn an_untrusted_certificate_points_at_the_ca_file() {
    let vault = Vault::start();
    let config = vault.config_with("untrusted.yaml", &vault.app(), false, "");
    let run = vaultref(
        &["check", "--config", config.to_str().unwrap()],
        // Nothing from the test's own environment may supply the CA.
        &[("SSL_CERT_FILE", "")],
        b"",
    );
    let (_, problem) = failed_check(&run);
    assert!(
        problem.contains("could not reach")
            && problem.contains("secretsManagerConfiguration.parameters.caCertFile"),
        "{problem}"
    );
}

#[test]
fn an_identity_without_permissions_is_told_which_role_it_needs() {
    let vault = Vault::start();
    let config = vault.config_for_app(
        "denied.yaml",
        "no-access-id",
        "no-access-secret-42",
        Permissions::none(),
    );
    let run = check(&config);
    let (out, problem) = failed_check(&run);
    assert!(problem.contains("forbidden"), "{problem}");
    assert!(!out.contains("no-access-secret-42"), "{out}");
}
