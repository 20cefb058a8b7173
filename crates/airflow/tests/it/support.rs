//! The emulator the tests run against: TLS on, as Key Vault and Entra are.

use vaultref_emulator::{Emulator, EmulatorConfig};

pub(crate) async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}
