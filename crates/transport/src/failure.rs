//! The one notion of "transient": why a request got no HTTP answer, whether another attempt
//! could change that, and what the user should check.

use std::{error::Error as StdError, fmt, io, sync::Arc};

use url::Url;

use crate::endpoint::{is_ip_literal, is_loopback};

/// Why a request got no HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The server's certificate is not trusted or not valid for the host.
    Certificate,
    /// Another TLS failure (a handshake error, a server that does not speak TLS).
    Tls,
    /// The host name does not exist.
    NameNotResolved,
    /// Name resolution failed for now ("temporary failure in name resolution").
    NameResolutionUnavailable,
    /// Nothing accepts connections at the address.
    ConnectionRefused,
    /// No answer in time (connecting, or the whole request).
    Timeout,
    /// The connection broke: reset, closed, an incomplete answer.
    Connection,
    /// The request could not be made at all (not a network failure).
    Other,
}

/// A request that got no HTTP answer, classified once for every client: the kind, whether a
/// retry could help, the chain of causes (never the URL's query) and a hint.
///
/// Not worth retrying, so reported at once: certificate and other TLS failures, a name that
/// does not resolve, a refused connection to a loopback or literal IP address (nothing there
/// starts listening because we wait), and anything that is not a network failure. Worth
/// retrying: timeouts, broken connections, temporary DNS failures, a refused connection to a
/// named host (a load balancer may be rotating).
#[derive(Clone, Debug)]
pub struct TransportFailure {
    kind: FailureKind,
    transient: bool,
    cause: String,
    source: Arc<reqwest::Error>,
}

impl TransportFailure {
    /// Classifies `error`, the failure of a request to `url`. The URL is removed from the
    /// error, so neither it nor its query shows in messages.
    #[must_use]
    pub fn new(error: reqwest::Error, url: &Url) -> Self {
        let error = error.without_url();
        let kind = kind_of(&error);
        let transient = match kind {
            FailureKind::Certificate
            | FailureKind::Tls
            | FailureKind::NameNotResolved
            | FailureKind::Other => false,
            FailureKind::ConnectionRefused => !(is_loopback(url) || is_ip_literal(url)),
            FailureKind::NameResolutionUnavailable
            | FailureKind::Timeout
            | FailureKind::Connection => true,
        };
        Self {
            kind,
            transient,
            cause: cause_chain(&error),
            source: Arc::new(error),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether another attempt could succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The chain of causes, e.g. `error sending request: client error (Connect): tcp connect
    /// error: Connection refused (os error 111)`.
    #[must_use]
    pub fn cause(&self) -> &str {
        &self.cause
    }

    /// The error itself (without its URL).
    #[must_use]
    pub fn source(&self) -> &Arc<reqwest::Error> {
        &self.source
    }

    /// What the user should check, naming the root cause in words.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        match self.kind {
            FailureKind::Certificate => {
                "the server's TLS certificate is not trusted: trust the CA that issued it (caCertFile in vaultref's configuration, the SSL_CERT_FILE environment variable, or HttpClientOptions::ca_cert_file); never turn verification off"
            }
            FailureKind::Tls => {
                "the TLS handshake failed: check that the URL's port serves https, and for certificate problems that its CA is trusted (caCertFile or SSL_CERT_FILE)"
            }
            FailureKind::NameNotResolved => {
                "the host name does not resolve: check the URL's host for typos, and DNS"
            }
            FailureKind::NameResolutionUnavailable => {
                "name resolution is failing for now: check DNS and the network"
            }
            FailureKind::ConnectionRefused => {
                "connection refused: nothing listens at that host and port; check the URL's host and port and that the service is running"
            }
            FailureKind::Timeout => {
                "the endpoint did not answer in time: check network, proxy (HTTPS_PROXY/NO_PROXY) and firewall rules"
            }
            FailureKind::Connection => {
                "the connection failed: check network, proxy (HTTPS_PROXY/NO_PROXY) and firewall rules"
            }
            FailureKind::Other => "check network and proxy settings",
        }
    }
}

impl fmt::Display for TransportFailure {
    /// `cause; hint`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.cause, self.hint())
    }
}

fn kind_of(error: &reqwest::Error) -> FailureKind {
    let mut dns = false;
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(kind) = tls_kind(cause) {
            return kind;
        }
        if let Some(io) = cause.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::ConnectionRefused
        {
            return FailureKind::ConnectionRefused;
        }
        // hyper-util's connector says "dns error" and keeps its type private; the resolver's
        // own message (getaddrinfo's) follows in the chain.
        let text = cause.to_string();
        if text == "dns error" {
            dns = true;
        } else if dns && (text.contains("Temporary failure") || text.contains("try again")) {
            return FailureKind::NameResolutionUnavailable;
        }
        source = cause.source();
    }
    if dns {
        FailureKind::NameNotResolved
    } else if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_connect() || error.is_request() || error.is_body() {
        FailureKind::Connection
    } else {
        FailureKind::Other
    }
}

/// A rustls error, or the `InvalidData` `io::Error` rustls failures arrive in.
fn tls_kind(cause: &(dyn StdError + 'static)) -> Option<FailureKind> {
    if let Some(e) = cause.downcast_ref::<rustls::Error>() {
        return Some(match e {
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                FailureKind::Certificate
            }
            _ => FailureKind::Tls,
        });
    }
    let io = cause.downcast_ref::<io::Error>()?;
    // `io::Error::source()` skips the error it wraps, so look inside explicitly.
    if let Some(kind) = io.get_ref().and_then(|inner| tls_kind(inner)) {
        return Some(kind);
    }
    (io.kind() == io::ErrorKind::InvalidData).then_some(FailureKind::Tls)
}

/// `error: cause: root cause`, skipping repeated messages (hyper and rustls nest them).
#[must_use]
pub fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
