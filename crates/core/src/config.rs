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

use crate::custody::OWNER_TAG;
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
                "is `noop`, which OpenMetadata 1.3.0 renamed `db`: set SECRET_MANAGER=db",
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
        let root = Node::root(&root);
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
            return Err(Error::config(
                "clusterName",
                "is empty: set OPENMETADATA_CLUSTER_NAME or clusterName (OpenMetadata's default is `openmetadata`)",
            ));
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
        return Err(node.error(
            "is empty: set FERNET_KEY or fernetConfiguration.fernetKey \
             (`vaultref fernet generate-key` makes one)",
        ));
    }
    if key == "no_encryption_at_rest" {
        return Err(node.error(
            "is no_encryption_at_rest, which vaultref does not support: secrets left in the \
             database must be encrypted; set FERNET_KEY to a key",
        ));
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
            return Err(provider_node.error(
                "is empty: set SECRET_MANAGER to managed-azure-kv, azure-kv, db or in-memory",
            ));
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
                     set OM_SM_VAULT_NAME to the vault's name, or parameters.vaultUrl"
                )));
            };
            http_url(&name_node, &url, EndpointRole::Vault)?
        }
        (None, None) if provider == ProviderKind::ManagedAzureKeyVault => {
            return Err(name_node.error("is empty: set OM_SM_VAULT_NAME or parameters.vaultUrl"));
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
        if client_id.is_none() {
            return Err(params.child("clientId").error(
                "is empty while parameters.tenantId is set: set OM_SM_CLIENT_ID, or clear \
                 tenantId to use the default credential chain",
            ));
        }
        if client_secret.is_none() {
            return Err(params.child("clientSecret").error(
                "is empty while parameters.tenantId is set: set OM_SM_CLIENT_SECRET, or clear \
                 tenantId to use the default credential chain",
            ));
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
pub(crate) fn parse_http_url(text: &str, role: EndpointRole) -> std::result::Result<Url, String> {
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
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `https://<name>.vault.azure.net/` (public cloud, as OpenMetadata builds it), when `name` is
/// a Key Vault name: 3 to 24 letters, digits and '-'.
pub(crate) fn public_vault_url(name: &str) -> Option<String> {
    let valid = (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| format!("https://{name}.vault.azure.net/"))
}

fn tags(node: &Node<'_>) -> Result<BTreeMap<String, String>> {
    let items: Vec<String> = match node.value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(seq)) => {
            let mut items = Vec::with_capacity(seq.len());
            for (i, item) in seq.iter().enumerate() {
                let item_node = Node {
                    value: Some(item),
                    path: format!("{}[{i}]", node.path),
                };
                match item {
                    // `[k1:v1]` in a YAML flow list is a string; `- k1: v1` is a one-entry map.
                    Value::Mapping(map) if map.len() == 1 => {
                        let (k, v) = map
                            .iter()
                            .next()
                            .map(|(k, v)| (scalar(k), scalar(v)))
                            .unwrap_or_default();
                        match (k, v) {
                            (Some(k), Some(v)) => items.push(format!("{k}:{v}")),
                            _ => return Err(item_node.error("must be a `key:value` string")),
                        }
                    }
                    _ => match item_node.string()? {
                        Some(s) => items.push(s),
                        None => return Err(item_node.error("must be a `key:value` string")),
                    },
                }
            }
            items
        }
        Some(_) => {
            return Err(node.error(
                "must be a list of `key:value` strings, e.g. SECRET_MANAGER_TAGS=[team:data,env:prod]",
            ));
        }
    };
    let tags = parse_tags(&items);
    // Key Vault refuses the write otherwise (400 BadParameter), for every secret; vaultref
    // adds its ownership tag to every write.
    if tags.len() > MAX_TAGS - 1 {
        return Err(node.error(format!(
            "has {} tags, over the {} Key Vault leaves beside vaultref's own \
             ({OWNER_TAG}; {MAX_TAGS} per secret): remove some",
            tags.len(),
            MAX_TAGS - 1
        )));
    }
    if tags.contains_key(OWNER_TAG) {
        return Err(node.error(format!(
            "has a tag named {OWNER_TAG}, which vaultref sets itself to name the deployment \
             that wrote a secret: remove it"
        )));
    }
    if let Some((key, _)) = tags
        .iter()
        .find(|(k, v)| k.chars().count() > MAX_TAG_LEN || v.chars().count() > MAX_TAG_LEN)
    {
        return Err(node.error(format!(
            "has a tag (`{}…`) whose name or value is over Key Vault's {MAX_TAG_LEN} characters: \
             shorten it",
            key.chars().take(20).collect::<String>()
        )));
    }
    Ok(tags)
}

/// Key Vault's limits on a secret's tags.
const MAX_TAGS: usize = 15;
const MAX_TAG_LEN: usize = 512;

/// Parses tags exactly as OpenMetadata's `getTags` does: each string is split on `:` like
/// Java's `String.split` (trailing empty parts dropped); part 0 is the key and part 1 the value,
/// further parts are ignored, nothing is trimmed; a string without a value is skipped with a
/// warning; a repeated key keeps its last value.
#[must_use]
pub fn parse_tags<S: AsRef<str>>(items: &[S]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for item in items {
        let item = item.as_ref();
        let mut parts: Vec<&str> = item.split(':').collect();
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() < 2 {
            tracing::warn!(
                tag = item,
                "skipping secretsManagerConfiguration.tags entry without `key:value`"
            );
            continue;
        }
        tags.insert(parts[0].to_owned(), parts[1].to_owned());
    }
    tags
}

fn loader(node: &Node<'_>) -> Result<LoaderKind> {
    match node.string()?.as_deref() {
        None | Some("" | "noop") => Ok(LoaderKind::Noop),
        Some("env") => Ok(LoaderKind::Env),
        Some("airflow") => Ok(LoaderKind::Airflow),
        Some(other) => Err(node.error(format!(
            "is `{other}`: set PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER to noop, env or airflow"
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
            return Err(user_node.error("is empty while database.url is a jdbc: URL: set DB_USER"));
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

/// A possibly absent value and its dotted path in the file, for error messages.
struct Node<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> Node<'a> {
    fn root(value: &'a Value) -> Self {
        Self {
            value: Some(value),
            path: String::new(),
        }
    }

    fn child(&self, key: &str) -> Node<'a> {
        let value = match self.value {
            Some(Value::Mapping(map)) => map.get(key),
            _ => None,
        };
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Node { value, path }
    }

    /// The value as text: `None` when absent or null; an error for lists and mappings.
    fn string(&self) -> Result<Option<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config> {
        Config::parse(text, &Environment::from_pairs(env.iter().copied()))
    }

    fn minimal(extra: &str) -> String {
        format!("fernetConfiguration:\n  fernetKey: {KEY}\n{extra}")
    }

    /// Checks that `text` is refused with an error on `key` whose message contains `hint`.
    fn check_error(text: &str, env: &[(&str, &str)], key: &str, hint: &str) {
        match parse(text, env) {
            Err(Error::Config { key: k, problem }) => {
                assert_eq!(k, key, "{problem}");
                assert!(problem.contains(hint), "{k} {problem}");
            }
            other => panic!("expected an error on {key}, got {other:?}"),
        }
    }

    #[test]
    fn the_design_example_parses_with_defaults() {
        let text = include_str!("../tests/data/openmetadata.yaml");
        let config = parse(text, &[]).unwrap();
        assert_eq!(config.cluster_name, "openmetadata");
        assert_eq!(config.fernet_key.expose_secret(), KEY);
        let sm = &config.secrets_manager;
        assert_eq!(sm.provider, ProviderKind::ManagedAzureKeyVault);
        assert_eq!(sm.prefix, "");
        assert!(sm.tags.is_empty());
        let kv = sm.key_vault.as_ref().unwrap();
        assert_eq!(kv.vault_url.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(kv.tenant_id, None);
        assert_eq!(
            kv.authority_host.as_ref().unwrap().as_str(),
            "https://127.0.0.1:8443/"
        );
        assert_eq!(
            kv.ca_cert_file.as_deref(),
            Some(Path::new("/path/to/emulator-ca.pem"))
        );
        assert_eq!(config.secrets_manager_loader, LoaderKind::Noop);
        assert!(matches!(config.database, Some(DatabaseConfig::Url(_))));
        assert!((sm.rate_limit_permits_per_second - 10.0).abs() < f64::EPSILON);
        assert_eq!(sm.long_names, LongNamePolicy::Refuse);
    }

    #[test]
    fn environment_values_feed_the_yaml() {
        let text = include_str!("../tests/data/openmetadata.yaml");
        let config = parse(
            text,
            &[
                ("OPENMETADATA_CLUSTER_NAME", "prod_cluster"),
                ("SECRET_MANAGER", "azure-kv"),
                ("SECRET_MANAGER_PREFIX", "om"),
                (
                    "SECRET_MANAGER_TAGS",
                    "[team:data,env:prod:eu,broken,team:platform]",
                ),
                ("OM_SM_TENANT_ID", "tenant"),
                ("OM_SM_CLIENT_ID", "client"),
                ("OM_SM_CLIENT_SECRET", "s3cret"),
                ("PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER", "airflow"),
            ],
        )
        .unwrap();
        assert_eq!(config.cluster_name, "prod_cluster");
        let sm = &config.secrets_manager;
        assert_eq!(sm.provider, ProviderKind::AzureKeyVault);
        assert_eq!(sm.prefix, "om");
        let tags: Vec<(&str, &str)> = sm
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(tags, [("env", "prod"), ("team", "platform")]);
        let kv = sm.key_vault.as_ref().unwrap();
        assert_eq!(kv.tenant_id.as_deref(), Some("tenant"));
        assert_eq!(kv.client_secret.as_ref().unwrap().expose_secret(), "s3cret");
        assert_eq!(config.secrets_manager_loader, LoaderKind::Airflow);
        // Secrets never show in Debug output.
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains(KEY), "{shown}");
    }

    #[test]
    fn vault_url_comes_from_the_vault_name() {
        let config = parse(
            &minimal("secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultName: ${OM_SM_VAULT_NAME:-\"\"}\n"),
            &[("OM_SM_VAULT_NAME", "my-vault")],
        )
        .unwrap();
        let kv = config.secrets_manager.key_vault.unwrap();
        assert_eq!(kv.vault_url.as_str(), "https://my-vault.vault.azure.net/");
        assert_eq!(kv.ca_cert_file, None);
    }

    #[test]
    fn ssl_cert_file_is_the_fallback_ca() {
        let config = parse(
            &minimal("secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultUrl: https://kv.example/x\n"),
            &[("SSL_CERT_FILE", "/etc/ca.pem")],
        )
        .unwrap();
        let kv = config.secrets_manager.key_vault.unwrap();
        assert_eq!(kv.vault_url.as_str(), "https://kv.example/x/");
        assert_eq!(kv.ca_cert_file.as_deref(), Some(Path::new("/etc/ca.pem")));
    }

    #[test]
    fn unknown_sections_are_ignored_and_defaults_apply() {
        let config = parse(
            &minimal("server:\n  applicationConnectors: []\nlogging:\n  level: INFO\n"),
            &[],
        )
        .unwrap();
        assert_eq!(config.cluster_name, "openmetadata");
        assert_eq!(config.secrets_manager.provider, ProviderKind::Db);
        assert!(config.secrets_manager.key_vault.is_none());
        assert!(config.database.is_none());
    }

    #[test]
    fn jdbc_database_block() {
        let config = parse(
            &minimal("database:\n  driverClass: com.mysql.cj.jdbc.Driver\n  user: om\n  password: pw\n  url: jdbc:mysql://db:3306/openmetadata_db?useSSL=false\n"),
            &[],
        )
        .unwrap();
        match config.database {
            Some(DatabaseConfig::Jdbc {
                url,
                user,
                password,
            }) => {
                assert_eq!(url, "jdbc:mysql://db:3306/openmetadata_db?useSSL=false");
                assert_eq!(user, "om");
                assert_eq!(password.expose_secret(), "pw");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_values_name_their_key_and_what_to_set() {
        let sm = "secretsManagerConfiguration.secretsManager";
        let params = "secretsManagerConfiguration.parameters";
        let cases: &[(&str, &str, &str)] = &[
            (
                "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n",
                &format!("{params}.vaultName"),
                "is empty: set OM_SM_VAULT_NAME or parameters.vaultUrl",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultName: \"\"\n",
                &format!("{params}.vaultName"),
                "set OM_SM_VAULT_NAME",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: managed-aws\n",
                sm,
                "not supported by vaultref",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: kubernetes\n",
                sm,
                "not supported by vaultref",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: noop\n",
                sm,
                "renamed `db`",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: vault9\n",
                sm,
                "not a secrets manager",
            ),
            (
                "secretsManagerConfiguration:\n  secretsManager: \"\"\n",
                sm,
                "set SECRET_MANAGER",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    vaultName: my_vault!\n",
                &format!("{params}.vaultName"),
                "not a Key Vault name",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    vaultUrl: ftp://x/\n",
                &format!("{params}.vaultUrl"),
                "https://",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    vaultUrl: not a url\n",
                &format!("{params}.vaultUrl"),
                "not a URL",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    tenantId: t\n",
                &format!("{params}.clientId"),
                "set OM_SM_CLIENT_ID",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    tenantId: t\n    clientId: c\n",
                &format!("{params}.clientSecret"),
                "set OM_SM_CLIENT_SECRET",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    rateLimitPermitsPerSecond: 0\n",
                &format!("{params}.rateLimitPermitsPerSecond"),
                "positive number",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    rateLimitPermitsPerSecond: fast\n",
                &format!("{params}.rateLimitPermitsPerSecond"),
                "positive number",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    expiresAfterDays: soon\n",
                &format!("{params}.expiresAfterDays"),
                "whole number of days",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    authorityHost: nope\n    vaultName: vault1\n",
                &format!("{params}.authorityHost"),
                "not a URL",
            ),
            (
                "secretsManagerConfiguration:\n  parameters:\n    longSecretNames: truncate\n",
                &format!("{params}.longSecretNames"),
                "set refuse",
            ),
            (
                "secretsManagerConfiguration:\n  tags: team:data\n",
                "secretsManagerConfiguration.tags",
                "list of `key:value`",
            ),
            (
                "secretsManagerConfiguration:\n  prefix: [a]\n",
                "secretsManagerConfiguration.prefix",
                "single value",
            ),
            (
                "pipelineServiceClientConfiguration:\n  secretsManagerLoader: vault\n",
                "pipelineServiceClientConfiguration.secretsManagerLoader",
                "noop, env or airflow",
            ),
            (
                "clusterName: \"\"\n",
                "clusterName",
                "set OPENMETADATA_CLUSTER_NAME",
            ),
            (
                "database:\n  url: jdbc:mysql://db/om\n",
                "database.user",
                "set DB_USER",
            ),
            (
                "database:\n  url: oracle://secretpw@db\n",
                "database.url",
                "not a supported database URL",
            ),
        ];
        for (extra, key, hint) in cases {
            check_error(&minimal(extra), &[], key, hint);
        }
    }

    /// Issue 14: credentials in endpoint URLs are refused and never echoed; plain http is
    /// refused off loopback; a bad scheme is not echoed whole.
    #[test]
    fn endpoint_urls_are_refused_without_echoing_what_they_carry() {
        let params = "secretsManagerConfiguration.parameters";
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "vaultUrl: https://admin:P4ssw0rd@127.0.0.1:8443/",
                "vaultUrl",
                "user name or password",
                "P4ssw0rd",
            ),
            (
                "vaultUrl: https://kv.example/?sig=S1gn4ture",
                "vaultUrl",
                "query",
                "S1gn4ture",
            ),
            (
                "vaultUrl: http://10.0.0.5/",
                "vaultUrl",
                "must use https",
                "\u{0}",
            ),
            (
                "vaultName: vault1\n    authorityHost: https://admin:P4ssw0rd@login.example/",
                "authorityHost",
                "user name or password",
                "P4ssw0rd",
            ),
            (
                "vaultName: vault1\n    authorityHost: ftp://admin:P4ssw0rd@login.example/",
                "authorityHost",
                "https://",
                "P4ssw0rd",
            ),
            (
                "vaultName: vault1\n    authorityHost: http://login.example/",
                "authorityHost",
                "must use https",
                "\u{0}",
            ),
        ];
        for (line, key, hint, hidden) in cases {
            let text = minimal(&format!(
                "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    {line}\n"
            ));
            match parse(&text, &[]) {
                Err(Error::Config { key: k, problem }) => {
                    assert_eq!(k, format!("{params}.{key}"), "{problem}");
                    assert!(problem.contains(hint), "{line}: {problem}");
                    assert!(!problem.contains(hidden), "{line}: {problem}");
                    assert!(!problem.contains("admin"), "{line}: {problem}");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_never_shows_a_jdbc_query_or_an_authority_query() {
        let text = minimal(
            "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    authorityHost: https://login.example/?k=S1gn\ndatabase:\n  url: jdbc:mysql://db:3306/om?password=hunter2\n  user: u\n  password: pw\n",
        );
        let shown = format!("{:?}", parse(&text, &[]).unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("S1gn"),
            "{shown}"
        );
    }

    #[test]
    fn configuration_files_are_read_with_a_cap() {
        let err = Config::load(Path::new("/dev/zero"), &Environment::default()).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("/dev/zero") && shown.contains("larger than 4 MiB"),
            "{shown}"
        );
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("binary.yaml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let shown = read_config_file(&binary).unwrap_err().to_string();
        assert!(shown.contains("not UTF-8"), "{shown}");
    }

    #[test]
    fn fernet_key_problems() {
        let key = "fernetConfiguration.fernetKey";
        check_error("clusterName: x\n", &[], key, "set FERNET_KEY");
        check_error(
            "fernetConfiguration:\n  fernetKey: no_encryption_at_rest\n",
            &[],
            key,
            "does not support",
        );
        check_error(
            "fernetConfiguration:\n  fernetKey: c2hvcnQ=\n",
            &[],
            key,
            "32 bytes",
        );
        // A rotation list, new key first, URL-safe and standard forms mixed.
        let rotated = format!(
            "fernetConfiguration:\n  fernetKey: \"{}, {KEY}\"\n",
            "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA"
        );
        let config = parse(&rotated.replace(", ", ","), &[]).unwrap();
        assert!(config.fernet_key.expose_secret().contains(','));
        // The rejected key never appears in the message.
        let err = parse("fernetConfiguration:\n  fernetKey: c2VjcmV0LWtleQ==\n", &[]).unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0LWtleQ"), "{err}");
    }

    /// Found by the `config` fuzz target (docs/bad-input.md): a secret substituted into a URL
    /// that does not parse was printed with it.
    #[test]
    fn a_url_that_does_not_parse_is_described_not_echoed() {
        let env =
            Environment::from_pairs([("OM_SM_CLIENT_SECRET", "fuzz-client-secret-Qx7Vb2Lm9")]);
        for url in [
            "https://508.0.0.1:8d of vaultName, for the em${OM_SM_CLIENT_SECRET}",
            "ftp://user:${OM_SM_CLIENT_SECRET}@vault.example/",
            "${OM_SM_CLIENT_SECRET}",
        ] {
            for key in ["vaultUrl", "authorityHost"] {
                let text = format!(
                    "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\nsecretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    {key}: {url}\n"
                );
                let message = Config::parse(&text, &env).unwrap_err().to_string();
                assert!(message.contains(key), "{message}");
                assert!(!message.contains("Qx7Vb2Lm9"), "{message}");
            }
        }
    }

    #[test]
    fn yaml_syntax_errors_have_a_location() {
        match parse("clusterName: [unclosed\n", &[]) {
            Err(Error::ConfigSyntax { line, .. }) => assert!(line >= 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tags_follow_openmetadata_parsing() {
        fn check(items: &[&str], expected: &[(&str, &str)]) {
            let tags = parse_tags(items);
            let got: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(got, expected, "{items:?}");
        }
        check(&["key:value"], &[("key", "value")]);
        check(&["a:b:c"], &[("a", "b")]);
        check(&[" k : v "], &[(" k ", " v ")]);
        check(&["novalue"], &[]);
        check(&["key:"], &[]);
        check(&[""], &[]);
        check(&[":v"], &[("", "v")]);
        check(&["a::b"], &[("a", "")]);
        check(&["k:1", "k:2"], &[("k", "2")]);
    }

    #[test]
    fn tags_over_key_vaults_limits_are_refused() {
        let many: Vec<String> = (0..15).map(|i| format!("k{i}:v")).collect();
        let long = format!("k:{}", "v".repeat(513));
        for (tags, problem) in [
            (format!("[{}]", many.join(",")), "15 tags"),
            (format!("[{long}]"), "over Key Vault's 512 characters"),
            ("[vaultref-database:spoofed]".to_owned(), "sets itself"),
        ] {
            match parse(
                &minimal(&format!("secretsManagerConfiguration:\n  tags: {tags}\n")),
                &[],
            ) {
                Err(Error::Config { key, problem: p }) => {
                    assert_eq!(key, "secretsManagerConfiguration.tags");
                    assert!(p.contains(problem), "{p}");
                }
                other => panic!("{other:?}"),
            }
        }
        // Fourteen, and vaultref's own makes Key Vault's fifteen.
        let fourteen = (0..14)
            .map(|i| format!("k{i}:v"))
            .collect::<Vec<_>>()
            .join(",");
        parse(
            &minimal(&format!(
                "secretsManagerConfiguration:\n  tags: [{fourteen}]\n"
            )),
            &[],
        )
        .unwrap();
    }

    #[test]
    fn yaml_list_forms_of_tags() {
        for tags in [
            "[k1:v1, k2:v2]",
            "\n    - k1:v1\n    - k2:v2",
            "\n    - k1: v1\n    - k2: v2",
        ] {
            let config = parse(
                &minimal(&format!("secretsManagerConfiguration:\n  tags: {tags}\n")),
                &[],
            )
            .unwrap();
            let got: Vec<(&str, &str)> = config
                .secrets_manager
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(got, [("k1", "v1"), ("k2", "v2")], "{tags}");
        }
    }
}
