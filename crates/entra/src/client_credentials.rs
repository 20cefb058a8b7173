//! The Entra ID token endpoint, spoken through the `oauth2` crate over our reqwest client.
//!
//! `oauth2` builds the client-credentials request and parses the response; the transport
//! ([`OAuthTransport`]) is our retrying [`HttpPipeline`], so there is one HTTP stack.
//! Wire facts: specs/azure-protocols.md A1, A3, A4.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use oauth2::{
    AsyncHttpClient, AuthType, ClientId, ClientSecret, HttpRequest, HttpResponse,
    RequestTokenError, Scope, StandardRevocableToken, TokenUrl,
    basic::{BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use time::OffsetDateTime;

use crate::{
    AccessToken, CredentialOptions, EntraError, Error, Result, TokenRequestOptions,
    cache::{CacheKey, TokenCache, TokenSource, later_by, refresh_on},
    http::{HttpPipeline, RetryOn},
    options::{Context, validate_scopes},
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client proves its identity.
pub(crate) enum ClientAuth<'a> {
    /// `client_secret=...`
    Secret(&'a SecretString),
    /// `client_assertion=...&client_assertion_type=...jwt-bearer`
    Assertion(&'a SecretString),
}

/// One client-credentials token request.
struct EntraRequest<'a> {
    credential: &'static str,
    tenant: &'a str,
    client_id: &'a str,
    auth: ClientAuth<'a>,
    scopes: &'a [String],
}

/// A client-credentials token source: an app registration and how it proves its identity.
pub(crate) trait AppSource: TokenSource {
    /// The app registration.
    fn app(&self) -> &ClientApp;
}

/// What the client secret and workload identity credentials are besides their proof: their
/// source behind a token cache, shared by clones.
pub(crate) struct AppCredential<S> {
    source: Arc<S>,
    cache: Arc<TokenCache>,
}

impl<S> Clone for AppCredential<S> {
    fn clone(&self) -> Self {
        Self {
            source: Arc::clone(&self.source),
            cache: Arc::clone(&self.cache),
        }
    }
}

impl<S: AppSource> AppCredential<S> {
    /// `source` behind a cache configured by its app's options.
    pub(crate) fn new(source: S) -> Self {
        let ctx = &source.app().ctx;
        let cache = Arc::new(TokenCache::new(ctx.cache, ctx.clock.clone()));
        Self {
            source: Arc::new(source),
            cache,
        }
    }

    /// The source.
    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    /// `TokenCredential::get_token`: the cached token for the call's tenant and scopes, else
    /// a new one from the source.
    pub(crate) async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        let key = self.source.app().cache_key(scopes, options)?;
        self.cache
            .get(&self.source, key, options.force_refresh)
            .await
    }

    /// The start of a `Debug` form: the credential's name, tenant and client id (never the
    /// proof).
    pub(crate) fn debug_struct<'a, 'b>(
        &self,
        f: &'a mut fmt::Formatter<'b>,
    ) -> fmt::DebugStruct<'a, 'b> {
        let app = self.source.app();
        let mut debug = f.debug_struct(app.credential);
        debug
            .field("tenant_id", &app.tenant_id)
            .field("client_id", &app.client_id);
        debug
    }
}

/// An app registration that exchanges client credentials at the token endpoint: what the
/// client secret and workload identity credentials share (they differ only in [`ClientAuth`]).
pub(crate) struct ClientApp {
    pub(crate) credential: &'static str,
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) ctx: Context,
}

impl ClientApp {
    /// The app `client_id` of `tenant_id` for the credential named `credential`, its options
    /// checked (the authority host among them).
    pub(crate) fn new(
        credential: &'static str,
        tenant_id: String,
        client_id: String,
        options: CredentialOptions,
    ) -> Result<Self> {
        let ctx = Context::new(options)?;
        ctx.authority_host()?;
        Ok(Self {
            credential,
            tenant_id,
            client_id,
            ctx,
        })
    }

