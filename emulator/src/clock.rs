//! Injected time: every expiry, timestamp and fault window reads the clock given in the config.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::sync::lock;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests of expiry and delays.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: SystemTime) {
        *lock(&self.now) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *lock(&self.now)
    }
}

/// Real time for the request log: the system time at start plus a monotonic `Instant` since,
/// whatever `EmulatorConfig::clock` is. A `ManualClock` may stand still while requests run,
/// and the system clock may be adjusted; neither may distort measured durations or overlaps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    at_start: SystemTime,
    started: Instant,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        Self {
            at_start: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// Now, never earlier than any previous reading.
    pub(crate) fn now(&self) -> SystemTime {
        self.at_start + self.started.elapsed()
    }
}

/// Whole seconds since the Unix epoch (negative before it), as the wire formats use.
pub(crate) fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Entra's timestamp format in error bodies: `2023-02-20 07:21:29Z`.
pub(crate) fn entra_timestamp(at: SystemTime) -> String {
    let secs = unix_seconds(at);
    time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(
        |_| String::from("1970-01-01 00:00:00Z"),
        |t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(100));
        assert_eq!(unix_seconds(clock.now()), 100);
        clock.advance(Duration::from_secs(5));
        assert_eq!(unix_seconds(clock.now()), 105);
    }

    #[test]
    fn wall_clock_is_real_and_never_goes_back() {
        let wall = WallClock::new();
        let first = wall.now();
        std::thread::sleep(Duration::from_millis(2));
        let second = wall.now();
        assert!(second.duration_since(first).unwrap() >= Duration::from_millis(2));
        // Within a minute of the system clock: real time, not a test clock's.
        let skew = SystemTime::now()
            .duration_since(second)
            .unwrap_or_else(|e| e.duration());
        assert!(skew < Duration::from_secs(60), "{skew:?}");
    }

    #[test]
    fn entra_timestamps_look_like_entra_ones() {
        let at = UNIX_EPOCH + Duration::from_secs(1_676_877_689);
        assert_eq!(entra_timestamp(at), "2023-02-20 07:21:29Z");
    }
}
