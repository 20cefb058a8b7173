//! The configuration: OpenMetadata's `openmetadata.yaml` shape, checked into domain types.
//!
//! The file is read as text, `${VAR}` references are substituted from an injected
//! [`Environment`], the result is parsed as YAML, and the sections vaultref uses are checked one
//! value at a time so that every error names its key and what to set. Unknown sections and keys
//! are ignored, as OpenMetadata's server ignores what it does not read.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_yaml_ng::Value;
use url::Url;
use vaultref_transport::{
    EndpointRole, check_endpoint, describe_size, read_file_limited, redact_url,
};

use crate::env::{Environment, substitute_variables};
use crate::error::{Error, Result};
use crate::naming::LongNamePolicy;

/// The largest configuration file read (OpenMetadata's `openmetadata.yaml` is about 40 KiB).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Key Vault's default permits per second for writes and deletes (OpenMetadata's default).
pub const DEFAULT_RATE_LIMIT_PERMITS_PER_SECOND: f64 = 10.0;

/// The whole configuration vaultref reads from an `openmetadata.yaml`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Config {
    /// `clusterName` (default `openmetadata`): the first component of every secret id.
    pub cluster_name: String,
    /// `fernetConfiguration.fernetKey`: one key or a comma-separated list (first encrypts).
    pub fernet_key: SecretString,
    /// `secretsManagerConfiguration`.
    pub secrets_manager: SecretsManagerConfig,
    /// `pipelineServiceClientConfiguration.secretsManagerLoader`.
    pub secrets_manager_loader: LoaderKind,
    /// `database`, when present.
    pub database: Option<DatabaseConfig>,
    /// `secretFieldCatalog` (vaultref only): a custom secret-field catalog file whose entries
    /// are added to the built-in catalog (custom connection types, in-house fields).
    pub catalog_file: Option<std::path::PathBuf>,
}

/// `secretsManagerConfiguration`.
#[derive(Debug)]
#[non_exhaustive]
pub struct SecretsManagerConfig {
    /// `secretsManager` (default `db`).
    pub provider: ProviderKind,
    /// `prefix` (default empty).
    pub prefix: String,
    /// `tags`, parsed as OpenMetadata parses them (see [`parse_tags`]).
    pub tags: BTreeMap<String, String>,
    /// The Key Vault to use: required for `managed-azure-kv`, optional for `azure-kv` (where
    /// only consumers resolving references read it), absent otherwise.
    pub key_vault: Option<KeyVaultConfig>,
    /// `parameters.rateLimitPermitsPerSecond` (default 10): writes and deletes per second.
    pub rate_limit_permits_per_second: f64,
    /// `parameters.expiresAfterDays`: written secrets expire that many days after each write.
    pub expires_after_days: Option<u32>,
    /// `parameters.longSecretNames` (vaultref only): `refuse` (default) or `shorten` names over
    /// Key Vault's 127 characters.
    pub long_names: LongNamePolicy,
}

/// Where the Key Vault is and how to authenticate to it (`secretsManagerConfiguration.parameters`).
#[derive(Debug)]
#[non_exhaustive]
pub struct KeyVaultConfig {
    /// `parameters.vaultUrl`, or `https://<parameters.vaultName>.vault.azure.net/`; always ends with `/`.
    pub vault_url: Url,
    /// `parameters.tenantId`: when set, a client-secret credential is used; otherwise the default
    /// credential chain (environment, workload identity, managed identity).
    pub tenant_id: Option<String>,
    /// `parameters.clientId`.
    pub client_id: Option<String>,
    /// `parameters.clientSecret`.
    pub client_secret: Option<SecretString>,
    /// `parameters.authorityHost`: Entra ID's authority (default: the public cloud's).
    pub authority_host: Option<Url>,
    /// `parameters.caCertFile`, else the `SSL_CERT_FILE` environment variable: extra CA
    /// certificates (PEM) to trust.
    pub ca_cert_file: Option<PathBuf>,
}