    /// The cache key of a `get_token` call: the scopes checked, the tenant resolved from the
    /// configured one and the one the call names.
    pub(crate) fn cache_key(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<CacheKey> {
        let scopes = validate_scopes(scopes)?;
        let tenant = self.ctx.resolve_tenant(
            self.credential,
            &self.tenant_id,
            options.tenant_id.as_deref(),
        )?;
        Ok(CacheKey::new(Some(tenant), scopes))
    }

    /// A token for `key`, proving the app's identity with `auth`.
    pub(crate) async fn request_token(
        &self,
        key: &CacheKey,
        auth: ClientAuth<'_>,
    ) -> Result<AccessToken> {
        request_token(
            &self.ctx,
            EntraRequest {
                credential: self.credential,
                tenant: key.tenant.as_deref().unwrap_or(&self.tenant_id),
                client_id: &self.client_id,
                auth,
                scopes: &key.scopes,
            },
        )
        .await
    }
}

type EntraClient = oauth2::Client<
    EntraErrorBody,
    EntraTokenBody,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// `POST {authority}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`.
async fn request_token(ctx: &Context, request: EntraRequest<'_>) -> Result<AccessToken> {
    let credential = request.credential;
    let token_url = ctx
        .authority_host()?
        .join(&format!("{}/oauth2/v2.0/token", request.tenant))
        .map_err(|e| {
            Error::Configuration(format!(
                "cannot build the token URL for tenant '{}': {e}",
                request.tenant
            ))
        })?;
    let endpoint = vaultref_transport::redact(&token_url);

    let client = EntraClient::new(ClientId::new(request.client_id.to_owned()))
        .set_token_uri(TokenUrl::from_url(token_url))
        .set_auth_type(AuthType::RequestBody);
    // oauth2's ClientSecret holds a copy only for the duration of this request.
    let client = match request.auth {
        ClientAuth::Secret(secret) => {
            client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()))
        }
        ClientAuth::Assertion(_) => client,
    };
    let mut token_request = client
        .exchange_client_credentials()
        .add_scopes(request.scopes.iter().map(|s| Scope::new(s.clone())));
    if let ClientAuth::Assertion(assertion) = request.auth {
        token_request = token_request
            .add_extra_param("client_assertion", assertion.expose_secret().to_owned())
            .add_extra_param("client_assertion_type", JWT_BEARER);
    }

    let transport = OAuthTransport {
        http: &ctx.http,
        credential,
        last: Mutex::new(None),
    };
    let requested_at = ctx.clock.now();
    let outcome = token_request.request_async(&transport).await;
    let reply = transport
        .last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let failure = |problem: String| failure(credential, &endpoint, reply.as_ref(), problem);
    match outcome {
        Ok(body) => {
            body.into_access_token(requested_at)
                .map_err(|problem| Error::UnexpectedResponse {
                    credential,
                    endpoint: endpoint.clone(),
                    status: reply.as_ref().map_or(200, |r| r.status),
                    problem,
                })
        }
        Err(RequestTokenError::Request(error)) => Err(error),
        Err(RequestTokenError::ServerResponse(body)) => {
            let status = reply.as_ref().map_or(400, |r| r.status);
            if status == 429 || status >= 500 {
                Err(failure(body.to_string()))
            } else {
                Err(Error::Authentication {
                    credential,
                    details: Box::new(body.into_entra_error(status)),
                })
            }
        }
        // Never echo the body or serde's message: a success body holds the token.
        Err(RequestTokenError::Parse(error, _)) => Err(failure(format!(
            "field '{}' is missing or malformed",
            error.path()
        ))),
        Err(RequestTokenError::Other(message)) => Err(failure(message)),
    }
}

