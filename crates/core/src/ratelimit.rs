//! Write rate limiting: OpenMetadata's process-wide limiter on vault writes and deletes
//! (`rateLimitPermitsPerSecond`, default 10), as a [`SecretBackend`] decorator.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use vaultref_transport::Timer;
// The timer the manager's limiter runs on in production.
pub(crate) use vaultref_transport::TokioTimer;

use crate::backend::{SecretAttributes, SecretBackend, VaultSecret};
use crate::error::Result;
use crate::naming::SecretName;

/// A token bucket: `rate` permits per second, bursts of up to one second's worth.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    capacity: f64,
    available: f64,
    last: Duration,
}

impl Bucket {
    /// Takes one permit at `now`; returns how long the caller must wait before using it.
    fn reserve(&mut self, now: Duration) -> Duration {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.available = (self.available + elapsed * self.rate).min(self.capacity);
        self.available -= 1.0;
        if self.available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.available / self.rate)
        }
    }
}

/// Limits writes, deletes and recoveries on the wrapped backend to a rate; reads pass through
/// (as in OpenMetadata, reads are not limited).
pub struct RateLimitedBackend {
    inner: Arc<dyn SecretBackend>,
    timer: Arc<dyn Timer>,
    /// The bucket's time is measured from here.
    start: Instant,
    bucket: Mutex<Bucket>,
}

impl fmt::Debug for RateLimitedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rate;
        f.debug_struct("RateLimitedBackend")
            .field("inner", &self.inner)
            .field("permits_per_second", &rate)
            .finish_non_exhaustive()
    }
}

impl RateLimitedBackend {
    /// Wraps `inner`, allowing `permits_per_second` writes and deletes (a positive number; other
    /// values fall back to 10, the default).
    #[must_use]
    pub fn new(
        inner: Arc<dyn SecretBackend>,
        permits_per_second: f64,
        timer: Arc<dyn Timer>,
    ) -> Self {
        let rate = if permits_per_second.is_finite() && permits_per_second > 0.0 {
            permits_per_second
        } else {
            crate::config::DEFAULT_RATE_LIMIT_PERMITS_PER_SECOND
        };
        let start = timer.now();
        Self {
            inner,
            timer,
            start,
            bucket: Mutex::new(Bucket {
                rate,
                capacity: rate.max(1.0),
                available: 1.0,
                last: Duration::ZERO,
            }),
        }
    }

    async fn acquire(&self) {
        let wait = {
            let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
            bucket.reserve(self.timer.now().saturating_duration_since(self.start))
        };
        if !wait.is_zero() {
            self.timer.sleep(wait).await;
        }
    }
}

#[async_trait]
impl SecretBackend for RateLimitedBackend {
    async fn set_secret(
        &self,
        name: &SecretName,
        value: &SecretString,
        attributes: &SecretAttributes,
    ) -> Result<Option<String>> {
        self.acquire().await;
        self.inner.set_secret(name, value, attributes).await
    }

    async fn get_secret(&self, name: &SecretName) -> Result<SecretString> {
        self.inner.get_secret(name).await
    }

    async fn read_secret(&self, name: &SecretName) -> Result<VaultSecret> {
        self.inner.read_secret(name).await
    }

    async fn deleted_secret_tags(&self, name: &SecretName) -> Result<BTreeMap<String, String>> {
        self.inner.deleted_secret_tags(name).await
    }

    async fn delete_secret(&self, name: &SecretName) -> Result<()> {
        self.acquire().await;
        self.inner.delete_secret(name).await
    }

    async fn recover_secret(&self, name: &SecretName) -> Result<()> {
        self.acquire().await;
        self.inner.recover_secret(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::InMemoryBackend;

    /// A timer whose time moves only when someone sleeps; it records the sleeps.
    #[derive(Debug)]
    struct FakeTimer {
        start: Instant,
        state: Mutex<(Duration, Vec<Duration>)>,
    }

    impl Default for FakeTimer {
        fn default() -> Self {
            Self {
                start: Instant::now(),
                state: Mutex::default(),
            }
        }
    }

    impl FakeTimer {
        fn advance(&self, by: Duration) {
            self.state.lock().unwrap().0 += by;
        }
        fn sleeps_ms(&self) -> Vec<u128> {
            self.state
                .lock()
                .unwrap()
                .1
                .iter()
                .map(Duration::as_millis)
                .collect()
        }
    }

    impl Timer for FakeTimer {
        fn now(&self) -> Instant {
            self.start + self.state.lock().unwrap().0
        }
        fn wall_clock(&self) -> time::OffsetDateTime {
            time::OffsetDateTime::UNIX_EPOCH + self.state.lock().unwrap().0
        }
        fn sleep(&self, duration: Duration) -> futures::future::BoxFuture<'static, ()> {
            let mut state = self.state.lock().unwrap();
            state.0 += duration;
            state.1.push(duration);
            Box::pin(async {})
        }
    }

    fn name(i: usize) -> SecretName {
        SecretName::new(format!("s{i}")).unwrap()
    }

    #[tokio::test]
    async fn writes_are_spaced_reads_are_not() {
        let vault = Arc::new(InMemoryBackend::new());
        let timer = Arc::new(FakeTimer::default());
        let limited = RateLimitedBackend::new(vault.clone(), 10.0, timer.clone());
        let value = SecretString::from("v");
        for i in 0..5 {
            limited
                .set_secret(&name(i), &value, &SecretAttributes::default())
                .await
                .unwrap();
        }
        // The first write goes at once, then one every 100 ms.
        assert_eq!(timer.sleeps_ms(), [100, 100, 100, 100]);
        for i in 0..5 {
            limited.get_secret(&name(i)).await.unwrap();
        }
        assert_eq!(timer.sleeps_ms().len(), 4);
        // After a pause, up to one second's worth goes at once again.
        timer.advance(Duration::from_secs(5));
        for i in 0..10 {
            limited.delete_secret(&name(i % 5)).await.ok();
        }
        assert_eq!(timer.sleeps_ms().len(), 4);
        limited.recover_secret(&name(0)).await.unwrap();
        assert_eq!(timer.sleeps_ms(), [100, 100, 100, 100, 100]);
        assert_eq!(vault.names(), [name(0)]);
    }

    #[tokio::test]
    async fn slow_rates_and_invalid_rates() {
        let timer = Arc::new(FakeTimer::default());
        let limited = RateLimitedBackend::new(Arc::new(InMemoryBackend::new()), 0.5, timer.clone());
        for i in 0..3 {
            limited
                .set_secret(
                    &name(i),
                    &SecretString::from("v"),
                    &SecretAttributes::default(),
                )
                .await
                .unwrap();
        }
        assert_eq!(timer.sleeps_ms(), [2000, 2000]);
        let fallback = RateLimitedBackend::new(Arc::new(InMemoryBackend::new()), 0.0, timer);
        assert!(format!("{fallback:?}").contains("permits_per_second: 10.0"));
    }
}