/// `secretsManagerConfiguration.secretsManager`: the providers vaultref supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// `db`: secrets stay in the database, Fernet-encrypted; `secret:` values kept as written.
    Db,
    /// `managed-azure-kv`: secrets are written to Azure Key Vault and replaced by `secret:<name>`.
    ManagedAzureKeyVault,
    /// `azure-kv`: non-managed; the server writes nothing, users type `secret:<name>` references
    /// to secrets they created in Key Vault.
    AzureKeyVault,
    /// `in-memory`: managed, in a process-local map (tests and demos).
    InMemory,
}

impl ProviderKind {
    /// OpenMetadata's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Db => "db",
            Self::ManagedAzureKeyVault => "managed-azure-kv",
            Self::AzureKeyVault => "azure-kv",
            Self::InMemory => "in-memory",
        }
    }

    /// Whether the server writes secrets to a backend (managed mode).
    #[must_use]
    pub fn is_managed(self) -> bool {
        matches!(self, Self::ManagedAzureKeyVault | Self::InMemory)
    }

    /// Parses OpenMetadata's provider names.
    ///
    /// # Errors
    /// [`Error::Config`] for OpenMetadata providers vaultref does not implement and unknown names.
    pub fn parse(name: &str) -> Result<Self> {
        const KEY: &str = "secretsManagerConfiguration.secretsManager";
        match name {
            "db" => Ok(Self::Db),
            "managed-azure-kv" => Ok(Self::ManagedAzureKeyVault),
            "azure-kv" => Ok(Self::AzureKeyVault),
            "in-memory" => Ok(Self::InMemory),
            "noop" => Err(Error::config(
                KEY,
                "is `noop`, which OpenMetadata 1.3.0 renamed `db`: set it to db",
            )),
            "managed-aws" | "aws" | "managed-aws-ssm" | "aws-ssm" | "gcp" | "kubernetes"
            | "openbao" | "managed-openbao" => Err(Error::config(
                KEY,
                format!(
                    "is `{name}`, an OpenMetadata provider not supported by vaultref: \
                     use managed-azure-kv, azure-kv, db or in-memory"
                ),
            )),
            other => Err(Error::config(
                KEY,
                format!(
                    "is `{other}`, which is not a secrets manager: \
                     use managed-azure-kv, azure-kv, db or in-memory"
                ),
            )),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `pipelineServiceClientConfiguration.secretsManagerLoader`: how ingestion finds the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoaderKind {
    /// `noop` (default): no credentials for the consumer.
    Noop,
    /// `env`: the vault name from `AZURE_KEY_VAULT_NAME`, credentials from the default chain.
    Env,
    /// `airflow`: from Airflow's `[openmetadata_secrets_manager]` configuration section.
    Airflow,
}

/// `database`: where the entity store is.
#[non_exhaustive]
pub enum DatabaseConfig {
    /// A sqlx URL (`postgres://`, `mysql://`, `sqlite://`); it may embed a password.
    Url(SecretString),
    /// OpenMetadata's JDBC form: `url: jdbc:mysql://host:3306/db?...` with `user` and `password`.
    Jdbc {
        /// The `jdbc:` URL.
        url: String,
        /// `user`.
        user: String,
        /// `password`.
        password: SecretString,
    },
}

impl fmt::Debug for DatabaseConfig {
    /// The sqlx URL may hold a password, so only its scheme is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use secrecy::ExposeSecret;
        match self {
            Self::Url(url) => {
                let scheme = url.expose_secret().split(':').next().unwrap_or_default();
                f.debug_tuple("Url")
                    .field(&format_args!("{scheme}:[REDACTED]"))
                    .finish()
            }
            Self::Jdbc { url, user, .. } => f
                .debug_struct("Jdbc")
                .field("url", &redact_url(url))
                .field("user", user)
                .field("password", &"[REDACTED]")
                .finish(),
        }
    }
}

impl Config {
    /// Reads and checks the configuration file at `path`.
    ///
    /// # Errors
    /// [`Error::ConfigRead`] when the file cannot be read, else as [`Config::parse`].
    pub fn load(path: &Path, env: &Environment) -> Result<Self> {
        Self::parse(&read_config_file(path)?, env)
    }

    /// Substitutes `${VAR}` references in `text` from `env`, parses YAML and checks the values.
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] for invalid YAML, [`Error::Config`] for the first invalid value.
    pub fn parse(text: &str, env: &Environment) -> Result<Self> {
        let substituted = substitute_variables(text, env);
        let root: Value = serde_yaml_ng::from_str(&substituted).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            Error::ConfigSyntax {
                line,
                column,
                message: e.to_string(),
            }
        })?;
        // The file as written (before substitution), when it parses: which variable a key reads.
        let raw: Option<Value> = serde_yaml_ng::from_str(text).ok();
        Self::from_values(&root, raw.as_ref(), env)
    }

    /// Checks the values of `root` (the substituted YAML); `raw` is the same file before
    /// substitution, for hints that name the variable a key reads.
    pub(crate) fn from_values(
        root: &Value,
        raw: Option<&Value>,
        env: &Environment,
    ) -> Result<Self> {
        let root = Node::root(root, raw);
        if !matches!(root.value, Some(Value::Mapping(_) | Value::Null) | None) {
            return Err(Error::config(
                "the configuration",
                "is not a YAML mapping: start from the example in docs/configuration.md",
            ));
        }
        let cluster_name = root
            .child("clusterName")
            .string()?
            .unwrap_or_else(|| "openmetadata".to_owned());
        if cluster_name.is_empty() {
            let node = root.child("clusterName");
            return Err(node.error(format!(
                "is empty: set {} (OpenMetadata's default is `openmetadata`)",
                node.setting()
            )));
        }
        let fernet_key = fernet_key(&root.child("fernetConfiguration").child("fernetKey"))?;
        let secrets_manager = secrets_manager(&root.child("secretsManagerConfiguration"), env)?;
        let secrets_manager_loader = loader(
            &root
                .child("pipelineServiceClientConfiguration")
                .child("secretsManagerLoader"),
        )?;
        let database = database(&root.child("database"))?;
        let catalog_file = root
            .child("secretFieldCatalog")
            .string()?
            .filter(|path| !path.is_empty())
            .map(std::path::PathBuf::from);
        Ok(Self {
            cluster_name,
            fernet_key,
            secrets_manager,
            secrets_manager_loader,
            database,
            catalog_file,
        })
    }
}

