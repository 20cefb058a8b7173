//! Managed identity: IMDS (VMs, VM scale sets, AKS nodes) and App Service / Functions.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::OnceCell;
use url::Url;
use vaultref_transport::{EndpointRole, cause_chain, check_endpoint, redact, redact_url};

use crate::{
    AccessToken, CredentialOptions, Error, Result, TokenCredential, TokenRequestOptions,
    cache::{CacheKey, TokenCache, TokenSource, later_by, refresh_on},
    client_credentials::{de_seconds, epoch_seconds},
    http::{Reply, RetryOn},
    options::{Context, validate_scopes},
    variables::{
        AZURE_POD_IDENTITY_AUTHORITY_HOST, IDENTITY_ENDPOINT, IDENTITY_HEADER,
        IDENTITY_SERVER_THUMBPRINT,
    },
};

const NAME: &str = "ManagedIdentityCredential";
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "metadata/identity/oauth2/token";
const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
const SERVICE: &str = "the managed identity endpoint";

/// Which user-assigned identity to use; without one, the system-assigned identity is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAssignedId {
    /// The identity's client (application) id: `client_id=`.
    ClientId(String),
    /// The identity's object (principal) id: `object_id=`.
    ObjectId(String),
    /// The identity's Azure resource id: `msi_res_id=` (IMDS) / `mi_res_id=` (App Service).
    ResourceId(String),
}

impl UserAssignedId {
    fn describe(&self) -> String {
        match self {
            Self::ClientId(id) => format!("client id {id}"),
            Self::ObjectId(id) => format!("object id {id}"),
            Self::ResourceId(id) => format!("resource id {id}"),
        }
    }
}

/// Settings of a [`ManagedIdentityCredential`].
#[derive(Clone, Debug, Default)]
pub struct ManagedIdentityOptions {
    /// A user-assigned identity; `None` uses the system-assigned one.
    pub user_assigned_id: Option<UserAssignedId>,
    /// Before the first IMDS request, check with one quick request (no retries, this
    /// timeout) that IMDS answers at all, so that off Azure the credential reports itself
    /// unavailable at once instead of retrying for seconds. The default chain sets 1 s.
    pub imds_probe_timeout: Option<Duration>,
}

/// Gets tokens for the managed identity of the Azure resource this process runs on.
///
/// The endpoint is chosen from the environment, as Python's azure-identity does:
/// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` → App Service / Functions (`X-IDENTITY-HEADER`,
/// api-version 2019-08-01); otherwise IMDS at `http://169.254.169.254` or at
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` (`Metadata: true`, api-version 2018-02-01). The scope
/// must be a single `<resource>/.default`; the request names the resource. Numbers and
/// numeric strings are both accepted in `expires_in` / `expires_on`.
///
/// ```no_run
/// # async fn example() -> Result<(), vaultref_entra::Error> {
/// use vaultref_entra::{
///     CredentialOptions, ManagedIdentityCredential, ManagedIdentityOptions, TokenCredential,
///     TokenRequestOptions, UserAssignedId,
/// };
///
/// let credential = ManagedIdentityCredential::new(
///     ManagedIdentityOptions {
///         user_assigned_id: Some(UserAssignedId::ClientId("0d7ab5b2-63b9-4a6e-8c5c-5bd1d4a5b1c2".into())),
///         ..ManagedIdentityOptions::default()
///     },
///     CredentialOptions::default(),
/// )?;
/// let token = credential
///     .get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default())
///     .await?;
/// # drop(token); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedIdentityCredential {
    source: Arc<Source>,
    cache: Arc<TokenCache>,
}

enum Endpoint {
    Imds(Url),
    AppService { url: Url, header: SecretString },
}

struct Source {
    endpoint: Endpoint,
    identity: Option<UserAssignedId>,
    probe_timeout: Option<Duration>,
    /// Set once a probe has seen IMDS answer; a failed probe is repeated on a later call
    /// (after the cache's back-off), so a briefly unreachable IMDS is not written off.
    probe: OnceCell<()>,
    ctx: Context,
}

