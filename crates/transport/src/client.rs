//! The one HTTP client configuration: reqwest with rustls, the system roots plus an extra CA
//! bundle, timeouts, the user agent, and proxies from the injected environment.

use std::{path::PathBuf, sync::Arc, time::Duration};

use rustls::pki_types::{CertificateDer, pem::PemObject as _};
use url::Url;

use crate::{
    EndpointRole, Environment, Error, Result,
    endpoint::{ALWAYS_DIRECT, check_endpoint},
    env::SSL_CERT_FILE,
    limits::{describe_size, read_file_limited},
    redact::redact_url,
    roots,
};

/// The largest CA bundle read (the system bundle of a Linux distribution is about 200 KiB).
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The variables that name the proxy for https requests, in the order they are read.
const PROXY_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The variables that list hosts reached without the proxy.
const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// How to build the HTTP client.
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
/// With an extra bundle, a server's chain is checked against it first and the system roots
/// are only read when that fails: a process whose endpoints the bundle covers never pays for
/// them (see `roots.rs`).
///
/// Proxies come from `env`, not from the process: `HTTPS_PROXY` (or `https_proxy`,
/// `ALL_PROXY`, `all_proxy`) for https requests, minus the hosts of `NO_PROXY` / `no_proxy`;
/// loopback and link-local addresses never go through a proxy. Plain-http requests (only
/// ever to loopback or link-local endpoints) are never proxied, so `HTTP_PROXY` is not read.
/// A proxy URL with credentials must be `https` unless the proxy is on loopback.
///
/// ```
/// use vaultref_transport::{Environment, HttpClientOptions, http_client_builder};
///
/// let client = http_client_builder(&HttpClientOptions::default(), &Environment::from_vars([("A", "b")]))
///     .unwrap()
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
///
/// # Errors
///
/// [`Error::CaCertificate`] when the CA file cannot be read, is larger than
/// [`MAX_CA_FILE_BYTES`] or holds no PEM certificate; [`Error::InvalidProxy`] for a proxy
/// variable that is not a URL or would send credentials in clear.
pub fn http_client_builder(
    options: &HttpClientOptions,
    env: &Environment,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .user_agent(options.user_agent.clone())
        // reqwest would read the process environment; ours comes from `env`.
        .no_proxy();
    if let Some(proxy) = https_proxy(env)? {
        builder = builder.proxy(proxy);
    }
    let ca_file = options
        .ca_cert_file
        .clone()
        .or_else(|| env.var(SSL_CERT_FILE).map(PathBuf::from));
    if let Some(path) = ca_file {
        let ca_error = |reason: String| Error::CaCertificate {
            path: path.clone(),
            reason,
        };
        let pem = read_file_limited(&path, MAX_CA_FILE_BYTES).map_err(|e| {
            ca_error(if e.kind() == std::io::ErrorKind::FileTooLarge {
                format!(
                    "it is larger than {}, more than any CA bundle",
                    describe_size(MAX_CA_FILE_BYTES)
                )
            } else {
                e.to_string()
            })
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| ca_error(format!("not a PEM certificate bundle ({e})")))?;
        if certs.is_empty() {
            return Err(ca_error("it contains no PEM certificate".into()));
        }
        // The system roots as well, but read only if a chain needs them (roots.rs).
        let config = roots::client_config(certs)
            .map_err(|e| ca_error(format!("its certificates cannot be trusted ({e})")))?;
        builder = builder.tls_backend_preconfigured(config);
    }
    Ok(builder)
}

/// Builds the client [`http_client_builder`] describes.
///
/// # Errors
///
/// As [`http_client_builder`], plus [`Error::HttpClient`] when rustls cannot be set up.
pub fn build_http_client(
    options: &HttpClientOptions,
    env: &Environment,
) -> Result<reqwest::Client> {
    http_client_builder(options, env)?
        .build()
        .map_err(|e| Error::HttpClient(Arc::new(e)))
}

/// The proxy for https requests the environment names, if any.
fn https_proxy(env: &Environment) -> Result<Option<reqwest::Proxy>> {
    let Some((variable, raw)) = env.first_var(&PROXY_VARIABLES) else {
        return Ok(None);
    };
    let invalid = |problem: String| Error::InvalidProxy { variable, problem };
    // `proxy.corp:3128` is common in these variables; curl reads it as http.
    let text = if raw.contains("://") {
        raw.clone()
    } else {
        format!("http://{raw}")
    };
    let url = Url::parse(&text).map_err(|e| {
        invalid(format!(
            "'{}' is not a URL ({e}): write it as http://host:port or https://host:port",
            redact_url(&text)
        ))
    })?;
    check_endpoint(&url, EndpointRole::Proxy).map_err(|e| invalid(e.to_string()))?;
    let mut no_proxy = ALWAYS_DIRECT.to_owned();
    if let Some((_, hosts)) = env.first_var(&NO_PROXY_VARIABLES) {
        no_proxy.push(',');
        no_proxy.push_str(&hosts);
    }
    let proxy = reqwest::Proxy::https(url.as_str())
        .map_err(|e| {
            invalid(format!(
                "'{}' is refused by the HTTP client: {e}",
                redact_url(&text)
            ))
        })?
        .no_proxy(reqwest::NoProxy::from_string(&no_proxy));
    Ok(Some(proxy))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            &Environment::from_vars::<[(&str, &str); 0], &str, &str>([]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::CaCertificate { path, .. } if *path == missing),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let env = Environment::from_vars([(SSL_CERT_FILE, empty.to_str().unwrap())]);
        let err = http_client_builder(&HttpClientOptions::default(), &env).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn an_endless_ca_file_is_refused_at_the_cap() {
        let env = Environment::from_vars([(SSL_CERT_FILE, "/dev/zero")]);
        let err = http_client_builder(&HttpClientOptions::default(), &env).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("/dev/zero") && shown.contains("larger than 4 MiB"),
            "{shown}"
        );
    }

    #[test]
    fn proxy_settings_are_checked_and_redacted() {
        let build = |vars: &[(&str, &str)]| {
            http_client_builder(
                &HttpClientOptions::default(),
                &Environment::from_vars(vars.iter().copied()),
            )
            .map(drop)
            .map_err(|e| e.to_string())
        };
        assert_eq!(build(&[("HTTPS_PROXY", "http://proxy.corp:3128")]), Ok(()));
        assert_eq!(build(&[("https_proxy", "proxy.corp:3128")]), Ok(()));
        assert_eq!(
            build(&[
                ("ALL_PROXY", "https://u:pw@proxy.corp:3128"),
                ("NO_PROXY", ".corp")
            ]),
            Ok(())
        );
        let err = build(&[("HTTPS_PROXY", "http://u:s3cr3t@proxy.corp:3128")]).unwrap_err();
        assert!(err.starts_with("HTTPS_PROXY cannot be used"), "{err}");
        assert!(err.contains("in clear") && !err.contains("s3cr3t"), "{err}");
        let err = build(&[("HTTPS_PROXY", "ftp://proxy.corp")]).unwrap_err();
        assert!(err.contains("unsupported scheme"), "{err}");
        // HTTP_PROXY is not read: plain-http requests only go to loopback or link-local hosts.
        assert_eq!(
            build(&[("HTTP_PROXY", "http://u:s3cr3t@proxy.corp:3128")]),
            Ok(())
        );
    }
}
