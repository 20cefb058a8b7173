//! The running emulator and its handle: endpoints, credentials, identities, the request
//! log, faults and timing. Tokens are minted in `tokens`, vaults reached through `vaults`,
//! and the emulator is started in `start`.

mod start;
mod tokens;
mod vaults;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use url::Url;
use wiremock::MockServer;

use crate::access::AccessModel;
use crate::admin::Admin;
use crate::fault::{Fault, Target};
use crate::fault_spec::FaultSpec;
use crate::identity::{Identity, Permissions};
use crate::log::RecordedRequest;
use crate::service::Service;
use crate::{managed, vault};

pub use self::tokens::TokenClaims;
pub use self::vaults::VaultHandle;

/// A running Key Vault + Entra ID + managed-identity emulator on `127.0.0.1`.
///
/// Stops when dropped (or with [`Emulator::shutdown`]). `Debug` shows endpoints, never secrets.
pub struct Emulator {
    service: Arc<Service>,
    port: u16,
    client_id: String,
    client_secret: String,
    workload_client_id: String,
    managed_identity_client_id: String,
    ca: Option<(String, PathBuf)>,
    federated_token_file: PathBuf,
    front: JoinHandle<()>,
    mock: Option<MockServer>,
    admin: Option<Admin>,
    _files: tempfile::TempDir,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("vault_url", &self.vault_url().as_str())
            .field("tenant_id", &self.tenant_id())
            .field("client_id", &self.client_id)
            .field("tls", &self.service.tls)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    fn scheme(&self) -> &'static str {
        if self.service.tls { "https" } else { "http" }
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

    /// The vault `name` at `https://{name}.localhost:PORT/`, created if it does not exist yet:
    /// `emu.vault(name).url()`.
    #[must_use]
    pub fn vault_url_for(&self, name: &str) -> Url {
        self.vault(name).url()
    }

    /// The Entra authority host, e.g. `https://127.0.0.1:PORT/`.
    #[must_use]
    pub fn authority_host(&self) -> Url {
        Self::url(&format!("{}/", self.service.tenant.authority))
    }

    /// The tenant id (a GUID).
    #[must_use]
    pub fn tenant_id(&self) -> &str {
        &self.service.tenant.id
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
        &self.service.tenant.identity_header
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

    /// The admin endpoint's base URL (`http://127.0.0.1:ADMIN_PORT/`), when
    /// `EmulatorConfig::admin_port` asked for one.
    #[must_use]
    pub fn admin_url(&self) -> Option<&Url> {
        self.admin.as_ref().map(|a| &a.url)
    }

    /// The token every admin request carries in `X-Vaultref-Admin-Token`, when the admin
    /// endpoint is on.
    #[must_use]
    pub fn admin_token(&self) -> Option<&str> {
        self.admin.as_ref().map(|a| a.token.as_str())
    }

    /// The resource (audience) the vault challenge names; tokens must be issued for it.
    #[must_use]
    pub fn vault_resource(&self) -> &str {
        &self.service.tenant.vault_resource
    }

    /// The `WWW-Authenticate` value of the vault's 401 challenge.
    #[must_use]
    pub fn challenge(&self) -> String {
        vault::challenge(&self.service.tenant)
    }

    // --- identities ---------------------------------------------------------------------

    /// Registers (or replaces) an app registration with its permissions.
    pub fn add_app(&self, identity: Identity, permissions: Permissions) {
        self.register(identity, permissions);
    }

    /// Registers (or replaces) a user-assigned managed identity with its permissions.
    pub fn add_managed_identity(&self, identity: Identity, permissions: Permissions) {
        self.register(identity, permissions);
    }

    fn register(&self, identity: Identity, permissions: Permissions) {
        let mut state = self.service.state();
        let state = &mut *state;
        state
            .directory
            .add(identity, permissions, &mut state.random);
    }

    /// Changes the permissions of a registered identity; false when it is unknown.
    pub fn set_permissions(&self, client_id: &str, permissions: Permissions) -> bool {
        self.service
            .state()
            .directory
            .set_permissions(client_id, permissions)
    }

    /// Removes an identity: its token requests fail and its tokens carry no permissions.
    pub fn remove_identity(&self, client_id: &str) -> bool {
        self.service.state().directory.remove(client_id)
    }

    // --- request log --------------------------------------------------------------------

    /// Every request received so far (up to the log's capacity), oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.service.log().all()
    }

