//! Shared fixtures: a fixed clock, vaultref-core configured against the emulator exactly as a
//! user would (an `openmetadata.yaml` and environment variables), and, from vaultref-testkit,
//! the entities, the Fernet key and the emulator with TLS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vaultref_core::{
    Catalog, Config, Environment, KeyVaultBackend, RecordingAuditSink, SecretBackend,
    SecretsManager,
};
use vaultref_emulator::Emulator;
use vaultref_fernet::{Clock, KeyRing};

pub(crate) use vaultref_testkit::{FERNET_KEY, entity, tls_emulator as emulator, vault_calls};

/// The time the manager's clock stands at (expiry dates are computed from it).
pub(crate) const NOW: u64 = 1_800_000_000;

/// `expiresAfterDays` in [`CONFIG`].
pub(crate) const EXPIRES_AFTER_DAYS: u64 = 30;

/// Managed mode against the emulator: client-secret credential (tenantId set, as OpenMetadata's
/// server uses it), the emulator's authority and CA, tags and expiry.
pub(crate) const CONFIG: &str = "\
clusterName: ${OPENMETADATA_CLUSTER_NAME:-openmetadata}
fernetConfiguration:
  fernetKey: ${FERNET_KEY}
secretsManagerConfiguration:
  secretsManager: ${SECRET_MANAGER:-managed-azure-kv}
  prefix: ${SECRET_MANAGER_PREFIX:-\"\"}
  tags: ${SECRET_MANAGER_TAGS:-[]}
  parameters:
    vaultUrl: ${VAULT_URL}
    tenantId: ${OM_SM_TENANT_ID:-\"\"}
    clientId: ${OM_SM_CLIENT_ID:-\"\"}
    clientSecret: ${OM_SM_CLIENT_SECRET:-\"\"}
    authorityHost: ${AUTHORITY_HOST}
    caCertFile: ${CA_CERT}
    expiresAfterDays: 30
    rateLimitPermitsPerSecond: 1000
";

#[derive(Debug)]
pub(crate) struct FixedClock(pub(crate) AtomicU64);

impl Clock for FixedClock {
    fn now_unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The same time for the resolver's cache, which reads vaultref-transport's wall clock.
impl vaultref_core::Clock for FixedClock {
    fn now(&self) -> time::OffsetDateTime {
        let seconds = i64::try_from(self.0.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// The environment a deployment against `emu` would have, signing in as `client_id`.
pub(crate) fn environment(emu: &Emulator, client_id: &str, client_secret: &str) -> Environment {
    let mut variables = vaultref_testkit::deployment_variables(emu, client_id, client_secret);
    variables.push((
        "SECRET_MANAGER_TAGS",
        "[team:data,env:test:extra]".to_owned(),
    ));
    Environment::from_pairs(variables)
}

pub(crate) struct Deployment {
    pub(crate) backend: Arc<KeyVaultBackend>,
    pub(crate) manager: SecretsManager,
    pub(crate) audit: Arc<RecordingAuditSink>,
}

/// A manager built from the configuration file and `env`, with a fixed clock and a recording
/// audit sink.
pub(crate) fn deployment(env: &Environment) -> Deployment {
    let config = Config::parse(CONFIG, env).unwrap();
    let kv = config.secrets_manager.key_vault.as_ref().unwrap();
    let backend = Arc::new(KeyVaultBackend::from_config(kv, env).unwrap().with_wait(
        vaultref_core::WaitOptions {
            poll_interval: std::time::Duration::from_millis(50),
            timeout: std::time::Duration::from_secs(20),
        },
    ));
    let audit = Arc::new(RecordingAuditSink::new());
    let manager = SecretsManager::builder_from_config(
        &config,
        Some(backend.clone() as Arc<dyn SecretBackend>),
        Arc::new(Catalog::builtin()),
    )
    .unwrap()
    .clock(Arc::new(FixedClock(AtomicU64::new(NOW))))
    .audit(audit.clone())
    .build()
    .unwrap();
    Deployment {
        backend,
        manager,
        audit,
    }
}

pub(crate) fn keys() -> KeyRing {
    KeyRing::parse(FERNET_KEY).unwrap()
}