/// The text of a configuration file (vaultref's, or Airflow's for the `airflow` loader), read
/// with a cap of [`MAX_CONFIG_BYTES`] so that a wrong path (`/dev/zero`, a log file) fails
/// fast.
///
/// # Errors
/// [`Error::ConfigRead`] when the file cannot be read, is larger than the cap or is not UTF-8.
pub fn read_config_file(path: &Path) -> Result<String> {
    let read_error = |source: std::io::Error| Error::ConfigRead {
        path: path.to_owned(),
        source,
    };
    let bytes = read_file_limited(path, MAX_CONFIG_BYTES).map_err(|e| {
        read_error(if e.kind() == std::io::ErrorKind::FileTooLarge {
            std::io::Error::new(
                e.kind(),
                format!(
                    "it is larger than {}, the most a configuration file may hold: is this the right file?",
                    describe_size(MAX_CONFIG_BYTES)
                ),
            )
        } else {
            e
        })
    })?;
    String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })
}

fn fernet_key(node: &Node<'_>) -> Result<SecretString> {
    let key = node.string()?.unwrap_or_default();
    if key.is_empty() {
        return Err(node.error(format!(
            "is empty: set {} (`vaultref fernet generate-key` makes one)",
            node.setting()
        )));
    }
    if key == "no_encryption_at_rest" {
        return Err(node.error(format!(
            "is no_encryption_at_rest, which vaultref does not support: secrets left in the \
             database must be encrypted; set {} to a key",
            node.setting()
        )));
    }
    if let Err(problem) = vaultref_fernet::KeyRing::parse(&key) {
        // KeyError names the entry by position and never echoes it.
        return Err(node.error(format!("is not a valid Fernet key list: {problem}")));
    }
    Ok(SecretString::from(key))
}

