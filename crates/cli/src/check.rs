//! `vaultref check`: is this configuration usable, and if not, what to fix.
//!
//! The file's findings come from core (`Config::check_file`: every broken section, variables
//! unset or set but unread, settings that parse but will not do what they seem to, the
//! credential that will be used and why). Then, when it names a Key Vault, a token is fetched
//! and the identity's permissions are probed on the vault without changing anything: list one
//! name, then get, update and delete a name that does not exist (404 means allowed, 403 not).
//! A `database` block is connected to, its layout told (OpenMetadata's tables by release, or
//! vaultref's own, and the tables a release lacks) and its entity tables counted. One line per
//! finding (`ok:`, `note:`, `warning:`, `problem:`), or one JSON document with `--output json`.
//! Any problem: exit 1.

use anyhow::{Result, anyhow};
use futures::StreamExt as _;
use serde_json::{Value, json};
use vaultref_core::{Config, DatabaseConfig, Environment, ProviderKind, Severity};
use vaultref_keyvault::{ListOptions, SecretClient, SecretName, SecretUpdate};
use vaultref_store::LayoutKind;

use crate::context::Context;
use crate::hints::with_hint;
use crate::setup;

/// Options of `vaultref check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Do not probe whether the identity may set and delete secrets (the probes change
    /// nothing: they address a name that does not exist).
    #[arg(long)]
    no_write_probe: bool,
}

/// The findings, printed as they come (text) or gathered into one document (JSON).
struct Report<'c> {
    ctx: &'c Context,
    problems: usize,
    findings: Vec<Value>,
    permissions: serde_json::Map<String, Value>,
    /// The database's layout and rows, when one was reached.
    database: Value,
}

impl Report<'_> {
    fn line(&mut self, level: &str, key: Option<&str>, text: &str) -> Result<()> {
        let text = with_hint(text);
        if level == "problem" {
            self.problems += 1;
        }
        if self.ctx.json() {
            self.findings
                .push(json!({"level": level, "key": key, "message": text}));
            Ok(())
        } else {
            setup::print_line(&format!("{level}: {text}"))
        }
    }
    fn ok(&mut self, text: &str) -> Result<()> {
        self.line("ok", None, text)
    }
    fn note(&mut self, text: &str) -> Result<()> {
        self.line("note", None, text)
    }
    fn warning(&mut self, text: &str) -> Result<()> {
        self.line("warning", None, text)
    }
    fn problem(&mut self, text: &str) -> Result<()> {
        self.line("problem", None, text)
    }
}

pub(crate) fn run(args: &CheckArgs, ctx: &Context) -> Result<()> {
    let path = ctx.required_config_path()?;
    let env = &ctx.env;
    let mut report = Report {
        ctx,
        problems: 0,
        findings: Vec::new(),
        permissions: serde_json::Map::new(),
        database: Value::Null,
    };
    let checked = Config::check_file(path, env);
    let mut provider = None;
    for finding in &checked.findings {
        let level = match finding.severity {
            Severity::Problem => "problem",
            Severity::Warning => "warning",
            _ => "note",
        };
        // The file's validity comes first, as users read it; notes follow it.
        if level == "note" {
            continue;
        }
        report.line(level, finding.key.as_deref(), &finding.message)?;
    }
    match &checked.config {
        Some(config) => {
            provider = Some(config.secrets_manager.provider.as_str());
            report.ok(&describe(path, config))?;
            for finding in checked
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Note)
            {
                report.line("note", finding.key.as_deref(), &finding.message)?;
            }
            check_vault(config, env, args, &mut report)?;
            check_database(config, &mut report)?;
        }
        None => report.warning("the vault was not checked: fix the configuration first")?,
    }
    let problems = report.problems;
    if problems == 0 {
        report.ok("everything checked works")?;
    }
    if ctx.json() {
        crate::output::json_line(&json!({
            "config": path.display().to_string(),
            "provider": provider,
            "ok": problems == 0,
            "problems": problems,
            "permissions": Value::Object(std::mem::take(&mut report.permissions)),
            "database": report.database.take(),
            "findings": report.findings,
        }))?;
    }
    if problems > 0 {
        return Err(anyhow!(
            "{problems} problem(s) in {}: fix them and run `vaultref check` again",
            path.display()
        ));
    }
    Ok(())
}

