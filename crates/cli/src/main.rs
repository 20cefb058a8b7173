//! The `vaultref` operator command line.
//!
//! `main` only parses the arguments and dispatches: each command group lives in its own module
//! (`fernet`, `emulator`, `check`, `secret`, `resolve`, `airflow`, …) with its own clap subcommand enum and a `run` function. Every failure is
//! reported as ONE line on stderr (`error: <what went wrong>: <what to do>`) with exit status 1;
//! usage errors are clap's, with exit status 2.

mod airflow;
mod check;
mod completions;
mod context;
mod emulator;
mod entities;
mod fernet;
mod hints;
mod input;
mod logging;
mod migrate;
mod output;
mod progress;
mod resolve;
mod scan;
mod secret;
mod setup;

use std::{io::Write as _, process::ExitCode};

use clap::{CommandFactory as _, Parser, Subcommand};

/// Secrets for services, compatible with OpenMetadata's Secrets Manager, on Azure Key Vault.
#[derive(Parser)]
#[command(name = "vaultref", version, about)]
struct Cli {
    #[command(flatten)]
    global: context::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fernet keys and tokens (the `fernet:` values in OpenMetadata's database).
    #[command(subcommand)]
    Fernet(fernet::FernetCommand),
    /// Serve the local Key Vault + Entra ID + managed-identity emulator (see docs/emulator.md).
    Emulator(emulator::EmulatorArgs),
    /// Check a configuration: every invalid setting, then a token and one call to the vault.
    Check(check::CheckArgs),
    /// Read and write Key Vault secrets of the configured vault.
    Secret(secret::SecretArgs),
    /// Print a JSON or YAML document with its `secret:` references replaced by their values.
    Resolve(resolve::ResolveArgs),
    /// Import entities (JSON Lines) through the configured provider, or export them.
    Entities(entities::EntitiesArgs),
    /// Airflow's connections, variables and configuration in Key Vault, as Airflow's
    /// AzureKeyVaultBackend names them (configured from Airflow's own environment).
    #[command(subcommand_required = true)]
    Airflow(airflow::AirflowArgs),
    /// Move every secret of the stored entities to where the configured provider keeps them.
    MigrateSecrets(migrate::MigrateArgs),
    /// Re-encrypt every `fernet:` value in the database under the first configured key.
    RotateFernetKey(migrate::MigrateArgs),
    /// Report every secret left readable in the database (exit 1 if any).
    Scan(scan::ScanArgs),
    /// Print a completion script for a shell (`vaultref completions bash > ...`).
    Completions(completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = context::Context::new(cli.global);
    logging::init(ctx.verbosity);
    let result = match cli.command {
        Command::Fernet(command) => fernet::run(command, &ctx),
        Command::Emulator(args) => emulator::run(args),
        Command::Check(args) => check::run(&args, &ctx),
        Command::Secret(args) => secret::run(args, &ctx),
        Command::Resolve(args) => resolve::run(&args, &ctx),
        Command::Entities(args) => entities::run(args, &ctx),
        Command::Airflow(args) => airflow::run(args, &ctx),
        Command::MigrateSecrets(args) => {
            migrate::run(migrate::Operation::MigrateSecrets, &args, &ctx)
        }
        Command::RotateFernetKey(args) => {
            migrate::run(migrate::Operation::RotateFernetKey, &args, &ctx)
        }
        Command::Scan(args) => scan::run(&args, &ctx),
        Command::Completions(args) => completions::run(&args, Cli::command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // If stderr itself is gone there is nobody left to tell.
            let _ = writeln!(
                std::io::stderr().lock(),
                "error: {}",
                hints::with_hint(&message(&err))
            );
            ExitCode::FAILURE
        }
    }
}

/// The context chain on one line, `outer: inner: ...`, leaving out a cause whose text the line
/// already holds (library errors often include their source in their own message).
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
