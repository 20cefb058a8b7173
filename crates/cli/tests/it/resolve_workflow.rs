//! `vaultref resolve workflow.yaml` without `--config`: the workflow's own
//! `workflowConfig.openMetadataServerConfig` decides, as for OpenMetadata's ingestion.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use vaultref_emulator::{EmulatorConfig, Target};

use crate::support::{Run, vaultref_clean};
use crate::vault::{Vault, write};

/// The Key Vault named in the ingestion's settings; the emulator serves it at
/// `https://om-kv.localhost:PORT/`.
const VAULT_NAME: &str = "om-kv";

fn workflow(provider: &str, loader: &str) -> String {
    format!(
        "source:\n  type: mysql\n  serviceName: mysql-test\n  serviceConnection:\n    config:\n      type: Mysql\n      username: etl\n      authType:\n        password: secret:openmetadata-database-mysql-test-authtype-password\n      hostPort: db:3306\nsink:\n  type: metadata-rest\n  config: {{}}\nworkflowConfig:\n  openMetadataServerConfig:\n    hostPort: http://openmetadata:8585/api\n    authProvider: openmetadata\n    securityConfig:\n      jwtToken: secret:openmetadata-bot-ingestion-bot-config-jwttoken\n    secretsManagerProvider: {provider}\n    secretsManagerLoader: {loader}\n"
    )
}

/// `workflow(provider, loader)` written to `file` in the vault's directory.
fn workflow_file(vault: &Vault, file: &str, provider: &str, loader: &str) -> PathBuf {
    write(vault.dir.path(), file, &workflow(provider, loader))
}

/// A TLS emulator serving the named vault, which holds the workflow's two secrets.
fn start() -> Vault {
    let vault = Vault::start_with(EmulatorConfig {
        vaults: vec![VAULT_NAME.to_owned()],
        ..EmulatorConfig::default()
    });
    let emu = &vault.emulator;
    let named = emu.vault(VAULT_NAME);
    named.set_secret(
        "openmetadata-database-mysql-test-authtype-password",
        "db-s3cret",
    );
    named.set_secret("openmetadata-bot-ingestion-bot-config-jwttoken", "eyJ.bot");
    vault
}

/// What every run gets: the emulator's CA and Entra host, the DNS suffix that places the named
/// vault on the emulator (vaultref's extension), and IMDS pointed at the emulator.
fn base_env(vault: &Vault) -> Vec<(String, String)> {
    let emu = &vault.emulator;
    vec![
        (
            "SSL_CERT_FILE".into(),
            emu.ca_cert_path().unwrap().display().to_string(),
        ),
        (
            "AZURE_AUTHORITY_HOST".into(),
            emu.authority_host().to_string(),
        ),
        (
            "VAULTREF_KEY_VAULT_DNS_SUFFIX".into(),
            format!("localhost:{}", emu.port()),
        ),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            emu.imds_endpoint().to_string(),
        ),
    ]
}

fn resolve(env: &[(String, String)], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut full = vec!["resolve"];
    full.extend_from_slice(args);
    vaultref_clean(&full, &env, b"")
}

fn assert_resolved(run: &Run) {
    let out = run.ok_text();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap();
    let password = &doc["source"]["serviceConnection"]["config"]["authType"]["password"];
    assert_eq!(password.as_str(), Some("db-s3cret"), "{out}");
    let token = &doc["workflowConfig"]["openMetadataServerConfig"]["securityConfig"]["jwtToken"];
    assert_eq!(token.as_str(), Some("eyJ.bot"), "{out}");
}

/// Every vault request went to the named vault, and there were some.
fn assert_named_vault_used(vault: &Vault) {
    let requests = vault.emulator.requests_to(Target::Vault);
    assert!(!requests.is_empty());
    let host = format!("{VAULT_NAME}.localhost:{}", vault.emulator.port());
    assert!(
        requests.iter().all(|r| r.host == host),
        "{:?}",
        requests.iter().map(|r| &r.host).collect::<Vec<_>>()
    );
}

