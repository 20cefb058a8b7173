//! Microsoft Entra ID access tokens for vaultref: credentials and a token cache, over
//! vaultref-transport's HTTP layer.
//!
//! - [`TokenCredential`]: the async trait every credential implements (`scopes` in,
//!   [`AccessToken`] out); use it as `Arc<dyn TokenCredential>`. [`TokenRequestOptions`]
//!   carries a tenant named by a Key Vault challenge.
//! - Credentials: [`ClientSecretCredential`] (OAuth2 client credentials, driven by the
//!   `oauth2` crate over our reqwest client), [`WorkloadIdentityCredential`] (federated token
//!   file), [`ManagedIdentityCredential`] (IMDS and App Service), [`EnvironmentCredential`]
//!   (`AZURE_*` variables), [`ChainedTokenCredential`] and [`DefaultAzureCredential`]
//!   (environment → workload identity → managed identity, as in Python's azure-identity).
//! - Every credential caches tokens per (tenant, scopes): one request in flight per key
//!   however many callers wait, refresh five minutes before expiry (or at `refresh_in`) in
//!   the background, the old token kept while a refresh fails, back-off after failures
//!   ([`CacheOptions`]). Requests are retried by vaultref-transport's policy (408/429/5xx and
//!   transient transport failures, `Retry-After` honoured, a warning per retry); a failure no
//!   retry can fix (an untrusted certificate, an unknown host, a refused loopback port) is
//!   reported at once.
//! - Configuration: [`CredentialOptions`] (environment source [`Env`], authority host,
//!   [`HttpClientOptions`], retry and cache options, injected [`Clock`], [`Timer`] and
//!   [`Jitter`]). The authority host must be https (plain http only on loopback) and carry no
//!   user info. [`Env`], [`Clock`], [`HttpClientOptions`], [`RetryOptions`],
//!   [`http_client_builder`], [`build_http_client`] and [`requested_retry_delay`] are
//!   vaultref-transport's, re-exported here for the crates and tests that take them with the
//!   credentials.
//! - Errors: one [`Error`] enum; [`Error::is_unavailable`] separates "can't be used here"
//!   from "tried and failed"; [`EntraError`] carries the `AADSTS` code, description, trace and
//!   correlation ids with a hint about what to fix. Secrets and tokens never appear in
//!   messages or `Debug` output.
//!
//! This crate knows nothing of Key Vault. The user guide (environment variables, their
//! order, every error and its fix) is `docs/entra.md`.
//!
//! ```no_run
//! # async fn example() -> Result<(), vaultref_entra::Error> {
//! use std::sync::Arc;
//! use vaultref_entra::{
//!     CredentialOptions, DefaultAzureCredential, DefaultAzureCredentialOptions,
//!     TokenCredential, TokenRequestOptions,
//! };
//!
//! let credential: Arc<dyn TokenCredential> = Arc::new(DefaultAzureCredential::new(
//!     DefaultAzureCredentialOptions::default(),
//!     CredentialOptions::default(),
//! )?);
//! let token = credential
//!     .get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default())
//!     .await?;
//! let header = format!("Bearer {}", token.secret());
//! # drop(header); Ok(()) }
//! ```

mod cache;
mod chain;
mod client_credentials;
mod client_secret;
mod environment;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod managed_identity;
mod options;
mod token;
mod variables;
mod workload_identity;

pub use crate::{
    chain::{ChainedTokenCredential, DefaultAzureCredential, DefaultAzureCredentialOptions},
    client_secret::ClientSecretCredential,
    environment::EnvironmentCredential,
    error::{CredentialAttempt, EntraError, Error, Result},
    managed_identity::{ManagedIdentityCredential, ManagedIdentityOptions, UserAssignedId},
    options::{CacheOptions, CredentialOptions, token_request_retry},
    token::{AccessToken, TokenCredential, TokenRequestOptions},
    workload_identity::{WorkloadIdentityCredential, WorkloadIdentityOptions},
};
pub use vaultref_transport::{
    Clock, Environment as Env, HttpClientOptions, Jitter, RetryAfterSeconds, RetryOptions,
    SystemClock, Timer, build_http_client, http_client_builder, requested_retry_delay,
};

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
