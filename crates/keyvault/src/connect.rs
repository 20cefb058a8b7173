//! Building a [`SecretClient`] from settings: the vault URL's rules and the credential wiring
//! (one HTTP client shared by the credential and the vault client).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use secrecy::SecretString;
use url::Url;
use vaultref_entra::{
    ClientSecretCredential, CredentialOptions, DefaultAzureCredential,
    DefaultAzureCredentialOptions, Env, HttpClientOptions, TokenCredential,
};
use vaultref_transport::{
    EndpointRole, check_endpoint, http_client_builder, is_ip_literal, is_loopback, redact_url,
};

use crate::{Error, Result, SecretClient, SecretClientOptions};

/// How [`SecretClient::connect`] gets tokens for the vault.
#[derive(Clone)]
#[non_exhaustive]
pub enum VaultCredential {
    /// An app registration's client secret, through [`ClientSecretCredential`].
    ClientSecret {
        /// The directory (tenant) id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The secret value.
        client_secret: SecretString,
    },
    /// [`DefaultAzureCredential`]: environment, workload identity, managed identity.
    DefaultChain,
    /// The default chain with settings (a user-assigned identity, a workload tenant), as
    /// Airflow's backend builds it from its keyword arguments.
    DefaultChainWith(DefaultAzureCredentialOptions),
}

impl fmt::Debug for VaultCredential {
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
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::DefaultChain => f.write_str("DefaultChain"),
            Self::DefaultChainWith(_) => f.write_str("DefaultChainWith(..)"),
        }
    }
}

/// Settings of [`SecretClient::connect`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Entra ID's authority host (else `AZURE_AUTHORITY_HOST`, else the public cloud's).
    pub authority_host: Option<Url>,
    /// Extra CA certificates (PEM) to trust, else `SSL_CERT_FILE`.
    pub ca_cert_file: Option<PathBuf>,
    /// Where `AZURE_*`, `SSL_CERT_FILE` and proxy variables are read.
    pub env: Env,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The challenge-resource check; `None`: on, except for a vault on a loopback IP.
    pub verify_challenge_resource: Option<bool>,
    /// The Key Vault REST api-version (else the client's default).
    pub api_version: Option<String>,
    /// Time allowed to connect (else the HTTP client's default).
    pub connect_timeout: Option<Duration>,
    /// Tenants besides the credential's own that a challenge may name.
    pub additionally_allowed_tenants: Vec<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            authority_host: None,
            ca_cert_file: None,
            env: Env::process(),
            user_agent: concat!("vaultref-keyvault/", env!("CARGO_PKG_VERSION")).to_owned(),
            verify_challenge_resource: None,
            api_version: None,
            connect_timeout: None,
            additionally_allowed_tenants: Vec::new(),
        }
    }
}

