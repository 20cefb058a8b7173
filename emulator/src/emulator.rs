//! The running emulator and its handle.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond};

use crate::access::AccessModel;
use crate::clock::{WallClock, unix_seconds};
use crate::config::EmulatorConfig;
use crate::error::{Error, Result};
use crate::fault::{Fault, Target};
use crate::identity::{Identity, Permissions, federated_subject};
use crate::log::{RecordedRequest, RequestLog};
use crate::properties::SecretProperties;
use crate::random::Random;
use crate::state::{Info, Shared, State, lock};
use crate::token::{AccessClaims, AssertionClaims, Signer, TOKEN_EXCHANGE_AUDIENCE};
use crate::vault::{self, Vaults, seeded_version, valid_vault_name, write_private};
use crate::{front, managed, tls};

/// The one wiremock responder: every request goes to the stateful handler.
struct Dispatcher(Arc<Shared>);

impl Respond for Dispatcher {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.handle(request)
    }
}

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

/// A running Key Vault + Entra ID + managed-identity emulator on `127.0.0.1`.
///
/// Stops when dropped (or with [`Emulator::shutdown`]). `Debug` shows endpoints, never secrets.
pub struct Emulator {
    shared: Arc<Shared>,
    port: u16,
    client_id: String,
    client_secret: String,
    workload_client_id: String,
    managed_identity_client_id: String,
    ca: Option<(String, PathBuf)>,
    federated_token_file: PathBuf,
    front: JoinHandle<()>,
    mock: Option<MockServer>,
    _files: tempfile::TempDir,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("vault_url", &self.vault_url().as_str())
            .field("tenant_id", &self.tenant_id())
            .field("client_id", &self.client_id)
            .field("tls", &self.shared.info.tls)
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
        let mut fresh = || PersistedIdentity {
            tenant_id: random.guid(),
            client_id: random.guid(),
            client_secret: random.secret(),
            workload_client_id: random.guid(),
            managed_identity_client_id: random.guid(),
            identity_header: random.secret(),
            signing_key: STANDARD.encode(random.bytes::<32>()),
        };
        let mut ids = persisted.unwrap_or_else(&mut fresh);
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
            let ca_dir = config
                .state_dir
                .clone()
                .unwrap_or_else(|| files.path().to_owned());
            let ca_key_path = ca_dir.join("ca-key.pem");
            let existing_key = std::fs::read_to_string(&ca_key_path).ok();
            let tls = tls::setup(existing_key.as_deref())?;
            if existing_key.is_none() {
                write_private(&ca_key_path, tls.ca_key_pem.as_bytes())
                    .map_err(write_error(&ca_key_path))?;
            }
            let ca_path = ca_dir.join("ca.pem");
            std::fs::write(&ca_path, tls.ca_pem.as_bytes()).map_err(write_error(&ca_path))?;
            (
                Some((tls.ca_pem.clone(), ca_path)),
                Some(tokio_rustls::TlsAcceptor::from(tls.server_config)),
            )
        } else {
            (None, None)
        };

        let scheme = if config.tls { "https" } else { "http" };
        let info = Info {
            tls: config.tls,
            tenant_id: ids.tenant_id.clone(),
            authority: format!("{scheme}://127.0.0.1:{port}"),
            vault_resource: config
                .vault_resource
                .clone()
                .unwrap_or_else(|| format!("{scheme}://localhost:{port}")),
            identity_header: ids.identity_header.clone(),
            federated_issuer: format!("{scheme}://127.0.0.1:{port}/{}/federation/", ids.tenant_id),
            system_identity: ids.managed_identity_client_id.clone(),
            state_file: config.state_dir.as_ref().map(|d| d.join("secrets.json")),
        };
        let mut vaults = Vaults {
            default: config.default_vault.clone(),
            vaults: std::collections::BTreeMap::new(),
            recover_delay: config.recover_delay,
            delete_delay: config.delete_delay,
            purge_protection: config.purge_protection,
            retention_days: config.retention_days.clamp(7, 90),
            access_model: config.access_model,
        };
        if let Some(path) = &info.state_file
            && let Some(snapshot) = vault::load_snapshot(path)?
        {
            vaults.restore_snapshot(snapshot);
        }
        for name in std::iter::once(&config.default_vault).chain(&config.vaults) {
            vaults.ensure(name);
        }
        let mut state = State::new(random, vaults, config.token_lifetime);
        state.add_principal(
            Identity::app(ids.client_id.clone(), ids.client_secret.clone()),
            Permissions::all(),
        );
        state.add_principal(
            Identity::workload(ids.workload_client_id.clone()),
            Permissions::all(),
        );
        state.add_principal(
            Identity::managed(ids.managed_identity_client_id.clone()),
            Permissions::all(),
        );
        let now = config.clock.now();
        for fault in &config.faults {
            state.faults.inject(*fault, now);
        }
        let shared = Arc::new(Shared {
            info,
            clock: config.clock.clone(),
            wall: WallClock::new(),
            next_seq: AtomicU64::new(1),
            signer: Signer::new(key),
            state: Mutex::new(state),
            log: Mutex::new(RequestLog::new(config.request_log_capacity)),
            saved: Mutex::new(0),
        });

        let mock = MockServer::builder()
            .listener(backend)
            .disable_request_recording()
            .start()
            .await;
        Mock::given(any())
            .respond_with(Dispatcher(shared.clone()))
            .mount(&mock)
            .await;
        let front = front::spawn(listener, backend_addr, acceptor, shared.clone());

        let mut emulator = Self {
            shared,
            port,
            client_id: ids.client_id,
            client_secret: ids.client_secret,
            workload_client_id: ids.workload_client_id,
            managed_identity_client_id: ids.managed_identity_client_id,
            ca,
            federated_token_file: files.path().join("federated-token"),
            front,
            mock: Some(mock),
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

    fn scheme(&self) -> &'static str {
        if self.shared.info.tls {
            "https"
        } else {
            "http"
        }
    }

    fn url(text: &str) -> Url {
        // Every URL built here is scheme://host:port/..., which always parses.
        Url::parse(text).unwrap_or_else(|_| unreachable!("emulator URLs are well-formed: {text}"))
    }

    /// The port the emulator listens on (TLS and plain HTTP share it).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The default vault: `https://127.0.0.1:PORT/` with TLS, `http://...` without.
    #[must_use]
    pub fn vault_url(&self) -> Url {
        Self::url(&format!("{}://127.0.0.1:{}/", self.scheme(), self.port))
    }

    /// The vault `name` at `https://{name}.localhost:PORT/`, created if it does not exist yet.
    /// (`*.localhost` may not resolve through glibc: map it to 127.0.0.1 in the client, see
    /// docs/emulator.md.) An invalid vault name is not created and its requests get 404.
    #[must_use]
    pub fn vault_url_for(&self, name: &str) -> Url {
        if valid_vault_name(name) {
            self.shared.state().vaults.ensure(name);
        }
        Url::parse(&format!(
            "{}://{}.localhost:{}/",
            self.scheme(),
            name.to_ascii_lowercase(),
            self.port
        ))
        .unwrap_or_else(|_| self.vault_url())
    }

    /// The Entra authority host, e.g. `https://127.0.0.1:PORT/`.
    #[must_use]
    pub fn authority_host(&self) -> Url {
        Self::url(&format!("{}/", self.shared.info.authority))
    }

    /// The tenant id (a GUID).
    #[must_use]
    pub fn tenant_id(&self) -> &str {
        &self.shared.info.tenant_id
    }

    /// Client id of the default app registration (all permissions).
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Client secret of the default app registration.
    #[must_use]
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Client id of the workload-identity app registration (all permissions) that the
    /// federated token file is for.
    #[must_use]
    pub fn workload_client_id(&self) -> &str {
        &self.workload_client_id
    }

    /// Client id of the system-assigned managed identity (all permissions), used when a
    /// managed-identity request names no identity.
    #[must_use]
    pub fn managed_identity_client_id(&self) -> &str {
        &self.managed_identity_client_id
    }

    /// Base URL standing in for `http://169.254.169.254` (plain http); it serves
    /// `/metadata/identity/oauth2/token`. Use as `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    #[must_use]
    pub fn imds_endpoint(&self) -> Url {
        Self::url(&format!("http://127.0.0.1:{}/", self.port))
    }

    /// The App Service managed-identity endpoint (full URL of the token path, plain http),
    /// for `IDENTITY_ENDPOINT`.
    #[must_use]
    pub fn identity_endpoint(&self) -> Url {
        Self::url(&format!(
            "http://127.0.0.1:{}{}",
            self.port,
            managed::APP_SERVICE_PATH
        ))
    }

    /// The `X-IDENTITY-HEADER` value the App Service endpoint expects (`IDENTITY_HEADER`).
    #[must_use]
    pub fn identity_header(&self) -> &str {
        &self.shared.info.identity_header
    }

    /// A file holding a valid federated (workload identity) assertion for
    /// [`Emulator::workload_client_id`], with a trailing newline (`AZURE_FEDERATED_TOKEN_FILE`).
    #[must_use]
    pub fn federated_token_file(&self) -> &Path {
        &self.federated_token_file
    }

    /// The CA certificate (PEM) to trust, when TLS is on.
    #[must_use]
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(pem, _)| pem.as_str())
    }

    /// Path of the CA certificate file, when TLS is on.
    #[must_use]
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca.as_ref().map(|(_, path)| path.as_path())
    }

    /// The resource (audience) the vault challenge names; tokens must be issued for it.
    #[must_use]
    pub fn vault_resource(&self) -> &str {
        &self.shared.info.vault_resource
    }

    /// The `WWW-Authenticate` value of the vault's 401 challenge.
    #[must_use]
    pub fn challenge(&self) -> String {
        vault::challenge(&self.shared.info)
    }

    /// Mints a federated assertion for the workload identity, valid for `lifetime` from now
    /// (zero: already expired).
    #[must_use]
    pub fn issue_federated_token(&self, lifetime: Duration) -> String {
        self.issue_federated_token_for(&self.workload_client_id, lifetime)
    }

    /// Mints a federated assertion whose subject matches [`Identity::workload`]`(client_id)`.
    #[must_use]
    pub fn issue_federated_token_for(&self, client_id: &str, lifetime: Duration) -> String {
        let now = unix_seconds(self.shared.clock.now());
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let jti = self.shared.state().random.guid();
        self.shared.signer.sign(&AssertionClaims {
            aud: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
            iss: self.shared.info.federated_issuer.clone(),
            sub: federated_subject(client_id),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            jti,
        })
    }

    /// Mints an access token for a registered identity and any `resource`, as the token
    /// endpoints would (e.g. a token for another audience, to test the vault's 401).
    /// `None` when `client_id` is not registered.
    #[must_use]
    pub fn issue_access_token(&self, client_id: &str, resource: &str) -> Option<String> {
        let now = self.shared.clock.now();
        let mut state = self.shared.state();
        let principal = state.principal(client_id)?.clone();
        Some(
            state
                .issue_access_token(
                    &self.shared.info,
                    &self.shared.signer,
                    &principal,
                    resource,
                    now,
                )
                .0,
        )
    }

    /// Mints an access token with arbitrary claims (tenant, issuer, expiry...), signed by the
    /// emulator, for negative tests of token validation.
    #[must_use]
    pub fn issue_custom_token(&self, claims: &TokenClaims) -> String {
        let now = unix_seconds(self.shared.clock.now());
        let tenant = claims
            .tenant_id
            .clone()
            .unwrap_or_else(|| self.tenant_id().to_owned());
        let oid = self.shared.state().random.guid();
        self.shared.signer.sign(&AccessClaims {
            aud: claims
                .audience
                .clone()
                .unwrap_or_else(|| self.vault_resource().to_owned()),
            iss: format!("https://sts.windows.net/{tenant}/"),
            tid: tenant,
            appid: claims
                .client_id
                .clone()
                .unwrap_or_else(|| self.client_id.clone()),
            oid: oid.clone(),
            sub: oid,
            iat: now,
            nbf: now,
            exp: now + claims.lifetime_secs,
            idtyp: "app".into(),
            ver: "1.0".into(),
        })
    }

    // --- identities ---------------------------------------------------------------------

    /// Registers (or replaces) an app registration with its permissions.
    pub fn add_app(&self, identity: Identity, permissions: Permissions) {
        self.shared.state().add_principal(identity, permissions);
    }

    /// Registers (or replaces) a user-assigned managed identity with its permissions.
    pub fn add_managed_identity(&self, identity: Identity, permissions: Permissions) {
        self.shared.state().add_principal(identity, permissions);
    }

    /// Changes the permissions of a registered identity; false when it is unknown.
    pub fn set_permissions(&self, client_id: &str, permissions: Permissions) -> bool {
        self.shared.state().set_permissions(client_id, permissions)
    }

    /// Removes an identity: its token requests fail and its tokens carry no permissions.
    pub fn remove_identity(&self, client_id: &str) -> bool {
        self.shared.state().remove_principal(client_id)
    }

    // --- secrets ------------------------------------------------------------------------

    /// The default vault's name (read under the state lock, which is released at once).
    fn default_vault(&self) -> String {
        self.shared.state().vaults.default.clone()
    }

    /// Stores a new version of `name` in the default vault, bypassing HTTP; returns its version id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        let vault = self.default_vault();
        self.set_secret_in(&vault, name, value)
    }

    /// Stores a new version of `name` in vault `vault` (created if missing); returns its version id.
    pub fn set_secret_in(&self, vault: &str, name: &str, value: &str) -> String {
        let now = self.shared.clock.now();
        let (id, (generation, snapshot)) = {
            let mut state = self.shared.state();
            let id = state.random.hex32();
            state
                .vaults
                .ensure(vault)
                .put(name, seeded_version(id.clone(), value, now));
            (id, state.changed())
        };
        self.shared.persist(generation, &snapshot);
        id
    }

    /// The latest value of `name` in the default vault, if it exists and is not deleted.
    #[must_use]
    pub fn secret_value(&self, name: &str) -> Option<String> {
        let vault = self.default_vault();
        self.secret_value_in(&vault, name)
    }

    /// The latest value of `name` in vault `vault`, if it exists and is not deleted.
    #[must_use]
    pub fn secret_value_in(&self, vault: &str, name: &str) -> Option<String> {
        let state = self.shared.state();
        let secret = state.vaults.secret(vault, name)?;
        secret.versions.last().map(|v| v.value.clone())
    }

    /// The attributes of the latest version of `name` in the default vault (tags, expiry,
    /// content type, …; never the value), if it exists and is not deleted.
    #[must_use]
    pub fn secret_properties(&self, name: &str) -> Option<SecretProperties> {
        let vault = self.default_vault();
        self.secret_properties_in(&vault, name)
    }

    /// The attributes of the latest version of `name` in vault `vault`, if it exists and is
    /// not deleted.
    #[must_use]
    pub fn secret_properties_in(&self, vault: &str, name: &str) -> Option<SecretProperties> {
        let state = self.shared.state();
        SecretProperties::of(state.vaults.secret(vault, name)?)
    }

    /// The tags of the latest version of `name` in the default vault (empty when it has
    /// none); `None` when the secret does not exist or is deleted.
    #[must_use]
    pub fn secret_tags(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.secret_properties(name).map(|p| p.tags)
    }

    /// The tags of the latest version of `name` in vault `vault`, like [`Emulator::secret_tags`].
    #[must_use]
    pub fn secret_tags_in(&self, vault: &str, name: &str) -> Option<BTreeMap<String, String>> {
        self.secret_properties_in(vault, name).map(|p| p.tags)
    }

    /// The expiry (`attributes.exp`, seconds since the Unix epoch) of the latest version of
    /// `name` in the default vault; `None` when it has no expiry, does not exist or is deleted
    /// (use [`Emulator::secret_properties`] to tell these apart).
    #[must_use]
    pub fn secret_expires_on(&self, name: &str) -> Option<i64> {
        self.secret_properties(name).and_then(|p| p.expires_on)
    }

    /// The expiry of the latest version of `name` in vault `vault`, like
    /// [`Emulator::secret_expires_on`].
    #[must_use]
    pub fn secret_expires_on_in(&self, vault: &str, name: &str) -> Option<i64> {
        self.secret_properties_in(vault, name)
            .and_then(|p| p.expires_on)
    }

    /// Names of the live (not deleted) secrets of the default vault, sorted case-insensitively.
    #[must_use]
    pub fn secret_names(&self) -> Vec<String> {
        let vault = self.default_vault();
        self.secret_names_in(&vault)
    }

    /// Names of the live secrets of vault `vault`.
    #[must_use]
    pub fn secret_names_in(&self, vault: &str) -> Vec<String> {
        let state = self.shared.state();
        state
            .vaults
            .get(vault)
            .map(|v| v.secrets.values().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Names of the soft-deleted secrets of the default vault.
    #[must_use]
    pub fn deleted_secret_names(&self) -> Vec<String> {
        let state = self.shared.state();
        state
            .vaults
            .get(&state.vaults.default)
            .map(|v| v.deleted.values().map(|d| d.secret.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Number of versions of `name` in the default vault (0 when absent or deleted).
    #[must_use]
    pub fn version_count(&self, name: &str) -> usize {
        let state = self.shared.state();
        state
            .vaults
            .secret(&state.vaults.default, name)
            .map_or(0, |s| s.versions.len())
    }

    // --- request log --------------------------------------------------------------------

    /// Every request received so far (up to the log's capacity), oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).all()
    }

    /// The requests that went to `target`.
    #[must_use]
    pub fn requests_to(&self, target: Target) -> Vec<RecordedRequest> {
        lock(&self.shared.log).to(target)
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    // --- faults and timing --------------------------------------------------------------

    /// Activates a fault.
    pub fn inject(&self, fault: Fault) {
        let now = self.shared.clock.now();
        self.shared.state().faults.inject(fault, now);
    }

    /// Like the real vault: 429 past `per_10s` requests to `target` per 10-second window.
    pub fn set_rate_limit(&self, target: Target, per_10s: u32) {
        self.inject(Fault::rate_limit(target, per_10s));
    }

    /// Removes every fault and rate limit.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Lifetime of tokens issued from now on (zero: already expired when issued).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.state().token_lifetime = lifetime;
    }

    /// A recovered secret stays invisible (404; 409 `ObjectIsBeingRecovered` on set) this long.
    pub fn set_recover_delay(&self, delay: Duration) {
        self.shared.state().vaults.recover_delay = delay;
    }

    /// A deleted secret is "being deleted" (get-deleted 404; 409 `ObjectIsBeingDeleted` on set)
    /// this long.
    pub fn set_delete_delay(&self, delay: Duration) {
        self.shared.state().vaults.delete_delay = delay;
    }

    /// Turns purge protection on or off for every vault (purge then answers 403).
    pub fn set_purge_protection(&self, on: bool) {
        let mut state = self.shared.state();
        state.vaults.purge_protection = on;
        for vault in state.vaults.vaults.values_mut() {
            vault.purge_protection = on;
        }
    }

    /// Makes every vault (and every vault created from now on) authorize like `model`: with
    /// [`AccessModel::Rbac`] a caller missing a permission gets 403 `Forbidden` /
    /// `ForbiddenByRbac`, with [`AccessModel::AccessPolicy`] (the default) 403 `Forbidden` /
    /// `AccessDenied`. What each identity may do does not change.
    pub fn set_access_model(&self, model: AccessModel) {
        let mut state = self.shared.state();
        state.vaults.access_model = model;
        for vault in state.vaults.vaults.values_mut() {
            vault.access_model = model;
        }
    }

    /// Sets the access model of vault `vault` only (created if missing), e.g. one RBAC vault
    /// next to access-policy ones. An invalid vault name changes nothing.
    pub fn set_access_model_in(&self, vault: &str, model: AccessModel) {
        if valid_vault_name(vault) {
            self.shared.state().vaults.ensure(vault).access_model = model;
        }
    }

    // --- the command line's ready line --------------------------------------------------

    /// The one-line JSON document `vaultref emulator` prints once ready: `vault_url`,
    /// `authority_host`, `tenant_id`, `client_id`, `client_secret`, `ca_cert`,
    /// `imds_endpoint`, `identity_endpoint`, `identity_header`, `federated_token_file`, and
    /// also `workload_client_id`, `managed_identity_client_id`, `vault_resource`, `port`,
    /// `vaults` (name to URL).
    #[must_use]
    pub fn ready_line(&self) -> String {
        let vaults: serde_json::Map<String, serde_json::Value> = {
            let state = self.shared.state();
            state
                .vaults
                .vaults
                .values()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>()
        }
        .into_iter()
        .map(|name| {
            let url = self.vault_url_for(&name).to_string();
            (name, serde_json::Value::String(url))
        })
        .collect();
        serde_json::json!({
            "vault_url": self.vault_url().as_str(),
            "authority_host": self.shared.info.authority,
            "tenant_id": self.tenant_id(),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_cert": self.ca_cert_path().map(|p| p.display().to_string()),
            "imds_endpoint": format!("http://127.0.0.1:{}", self.port),
            "identity_endpoint": self.identity_endpoint().as_str(),
            "identity_header": self.identity_header(),
            "federated_token_file": self.federated_token_file.display().to_string(),
            "workload_client_id": self.workload_client_id,
            "managed_identity_client_id": self.managed_identity_client_id,
            "vault_resource": self.vault_resource(),
            "port": self.port,
            "vaults": vaults,
        })
        .to_string()
    }

    /// Stops serving. (Dropping the emulator does the same.)
    pub async fn shutdown(mut self) {
        self.front.abort();
        let _ = (&mut self.front).await;
        self.mock.take();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.front.abort();
    }
}

/// Claims for [`Emulator::issue_custom_token`]; unset fields take the valid default.
#[derive(Debug, Clone, Default)]
pub struct TokenClaims {
    /// `aud` (default: the vault resource).
    pub audience: Option<String>,
    /// `tid` and the issuer's tenant (default: the emulator's tenant).
    pub tenant_id: Option<String>,
    /// `appid` (default: the default app registration).
    pub client_id: Option<String>,
    /// Seconds from now to `exp`; zero or negative gives an expired token.
    pub lifetime_secs: i64,
}
