//! Fresh databases for each test, and the emulator-backed secrets manager.

use std::sync::Arc;

use serde_json::Value;
use sqlx::Connection;
use vaultref_core::{
    Config, Environment, KeyVaultBackend, SchemaRegistry, SecretBackend, SecretsManager,
};
use vaultref_emulator::{Emulator, EmulatorConfig, Target};
use vaultref_store::Store;

pub(crate) const FERNET_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A database made for one test: dropped by [`TestDb::drop_database`].
pub(crate) struct TestDb {
    pub(crate) label: &'static str,
    pub(crate) store: Store,
    /// The database's URL (with the credentials of the test server).
    pub(crate) url: String,
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Closes the store and drops the database (SQLite: the temp dir goes with `self`).
    pub(crate) async fn drop_database(mut self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.server.take() {
            drop_server_database(&admin_url, &name).await;
        }
    }
}

impl Drop for TestDb {
    /// A test that panicked before `drop_database` still removes its database.
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.server.take() {
            let cleanup = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drop_server_database(&admin_url, &name));
            });
            // Already unwinding or finishing: a failed cleanup only leaves a database behind.
            let _ = cleanup.join();
        }
    }
}

async fn drop_server_database(admin_url: &str, name: &str) {
    let sql = if admin_url.starts_with("postgres") {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    } else {
        format!("DROP DATABASE IF EXISTS {name}")
    };
    let mut conn = sqlx::AnyConnection::connect(admin_url).await.unwrap();
    sqlx::query(&sql).execute(&mut conn).await.unwrap();
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `url` with its path (the database name) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

async fn server_db(label: &'static str, var: &str, default: &str) -> Option<TestDb> {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let mut conn = match sqlx::AnyConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{label} is unreachable at {} ({e}); set {var} (CI requires it)",
                vaultref_store::redact_url(&admin_url)
            );
            eprintln!("note: skipping {label}: cannot connect ({e}); set {var} to run these tests");
            return None;
        }
    };
    let name = format!("vaultref_test_{}", random_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let url = with_database(&admin_url, &name);
    let store = Store::connect(&url).await.unwrap();
    Some(TestDb {
        label,
        store,
        url,
        server: Some((admin_url, name)),
        _dir: None,
    })
}

/// A fresh, migrated database of every flavour that can be reached.
pub(crate) async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vaultref.db").display());
    let mut dbs = vec![TestDb {
        label: "sqlite",
        store: Store::connect(&url).await.unwrap(),
        url,
        server: None,
        _dir: Some(dir),
    }];
    dbs.extend(
        server_db(
            "postgres",
            "VAULTREF_TEST_POSTGRES_URL",
            DEFAULT_POSTGRES_URL,
        )
        .await,
    );
    dbs.extend(server_db("mysql", "VAULTREF_TEST_MYSQL_URL", DEFAULT_MYSQL_URL).await);
    for db in &dbs {
        db.store.migrate().await.unwrap();
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
    SecretsManager::from_config(&config, Some(backend), Arc::new(SchemaRegistry::builtin()))
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
