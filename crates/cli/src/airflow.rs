//! `vaultref airflow get-connection|get-variable|get-config|set-connection|set-variable|list`:
//! Airflow's secrets in Key Vault, named, read and written as Airflow's `AzureKeyVaultBackend`
//! does, configured as that backend is (no vaultref configuration file):
//! `AIRFLOW__SECRETS__BACKEND_KWARGS` (else `[secrets] backend_kwargs` of airflow.cfg), the
//! `AZURE_*` / `IDENTITY_*` variables its credentials read, `[core] multi_team`, CA
//! certificates from `SSL_CERT_FILE` or `REQUESTS_CA_BUNDLE`.
//!
//! `get-variable` and `get-config` print the value alone, nothing added; `get-connection` the
//! stored value as it is (URI or JSON), or with `--output json` its fields. Absent (no secret,
//! a null prefix, a name Key Vault cannot hold): status 1 and one line saying why.
//! `set-variable` stores stdin byte for byte; `set-connection` reads a connection in either of
//! Airflow's forms from stdin and stores it as given, or re-written in the `--form` asked.

use std::io::Read as _;

use anyhow::{Context as _, Result, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};
use vaultref_airflow::{
    AirflowBackend, AirflowConnection, AirflowKind, AirflowSettings, ConnectionForm, NameCandidate,
    NamePlan,
};
use vaultref_core::ResolverOptions;
use vaultref_fernet::Zeroizing;

use crate::setup;

/// Options of `vaultref airflow`.
#[derive(clap::Args)]
pub(crate) struct AirflowArgs {
    #[command(subcommand)]
    command: AirflowCommand,
}

/// `--output` (the global option): `text`, values as stored; `json`, one JSON document (a
/// connection's fields).
use crate::context::Format as Output;

#[derive(clap::Subcommand)]
enum AirflowCommand {
    /// Print the connection ID as stored (URI or JSON), nothing added; `--output json`: its fields.
    GetConnection(Lookup),
    /// Print the variable KEY, nothing added.
    GetVariable(Lookup),
    /// Print the configuration option KEY (e.g. `sql_alchemy_conn`), nothing added.
    GetConfig {
        /// The option, as Airflow asks for it.
        key: String,
    },
    /// Store the connection on stdin (URI or JSON) as ID.
    SetConnection {
        #[command(flatten)]
        lookup: Lookup,
        /// Store it in this form (re-written as Airflow writes it); default: as given.
        #[arg(long, value_enum)]
        form: Option<Form>,
    },
    /// Store stdin, byte for byte, as the variable KEY.
    SetVariable(Lookup),
    /// List the vault's secrets under the backend's prefixes: kind, name and, when vaultref
    /// wrote it, the id (no values).
    List,
}

