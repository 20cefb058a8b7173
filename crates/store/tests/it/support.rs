//! Fresh databases for each test, and the emulator-backed secrets manager.

use std::sync::Arc;

use vaultref_core::{Catalog, Config, Environment, KeyVaultBackend, SecretBackend, SecretsManager};
use vaultref_emulator::Emulator;
use vaultref_store::{
    EntityType, MigrateOptions, MigrationReport, NoProgress, Store, StoredEntity, migrate_secrets,
};

pub(crate) use vaultref_testkit::{FERNET_KEY, entity, tls_emulator as emulator, vault_calls};

/// A database made for one test, with a migrated store on it.
pub(crate) struct TestDb {
    pub(crate) label: &'static str,
    pub(crate) store: Store,
    /// The database's URL (with the credentials of the test server).
    pub(crate) url: String,
}

/// Runs `test` once on a fresh, migrated database of every engine the test kit provides
/// (SQLite, and PostgreSQL and MariaDB/MySQL from `VAULTREF_TEST_*_URL` or containers), on
/// vaultref-testkit's [`for_each_database`](vaultref_testkit::for_each_database), which drops
/// each database afterwards.
pub(crate) async fn for_each_store(mut test: impl AsyncFnMut(&TestDb)) {
    vaultref_testkit::for_each_database(async |database| {
        let store = Store::connect(database.url()).await.unwrap();
        store.migrate().await.unwrap();
        let db = TestDb {
            label: database.label(),
            store,
            url: database.url().to_owned(),
        };
        test(&db).await;
        db.store.close().await;
    })
    .await;
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
    tenantId: ${OM_SM_TENANT_ID}
    clientId: ${OM_SM_CLIENT_ID}
    clientSecret: ${OM_SM_CLIENT_SECRET}
    authorityHost: ${AUTHORITY_HOST}
    caCertFile: ${CA_CERT}
    rateLimitPermitsPerSecond: 1000
";

/// A fresh managed-mode manager (no claims yet) against `emu`, with `fernet_key`.
pub(crate) fn manager(emu: &Emulator, fernet_key: &str) -> SecretsManager {
    let mut variables =
        vaultref_testkit::deployment_variables(emu, emu.client_id(), emu.client_secret());
    variables.retain(|(name, _)| *name != "FERNET_KEY");
    variables.push(("FERNET_KEY", fernet_key.to_owned()));
    let env = Environment::from_pairs(variables);
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

/// The row of the `entity_type` entity `name` in `store`; panics when there is none.
pub(crate) async fn row_of(store: &Store, entity_type: EntityType, name: &str) -> StoredEntity {
    store
        .get(entity_type, name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {entity_type:?} `{name}` is stored"))
}

/// Whether `store` has no row of the `entity_type` entity `name`.
pub(crate) async fn absent(store: &Store, entity_type: EntityType, name: &str) -> bool {
    store.get(entity_type, name).await.unwrap().is_none()
}