fn secrets_manager(node: &Node<'_>, env: &Environment) -> Result<SecretsManagerConfig> {
    let provider_node = node.child("secretsManager");
    let provider = match provider_node.string()? {
        None => ProviderKind::Db,
        Some(name) if name.is_empty() => {
            return Err(provider_node.error(format!(
                "is empty: set {} to managed-azure-kv, azure-kv, db or in-memory",
                provider_node.setting()
            )));
        }
        Some(name) => ProviderKind::parse(&name)?,
    };
    let prefix = node.child("prefix").string()?.unwrap_or_default();
    let tags = tags(&node.child("tags"))?;
    let params = node.child("parameters");
    if !matches!(params.value, None | Some(Value::Null | Value::Mapping(_))) {
        return Err(params.error("must be a mapping of parameter names to values"));
    }
    let rate = params.child("rateLimitPermitsPerSecond");
    let rate_limit_permits_per_second = match rate.string()? {
        None => DEFAULT_RATE_LIMIT_PERMITS_PER_SECOND,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => n,
            _ => {
                return Err(rate.error(format!(
                    "is `{text}`: set a positive number of writes per second (default {DEFAULT_RATE_LIMIT_PERMITS_PER_SECOND})"
                )));
            }
        },
    };
    let expires = params.child("expiresAfterDays");
    let expires_after_days = match expires.string()? {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(days) if days > 0 => Some(days),
            _ => {
                return Err(expires.error(format!(
                    "is `{text}`: set a whole number of days greater than 0, or remove it"
                )));
            }
        },
    };
    let long_node = params.child("longSecretNames");
    let long_names = match long_node.string()?.as_deref() {
        None | Some("" | "refuse") => LongNamePolicy::Refuse,
        Some("shorten") => LongNamePolicy::Shorten,
        Some(other) => {
            return Err(long_node.error(format!(
                "is `{other}`: set refuse (names over 127 characters are an error) or shorten \
                 (they are cut and given a hash suffix)"
            )));
        }
    };
    let key_vault = key_vault(&params, provider, env)?;
    Ok(SecretsManagerConfig {
        provider,
        prefix,
        tags,
        key_vault,
        rate_limit_permits_per_second,
        expires_after_days,
        long_names,
    })
}

