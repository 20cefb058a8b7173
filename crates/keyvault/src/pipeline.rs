//! Sending one Key Vault request: challenge authentication, retries, error mapping.

use std::sync::{
    Arc, PoisonError, RwLock,
    atomic::{AtomicBool, Ordering},
};

use reqwest::{
    Method, StatusCode,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE},
};
use time::OffsetDateTime;
use url::Url;
use vaultref_entra::{TokenCredential, TokenRequestOptions};
use vaultref_transport::{
    BodyError, RetryAfterSeconds, RetryState, TransportFailure, describe_size, is_retryable_status,
    read_body_limited, requested_retry_delay,
};
use zeroize::Zeroizing;

use crate::{
    Error, Jitter, Result, RetryOptions, SecretClientOptions, Timer,
    challenge::{Challenge, predicted_scope},
    error::{Context, from_response},
};

/// The largest response body read. Key Vault's own are small (a secret value is at most
/// 25 KiB, a list page 25 items); a backup blob is the largest.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// What the vault's challenge asked for, ready to use for token requests, and the last
/// `Authorization` header made from the credential's token.
#[derive(Debug)]
struct Authority {
    scope: String,
    options: TokenRequestOptions,
    bearer: RwLock<Option<Bearer>>,
}

/// A ready `Authorization` value, reused until the credential would refresh its token.
#[derive(Debug, Clone)]
struct Bearer {
    value: HeaderValue,
    /// `min(refresh_on, expires_on - 5 min)`: from then on the credential is asked again, so
    /// its own refresh rules (the same five-minute window) stay in charge.
    reuse_until: OffsetDateTime,
}

/// Tokens are re-requested from the credential this long before they expire.
const REFRESH_WINDOW: time::Duration = time::Duration::minutes(5);

/// The HTTP client, credential and policies of one vault. Shared by clones of a
/// [`SecretClient`](crate::SecretClient).
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) http: reqwest::Client,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) vault: Url,
    pub(crate) api_version: String,
    pub(crate) verify_resource: bool,
    pub(crate) retry: RetryOptions,
    pub(crate) timer: Arc<dyn Timer>,
    pub(crate) jitter: Arc<dyn Jitter>,
    /// The last challenge of this vault; `None` until the first 401.
    authority: RwLock<Option<Arc<Authority>>>,
    /// Held by the one request that probes for the challenge, so that concurrent first
    /// requests wait for its answer instead of each sending a probe.
    discovery: tokio::sync::Mutex<()>,
    /// The scope asked for beside the first probe ([`SecretClientOptions::prefetch_token`]).
    prefetch_scope: Option<String>,
    /// Set once that token was asked for (at most once per pipeline).
    prefetched: AtomicBool,
}

/// One request to make.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// JSON body; withheld from the unauthenticated first request.
    pub(crate) body: Option<Zeroizing<Vec<u8>>>,
    pub(crate) ctx: Context<'a>,
}

/// A 2xx response, read to the end.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) body: Zeroizing<Vec<u8>>,
}

impl Pipeline {
    /// A pipeline for `vault` with the policies of `options` (whose `http` and `http_client`
    /// fields were already turned into `http`).
    pub(crate) fn new(
        http: reqwest::Client,
        credential: Arc<dyn TokenCredential>,
        vault: Url,
        api_version: String,
        options: SecretClientOptions,
    ) -> Self {
        let prefetch_scope = options
            .prefetch_token
            .then(|| predicted_scope(&vault))
            .flatten();
        Self {
            http,
            credential,
            vault,
            api_version,
            verify_resource: options.verify_challenge_resource,
            retry: options.retry,
            timer: options.timer,
            jitter: options.jitter,
            authority: RwLock::new(None),
            discovery: tokio::sync::Mutex::new(()),
            prefetch_scope,
            prefetched: AtomicBool::new(false),
        }
    }

    /// Asks the credential, once, for a token for the predicted scope, so that its cache holds
    /// it when the challenge names that scope. A failure is left for the request that needs
    /// the token to report (the credential's cache keeps it for that request's key).
    async fn prefetch_token(&self) {
        let Some(scope) = self.prefetch_scope.as_deref() else {
            return;
        };
        if self.prefetched.swap(true, Ordering::Relaxed) {
            return;
        }
        let _ = self
            .credential
            .get_token(&[scope], &TokenRequestOptions::default())
            .await;
    }

