//! What the crates' tests share besides databases: the Fernet key, the emulator with TLS, the
//! environment that points a configuration at it, its vault request log, and the entity
//! corpus (`crates/testkit/data/entities/`).

use serde_json::Value;
use vaultref_emulator::{Emulator, EmulatorConfig, Target};

/// The Fernet key of the tests' configurations (OpenMetadata's documented example form).
pub const FERNET_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

/// An emulator on `127.0.0.1:0` with TLS on, as Key Vault and Entra ID are.
///
/// # Panics
/// When the emulator cannot start (a broken test machine).
pub async fn tls_emulator() -> Emulator {
    tls_emulator_with(EmulatorConfig::default()).await
}

/// An emulator started with `config` (its faults, vaults, apps, ...), TLS forced on.
///
/// # Panics
/// When the emulator cannot start (a broken test machine or a `config` it refuses).
pub async fn tls_emulator_with(config: EmulatorConfig) -> Emulator {
    Emulator::start(EmulatorConfig {
        tls: true,
        ..config
    })
    .await
    .expect("the emulator starts with TLS")
}

/// The variables a deployment against `emu` would have, signing in as `client_id` with
/// `client_secret`: `FERNET_KEY`, `VAULT_URL`, `AUTHORITY_HOST`, `CA_CERT` (the emulator's CA
/// file) and OpenMetadata's `OM_SM_TENANT_ID`, `OM_SM_CLIENT_ID`, `OM_SM_CLIENT_SECRET`. A
/// crate's tests wrap them in their own environment type; configurations read them as
/// `${VAULT_URL}` and so on.
///
/// # Panics
/// When `emu` does not serve TLS (see [`tls_emulator`]).
#[must_use]
pub fn deployment_variables(
    emu: &Emulator,
    client_id: &str,
    client_secret: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("FERNET_KEY", FERNET_KEY.to_owned()),
        ("VAULT_URL", emu.vault_url().to_string()),
        ("AUTHORITY_HOST", emu.authority_host().to_string()),
        (
            "CA_CERT",
            emu.ca_cert_path()
                .expect("the emulator serves TLS")
                .to_string_lossy()
                .into_owned(),
        ),
        ("OM_SM_TENANT_ID", emu.tenant_id().to_owned()),
        ("OM_SM_CLIENT_ID", client_id.to_owned()),
        ("OM_SM_CLIENT_SECRET", client_secret.to_owned()),
    ]
}

/// The vault requests `emu` received with `method`, as `(path, status)`, in order.
#[must_use]
pub fn vault_calls(emu: &Emulator, method: &str) -> Vec<(String, u16)> {
    emu.requests_to(Target::Vault)
        .iter()
        .filter(|r| r.method == method)
        .map(|r| (r.path.clone(), r.status))
        .collect()
}

/// The secret names `emu`'s vaults were asked for with a token (authenticated GETs of
/// `/secrets/{name}/`), in order: what a reader cost the vault, challenge probes left out.
#[must_use]
pub fn secret_reads(emu: &Emulator) -> Vec<String> {
    emu.requests_to(Target::Vault)
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/secrets/") && r.has_authorization())
        .map(|r| {
            r.path
                .trim_start_matches("/secrets/")
                .trim_end_matches('/')
                .to_owned()
        })
        .collect()
}

/// An entity of the corpus (`crates/testkit/data/entities/FILE`), as OpenMetadata stores
/// it: `mysql-service.json`, `bot-user.json`, `dbt-pipeline.json`,
/// `test-connection-workflow.json`.
///
/// # Panics
/// When the file is missing or is not JSON.
#[must_use]
pub fn entity(file: &str) -> Value {
    let path = format!("{}/data/entities/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