#[derive(clap::Args)]
struct Lookup {
    /// The connection id or variable key, as Airflow asks for it.
    id: String,
    /// Look up (or store) as a task of this team does (`[core] multi_team`): the team-scoped
    /// name first, then the global one.
    #[arg(long)]
    team: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Form {
    Uri,
    Json,
}

pub(crate) fn run(args: AirflowArgs, ctx: &crate::context::Context) -> Result<()> {
    let env = &ctx.env;
    let settings = AirflowSettings::load_from(env)
        .context("the Airflow Key Vault backend's settings are invalid")?;
    for note in &settings.notes {
        setup::note(&format!("note: {note}"));
    }
    let mut options = ResolverOptions::default();
    options.ttl_seconds = settings.cache_ttl_seconds;
    let runtime = setup::runtime()?;
    runtime.block_on(async {
        let backend = AirflowBackend::connect(&settings, env, options)?;
        run_command(&backend, args.command, ctx.output).await
    })
}

async fn run_command(
    backend: &AirflowBackend,
    command: AirflowCommand,
    output: Output,
) -> Result<()> {
    match command {
        AirflowCommand::GetConnection(lookup) => {
            let value = backend
                .get_conn_value(&lookup.id, lookup.team.as_deref())
                .await?;
            let value = found(backend, AirflowKind::Connection, &lookup, value)?;
            match output {
                Output::Text => setup::write_stdout(value.expose_secret().as_bytes()),
                Output::Json => {
                    let connection = AirflowConnection::parse(value.expose_secret())?;
                    let mut fields = Zeroizing::new(connection.to_dict_json(&lookup.id));
                    fields.push('\n');
                    setup::write_stdout(fields.as_bytes())
                }
            }
        }
        AirflowCommand::GetVariable(lookup) => {
            let value = backend
                .get_variable(&lookup.id, lookup.team.as_deref())
                .await?;
            let value = found(backend, AirflowKind::Variable, &lookup, value)?;
            print_value(&lookup.id, &value, output)
        }
        AirflowCommand::GetConfig { key } => {
            let value = backend.get_config(&key).await?;
            let lookup = Lookup {
                id: key,
                team: None,
            };
            let value = found(backend, AirflowKind::Config, &lookup, value)?;
            print_value(&lookup.id, &value, output)
        }
        AirflowCommand::SetConnection { lookup, form } => {
            let input = read_stdin()?;
            let connection = AirflowConnection::parse(input.expose_secret())
                .context("stdin is not a connection Airflow can read")?;
            let (value, stored_form) = match form {
                None => {
                    // As given (Airflow strips the value before reading it too).
                    let trimmed = input.expose_secret().trim();
                    (SecretString::from(trimmed), ConnectionForm::of(trimmed))
                }
                Some(Form::Uri) => (
                    SecretString::from(connection.to_uri()?),
                    ConnectionForm::Uri,
                ),
                Some(Form::Json) => (
                    SecretString::from(connection.to_json()),
                    ConnectionForm::Json,
                ),
            };
            if stored_form == ConnectionForm::Uri {
                let losses = connection.uri_losses()?;
                if !losses.is_empty() {
                    setup::note(&format!(
                        "warning: Airflow will not read back the same {} from the URI form (a URI \
                         has no description, and hosts are read lower-cased): --form json keeps them",
                        losses.join(", ")
                    ));
                }
            }
            let name = backend
                .set(
                    AirflowKind::Connection,
                    &lookup.id,
                    lookup.team.as_deref(),
                    &value,
                )
                .await?;
            let form = if stored_form == ConnectionForm::Uri {
                "uri"
            } else {
                "json"
            };
            print_written(
                AirflowKind::Connection,
                &lookup,
                name.as_str(),
                Some(form),
                output,
            )
        }
        AirflowCommand::SetVariable(lookup) => {
            let value = read_stdin()?;
            let name = backend
                .set_variable(&lookup.id, lookup.team.as_deref(), &value)
                .await?;
            print_written(AirflowKind::Variable, &lookup, name.as_str(), None, output)
        }
        AirflowCommand::List => {
            let listed = backend.list().await?;
            let out = match output {
                Output::Text => listed
                    .iter()
                    .map(|s| {
                        format!(
                            "{}\t{}\t{}\n",
                            s.kind,
                            s.name,
                            s.id.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<String>(),
                Output::Json => {
                    let items: Vec<serde_json::Value> = listed
                        .iter()
                        .map(|s| {
                            serde_json::json!({"kind": s.kind.as_str(), "name": s.name, "id": s.id, "team": s.team})
                        })
                        .collect();
                    format!("{}\n", serde_json::Value::Array(items))
                }
            };
            setup::write_stdout(out.as_bytes())
        }
    }
}

/// The value, or the error saying why Airflow would get none.
fn found(
    backend: &AirflowBackend,
    kind: AirflowKind,
    lookup: &Lookup,
    value: Option<SecretString>,
) -> Result<SecretString> {
    if let Some(value) = value {
        return Ok(value);
    }
    let id = &lookup.id;
    let why = match backend.naming().plan(kind, id, lookup.team.as_deref()) {
        NamePlan::Disabled => format!(
            "{kind} lookups are off ({} is null in AIRFLOW__SECRETS__BACKEND_KWARGS)",
            kind.prefix_kwarg()
        ),
        NamePlan::AmbiguousTeamId { normalized } => format!(
            "`{normalized}` holds the team separator `--`, which Airflow refuses in multi-team mode"
        ),
        NamePlan::Names(names) => {
            let described: Vec<String> = names
                .iter()
                .map(|n| match n {
                    NameCandidate::Valid(name) => format!("{name} (not in the vault)"),
                    NameCandidate::Invalid(name) => {
                        format!("{name} (not a valid Key Vault name, so never looked up)")
                    }
                })
                .collect();
            format!("looked up {}", described.join(", then "))
        }
    };
    Err(anyhow!("no {kind} `{id}`: {why}"))
}

fn print_value(key: &str, value: &SecretString, output: Output) -> Result<()> {
    match output {
        Output::Text => setup::write_stdout(value.expose_secret().as_bytes()),
        Output::Json => {
            let mut doc = Zeroizing::new(
                serde_json::json!({"key": key, "value": value.expose_secret()}).to_string(),
            );
            doc.push('\n');
            setup::write_stdout(doc.as_bytes())
        }
    }
}

fn print_written(
    kind: AirflowKind,
    lookup: &Lookup,
    name: &str,
    form: Option<&str>,
    output: Output,
) -> Result<()> {
    match output {
        Output::Text => {
            let form = form.map(|f| format!(" ({f} form)")).unwrap_or_default();
            setup::print_line(&format!("set {kind} `{}` as {name}{form}", lookup.id))
        }
        Output::Json => setup::print_line(
            &serde_json::json!({"kind": kind.as_str(), "id": lookup.id, "team": lookup.team, "name": name, "form": form})
                .to_string(),
        ),
    }
}

/// Stdin, byte for byte, as text.
fn read_stdin() -> Result<SecretString> {
    let mut input = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .context("cannot read stdin")?;
    match std::str::from_utf8(&input) {
        Ok(text) => Ok(SecretString::from(text)),
        Err(_) => bail!("stdin is not UTF-8 text: Key Vault stores text values"),
    }
}