/// One line saying what the configuration asks for (no secret values).
fn describe(path: &std::path::Path, config: &Config) -> String {
    let sm = &config.secrets_manager;
    let vault = sm.key_vault.as_ref().map_or_else(
        || "no Key Vault".to_owned(),
        |kv| vaultref_transport::redact(&kv.vault_url),
    );
    let database = match &config.database {
        None => "no database".to_owned(),
        Some(DatabaseConfig::Url(url)) => {
            use secrecy::ExposeSecret as _;
            let scheme = url.expose_secret().split(':').next().unwrap_or_default();
            format!("a {scheme} database")
        }
        Some(DatabaseConfig::Jdbc { url, .. }) => {
            let scheme = url.split(':').nth(1).unwrap_or_default();
            format!("a {scheme} database (JDBC)")
        }
        Some(_) => "a database".to_owned(),
    };
    format!(
        "{} is valid: provider {}, clusterName `{}`, {vault}, {database}",
        path.display(),
        sm.provider,
        config.cluster_name
    )
}

/// Builds the vault client, gets a token, lists one secret name, then probes the other
/// permissions.
fn check_vault(
    config: &Config,
    env: &Environment,
    args: &CheckArgs,
    report: &mut Report<'_>,
) -> Result<()> {
    let provider = config.secrets_manager.provider;
    if config.secrets_manager.key_vault.is_none() {
        let what = match provider {
            ProviderKind::Db => "secrets stay in the database, Fernet-encrypted",
            ProviderKind::InMemory => "secrets are kept in process memory (tests and demos)",
            _ => "no vault is configured",
        };
        report.ok(&format!(
            "provider {provider}: {what}; no Key Vault to connect to"
        ))?;
        if provider == ProviderKind::AzureKeyVault {
            report.warning(
                "azure-kv without secretsManagerConfiguration.parameters: consumers find the \
                 vault through pipelineServiceClientConfiguration.secretsManagerLoader",
            )?;
        }
        return Ok(());
    }
    let backend = match setup::key_vault(config, env) {
        Ok(backend) => backend,
        Err(err) => return report.problem(&format!("{err:#}")),
    };
    let client = backend.client();
    let vault = client.vault_url().to_string();
    report.ok(&format!("Key Vault client for {vault} set up"))?;
    let runtime = setup::runtime()?;
    let first = runtime.block_on(async {
        let mut names = client.list_secrets(&ListOptions {
            max_results: Some(1),
        })?;
        names.next().await.transpose()
    });
    match first {
        Ok(_) => {
            report
                .permissions
                .insert("list".to_owned(), json!("allowed"));
            report.ok(&format!(
                "got a token from Entra ID and listed secrets of {vault}"
            ))?;
        }
        Err(err @ vaultref_keyvault::Error::Transport { .. }) => {
            return report.problem(&format!(
                "{err} (in this configuration: secretsManagerConfiguration.parameters.caCertFile \
                 or the SSL_CERT_FILE environment variable)"
            ));
        }
        Err(err) => {
            if matches!(err, vaultref_keyvault::Error::Forbidden { .. }) {
                report
                    .permissions
                    .insert("list".to_owned(), json!("denied"));
            }
            return report.problem(&err.to_string());
        }
    }
    runtime.block_on(probe_permissions(
        client,
        provider,
        !args.no_write_probe,
        report,
    ))
}