/// A token endpoint's answer as `request_token` reads it past oauth2 (the success body into an
/// [`AccessToken`], an error body into an [`EntraError`]'s text), for the fuzz targets of
/// `crates/entra/fuzz`.
#[cfg(fuzzing)]
pub(crate) fn read_answer(status: u16, body: &[u8]) -> std::result::Result<AccessToken, String> {
    if (200..300).contains(&status) {
        let body: EntraTokenBody = serde_json::from_slice(body)
            .map_err(|_| "the body is not a token response".to_owned())?;
        return body.into_access_token(OffsetDateTime::UNIX_EPOCH);
    }
    let body: EntraErrorBody =
        serde_json::from_slice(body).map_err(|_| "the body is not an Entra error".to_owned())?;
    Err(body.into_entra_error(status).to_string())
}

/// Maps a response that is neither a token nor an Entra error.
fn failure(
    credential: &'static str,
    endpoint: &str,
    reply: Option<&ReplyMeta>,
    problem: String,
) -> Error {
    let status = reply.map_or(0, |r| r.status);
    if status == 429 || status >= 500 {
        let reply = reply.copied().unwrap_or_default();
        Error::ServiceUnavailable {
            credential,
            service: "Microsoft Entra ID",
            status,
            attempts: reply.attempts,
            retry_after: reply.retry_after,
            hint: if status == 429 {
                "Entra ID is throttling token requests from this client: tokens are cached, so look for many processes or credentials sharing one app registration; the request will be retried after the back-off"
            } else {
                "Entra ID is unavailable; the request will be retried after the back-off (check https://status.azure.com if it persists)"
            },
        }
    } else {
        Error::UnexpectedResponse {
            credential,
            endpoint: endpoint.to_owned(),
            status,
            problem,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ReplyMeta {
    status: u16,
    attempts: u32,
    retry_after: Option<Duration>,
}

/// `oauth2`'s HTTP client: our pipeline (retries included), remembering the last status.
struct OAuthTransport<'a> {
    http: &'a HttpPipeline,
    credential: &'static str,
    last: Mutex<Option<ReplyMeta>>,
}

impl<'c> AsyncHttpClient<'c> for OAuthTransport<'_> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|e| {
                Error::Configuration(format!("cannot build the token request: {e}"))
            })?;
            let reply = self
                .http
                .send(request, RetryOn::Entra, self.credential)
                .await?;
            *self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ReplyMeta {
                status: reply.status.as_u16(),
                attempts: reply.attempts,
                retry_after: reply.retry_after,
            });
            let mut response = HttpResponse::new(reply.body);
            *response.status_mut() = reply.status;
            *response.headers_mut() = reply.headers;
            Ok(response)
        })
    }
}

/// Seconds that may arrive as a JSON number or a numeric string (Entra sends numbers, IMDS
/// strings; both are accepted everywhere, as Python does).
pub(crate) fn de_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }
    match Option::<Seconds>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Seconds::Number(n)) => Ok(Some(n)),
        Some(Seconds::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expected a number of seconds")),
    }
}

/// The success body: `{"token_type","expires_in","ext_expires_in","access_token"}` (+
/// optional `expires_on`, `refresh_in`).
#[derive(Debug, Deserialize, Serialize)]
struct EntraTokenBody {
    access_token: oauth2::AccessToken,
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "de_seconds")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "de_seconds")]
    expires_on: Option<u64>,
    #[serde(default, deserialize_with = "de_seconds")]
    refresh_in: Option<u64>,
}

impl EntraTokenBody {
    fn into_access_token(
        self,
        requested_at: OffsetDateTime,
    ) -> std::result::Result<AccessToken, String> {
        let expires_in = self.expires_in.map(Duration::from_secs);
        let expires_on = match (self.expires_on, expires_in) {
            (Some(epoch), _) => epoch_seconds(epoch)?,
            (None, Some(expires_in)) => later_by(requested_at, expires_in)
                .ok_or_else(|| "expires_in is out of range".to_owned())?,
            (None, None) => {
                return Err("the token response has neither expires_in nor expires_on".into());
            }
        };
        let mut token = AccessToken::new(
            SecretString::from(self.access_token.into_secret()),
            expires_on,
        );
        if let Some(at) = refresh_on(
            requested_at,
            expires_in,
            self.refresh_in.map(Duration::from_secs),
        ) {
            token = token.with_refresh_on(at);
        }
        Ok(token)
    }
}

