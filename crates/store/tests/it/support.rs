//! Fresh databases for each test, and the emulator-backed secrets manager.

use std::sync::Arc;

use serde_json::Value;
use vaultref_core::{Catalog, Config, Environment, KeyVaultBackend, SecretBackend, SecretsManager};
use vaultref_emulator::{Emulator, EmulatorConfig, Target};
use vaultref_store::{MigrateOptions, MigrationReport, NoProgress, Store, migrate_secrets};
use vaultref_testkit::TestDatabase;

pub(crate) const FERNET_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

/// A database made for one test, with a migrated store on it: dropped by
/// [`TestDb::drop_database`] (or, after a panic, when dropped).
pub(crate) struct TestDb {
    pub(crate) label: &'static str,
    pub(crate) store: Store,
    /// The database's URL (with the credentials of the test server).
    pub(crate) url: String,
    database: TestDatabase,
}

impl TestDb {
    /// Closes the store and drops the database.
    pub(crate) async fn drop_database(self) {
        self.store.close().await;
        self.database.drop_database().await;
    }
}

/// A fresh, migrated database of every engine the test kit provides: SQLite, and PostgreSQL and
/// MariaDB/MySQL from `VAULTREF_TEST_*_URL` or containers (see vaultref-testkit).
pub(crate) async fn databases() -> Vec<TestDb> {
    let mut dbs = Vec::new();
    for database in vaultref_testkit::databases().await {
        let store = Store::connect(database.url()).await.unwrap();
        store.migrate().await.unwrap();
        dbs.push(TestDb {
            label: database.label(),
            store,
            url: database.url().to_owned(),
            database,
        });
    }
    dbs
}

pub(crate) fn entity(file: &str) -> Value {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Managed mode against the emulator, as a user configures it.
const CONFIG: &str = "\
clusterName: openmetadata
fernetConfiguration:
  fernetKey: ${FERNET_KEY}
secretsManagerConfiguration:
  secretsManager: managed-azure-kv
  parameters:
    vaultUrl: ${VAULT_URL}
    tenantId: ${TENANT_ID}
    clientId: ${CLIENT_ID}
    clientSecret: ${CLIENT_SECRET}
    authorityHost: ${AUTHORITY_HOST}
    caCertFile: ${CA_CERT}
    rateLimitPermitsPerSecond: 1000
";

pub(crate) async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// A fresh managed-mode manager (no claims yet) against `emu`, with `fernet_key`.
pub(crate) fn manager(emu: &Emulator, fernet_key: &str) -> SecretsManager {
    let env = Environment::from_pairs([
        ("FERNET_KEY", fernet_key.to_owned()),
        ("VAULT_URL", emu.vault_url().to_string()),
        ("AUTHORITY_HOST", emu.authority_host().to_string()),
        (
            "CA_CERT",
            emu.ca_cert_path().unwrap().to_string_lossy().into_owned(),
        ),
        ("TENANT_ID", emu.tenant_id().to_owned()),
        ("CLIENT_ID", emu.client_id().to_owned()),
        ("CLIENT_SECRET", emu.client_secret().to_owned()),
    ]);
    let config = Config::parse(CONFIG, &env).unwrap();
    let kv = config.secrets_manager.key_vault.as_ref().unwrap();
    let backend: Arc<dyn SecretBackend> = Arc::new(KeyVaultBackend::from_config(kv, &env).unwrap());
    SecretsManager::from_config(&config, Some(backend), Arc::new(Catalog::builtin())).unwrap()
}

/// `migrate_secrets` over `store` with a fresh managed-mode manager against `emu` and the
/// default options.
pub(crate) async fn migrate_managed(store: &Store, emu: &Emulator) -> MigrationReport {
    migrate_secrets(
        store,
        &manager(emu, FERNET_KEY),
        &MigrateOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap()
}

/// The vault requests with `method`, as `(path, status)`.
pub(crate) fn vault_calls(emu: &Emulator, method: &str) -> Vec<(String, u16)> {
    emu.requests_to(Target::Vault)
        .iter()
        .filter(|r| r.method == method)
        .map(|r| (r.path.clone(), r.status))
        .collect()
}