impl ManagedIdentityCredential {
    /// A credential for the endpoint the environment of `options.env` describes.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] for managed identity kinds this crate does not support
    /// (Service Fabric, Azure Arc, Cloud Shell, Azure ML); [`Error::Configuration`] for an
    /// endpoint that is not a URL.
    pub fn new(settings: ManagedIdentityOptions, options: CredentialOptions) -> Result<Self> {
        let env = &options.env;
        let unsupported = |kind: &str| Error::Unavailable {
            credential: NAME,
            reason: format!(
                "{kind} managed identity is not supported by vaultref; use IMDS, App Service, workload identity or a client secret"
            ),
        };
        let endpoint = match (env.var(IDENTITY_ENDPOINT), env.var(IDENTITY_HEADER)) {
            (Some(_), Some(_)) if env.is_set(IDENTITY_SERVER_THUMBPRINT) => {
                return Err(unsupported("Service Fabric"));
            }
            (Some(url), Some(header)) => {
                if reqwest::header::HeaderValue::from_str(&header).is_err() {
                    return Err(Error::Configuration(
                        "IDENTITY_HEADER contains characters that are not allowed in an HTTP header".into(),
                    ));
                }
                Endpoint::AppService {
                    url: parse_url(IDENTITY_ENDPOINT, &url)?,
                    header: SecretString::from(header),
                }
            }
            (Some(_), None) if env.is_set("IMDS_ENDPOINT") => return Err(unsupported("Azure Arc")),
            _ if env.is_set("MSI_ENDPOINT") => {
                return Err(unsupported("Cloud Shell / Azure ML (MSI_ENDPOINT)"));
            }
            _ => {
                let host = env.var(AZURE_POD_IDENTITY_AUTHORITY_HOST);
                let name = if host.is_some() {
                    AZURE_POD_IDENTITY_AUTHORITY_HOST
                } else {
                    "the IMDS host"
                };
                let mut base = parse_url(name, host.as_deref().unwrap_or(IMDS_HOST))?;
                if !base.path().ends_with('/') {
                    let path = format!("{}/", base.path());
                    base.set_path(&path);
                }
                let url = base.join(IMDS_PATH).map_err(|e| {
                    Error::Configuration(format!("{name} '{}' cannot be used: {e}", redact(&base)))
                })?;
                Endpoint::Imds(url)
            }
        };
        let ctx = Context::new(options)?;
        let cache = Arc::new(TokenCache::new(ctx.cache, ctx.clock.clone()));
        Ok(Self {
            source: Arc::new(Source {
                endpoint,
                identity: settings.user_assigned_id,
                probe_timeout: settings.imds_probe_timeout,
                probe: OnceCell::new(),
                ctx,
            }),
            cache,
        })
    }
}

/// The endpoint `name` names: a URL, plain http only on loopback or link-local addresses.
fn parse_url(name: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::Configuration(format!("{name} '{}' is not a URL ({e})", redact_url(raw)))
    })?;
    check_endpoint(&url, EndpointRole::ManagedIdentity)
        .map_err(|e| Error::Configuration(format!("{name}: {e}")))?;
    Ok(url)
}

/// `https://vault.azure.net/.default` → `https://vault.azure.net`.
fn scope_to_resource(scopes: &[String]) -> Result<&str> {
    match scopes {
        [scope] => Ok(scope.strip_suffix("/.default").unwrap_or(scope)),
        _ => Err(Error::Configuration(format!(
            "managed identity takes exactly one scope, got {}: ask for '<resource>/.default'",
            scopes.len()
        ))),
    }
}

/// Success body; IMDS sends every field as a string, others numbers. Only what we use.
#[derive(Deserialize)]
struct ManagedIdentityTokenBody {
    access_token: String,
    #[serde(default, deserialize_with = "de_seconds")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "de_seconds")]
    expires_on: Option<u64>,
    #[serde(default, deserialize_with = "de_seconds")]
    refresh_in: Option<u64>,
}

/// The explanation in an error body: `error_description`, `message`, `error.message` or
/// `error` (IMDS and App Service use different shapes).
fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    value
        .get("error_description")
        .and_then(text)
        .or_else(|| value.get("message").and_then(text))
        .or_else(|| value.get("Message").and_then(text))
        .or_else(|| {
            value
                .get("error")
                .and_then(|e| e.get("message"))
                .and_then(text)
        })
        .or_else(|| value.get("error").and_then(text))
}

impl Source {
    fn is_imds(&self) -> bool {
        matches!(self.endpoint, Endpoint::Imds(_))
    }