/// Get, update and delete a name that does not exist: Key Vault checks the permission first,
/// so 404 means allowed and 403 denied, and nothing changes either way.
async fn probe_permissions(
    client: &SecretClient,
    provider: ProviderKind,
    writes: bool,
    report: &mut Report<'_>,
) -> Result<()> {
    let mut suffix = [0_u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| anyhow!("no randomness for the probe name: {e}"))?;
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let name = SecretName::new(format!("vaultref-check-probe-{hex}"))?;
    let managed = provider.is_managed();
    let mut probes = vec![("get", true)];
    if writes {
        probes.push(("set", managed));
        probes.push(("delete", managed));
    }
    for (permission, needed) in probes {
        let outcome = match permission {
            "get" => client.get_secret(&name).await.map(drop),
            "set" => client
                .update_secret_properties(&name, None, &SecretUpdate::default())
                .await
                .map(drop),
            _ => client.delete_secret(&name).await.map(drop),
        };
        let state = match outcome {
            Err(vaultref_keyvault::Error::NotFound { .. }) => "allowed",
            Err(vaultref_keyvault::Error::Forbidden { .. }) => "denied",
            // The name does not exist: a success cannot happen; anything else is unknown.
            _ => "unknown",
        };
        report
            .permissions
            .insert(permission.to_owned(), json!(state));
        let role = if managed {
            "Key Vault Secrets Officer"
        } else {
            "Key Vault Secrets User"
        };
        match (state, needed) {
            ("allowed", _) => report.ok(&format!("the identity may {permission} secrets"))?,
            ("denied", true) => report.problem(&format!(
                "the identity may not {permission} secrets, which provider {provider} needs: \
                 grant it {role} on the vault (or the {permission} secret permission)"
            ))?,
            ("denied", false) => report.note(&format!(
                "the identity may not {permission} secrets; provider {provider} does not need to"
            ))?,
            _ => report.warning(&format!(
                "could not tell whether the identity may {permission} secrets"
            ))?,
        }
    }
    if !writes {
        report.note("set and delete were not probed (--no-write-probe)")?;
    }
    Ok(())
}

/// Connects to the configured database, tells its layout and counts the rows of the entity
/// tables.
fn check_database(config: &Config, report: &mut Report<'_>) -> Result<()> {
    if config.database.is_none() {
        return report
            .note("no database block: entities, migrate-secrets and rotate-fernet-key need one");
    }
    let runtime = setup::runtime()?;
    runtime.block_on(async {
        let store = match vaultref_store::Store::from_config(config).await {
            Ok(store) => store,
            Err(err) => return report.problem(&format!("database: {err}")),
        };
        report.ok(&format!(
            "connected to the database {}",
            store.redacted_url()
        ))?;
        let layout = match store.layout().await {
            Ok(layout) => layout,
            Err(err) => {
                store.close().await;
                return report.problem(&format!("database: cannot tell its layout: {err}"));
            }
        };
        let (kind, release) = match layout.kind() {
            LayoutKind::OpenMetadata { release } => ("openmetadata", release.clone()),
            LayoutKind::Vaultref => ("vaultref", None),
            _ => ("empty", None),
        };
        let empty = matches!(layout.kind(), LayoutKind::Empty);
        if empty {
            report.warning(
                "database layout: no entity tables: `vaultref entities import` creates \
                 vaultref's tables, or point database at OpenMetadata's database",
            )?;
        } else {
            report.ok(&format!("database layout: {layout}"))?;
        }
        let mut rows = 0;
        let mut failure = None;
        for entity_type in crate::setup::entity_types() {
            match store.count(entity_type).await {
                Ok(n) => rows += n,
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        store.close().await;
        report.database = json!({
            "layout": kind,
            "release": release,
            "missing_tables": layout.missing_tables(),
            "rows": failure.is_none().then_some(rows),
        });
        match failure {
            Some(err) => report.problem(&format!("database: {err}")),
            None if empty => Ok(()),
            None => report.ok(&format!("the entity tables hold {rows} row(s)")),
        }
    })
}
