//! The start-up flow of a service that consumes vaultref: its configuration holds `secret:`
//! references and a `fernet:` value copied from OpenMetadata's database; it finds the vault
//! with the `env` loader, resolves every reference, refreshes after a rotation, and reads the
//! Fernet value with the server's key. Exits non-zero when any step does not hold.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use vaultref_core::{
    ConsumerVault, Environment, KeyVaultBackend, LoaderKind, Resolver, ResolverOptions,
};
use vaultref_emulator::{Emulator, EmulatorConfig};
use vaultref_fernet::{Key, KeyRing};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;
    emulator.set_secret("svc-db-password", "first");

    let ca = emulator.ca_cert_path().ok_or("the emulator serves TLS")?;
    let env = Environment::from_pairs([
        ("AZURE_KEY_VAULT_URL", emulator.vault_url().to_string()),
        ("AZURE_TENANT_ID", emulator.tenant_id().to_owned()),
        ("AZURE_CLIENT_ID", emulator.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", emulator.client_secret().to_owned()),
        ("AZURE_AUTHORITY_HOST", emulator.authority_host().to_string()),
        ("IDENTITY_ENDPOINT", emulator.identity_endpoint().to_string()),
        ("IDENTITY_HEADER", emulator.identity_header().to_owned()),
        ("SSL_CERT_FILE", ca.display().to_string()),
    ]);
    let vault = ConsumerVault::load(LoaderKind::Env, &env, None)?;
    let backend = Arc::new(KeyVaultBackend::from_consumer(&vault, &env)?);
    let mut options = ResolverOptions::default();
    options.ttl_seconds = 0;
    let resolver = Resolver::new(backend, options);

    let config = json!({"db": {"user": "svc", "password": "secret:svc-db-password"}});
    let mut resolved = config.clone();
    let report = resolver.resolve_references(&mut resolved).await?;
    check(report.resolved == 1, "one reference resolved")?;
    check(resolved["db"]["password"] == "first", "the value at start-up")?;

    emulator.set_secret("svc-db-password", "second");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut refreshed = config.clone();
    resolver.resolve_references(&mut refreshed).await?;
    check(refreshed["db"]["password"] == "second", "the rotated value")?;

    let keys = KeyRing::from(Key::generate());
    let stored = keys.encrypt_if_not_tokenized("secret:svc-db-password");
    check(
        keys.decrypt_if_tokenized(&stored)?.as_str() == "secret:svc-db-password",
        "a fernet: value read back",
    )?;
    let missing = resolver.secret_value("no-such-secret").await;
    check(
        missing.is_err_and(|e| e.is_not_found()),
        "a missing secret is an error that says so",
    )?;

    emulator.shutdown().await;
    println!("consumer check: the public API's start-up flow holds");
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("consumer check failed: {what}"))
    }
}
