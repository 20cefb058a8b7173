//! Injected wall-clock time, so expiry and back-off logic is testable.

use std::fmt;

use time::OffsetDateTime;

/// A source of the current time.
///
/// The token cache and the credentials read the time only through this trait, so tests can move
/// time forward (into a refresh window, past an expiry) without waiting.
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
