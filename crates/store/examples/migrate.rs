//! migrate-secrets driven from Rust: services whose passwords sit in an OpenMetadata-shaped
//! database (here SQLite, written in `db` mode: Fernet-encrypted plaintext) are moved into
//! Key Vault, and each row is left with a Fernet token of its `secret:` reference.
//!
//! ```text
//! cargo run -p vaultref-store --example migrate
//! ```
//!
//! The example starts the Key Vault emulator itself. Against a real deployment, connect with
//! [`Store::connect_database`] from the server's `database` block and build the manager from its
//! configuration (`SecretsManager::from_config`).

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;

use serde_json::json;
use vaultref_core::{KeyVaultBackend, ProviderKind, SecretBackend, SecretsManager};
use vaultref_emulator::{Emulator, EmulatorConfig};
use vaultref_fernet::{Key, KeyRing};
use vaultref_keyvault::{ConnectOptions, SecretClient, VaultCredential};
use vaultref_store::{EntityType, MigrateOptions, NoProgress, Store, migrate_secrets};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;
    let keys = KeyRing::from(Key::generate());

    // The database as OpenMetadata leaves it in `db` mode.
    let store = Store::connect("sqlite::memory:").await?;
    store.migrate().await?;
    let db_mode =
        SecretsManager::builder(ProviderKind::Db, keys.clone(), "openmetadata").build()?;
    for (name, password) in [
        ("orders-mysql", "pw-orders"),
        ("billing-mysql", "pw-billing"),
    ] {
        let mut service = json!({"name": name, "serviceType": "Mysql",
            "connection": {"config": {"type": "Mysql", "username": "om",
                "authType": {"password": password}}}});
        db_mode
            .store_entity(EntityType::DatabaseService, &mut service)
            .await?;
        store.upsert(EntityType::DatabaseService, service).await?;
    }

    // The vault, reached with a service principal (the emulator's default app registration).
    let client = SecretClient::connect(
        &emulator.vault_url(),
        &VaultCredential::ClientSecret {
            tenant_id: emulator.tenant_id().to_owned(),
            client_id: emulator.client_id().to_owned(),
            client_secret: emulator.client_secret().into(),
        },
        ConnectOptions {
            authority_host: Some(emulator.authority_host()),
            // The emulator's own CA; a real vault needs none.
            ca_cert_file: emulator.ca_cert_path().map(Into::into),
            ..ConnectOptions::default()
        },
    )?;
    let vault: Arc<dyn SecretBackend> = Arc::new(KeyVaultBackend::new(client));
    let managed = SecretsManager::builder(
        ProviderKind::ManagedAzureKeyVault,
        keys.clone(),
        "openmetadata",
    )
    .backend(vault)
    .build()?;

    let report = migrate_secrets(&store, &managed, &MigrateOptions::default(), &NoProgress).await?;
    println!(
        "migrate-secrets: {} entities updated, success: {}",
        report.updated(),
        report.is_success()
    );
    for name in emulator.secret_names() {
        println!("in the vault: {name}");
    }
    let row = store
        .get(EntityType::DatabaseService, "orders-mysql")
        .await?
        .ok_or("the service row is gone")?;
    let stored = row.entity["connection"]["config"]["authType"]["password"]
        .as_str()
        .unwrap_or_default();
    // The row holds a Fernet token of the reference, never the password.
    println!(
        "the row now holds {}",
        keys.decrypt_if_tokenized(stored)?.as_str()
    );

    emulator.shutdown().await;
    Ok(())
}
