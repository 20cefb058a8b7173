//! Options shared by every credential, and the runtime context built from them.

use std::{sync::Arc, time::Duration};

use url::Url;

use vaultref_transport::{
    EndpointRole, RandomJitter, TokioTimer, build_http_client, check_endpoint, redact_url,
};

use crate::{
    Clock, Env, Error, HttpClientOptions, Jitter, Result, RetryOptions, SystemClock, Timer,
    http::HttpPipeline,
    variables::{AZURE_AUTHORITY_HOST, AZURE_IDENTITY_DISABLE_MULTITENANTAUTH},
};

/// The public cloud's Entra ID host.
pub(crate) const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// When cached tokens are refreshed, and how failures are backed off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheOptions {
    /// Refresh this long before a token expires (or at the issuer's `refresh_in`, if earlier).
    /// While the old token is still valid, the refresh runs in the background and callers keep
    /// getting the old token.
    pub refresh_before_expiry: Duration,
    /// A token this close to its expiry is not handed out; callers wait for a new one.
    pub min_validity: Duration,
    /// After a failed refresh of a still-valid token, wait this long before trying again.
    pub refresh_retry_delay: Duration,
    /// After a failure with no valid token, callers get that same error without a new request
    /// for this long, doubling with each further failure up to `max_failure_backoff`: a down
    /// Entra ID sees one request per back-off period, not one per caller.
    pub failure_backoff: Duration,
    /// The longest failure back-off.
    pub max_failure_backoff: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            refresh_before_expiry: Duration::from_secs(300),
            min_validity: Duration::from_secs(30),
            refresh_retry_delay: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(2),
            max_failure_backoff: Duration::from_secs(60),
        }
    }
}

/// How token requests are retried unless [`CredentialOptions::retry`] says otherwise: four
/// retries, 0.8 s doubling to at most 60 s, no jitter, at most 60 s in all (a `Retry-After`
/// that would end later returns the error instead of blocking the caller).
#[must_use]
pub fn token_request_retry() -> RetryOptions {
    RetryOptions {
        max_retries: 4,
        initial_delay: Duration::from_millis(800),
        max_delay: Duration::from_secs(60),
        total_budget: Duration::from_secs(60),
        jitter: 0.0,
    }
}

/// Options every credential takes.
///
/// ```
/// use std::time::Duration;
/// use vaultref_entra::{CredentialOptions, Env, RetryOptions, token_request_retry};
///
/// let options = CredentialOptions {
///     env: Env::from_vars([("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")]),
///     retry: RetryOptions { max_retries: 2, ..token_request_retry() },
///     ..CredentialOptions::default()
/// };
/// # drop(options);
/// ```
#[derive(Clone, Debug)]
pub struct CredentialOptions {
    /// Where environment variables come from (the process environment by default).
    pub env: Env,
    /// The Entra ID host; overrides `AZURE_AUTHORITY_HOST`. Must be `https://` unless it is a
    /// loopback address (for the emulator).
    pub authority_host: Option<Url>,
    /// How to build the HTTP client, when `http_client` is `None`.
    pub http: HttpClientOptions,
    /// An existing client to share (e.g. one built with [`build_http_client`]).
    pub http_client: Option<reqwest::Client>,
    /// Retries of each token request ([`token_request_retry`] by default).
    pub retry: RetryOptions,
    /// Token cache behaviour.
    pub cache: CacheOptions,
    /// Tenants besides the configured one that a challenge may ask for; `"*"` allows any.
    pub additionally_allowed_tenants: Vec<String>,
    /// The clock of token expiry (injected in tests).
    pub clock: Arc<dyn Clock>,
    /// Time source of retry waits.
    pub timer: Arc<dyn Timer>,
    /// Randomness of retry back-off.
    pub jitter: Arc<dyn Jitter>,
}

impl Default for CredentialOptions {
    fn default() -> Self {
        Self {
            env: Env::process(),
            authority_host: None,
            http: HttpClientOptions::default(),
            http_client: None,
            retry: token_request_retry(),
            cache: CacheOptions::default(),
            additionally_allowed_tenants: Vec::new(),
            clock: Arc::new(SystemClock),
            timer: Arc::new(TokioTimer),
            jitter: Arc::new(RandomJitter::default()),
        }
    }
}

