use std::time::{SystemTime, UNIX_EPOCH};

/// Where a [`KeyRing`](crate::KeyRing) reads the current time: Unix seconds.
///
/// Inject a fixed clock in tests; production code uses [`SystemClock`].
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, now.
    fn now_unix_seconds(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_seconds(&self) -> u64 {
        // A clock set before 1970 reads as the epoch: such tokens are then merely "old".
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        // 2020-01-01T00:00:00Z: a clock reading below this is broken, not just early.
        assert!(SystemClock.now_unix_seconds() > 1_577_836_800);
    }
}
