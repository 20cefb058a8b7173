//! `vaultref resolve [--config FILE] INPUT`: INPUT (a JSON or YAML file, `-` for stdin) with
//! every `secret:` reference replaced by its value, printed in the format it came in.
//!
//! Input that parses as JSON is JSON (printed pretty, keys in their original order); anything
//! else is read as YAML. Values are read through vaultref-core's `Resolver` (each distinct name
//! once, concurrently). A reference that does not resolve fails the whole command, naming the
//! reference and where it is, and nothing is printed.
//!
//! Which vault: with `--config`, the one consumers of that configuration use
//! (`consumer_backend`); without it, INPUT must be an OpenMetadata workflow file, and its
//! `workflowConfig.openMetadataServerConfig` decides as it does for the ingestion
//! (`secretsManagerProvider`, `secretsManagerLoader`). With both, the configuration wins and a
//! disagreement is a warning on stderr.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use vaultref_core::{
    Config, ConsumerVault, KeyVaultBackend, LoaderKind, ProviderKind, Resolver, ResolverOptions,
    SecretBackend, WorkflowProvider, WorkflowSecrets, consumer_backend,
    replace_references_by_names,
};
use vaultref_fernet::Zeroizing;

use crate::context::Context;
use crate::input::{MAX_DOCUMENT_BYTES, read_all};
use crate::setup;

/// Options of `vaultref resolve`.
#[derive(clap::Args)]
pub(crate) struct ResolveArgs {
    /// The JSON or YAML document to resolve; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
}

/// Where the values come from.
enum Source {
    Vault(std::sync::Arc<dyn SecretBackend>),
    /// The ingestion's `db` provider: a reference's value is its name.
    Names,
}

/// `--config` (the global option) is optional here: an OpenMetadata workflow file's
/// `workflowConfig.openMetadataServerConfig` names the secrets manager and loader itself.
pub(crate) fn run(args: &ResolveArgs, ctx: &Context) -> Result<()> {
    let env = &ctx.env;
    let input = read_all(&args.input, MAX_DOCUMENT_BYTES, "a document to resolve")?;
    let text = std::str::from_utf8(&input).with_context(|| {
        format!(
            "{} is not UTF-8 text: give a JSON or YAML document",
            args.input.display()
        )
    })?;
    // JSON is read into the YAML value type, whose mappings keep their key order.
    let (mut doc, json) = match serde_json::from_str::<serde_yaml_ng::Value>(text) {
        Ok(doc) => (doc, true),
        Err(_) => (
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).with_context(|| {
                format!(
                    "{} is neither JSON nor YAML: fix its syntax",
                    args.input.display()
                )
            })?,
            false,
        ),
    };
    let workflow = WorkflowSecrets::from_document(&doc).with_context(|| {
        format!(
            "{} is a workflow file vaultref cannot follow",
            args.input.display()
        )
    })?;
    let source = match ctx.config_path() {
        Some(_) => {
            let config = ctx.load_config()?;
            if let Some(workflow) = workflow {
                warn_on_disagreement(&config, workflow);
            }
            Source::Vault(consumer_backend(&config, env)?)
        }
        None => match workflow {
            None => {
                return Err(anyhow!(
                    "{} has no workflowConfig.openMetadataServerConfig to say which secrets \
                     manager to read: give --config FILE (or VAULTREF_CONFIG)",
                    args.input.display()
                ));
            }
            Some(WorkflowSecrets {
                provider: WorkflowProvider::Db,
                ..
            }) => Source::Names,
            Some(workflow) => {
                let vault = ConsumerVault::load_from(workflow.loader, env)
                    .context("the workflow's secretsManagerLoader finds no vault")?;
                Source::Vault(std::sync::Arc::new(KeyVaultBackend::from_consumer(
                    &vault, env,
                )?))
            }
        },
    };
    match source {
        Source::Vault(backend) => {
            let resolver = Resolver::new(backend, ResolverOptions::default());
            setup::runtime()?.block_on(resolver.resolve_yaml_references(&mut doc))?;
        }
        Source::Names => {
            let replaced = replace_references_by_names(&mut doc);
            if replaced > 0 {
                setup::note(&format!(
                    "warning: the workflow's secretsManagerProvider is db, whose ingestion passes \
                     a reference on as its name: {replaced} reference(s) replaced by their names, \
                     not read from a vault"
                ));
            }
        }
    }
    // `--output json` prints JSON whatever the input was.
    let output = Zeroizing::new(if json || ctx.json() {
        let mut out = serde_json::to_string_pretty(&doc).context("cannot print the JSON")?;
        out.push('\n');
        out
    } else {
        serde_yaml_ng::to_string(&doc).context("cannot print the YAML")?
    });
    setup::write_stdout(output.as_bytes())
}

/// The configuration decides; a workflow file that says otherwise is probably run elsewhere
/// with other settings, which the user should know.
fn warn_on_disagreement(config: &Config, workflow: WorkflowSecrets) {
    let config_provider = config.secrets_manager.provider;
    let same_provider = match workflow.provider {
        WorkflowProvider::Db => config_provider == ProviderKind::Db,
        WorkflowProvider::AzureKeyVault => matches!(
            config_provider,
            ProviderKind::AzureKeyVault | ProviderKind::ManagedAzureKeyVault
        ),
        _ => false,
    };
    if !same_provider {
        setup::note(&format!(
            "warning: the workflow's secretsManagerProvider is {}, the configuration's \
             secretsManager is {config_provider}: following the configuration",
            workflow.provider
        ));
    }
    if workflow.loader != config.secrets_manager_loader {
        setup::note(&format!(
            "warning: the workflow's secretsManagerLoader is {}, the configuration's is {}: \
             following the configuration",
            loader_name(workflow.loader),
            loader_name(config.secrets_manager_loader)
        ));
    }
}

fn loader_name(loader: LoaderKind) -> &'static str {
    match loader {
        LoaderKind::Env => "env",
        LoaderKind::Airflow => "airflow",
        _ => "noop",
    }
}
