//! Deterministic clock and IV source for the tests.

use vaultref_fernet::{Clock, IvSource};

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedClock(pub(crate) u64);

impl Clock for FixedClock {
    fn now_unix_seconds(&self) -> u64 {
        self.0
    }
}

/// The same IV for every token: only for reproducing published vectors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedIv(pub(crate) [u8; 16]);

impl IvSource for FixedIv {
    fn fill_iv(&self, iv: &mut [u8; 16]) {
        *iv = self.0;
    }
}