#[test]
fn the_env_loader_needs_only_azure_variables_and_the_vault_name() {
    let vault = start();
    let emu = &vault.emulator;
    let file = workflow_file(&vault, "workflow.yaml", "azure-kv", "env");
    let mut env = base_env(&vault);
    env.extend([
        ("AZURE_KEY_VAULT_NAME".into(), VAULT_NAME.into()),
        ("AZURE_TENANT_ID".into(), emu.tenant_id().into()),
        ("AZURE_CLIENT_ID".into(), emu.client_id().into()),
        ("AZURE_CLIENT_SECRET".into(), emu.client_secret().into()),
    ]);
    assert_resolved(&resolve(&env, &[file.to_str().unwrap()]));
    assert_named_vault_used(&vault);

    // Without the vault name, the ingestion's own complaint, and what to set.
    env.retain(|(k, _)| k != "AZURE_KEY_VAULT_NAME");
    let run = resolve(&env, &[file.to_str().unwrap()]);
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("AZURE_KEY_VAULT_NAME"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_airflow_loader_reads_airflow_cfg() {
    let vault = start();
    let emu = &vault.emulator;
    let file = write(vault.dir.path(), "workflow.json", &{
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&workflow("managed-azure-kv", "airflow")).unwrap();
        serde_json::to_string(&doc).unwrap()
    });
    let home = vault.dir.path().join("airflow");
    std::fs::create_dir_all(&home).unwrap();
    write(
        &home,
        "airflow.cfg",
        &format!(
            "[core]\ndags_folder = /opt/airflow/dags\n\n[openmetadata_secrets_manager]\nazure_key_vault_name = {VAULT_NAME}\nazure_tenant_id = {}\nazure_client_id = {}\nazure_client_secret = {}\n",
            emu.tenant_id(),
            emu.client_id(),
            emu.client_secret()
        ),
    );
    let mut env = base_env(&vault);
    env.push(("AIRFLOW_HOME".into(), home.display().to_string()));
    let run = resolve(&env, &[file.to_str().unwrap()]);
    // JSON in, JSON out.
    let doc: serde_json::Value = serde_json::from_str(&run.ok_text()).unwrap();
    assert_eq!(
        doc["source"]["serviceConnection"]["config"]["authType"]["password"],
        "db-s3cret"
    );
    assert_eq!(
        doc["workflowConfig"]["openMetadataServerConfig"]["securityConfig"]["jwtToken"],
        "eyJ.bot"
    );
    assert_named_vault_used(&vault);
}

#[test]
fn a_configuration_wins_and_a_disagreement_is_a_warning() {
    let vault = start();
    let emu = &vault.emulator;
    // The workflow says env; the configuration names the vault directly.
    let file = workflow_file(&vault, "workflow.yaml", "azure-kv", "env");
    let config = write(
        vault.dir.path(),
        "consumer.yaml",
        &format!(
            "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\nsecretsManagerConfiguration:\n  secretsManager: azure-kv\n  parameters:\n    vaultUrl: {}\n    tenantId: {}\n    clientId: {}\n    clientSecret: {}\n    authorityHost: {}\n",
            emu.vault_url_for(VAULT_NAME),
            emu.tenant_id(),
            emu.client_id(),
            emu.client_secret(),
            emu.authority_host()
        ),
    );
    let run = resolve(
        &base_env(&vault),
        &["--config", config.to_str().unwrap(), file.to_str().unwrap()],
    );
    assert_resolved(&run);
    assert!(
        run.stderr.contains(
            "warning: the workflow's secretsManagerLoader is env, the configuration's is noop"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn the_db_provider_passes_names_on_and_other_files_need_a_configuration() {
    let vault = start();
    let file = workflow_file(&vault, "workflow.yaml", "db", "noop");
    let run = resolve(&base_env(&vault), &[file.to_str().unwrap()]);
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&run.ok_text()).unwrap();
    assert_eq!(
        doc["source"]["serviceConnection"]["config"]["authType"]["password"].as_str(),
        Some("openmetadata-database-mysql-test-authtype-password")
    );
    assert!(
        run.stderr
            .contains("2 reference(s) replaced by their names"),
        "{}",
        run.stderr
    );
    assert!(vault.emulator.requests_to(Target::Vault).is_empty());

    let plain = write(vault.dir.path(), "service.yaml", "password: secret:x\n");
    let run = resolve(&base_env(&vault), &[plain.to_str().unwrap()]);
    run.assert_one_line_failure();
    assert!(run.stderr.contains("give --config FILE"), "{}", run.stderr);

    let aws = workflow_file(&vault, "aws.yaml", "aws", "env");
    let run = resolve(&base_env(&vault), &[aws.to_str().unwrap()]);
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("secretsManagerProvider is `aws`"),
        "{}",
        run.stderr
    );
}
