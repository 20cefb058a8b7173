//! Consumer-side loaders: where ingestion (or any consumer) finds the vault and its credentials,
//! as `pipelineServiceClientConfiguration.secretsManagerLoader` says (spec §4.3).
//!
//! - `env`: the vault name from `AZURE_KEY_VAULT_NAME`; credentials from the default chain
//!   (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_SECRET`, workload identity, managed
//!   identity).
//! - `airflow`: Airflow's configuration section `[openmetadata_secrets_manager]`, keys
//!   `azure_key_vault_name` (required), `azure_tenant_id`, `azure_client_id`,
//!   `azure_client_secret`, each overridable by `AIRFLOW__OPENMETADATA_SECRETS_MANAGER__<KEY>`;
//!   a client-secret credential only when all three are set, else the default chain.
//! - `noop`: no vault (OpenMetadata then fails on use; vaultref says so up front).
//!
//! vaultref also accepts a vault URL instead of a name (`AZURE_KEY_VAULT_URL`, or
//! `azure_key_vault_url` in Airflow's section), for the emulator and other clouds; and a name is
//! turned into `https://<name>.<suffix>/` with the suffix from `VAULTREF_KEY_VAULT_DNS_SUFFIX`
//! (default `vault.azure.net`, as OpenMetadata's ingestion hard-codes it): `vault.azure.cn` and
//! the other sovereign clouds, or `localhost:PORT` for the emulator's named vaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use url::Url;

use vaultref_transport::EndpointRole;

use crate::config::{LoaderKind, parse_http_url, public_vault_url, read_config_file};
use crate::env::Environment;
use crate::error::{Error, Result};

/// Airflow's configuration section the `airflow` loader reads.
pub const AIRFLOW_SECTION: &str = "openmetadata_secrets_manager";

/// vaultref's extension: the DNS suffix that turns a Key Vault name into its URL
/// (`https://<name>.<suffix>/`), for clouds other than Azure's public one and for the emulator.
pub const KEY_VAULT_DNS_SUFFIX_VAR: &str = "VAULTREF_KEY_VAULT_DNS_SUFFIX";

/// Where a consumer reads secrets from.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConsumerVault {
    /// The vault, ending with `/`.
    pub vault_url: Url,
    /// How to authenticate.
    pub credential: ConsumerCredential,
}

/// How a consumer authenticates to the vault: a service principal's client secret, or the
/// default chain (environment, workload identity, managed identity).
pub use vaultref_keyvault::VaultCredential as ConsumerCredential;

impl ConsumerVault {
    /// Applies `loader` to `env` and, for `airflow`, to the text of Airflow's configuration
    /// file (`None` when there is none: environment overrides alone then count).
    ///
    /// # Errors
    /// [`Error::Config`] for `noop`, a missing vault name, or an invalid name or URL.
    pub fn load(loader: LoaderKind, env: &Environment, airflow_cfg: Option<&str>) -> Result<Self> {
        match loader {
            LoaderKind::Env => {
                let url = vault_url(
                    env,
                    env.get("AZURE_KEY_VAULT_URL").as_deref(),
                    env.get("AZURE_KEY_VAULT_NAME").as_deref(),
                    "AZURE_KEY_VAULT_NAME",
                    "set AZURE_KEY_VAULT_NAME to the Key Vault name (or AZURE_KEY_VAULT_URL)",
                )?;
                Ok(Self {
                    vault_url: url,
                    credential: ConsumerCredential::DefaultChain,
                })
            }
            LoaderKind::Airflow => {
                let file = airflow_cfg.map(parse_ini).unwrap_or_default();
                let get = |key: &str| -> Option<String> {
                    let env_key = format!(
                        "AIRFLOW__{}__{}",
                        AIRFLOW_SECTION.to_uppercase(),
                        key.to_uppercase()
                    );
                    env.get(&env_key)
                        .or_else(|| {
                            file.get(&(AIRFLOW_SECTION.to_owned(), key.to_owned()))
                                .cloned()
                        })
                        .filter(|v| !v.is_empty())
                };
                let url = vault_url(
                    env,
                    get("azure_key_vault_url").as_deref(),
                    get("azure_key_vault_name").as_deref(),
                    &format!("[{AIRFLOW_SECTION}] azure_key_vault_name"),
                    "set it in airflow.cfg or AIRFLOW__OPENMETADATA_SECRETS_MANAGER__AZURE_KEY_VAULT_NAME",
                )?;
                let credential = match (
                    get("azure_tenant_id"),
                    get("azure_client_id"),
                    get("azure_client_secret"),
                ) {
                    (Some(tenant_id), Some(client_id), Some(secret)) => {
                        ConsumerCredential::ClientSecret {
                            tenant_id,
                            client_id,
                            client_secret: SecretString::from(secret),
                        }
                    }
                    _ => ConsumerCredential::DefaultChain,
                };
                Ok(Self {
                    vault_url: url,
                    credential,
                })
            }
            LoaderKind::Noop => Err(Error::config(
                "pipelineServiceClientConfiguration.secretsManagerLoader",
                "is noop, which gives consumers no vault to resolve secret: references with: \
                 set PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER to env or airflow",
            )),
        }
    }

