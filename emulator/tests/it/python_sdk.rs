//! The official Python SDKs (azure-identity + azure-keyvault-secrets) against the emulator over
//! TLS, with every credential kind: client secret, workload identity, and managed identity
//! through both the App Service and the IMDS (`AZURE_POD_IDENTITY_AUTHORITY_HOST`) paths.
//!
//! Needs the interpreter named by `VAULTREF_PYTHON` with `azure-identity` and
//! `azure-keyvault-secrets`; with `CI` set, a missing interpreter or module fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vaultref_emulator::{Emulator, EmulatorConfig, Identity, Permissions, Target};

const MODULES: &str = "import azure.identity, azure.keyvault.secrets";

/// The Python interpreter to use, or `None` (outside CI) when it is not available.
pub(crate) fn python() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some();
    let Some(python) = std::env::var_os("VAULTREF_PYTHON").map(PathBuf::from) else {
        assert!(
            !in_ci,
            "VAULTREF_PYTHON must name a Python with the Azure SDKs in CI"
        );
        eprintln!("note: VAULTREF_PYTHON is not set; skipping the Python SDK interop test");
        return None;
    };
    let ok = Command::new(&python)
        .args(["-c", MODULES])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !in_ci,
            "{} cannot import azure.identity and azure.keyvault.secrets",
            python.display()
        );
        eprintln!("note: {} lacks the Azure SDKs; skipping", python.display());
        return None;
    }
    Some(python)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python_sdk.py")
}

fn run(python: &Path, mode: &str, env: &[(String, String)]) -> String {
    let mut command = Command::new(python);
    command.arg(script()).arg(mode);
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
    let output = command.output().expect("the Python interpreter runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("ALL PASSED"),
        "python {mode} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdks_run_every_secret_operation_with_every_credential() {
    let Some(python) = python() else { return };
    let emu = Emulator::start(EmulatorConfig {
        tls: true,
        vaults: vec!["pyvault".into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emu.add_app(
        Identity::app("reader", "reader-secret"),
        Permissions::read_only(),
    );
    emu.add_managed_identity(Identity::managed("uami-python"), Permissions::read_only());
    emu.set_secret("seeded", "seeded-value");
    emu.vault("pyvault").set_secret("seeded", "seeded-value");
    emu.set_token_lifetime(Duration::ZERO);
    let expired = emu
        .issue_access_token(emu.client_id(), emu.vault_resource())
        .unwrap();
    emu.set_token_lifetime(Duration::from_secs(3599));
    let other_audience = emu
        .issue_access_token(emu.client_id(), "https://storage.azure.com")
        .unwrap();

    let named = emu.vault_url_for("pyvault").to_string();
    let authority = emu
        .authority_host()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let ca = emu.ca_cert_path().unwrap().display().to_string();
    let var = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let common = [var("REQUESTS_CA_BUNDLE", &ca)];
    let modes: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "client-secret",
            vec![
                var("VAULT_URL", &named),
                var("AZURE_TENANT_ID", emu.tenant_id()),
                var("AZURE_CLIENT_ID", emu.client_id()),
                var("AZURE_CLIENT_SECRET", emu.client_secret()),
                var("AZURE_AUTHORITY_HOST", &authority),
                var("EMU_READER_ID", "reader"),
                var("EMU_READER_SECRET", "reader-secret"),
                var("EMU_EXPIRED_TOKEN", &expired),
                var("EMU_OTHER_AUDIENCE_TOKEN", &other_audience),
            ],
        ),
        (
            "workload",
            vec![
                // The default vault at 127.0.0.1 (challenge-resource check off).
                var("VAULT_URL", emu.vault_url().as_str()),
                var("AZURE_TENANT_ID", emu.tenant_id()),
                var("AZURE_CLIENT_ID", emu.workload_client_id()),
                var(
                    "AZURE_FEDERATED_TOKEN_FILE",
                    &emu.federated_token_file().display().to_string(),
                ),
                var("AZURE_AUTHORITY_HOST", &authority),
            ],
        ),
        (
            "mi-appservice",
            vec![
                var("VAULT_URL", &named),
                var("IDENTITY_ENDPOINT", emu.identity_endpoint().as_str()),
                var("IDENTITY_HEADER", emu.identity_header()),
            ],
        ),
        (
            "mi-imds",
            vec![
                var("VAULT_URL", &named),
                var(
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                    emu.imds_endpoint().as_str().trim_end_matches('/'),
                ),
                var("EMU_UAMI_CLIENT_ID", "uami-python"),
            ],
        ),
    ];
    for (mode, vars) in modes {
        emu.clear_requests();
        let env: Vec<(String, String)> = common.iter().cloned().chain(vars).collect();
        let python = python.clone();
        let mode_name = mode.to_owned();
        let stdout = tokio::task::spawn_blocking(move || run(&python, &mode_name, &env))
            .await
            .unwrap();
        eprintln!("--- {mode}\n{stdout}");
        let expected: &[&str] = match mode {
            "client-secret" => &[
                "PASS wrong client secret is 401 invalid_client AADSTS7000215",
                "PASS expired token is 401 Unauthorized",
                "PASS token for another audience is 401 AKV10022",
                "PASS reader setting a secret is 403 Forbidden",
            ],
            "mi-imds" => &["PASS user-assigned managed identity by client_id"],
            _ => &[],
        };
        for line in expected {
            assert!(stdout.contains(line), "{mode}: missing `{line}`");
        }
        let requests = emu.requests();
        let vault: Vec<_> = requests
            .iter()
            .filter(|r| r.target == Target::Vault)
            .collect();
        assert!(vault.iter().all(|r| r.tls), "{mode}: vault traffic is TLS");
        assert!(
            vault.iter().any(|r| r
                .header("user-agent")
                .is_some_and(|ua| ua.starts_with("azsdk-python-keyvault-secrets/"))),
            "{mode}: the Python Key Vault SDK talked to the vault"
        );
        assert!(
            vault
                .iter()
                .any(|r| r.status == 401 && !r.has_authorization()),
            "{mode}: challenge"
        );
        let token_source = match mode {
            "mi-appservice" => requests
                .iter()
                .any(|r| r.path == "/msi/token" && r.status == 200),
            "mi-imds" => requests
                .iter()
                .any(|r| r.path == "/metadata/identity/oauth2/token" && r.status == 200),
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