fn key_vault(
    params: &Node<'_>,
    provider: ProviderKind,
    env: &Environment,
) -> Result<Option<KeyVaultConfig>> {
    let name_node = params.child("vaultName");
    let url_node = params.child("vaultUrl");
    let vault_name = name_node.string()?.filter(|s| !s.is_empty());
    let vault_url = url_node.string()?.filter(|s| !s.is_empty());
    let vault_url = match (vault_url, vault_name) {
        (Some(url), _) => http_url(&url_node, &url, EndpointRole::Vault)?,
        (None, Some(name)) => {
            let Some(url) = public_vault_url(&name) else {
                return Err(name_node.error(format!(
                    "is `{name}`, not a Key Vault name (3 to 24 letters, digits and '-'): \
                     set {} to the vault's name, or parameters.vaultUrl",
                    name_node.setting()
                )));
            };
            http_url(&name_node, &url, EndpointRole::Vault)?
        }
        (None, None) if provider == ProviderKind::ManagedAzureKeyVault => {
            return Err(name_node.error(format!(
                "is empty: set {} or parameters.vaultUrl",
                name_node.setting()
            )));
        }
        (None, None) => return Ok(None),
    };
    let tenant_id = params.child("tenantId").string()?.filter(|s| !s.is_empty());
    let client_id = params.child("clientId").string()?.filter(|s| !s.is_empty());
    let client_secret = params
        .child("clientSecret")
        .string()?
        .filter(|s| !s.is_empty());
    if tenant_id.is_some() {
        for (key, value) in [
            ("clientId", client_id.is_some()),
            ("clientSecret", client_secret.is_some()),
        ] {
            if !value {
                let node = params.child(key);
                return Err(node.error(format!(
                    "is empty while parameters.tenantId is set: set {}, or clear tenantId to \
                     use the default credential chain",
                    node.setting()
                )));
            }
        }
    }
    let authority_node = params.child("authorityHost");
    let authority_host = match authority_node.string()?.filter(|s| !s.is_empty()) {
        Some(text) => Some(http_url(&authority_node, &text, EndpointRole::Authority)?),
        None => None,
    };
    let ca_cert_file = params
        .child("caCertFile")
        .string()?
        .filter(|s| !s.is_empty())
        .or_else(|| env.var(vaultref_transport::SSL_CERT_FILE))
        .map(PathBuf::from);
    Ok(Some(KeyVaultConfig {
        vault_url,
        tenant_id,
        client_id,
        client_secret: client_secret.map(SecretString::from),
        authority_host,
        ca_cert_file,
    }))
}

/// Parses an endpoint URL for `role` and makes its path end with `/`.
fn http_url(node: &Node<'_>, text: &str, role: EndpointRole) -> Result<Url> {
    parse_http_url(text, role).map_err(|problem| node.error(problem))
}

/// Parses an `http(s)` URL with a host for `role` and makes its path end with `/`: TLS unless
/// on loopback, no user name or password, and for a vault no query. The error says what is
/// wrong; it never shows user info or a query, and text that is not a URL is described, not
/// repeated: a mistyped URL holds whatever was pasted or substituted into it
/// (`${OM_SM_CLIENT_SECRET}` in the wrong place).
///
/// # Errors
/// What is wrong with the URL and how to write it, as a message to put after its key.
pub fn parse_http_url(text: &str, role: EndpointRole) -> std::result::Result<Url, String> {
    let mut url = Url::parse(text).map_err(|e| {
        format!(
            "is not a URL ({e}; {} characters): write it as https://host[:port]/",
            text.chars().count()
        )
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(format!(
            "is `{}:`, a URL{}: it must be an https:// (or, on loopback, http://) URL with a host",
            url.scheme(),
            if url.host().is_none() {
                " without a host"
            } else {
                ""
            }
        ));
    }
    let shown = redact_url(text);
    check_endpoint(&url, role).map_err(|e| format!("is `{shown}`, refused: {e}"))?;
    if role == EndpointRole::Vault && (url.query().is_some() || url.fragment().is_some()) {
        return Err(format!(
            "is `{shown}` with a query or fragment, which a vault URL never has: remove it"
        ));
    }
    // An authority's query means nothing to Entra ID; it is dropped, as the credentials do.
    vaultref_transport::make_base_url(&mut url);
    Ok(url)
}

/// `https://<name>.vault.azure.net/` (public cloud, as OpenMetadata builds it), when `name` is
/// a Key Vault name: 3 to 24 letters, digits and '-'.
pub(crate) fn public_vault_url(name: &str) -> Option<String> {
    let valid = (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| format!("https://{name}.vault.azure.net/"))
}

fn loader(node: &Node<'_>) -> Result<LoaderKind> {
    match node.string()?.as_deref() {
        None | Some("" | "noop") => Ok(LoaderKind::Noop),
        Some("env") => Ok(LoaderKind::Env),
        Some("airflow") => Ok(LoaderKind::Airflow),
        Some(other) => Err(node.error(format!(
            "is `{other}`: set {} to noop, env or airflow",
            node.setting()
        ))),
    }
}

fn database(node: &Node<'_>) -> Result<Option<DatabaseConfig>> {
    if matches!(node.value, None | Some(Value::Null)) {
        return Ok(None);
    }
    let url_node = node.child("url");
    let Some(url) = url_node.string()?.filter(|s| !s.is_empty()) else {
        return Err(url_node.error(
            "is empty: set a sqlx URL (postgres://, mysql://, sqlite://) or OpenMetadata's \
             jdbc: URL with database.user and database.password",
        ));
    };
    if url.starts_with("jdbc:") {
        let user_node = node.child("user");
        let Some(user) = user_node.string()?.filter(|s| !s.is_empty()) else {
            return Err(user_node.error(format!(
                "is empty while database.url is a jdbc: URL: set {}",
                user_node.setting()
            )));
        };
        let password = node.child("password").string()?.unwrap_or_default();
        return Ok(Some(DatabaseConfig::Jdbc {
            url,
            user,
            password: SecretString::from(password),
        }));
    }
    if ![
        "postgres://",
        "postgresql://",
        "mysql://",
        "mariadb://",
        "sqlite:",
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme))
    {
        // The URL is not echoed: it may embed a password.
        return Err(url_node.error(
            "is not a supported database URL: use postgres://, mysql://, sqlite: or \
             OpenMetadata's jdbc:mysql:// / jdbc:postgresql:// form",
        ));
    }
    Ok(Some(DatabaseConfig::Url(SecretString::from(url))))
}

