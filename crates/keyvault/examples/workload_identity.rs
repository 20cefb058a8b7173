//! The Key Vault client with a federated workload-identity token, as a pod on AKS with Azure
//! Workload Identity uses it, run against an emulator this example starts itself.
//!
//! ```text
//! cargo run -p vaultref-keyvault --example workload_identity
//! ```
//!
//! On AKS the webhook sets `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`
//! and `AZURE_AUTHORITY_HOST`; here the emulator plays Entra ID and writes the token file, and
//! the settings are given explicitly instead of through the process environment.

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;

use vaultref_emulator::{Emulator, EmulatorConfig};
use vaultref_entra::{
    CredentialOptions, Env, HttpClientOptions, WorkloadIdentityCredential, WorkloadIdentityOptions,
};
use vaultref_keyvault::{SecretClient, SecretClientOptions, SecretName, SetSecretOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;
    let http = HttpClientOptions {
        ca_cert_file: emulator.ca_cert_path().map(Into::into),
        ..HttpClientOptions::default()
    };
    // An empty environment: every setting below is explicit.
    let env = Env::from_vars(std::iter::empty::<(String, String)>());

    let credential = WorkloadIdentityCredential::new(
        WorkloadIdentityOptions {
            tenant_id: Some(emulator.tenant_id().to_owned()),
            client_id: Some(emulator.workload_client_id().to_owned()),
            token_file: Some(emulator.federated_token_file().to_owned()),
            ..WorkloadIdentityOptions::default()
        },
        CredentialOptions {
            env: env.clone(),
            authority_host: Some(emulator.authority_host()),
            http: http.clone(),
            ..CredentialOptions::default()
        },
    )?;
    let client = SecretClient::new(
        emulator.vault_url().as_str(),
        Arc::new(credential),
        SecretClientOptions {
            env,
            http,
            // The emulator's vault is at 127.0.0.1 and its challenge names `localhost`; against
            // a real vault leave this check on.
            verify_challenge_resource: false,
            ..SecretClientOptions::default()
        },
    )?;

    let name = SecretName::new("api-token")?;
    client
        .set_secret(&name, &"t0ken".into(), &SetSecretOptions::default())
        .await?;
    let secret = client.get_secret(&name).await?;
    assert_eq!(secret.value.expose(), "t0ken");
    println!(
        "read {} ({} characters) with a workload identity",
        name.as_str(),
        secret.value.len()
    );

    emulator.shutdown().await;
    Ok(())
}
