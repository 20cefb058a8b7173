//! Injected time and randomness: the one `Clock`, the one `Timer`, and back-off jitter.

use std::{
    fmt,
    hash::{BuildHasher, RandomState},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use time::OffsetDateTime;

/// Wall-clock time, for what expires: tokens, cached values.
///
/// Token caches and resolvers read the time only through this trait, so tests move time
/// forward (into a refresh window, past an expiry) without waiting.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock ([`OffsetDateTime::now_utc`]); the default everywhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Monotonic time and sleeping, for what waits: retries, rate limits, polls.
///
/// [`TokioTimer`] is the default; tests inject one that records waits instead of sleeping.
pub trait Timer: Send + Sync + fmt::Debug {
    /// Monotonic time, for budgets and deadlines.
    fn now(&self) -> Instant;
    /// Wall-clock time, for a `Retry-After` given as an HTTP date.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