pub(crate) fn epoch_seconds(epoch: u64) -> std::result::Result<OffsetDateTime, String> {
    i64::try_from(epoch)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| "expires_on is not a valid Unix time".to_owned())
}

impl oauth2::TokenResponse for EntraTokenBody {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &oauth2::AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&oauth2::RefreshToken> {
        None
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

/// The error body (specs/azure-protocols.md A3).
#[derive(Debug, Deserialize, Serialize)]
struct EntraErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

impl EntraErrorBody {
    fn into_entra_error(self, status: u16) -> EntraError {
        // The description repeats trace id, correlation id and timestamp on further lines.
        let description = self
            .error_description
            .as_deref()
            .and_then(|d| d.lines().next())
            .unwrap_or_default()
            .trim()
            .to_owned();
        EntraError {
            status,
            error: self.error,
            codes: self.error_codes,
            description,
            trace_id: self.trace_id,
            correlation_id: self.correlation_id,
            timestamp: self.timestamp,
        }
    }
}

impl fmt::Display for EntraErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(line) = self
            .error_description
            .as_deref()
            .and_then(|d| d.lines().next())
        {
            write!(f, ": {line}")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for EntraErrorBody {}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn parse_token(json: &str) -> std::result::Result<AccessToken, String> {
        let body: EntraTokenBody = serde_json::from_str(json).map_err(|e| e.to_string())?;
        body.into_access_token(datetime!(2026-11-23 08:00 UTC))
    }

    #[test]
    fn token_bodies() {
        let t = parse_token(r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tok"}"#).unwrap();
        assert_eq!(t.secret(), "tok");
        assert_eq!(t.expires_on(), datetime!(2026-11-23 08:59:59 UTC));
        assert_eq!(t.refresh_on(), None);

        let t = parse_token(r#"{"token_type":"bearer","expires_in":"86400","access_token":"tok","refresh_in":"43200"}"#).unwrap();
        assert_eq!(t.expires_on(), datetime!(2026-11-24 08:00 UTC));
        assert_eq!(t.refresh_on(), Some(datetime!(2026-11-23 20:00 UTC)));

        let t =
            parse_token(r#"{"token_type":"Bearer","expires_on":1795502739,"access_token":"tok"}"#)
                .unwrap();
        assert_eq!(t.expires_on().unix_timestamp(), 1_795_502_739);

        assert!(
            parse_token(r#"{"token_type":"Bearer","access_token":"tok"}"#)
                .unwrap_err()
                .contains("neither")
        );
        assert!(
            parse_token(r#"{"token_type":"Bearer","expires_in":"soon","access_token":"tok"}"#)
                .is_err()
        );
        // Out-of-range durations are errors, not overflow panics.
        assert!(
            parse_token(&format!(
                r#"{{"token_type":"Bearer","expires_in":{},"access_token":"tok"}}"#,
                u64::MAX
            ))
            .unwrap_err()
            .contains("out of range")
        );
        let t = parse_token(&format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"refresh_in":{},"access_token":"tok"}}"#,
            u64::MAX
        ))
        .unwrap();
        assert_eq!(t.refresh_on(), None);
    }

    #[test]
    fn error_bodies_keep_the_first_description_line_and_ids() {
        let json = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 6bad\r\nCorrelation ID: 63b8\r\nTimestamp: 2023-02-20 07:21:29Z","error_codes":[7000215],"timestamp":"2023-02-20 07:21:29Z","trace_id":"6bad","correlation_id":"63b8","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;
        let body: EntraErrorBody = serde_json::from_str(json).unwrap();
        let error = body.into_entra_error(401);
        assert_eq!(
            error.description,
            "AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(error.aadsts_code(), Some(7_000_215));
        assert_eq!(error.trace_id.as_deref(), Some("6bad"));
        assert_eq!(error.correlation_id.as_deref(), Some("63b8"));
        assert_eq!(error.timestamp.as_deref(), Some("2023-02-20 07:21:29Z"));
    }
}
