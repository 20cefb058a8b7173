//! The backend's configuration, read where Airflow reads it: `[secrets] backend_kwargs` (JSON,
//! the keyword arguments of `AzureKeyVaultBackend.__init__`, the rest going to the SDK's
//! `SecretClient`), `[core] multi_team` and `[secrets] cache_ttl_seconds`, each from its
//! `AIRFLOW__<SECTION>__<KEY>` environment variable, else from airflow.cfg.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;
use vaultref_entra::{DefaultAzureCredentialOptions, UserAssignedId};
use vaultref_transport::EndpointRole;

use crate::error::{Error, Result};
use crate::naming::{AirflowKind, AirflowNaming};
use crate::pyjson::{self, PyJson};
use vaultref_core::Environment;
use vaultref_core::parse_http_url;
use vaultref_core::{airflow_config_path, parse_ini};

/// The backend class Airflow's `[secrets] backend` names for Key Vault.
pub const BACKEND_CLASS: &str =
    "airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend";

/// Airflow's default `[secrets] cache_ttl_seconds`.
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 900;

const KWARGS_KEY: &str = "AIRFLOW__SECRETS__BACKEND_KWARGS";

/// How the backend authenticates, chosen as `AzureKeyVaultBackend.client` does.
#[non_exhaustive]
pub enum AirflowCredential {
    /// `tenant_id`, `client_id` and `client_secret` all given.
    ClientSecret {
        /// Directory (tenant) id.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The secret.
        client_secret: SecretString,
    },
    /// Otherwise `DefaultAzureCredential`, with `managed_identity_client_id` and
    /// `workload_identity_tenant_id` only when both are given (as the provider passes them).
    DefaultChain {
        /// A user-assigned managed identity (also the workload identity's client id).
        managed_identity_client_id: Option<String>,
        /// The workload identity's tenant.
        workload_identity_tenant_id: Option<String>,
    },
}

impl fmt::Debug for AirflowCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
            Self::DefaultChain {
                managed_identity_client_id,
                workload_identity_tenant_id,
            } => f
                .debug_struct("DefaultChain")
                .field("managed_identity_client_id", managed_identity_client_id)
                .field("workload_identity_tenant_id", workload_identity_tenant_id)
                .finish(),
        }
    }
}

impl AirflowCredential {
    /// The default chain's settings for these ids (the provider's
    /// `get_sync_default_azure_credential`).
    pub(crate) fn chain_options(&self) -> Option<(DefaultAzureCredentialOptions, Vec<String>)> {
        let Self::DefaultChain {
            managed_identity_client_id: Some(client_id),
            workload_identity_tenant_id: Some(tenant_id),
        } = self
        else {
            return None;
        };
        let mut options = DefaultAzureCredentialOptions::default();
        options.workload_identity.client_id = Some(client_id.clone());
        options.workload_identity.tenant_id = Some(tenant_id.clone());
        options.managed_identity.user_assigned_id =
            Some(UserAssignedId::ClientId(client_id.clone()));
        Some((options, vec![tenant_id.clone()]))
    }
}

/// The backend's configuration.
#[derive(Debug)]
#[non_exhaustive]
pub struct AirflowSettings {
    /// Names.
    pub naming: AirflowNaming,
    /// `vault_url`.
    pub vault_url: Url,
    /// The credential.
    pub credential: AirflowCredential,
    /// `verify_challenge_resource` (an SDK keyword argument); `None`: the SDK default, on.
    pub verify_challenge_resource: Option<bool>,
    /// `api_version` (an SDK keyword argument).
    pub api_version: Option<String>,
    /// Extra CA certificates: `connection_verify` when it is a path, else
    /// `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE` (what Python's requests reads), else none here
    /// (`SSL_CERT_FILE` then applies).
    pub ca_cert_file: Option<PathBuf>,
    /// `connection_timeout` (an SDK keyword argument), seconds.
    pub connect_timeout: Option<Duration>,
    /// `[secrets] cache_ttl_seconds`.
    pub cache_ttl_seconds: u64,
    /// Keyword arguments given but not used by vaultref (SDK transport options and the like).
    pub ignored_kwargs: Vec<String>,
    /// Things the user should know (an ignored setting that matters, another backend class).
    pub notes: Vec<String>,
}