impl SecretClient {
    /// A client for `vault_url` whose tokens come from `credential`, built from settings: one
    /// HTTP client (CA file, proxies, timeouts) shared by the credential and the vault, so the
    /// process keeps one connection pool.
    ///
    /// Two conveniences for local use: a vault under `*.localhost` (RFC 6761 loopback names,
    /// which glibc does not resolve) is reached on 127.0.0.1; and a vault addressed by a
    /// loopback IP (the emulator) skips the challenge-resource check, which such an address
    /// cannot pass and which protects nothing there (nothing leaves the machine).
    ///
    /// ```no_run
    /// # fn example() -> vaultref_keyvault::Result<()> {
    /// use url::Url;
    /// use vaultref_keyvault::{ConnectOptions, SecretClient, VaultCredential};
    ///
    /// let vault = Url::parse("https://myvault.vault.azure.net/").unwrap();
    /// let client = SecretClient::connect(&vault, &VaultCredential::DefaultChain, ConnectOptions::default())?;
    /// # drop(client); Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for the vault URL and the HTTP client (CA file, proxy),
    /// [`Error::CredentialSetup`] when the credential cannot be built.
    pub fn connect(
        vault_url: &Url,
        credential: &VaultCredential,
        options: ConnectOptions,
    ) -> Result<Self> {
        let vault = vault_origin(vault_url.as_str())?;
        let mut http_options = HttpClientOptions {
            ca_cert_file: options.ca_cert_file,
            user_agent: options.user_agent,
            ..HttpClientOptions::default()
        };
        if let Some(timeout) = options.connect_timeout {
            http_options.connect_timeout = timeout;
        }
        let mut builder = http_client_builder(&http_options, &options.env)
            .map_err(|e| Error::Configuration(e.to_string()))?;
        let host = vault.host_str().unwrap_or_default();
        if host.ends_with(".localhost")
            && let Some(port) = vault.port_or_known_default()
        {
            builder = builder.resolve(host, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
        let http = builder
            .build()
            .map_err(|e| Error::Configuration(format!("cannot build the HTTP client: {e}")))?;
        let credential_options = CredentialOptions {
            env: options.env.clone(),
            authority_host: options.authority_host,
            http_client: Some(http.clone()),
            additionally_allowed_tenants: options.additionally_allowed_tenants,
            ..CredentialOptions::default()
        };
        let credential: Arc<dyn TokenCredential> = match credential {
            VaultCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            } => Arc::new(
                ClientSecretCredential::new(
                    tenant_id.as_str(),
                    client_id.as_str(),
                    client_secret.clone(),
                    credential_options,
                )
                .map_err(Error::CredentialSetup)?,
            ),
            VaultCredential::DefaultChain => Arc::new(
                DefaultAzureCredential::new(
                    DefaultAzureCredentialOptions::default(),
                    credential_options,
                )
                .map_err(Error::CredentialSetup)?,
            ),
            VaultCredential::DefaultChainWith(chain) => Arc::new(
                DefaultAzureCredential::new(chain.clone(), credential_options)
                    .map_err(Error::CredentialSetup)?,
            ),
        };
        let mut client_options = SecretClientOptions {
            verify_challenge_resource: options
                .verify_challenge_resource
                .unwrap_or_else(|| !is_loopback_ip(&vault)),
            http_client: Some(http),
            env: options.env,
            ..SecretClientOptions::default()
        };
        if let Some(version) = options.api_version {
            client_options.api_version = version;
        }
        Self::new(vault.as_str(), credential, client_options)
    }
}

/// A vault addressed by a loopback IP (the emulator) cannot match the resource its challenge
/// names; nothing leaves the machine, so the check is skipped there only.
fn is_loopback_ip(vault: &Url) -> bool {
    is_loopback(vault) && is_ip_literal(vault)
}

/// `scheme://host[:port]/` of a vault URL, checked: https (plain http only on loopback), no
/// user info, no query. Errors show the URL redacted.
pub(crate) fn vault_origin(vault_url: &str) -> Result<Url> {
    let text = vault_url.trim();
    let bad = |problem: &str| {
        Error::Configuration(format!(
            "vault URL '{}' {problem}; use https://<vault-name>.vault.azure.net/ (or your cloud's or emulator's URL)",
            redact_url(text)
        ))
    };
    let url = Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if url.host_str().is_none() {
        return Err(bad("has no host"));
    }
    check_endpoint(&url, EndpointRole::Vault).map_err(|e| Error::Configuration(e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a query or fragment"));
    }
    let mut origin = url;
    origin.set_path("/");
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_urls_are_checked() {
        for ok in [
            "https://myvault.vault.azure.net",
            "https://myvault.vault.azure.net/",
            "https://myvault.vault.azure.cn:443/",
            "http://127.0.0.1:8080/",
            "http://kv.localhost:8080",
            "http://[::1]:8080/",
        ] {
            let url = vault_origin(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(url.path(), "/");
        }
        for bad in [
            "myvault.vault.azure.net",
            "http://myvault.vault.azure.net/",
            "https://myvault.vault.azure.net/?x=1",
            "ftp://myvault/",
            "https://user:pw@myvault.vault.azure.net/",
        ] {
            assert!(
                matches!(vault_origin(bad), Err(Error::Configuration(_))),
                "{bad}"
            );
        }
        for (bad, hidden) in [
            ("https://user:s3cr3t@myvault.vault.azure.net/", "s3cr3t"),
            (
                "https://myvault.vault.azure.net/?sig=s1gn4ture",
                "s1gn4ture",
            ),
        ] {
            let Err(err) = vault_origin(bad) else {
                panic!("{bad} must be rejected");
            };
            let shown = err.to_string();
            assert!(!shown.contains(hidden), "{shown}");
            assert!(shown.contains("myvault.vault.azure.net"), "{shown}");
        }
    }

    #[test]
    fn loopback_ips_only_skip_the_challenge_check() {
        for (url, loopback) in [
            ("https://127.0.0.1:8443/", true),
            ("https://[::1]:8443/", true),
            ("https://kvtest.localhost:8443/", false),
            ("https://myvault.vault.azure.net/", false),
        ] {
            assert_eq!(is_loopback_ip(&Url::parse(url).unwrap()), loopback, "{url}");
        }
    }

    #[test]
    fn plain_http_off_loopback_says_why_it_is_refused() {
        let err = vault_origin("http://10.0.0.5/").unwrap_err().to_string();
        assert!(err.contains("must use https"), "{err}");
        assert!(err.contains("bearer tokens and secret values"), "{err}");
    }

    #[test]
    fn the_credential_secret_stays_out_of_debug() {
        let credential = VaultCredential::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("hunter2-value"),
        };
        assert!(!format!("{credential:?}").contains("hunter2"));
    }
}
