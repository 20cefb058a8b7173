//! `vaultref check --config FILE`: is this configuration usable, and if not, what to fix.
//!
//! The report goes to stdout, one line per finding: `ok: ...`, `note: ...`, `warning: ...` (suspicious but
//! usable) or `problem: <key> <what to fix>`. The configuration is checked section by section,
//! so every broken section is reported, not only the first. When it names a Key Vault, a
//! token is fetched and one cheap call is made (list one secret name), which proves the
//! address, the TLS trust, the credential and the read permission. A `database` block is
//! connected to and its entity tables counted. Any problem: exit 1.

use anyhow::{Result, anyhow};
use futures::StreamExt as _;
use serde_yaml_ng::{Mapping, Value};
use vaultref_core::{
    Config, DatabaseConfig, Environment, ProviderKind, read_config_file, substitute_variables,
};
use vaultref_keyvault::ListOptions;

use crate::setup::{self, ConfigArg};

/// Options of `vaultref check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    config: ConfigArg,
}

/// The sections vaultref reads; each is checked on its own.
const SECTIONS: [&str; 5] = [
    "clusterName",
    "fernetConfiguration",
    "secretsManagerConfiguration",
    "pipelineServiceClientConfiguration",
    "database",
];

/// A valid key that stands in for `fernetConfiguration` while another section is checked.
const PLACEHOLDER_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn ok(&self, text: &str) -> Result<()> {
        setup::print_line(&format!("ok: {text}"))
    }
    fn note(&self, text: &str) -> Result<()> {
        setup::print_line(&format!("note: {text}"))
    }
    fn warning(&self, text: &str) -> Result<()> {
        setup::print_line(&format!("warning: {text}"))
    }
    fn problem(&mut self, text: &str) -> Result<()> {
        self.problems += 1;
        setup::print_line(&format!("problem: {text}"))
    }
}

pub(crate) fn run(args: &CheckArgs) -> Result<()> {
    let env = Environment::from_process();
    let path = &args.config.path;
    let mut report = Report::default();
    match check_file(args, &env, &mut report)? {
        Some(config) => {
            check_vault(&config, &env, &mut report)?;
            check_database(&config, &mut report)?;
        }
        None => report.warning("the vault was not checked: fix the configuration first")?,
    }
    if report.problems > 0 {
        return Err(anyhow!(
            "{} problem(s) in {}: fix them and run `vaultref check` again",
            report.problems,
            path.display()
        ));
    }
    report.ok("everything checked works")
}

/// Checks the file section by section; the configuration when every section is valid.
fn check_file(args: &CheckArgs, env: &Environment, report: &mut Report) -> Result<Option<Config>> {
    let path = &args.config.path;
    let text = match read_config_file(path) {
        Ok(text) => text,
        Err(err) => {
            report.problem(&err.to_string())?;
            return Ok(None);
        }
    };
    for (line, name) in unset_variables(&text, env) {
        report.warning(&format!(
            "line {line}: ${{{name}}} is not set and has no default, so it stays as written: \
             set {name}, or write ${{{name}:-default}}"
        ))?;
    }
    let substituted = substitute_variables(&text, env);
    let root: Value = match serde_yaml_ng::from_str(&substituted) {
        Ok(root) => root,
        Err(_) => {
            // Config's own error has the location and the hint.
            if let Err(err) = Config::parse(&text, env) {
                report.problem(&err.to_string())?;
            }
            return Ok(None);
        }
    };
    let mut broken = 0;
    for section in SECTIONS {
        if let Some(err) = section_error(&root, section)? {
            report.problem(&err)?;
            broken += 1;
        }
    }
    if broken > 0 {
        return Ok(None);
    }
    match Config::parse(&text, env) {
        Ok(config) => {
            report.ok(&describe(path, &config))?;
            Ok(Some(config))
        }
        Err(err) => {
            report.problem(&err.to_string())?;
            Ok(None)
        }
    }
}

/// The error of `section` alone (with a placeholder Fernet key when it is another section).
fn section_error(root: &Value, section: &str) -> Result<Option<String>> {
    let mut doc = Mapping::new();
    if let Some(value) = root.get(section) {
        doc.insert(Value::from(section), value.clone());
    } else if section != "fernetConfiguration" {
        return Ok(None);
    }
    if section != "fernetConfiguration" {
        let mut fernet = Mapping::new();
        fernet.insert(Value::from("fernetKey"), Value::from(PLACEHOLDER_KEY));
        doc.insert(Value::from("fernetConfiguration"), Value::Mapping(fernet));
    }
    let text = serde_yaml_ng::to_string(&Value::Mapping(doc))
        .map_err(|e| anyhow!("cannot re-read the section {section}: {e}"))?;
    // Variables were substituted already; an empty environment keeps the rest as written.
    Ok(Config::parse(&text, &Environment::default())
        .err()
        .map(|e| e.to_string()))
}

/// `${NAME}` references (no default) whose variable is unset, with their line.
fn unset_variables(text: &str, env: &Environment) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = line;
        while let Some(pos) = rest.find("${") {
            let escaped = pos > 0 && rest.as_bytes()[pos - 1] == b'$';
            let body = &rest[pos + 2..];
            let Some(end) = body.find('}') else { break };
            let inner = &body[..end];
            if !escaped && !inner.contains(":-") && env.get(inner).is_none() {
                found.push((index + 1, inner.to_owned()));
            }
            rest = &body[end + 1..];
        }
    }
    found
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

/// Builds the vault client, gets a token and lists one secret name.
fn check_vault(config: &Config, env: &Environment, report: &mut Report) -> Result<()> {
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
    let vault = backend.client().vault_url().to_string();
    report.ok(&format!("Key Vault client for {vault} set up"))?;
    let runtime = setup::runtime()?;
    let first = runtime.block_on(async {
        let mut names = backend.client().list_secrets(&ListOptions {
            max_results: Some(1),
        })?;
        names.next().await.transpose()
    });
    match first {
        Ok(_) => {
            report.ok(&format!(
                "got a token from Entra ID and listed secrets of {vault}"
            ))?;
            if provider.is_managed() {
                report.note(
                    "managed mode also writes and deletes secrets: the identity needs set and \
                     delete too (Key Vault Secrets Officer), which this check does not try",
                )?;
            }
        }
        Err(err @ vaultref_keyvault::Error::Transport { .. }) => report.problem(&format!(
            "{err} (in this configuration: secretsManagerConfiguration.parameters.caCertFile \
             or the SSL_CERT_FILE environment variable)"
        ))?,
        Err(err) => report.problem(&err.to_string())?,
    }
    Ok(())
}

/// Connects to the configured database and counts the rows of the entity tables.
fn check_database(config: &Config, report: &mut Report) -> Result<()> {
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
        let mut rows = 0;
        for entity_type in crate::entities::entity_types() {
            match store.count(entity_type).await {
                Ok(n) => rows += n,
                Err(_) => {
                    report.warning(&format!(
                        "the database has no table {}: `vaultref entities import` creates the \
                         tables, or point database.url at an OpenMetadata database",
                        vaultref_store::table_name(entity_type)
                    ))?;
                    store.close().await;
                    return Ok(());
                }
            }
        }
        store.close().await;
        report.ok(&format!("the entity tables hold {rows} row(s)"))
    })
}