    /// What to do when IMDS does not answer.
    fn imds_hint(&self) -> &'static str {
        if self.url().host_str() == Some("169.254.169.254") {
            "set AZURE_POD_IDENTITY_AUTHORITY_HOST to reach a stand-in, or use another credential"
        } else {
            "check AZURE_POD_IDENTITY_AUTHORITY_HOST"
        }
    }

    fn url(&self) -> &Url {
        match &self.endpoint {
            Endpoint::Imds(url) | Endpoint::AppService { url, .. } => url,
        }
    }

    /// One quick request without `Metadata: true`: any HTTP answer means IMDS is there.
    async fn probe(&self, timeout: Duration) -> Result<()> {
        let mut url = self.url().clone();
        url.query_pairs_mut()
            .append_pair("api-version", IMDS_API_VERSION)
            .append_pair("resource", "https://management.azure.com");
        match self.ctx.http.client.get(url).timeout(timeout).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::Unavailable {
                credential: NAME,
                reason: format!(
                    "no IMDS endpoint answered at {} within {} ms ({}): this process is not on an Azure VM, VM scale set or AKS node, or IMDS is blocked; {}",
                    redact(self.url()),
                    timeout.as_millis(),
                    cause_chain(&e.without_url()),
                    self.imds_hint()
                ),
            }),
        }
    }

    fn request(&self, resource: &str) -> reqwest::Request {
        let mut url = self.url().clone();
        let api_version = if self.is_imds() {
            IMDS_API_VERSION
        } else {
            APP_SERVICE_API_VERSION
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("api-version", api_version)
                .append_pair("resource", resource);
            match &self.identity {
                Some(UserAssignedId::ClientId(id)) => query.append_pair("client_id", id),
                Some(UserAssignedId::ObjectId(id)) => query.append_pair("object_id", id),
                Some(UserAssignedId::ResourceId(id)) if self.is_imds() => {
                    query.append_pair("msi_res_id", id)
                }
                Some(UserAssignedId::ResourceId(id)) => query.append_pair("mi_res_id", id),
                None => &mut query,
            };
        }
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        let headers = request.headers_mut();
        headers.insert(
            "Metadata",
            reqwest::header::HeaderValue::from_static("true"),
        );
        // The value was checked in `new`, so `from_str` succeeds.
        if let Endpoint::AppService { header, .. } = &self.endpoint
            && let Ok(mut value) = reqwest::header::HeaderValue::from_str(header.expose_secret())
        {
            value.set_sensitive(true);
            headers.insert("X-IDENTITY-HEADER", value);
        }
        request
    }

    fn interpret(&self, reply: &Reply, requested_at: time::OffsetDateTime) -> Result<AccessToken> {
        let status = reply.status.as_u16();
        let endpoint = redact(self.url());
        if reply.status.is_success() {
            let unexpected = |problem: String| Error::UnexpectedResponse {
                credential: NAME,
                endpoint: endpoint.clone(),
                status,
                problem,
            };
            // Never echo the body or serde's message: the body holds the token.
            let body: ManagedIdentityTokenBody = serde_json::from_slice(&reply.body)
                .map_err(|_| unexpected("the body is not a token response (access_token, expires_in or expires_on missing or malformed)".into()))?;
            let expires_in = body.expires_in.map(Duration::from_secs);
            let expires_on = match (body.expires_on, expires_in) {
                (Some(epoch), _) => epoch_seconds(epoch).map_err(unexpected)?,
                (None, Some(expires_in)) => later_by(requested_at, expires_in)
                    .ok_or_else(|| unexpected("expires_in is out of range".into()))?,
                (None, None) => {
                    return Err(unexpected(
                        "the token response has neither expires_in nor expires_on".into(),
                    ));
                }
            };
            let mut token = AccessToken::new(body.access_token, expires_on);
            if let Some(at) = refresh_on(
                requested_at,
                expires_in,
                body.refresh_in.map(Duration::from_secs),
            ) {
                token = token.with_refresh_on(at);
            }
            return Ok(token);
        }
        let explanation = error_message(&reply.body);
        let message = explanation
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let lower = explanation.unwrap_or_default().to_ascii_lowercase();
        match status {
            400 if lower.contains("metadata") => Err(Error::ManagedIdentity {
                credential: NAME,
                status,
                message,
                hint: "the request arrived without the 'Metadata: true' header: a proxy between this process and the endpoint is stripping it; exclude 169.254.169.254 from the proxy (NO_PROXY)",
            }),
            400 => Err(Error::Unavailable {
                credential: NAME,
                reason: match &self.identity {
                    None => format!(
                        "no managed identity is assigned to this resource ({SERVICE} answered HTTP 400{message}); enable a system-assigned identity, or name a user-assigned one"
                    ),
                    Some(id) => format!(
                        "the user-assigned identity with {} is not assigned to this resource ({SERVICE} answered HTTP 400{message}); assign it, or fix the id",
                        id.describe()
                    ),
                },
            }),
            403 if self.is_imds() && lower.contains("unreachable") => Err(Error::Unavailable {
                credential: NAME,
                reason: format!(
                    "IMDS is unreachable from here (HTTP 403{message}), e.g. behind Docker Desktop's proxy"
                ),
            }),
            401 | 403 if !self.is_imds() => Err(Error::ManagedIdentity {
                credential: NAME,
                status,
                message,
                hint: "the endpoint rejected X-IDENTITY-HEADER: IDENTITY_HEADER is wrong or stale (App Service rotates it; restart the app to pick up the current value)",
            }),
            404 | 408 | 410 | 429 | 500..=599 => Err(Error::ServiceUnavailable {
                credential: NAME,
                service: SERVICE,
                status,
                attempts: reply.attempts,
                retry_after: reply.retry_after,
                hint: if status == 429 {
                    "the endpoint is throttling token requests; the request will be retried after the back-off"
                } else {
                    "the endpoint is not ready or failing; the request will be retried after the back-off"
                },
            }),
            _ => Err(Error::ManagedIdentity {
                credential: NAME,
                status,
                message,
                hint: "check the user-assigned identity id and the requested resource",
            }),
        }
    }
}

