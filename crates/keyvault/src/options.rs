//! Client, list and wait options.

use std::{sync::Arc, time::Duration};

use vaultref_entra::{Env, HttpClientOptions};

use crate::{Jitter, RandomJitter, RetryOptions, Timer, TokioTimer};

/// The api-version sent by default (the one the official Rust SDK 1.0 uses).
pub const DEFAULT_API_VERSION: &str = "2025-07-01";

/// How a [`SecretClient`](crate::SecretClient) talks to its vault.
///
/// ```
/// use vaultref_keyvault::{RetryOptions, SecretClientOptions};
///
/// let options = SecretClientOptions {
///     api_version: "7.6".into(),
///     retry: RetryOptions { max_retries: 3, ..RetryOptions::default() },
///     ..SecretClientOptions::default()
/// };
/// # drop(options);
/// ```
#[derive(Clone, Debug)]
pub struct SecretClientOptions {
    /// The `api-version` query parameter of every request (also overwritten in `nextLink`s).
    pub api_version: String,
    /// Check that the resource named by the vault's authentication challenge is the vault's
    /// parent domain before asking for a token (on by default, as in the official SDKs). Turn
    /// it off only for a vault served from an unrelated domain, e.g. an emulator on
    /// `127.0.0.1`.
    pub verify_challenge_resource: bool,
    /// Ask the credential for a token for the vault's likely scope (its parent domain, as
    /// every Azure cloud's challenge names) while the first, unauthenticated request is in
    /// flight, so that a cold client waits one round trip less (on by default). The token is
    /// only sent to the vault if the challenge names that scope; if it names another, the
    /// guess cost one extra token request. No effect for a vault addressed by IP.
    pub prefetch_token: bool,
    /// Retries of each request.
    pub retry: RetryOptions,
    /// How to build the HTTP client when `http_client` is `None` (extra CA file, timeouts,
    /// user agent), with vaultref-transport's builder.
    pub http: HttpClientOptions,
    /// Where `SSL_CERT_FILE` (when `http.ca_cert_file` is not set) and the proxy variables are
    /// read from.
    pub env: Env,
    /// An existing client to use, e.g. the one the credential uses, so that the process keeps
    /// one connection pool.
    pub http_client: Option<reqwest::Client>,
    /// Time source of retries and waits.
    pub timer: Arc<dyn Timer>,
    /// Randomness of back-off jitter and request ids.
    pub jitter: Arc<dyn Jitter>,
}

impl Default for SecretClientOptions {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.to_owned(),
            verify_challenge_resource: true,
            prefetch_token: true,
            retry: RetryOptions::default(),
            http: HttpClientOptions {
                user_agent: concat!("vaultref-keyvault/", env!("CARGO_PKG_VERSION")).to_owned(),
                ..HttpClientOptions::default()
            },
            env: Env::process(),
            http_client: None,
            timer: Arc::new(TokioTimer),
            jitter: Arc::new(RandomJitter::default()),
        }
    }
}

/// Options of the list operations.
///
/// ```no_run
/// # async fn example(client: vaultref_keyvault::SecretClient) -> vaultref_keyvault::Result<()> {
/// use futures::TryStreamExt;
/// use vaultref_keyvault::ListOptions;
///
/// let mut secrets = client.list_secrets(&ListOptions { max_results: Some(10) })?;
/// while let Some(properties) = secrets.try_next().await? {
///     println!("{} (enabled: {:?})", properties.name, properties.enabled);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Page size, 1 to 25 (`maxresults`); `None` lets the service choose (25). The stream
    /// yields items one by one whatever the page size.
    pub max_results: Option<u32>,
}

/// How long `*_and_wait` operations poll until a delete or recover is visible.
///
/// ```no_run
/// # async fn example(client: vaultref_keyvault::SecretClient) -> vaultref_keyvault::Result<()> {
/// use std::time::Duration;
/// use vaultref_keyvault::{SecretName, WaitOptions};
///
/// let name = SecretName::new("old-password")?;
/// let wait = WaitOptions { poll_interval: Duration::from_millis(500), ..WaitOptions::default() };
/// client.delete_secret_and_wait(&name, &wait).await?;
/// client.purge_deleted_secret(&name).await?; // visible now, so purge works at once
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Pause between polls (the official SDKs use 2 s).
    pub poll_interval: Duration,
    /// Give up after this long with [`Error::WaitTimedOut`](crate::Error::WaitTimedOut).
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(60),
        }
    }
}