    /// `{vault}/{segments…}?api-version=…&{query…}`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.vault.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("api-version", &self.api_version);
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    fn cached_authority(&self) -> Option<Arc<Authority>> {
        self.authority
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store_authority(&self, authority: Option<Arc<Authority>>) {
        *self
            .authority
            .write()
            .unwrap_or_else(PoisonError::into_inner) = authority;
    }

    /// Sends `call` and returns its 2xx reply, or the typed error of its final answer.
    ///
    /// Without a cached challenge the request goes out unauthenticated and body-less; the
    /// vault's 401 names the token scope, which is cached, and the request is replayed with a
    /// token and its body. When the 401 refused a token (still valid by its expiry, or the
    /// pipeline would not have sent it), the replay asks the credential for a new one with
    /// [`TokenRequestOptions::force_refresh`]. A 401 after a replay is final. Retryable answers are retried per
    /// [`RetryOptions`].
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply> {
        let client_request_id = request_id(self.jitter.as_ref());
        let what = format!("{} on {}", call.ctx.operation, self.vault);
        let mut retry = RetryState::new(&self.retry, self.timer.as_ref(), self.jitter.as_ref());
        let mut attempts: u32 = 0;
        let mut replayed_after_challenge = false;
        // Set for the one replay after the vault refused a token it was sent: the credential's
        // cached token is then no good, however far its expiry is.
        let mut force_refresh = false;
        loop {
            let mut authority = self.cached_authority();
            // Dropped at the end of this attempt: after the challenge is cached, or after a
            // probe that got no challenge (the next waiter then probes itself).
            let mut _probing = None;
            if authority.is_none() {
                let guard = self.discovery.lock().await;
                authority = self.cached_authority();
                if authority.is_none() {
                    _probing = Some(guard);
                }
            }
            let request = self
                .build(
                    call,
                    authority.as_deref(),
                    force_refresh,
                    &client_request_id,
                )
                .await?;
            force_refresh = false;
            attempts += 1;
            // The probe and the likely token travel together: they do not depend on each other.
            let sent = if _probing.is_some() {
                futures::join!(self.http.execute(request), self.prefetch_token()).0
            } else {
                self.http.execute(request).await
            };
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    let delay = self.transport_retry(&mut retry, &what, call, attempts, e)?;
                    retry.wait(delay).await;
                    continue;
                }
            };
            let status = response.status();
            // Only what the decisions below need is copied out of the headers.
            let challenge = (status == StatusCode::UNAUTHORIZED)
                .then(|| response.headers().get(WWW_AUTHENTICATE))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let requested = (!status.is_success())
                .then(|| {
                    requested_retry_delay(
                        response.headers(),
                        self.timer.wall_clock(),
                        RetryAfterSeconds::Decimal,
                    )
                })
                .flatten();
            let body = match read_body_limited(response, MAX_RESPONSE_BYTES).await {
                Ok(body) => body,
                Err(BodyError::TooLarge(_)) => {
                    return Err(Error::UnexpectedResponse {
                        operation: call.ctx.operation,
                        status: status.as_u16(),
                        problem: format!(
                            "the response body is larger than {}, more than Key Vault sends",
                            describe_size(MAX_RESPONSE_BYTES)
                        ),
                    });
                }
                Err(BodyError::Transport(e)) => {
                    let delay = self.transport_retry(&mut retry, &what, call, attempts, e)?;
                    retry.wait(delay).await;
                    continue;
                }
            };
            if status == StatusCode::UNAUTHORIZED {
                match challenge.as_deref() {
                    Some(header) if !replayed_after_challenge => {
                        let challenge = Challenge::parse(header)?;
                        if self.verify_resource {
                            challenge.verify_resource(&self.vault)?;
                        }
                        // A token was sent and refused (revoked, or for an audience the vault
                        // no longer accepts): the replay asks for a new one. The new
                        // authority starts without the cached header.
                        force_refresh = authority.is_some();
                        self.store_authority(Some(Arc::new(Authority {
                            options: TokenRequestOptions {
                                tenant_id: challenge.tenant,
                                ..TokenRequestOptions::default()
                            },
                            scope: challenge.scope,
                            bearer: RwLock::new(None),
                        })));
                        replayed_after_challenge = true;
                        continue;
                    }
                    Some(_) => {}
                    // A 401 without a challenge: forget the cached one, as the SDKs do.
                    None => self.store_authority(None),
                }
                return Err(from_response(&call.ctx, status, &body, None, attempts));
            }
            if status.is_success() {
                if authority.is_none() && call.body.is_some() {
                    return Err(Error::UnexpectedResponse {
                        operation: call.ctx.operation,
                        status: status.as_u16(),
                        problem: "the vault accepted an unauthenticated request without its body instead of answering with an authentication challenge; is the URL a Key Vault?".into(),
                    });
                }
                return Ok(Reply { body });
            }
            if is_retryable_status(status) {
                let reason = format!("Key Vault answered HTTP {}", status.as_u16());
                if let Some(delay) = retry.next_retry(&what, &reason, requested) {
                    retry.wait(delay).await;
                    continue;
                }
            }
            return Err(from_response(&call.ctx, status, &body, requested, attempts));
        }
    }

    async fn build(
        &self,
        call: &Call<'_>,
        authority: Option<&Authority>,
        force_refresh: bool,
        client_request_id: &str,
    ) -> Result<reqwest::Request> {
        let mut builder = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json")
            .header("x-ms-client-request-id", client_request_id);
        let sends_body = matches!(call.method, Method::PUT | Method::POST | Method::PATCH);
        match authority {
            Some(authority) => {
                let value = self.bearer(authority, force_refresh).await?;
                builder = builder.header(AUTHORIZATION, value);
                match &call.body {
                    Some(body) => {
                        builder = builder
                            .header(CONTENT_TYPE, "application/json")
                            .body(body.to_vec());
                    }
                    None if sends_body => builder = builder.body(Vec::new()),
                    None => {}
                }
            }
            // The first request carries neither credentials nor the body (which may hold a
            // secret value): the vault only has to say who it trusts.
            None if sends_body => builder = builder.body(Vec::new()),
            None => {}
        }
        builder
            .build()
            .map_err(|e| Error::Configuration(format!("cannot build the request: {e}")))
    }

    /// The `Authorization` value for `authority`: the cached one while it may be reused, else
    /// one made from a token the credential hands out. With `force_refresh` the cached value
    /// is skipped and the credential is asked to bypass its own cache.
    async fn bearer(&self, authority: &Authority, force_refresh: bool) -> Result<HeaderValue> {
        let now = self.timer.wall_clock();
        let cached = authority
            .bearer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|b| !force_refresh && now < b.reuse_until)
            .map(|b| b.value.clone());
        if let Some(value) = cached {
            return Ok(value);
        }
        let forced;
        let options = if force_refresh {
            forced = authority.options.clone().with_force_refresh();
            &forced
        } else {
            &authority.options
        };
        let token = self
            .credential
            .get_token(&[authority.scope.as_str()], options)
            .await
            .map_err(Error::Credential)?;
        let bearer = Zeroizing::new(format!("Bearer {}", token.secret()));
        let mut value = HeaderValue::from_str(&bearer).map_err(|_| {
            Error::Credential(vaultref_entra::Error::Configuration(
                "the credential returned a token that is not a valid header value".into(),
            ))
        })?;
        value.set_sensitive(true);
        let reuse_until = token
            .refresh_on()
            .unwrap_or(token.expires_on())
            .min(token.expires_on() - REFRESH_WINDOW);
        *authority
            .bearer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = (now < reuse_until).then(|| Bearer {
            value: value.clone(),
            reuse_until,
        });
        Ok(value)
    }

    /// The wait before sending `call` again after a failure in transport (of the request or
    /// of the response body); the error to return when no retry can fix the failure or the
    /// retry budget is spent.
    fn transport_retry(
        &self,
        retry: &mut RetryState<'_>,
        what: &str,
        call: &Call<'_>,
        attempts: u32,
        error: reqwest::Error,
    ) -> Result<std::time::Duration> {
        let failure = TransportFailure::new(error, &call.url);
        if failure.is_transient()
            && let Some(delay) = retry.next_retry(&what, &failure.cause(), None)
        {
            return Ok(delay);
        }
        Err(self.transport_error(call, attempts, &failure))
    }

    fn transport_error(&self, call: &Call<'_>, attempts: u32, failure: &TransportFailure) -> Error {
        Error::Transport {
            operation: call.ctx.operation,
            vault: self.vault.to_string(),
            attempts,
            cause: failure.cause().to_owned(),
            hint: failure.hint(),
            source: failure.source().clone(),
        }
    }
}

/// A random GUID-shaped id for `x-ms-client-request-id` (diagnostics only).
pub(crate) fn request_id(jitter: &dyn Jitter) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let part = || (jitter.sample() * (1_u64 << 32) as f64) as u32;
    let (a, b, c, d) = (part(), part(), part(), part());
    format!(
        "{a:08x}-{:04x}-4{:03x}-{:04x}-{:04x}{d:08x}",
        b >> 16,
        b & 0xfff,
        0x8000 | (c >> 16) & 0x3fff,
        c & 0xffff
    )
}

#[cfg(test)]
mod tests {
    use vaultref_transport::RandomJitter;

    use super::*;

    #[test]
    fn request_ids_look_like_guids() {
        let id = request_id(&RandomJitter::default());
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }
}
