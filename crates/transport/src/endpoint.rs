//! Which URLs may receive a credential or a secret: TLS everywhere except loopback (and the
//! link-local managed-identity endpoints), never user info in the URL.

use std::net::Ipv6Addr;

use url::{Host, Url};

use crate::{Error, Result, redact::redact};

/// What an endpoint is for; it decides which schemes and hosts are acceptable and names the
/// endpoint in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointRole {
    /// A Key Vault: receives bearer tokens and secret values.
    Vault,
    /// An Entra ID authority host: receives client secrets and assertions, returns tokens.
    Authority,
    /// A managed-identity endpoint (IMDS, App Service): plain http by Azure's design, so only
    /// on loopback or link-local addresses, which never leave the machine.
    ManagedIdentity,
    /// An https proxy (`HTTPS_PROXY`): sees only encrypted traffic, but its own credentials in
    /// the URL travel in clear over plain http.
    Proxy,
}

impl EndpointRole {
    fn describe(self) -> &'static str {
        match self {
            Self::Vault => "the vault URL",
            Self::Authority => "the authority host",
            Self::ManagedIdentity => "the managed identity endpoint",
            Self::Proxy => "the proxy",
        }
    }
}

/// `url` made a base that relative paths join onto: query and fragment dropped (an authority's
/// query means nothing to Entra ID), any path prefix kept, ending with `/`.
///
/// ```
/// let mut url = url::Url::parse("https://login.example/tenant-path?x=1#f").unwrap();
/// vaultref_transport::make_base_url(&mut url);
/// assert_eq!(url.as_str(), "https://login.example/tenant-path/");
/// ```
pub fn make_base_url(url: &mut Url) {
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
}

/// Checks that `url` may serve as an endpoint in `role`:
///
/// - `https`, or `http` on a loopback host (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`:
///   the emulator); managed-identity endpoints may also be `http` on a link-local address
///   (`169.254.0.0/16`, `fe80::/10`: IMDS, App Service on Linux); a proxy may be plain `http`
///   (traffic to the vault and Entra is TLS inside its tunnel) unless its URL carries
///   credentials and it is not on loopback;
/// - no user info (a user name or password in the URL), except for proxies, whose credentials
///   go in `Proxy-Authorization` (over TLS, per the rule above).
///
/// Errors show the URL redacted ([`redact_url`](crate::redact_url)).
///
/// ```
/// use url::Url;
/// use vaultref_transport::{EndpointRole, check_endpoint};
///
/// let ok = |s: &str, role| check_endpoint(&Url::parse(s).unwrap(), role).is_ok();
/// assert!(ok("https://myvault.vault.azure.net/", EndpointRole::Vault));
/// assert!(ok("http://127.0.0.1:8443/", EndpointRole::Vault));
/// assert!(!ok("http://10.0.0.5/", EndpointRole::Vault));
/// assert!(!ok("https://admin:pw@login.example/", EndpointRole::Authority));
/// assert!(ok("http://169.254.169.254/", EndpointRole::ManagedIdentity));
/// ```
///
/// # Errors
///
/// [`Error::CredentialsInUrl`], [`Error::InsecureEndpoint`] or [`Error::UnsupportedScheme`],
/// each naming the role and what to change.
pub fn check_endpoint(url: &Url, role: EndpointRole) -> Result<()> {
    let what = role.describe();
    let has_credentials = !url.username().is_empty() || url.password().is_some();
    if has_credentials && role != EndpointRole::Proxy {
        return Err(Error::CredentialsInUrl {
            what,
            url: redact(url),
        });
    }
    let secure = match url.scheme() {
        "https" => true,
        "http" => match role {
            EndpointRole::Vault | EndpointRole::Authority => is_loopback(url),
            EndpointRole::ManagedIdentity => is_loopback(url) || is_link_local(url),
            EndpointRole::Proxy => !has_credentials || is_loopback(url),
        },
        other => {
            return Err(Error::UnsupportedScheme {
                what,
                scheme: other.to_owned(),
                url: redact(url),
            });
        }
    };
    if secure {
        return Ok(());
    }
    Err(Error::InsecureEndpoint {
        what,
        url: redact(url),
        reason: match role {
            EndpointRole::Vault => {
                "bearer tokens and secret values are only sent over TLS (plain http is accepted only for loopback addresses such as the emulator's)"
            }
            EndpointRole::Authority => {
                "client secrets, assertions and the tokens Entra ID returns are only sent over TLS (plain http is accepted only for loopback addresses such as the emulator's)"
            }
            EndpointRole::ManagedIdentity => {
                "managed-identity endpoints speak plain http only on loopback or link-local addresses, which never leave the machine; anywhere else the token would cross the network in clear"
            }
            EndpointRole::Proxy => {
                "its user name and password would cross the network in clear: use an https:// proxy URL, or a proxy without credentials"
            }
        },
    })
}