/// A managed-identity endpoint's answer as the credential reads it, for the fuzz targets of
/// `crates/entra/fuzz` (`app_service` picks App Service over IMDS).
#[cfg(fuzzing)]
pub(crate) fn read_answer(app_service: bool, status: u16, body: Vec<u8>) -> Result<AccessToken> {
    use std::sync::LazyLock;

    use crate::Env;

    static CREDENTIALS: LazyLock<[ManagedIdentityCredential; 2]> = LazyLock::new(|| {
        let credential = |vars: &[(&str, &str)]| {
            let options = CredentialOptions {
                env: Env::from_vars(vars.iter().copied()),
                ..CredentialOptions::default()
            };
            ManagedIdentityCredential::new(ManagedIdentityOptions::default(), options)
                .expect("a loopback endpoint is valid")
        };
        [
            credential(&[(AZURE_POD_IDENTITY_AUTHORITY_HOST, "http://127.0.0.1:9")]),
            credential(&[
                (IDENTITY_ENDPOINT, "http://127.0.0.1:9/msi/token"),
                (IDENTITY_HEADER, "fuzz"),
            ]),
        ]
    });
    let reply = Reply {
        status: reqwest::StatusCode::from_u16(status)
            .map_err(|_| Error::Configuration("not an HTTP status".into()))?,
        headers: reqwest::header::HeaderMap::new(),
        body,
        attempts: 1,
        retry_after: None,
    };
    CREDENTIALS[usize::from(app_service)]
        .source
        .interpret(&reply, time::OffsetDateTime::UNIX_EPOCH)
}

#[async_trait]
impl TokenSource for Source {
    async fn fetch(&self, key: &CacheKey) -> Result<AccessToken> {
        let resource = scope_to_resource(&key.scopes)?;
        if let (true, Some(timeout)) = (self.is_imds(), self.probe_timeout) {
            self.probe.get_or_try_init(|| self.probe(timeout)).await?;
        }
        let requested_at = self.ctx.clock.now();
        let reply = match self
            .ctx
            .http
            .send(self.request(resource), RetryOn::ManagedIdentity, NAME)
            .await
        {
            Ok(reply) => reply,
            Err(Error::Transport {
                attempts, cause, ..
            }) if self.is_imds() => {
                return Err(Error::Unavailable {
                    credential: NAME,
                    reason: format!(
                        "no IMDS endpoint answered at {} after {attempts} attempt(s) ({cause}): this process is not on an Azure VM, VM scale set or AKS node; {}",
                        redact(self.url()),
                        self.imds_hint()
                    ),
                });
            }
            Err(e) => return Err(e),
        };
        self.interpret(&reply, requested_at)
    }
}

#[async_trait]
impl TokenCredential for ManagedIdentityCredential {
    /// Managed identity ignores `options.tenant_id`: the identity belongs to one tenant.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        let scopes = validate_scopes(scopes)?;
        scope_to_resource(&scopes)?;
        self.cache
            .get(
                &self.source,
                CacheKey::new(None, scopes),
                options.force_refresh,
            )
            .await
    }

    fn credential_name(&self) -> &'static str {
        NAME
    }
}

impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.source.is_imds() {
            "IMDS"
        } else {
            "App Service"
        };
        f.debug_struct(NAME)
            .field("endpoint", &kind)
            .field("url", &redact(self.source.url()))
            .field("user_assigned_id", &self.source.identity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