impl AirflowSettings {
    /// Reads the configuration from `env`, and from the text of airflow.cfg (`None` when there
    /// is none) for what the environment does not set.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: backend_kwargs that is not a JSON object, a prefix
    /// or `sep` that is not a string, a missing or invalid `vault_url`, an invalid
    /// `multi_team` or `cache_ttl_seconds`.
    pub fn load(env: &Environment, airflow_cfg: Option<&str>) -> Result<Self> {
        let file = airflow_cfg.map(parse_ini).unwrap_or_default();
        let setting = |section: &str, key: &str| -> Option<String> {
            let var = format!(
                "AIRFLOW__{}__{}",
                section.to_uppercase(),
                key.to_uppercase()
            );
            env.get(&var)
                .or_else(|| file.get(&(section.to_owned(), key.to_owned())).cloned())
        };
        let mut notes = Vec::new();
        if let Some(backend) = setting("secrets", "backend").filter(|b| !b.trim().is_empty())
            && backend.trim() != BACKEND_CLASS
        {
            notes.push(format!(
                "[secrets] backend is {}, not {BACKEND_CLASS}: vaultref reads and writes what the Key Vault backend would",
                backend.trim()
            ));
        }
        let kwargs_text = match setting("secrets", "backend_kwargs") {
            Some(text) => text,
            None if env.get(&format!("{KWARGS_KEY}_CMD")).is_some()
                || env.get(&format!("{KWARGS_KEY}_SECRET")).is_some() =>
            {
                return Err(Error::config(
                    KWARGS_KEY,
                    "is given through _CMD or _SECRET, which vaultref does not run or read: set \
                     AIRFLOW__SECRETS__BACKEND_KWARGS itself (or [secrets] backend_kwargs)",
                ));
            }
            None => String::new(),
        };
        let kwargs = parse_kwargs(&kwargs_text)?;
        let mut settings = Self::from_kwargs(&kwargs, env, &mut notes)?;
        let multi_team = match setting("core", "multi_team") {
            Some(value) => airflow_bool(&value).ok_or_else(|| {
                Error::config(
                    "AIRFLOW__CORE__MULTI_TEAM",
                    format!("is `{value}`, not a boolean: write true or false"),
                )
            })?,
            None => false,
        };
        settings.naming = settings.naming.with_multi_team(multi_team);
        settings.cache_ttl_seconds = match setting("secrets", "cache_ttl_seconds") {
            Some(value) => value.trim().parse().map_err(|_| {
                Error::config(
                    "AIRFLOW__SECRETS__CACHE_TTL_SECONDS",
                    format!("is `{value}`, not a number of seconds"),
                )
            })?,
            None => DEFAULT_CACHE_TTL_SECONDS,
        };
        settings.notes = notes;
        Ok(settings)
    }

    /// Like [`AirflowSettings::load`], reading airflow.cfg from where Airflow looks for it
    /// (`AIRFLOW_CONFIG`, else `$AIRFLOW_HOME/airflow.cfg`, else `~/airflow/airflow.cfg`).
    ///
    /// # Errors
    /// As [`AirflowSettings::load`], and [`Error::ConfigRead`] for a file that exists but
    /// cannot be read.
    pub fn load_from(env: &Environment) -> Result<Self> {
        let text = match airflow_config_path(env) {
            Some(path) if path.exists() => Some(
                std::fs::read_to_string(&path)
                    .map_err(|source| Error::ConfigRead { path, source })?,
            ),
            _ => None,
        };
        Self::load(env, text.as_deref())
    }

