//! What the configuration-driven commands share: the `--config` option, loading the file with
//! the process environment, the async runtime, the vault client, and writing to stdout.

use std::{io::Write as _, path::PathBuf};

use anyhow::{Context as _, Result, anyhow};
use vaultref_core::{Config, ConsumerVault, Environment, KeyVaultBackend, LoaderKind};

/// `--config FILE`, shared by every command that reads `openmetadata.yaml`.
#[derive(clap::Args)]
pub(crate) struct ConfigArg {
    /// The configuration file (OpenMetadata's `openmetadata.yaml` shape, `${VAR}` substituted
    /// from the environment).
    #[arg(
        id = "config",
        long = "config",
        value_name = "FILE",
        env = "VAULTREF_CONFIG"
    )]
    pub(crate) path: PathBuf,
}

impl ConfigArg {
    /// The checked configuration; the error names the file and the key to fix.
    pub(crate) fn load(&self, env: &Environment) -> Result<Config> {
        Config::load(&self.path, env).with_context(|| {
            format!(
                "invalid configuration {} (`vaultref check --config {}` lists every problem)",
                self.path.display(),
                self.path.display()
            )
        })
    }
}

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
    if let Some(kv) = &config.secrets_manager.key_vault {
        return Ok(KeyVaultBackend::from_config(kv, env)?);
    }
    if config.secrets_manager_loader == LoaderKind::Noop {
        return Err(anyhow!(
            "the configuration names no Key Vault: set secretsManagerConfiguration.parameters.\
             vaultName (or vaultUrl), or a pipelineServiceClientConfiguration.\
             secretsManagerLoader (env, airflow)"
        ));
    }
    let vault = ConsumerVault::load_from(config.secrets_manager_loader, env)?;
    Ok(KeyVaultBackend::from_consumer(&vault, env)?)
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