    /// Like [`ConsumerVault::load`], reading Airflow's configuration file from where Airflow
    /// looks for it (`AIRFLOW_CONFIG`, else `$AIRFLOW_HOME/airflow.cfg`, else
    /// `$HOME/airflow/airflow.cfg`) when the loader is `airflow`.
    ///
    /// # Errors
    /// As [`ConsumerVault::load`], and [`Error::ConfigRead`] when the file exists but cannot be read.
    pub fn load_from(loader: LoaderKind, env: &Environment) -> Result<Self> {
        let text = match (loader, airflow_config_path(env)) {
            (LoaderKind::Airflow, Some(path)) if path.exists() => Some(read_config_file(&path)?),
            _ => None,
        };
        Self::load(loader, env, text.as_deref())
    }
}

/// Where Airflow reads its configuration file from.
#[must_use]
pub fn airflow_config_path(env: &Environment) -> Option<PathBuf> {
    if let Some(path) = env.get("AIRFLOW_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(home) = env.get("AIRFLOW_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(home).join("airflow.cfg"));
    }
    env.get("HOME")
        .filter(|p| !p.is_empty())
        .map(|home| PathBuf::from(home).join("airflow").join("airflow.cfg"))
}

fn vault_url(
    env: &Environment,
    url: Option<&str>,
    name: Option<&str>,
    key: &str,
    hint: &str,
) -> Result<Url> {
    let text = match (
        url.filter(|u| !u.is_empty()),
        name.filter(|n| !n.is_empty()),
    ) {
        (Some(url), _) => url.to_owned(),
        (None, Some(name)) => named_vault_url(name, env).ok_or_else(|| {
            Error::config(
                key,
                format!(
                    "is `{name}`, not a Key Vault name (3 to 24 letters, digits and '-'): {hint}"
                ),
            )
        })?,
        (None, None) => return Err(Error::config(key, format!("is not set: {hint}"))),
    };
    parse_http_url(&text, EndpointRole::Vault)
        .map_err(|problem| Error::config(key, format!("{problem}; {hint}")))
}

/// The URL of the vault `name`: `https://<name>.vault.azure.net/`, or under the DNS suffix
/// [`KEY_VAULT_DNS_SUFFIX_VAR`] gives; `None` when `name` is not a Key Vault name.
fn named_vault_url(name: &str, env: &Environment) -> Option<String> {
    let public = public_vault_url(name)?;
    let suffix = env.get(KEY_VAULT_DNS_SUFFIX_VAR);
    let suffix = suffix
        .as_deref()
        .map(|s| s.trim().trim_start_matches('.').trim_end_matches('/'))
        .filter(|s| !s.is_empty());
    Some(suffix.map_or(public, |suffix| format!("https://{name}.{suffix}/")))
}

