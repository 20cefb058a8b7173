//! Starting an emulator: credentials (fresh, or kept in the state directory), the listening
//! sockets, TLS, the vaults (restored from a snapshot), the directory and the servers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use super::Emulator;
use crate::admin::Admin;
use crate::config::EmulatorConfig;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::files::write_private;
use crate::identity::{Identity, Permissions};
use crate::log::RequestLog;
use crate::random::Random;
use crate::router::Router;
use crate::service::Service;
use crate::state::State;
use crate::tenant::Tenant;
use crate::token::Signer;
use crate::vault::{Vaults, load_snapshot, valid_vault_name};
use crate::{front, tls};

/// Credentials and keys kept in the state directory so that a restarted emulator is the
/// same "tenant" (tokens, secrets and the ready line stay valid). `Debug` shows the ids only.
#[derive(Serialize, Deserialize)]
struct PersistedIdentity {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    workload_client_id: String,
    managed_identity_client_id: String,
    identity_header: String,
    signing_key: String,
}

impl std::fmt::Debug for PersistedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistedIdentity")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("workload_client_id", &self.workload_client_id)
            .field(
                "managed_identity_client_id",
                &self.managed_identity_client_id,
            )
            .finish_non_exhaustive()
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_owned(),
        source,
    }
}

impl Emulator {
    /// Starts an emulator on `{config.listen}:{config.port}` (`127.0.0.1` by default).
    ///
    /// # Errors
    /// When the port cannot be bound, a file cannot be written, or the state directory holds
    /// unreadable state.
    pub async fn start(config: EmulatorConfig) -> Result<Self> {
        let mut random = Random::new(config.seed);
        for name in std::iter::once(&config.default_vault).chain(&config.vaults) {
            if !valid_vault_name(name) {
                return Err(Error::InvalidVaultName(name.clone()));
            }
        }
        if let Some(dir) = &config.state_dir {
            std::fs::create_dir_all(dir).map_err(write_error(dir))?;
        }
        let (ids, key) = credentials(&config, &mut random)?;

        let addr = SocketAddr::new(config.listen, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?
            .port();
        let backend_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let backend = std::net::TcpListener::bind(backend_addr).map_err(|source| Error::Bind {
            addr: backend_addr,
            source,
        })?;
        let backend_addr = backend.local_addr().map_err(|source| Error::Bind {
            addr: backend_addr,
            source,
        })?;

        let files = tempfile::Builder::new()
            .prefix("vaultref-emulator-")
            .tempdir()
            .map_err(write_error(Path::new("<temporary directory>")))?;
        let (ca, acceptor) = if config.tls {
            let ca_dir = config.state_dir.as_deref().unwrap_or(files.path());
            let (ca, acceptor) = certificates(ca_dir)?;
            (Some(ca), Some(acceptor))
        } else {
            (None, None)
        };

        let scheme = if config.tls { "https" } else { "http" };
        let tenant = Tenant {
            id: ids.tenant_id.clone(),
            authority: format!("{scheme}://127.0.0.1:{port}"),
            vault_resource: config
                .vault_resource
                .clone()
                .unwrap_or_else(|| format!("{scheme}://localhost:{port}")),
            identity_header: ids.identity_header.clone(),
            federated_issuer: format!("{scheme}://127.0.0.1:{port}/{}/federation/", ids.tenant_id),
            system_identity: ids.managed_identity_client_id.clone(),
            signer: Signer::new(key),
        };
        let state_file = config.state_dir.as_ref().map(|d| d.join("secrets.json"));
        let vaults = vaults(&config, state_file.as_deref())?;
        let directory = directory(&config, &ids, &mut random);
        let admin_token = config.admin_port.map(|_| random.secret());
        let mut state = State::new(directory, vaults, random);
        let now = config.clock.now();
        for fault in &config.faults {
            state.faults.inject(*fault, now);
        }
        let service = Arc::new(Service::new(
            tenant,
            config.tls,
            state_file,
            config.clock.clone(),
            state,
            RequestLog::new(config.request_log_capacity),
        ));

        let mock = MockServer::builder()
            .listener(backend)
            .disable_request_recording()
            .start()
            .await;
        Mock::given(any())
            .respond_with(Router(service.clone()))
            .mount(&mock)
            .await;
        let front = front::spawn(listener, backend_addr, acceptor, service.clone());
        let admin = match (config.admin_port, admin_token) {
            (Some(port), Some(token)) => Some(Admin::start(port, service.clone(), token).await?),
            _ => None,
        };

        let mut emulator = Self {
            service,
            port,
            client_id: ids.client_id,
            client_secret: ids.client_secret,
            workload_client_id: ids.workload_client_id,
            managed_identity_client_id: ids.managed_identity_client_id,
            ca,
            federated_token_file: files.path().join("federated-token"),
            front,
            mock: Some(mock),
            admin,
            _files: files,
        };
        // Like the AKS webhook's projected token: long-lived; written with a trailing newline,
        // which real clients send verbatim and the token endpoint must tolerate.
        let assertion = emulator.issue_federated_token(Duration::from_secs(24 * 3600));
        let path = emulator.federated_token_file.clone();
        std::fs::write(&path, format!("{assertion}\n")).map_err(write_error(&path))?;
        emulator.federated_token_file = path;
        Ok(emulator)
    }
}

/// The tenant's credentials and signing key: those kept in the state directory (if any),
/// else fresh ones; the configured ids and secret win. Written back to the state directory.
fn credentials(
    config: &EmulatorConfig,
    random: &mut Random,
) -> Result<(PersistedIdentity, [u8; 32])> {
    let identity_file = config.state_dir.as_ref().map(|d| d.join("identity.json"));
    let persisted: Option<PersistedIdentity> = match &identity_file {
        Some(path) if path.exists() => {
            let bytes = std::fs::read(path).map_err(|e| Error::State {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Some(serde_json::from_slice(&bytes).map_err(|e| Error::State {
                path: path.clone(),
                reason: e.to_string(),
            })?)
        }
        _ => None,
    };
    let mut ids = persisted.unwrap_or_else(|| PersistedIdentity {
        tenant_id: random.guid(),
        client_id: random.guid(),
        client_secret: random.secret(),
        workload_client_id: random.guid(),
        managed_identity_client_id: random.guid(),
        identity_header: random.secret(),
        signing_key: STANDARD.encode(random.bytes::<32>()),
    });
    if let Some(t) = &config.tenant_id {
        ids.tenant_id.clone_from(t);
    }
    if let Some(c) = &config.client_id {
        ids.client_id.clone_from(c);
    }
    if let Some(s) = &config.client_secret {
        ids.client_secret.clone_from(s);
    }
    let mut key = [0u8; 32];
    match STANDARD.decode(&ids.signing_key) {
        Ok(bytes) if bytes.len() == 32 => key.copy_from_slice(&bytes),
        _ => {
            key = random.bytes::<32>();
            ids.signing_key = STANDARD.encode(key);
        }
    }
    if let Some(path) = &identity_file {
        let bytes = serde_json::to_vec_pretty(&ids).unwrap_or_default();
        write_private(path, &bytes).map_err(write_error(path))?;
    }
    Ok((ids, key))
}

/// The CA (PEM and the path of `ca.pem` in `dir`) and the TLS acceptor of the front; the CA
/// key in `dir` is reused, so a `ca.pem` already trusted keeps working.
fn certificates(dir: &Path) -> Result<((String, PathBuf), TlsAcceptor)> {
    let ca_key_path = dir.join("ca-key.pem");
    let existing_key = std::fs::read_to_string(&ca_key_path).ok();
    let tls = tls::setup(existing_key.as_deref())?;
    if existing_key.is_none() {
        write_private(&ca_key_path, tls.ca_key_pem.as_bytes())
            .map_err(write_error(&ca_key_path))?;
    }
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, tls.ca_pem.as_bytes()).map_err(write_error(&ca_path))?;
    Ok((
        (tls.ca_pem.clone(), ca_path),
        TlsAcceptor::from(tls.server_config),
    ))
}

/// The configured vaults, with the secrets of the state file if there is one.
fn vaults(config: &EmulatorConfig, state_file: Option<&Path>) -> Result<Vaults> {
    let mut vaults = Vaults {
        default: config.default_vault.clone(),
        vaults: BTreeMap::new(),
        recover_delay: config.recover_delay,
        delete_delay: config.delete_delay,
        purge_protection: config.purge_protection,
        retention_days: config.retention_days.clamp(7, 90),
        access_model: config.access_model,
    };
    if let Some(path) = state_file
        && let Some(snapshot) = load_snapshot(path)?
    {
        vaults.restore_snapshot(snapshot);
    }
    for name in std::iter::once(&config.default_vault).chain(&config.vaults) {
        vaults.ensure(name);
    }
    Ok(vaults)
}

/// The directory with the three built-in identities (all permissions): the app
/// registration, the workload identity and the system-assigned managed identity.
fn directory(config: &EmulatorConfig, ids: &PersistedIdentity, random: &mut Random) -> Directory {
    let mut directory = Directory::new(config.token_lifetime);
    for identity in [
        Identity::app(ids.client_id.clone(), ids.client_secret.clone()),
        Identity::workload(ids.workload_client_id.clone()),
        Identity::managed(ids.managed_identity_client_id.clone()),
    ] {
        directory.add(identity, Permissions::all(), random);
    }
    directory
}
