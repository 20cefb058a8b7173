//! Python azure-identity's DefaultAzureCredential and ours, given the same environment, pick
//! the same credential (judged by the token request each one sends to the emulator).
//!
//! Needs the interpreter named by `VAULTREF_PYTHON` with `azure-identity`; with `CI` set, a
//! missing interpreter or module fails the test, otherwise it is skipped with a note.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use vaultref_emulator::{Emulator, Identity, Permissions, RecordedRequest, Target};
use vaultref_entra::{DefaultAzureCredential, DefaultAzureCredentialOptions};

use crate::support::{options, tls_emulator, vault_scope, vault_token};

/// Environment variables of one scenario.
type Vars = Vec<(String, String)>;

fn python() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some();
    let Some(python) = std::env::var_os("VAULTREF_PYTHON").map(PathBuf::from) else {
        assert!(
            !in_ci,
            "VAULTREF_PYTHON must name a Python with azure-identity in CI"
        );
        eprintln!("note: VAULTREF_PYTHON is not set; skipping the Python chain comparison");
        return None;
    };
    let ok = Command::new(&python)
        .args(["-c", "import azure.identity"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!in_ci, "{} cannot import azure.identity", python.display());
        eprintln!("note: {} lacks azure-identity; skipping", python.display());
        return None;
    }
    Some(python)
}

/// Which credential sent the token request: `secret`, `workload`, `imds <client_id>`,
/// `app-service`, or `none`.
fn chosen(emu: &Emulator) -> String {
    let token_requests: Vec<RecordedRequest> = emu
        .requests()
        .into_iter()
        .filter(|r| {
            (r.target == Target::Entra && r.method == "POST")
                || (r.target == Target::ManagedIdentity && r.header("metadata").is_some())
        })
        .collect();
    let Some(request) = token_requests.last() else {
        return "none".into();
    };
    if request.target == Target::Entra {
        if request.form_field("client_assertion").is_some() {
            "workload".into()
        } else {
            "secret".into()
        }
    } else if request.path.starts_with("/msi/") {
        "app-service".into()
    } else {
        format!(
            "imds {}",
            request.query_param("client_id").unwrap_or_default()
        )
    }
}

fn run_python(python: &Path, emu: &Emulator, vars: &[(String, String)]) -> String {
    let mut command = Command::new(python);
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python_chain.py"))
        .arg(vault_scope(emu));
    for (name, _) in std::env::vars() {
        let lower = name.to_ascii_lowercase();
        if name.starts_with("AZURE_")
            || name.starts_with("IDENTITY_")
            || name.starts_with("MSI_")
            || lower.ends_with("_proxy")
        {
            command.env_remove(name);
        }
    }
    let ca = emu.ca_cert_path().unwrap();
    command
        .env("NO_PROXY", "*")
        .env("EMU_CA", ca)
        .env("REQUESTS_CA_BUNDLE", ca)
        .env("AZURE_TOKEN_CREDENTIALS", "prod")
        .envs(vars.iter().map(|(k, v)| (k, v)));
    let output = command.output().expect("the Python interpreter runs");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

async fn run_ours(emu: &Emulator, vars: &[(String, String)]) -> String {
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ca = emu.ca_cert_path().unwrap().to_str().unwrap().to_owned();
    all.push(("SSL_CERT_FILE", &ca));
    let cred = DefaultAzureCredential::new(DefaultAzureCredentialOptions::default(), options(&all))
        .unwrap();
    match vault_token(emu, &cred).await {
        Ok(_) => "OK".into(),
        Err(e) => format!("FAILED {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_vaultref_choose_the_same_credential() {
    let Some(python) = python() else { return };
    let emu = tls_emulator().await;
    emu.add_managed_identity(Identity::managed("uami-chain"), Permissions::all());
    let var = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let authority = var(
        "AZURE_AUTHORITY_HOST",
        emu.authority_host().as_str().trim_end_matches('/'),
    );
    let tenant = var("AZURE_TENANT_ID", emu.tenant_id());
    let token_file = var(
        "AZURE_FEDERATED_TOKEN_FILE",
        emu.federated_token_file().to_str().unwrap(),
    );
    let pod = var(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        emu.imds_endpoint().as_str().trim_end_matches('/'),
    );
    let scenarios: Vec<(&str, Vars, &str)> = vec![
        (
            "secret, workload and IMDS all configured",
            vec![
                tenant.clone(),
                var("AZURE_CLIENT_ID", emu.client_id()),
                var("AZURE_CLIENT_SECRET", emu.client_secret()),
                authority.clone(),
                token_file.clone(),
                pod.clone(),
            ],
            "secret",
        ),
        (
            "workload identity and IMDS",
            vec![
                tenant.clone(),
                var("AZURE_CLIENT_ID", emu.workload_client_id()),
                authority.clone(),
                token_file.clone(),
                pod.clone(),
            ],
            "workload",
        ),
        ("IMDS only", vec![pod.clone()], "imds "),
        (
            "IMDS with AZURE_CLIENT_ID naming a user-assigned identity",
            vec![var("AZURE_CLIENT_ID", "uami-chain"), pod.clone()],
            "imds uami-chain",
        ),
        (
            "App Service",
            vec![
                var("IDENTITY_ENDPOINT", emu.identity_endpoint().as_str()),
                var("IDENTITY_HEADER", emu.identity_header()),
            ],
            "app-service",
        ),
    ];
    for (name, vars, expected) in scenarios {
        emu.clear_requests();
        let python_outcome = run_python(&python, &emu, &vars);
        let python_choice = chosen(&emu);
        emu.clear_requests();
        let our_outcome = run_ours(&emu, &vars).await;
        let our_choice = chosen(&emu);
        assert_eq!(
            (python_outcome.as_str(), python_choice.as_str()),
            ("OK", expected),
            "Python, {name}"
        );
        assert_eq!(
            (our_outcome.as_str(), our_choice.as_str()),
            ("OK", expected),
            "vaultref, {name}"
        );
    }
}
