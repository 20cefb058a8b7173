//! `vaultref secret get|set|list|delete|recover|purge`: one Key Vault secret at a time, in the
//! vault the configuration names (`secretsManagerConfiguration.parameters`, else the
//! `secretsManagerLoader`).
//!
//! `get NAME` writes the value to stdout byte for byte, with nothing added; `set NAME` takes
//! the value from stdin byte for byte (use `printf`, not `echo`, to avoid a trailing newline).
//! No other command prints a value. `list` prints names, one a line. Every change to the vault
//! (set, delete, recover, purge) leaves one record in the audit trail, as the store path's do.

use anyhow::{Result, anyhow};
use futures::TryStreamExt as _;
use serde_json::json;
use vaultref_core::{AuditAction, audit_secret_change};
use vaultref_fernet::Zeroizing;
use vaultref_keyvault::{
    ListOptions, SecretClient, SecretName, SecretValue, SetSecretOptions, WaitOptions,
};

use crate::context::Context;
use crate::input::{MAX_SECRET_VALUE_BYTES, read_limited};
use crate::output::{self, rfc3339};
use crate::setup;

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
    Set {
        #[command(flatten)]
        name: NameArgs,
        /// When NAME is soft-deleted, recover it first (with its versions), then write.
        #[arg(long)]
        recover: bool,
    },
    /// Print the names of the vault's secrets, one a line (no values).
    List {
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
    /// The Key Vault secret name (1 to 127 letters, digits and '-').
    name: String,
}

impl NameArgs {
    fn open(&self, ctx: &Context) -> Result<(SecretClient, SecretName)> {
        let name = SecretName::new(self.name.clone())?;
        let client = client(ctx)?;
        Ok((client, name))
    }
}

fn client(ctx: &Context) -> Result<SecretClient> {
    let config = ctx.load_config()?;
    Ok(setup::key_vault(&config, &ctx.env)?.client().clone())
}

pub(crate) fn run(args: SecretArgs, ctx: &Context) -> Result<()> {
    let runtime = setup::runtime()?;
    runtime.block_on(run_async(args.command, ctx))
}

async fn run_async(command: SecretCommand, ctx: &Context) -> Result<()> {
    match command {
        SecretCommand::Get(args) => {
            let (client, name) = args.open(ctx)?;
            let secret = client.get_secret(&name).await?;
            if ctx.json() {
                output::json_line(&json!({
                    "name": name.as_str(),
                    "version": secret.properties.version,
                    "value": secret.value.expose(),
                }))
            } else {
                setup::write_stdout(secret.value.expose().as_bytes())
            }
        }
        SecretCommand::Set {
            name: args,
            recover,
        } => {
            let (client, name) = args.open(ctx)?;
            let value = read_value()?;
            let tags = ctx.load_config()?.secrets_manager.tags;
            let options = SetSecretOptions {
                tags,
                ..SetSecretOptions::default()
            };
            let mut recovered = false;
            let secret = match client.set_secret(&name, &value, &options).await {
                Err(vaultref_keyvault::Error::DeletedButRecoverable { .. }) if recover => {
                    client
                        .recover_deleted_secret_and_wait(&name, &WaitOptions::default())
                        .await?;
                    audit_secret_change(AuditAction::Recover, &name, None);
                    ctx.note(&format!("recovered {name}"));
                    recovered = true;
                    client.set_secret(&name, &value, &options).await?
                }
                other => other?,
            };
            let version = secret.properties.version.unwrap_or_default();
            audit_secret_change(AuditAction::Write, &name, Some(&version));
            output::result(
                ctx,
                &format!("set {name} (version {version})"),
                &json!({"name": name.as_str(), "version": version, "recovered": recovered}),
            )
        }
        SecretCommand::List { deleted } => {
            let client = client(ctx)?;
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
            if ctx.json() {
                return output::json_line(&json!({"deleted": deleted, "names": names}));
            }
            let mut out = String::new();
            for name in names {
                out.push_str(&name);
                out.push('\n');
            }
            setup::write_stdout(out.as_bytes())
        }
        SecretCommand::Delete(args) => {
            let (client, name) = args.open(ctx)?;
            let deleted = client
                .delete_secret_and_wait(&name, &WaitOptions::default())
                .await?;
            audit_secret_change(AuditAction::Delete, &name, None);
            let until = deleted.scheduled_purge_date.map(rfc3339);
            let text = match &until {
                Some(date) => format!("deleted {name}, recoverable until {date}"),
                None => format!("deleted {name}"),
            };
            output::result(
                ctx,
                &text,
                &json!({"name": name.as_str(), "recoverable_until": until}),
            )
        }
        SecretCommand::Recover(args) => {
            let (client, name) = args.open(ctx)?;
            client
                .recover_deleted_secret_and_wait(&name, &WaitOptions::default())
                .await?;
            audit_secret_change(AuditAction::Recover, &name, None);
            output::result(
                ctx,
                &format!("recovered {name}"),
                &json!({"name": name.as_str(), "recovered": true}),
            )
        }
        SecretCommand::Purge(args) => {
            let (client, name) = args.open(ctx)?;
            client.purge_deleted_secret(&name).await?;
            audit_secret_change(AuditAction::Purge, &name, None);
            output::result(
                ctx,
                &format!("purged {name}"),
                &json!({"name": name.as_str(), "purged": true}),
            )
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
