//! The retry policy: which answers are retried, how long to wait, and the injected time and
//! randomness it uses.

use std::{
    fmt,
    hash::{BuildHasher, RandomState},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use reqwest::{StatusCode, header::HeaderMap};
use time::OffsetDateTime;
use vaultref_entra::{RetryAfterSeconds, requested_retry_delay};

/// How requests are retried.
///
/// Retried: 408, 429, 500, 502, 503, 504 and connection failures (connect, TLS, timeout,
/// connection closed). Never retried: 401 (the client re-authenticates once after a
/// challenge instead), 403, 404, 409 and every other status. The wait before retry *n*
/// (0-based) is the service's `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` when it
/// sent one, exactly; otherwise `initial_delay * 2^n`, capped at `max_delay`, spread by
/// `jitter`. Retries stop after `max_retries`, or when the next wait would end past
/// `total_budget` from the start of the operation.
///
/// ```
/// use std::time::Duration;
/// use vaultref_keyvault::RetryOptions;
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

/// The time source of retries and of the wait in `*_and_wait` operations.
///
/// [`TokioTimer`] is the default; tests inject one that records waits instead of sleeping.
pub trait Timer: Send + Sync + fmt::Debug {
    /// Monotonic time, for budgets and deadlines.
    fn now(&self) -> Instant;
    /// Wall-clock time, for `Retry-After` given as an HTTP date.
    fn wall_clock(&self) -> OffsetDateTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock and `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_clock(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The randomness behind back-off jitter.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// A number in `[0, 1)`.
    fn sample(&self) -> f64;
}

/// Non-cryptographic randomness from the standard library's randomly keyed hasher (jitter
/// only needs to de-synchronise clients).
#[derive(Debug, Default)]
pub struct RandomJitter {
    counter: AtomicU64,
    state: RandomState,
}

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        unit(self.state.hash_one(n))
    }
}

/// A `u64` mapped to `[0, 1)` with 53 bits of precision.
#[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1_u64 << 53) as f64
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

/// Whether a status is worth retrying.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a transport failure is worth retrying.
pub(crate) fn is_transient(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

/// The wait a response asks for (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After`),
/// read by entra's shared helper; `Retry-After` seconds may be decimal, as azure-core reads
/// them.
pub(crate) fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    requested_retry_delay(headers, now, RetryAfterSeconds::Decimal)
}

/// The retry bookkeeping of one operation.
#[derive(Debug)]
pub(crate) struct RetryState<'a> {
    options: &'a RetryOptions,
    timer: &'a dyn Timer,
    jitter: &'a dyn Jitter,
    started: Instant,
    retries: u32,
}

impl<'a> RetryState<'a> {
    pub(crate) fn new(
        options: &'a RetryOptions,
        timer: &'a dyn Timer,
        jitter: &'a dyn Jitter,
    ) -> Self {
        Self {
            options,
            timer,
            jitter,
            started: timer.now(),
            retries: 0,
        }
    }

    /// The wait before the next retry, or `None` when the policy gives up.
    pub(crate) fn next_delay(&mut self, requested: Option<Duration>) -> Option<Duration> {
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

    /// Waits for `delay` on the injected timer.
    pub(crate) async fn wait(&self, delay: Duration) {
        self.timer.sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use reqwest::header::{HeaderName, HeaderValue};
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
            assert_eq!(retry_after(&headers(pairs), now), expected, "{pairs:?}");
        };
        check(&[("retry-after", "7")], Some(Duration::from_secs(7)));
        check(&[("retry-after", "1.5")], Some(Duration::from_millis(1500)));
        check(
            &[("retry-after-ms", "1500")],
            Some(Duration::from_millis(1500)),
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
        check(&[("retry-after", "-3")], None);
        check(&[], None);
    }

    #[test]
    fn retried_statuses() {
        let retried: Vec<u16> = (100..600)
            .filter(|&c| is_retryable(StatusCode::from_u16(c).unwrap()))
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
    fn random_jitter_stays_in_the_unit_interval_and_varies() {
        let jitter = RandomJitter::default();
        let samples: Vec<f64> = (0..1000).map(|_| jitter.sample()).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        assert!(
            samples
                .windows(2)
                .any(|w| (w[0] - w[1]).abs() > f64::EPSILON)
        );
    }

    #[test]
    fn request_ids_look_like_guids() {
        let id = request_id(&RandomJitter::default());
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }
}
