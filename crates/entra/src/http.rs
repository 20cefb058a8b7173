//! The one HTTP stack: building the reqwest client, and sending with retries.

use std::{path::PathBuf, sync::Arc, time::Duration};

use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderName, RETRY_AFTER},
};
use time::OffsetDateTime;

use crate::{Clock, Env, Error, Result, env::SSL_CERT_FILE};

/// How to build the HTTP client.
///
/// Shared with the Key Vault client through [`http_client_builder`], so that every crate uses
/// one reqwest/rustls configuration.
#[derive(Clone, Debug)]
pub struct HttpClientOptions {
    /// A PEM file of extra CA certificates to trust besides the system roots (the emulator's
    /// CA, a corporate proxy's). When `None`, `SSL_CERT_FILE` is used if set.
    pub ca_cert_file: Option<PathBuf>,
    /// Time allowed to establish a connection (TCP + TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, response included.
    pub request_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for HttpClientOptions {
    fn default() -> Self {
        Self {
            ca_cert_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("vaultref/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A reqwest client builder with rustls, the system roots plus the extra CA bundle
/// (`options.ca_cert_file`, else `SSL_CERT_FILE` from `env`), timeouts and the user agent.
///
/// ```
/// use vaultref_entra::{Env, HttpClientOptions, http_client_builder};
///
/// let client = http_client_builder(&HttpClientOptions::default(), &Env::from_vars([("A", "b")]))
///     .unwrap()
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
///
/// # Errors
///
/// [`Error::CaCertificate`] when the CA file cannot be read or holds no PEM certificate.
pub fn http_client_builder(
    options: &HttpClientOptions,
    env: &Env,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .user_agent(options.user_agent.clone());
    let ca_file = options
        .ca_cert_file
        .clone()
        .or_else(|| env.var(SSL_CERT_FILE).map(PathBuf::from));
    if let Some(path) = ca_file {
        let pem = std::fs::read(&path).map_err(|e| Error::CaCertificate {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::CaCertificate {
                path: path.clone(),
                reason: format!("not a PEM certificate bundle ({e})"),
            })?;
        if certs.is_empty() {
            return Err(Error::CaCertificate {
                path,
                reason: "it contains no PEM certificate".into(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    Ok(builder)
}

/// Builds the client [`http_client_builder`] describes.
///
/// # Errors
///
/// As [`http_client_builder`], plus [`Error::HttpClient`] when rustls cannot be set up.
pub fn build_http_client(options: &HttpClientOptions, env: &Env) -> Result<reqwest::Client> {
    http_client_builder(options, env)?
        .build()
        .map_err(|e| Error::HttpClient(Arc::new(e)))
}

/// How token requests are retried: 408, 429, 5xx and transport failures (plus 404 and 410 for
/// IMDS), with exponential back-off that honours `Retry-After`, `retry-after-ms` and
/// `x-ms-retry-after-ms`.
#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Back-off before the first retry; doubled for each further retry.
    pub initial_delay: Duration,
    /// Longest wait between attempts. A `Retry-After` longer than this ends the retries and
    /// returns the error (with the requested wait) instead of blocking the caller.
    pub max_delay: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Which statuses are worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryOn {
    /// Entra ID: 408, 429, 500, 502, 503, 504.
    Entra,
    /// IMDS / App Service: also 404 and 410 (IMDS is still starting), and all 5xx.
    ManagedIdentity,
}

impl RetryOn {
    fn should_retry(self, status: StatusCode) -> bool {
        let code = status.as_u16();
        match self {
            Self::Entra => matches!(code, 408 | 429 | 500 | 502 | 503 | 504),
            Self::ManagedIdentity => {
                matches!(code, 404 | 408 | 410 | 429) || status.is_server_error()
            }
        }
    }
}

/// A response read to the end, with how many attempts it took.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) attempts: u32,
    pub(crate) retry_after: Option<Duration>,
}

/// The reqwest client plus the retry policy and the clock (for HTTP-date `Retry-After`).
#[derive(Clone, Debug)]
pub(crate) struct HttpPipeline {
    pub(crate) client: reqwest::Client,
    retry: RetryOptions,
    clock: Arc<dyn Clock>,
}

impl HttpPipeline {
    pub(crate) fn new(client: reqwest::Client, retry: RetryOptions, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            retry,
            clock,
        }
    }

    /// Sends `request`, retrying per `retry_on`. Returns the last response whatever its status;
    /// fails only when no response arrived at all.
    pub(crate) async fn send(
        &self,
        request: reqwest::Request,
        retry_on: RetryOn,
        credential: &'static str,
    ) -> Result<Reply> {
        let endpoint = endpoint_of(request.url());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let this_try = request.try_clone().ok_or_else(|| {
                Error::Configuration("a token request body could not be cloned for a retry".into())
            })?;
            let retries_left = attempt <= self.retry.max_retries;
            match self.client.execute(this_try).await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let retry_after =
                        requested_retry_delay(&headers, self.clock.now(), RetryAfterSeconds::Whole);
                    let body = match response.bytes().await {
                        Ok(body) => body.to_vec(),
                        Err(e) if retries_left && is_transient(&e) => {
                            self.pause(attempt, None).await;
                            continue;
                        }
                        Err(e) => return Err(transport_error(credential, endpoint, attempt, e)),
                    };
                    let retry = retries_left && retry_on.should_retry(status);
                    let too_long = retry_after.is_some_and(|d| d > self.retry.max_delay);
                    if !retry || too_long {
                        return Ok(Reply {
                            status,
                            headers,
                            body,
                            attempts: attempt,
                            retry_after,
                        });
                    }
                    tracing::debug!(%endpoint, status = status.as_u16(), attempt, "retrying token request");
                    self.pause(attempt, retry_after).await;
                }
                Err(e) if retries_left && is_transient(&e) => {
                    tracing::debug!(%endpoint, attempt, error = %e, "retrying token request after a transport error");
                    self.pause(attempt, None).await;
                }
                Err(e) => return Err(transport_error(credential, endpoint, attempt, e)),
            }
        }
    }

    async fn pause(&self, attempt: u32, retry_after: Option<Duration>) {
        let exponential = self
            .retry
            .initial_delay
            .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.retry.max_delay);
        tokio::time::sleep(retry_after.unwrap_or(exponential)).await;
    }
}

/// Timeouts, refused or reset connections: worth another try. TLS failures (an untrusted
/// certificate) are not: rustls reports them as `io::ErrorKind::InvalidData`, and retrying
/// would only delay the error that says which CA to trust.
fn is_transient(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(is_tls_failure)
        {
            return false;
        }
        source = cause.source();
    }
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

/// An `io::Error` of kind `InvalidData`, possibly wrapped in other `io::Error`s (whose
/// `source()` skips the wrapped error itself).
fn is_tls_failure(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::InvalidData
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
            .is_some_and(is_tls_failure)
}

pub(crate) fn transport_error(
    credential: &'static str,
    endpoint: String,
    attempts: u32,
    e: reqwest::Error,
) -> Error {
    let hint = if e.is_timeout() {
        "the endpoint did not answer in time: check network, proxy (HTTPS_PROXY/NO_PROXY) and firewall rules"
    } else if e.is_connect() {
        "check the host name, network, proxy and firewall; for TLS errors make sure the server's CA is trusted (SSL_CERT_FILE or caCertFile)"
    } else {
        "check network and proxy settings"
    };
    let e = e.without_url();
    Error::Transport {
        credential,
        endpoint,
        attempts,
        cause: cause_chain(&e),
        source: Arc::new(e),
        hint,
    }
}

/// `error: cause: root cause`, skipping repeated messages (hyper and rustls nest them).
pub(crate) fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
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

/// The URL without query or fragment, for messages.
pub(crate) fn endpoint_of(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// How a `Retry-After` given in seconds is read by [`requested_retry_delay`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfterSeconds {
    /// Whole seconds only (`7`), RFC 9110's `delay-seconds`; anything else must be an HTTP
    /// date. The token requests of this crate read it so.
    Whole,
    /// Any finite, non-negative decimal number of seconds (`1.5`), as azure-core reads it; a
    /// negative or non-finite number is no wait at all.
    Decimal,
}

/// The wait a response asks for: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds) or
/// `Retry-After` (seconds, read as `seconds` says, or an HTTP date, measured from `now`).
///
/// `None` when the response names no usable wait. The one reading of these headers for
/// every crate that sends requests through [`http_client_builder`]'s client.
///
/// ```
/// use std::time::Duration;
/// use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
/// use time::OffsetDateTime;
/// use vaultref_entra::{RetryAfterSeconds, requested_retry_delay};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
/// let now = OffsetDateTime::now_utc();
/// let wait = requested_retry_delay(&headers, now, RetryAfterSeconds::Whole);
/// assert_eq!(wait, Some(Duration::from_secs(2)));
/// ```
#[must_use]
pub fn requested_retry_delay(
    headers: &HeaderMap,
    now: OffsetDateTime,
    seconds: RetryAfterSeconds,
) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        let value = headers
            .get(HeaderName::from_static(name))
            .and_then(|v| v.to_str().ok());
        if let Some(ms) = value.and_then(|v| v.trim().parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(seconds_f64(ms / 1000.0));
        }
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    match seconds {
        RetryAfterSeconds::Whole => {
            if let Ok(seconds) = value.parse::<u64>() {
                return Some(Duration::from_secs(seconds));
            }
        }
        RetryAfterSeconds::Decimal => {
            if let Ok(seconds) = value.parse::<f64>() {
                return (seconds.is_finite() && seconds >= 0.0).then(|| seconds_f64(seconds));
            }
        }
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - now;
    Some(if wait.is_negative() {
        Duration::ZERO
    } else {
        wait.unsigned_abs()
    })
}

/// A finite, non-negative number of seconds as a `Duration`, saturating where
/// `Duration::from_secs_f64` would panic (a header asking for `1e30` seconds).
fn seconds_f64(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        let now = datetime!(2026-11-23 08:00:00 UTC);
        let check = |pairs: &[(&'static str, &str)], expected: Option<Duration>| {
            assert_eq!(
                requested_retry_delay(&headers(pairs), now, RetryAfterSeconds::Whole),
                expected,
                "{pairs:?}"
            );
        };
        check(&[("retry-after", "7")], Some(Duration::from_secs(7)));
        check(
            &[("retry-after-ms", "1500")],
            Some(Duration::from_millis(1500)),
        );
        // Too large for a Duration: the longest wait, not an overflow panic.
        check(&[("retry-after-ms", "1e30")], Some(Duration::MAX));
        assert_eq!(
            requested_retry_delay(
                &headers(&[("retry-after", "1e30")]),
                now,
                RetryAfterSeconds::Decimal
            ),
            Some(Duration::MAX)
        );
        check(
            &[("x-ms-retry-after-ms", "250"), ("retry-after", "9")],
            Some(Duration::from_millis(250)),
        );
        check(
            &[("retry-after", "Mon, 23 Nov 2026 08:00:30 GMT")],
            Some(Duration::from_secs(30)),
        );
        check(
            &[("retry-after", "Mon, 23 Nov 2026 07:59:00 GMT")],
            Some(Duration::ZERO),
        );
        check(&[("retry-after", "soon")], None);
        check(&[], None);
    }

    #[test]
    fn retried_statuses() {
        let entra: Vec<u16> = (400..600)
            .filter(|&c| RetryOn::Entra.should_retry(StatusCode::from_u16(c).unwrap()))
            .collect();
        assert_eq!(entra, [408, 429, 500, 502, 503, 504]);
        for code in [404, 410, 429, 500, 503, 511] {
            assert!(
                RetryOn::ManagedIdentity.should_retry(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [400, 401, 403] {
            assert!(
                !RetryOn::ManagedIdentity.should_retry(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
            assert!(
                !RetryOn::Entra.should_retry(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let options = HttpClientOptions {
            ca_cert_file: Some(missing.clone()),
            ..HttpClientOptions::default()
        };
        let err = http_client_builder(
            &options,
            &Env::from_vars::<[(&str, &str); 0], &str, &str>([]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::CaCertificate { path, .. } if *path == missing),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let env = Env::from_vars([(SSL_CERT_FILE, empty.to_str().unwrap())]);
        let err = http_client_builder(&HttpClientOptions::default(), &env).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}
