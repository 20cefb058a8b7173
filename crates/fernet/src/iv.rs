/// Where a [`KeyRing`](crate::KeyRing) gets the 16-byte IV of each new token.
///
/// The Fernet spec requires a fresh, unpredictable IV per token: production code uses
/// [`OsIvSource`]. Tests inject a fixed IV to reproduce the official `generate` vector.
pub trait IvSource: Send + Sync {
    /// Fills `iv` with the IV of the next token.
    fn fill_iv(&self, iv: &mut [u8; 16]);
}

/// IVs from the operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsIvSource;

impl IvSource for OsIvSource {
    /// # Panics
    ///
    /// If the operating system's random number generator fails, which on supported platforms
    /// does not happen once the system has booted. Encrypting with a predictable IV would be
    /// worse than stopping.
    fn fill_iv(&self, iv: &mut [u8; 16]) {
        os_random(iv);
    }
}

/// Fills `buf` from the OS CSPRNG; panics if there is none (see [`OsIvSource::fill_iv`]).
pub(crate) fn os_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_ivs_differ() {
        let (mut first, mut second) = ([0u8; 16], [0u8; 16]);
        OsIvSource.fill_iv(&mut first);
        OsIvSource.fill_iv(&mut second);
        assert_ne!(first, second);
    }
}
