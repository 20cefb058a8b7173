//! `vaultref secret get|set|list|delete|recover|purge`: one Key Vault secret at a time, in the
//! vault the configuration names (`secretsManagerConfiguration.parameters`, else the
//! `secretsManagerLoader`).
//!
//! `get NAME` writes the value to stdout byte for byte, with nothing added; `set NAME` takes
//! the value from stdin byte for byte (use `printf`, not `echo`, to avoid a trailing newline).
//! No other command prints a value. `list` prints names, one a line.

use anyhow::{Result, anyhow};
use futures::TryStreamExt as _;
use vaultref_core::Environment;
use vaultref_fernet::Zeroizing;
use vaultref_keyvault::{
    ListOptions, SecretClient, SecretName, SecretValue, SetSecretOptions, WaitOptions,
};

use crate::input::{MAX_SECRET_VALUE_BYTES, read_limited};
use crate::setup::{self, ConfigArg};

/// Options of `vaultref secret`.
#[derive(clap::Args)]
pub(crate) struct SecretArgs {
    #[command(subcommand)]
    command: SecretCommand,
}

#[derive(clap::Subcommand)]
enum SecretCommand {
    /// Print the value of NAME (latest version) to stdout, with nothing added.
    Get(NameArgs),
    /// Store stdin, byte for byte, as a new version of NAME (with the configured tags).
    Set(NameArgs),
    /// Print the names of the vault's secrets, one a line (no values).
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// List the soft-deleted secrets instead (those `recover` and `purge` act on).
        #[arg(long)]
        deleted: bool,
    },
    /// Soft-delete NAME (it stays recoverable until the vault purges it).
    Delete(NameArgs),
    /// Recover the soft-deleted NAME with all its versions.
    Recover(NameArgs),
    /// Permanently delete the soft-deleted NAME.
    Purge(NameArgs),
}

#[derive(clap::Args)]
struct NameArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The Key Vault secret name (1 to 127 letters, digits and '-').
    name: String,
}

impl NameArgs {
    fn open(&self) -> Result<(SecretClient, SecretName)> {
        let name = SecretName::new(self.name.clone())?;
        let client = client(&self.config)?;
        Ok((client, name))
    }
}

fn client(config: &ConfigArg) -> Result<SecretClient> {
    let env = Environment::from_process();
    let config = config.load(&env)?;
    Ok(setup::key_vault(&config, &env)?.client().clone())
}

pub(crate) fn run(args: SecretArgs) -> Result<()> {
    let runtime = setup::runtime()?;
    runtime.block_on(run_async(args.command))
}

async fn run_async(command: SecretCommand) -> Result<()> {
    match command {
        SecretCommand::Get(args) => {
            let (client, name) = args.open()?;
            let secret = client.get_secret(&name).await?;
            setup::write_stdout(secret.value.expose().as_bytes())
        }
        SecretCommand::Set(args) => {
            let (client, name) = args.open()?;
            let value = read_value()?;
            let env = Environment::from_process();
            let tags = args.config.load(&env)?.secrets_manager.tags;
            let options = SetSecretOptions {
                tags,
                ..SetSecretOptions::default()
            };
            let secret = client.set_secret(&name, &value, &options).await?;
            let version = secret.properties.version.unwrap_or_default();
            setup::print_line(&format!("set {name} (version {version})"))
        }
        SecretCommand::List { config, deleted } => {
            let client = client(&config)?;
            let options = ListOptions::default();
            let mut names: Vec<String> = if deleted {
                client
                    .list_deleted_secrets(&options)?
                    .map_ok(|d| d.properties.name.into_string())
                    .try_collect()
                    .await?
            } else {
                client
                    .list_secrets(&options)?
                    .map_ok(|p| p.name.into_string())
                    .try_collect()
                    .await?
            };
            names.sort();
            let mut out = String::new();
            for name in names {
                out.push_str(&name);
                out.push('\n');
            }
            setup::write_stdout(out.as_bytes())
        }
        SecretCommand::Delete(args) => {
            let (client, name) = args.open()?;
            let deleted = client
                .delete_secret_and_wait(&name, &WaitOptions::default())
                .await?;
            let until = deleted
                .scheduled_purge_date
                .map(|date| format!(", recoverable until {date}"))
                .unwrap_or_default();
            setup::print_line(&format!("deleted {name}{until}"))
        }
        SecretCommand::Recover(args) => {
            let (client, name) = args.open()?;
            client
                .recover_deleted_secret_and_wait(&name, &WaitOptions::default())
                .await?;
            setup::print_line(&format!("recovered {name}"))
        }
        SecretCommand::Purge(args) => {
            let (client, name) = args.open()?;
            client.purge_deleted_secret(&name).await?;
            setup::print_line(&format!("purged {name}"))
        }
    }
}

/// The value on stdin, byte for byte; Key Vault values are text.
fn read_value() -> Result<SecretValue> {
    let mut input = read_limited(
        std::io::stdin().lock(),
        MAX_SECRET_VALUE_BYTES,
        "a secret value (Key Vault takes at most 25 KiB)",
        "stdin",
    )?;
    let text = String::from_utf8(std::mem::take(&mut *input)).map_err(|err| {
        // The bytes are wiped before the error goes anywhere.
        drop(Zeroizing::new(err.into_bytes()));
        anyhow!("the value on stdin is not UTF-8 text: Key Vault stores text values")
    })?;
    Ok(SecretValue::new(text))
}