impl CredentialOptions {
    /// The same options with the HTTP client built once, so that credentials made from clones
    /// share one connection pool.
    pub(crate) fn with_shared_client(mut self) -> Result<Self> {
        if self.http_client.is_none() {
            self.http_client = Some(build_http_client(&self.http, &self.env)?);
        }
        Ok(self)
    }
}

/// What a credential needs at run time, built once from [`CredentialOptions`].
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) http: HttpPipeline,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: CacheOptions,
    allowed_tenants: Vec<String>,
    authority_host: Option<Url>,
}

impl Context {
    pub(crate) fn new(options: CredentialOptions) -> Result<Self> {
        let client = match options.http_client {
            Some(client) => client,
            None => build_http_client(&options.http, &options.env)?,
        };
        Ok(Self {
            env: options.env,
            http: HttpPipeline::new(client, options.retry, options.timer, options.jitter),
            clock: options.clock,
            cache: options.cache,
            allowed_tenants: options.additionally_allowed_tenants,
            authority_host: options.authority_host,
        })
    }

    /// The validated authority host: the option, else `AZURE_AUTHORITY_HOST`, else the public
    /// cloud.
    pub(crate) fn authority_host(&self) -> Result<Url> {
        let url = match &self.authority_host {
            Some(url) => url.clone(),
            None => {
                let raw = self
                    .env
                    .var(AZURE_AUTHORITY_HOST)
                    .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());
                Url::parse(&raw).map_err(|e| {
                    Error::Configuration(format!(
                        "AZURE_AUTHORITY_HOST '{}' is not a URL ({e}); use e.g. https://login.microsoftonline.com",
                        redact_url(&raw)
                    ))
                })?
            }
        };
        validate_authority_host(url)
    }

    /// The tenant to use for a request: Python azure-identity's `resolve_tenant` rules.
    pub(crate) fn resolve_tenant(
        &self,
        credential: &'static str,
        configured: &str,
        requested: Option<&str>,
    ) -> Result<String> {
        let Some(requested) = requested.filter(|r| !r.is_empty()) else {
            return Ok(configured.to_owned());
        };
        if requested.eq_ignore_ascii_case(configured)
            || configured.eq_ignore_ascii_case("adfs")
            || self.env.is_set(AZURE_IDENTITY_DISABLE_MULTITENANTAUTH)
        {
            return Ok(configured.to_owned());
        }
        validate_tenant_id(requested)?;
        let allowed = self
            .allowed_tenants
            .iter()
            .any(|t| t == "*" || t.eq_ignore_ascii_case(requested));
        if allowed {
            Ok(requested.to_owned())
        } else {
            Err(Error::TenantNotAllowed {
                credential,
                configured: configured.to_owned(),
                requested: requested.to_owned(),
            })
        }
    }
}

/// `https` is required, except on loopback addresses where the emulator runs; no user info.
pub(crate) fn validate_authority_host(mut url: Url) -> Result<Url> {
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::Configuration(format!(
            "authority host '{}' has no host; use e.g. https://login.microsoftonline.com",
            redact_url(url.as_str())
        )));
    }
    check_endpoint(&url, EndpointRole::Authority)
        .map_err(|e| Error::Configuration(e.to_string()))?;
    // Keep any path prefix, drop query and fragment, and end with '/' so joins append.
    vaultref_transport::make_base_url(&mut url);
    Ok(url)
}

/// Tenant ids: letters, digits, `.` and `-` (both official SDKs check this).
pub(crate) fn validate_tenant_id(tenant: &str) -> Result<()> {
    if !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        Ok(())
    } else {
        Err(Error::Configuration(format!(
            "tenant id '{tenant}' is invalid: use the directory (tenant) id GUID or a domain such as contoso.onmicrosoft.com (letters, digits, '.' and '-' only)"
        )))
    }
}