/// A minimal reading of Python's `configparser` format: `[section]`, `key = value` or
/// `key: value`, keys lower-cased, `#` / `;` comment lines, indented continuation lines.
/// Returns every value by (section, key); the last one given wins. It reads airflow.cfg, for
/// this crate's `airflow` loader and for vaultref-airflow.
#[must_use]
pub fn parse_ini(text: &str) -> BTreeMap<(String, String), String> {
    let mut values = BTreeMap::new();
    let mut section = String::new();
    let mut last: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t'])
            && let Some(key) = &last
            && let Some(value) = values.get_mut(key)
        {
            let value: &mut String = value;
            value.push('\n');
            value.push_str(trimmed);
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_owned();
            last = None;
            continue;
        }
        let split = trimmed
            .find(['=', ':'])
            .map(|i| (&trimmed[..i], &trimmed[i + 1..]));
        if let Some((key, value)) = split {
            let key = (section.clone(), key.trim().to_lowercase());
            values.insert(key.clone(), value.trim().to_owned());
            last = Some(key);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    fn check_error(
        loader: LoaderKind,
        pairs: &[(&str, &str)],
        cfg: Option<&str>,
        key: &str,
        hint: &str,
    ) {
        match ConsumerVault::load(loader, &env(pairs), cfg) {
            Err(Error::Config { key: k, problem }) => {
                assert_eq!(k, key);
                assert!(problem.contains(hint), "{problem}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn env_loader_reads_the_vault_name() {
        let vault = ConsumerVault::load(
            LoaderKind::Env,
            &env(&[("AZURE_KEY_VAULT_NAME", "om-kv")]),
            None,
        )
        .unwrap();
        assert_eq!(vault.vault_url.as_str(), "https://om-kv.vault.azure.net/");
        assert!(matches!(vault.credential, ConsumerCredential::DefaultChain));
        let vault = ConsumerVault::load(
            LoaderKind::Env,
            &env(&[("AZURE_KEY_VAULT_URL", "https://127.0.0.1:8443")]),
            None,
        )
        .unwrap();
        assert_eq!(vault.vault_url.as_str(), "https://127.0.0.1:8443/");
        check_error(
            LoaderKind::Env,
            &[],
            None,
            "AZURE_KEY_VAULT_NAME",
            "set AZURE_KEY_VAULT_NAME",
        );
        check_error(
            LoaderKind::Env,
            &[("AZURE_KEY_VAULT_NAME", "bad name")],
            None,
            "AZURE_KEY_VAULT_NAME",
            "not a Key Vault name",
        );
        check_error(
            LoaderKind::Noop,
            &[],
            None,
            "pipelineServiceClientConfiguration.secretsManagerLoader",
            "env or airflow",
        );
    }

    #[test]
    fn a_dns_suffix_places_named_vaults_elsewhere() {
        for (suffix, expected) in [
            ("vault.azure.cn", "https://om-kv.vault.azure.cn/"),
            (
                ".vault.usgovcloudapi.net",
                "https://om-kv.vault.usgovcloudapi.net/",
            ),
            ("localhost:8443", "https://om-kv.localhost:8443/"),
            ("", "https://om-kv.vault.azure.net/"),
        ] {
            let vault = ConsumerVault::load(
                LoaderKind::Env,
                &env(&[
                    ("AZURE_KEY_VAULT_NAME", "om-kv"),
                    (KEY_VAULT_DNS_SUFFIX_VAR, suffix),
                ]),
                None,
            )
            .unwrap();
            assert_eq!(vault.vault_url.as_str(), expected, "{suffix}");
        }
    }

    const CFG: &str = "[core]\ndags_folder = /dags\n\n[openmetadata_secrets_manager]\n# the vault\nAZURE_KEY_VAULT_NAME = file-kv\nazure_tenant_id = tenant\nazure_client_id: client\nazure_client_secret = s3cret\n";

    #[test]
    fn airflow_loader_reads_its_section_and_environment_overrides() {
        let vault = ConsumerVault::load(LoaderKind::Airflow, &env(&[]), Some(CFG)).unwrap();
        assert_eq!(vault.vault_url.as_str(), "https://file-kv.vault.azure.net/");
        match &vault.credential {
            ConsumerCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            } => {
                assert_eq!(
                    (tenant_id.as_str(), client_id.as_str()),
                    ("tenant", "client")
                );
                assert_eq!(client_secret.expose_secret(), "s3cret");
            }
            other => panic!("expected a client secret, got {other:?}"),
        }
        assert!(!format!("{vault:?}").contains("s3cret"));

        let overridden = ConsumerVault::load(
            LoaderKind::Airflow,
            &env(&[
                (
                    "AIRFLOW__OPENMETADATA_SECRETS_MANAGER__AZURE_KEY_VAULT_NAME",
                    "env-kv",
                ),
                (
                    "AIRFLOW__OPENMETADATA_SECRETS_MANAGER__AZURE_CLIENT_SECRET",
                    "",
                ),
            ]),
            Some(CFG),
        )
        .unwrap();
        assert_eq!(
            overridden.vault_url.as_str(),
            "https://env-kv.vault.azure.net/"
        );
        // An empty override leaves the secret unset, so the default chain is used.
        assert!(matches!(
            overridden.credential,
            ConsumerCredential::DefaultChain
        ));

        check_error(
            LoaderKind::Airflow,
            &[],
            Some("[openmetadata_secrets_manager]\nazure_tenant_id = t\n"),
            "[openmetadata_secrets_manager] azure_key_vault_name",
            "AIRFLOW__OPENMETADATA_SECRETS_MANAGER__AZURE_KEY_VAULT_NAME",
        );
        check_error(
            LoaderKind::Airflow,
            &[],
            None,
            "[openmetadata_secrets_manager] azure_key_vault_name",
            "airflow.cfg",
        );
    }

    #[test]
    fn airflow_config_is_found_where_airflow_looks() {
        assert_eq!(
            airflow_config_path(&env(&[
                ("AIRFLOW_CONFIG", "/etc/a.cfg"),
                ("AIRFLOW_HOME", "/x")
            ])),
            Some(PathBuf::from("/etc/a.cfg"))
        );
        assert_eq!(
            airflow_config_path(&env(&[("AIRFLOW_HOME", "/opt/airflow")])),
            Some(PathBuf::from("/opt/airflow/airflow.cfg"))
        );
        assert_eq!(
            airflow_config_path(&env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/airflow/airflow.cfg"))
        );
        assert_eq!(airflow_config_path(&env(&[])), None);
    }

    #[test]
    fn airflow_loader_reads_the_file_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("airflow.cfg"), CFG).unwrap();
        let home = dir.path().to_string_lossy().into_owned();
        let vault = ConsumerVault::load_from(LoaderKind::Airflow, &env(&[("AIRFLOW_HOME", &home)]))
            .unwrap();
        assert_eq!(vault.vault_url.as_str(), "https://file-kv.vault.azure.net/");
    }

    #[test]
    fn ini_parsing() {
        let values = parse_ini("top = 1\n[s]\nA = x = y\nb: c\n  continued\n; comment\nc =\n");
        let get = |s: &str, k: &str| {
            values
                .get(&(s.to_owned(), k.to_owned()))
                .map(String::as_str)
        };
        assert_eq!(get("", "top"), Some("1"));
        assert_eq!(get("s", "a"), Some("x = y"));
        assert_eq!(get("s", "b"), Some("c\ncontinued"));
        assert_eq!(get("s", "c"), Some(""));
    }
}
