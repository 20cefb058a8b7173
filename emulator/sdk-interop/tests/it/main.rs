//! The official Azure Rust SDK crates against the emulator over TLS, through the
//! `vaultref-sdk-interop` binary (the SDK reads its settings from the process environment).

// Helpers outside #[test] functions panic on setup failures, and print the child's output.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::process::Command;
use std::time::Duration;

use vaultref_emulator::{Emulator, EmulatorConfig, Identity, Permissions, Target};

fn run(mode: &str, env: &[(&str, String)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vaultref-sdk-interop"));
    command.arg(mode);
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_")
            || name.starts_with("IDENTITY_")
            || name.starts_with("MSI_")
            || name.starts_with("EMU_")
            || name.to_ascii_lowercase().ends_with("_proxy")
        {
            command.env_remove(name);
        }
    }
    command.env("NO_PROXY", "*");
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let output = command.output().expect("the interop binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("ALL PASSED"),
        "rust sdk {mode} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_runs_every_secret_operation_with_client_secret_workload_and_app_service_identity()
{
    let emu = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emu.add_app(
        Identity::app("reader", "reader-secret"),
        Permissions::read_only(),
    );
    emu.set_secret("seeded", "seeded-value");
    emu.set_token_lifetime(Duration::ZERO);
    let expired = emu
        .issue_access_token(emu.client_id(), emu.vault_resource())
        .unwrap();
    emu.set_token_lifetime(Duration::from_secs(3599));
    let other_audience = emu
        .issue_access_token(emu.client_id(), "https://storage.azure.com")
        .unwrap();

    let authority = emu
        .authority_host()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let common = [
        (
            "SSL_CERT_FILE",
            emu.ca_cert_path().unwrap().display().to_string(),
        ),
        ("VAULT_URL", emu.vault_url().to_string()),
    ];
    let modes: [(&str, Vec<(&str, String)>); 3] = [
        (
            "client-secret",
            vec![
                ("AZURE_TENANT_ID", emu.tenant_id().to_owned()),
                ("AZURE_CLIENT_ID", emu.client_id().to_owned()),
                ("AZURE_CLIENT_SECRET", emu.client_secret().to_owned()),
                ("AZURE_AUTHORITY_HOST", authority.clone()),
                ("EMU_READER_ID", "reader".to_owned()),
                ("EMU_READER_SECRET", "reader-secret".to_owned()),
                ("EMU_EXPIRED_TOKEN", expired),
                ("EMU_OTHER_AUDIENCE_TOKEN", other_audience),
            ],
        ),
        (
            "workload",
            vec![
                ("AZURE_TENANT_ID", emu.tenant_id().to_owned()),
                ("AZURE_CLIENT_ID", emu.workload_client_id().to_owned()),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    emu.federated_token_file().display().to_string(),
                ),
                ("AZURE_AUTHORITY_HOST", authority.clone()),
            ],
        ),
        (
            "mi-appservice",
            vec![
                // A named vault: the SDK's challenge-resource verification stays on.
                ("VAULT_URL", emu.vault_url_for("rustvault").to_string()),
                ("IDENTITY_ENDPOINT", emu.identity_endpoint().to_string()),
                ("IDENTITY_HEADER", emu.identity_header().to_owned()),
            ],
        ),
    ];
    for (mode, vars) in modes {
        emu.clear_requests();
        let env: Vec<(&str, String)> = common.iter().cloned().chain(vars).collect();
        let mode_name = mode.to_owned();
        let stdout = tokio::task::spawn_blocking(move || run(&mode_name, &env))
            .await
            .unwrap();
        eprintln!("--- {mode}\n{stdout}");
        let requests = emu.requests();
        let vault: Vec<_> = requests
            .iter()
            .filter(|r| r.target == Target::Vault)
            .collect();
        assert!(vault.iter().all(|r| r.tls), "{mode}: vault traffic is TLS");
        assert!(
            vault.iter().any(|r| r
                .header("user-agent")
                .is_some_and(|ua| ua.starts_with("azsdk-rust-security_keyvault_secrets/"))),
            "{mode}: the Rust Key Vault SDK talked to the vault"
        );
        assert!(
            vault
                .iter()
                .any(|r| r.status == 401 && !r.has_authorization()),
            "{mode}: challenge"
        );
        let expected_host = if mode == "mi-appservice" {
            format!("rustvault.localhost:{}", emu.port())
        } else {
            format!("127.0.0.1:{}", emu.port())
        };
        assert!(
            vault.iter().all(|r| r.host == expected_host),
            "{mode}: vault host"
        );
        let token_source = match mode {
            "mi-appservice" => requests
                .iter()
                .any(|r| r.path == "/msi/token" && r.status == 200),
            "workload" => requests
                .iter()
                .any(|r| r.form_field("client_assertion").is_some() && r.status == 200),
            _ => requests
                .iter()
                .any(|r| r.form_field("client_secret").is_some() && r.status == 200),
        };
        assert!(
            token_source,
            "{mode}: token came from the expected endpoint"
        );
    }
}
