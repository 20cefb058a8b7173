//! An Azure Key Vault secrets client for vaultref: correct on the wire, resilient under
//! throttling and faults, and cheap per call.
//!
//! - [`SecretClient`]: one vault, every secrets operation — set, get (latest or a version),
//!   update properties, delete, get/list deleted, recover, purge, backup, restore — plus
//!   [`SecretClient::list_secrets`] / [`SecretClient::list_secret_versions`] /
//!   [`SecretClient::list_deleted_secrets`] as [`SecretStream`]s that follow `nextLink`, and
//!   `*_and_wait` variants of delete and recover that poll until the change is visible.
//! - Authentication: the challenge protocol of the official SDKs. The first request goes out
//!   without credentials or body; the vault's `WWW-Authenticate` names the token scope and
//!   tenant; the resource is checked against the vault host (on by default); the token comes
//!   from any [`vaultref_entra::TokenCredential`]; the challenge is cached per client.
//! - Resilience: vaultref-transport's one retry policy ([`RetryOptions`]: 408/429/5xx and
//!   transient connection failures, exponential back-off with jitter, `Retry-After` /
//!   `retry-after-ms` / `x-ms-retry-after-ms` honoured exactly, a total time budget, a
//!   warning per retry); failures no retry can fix (an untrusted certificate, an unknown
//!   host, a refused loopback port) end at once with their root cause. Time and randomness
//!   are injected ([`Timer`], [`Jitter`]). Response bodies are capped.
//! - Setup: [`SecretClient::new`] over any credential, or [`SecretClient::connect`] with a
//!   [`VaultCredential`] and [`ConnectOptions`] (the credential and the vault share one HTTP
//!   client). Vault URLs must be https (plain http only on loopback) without user info or
//!   query.
//! - Types: [`SecretName`] (validated before any request; a rejected name is described, never
//!   echoed: [`RejectedName`]), [`SecretValue`] and
//!   [`SecretBackup`] (zeroized, redacted in `Debug`), [`Secret`], [`SecretProperties`],
//!   [`DeletedSecret`], [`SetSecretOptions`], [`SecretUpdate`].
//! - Configuration: [`SecretClientOptions`], [`ListOptions`], [`WaitOptions`].
//! - Errors: one [`Error`] enum built from the HTTP status, `error.code` and
//!   `error.innererror.code` (not found, deleted-but-recoverable, being deleted, forbidden
//!   with a [`ForbiddenReason`], throttled with the requested delay, bad parameter,
//!   unauthorized…), each with a message that says what to do and never a secret value.
//!
//! This crate knows nothing of OpenMetadata naming. The user guide is `docs/keyvault.md`.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use vaultref_entra::{CredentialOptions, DefaultAzureCredential, DefaultAzureCredentialOptions};
//! use vaultref_keyvault::{Error, SecretClient, SecretClientOptions, SecretName};
//!
//! let credential = Arc::new(DefaultAzureCredential::new(
//!     DefaultAzureCredentialOptions::default(),
//!     CredentialOptions::default(),
//! )?);
//! let client = SecretClient::new(
//!     "https://myvault.vault.azure.net/",
//!     credential,
//!     SecretClientOptions::default(),
//! )?;
//! match client.get_secret(&SecretName::new("db-password")?).await {
//!     Ok(secret) => use_password(secret.value.expose()),
//!     Err(e @ Error::NotFound { .. }) => eprintln!("{e}"),
//!     Err(e) => return Err(e.into()),
//! }
//! # fn use_password(_: &str) {}
//! # Ok(()) }
//! ```

mod challenge;
mod client;
mod connect;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod name;
mod options;
mod pipeline;
mod value;
mod wire;

pub use crate::{
    client::{SecretClient, SecretStream},
    connect::{ConnectOptions, VaultCredential},
    error::{Error, ForbiddenReason, Result},
    model::{DeletedSecret, Secret, SecretProperties, SecretUpdate, SetSecretOptions},
    name::{RejectedName, SecretName},
    options::{DEFAULT_API_VERSION, ListOptions, SecretClientOptions, WaitOptions},
    value::{SecretBackup, SecretValue},
};
pub use vaultref_transport::{Jitter, RandomJitter, RetryOptions, Timer, TokioTimer};

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