    /// The requests that went to `target`.
    #[must_use]
    pub fn requests_to(&self, target: Target) -> Vec<RecordedRequest> {
        self.service.log().to(target)
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.service.log().clear();
    }

    // --- faults and timing --------------------------------------------------------------

    /// Activates a fault.
    pub fn inject(&self, fault: Fault) {
        self.apply(FaultSpec::Fault(fault));
    }

    /// Puts `spec` into effect, as the admin endpoint's `POST /faults` does: a fault is
    /// injected now, a delay or token lifetime replaces the current one.
    pub fn apply(&self, spec: FaultSpec) {
        self.service.apply(spec);
    }

    /// Like the real vault: 429 past `per_10s` requests to `target` per 10-second window.
    pub fn set_rate_limit(&self, target: Target, per_10s: u32) {
        self.inject(Fault::rate_limit(target, per_10s));
    }

    /// Removes every fault and rate limit.
    pub fn clear_faults(&self) {
        self.service.state().faults.clear();
    }

    /// What the admin endpoint's `DELETE /faults` does: removes every fault and rate limit
    /// and puts the recover and delete delays and the token lifetime back to their values at
    /// start.
    pub fn reset_faults(&self) {
        self.service.reset_faults();
    }

    /// Lifetime of tokens issued from now on (zero: already expired when issued).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.apply(FaultSpec::TokenLifetime(lifetime));
    }

    /// A recovered secret stays invisible (404; 409 `ObjectIsBeingRecovered` on set) this long.
    pub fn set_recover_delay(&self, delay: Duration) {
        self.apply(FaultSpec::RecoverDelay(delay));
    }

    /// A deleted secret is "being deleted" (get-deleted 404; 409 `ObjectIsBeingDeleted` on set)
    /// this long.
    pub fn set_delete_delay(&self, delay: Duration) {
        self.apply(FaultSpec::DeleteDelay(delay));
    }

    /// Turns purge protection on or off for every vault (purge then answers 403).
    pub fn set_purge_protection(&self, on: bool) {
        let mut state = self.service.state();
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
        let mut state = self.service.state();
        state.vaults.access_model = model;
        for vault in state.vaults.vaults.values_mut() {
            vault.access_model = model;
        }
    }

    // --- the command line's ready line --------------------------------------------------

    /// The one-line JSON document `vaultref emulator` prints once ready: `vault_url`,
    /// `authority_host`, `tenant_id`, `client_id`, `client_secret`, `ca_cert`,
    /// `imds_endpoint`, `identity_endpoint`, `identity_header`, `federated_token_file`, and
    /// also `workload_client_id`, `managed_identity_client_id`, `vault_resource`, `port`,
    /// `vaults` (name to URL), `admin_url` and `admin_token` (`null` without the admin
    /// endpoint).
    #[must_use]
    pub fn ready_line(&self) -> String {
        let vaults: serde_json::Map<String, serde_json::Value> = {
            let state = self.service.state();
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
            "authority_host": self.service.tenant.authority,
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
            "admin_url": self.admin_url().map(Url::as_str),
            "admin_token": self.admin_token(),
        })
        .to_string()
    }

    /// Stops serving. (Dropping the emulator does the same.)
    pub async fn shutdown(mut self) {
        self.front.abort();
        let _ = (&mut self.front).await;
        self.mock.take();
        self.admin.take();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.front.abort();
    }
}
