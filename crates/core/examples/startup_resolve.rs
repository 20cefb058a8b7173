//! A service that keeps its credentials in Key Vault: its configuration file holds
//! `secret:<name>` references, resolved at start-up with the `env` loader (the vault from
//! `AZURE_KEY_VAULT_NAME` / `AZURE_KEY_VAULT_URL`, credentials from the default chain) and
//! refreshed in the background, so a rotated password reaches the service without a restart.
//!
//! ```text
//! cargo run -p vaultref-core --example startup_resolve
//! ```
//!
//! The example starts the emulator itself and gives the loader an injected environment that
//! points every Azure endpoint (Entra ID, managed identity, the vault) at it; nothing leaves
//! the machine. In a real deployment the environment is the process's
//! (`Environment::process()`), set by the platform.

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::{Arc, RwLock};
use std::time::Duration;

use vaultref_core::{
    ConsumerVault, Environment, KeyVaultBackend, LoaderKind, Resolver, ResolverOptions,
};
use vaultref_emulator::{Emulator, EmulatorConfig};

/// The service's configuration file, as its operators write it.
const CONFIG: &str = "\
database:
  host: db.internal
  user: orders
  password: secret:orders-db-password
payments:
  apiKey: secret:payments-api-key
";

/// How often the background task re-reads the references (the resolver's TTL decides how
/// often that costs a vault read).
const REFRESH_EVERY: Duration = Duration::from_millis(200);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;
    emulator.set_secret("orders-db-password", "first-password");
    emulator.set_secret("payments-api-key", "pk-123");

    // What the platform would set: the vault, a service principal for the default chain's
    // environment link, and the managed-identity endpoint (so that no link of the chain can
    // reach Azure's real one).
    let env = Environment::from_pairs([
        ("AZURE_KEY_VAULT_URL", emulator.vault_url().to_string()),
        ("AZURE_TENANT_ID", emulator.tenant_id().to_owned()),
        ("AZURE_CLIENT_ID", emulator.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", emulator.client_secret().to_owned()),
        (
            "AZURE_AUTHORITY_HOST",
            emulator.authority_host().to_string(),
        ),
        (
            "IDENTITY_ENDPOINT",
            emulator.identity_endpoint().to_string(),
        ),
        ("IDENTITY_HEADER", emulator.identity_header().to_owned()),
        (
            "SSL_CERT_FILE",
            emulator
                .ca_cert_path()
                .expect("the emulator serves TLS")
                .display()
                .to_string(),
        ),
    ]);

    // Start-up: find the vault, resolve every reference, fail before serving if one is missing.
    let vault = ConsumerVault::load(LoaderKind::Env, &env, None)?;
    let backend = Arc::new(KeyVaultBackend::from_consumer(&vault, &env)?);
    let mut options = ResolverOptions::default();
    options.ttl_seconds = 1; // a short TTL for the demonstration; the default is five minutes
    let resolver = Arc::new(Resolver::new(backend, options));
    let config = Arc::new(RwLock::new(resolve(&resolver).await?));
    println!("started: every reference of the configuration resolved");

    // Refresh: re-resolve the file in the background; the service reads the latest config.
    let refresher = {
        let (resolver, config) = (resolver.clone(), config.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_EVERY).await;
                match resolve(&resolver).await {
                    Ok(fresh) => *config.write().expect("not poisoned") = fresh,
                    // Keep serving with the last good configuration; the error names the
                    // reference, never a value.
                    Err(e) => eprintln!("refresh failed, keeping the current configuration: {e}"),
                }
            }
        })
    };

    // The database password is rotated in the vault.
    emulator.set_secret("orders-db-password", "second-password");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let password = current_password(&config);
        if password == "second-password" {
            println!("the rotated password reached the service without a restart");
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the rotated password did not arrive within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    refresher.abort();
    emulator.shutdown().await;
    Ok(())
}

/// The configuration with every reference replaced by its value.
async fn resolve(resolver: &Resolver) -> Result<serde_yaml_ng::Value, vaultref_core::Error> {
    let mut doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(CONFIG).expect("the example's configuration is valid YAML");
    resolver.resolve_yaml_references(&mut doc).await?;
    Ok(doc)
}

fn current_password(config: &RwLock<serde_yaml_ng::Value>) -> String {
    let config = config.read().expect("not poisoned");
    config["database"]["password"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
