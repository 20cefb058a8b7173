//! The Key Vault client with a managed identity, as a service on Azure App Service, Functions
//! or a VM uses it, run against an emulator this example starts itself.
//!
//! ```text
//! cargo run -p vaultref-keyvault --example managed_identity
//! ```
//!
//! On Azure nothing here is set by hand: App Service sets `IDENTITY_ENDPOINT` and
//! `IDENTITY_HEADER`, and a VM answers at IMDS. The example hands the emulator's endpoint to the
//! credential through an injected environment ([`Env::from_vars`]), never through the process
//! environment, so nothing is sent to Azure's real endpoints.

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;

use vaultref_emulator::{Emulator, EmulatorConfig};
use vaultref_entra::{
    CredentialOptions, Env, HttpClientOptions, ManagedIdentityCredential, ManagedIdentityOptions,
    UserAssignedId,
};
use vaultref_keyvault::{SecretClient, SecretClientOptions, SecretName, SetSecretOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;

    // What App Service puts in a process's environment, pointing at the emulator.
    let env = Env::from_vars([
        (
            "IDENTITY_ENDPOINT",
            emulator.identity_endpoint().to_string(),
        ),
        ("IDENTITY_HEADER", emulator.identity_header().to_owned()),
    ]);
    // The emulator's certificate is signed by its own CA; a real vault needs no CA file.
    let http = HttpClientOptions {
        ca_cert_file: emulator.ca_cert_path().map(Into::into),
        ..HttpClientOptions::default()
    };

    let credential = ManagedIdentityCredential::new(
        ManagedIdentityOptions {
            user_assigned_id: Some(UserAssignedId::ClientId(
                emulator.managed_identity_client_id().to_owned(),
            )),
            ..ManagedIdentityOptions::default()
        },
        CredentialOptions {
            env: env.clone(),
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

    let name = SecretName::new("db-password")?;
    client
        .set_secret(&name, &"s3cret".into(), &SetSecretOptions::default())
        .await?;
    let secret = client.get_secret(&name).await?;
    assert_eq!(secret.value.expose(), "s3cret");
    println!(
        "read {} ({} characters) with a managed identity",
        name.as_str(),
        secret.value.len()
    );

    emulator.shutdown().await;
    Ok(())
}
