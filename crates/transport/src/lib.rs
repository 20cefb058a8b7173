//! vaultref's one HTTP layer, under the Entra ID credentials and the Key Vault client (the
//! shape of azure_core's `http/policies`): every client of the workspace builds, retries,
//! classifies failures, reads its settings and redacts URLs the same way.
//!
//! - Client: [`http_client_builder`] / [`build_http_client`] with [`HttpClientOptions`]:
//!   reqwest + rustls, the system roots plus an extra CA bundle (`SSL_CERT_FILE` or an
//!   explicit file, capped at [`MAX_CA_FILE_BYTES`]), timeouts, the user agent, and the
//!   https proxy from the environment (never for loopback or link-local hosts).
//! - Endpoints: [`check_endpoint`] with an [`EndpointRole`]: TLS for every endpoint that
//!   receives a credential or a secret, plain http only on loopback (and, for managed
//!   identity, link-local) addresses, no user info in URLs; [`is_loopback`],
//!   [`is_link_local`], [`is_ip_literal`].
//! - Retries: [`RetryOptions`] and [`RetryState`] (exponential back-off with [`Jitter`], the
//!   service's `Retry-After` honoured exactly through [`requested_retry_delay`], a total
//!   budget, one `warn` line per retry under [`RETRY_LOG_TARGET`]); [`is_retryable_status`];
//!   [`TransportFailure`] classifies a request that got no answer ([`FailureKind`]) and says
//!   whether it is transient: certificate and TLS failures, unknown host names and refused
//!   connections to loopback or literal addresses are not.
//! - Time: [`Clock`] (wall clock, for expiry) and [`Timer`] (monotonic time and sleeping, for
//!   waits), with [`SystemClock`] and [`TokioTimer`] in production.
//! - Settings: [`Environment`], the one source of environment variables.
//! - Output and input: [`redact_url`] (user info, query and fragment removed) for every URL
//!   printed or logged; [`cause_chain`] for error texts; bounded reads
//!   ([`read_to_end_limited`], [`read_file_limited`], [`read_body_limited`]) so no input is
//!   read without a cap.
//!
//! Errors: one [`Error`] enum. The user guide for what this means in practice is in
//! `docs/entra.md` and `docs/keyvault.md`.

mod client;
mod endpoint;
mod env;
mod error;
mod failure;
mod limits;
mod redact;
mod retry;
mod roots;
mod time;

pub use crate::{
    client::{HttpClientOptions, MAX_CA_FILE_BYTES, build_http_client, http_client_builder},
    endpoint::{
        EndpointRole, check_endpoint, is_ip_literal, is_link_local, is_loopback, make_base_url,
    },
    env::{Environment, SSL_CERT_FILE},
    error::{Error, Result},
    failure::{FailureKind, TransportFailure, cause_chain},
    limits::{
        BodyError, TooLarge, describe_size, read_body_limited, read_file_limited,
        read_to_end_limited,
    },
    redact::{redact, redact_url},
    retry::{
        RETRY_LOG_TARGET, RetryAfterSeconds, RetryOptions, RetryState, is_retryable_status,
        requested_retry_delay,
    },
    time::{Clock, Jitter, RandomJitter, SystemClock, Timer, TokioTimer},
};

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
