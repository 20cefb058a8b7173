//! The one retry policy: which statuses are retried, how long to wait (back-off, jitter,
//! `Retry-After`, a total budget), and the warning every retry leaves.

use std::{
    fmt,
    time::{Duration, Instant},
};

use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderName, RETRY_AFTER},
};
use time::OffsetDateTime;

use crate::{Jitter, Timer};

/// The `tracing` target of the one line every retry writes at `warn` level; the command line
/// shows these lines on stderr by default.
pub const RETRY_LOG_TARGET: &str = "vaultref::retry";

/// How requests are retried.
///
/// A failure is retried when it is transient ([`TransportFailure::is_transient`](crate::TransportFailure::is_transient),
/// or a status [`is_retryable_status`] accepts). The wait before retry *n* (0-based) is the
/// service's `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` when it sent one,
/// exactly; otherwise `initial_delay * 2^n`, capped at `max_delay`, spread by `jitter`.
/// Retries stop after `max_retries`, or when the next wait would end past `total_budget` from
/// the start of the operation. The defaults are those of the Key Vault client; the token
/// credentials use their own (see vaultref-entra).
///
/// ```
/// use std::time::Duration;
/// use vaultref_transport::RetryOptions;
///
/// let patient = RetryOptions {
///     max_retries: 12,
///     total_budget: Duration::from_secs(120),
///     ..RetryOptions::default()
/// };
/// # drop(patient);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryOptions {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Back-off before the first retry when the service names no delay; doubled per retry.
    pub initial_delay: Duration,
    /// Longest computed back-off (a service-requested delay is honoured as it is, within
    /// `total_budget`).
    pub max_delay: Duration,
    /// The most time one operation may spend, waits included; a retry whose wait would end
    /// past it is not made and the last error is returned.
    pub total_budget: Duration,
    /// Spread of computed back-offs: each is multiplied by a random factor in
    /// `[1 - jitter, 1 + jitter]` (0 disables jitter; clamped to 0..=1).
    pub jitter: f64,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            total_budget: Duration::from_secs(60),
            jitter: 0.2,
        }
    }
}

/// The statuses worth retrying: 408, 429, 500, 502, 503 and 504. Any other 4xx is an answer a
/// retry cannot change.
#[must_use]
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The retry bookkeeping of one operation.
#[derive(Debug)]
pub struct RetryState<'a> {
    options: &'a RetryOptions,
    timer: &'a dyn Timer,
    jitter: &'a dyn Jitter,
    started: Instant,
    retries: u32,
}

impl<'a> RetryState<'a> {
    /// The state of an operation starting now.
    pub fn new(options: &'a RetryOptions, timer: &'a dyn Timer, jitter: &'a dyn Jitter) -> Self {
        Self {
            options,
            timer,
            jitter,
            started: timer.now(),
            retries: 0,
        }
    }

    /// Retries made so far.
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The wait before the next retry (`requested` is the service's `Retry-After`), or `None`
    /// when the policy gives up. Counts the retry when it returns a wait.
    pub fn next_delay(&mut self, requested: Option<Duration>) -> Option<Duration> {
        if self.retries >= self.options.max_retries {
            return None;
        }
        let delay = requested.unwrap_or_else(|| self.backoff());
        let elapsed = self.timer.now().saturating_duration_since(self.started);
        if elapsed.saturating_add(delay) > self.options.total_budget {
            return None;
        }
        self.retries += 1;
        Some(delay)
    }

    /// [`next_delay`](Self::next_delay), and when a retry is made, one `warn` line (target
    /// [`RETRY_LOG_TARGET`]) saying what is retried, why, and after how long:
    /// `get secret on https://…/: Key Vault answered HTTP 503; retrying in 500 ms (retry 1 of 8)`.
    /// `request` and `reason` must hold no secret (redacted URLs, statuses, causes).
    pub fn next_retry(
        &mut self,
        request: &dyn fmt::Display,
        reason: &dyn fmt::Display,
        requested: Option<Duration>,
    ) -> Option<Duration> {
        let delay = self.next_delay(requested)?;
        tracing::warn!(
            target: RETRY_LOG_TARGET,
            wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            retry = self.retries,
            max_retries = self.options.max_retries,
            "{request}: {reason}; retrying in {} (retry {} of {})",
            describe_wait(delay),
            self.retries,
            self.options.max_retries
        );
        Some(delay)
    }

    /// Waits for `delay` on the injected timer.
    pub async fn wait(&self, delay: Duration) {
        self.timer.sleep(delay).await;
    }

    fn backoff(&self) -> Duration {
        let base = self
            .options
            .initial_delay
            .saturating_mul(2_u32.saturating_pow(self.retries))
            .min(self.options.max_delay);
        let spread = self.options.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + spread * (2.0 * self.jitter.sample() - 1.0);
        base.mul_f64(factor).min(self.options.max_delay)
    }
}

/// `250 ms`, `1.5 s`: a wait as people read it.
fn describe_wait(delay: Duration) -> String {
    if delay < Duration::from_secs(1) {
        format!("{} ms", delay.as_millis())
    } else {
        format!("{:.1} s", delay.as_secs_f64())
    }
}

/// How a `Retry-After` given in seconds is read by [`requested_retry_delay`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfterSeconds {
    /// Whole seconds only (`7`), RFC 9110's `delay-seconds`; anything else must be an HTTP
    /// date. Entra's token endpoints are read so.
    Whole,
    /// Any finite, non-negative decimal number of seconds (`1.5`), as azure-core reads it; a
    /// negative or non-finite number is no wait at all.
    Decimal,
}

