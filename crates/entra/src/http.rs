//! Sending token requests through vaultref-transport's retry policy.

use std::{sync::Arc, time::Duration};

use reqwest::{StatusCode, header::HeaderMap};
use url::Url;
use vaultref_transport::{
    BodyError, Jitter, RetryAfterSeconds, RetryOptions, RetryState, Timer, TransportFailure,
    is_retryable_status, read_body_limited, redact, requested_retry_delay,
};

use crate::{Error, Result};

/// The largest token response read (a token response is a few KiB).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Which statuses are worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryOn {
    /// Entra ID: the transport's retryable statuses (408, 429, 500, 502, 503, 504).
    Entra,
    /// IMDS / App Service: also 404 and 410 (IMDS answers them while it starts or updates,
    /// specs/azure-protocols.md A5), and every 5xx.
    ManagedIdentity,
}

impl RetryOn {
    fn should_retry(self, status: StatusCode) -> bool {
        match self {
            Self::Entra => is_retryable_status(status),
            Self::ManagedIdentity => {
                matches!(status.as_u16(), 404 | 408 | 410 | 429) || status.is_server_error()
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

/// The reqwest client plus the retry policy and its injected time and randomness.
#[derive(Clone, Debug)]
pub(crate) struct HttpPipeline {
    pub(crate) client: reqwest::Client,
    retry: RetryOptions,
    timer: Arc<dyn Timer>,
    jitter: Arc<dyn Jitter>,
}

impl HttpPipeline {
    pub(crate) fn new(
        client: reqwest::Client,
        retry: RetryOptions,
        timer: Arc<dyn Timer>,
        jitter: Arc<dyn Jitter>,
    ) -> Self {
        Self {
            client,
            retry,
            timer,
            jitter,
        }
    }

    /// Sends `request`, retrying per `retry_on` and the transport's notion of transient
    /// failures. Returns the last response whatever its status; fails only when no response
    /// arrived at all, or its body could not be read.
    pub(crate) async fn send(
        &self,
        request: reqwest::Request,
        retry_on: RetryOn,
        credential: &'static str,
    ) -> Result<Reply> {
        let url = request.url().clone();
        let what = format!("{credential}: token request to {}", redact(&url));
        let mut retry = RetryState::new(&self.retry, self.timer.as_ref(), self.jitter.as_ref());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let this_try = request.try_clone().ok_or_else(|| {
                Error::Configuration("a token request body could not be cloned for a retry".into())
            })?;
            let failure = match self.client.execute(this_try).await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let retry_after = requested_retry_delay(
                        &headers,
                        self.timer.wall_clock(),
                        RetryAfterSeconds::Whole,
                    );
                    match read_body_limited(response, MAX_RESPONSE_BYTES).await {
                        Ok(body) => {
                            let reply = Reply {
                                status,
                                headers,
                                body: body.to_vec(),
                                attempts: attempt,
                                retry_after,
                            };
                            if !retry_on.should_retry(status) {
                                return Ok(reply);
                            }
                            let reason = format!("the endpoint answered HTTP {}", status.as_u16());
                            match retry.next_retry(&what, &reason, retry_after) {
                                Some(delay) => {
                                    retry.wait(delay).await;
                                    continue;
                                }
                                None => return Ok(reply),
                            }
                        }
                        Err(BodyError::TooLarge(too_large)) => {
                            return Err(Error::UnexpectedResponse {
                                credential,
                                endpoint: redact(&url),
                                status: status.as_u16(),
                                problem: format!("the response body: {too_large}"),
                            });
                        }
                        Err(BodyError::Transport(e)) => TransportFailure::new(e, &url),
                    }
                }
                Err(e) => TransportFailure::new(e, &url),
            };
            if failure.is_transient()
                && let Some(delay) = retry.next_retry(&what, &failure.cause(), None)
            {
                retry.wait(delay).await;
                continue;
            }
            return Err(transport_error(credential, &url, attempt, &failure));
        }
    }
}

pub(crate) fn transport_error(
    credential: &'static str,
    url: &Url,
    attempts: u32,
    failure: &TransportFailure,
) -> Error {
    Error::Transport {
        credential,
        endpoint: redact(url),
        attempts,
        cause: failure.cause().to_owned(),
        hint: failure.hint(),
        source: failure.source().clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
