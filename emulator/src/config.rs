//! How to start an emulator.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::access::AccessModel;
use crate::clock::{Clock, SystemClock};
use crate::fault::Fault;
use crate::fault_spec::FaultSpec;

/// Settings for `Emulator::start`. Build with struct-update syntax:
/// `EmulatorConfig { tls: true, ..EmulatorConfig::default() }`.
///
/// `Debug` does not show the client secret.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Serve TLS as well as plain HTTP on the port (the SDKs require https for the vault and
    /// for Entra). Plain HTTP stays available on the same port either way.
    pub tls: bool,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Address to listen on: 127.0.0.1 by default; `0.0.0.0` in a container, whose published
    /// port arrives on its network interface. The URLs handed out still name 127.0.0.1.
    pub listen: IpAddr,
    /// Keep secrets (and the CA key, and the default credentials) here across restarts.
    pub state_dir: Option<PathBuf>,
    /// Name of the vault served at `127.0.0.1:PORT` / `localhost:PORT`.
    pub default_vault: String,
    /// More vaults, served at `https://{name}.localhost:PORT`.
    pub vaults: Vec<String>,
    /// Faults active from the start.
    pub faults: Vec<Fault>,
    /// Lifetime of the access tokens the emulator issues.
    pub token_lifetime: Duration,
    /// A recovered secret stays invisible (404; 409 on set) for this long.
    pub recover_delay: Duration,
    /// A deleted secret is "being deleted" (404 from get-deleted; 409 on set) for this long.
    pub delete_delay: Duration,
    /// Purge protection on every vault: purge answers 403.
    pub purge_protection: bool,
    /// Soft-delete retention in days (7 to 90).
    pub retention_days: u32,
    /// How every vault authorizes calls, which decides the shape of its 403s (access
    /// policies by default; `AccessModel::Rbac` for `ForbiddenByRbac`).
    pub access_model: AccessModel,
    /// The resource named by the vault challenge, which tokens must be issued for. `None`
    /// means `https://localhost:PORT` (`http://` without TLS), which passes both SDKs'
    /// challenge-resource check for vaults at `{name}.localhost:PORT`.
    pub vault_resource: Option<String>,
    /// Fixed tenant id instead of a random GUID.
    pub tenant_id: Option<String>,
    /// Fixed client id of the default app registration instead of a random GUID.
    pub client_id: Option<String>,
    /// Fixed client secret of the default app registration instead of a random one.
    pub client_secret: Option<String>,
    /// The time source for token expiry, timestamps and fault windows.
    pub clock: Arc<dyn Clock>,
    /// Seed for ids, secrets and keys (reproducible runs); `None` uses the OS.
    pub seed: Option<u64>,
    /// How many requests the request log keeps (oldest dropped first).
    pub request_log_capacity: usize,
    /// Serve the admin endpoint (faults and the request log over HTTP, for test suites in any
    /// language; see docs/emulator.md) on this `127.0.0.1` port, 0 for a free one; `None`
    /// (the default) serves none.
    pub admin_port: Option<u16>,
}

impl EmulatorConfig {
    /// Starts the emulator with `spec` in effect: a fault is active from the start, a delay
    /// or token lifetime replaces the configured one.
    pub fn apply(&mut self, spec: FaultSpec) {
        match spec {
            FaultSpec::Fault(fault) => self.faults.push(fault),
            FaultSpec::RecoverDelay(delay) => self.recover_delay = delay,
            FaultSpec::DeleteDelay(delay) => self.delete_delay = delay,
            FaultSpec::TokenLifetime(lifetime) => self.token_lifetime = lifetime,
        }
    }
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("tls", &self.tls)
            .field("port", &self.port)
            .field("listen", &self.listen)
            .field("state_dir", &self.state_dir)
            .field("default_vault", &self.default_vault)
            .field("vaults", &self.vaults)
            .field("faults", &self.faults)
            .field("token_lifetime", &self.token_lifetime)
            .field("recover_delay", &self.recover_delay)
            .field("delete_delay", &self.delete_delay)
            .field("purge_protection", &self.purge_protection)
            .field("retention_days", &self.retention_days)
            .field("access_model", &self.access_model)
            .field("vault_resource", &self.vault_resource)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("clock", &self.clock)
            .field("seed", &self.seed)
            .field("request_log_capacity", &self.request_log_capacity)
            .field("admin_port", &self.admin_port)
            .finish()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            tls: false,
            port: 0,
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            state_dir: None,
            default_vault: "default".to_owned(),
            vaults: Vec::new(),
            faults: Vec::new(),
            token_lifetime: Duration::from_secs(3599),
            recover_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            purge_protection: false,
            retention_days: 90,
            access_model: AccessModel::AccessPolicy,
            vault_resource: None,
            tenant_id: None,
            client_id: None,
            client_secret: None,
            clock: Arc::new(SystemClock),
            seed: None,
            request_log_capacity: 10_000,
            admin_port: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_client_secret() {
        let config = EmulatorConfig {
            client_secret: Some("do-not-print-me".into()),
            ..EmulatorConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("do-not-print-me"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
