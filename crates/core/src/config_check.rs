//! [`Config::check_file`]: the configuration, if it is usable, and every finding about it with
//! its key, in the order a user fixes them. The command line prints them (`vaultref check`);
//! probing the vault and the database is the command's job, not this one's.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use crate::config::{
    Config, KeyVaultConfig, LoaderKind, Node, read_config_file, split_tag, tag_items,
};
use crate::env::{Environment, ignored_variables, referenced_variables, substitute_variables};
use crate::error::Error;
use crate::loader::{ConsumerVault, airflow_config_path};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The configuration cannot be used as it is.
    Problem,
    /// Usable, but not what was probably meant: a later command may fail or surprise.
    Warning,
    /// Worth knowing (which credential is used, and why).
    Note,
}

impl Severity {
    /// `problem`, `warning` or `note`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Problem => "problem",
            Self::Warning => "warning",
            Self::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing [`Config::check_file`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The key it is about (`secretsManagerConfiguration.parameters.vaultName`), when one.
    pub key: Option<String>,
    /// What is wrong and what to do, beginning with the key when there is one.
    pub message: String,
}

impl Finding {
    fn new(severity: Severity, key: Option<String>, message: String) -> Self {
        Self {
            severity,
            key,
            message,
        }
    }

    fn at(severity: Severity, key: &str, problem: &str) -> Self {
        Self::new(severity, Some(key.to_owned()), format!("{key} {problem}"))
    }
}

impl From<Error> for Finding {
    fn from(err: Error) -> Self {
        let key = match &err {
            Error::Config { key, .. } => Some(key.clone()),
            _ => None,
        };
        Self::new(Severity::Problem, key, err.to_string())
    }
}

/// What [`Config::check_file`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConfigCheck {
    /// The file checked.
    pub path: PathBuf,
    /// The configuration, when it has no problem.
    pub config: Option<Config>,
    /// Every finding, problems first in file order, then warnings and notes.
    pub findings: Vec<Finding>,
}

impl ConfigCheck {
    /// How many findings are problems.
    #[must_use]
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .count()
    }
}

/// The sections vaultref reads; each is checked on its own, so that every broken one is found.
const SECTIONS: [&str; 5] = [
    "clusterName",
    "fernetConfiguration",
    "secretsManagerConfiguration",
    "pipelineServiceClientConfiguration",
    "database",
];

/// A valid key that stands in for `fernetConfiguration` while another section is checked.
const PLACEHOLDER_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

impl Config {
    /// Reads and checks the file at `path` completely: variables it reads that are unset,
    /// variables it does not read that are set, every broken section, and what parses but
    /// will not do what it seems to (a tag without a value, `vaultName` beside `vaultUrl`, an
    /// empty `tenantId` beside client credentials, a loader that finds no vault), then which
    /// credential the vault would be reached with.
    #[must_use]
    pub fn check_file(path: &Path, env: &Environment) -> ConfigCheck {
        let mut findings = Vec::new();
        let config = match read_config_file(path) {
            Ok(text) => check_text(&text, env, &mut findings),
            Err(err) => {
                findings.push(err.into());
                None
            }
        };
        findings.sort_by_key(|f| f.severity);
        ConfigCheck {
            path: path.to_owned(),
            config,
            findings,
        }
    }
}

fn check_text(text: &str, env: &Environment, findings: &mut Vec<Finding>) -> Option<Config> {
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for name in referenced_variables(line) {
            let with_default = line.contains(&format!("${{{name}:-"));
            if !with_default && env.get(&name).is_none() {
                findings.push(Finding::new(
                    Severity::Warning,
                    None,
                    format!(
                        "line {}: ${{{name}}} is not set and has no default, so it stays as \
                         written: set {name}, or write ${{{name}:-default}}",
                        number + 1
                    ),
                ));
            }
        }
    }
    for name in ignored_variables(text, env) {
        findings.push(Finding::new(
            Severity::Warning,
            None,
            format!(
                "{name} is set but the file does not read it (no ${{{name}}}): it has no effect"
            ),
        ));
    }
    let substituted = substitute_variables(text, env);
    let Ok(root) = serde_yaml_ng::from_str::<Value>(&substituted) else {
        // Config's own error has the location and the hint.
        findings.extend(Config::parse(text, env).err().map(Finding::from));
        return None;
    };
    let raw: Option<Value> = serde_yaml_ng::from_str(text).ok();
    let broken: Vec<Finding> = SECTIONS
        .iter()
        .filter_map(|section| section_error(&root, raw.as_ref(), section))
        .collect();
    if !broken.is_empty() {
        findings.extend(broken);
        return None;
    }
    match Config::parse(text, env) {
        Ok(config) => {
            let node = Node::root(&root, raw.as_ref());
            surprises(&config, &node, env, findings);
            Some(config)
        }
        Err(err) => {
            findings.push(err.into());
            None
        }
    }
}

/// The error of `section` alone, with a placeholder Fernet key when it is another section.
fn section_error(root: &Value, raw: Option<&Value>, section: &str) -> Option<Finding> {
    let part = |doc: &Value| -> Value {
        let mut out = Mapping::new();
        if let Some(value) = doc.get(section) {
            out.insert(Value::from(section), value.clone());
        }
        if section != "fernetConfiguration" {
            let mut fernet = Mapping::new();
            fernet.insert(Value::from("fernetKey"), Value::from(PLACEHOLDER_KEY));
            out.insert(Value::from("fernetConfiguration"), Value::Mapping(fernet));
        }
        Value::Mapping(out)
    };
    if root.get(section).is_none() && section != "fernetConfiguration" {
        return None;
    }
    let doc = part(root);
    let raw = raw.map(part);
    // Variables were substituted already; the raw part only names them in hints.
    Config::from_values(&doc, raw.as_ref(), &Environment::default())
        .err()
        .map(Finding::from)
}