    fn from_kwargs(
        kwargs: &[(String, PyJson)],
        env: &Environment,
        notes: &mut Vec<String>,
    ) -> Result<Self> {
        let get = |key: &str| kwargs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let key_of = |kwarg: &str| format!("{KWARGS_KEY} {kwarg}");
        let text = |kwarg: &str| -> Result<Option<String>> {
            match get(kwarg) {
                None | Some(PyJson::Null) => Ok(None),
                Some(PyJson::Str(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::config(key_of(kwarg), "must be a string")),
            }
        };
        // A prefix given as null turns its kind off; a missing one takes the default.
        let prefix = |kind: AirflowKind| -> Result<Option<String>> {
            match get(kind.prefix_kwarg()) {
                None => Ok(Some(kind.default_prefix().to_owned())),
                Some(PyJson::Null) => Ok(None),
                Some(PyJson::Str(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::config(
                    key_of(kind.prefix_kwarg()),
                    "must be a string, or null to turn these lookups off",
                )),
            }
        };
        let connections = prefix(AirflowKind::Connection)?;
        let variables = prefix(AirflowKind::Variable)?;
        let config = prefix(AirflowKind::Config)?;
        let sep = text("sep")?.unwrap_or_else(|| "-".to_owned());
        let naming = AirflowNaming::new(
            connections.as_deref(),
            variables.as_deref(),
            config.as_deref(),
            &sep,
            false,
        );
        let vault_url = match text("vault_url")?.filter(|u| !u.is_empty()) {
            Some(url) => parse_http_url(&url, EndpointRole::Vault).map_err(|problem| {
                Error::config(
                    key_of("vault_url"),
                    format!(
                        "{problem}: give the vault's URL, e.g. https://myvault.vault.azure.net/"
                    ),
                )
            })?,
            None => {
                return Err(Error::config(
                    key_of("vault_url"),
                    "is not set: add \"vault_url\": \"https://<vault>.vault.azure.net/\" to AIRFLOW__SECRETS__BACKEND_KWARGS",
                ));
            }
        };
        let given =
            |kwarg: &str| -> Result<Option<String>> { Ok(text(kwarg)?.filter(|v| !v.is_empty())) };
        let credential = match (
            given("tenant_id")?,
            given("client_id")?,
            given("client_secret")?,
        ) {
            (Some(tenant_id), Some(client_id), Some(secret)) => AirflowCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret: SecretString::from(secret),
            },
            _ => {
                let (mi, wi) = (
                    given("managed_identity_client_id")?,
                    given("workload_identity_tenant_id")?,
                );
                if mi.is_some() != wi.is_some() {
                    notes.push(
                        "managed_identity_client_id and workload_identity_tenant_id apply only \
                         together (as in the provider): the default credential chain is used as \
                         if neither were set"
                            .to_owned(),
                    );
                }
                let both = mi.is_some() && wi.is_some();
                AirflowCredential::DefaultChain {
                    managed_identity_client_id: mi.filter(|_| both),
                    workload_identity_tenant_id: wi.filter(|_| both),
                }
            }
        };

        // Keyword arguments for the SDK's SecretClient: the ones vaultref has a meaning for
        // are honoured; the rest are transport details of the Python SDK, ignored.
        let mut verify_challenge_resource = None;
        let mut api_version = None;
        let mut ca_cert_file = None;
        let mut connect_timeout = None;
        let mut ignored_kwargs = Vec::new();
        for (key, value) in kwargs {
            match key.as_str() {
                "connections_prefix"
                | "variables_prefix"
                | "config_prefix"
                | "sep"
                | "vault_url"
                | "tenant_id"
                | "client_id"
                | "client_secret"
                | "managed_identity_client_id"
                | "workload_identity_tenant_id" => {}
                // The SDK pops it with a truthiness test.
                "verify_challenge_resource" => verify_challenge_resource = Some(value.is_truthy()),
                "api_version" => match value {
                    PyJson::Str(v) if !v.is_empty() => api_version = Some(v.clone()),
                    _ => ignored_kwargs.push(key.clone()),
                },
                "connection_verify" => match value {
                    PyJson::Str(path) if !path.is_empty() => {
                        ca_cert_file = Some(PathBuf::from(path));
                    }
                    PyJson::Bool(false) => notes.push(
                        "connection_verify is false: vaultref never turns TLS verification off; \
                         give the CA file's path instead"
                            .to_owned(),
                    ),
                    _ => {}
                },
                "connection_timeout" => match value {
                    PyJson::Int(n) => {
                        connect_timeout = n.parse().ok().map(Duration::from_secs);
                    }
                    PyJson::Float(x) if x.is_finite() && *x > 0.0 => {
                        connect_timeout = Duration::try_from_secs_f64(*x).ok();
                    }
                    _ => ignored_kwargs.push(key.clone()),
                },
                _ => ignored_kwargs.push(key.clone()),
            }
        }
        if !ignored_kwargs.is_empty() {
            tracing::info!(ignored = ?ignored_kwargs, "backend keyword arguments vaultref has no use for (Python SDK transport options)");
        }
        if ca_cert_file.is_none() {
            ca_cert_file = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
                .into_iter()
                .find_map(|var| env.get(var).filter(|v| !v.is_empty()))
                .map(PathBuf::from);
        }
        Ok(Self {
            naming,
            vault_url,
            credential,
            verify_challenge_resource,
            api_version,
            ca_cert_file,
            connect_timeout,
            cache_ttl_seconds: DEFAULT_CACHE_TTL_SECONDS,
            ignored_kwargs,
            notes: Vec::new(),
        })
    }
}

/// `[secrets] backend_kwargs` as Airflow reads it: JSON, an object (or empty).
fn parse_kwargs(text: &str) -> Result<Vec<(String, PyJson)>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // The kwargs may hold a client secret: the error gives the position, not the text.
    match pyjson::loads(text) {
        Ok(PyJson::Dict(entries)) => Ok(entries),
        Ok(PyJson::Null) => Ok(Vec::new()),
        Ok(_) => Err(Error::config(
            KWARGS_KEY,
            "is not a JSON object: write {\"vault_url\": \"https://<vault>.vault.azure.net/\", ...}",
        )),
        Err(e) => Err(Error::config(
            KWARGS_KEY,
            format!(
                "is not valid JSON ({e}): write {{\"vault_url\": \"https://<vault>.vault.azure.net/\", ...}}"
            ),
        )),
    }
}

