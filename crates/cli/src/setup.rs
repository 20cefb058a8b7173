//! What the configuration-driven commands share: the async runtime, the vault client, and
//! writing to stdout and stderr (`--config` and the other global options are `context`'s).

use std::io::Write as _;

use anyhow::{Context as _, Result};
use vaultref_core::{Config, Environment, KeyVaultBackend};

/// A runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The Key Vault `config` points at: its `secretsManagerConfiguration.parameters` when they
/// name a vault, else the vault the `secretsManagerLoader` (`env`, `airflow`) finds.
pub(crate) fn key_vault(config: &Config, env: &Environment) -> Result<KeyVaultBackend> {
    Ok(KeyVaultBackend::for_consumers(config, env)?)
}

/// Writes `bytes` to stdout as they are and flushes.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes one line of text to stdout.
pub(crate) fn print_line(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes one line of text to stderr (progress and notes; failures go through `main`).
pub(crate) fn note(text: &str) {
    // If stderr is gone there is nobody left to tell.
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