/// What parses but will not do what the file seems to say.
fn surprises(config: &Config, root: &Node<'_>, env: &Environment, findings: &mut Vec<Finding>) {
    let sm = root.child("secretsManagerConfiguration");
    let tags = sm.child("tags");
    if let Ok(items) = tag_items(&tags) {
        for (index, item) in items.iter().enumerate() {
            if split_tag(item).is_none() {
                findings.push(Finding::at(
                    Severity::Warning,
                    &format!("{}[{index}]", tags.path),
                    &format!(
                        "is `{item}`, without `key:value`: OpenMetadata (and vaultref) skip it, \
                         so no secret gets this tag; write it as key:value"
                    ),
                ));
            }
        }
    }
    let params = sm.child("parameters");
    let set = |key: &str| {
        params
            .child(key)
            .string()
            .ok()
            .flatten()
            .is_some_and(|v| !v.is_empty())
    };
    if set("vaultName") && set("vaultUrl") {
        findings.push(Finding::at(
            Severity::Warning,
            &params.child("vaultName").path,
            "is ignored: parameters.vaultUrl is set too, and it wins; remove the one you do \
             not mean",
        ));
    }
    if let Some(kv) = &config.secrets_manager.key_vault {
        if kv.tenant_id.is_none() && (set("clientId") || set("clientSecret")) {
            findings.push(Finding::at(
                Severity::Warning,
                &params.child("tenantId").path,
                &format!(
                    "is empty, so parameters.clientId and clientSecret are not used: the default \
                     credential chain is (environment, workload identity, managed identity); \
                     set {} to use the client secret",
                    params.child("tenantId").setting()
                ),
            ));
        }
        findings.push(Finding::new(
            Severity::Note,
            None,
            credential_description(kv, env),
        ));
    }
    if config.secrets_manager_loader != LoaderKind::Noop {
        loader_findings(config.secrets_manager_loader, env, findings);
    }
}

/// The consumer loader finds no vault here: consumers on this machine would fail.
fn loader_findings(loader: LoaderKind, env: &Environment, findings: &mut Vec<Finding>) {
    let key = "pipelineServiceClientConfiguration.secretsManagerLoader";
    if loader == LoaderKind::Airflow {
        match airflow_config_path(env) {
            Some(path) if path.exists() => {}
            Some(path) => findings.push(Finding::at(
                Severity::Warning,
                key,
                &format!(
                    "is airflow, and there is no airflow.cfg at {}: consumers read \
                     [openmetadata_secrets_manager] from it (set AIRFLOW_CONFIG or AIRFLOW_HOME \
                     to where it is)",
                    path.display()
                ),
            )),
            None => findings.push(Finding::at(
                Severity::Warning,
                key,
                "is airflow, and neither AIRFLOW_CONFIG, AIRFLOW_HOME nor HOME says where \
                 airflow.cfg is",
            )),
        }
    }
    if let Err(err) = ConsumerVault::load_from(loader, env) {
        findings.push(Finding::new(
            Severity::Warning,
            Some(key.to_owned()),
            format!(
                "the {} loader finds no vault here: {err}",
                loader_name(loader)
            ),
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

/// Which credential reaches the vault, and why; for the default chain, its links in order and
/// which one answers (no endpoint is called to find out).
#[must_use]
pub fn credential_description(kv: &KeyVaultConfig, env: &Environment) -> String {
    if let (Some(tenant), Some(client)) = (&kv.tenant_id, &kv.client_id) {
        return format!(
            "credential: client secret of application {client} in tenant {tenant} (because \
             secretsManagerConfiguration.parameters.tenantId is set)"
        );
    }
    let all = |names: &[&str]| names.iter().all(|n| env.is_set(n));
    let links = [
        (
            "EnvironmentCredential",
            all(&["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]),
            "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
        ),
        (
            "WorkloadIdentityCredential",
            all(&[
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
            ]),
            "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
        ),
        (
            "ManagedIdentityCredential",
            true,
            if env.is_set("IDENTITY_ENDPOINT") {
                "IDENTITY_ENDPOINT (App Service)"
            } else {
                "nothing: it asks the instance metadata service, 169.254.169.254"
            },
        ),
    ];
    let used = links.iter().position(|(_, ready, _)| *ready).unwrap_or(2);
    let described: Vec<String> = links
        .iter()
        .enumerate()
        .map(|(index, (name, ready, needs))| {
            let state = match (index.cmp(&used), ready) {
                (std::cmp::Ordering::Less, _) => "skipped, not configured",
                (std::cmp::Ordering::Equal, _) => "used",
                (std::cmp::Ordering::Greater, _) => "not reached",
            };
            format!("{}. {name} (needs {needs}): {state}", index + 1)
        })
        .collect();
    format!(
        "credential: the default chain, because secretsManagerConfiguration.parameters.tenantId \
         is empty; links in order: {}",
        described.join("; ")
    )
}
