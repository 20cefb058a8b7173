//! An in-process TLS emulator and configuration files pointing at it, for the commands that
//! talk to Key Vault.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use vaultref_emulator::{Emulator, EmulatorConfig, Identity as EmuIdentity, Permissions};

/// OpenMetadata's default Fernet key.
pub(crate) use vaultref_testkit::FERNET_KEY as KEY;

/// A TLS emulator on 127.0.0.1:0 (its runtime keeps serving while the test runs the binary)
/// and a temporary directory for configuration files.
pub(crate) struct Vault {
    pub(crate) emulator: Emulator,
    pub(crate) dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

/// Where a configuration gets its credential from.
pub(crate) struct Identity<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a str,
}

impl Vault {
    pub(crate) fn start() -> Self {
        Self::start_with(EmulatorConfig::default())
    }

    /// A TLS emulator started with `config` (named vaults, faults, clock, log capacity, ...).
    pub(crate) fn start_with(config: EmulatorConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime.block_on(vaultref_testkit::tls_emulator_with(config));
        Self {
            emulator,
            dir: tempfile::tempdir().unwrap(),
            runtime,
        }
    }

    /// Asserts that the vault's secret `name` holds `value`.
    #[track_caller]
    pub(crate) fn assert_secret(&self, name: &str, value: &str) {
        let held = self.emulator.secret_value(name);
        assert_eq!(held.as_deref(), Some(value), "secret {name}");
    }

    /// Runs `future` on the emulator's runtime.
    #[allow(dead_code)]
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The default app registration (read-write).
    pub(crate) fn app(&self) -> Identity<'_> {
        Identity {
            client_id: self.emulator.client_id(),
            client_secret: self.emulator.client_secret(),
        }
    }

    /// Registers the app `client_id` (with `client_secret` and `permissions`) and writes a
    /// configuration for it, as [`Vault::config`].
    pub(crate) fn config_for_app(
        &self,
        file: &str,
        client_id: &str,
        client_secret: &str,
        permissions: Permissions,
    ) -> PathBuf {
        self.emulator
            .add_app(EmuIdentity::app(client_id, client_secret), permissions);
        self.config(
            file,
            &Identity {
                client_id,
                client_secret,
            },
        )
    }

    /// A managed-azure-kv configuration for `identity`, trusting the emulator's CA.
    pub(crate) fn config(&self, file: &str, identity: &Identity<'_>) -> PathBuf {
        self.config_with(file, identity, true, "")
    }

    /// The same, with or without the CA file and with `extra` YAML at the end.
    pub(crate) fn config_with(
        &self,
        file: &str,
        identity: &Identity<'_>,
        trust_ca: bool,
        extra: &str,
    ) -> PathBuf {
        let (vault, authority) = (self.emulator.vault_url(), self.emulator.authority_host());
        let endpoints = Endpoints {
            vault: vault.as_str(),
            authority: authority.as_str(),
        };
        self.config_for(file, identity, &endpoints, trust_ca, extra)
    }

    /// The same, for other vault and authority URLs (an unreachable port, URLs that must be
    /// refused).
    pub(crate) fn config_for(
        &self,
        file: &str,
        identity: &Identity<'_>,
        endpoints: &Endpoints<'_>,
        trust_ca: bool,
        extra: &str,
    ) -> PathBuf {
        let emu = &self.emulator;
        let ca = if trust_ca {
            format!(
                "    caCertFile: {}\n",
                emu.ca_cert_path().unwrap().display()
            )
        } else {
            String::new()
        };
        let text = format!(
            "clusterName: openmetadata\n\
             fernetConfiguration:\n  fernetKey: ${{FERNET_KEY:-{KEY}}}\n\
             secretsManagerConfiguration:\n  secretsManager: ${{SECRET_MANAGER:-managed-azure-kv}}\n  prefix: \"\"\n  tags: [team:data]\n\
             \x20 parameters:\n    vaultUrl: {vault}\n    tenantId: {tenant}\n    clientId: {client}\n    clientSecret: {secret}\n    authorityHost: {authority}\n{ca}{extra}",
            vault = endpoints.vault,
            tenant = emu.tenant_id(),
            client = identity.client_id,
            secret = identity.client_secret,
            authority = endpoints.authority,
        );
        write(self.dir.path(), file, &text)
    }
}

/// The vault and authority URLs a configuration names.
pub(crate) struct Endpoints<'a> {
    pub(crate) vault: &'a str,
    pub(crate) authority: &'a str,
}

/// Writes `text` to `dir/file`.
pub(crate) fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}