/// A YAML scalar as text (numbers and booleans as YAML wrote them).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A possibly absent value, the same place in the file as written (before substitution), and
/// its dotted path, for error messages.
pub(crate) struct Node<'a> {
    pub(crate) value: Option<&'a Value>,
    raw: Option<&'a Value>,
    pub(crate) path: String,
}

impl<'a> Node<'a> {
    pub(crate) fn root(value: &'a Value, raw: Option<&'a Value>) -> Self {
        Self {
            value: Some(value),
            raw,
            path: String::new(),
        }
    }

    pub(crate) fn child(&self, key: &str) -> Node<'a> {
        let get = |node: Option<&'a Value>| match node {
            Some(Value::Mapping(map)) => map.get(key),
            _ => None,
        };
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Node {
            value: get(self.value),
            raw: get(self.raw),
            path,
        }
    }

    /// The `index`th item of a list.
    pub(crate) fn item(&self, index: usize, value: &'a Value) -> Node<'a> {
        let raw = match self.raw {
            Some(Value::Sequence(seq)) => seq.get(index),
            _ => None,
        };
        Node {
            value: Some(value),
            raw,
            path: format!("{}[{index}]", self.path),
        }
    }

    /// What a user sets to change this value: the variable the file reads here (`${NAME}`),
    /// else the key itself. A hint never names a variable the file does not read.
    pub(crate) fn setting(&self) -> String {
        let read = match self.raw {
            Some(Value::String(text)) => crate::env::referenced_variables(text),
            _ => std::collections::BTreeSet::new(),
        };
        match read.into_iter().next() {
            Some(name) => name,
            None => self.path.clone(),
        }
    }

    /// The value as text: `None` when absent or null; an error for lists and mappings.
    pub(crate) fn string(&self) -> Result<Option<String>> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(value) => scalar(value)
                .map(Some)
                .ok_or_else(|| self.error("must be a single value, not a list or a mapping")),
        }
    }

    fn error(&self, problem: impl Into<String>) -> Error {
        Error::config(self.path.clone(), problem)
    }
}

mod tags;
#[cfg(test)]
mod tests;

use tags::tags;
pub use tags::{OWNER_TAG, parse_tags};
pub(crate) use tags::{split_tag, tag_items};