/// Scopes: letters, digits, `_ . : / -`; at least one.
pub(crate) fn validate_scopes(scopes: &[&str]) -> Result<Vec<String>> {
    if scopes.is_empty() {
        return Err(Error::Configuration(
            "no scope given: ask for '<resource>/.default', e.g. https://vault.azure.net/.default"
                .into(),
        ));
    }
    scopes
        .iter()
        .map(|scope| {
            let ok = !scope.is_empty()
                && scope
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-'));
            if ok {
                Ok((*scope).to_owned())
            } else {
                Err(Error::Configuration(format!(
                    "scope '{scope}' is invalid: use '<resource>/.default' (letters, digits and _ . : / - only)"
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(env: Env, allowed: &[&str]) -> Context {
        Context::new(CredentialOptions {
            env,
            additionally_allowed_tenants: allowed.iter().map(|s| (*s).to_owned()).collect(),
            ..CredentialOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn authority_host_rules() {
        let check = |raw: &str, expected: std::result::Result<&str, &str>| {
            let got = validate_authority_host(Url::parse(raw).unwrap());
            match (got, expected) {
                (Ok(url), Ok(want)) => assert_eq!(url.as_str(), want, "{raw}"),
                (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{raw}: {e}"),
                (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
            }
        };
        check(
            "https://login.microsoftonline.com",
            Ok("https://login.microsoftonline.com/"),
        );
        check(
            "https://login.example/prefix?x=1",
            Ok("https://login.example/prefix/"),
        );
        check("http://127.0.0.1:8443", Ok("http://127.0.0.1:8443/"));
        check("http://[::1]:8443", Ok("http://[::1]:8443/"));
        check("http://localhost:1", Ok("http://localhost:1/"));
        check("http://login.microsoftonline.com", Err("must use https"));
        check("http://10.0.0.1", Err("must use https"));
        check("ftp://127.0.0.1", Err("must use https"));
    }

    #[test]
    fn authority_host_from_env_and_default() {
        let ctx = context(Env::from_vars([("X", "y")]), &[]);
        assert_eq!(
            ctx.authority_host().unwrap().as_str(),
            "https://login.microsoftonline.com/"
        );
        let ctx = context(
            Env::from_vars([(AZURE_AUTHORITY_HOST, "https://login.microsoftonline.us")]),
            &[],
        );
        assert_eq!(
            ctx.authority_host().unwrap().as_str(),
            "https://login.microsoftonline.us/"
        );
        let ctx = context(Env::from_vars([(AZURE_AUTHORITY_HOST, "not a url")]), &[]);
        assert!(
            ctx.authority_host()
                .unwrap_err()
                .to_string()
                .contains("AZURE_AUTHORITY_HOST")
        );
    }

    #[test]
    fn tenant_and_scope_characters() {
        assert!(validate_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(validate_tenant_id("contoso.onmicrosoft.com").is_ok());
        for bad in ["", "a/b", "a b", "tenant?x", "../x%"] {
            assert!(validate_tenant_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_scopes(&["https://vault.azure.net/.default"]).unwrap(),
            ["https://vault.azure.net/.default"]
        );
        assert!(validate_scopes(&[]).is_err());
        assert!(validate_scopes(&["https://vault.azure.net/.default?x"]).is_err());
        assert!(validate_scopes(&["a b"]).is_err());
    }

    #[test]
    fn tenant_resolution_follows_python() {
        let ctx = context(Env::from_vars([("X", "y")]), &[]);
        let resolve = |ctx: &Context, requested| ctx.resolve_tenant("C", "home", requested);
        assert_eq!(resolve(&ctx, None).unwrap(), "home");
        assert_eq!(resolve(&ctx, Some("HOME")).unwrap(), "home");
        assert!(matches!(
            resolve(&ctx, Some("other")),
            Err(Error::TenantNotAllowed { .. })
        ));
        let ctx = context(Env::from_vars([("X", "y")]), &["other"]);
        assert_eq!(resolve(&ctx, Some("other")).unwrap(), "other");
        let ctx = context(Env::from_vars([("X", "y")]), &["*"]);
        assert_eq!(resolve(&ctx, Some("third")).unwrap(), "third");
        assert!(resolve(&ctx, Some("bad/tenant")).is_err());
        let ctx = context(
            Env::from_vars([(AZURE_IDENTITY_DISABLE_MULTITENANTAUTH, "1")]),
            &[],
        );
        assert_eq!(resolve(&ctx, Some("other")).unwrap(), "home");
    }
}