/// `localhost`, `*.localhost` (RFC 6761), `127.0.0.0/8` or `::1`.
#[must_use]
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `169.254.0.0/16` or `fe80::/10`.
#[must_use]
pub fn is_link_local(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_link_local(),
        Some(Host::Ipv6(ip)) => is_link_local_v6(ip),
        _ => false,
    }
}

/// A host written as an IP address rather than a name.
#[must_use]
pub fn is_ip_literal(url: &Url) -> bool {
    matches!(url.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)))
}

fn is_link_local_v6(ip: Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xffc0) == 0xfe80
}

/// What `NO_PROXY` always contains: loopback and link-local addresses never go through a
/// proxy (a remote proxy cannot reach them, and plain-http traffic to them must not leave the
/// machine).
pub(crate) const ALWAYS_DIRECT: &str =
    "localhost,.localhost,127.0.0.0/8,::1,169.254.0.0/16,fe80::/10";

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, role: EndpointRole) -> std::result::Result<(), String> {
        check_endpoint(&Url::parse(url).unwrap(), role).map_err(|e| e.to_string())
    }

    #[test]
    fn vaults_and_authorities_need_tls_off_loopback() {
        for role in [EndpointRole::Vault, EndpointRole::Authority] {
            for ok in [
                "https://myvault.vault.azure.net/",
                "https://login.microsoftonline.com/",
                "http://127.0.0.1:8443/",
                "http://127.1.2.3/",
                "http://[::1]:8443/",
                "http://localhost:1/",
                "http://kv.localhost:8080/",
            ] {
                assert_eq!(check(ok, role), Ok(()), "{ok}");
            }
            for bad in ["http://login.microsoftonline.com/", "http://10.0.0.1/"] {
                let err = check(bad, role).unwrap_err();
                assert!(err.contains("must use https"), "{bad}: {err}");
                assert!(err.contains("TLS"), "{bad}: {err}");
            }
            let err = check("http://169.254.169.254/", role).unwrap_err();
            assert!(err.contains("must use https"), "{err}");
            let err = check("ftp://127.0.0.1/", role).unwrap_err();
            assert!(err.contains("'ftp'"), "{err}");
        }
    }

    #[test]
    fn user_info_is_refused_and_never_echoed() {
        for role in [
            EndpointRole::Vault,
            EndpointRole::Authority,
            EndpointRole::ManagedIdentity,
        ] {
            for url in [
                "https://admin:P4ssw0rd@login.example/",
                "https://ghp_T0ken@login.example/",
                "http://admin:P4ssw0rd@127.0.0.1:1/",
            ] {
                let err = check(url, role).unwrap_err();
                assert!(err.contains("user name or password"), "{err}");
                assert!(
                    !err.contains("P4ssw0rd") && !err.contains("ghp_T0ken"),
                    "{err}"
                );
                assert!(!err.contains("admin"), "{err}");
            }
        }
    }

    #[test]
    fn managed_identity_endpoints_stay_on_the_machine() {
        let role = EndpointRole::ManagedIdentity;
        for ok in [
            "http://169.254.169.254/metadata/identity/oauth2/token",
            "http://127.0.0.1:41566/MSI/token/",
            "http://[fe80::1]/",
            "https://identity.example/",
        ] {
            assert_eq!(check(ok, role), Ok(()), "{ok}");
        }
        let err = check("http://10.1.2.3:2579/", role).unwrap_err();
        assert!(err.contains("loopback or link-local"), "{err}");
    }

    #[test]
    fn proxies_may_be_plain_http_unless_they_carry_credentials() {
        let role = EndpointRole::Proxy;
        assert_eq!(check("http://proxy.corp:3128", role), Ok(()));
        assert_eq!(check("https://u:pw@proxy.corp:3128", role), Ok(()));
        assert_eq!(check("http://u:pw@127.0.0.1:3128", role), Ok(()));
        let err = check("http://u:s3cr3t@proxy.corp:3128", role).unwrap_err();
        assert!(err.contains("in clear"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn hosts_are_classified() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(is_ip_literal(&url("https://10.0.0.1/")));
        assert!(is_ip_literal(&url("https://[::1]/")));
        assert!(!is_ip_literal(&url("https://vault.example/")));
        assert!(is_link_local(&url("http://169.254.1.1/")));
        assert!(!is_link_local(&url("http://10.0.0.1/")));
        assert!(is_link_local(&url("http://[fe80::1]/")));
    }
}