/// The wait a response asks for: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds) or
/// `Retry-After` (seconds, read as `seconds` says, or an HTTP date, measured from `now`).
///
/// `None` when the response names no usable wait. The one reading of these headers.
///
/// ```
/// use std::time::Duration;
/// use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
/// use time::OffsetDateTime;
/// use vaultref_transport::{RetryAfterSeconds, requested_retry_delay};
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
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    use super::*;

    #[derive(Debug)]
    struct FakeTimer {
        start: Instant,
        now: Mutex<Duration>,
    }

    impl Timer for FakeTimer {
        fn now(&self) -> Instant {
            self.start + *self.now.lock().unwrap()
        }
        fn wall_clock(&self) -> OffsetDateTime {
            datetime!(2026-11-23 08:00:00 UTC)
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            *self.now.lock().unwrap() += duration;
            Box::pin(async {})
        }
    }

    #[derive(Debug)]
    struct FixedJitter(f64);

    impl Jitter for FixedJitter {
        fn sample(&self) -> f64 {
            self.0
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_static(n),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
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
    fn decimal_retry_after_forms() {
        let now = datetime!(2026-11-23 08:00:00 UTC);
        let check = |pairs: &[(&'static str, &str)], expected: Option<Duration>| {
            assert_eq!(
                requested_retry_delay(&headers(pairs), now, RetryAfterSeconds::Decimal),
                expected,
                "{pairs:?}"
            );
        };
        check(&[("retry-after", "7")], Some(Duration::from_secs(7)));
        check(&[("retry-after", "1.5")], Some(Duration::from_millis(1500)));
        check(
            &[("retry-after", "Mon, 23 Nov 2026 08:00:30 GMT")],
            Some(Duration::from_secs(30)),
        );
        check(&[("retry-after", "soon")], None);
        check(&[("retry-after", "-3")], None);
    }

    #[test]
    fn retried_statuses() {
        let retried: Vec<u16> = (100..600)
            .filter(|&c| is_retryable_status(StatusCode::from_u16(c).unwrap()))
            .collect();
        assert_eq!(retried, [408, 429, 500, 502, 503, 504]);
    }

    fn delays(
        options: &RetryOptions,
        jitter: f64,
        requested: &[Option<Duration>],
    ) -> Vec<Option<Duration>> {
        let timer = FakeTimer {
            start: Instant::now(),
            now: Mutex::new(Duration::ZERO),
        };
        let jitter = FixedJitter(jitter);
        let mut state = RetryState::new(options, &timer, &jitter);
        requested
            .iter()
            .map(|r| {
                let d = state.next_delay(*r);
                if let Some(d) = d {
                    drop(timer.sleep(d));
                }
                d
            })
            .collect()
    }

    #[test]
    fn exponential_backoff_capped_and_budgeted() {
        let options = RetryOptions {
            max_retries: 6,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            total_budget: Duration::from_secs(12),
            jitter: 0.5,
        };
        let s = |n| Some(Duration::from_secs(n));
        // jitter sample 0.5 -> factor 1.0: 1, 2, 4, 4 (= 11 s), then 4 more would pass 12 s.
        assert_eq!(
            delays(&options, 0.5, &[None; 6]),
            [s(1), s(2), s(4), s(4), None, None]
        );
        // A service-requested delay is used exactly, even above max_delay.
        assert_eq!(
            delays(&options, 0.5, &[s(7), s(3), s(3)]),
            [s(7), s(3), None]
        );
        // Jitter spreads within [1 - j, 1 + j] and never above max_delay.
        assert_eq!(
            delays(&options, 0.0, &[None; 3]),
            [Some(Duration::from_millis(500)), s(1), s(2)]
        );
        let capped = delays(&options, 0.999_999, &[None; 4]);
        assert_eq!(
            capped[0],
            Some(Duration::from_micros(1_499_999)),
            "{capped:?}"
        );
        assert!(
            capped
                .iter()
                .flatten()
                .all(|d| *d <= Duration::from_secs(4)),
            "{capped:?}"
        );
    }

    #[test]
    fn max_retries_is_honoured() {
        let options = RetryOptions {
            max_retries: 2,
            ..RetryOptions::default()
        };
        let got = delays(&options, 0.5, &[Some(Duration::from_millis(1)); 4]);
        assert_eq!(got.iter().filter(|d| d.is_some()).count(), 2);
    }

    #[test]
    fn waits_read_as_people_read_them() {
        assert_eq!(describe_wait(Duration::from_millis(250)), "250 ms");
        assert_eq!(describe_wait(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(describe_wait(Duration::from_secs(30)), "30.0 s");
    }
}
