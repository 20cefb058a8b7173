//! What the benchmarks share: a secrets manager's configuration against the emulator.

use std::sync::Arc;

use vaultref_core::{Config, Environment, KeyVaultBackend};
use vaultref_emulator::Emulator;

/// The configuration of `provider` (`azure-kv`, `managed-azure-kv`, `db`) against `emu` (with
/// TLS), with `extra` lines appended under `parameters` (each indented by four spaces).
pub(crate) fn config(emu: &Emulator, provider: &str, extra: &str) -> Config {
    let yaml = format!(
        "clusterName: openmetadata\n\
         fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\n\
         secretsManagerConfiguration:\n  secretsManager: {provider}\n  parameters:\n    \
         vaultUrl: {}\n    tenantId: {}\n    clientId: {}\n    clientSecret: {}\n    \
         authorityHost: {}\n    caCertFile: {}\n{extra}",
        emu.vault_url(),
        emu.tenant_id(),
        emu.client_id(),
        emu.client_secret(),
        emu.authority_host(),
        emu.ca_cert_path().expect("TLS is on").display(),
    );
    Config::parse(&yaml, &Environment::default()).expect("configuration")
}

/// The Key Vault backend `config` describes.
pub(crate) fn key_vault_backend(config: &Config) -> Arc<KeyVaultBackend> {
    let kv = config.secrets_manager.key_vault.as_ref().expect("a vault");
    Arc::new(KeyVaultBackend::from_config(kv, &Environment::default()).expect("backend"))
}