/// Airflow's `conf.getboolean`: `t`/`true`/`1` or `f`/`false`/`0`, any case, a `#` comment cut.
fn airflow_bool(value: &str) -> Option<bool> {
    let value = value.split('#').next().unwrap_or("").trim().to_lowercase();
    match value.as_str() {
        "t" | "true" | "1" => Some(true),
        "f" | "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn load(pairs: &[(&str, &str)], cfg: Option<&str>) -> Result<AirflowSettings> {
        AirflowSettings::load(&Environment::from_pairs(pairs.iter().copied()), cfg)
    }

    fn problem(result: Result<AirflowSettings>) -> (String, String) {
        match result {
            Err(Error::Config { key, problem }) => (key, problem),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kwargs_configure_names_vault_and_credential() {
        let s = load(
            &[(
                KWARGS_KEY,
                r#"{"connections_prefix": "conns-", "variables_prefix": null, "sep": "-",
                    "vault_url": "https://kv.vault.azure.net", "tenant_id": "t", "client_id": "c",
                    "client_secret": "s3cret", "verify_challenge_resource": false,
                    "logging_enable": true, "api_version": "7.4", "connection_timeout": 5}"#,
            )],
            None,
        )
        .unwrap();
        assert_eq!(s.naming.prefix(AirflowKind::Connection), Some("conns"));
        assert_eq!(s.naming.prefix(AirflowKind::Variable), None);
        assert_eq!(s.naming.prefix(AirflowKind::Config), Some("airflow-config"));
        assert_eq!(s.vault_url.as_str(), "https://kv.vault.azure.net/");
        match &s.credential {
            AirflowCredential::ClientSecret { client_secret, .. } => {
                assert_eq!(client_secret.expose_secret(), "s3cret");
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{s:?}").contains("s3cret"));
        assert_eq!(s.verify_challenge_resource, Some(false));
        assert_eq!(s.api_version.as_deref(), Some("7.4"));
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.ignored_kwargs, ["logging_enable"]);
        assert_eq!(s.cache_ttl_seconds, DEFAULT_CACHE_TTL_SECONDS);
        assert!(!s.naming.multi_team());
    }

    #[test]
    fn credentials_follow_the_provider() {
        let chain = |kwargs: &str| {
            load(&[(KWARGS_KEY, kwargs)], None)
                .unwrap()
                .credential
                .chain_options()
                .map(|(o, tenants)| {
                    (
                        o.workload_identity.client_id,
                        o.workload_identity.tenant_id,
                        tenants,
                    )
                })
        };
        // tenant + client without a secret: the default chain.
        let s = load(&[(KWARGS_KEY, r#"{"vault_url": "https://kv.vault.azure.net", "tenant_id": "t", "client_id": "c"}"#)], None).unwrap();
        assert!(matches!(
            s.credential,
            AirflowCredential::DefaultChain {
                managed_identity_client_id: None,
                ..
            }
        ));
        assert_eq!(
            chain(
                r#"{"vault_url": "https://kv.vault.azure.net", "managed_identity_client_id": "mi", "workload_identity_tenant_id": "wt"}"#
            ),
            Some((
                Some("mi".to_owned()),
                Some("wt".to_owned()),
                vec!["wt".to_owned()]
            ))
        );
        let s = load(&[(KWARGS_KEY, r#"{"vault_url": "https://kv.vault.azure.net", "managed_identity_client_id": "mi"}"#)], None).unwrap();
        assert!(s.credential.chain_options().is_none());
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    }

    #[test]
    fn the_environment_overrides_airflow_cfg() {
        let cfg = "[secrets]\nbackend = airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend\nbackend_kwargs = {\"vault_url\": \"https://file.vault.azure.net\", \"sep\": \"_\"}\ncache_ttl_seconds = 60\n[core]\nmulti_team = True\n";
        let s = load(&[], Some(cfg)).unwrap();
        assert_eq!(s.vault_url.as_str(), "https://file.vault.azure.net/");
        assert_eq!(s.naming.sep(), "_");
        assert!(s.naming.multi_team());
        assert_eq!(s.cache_ttl_seconds, 60);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        let s = load(
            &[
                (
                    KWARGS_KEY,
                    r#"{"vault_url": "https://env.vault.azure.net"}"#,
                ),
                ("AIRFLOW__CORE__MULTI_TEAM", "f"),
                ("AIRFLOW__SECRETS__BACKEND", "other.Backend"),
                ("REQUESTS_CA_BUNDLE", "/ca.pem"),
            ],
            Some(cfg),
        )
        .unwrap();
        assert_eq!(s.vault_url.as_str(), "https://env.vault.azure.net/");
        assert!(!s.naming.multi_team());
        assert_eq!(s.ca_cert_file, Some(PathBuf::from("/ca.pem")));
        assert!(s.notes[0].contains("other.Backend"), "{:?}", s.notes);
    }

    #[test]
    fn bad_settings_name_what_to_fix_and_never_echo_the_kwargs() {
        for (pairs, key, hint) in [
            (
                vec![],
                "AIRFLOW__SECRETS__BACKEND_KWARGS vault_url",
                "is not set",
            ),
            (vec![(KWARGS_KEY, "[1]")], KWARGS_KEY, "not a JSON object"),
            (
                vec![(KWARGS_KEY, r#"{"client_secret": s3cret}"#)],
                KWARGS_KEY,
                "not valid JSON",
            ),
            (
                vec![(KWARGS_KEY, r#"{"vault_url": "kv"}"#)],
                "AIRFLOW__SECRETS__BACKEND_KWARGS vault_url",
                "URL",
            ),
            (
                vec![(KWARGS_KEY, r#"{"vault_url": "https://k", "sep": 1}"#)],
                "AIRFLOW__SECRETS__BACKEND_KWARGS sep",
                "string",
            ),
            (
                vec![(
                    KWARGS_KEY,
                    r#"{"vault_url": "https://k", "variables_prefix": 1}"#,
                )],
                "AIRFLOW__SECRETS__BACKEND_KWARGS variables_prefix",
                "null",
            ),
            (
                vec![
                    (KWARGS_KEY, r#"{"vault_url": "https://k"}"#),
                    ("AIRFLOW__CORE__MULTI_TEAM", "yes"),
                ],
                "AIRFLOW__CORE__MULTI_TEAM",
                "boolean",
            ),
            (
                vec![
                    (KWARGS_KEY, r#"{"vault_url": "https://k"}"#),
                    ("AIRFLOW__SECRETS__CACHE_TTL_SECONDS", "soon"),
                ],
                "AIRFLOW__SECRETS__CACHE_TTL_SECONDS",
                "seconds",
            ),
            (
                vec![("AIRFLOW__SECRETS__BACKEND_KWARGS_CMD", "cat kw")],
                KWARGS_KEY,
                "_CMD",
            ),
        ] {
            let (k, p) = problem(load(&pairs, None));
            assert_eq!(k, key);
            assert!(p.contains(hint), "{p}");
            assert!(!p.contains("s3cret"), "{p}");
        }
    }

    #[test]
    fn booleans_read_like_airflow() {
        for (text, value) in [
            ("True", Some(true)),
            (" t ", Some(true)),
            ("0 # off", Some(false)),
            ("on", None),
        ] {
            assert_eq!(airflow_bool(text), value, "{text}");
        }
    }
}
