//! The crate's one error type.

use std::{path::PathBuf, sync::Arc};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong setting up HTTP: an unusable CA file, an endpoint that would expose a
/// credential, a bad proxy setting.
///
/// URLs in messages are redacted ([`redact_url`](crate::redact_url)): no user info, no query.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The extra CA bundle (`SSL_CERT_FILE` or the explicit option) could not be used.
    #[error(
        "cannot use the CA certificate file {path}: {reason}; point SSL_CERT_FILE (or the caCertFile option) at a PEM file of CA certificates"
    )]
    CaCertificate {
        /// The PEM file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(Arc<reqwest::Error>),

    /// An endpoint that receives a credential or a secret is not reached over TLS.
    #[error("{what} '{url}' must use https: {reason}")]
    InsecureEndpoint {
        /// Which endpoint, e.g. `the vault URL`.
        what: &'static str,
        /// The URL, redacted.
        url: String,
        /// Why, and what is accepted instead.
        reason: &'static str,
    },

    /// A URL carries a user name or password.
    #[error(
        "{what} '{url}' contains a user name or password, which would show in logs and connection pools: remove them from the URL (credentials have settings of their own)"
    )]
    CredentialsInUrl {
        /// Which endpoint.
        what: &'static str,
        /// The URL without its user info.
        url: String,
    },

    /// A URL has a scheme other than `https` / `http`.
    #[error("{what} '{url}' has the unsupported scheme '{scheme}': it must use https")]
    UnsupportedScheme {
        /// Which endpoint.
        what: &'static str,
        /// The scheme.
        scheme: String,
        /// The URL, redacted.
        url: String,
    },

    /// A proxy variable (`HTTPS_PROXY`, `ALL_PROXY`) cannot be used.
    #[error("{variable} cannot be used as the proxy: {problem}")]
    InvalidProxy {
        /// The variable.
        variable: &'static str,
        /// What is wrong and what to do.
        problem: String,
    },
}
