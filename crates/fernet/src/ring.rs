use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use crate::{
    Clock, InvalidToken, IvSource, Key, KeyError, OsIvSource, Plaintext, SystemClock,
    key::parse_list,
    token::{PreparedKey, RawToken},
};

/// How far in the future a token's timestamp may be when a TTL is checked, in seconds
/// (Python `cryptography`'s `_MAX_CLOCK_SKEW`).
pub const MAX_CLOCK_SKEW: u64 = 60;

/// An ordered, non-empty list of Fernet keys: the first key encrypts, every key decrypts.
///
/// A single key is a ring of one. Keys are turned into ready-to-use HMAC and AES states once,
/// at construction. A token is decoded and checked once, then each key's HMAC is tried in order.
///
/// ```
/// use vaultref_fernet::KeyRing;
///
/// // `FERNET_KEY=new,old`: encrypt with the new key, still read tokens made with the old one.
/// let old = KeyRing::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=").unwrap();
/// let legacy = old.encrypt(b"s3cret");
///
/// let ring = KeyRing::parse(
///     "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=,jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=",
/// )
/// .unwrap();
/// assert_eq!(ring.decrypt(&legacy).unwrap().as_slice(), b"s3cret");
/// let rotated = ring.rotate(&legacy).unwrap();
/// assert!(old.decrypt(&rotated).is_err());
/// ```
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<PreparedKey>,
    clock: Arc<dyn Clock>,
    iv_source: Arc<dyn IvSource>,
}

impl KeyRing {
    /// A ring of `keys`, in order (the first one encrypts), using the system clock and the OS
    /// CSPRNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] when `keys` is empty.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Result<KeyRing, KeyError> {
        let keys: Vec<PreparedKey> = keys.into_iter().map(|key| PreparedKey::new(&key)).collect();
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(KeyRing {
            keys,
            clock: Arc::new(SystemClock),
            iv_source: Arc::new(OsIvSource),
        })
    }

    /// Parses a comma-separated key list as OpenMetadata's `fernetKey` and Airflow's
    /// `fernet_key` are written (`new,old`); see [`Key::parse`] for the forms of one entry.
    ///
    /// # Errors
    ///
    /// [`KeyError`] naming the first entry that is empty, not base64 or not 32 bytes.
    pub fn parse(text: &str) -> Result<KeyRing, KeyError> {
        KeyRing::new(parse_list(text)?)
    }

    /// Uses `clock` instead of the system clock for timestamps and TTL checks.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> KeyRing {
        self.clock = Arc::new(clock);
        self
    }

    /// Uses `iv_source` instead of the OS CSPRNG for IVs. Only tests should need this: Fernet's
    /// security requires unpredictable IVs.
    #[must_use]
    pub fn with_iv_source(mut self, iv_source: impl IvSource + 'static) -> KeyRing {
        self.iv_source = Arc::new(iv_source);
        self
    }

    /// Number of keys in the ring (at least 1).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a ring holds at least one key. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Encrypts `plaintext` under the first key, stamped with the clock's current time.
    /// The token is URL-safe base64 with padding, as every implementation emits it.
    ///
    /// # Panics
    ///
    /// Only if the IV source panics (see [`OsIvSource`]).
    #[must_use]
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        self.seal(plaintext, self.clock.now_unix_seconds())
    }

    /// Decrypts `token` with whichever key of the ring made it, without an age limit.
    ///
    /// As in Python `cryptography`, no time check runs without a TTL, so a token stamped in the
    /// future is accepted here.
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] for any failure.
    pub fn decrypt(&self, token: &str) -> Result<Plaintext, InvalidToken> {
        let token = RawToken::decode(token)?;
        let key = token.authenticate(&self.keys).ok_or(InvalidToken)?;
        token.open(key)
    }

    /// Decrypts `token` only if it is at most `ttl` old (whole seconds; the fraction is ignored)
    /// and at most [`MAX_CLOCK_SKEW`] seconds in the future.
    ///
    /// A token is still valid at exactly `timestamp + ttl` (Python `cryptography`'s rule).
    /// The age is checked before the HMAC, as the spec orders it, with arithmetic that cannot
    /// overflow on a hostile timestamp.
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] for any failure, expiry included.
    pub fn decrypt_with_ttl(&self, token: &str, ttl: Duration) -> Result<Plaintext, InvalidToken> {
        let token = RawToken::decode(token)?;
        if !is_fresh(
            token.timestamp(),
            self.clock.now_unix_seconds(),
            ttl.as_secs(),
        ) {
            return Err(InvalidToken);
        }
        let key = token.authenticate(&self.keys).ok_or(InvalidToken)?;
        token.open(key)
    }

    /// Re-encrypts `token` under the first key with a new IV, keeping its original timestamp,
    /// so that rotating keys never extends a TTL-based lifetime. The token may have been made
    /// with any key of the ring; its age is not checked.
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] when no key of the ring opens `token`.
    pub fn rotate(&self, token: &str) -> Result<String, InvalidToken> {
        let token = RawToken::decode(token)?;
        let timestamp = token.timestamp();
        let key = token.authenticate(&self.keys).ok_or(InvalidToken)?;
        let plaintext = token.open(key)?;
        Ok(self.seal(&plaintext, timestamp))
    }

    /// [`KeyRing::rotate`] for a token the first key did not make; `None` for one it did (left
    /// as it is: rotating it again would only change its IV). The token is decoded once.
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] when no key of the ring opens `token`.
    pub fn rotate_to_first(&self, token: &str) -> Result<Option<String>, InvalidToken> {
        let token = RawToken::decode(token)?;
        let (first, _) = self.keys.split_first().ok_or(InvalidToken)?;
        if token.authenticate(std::slice::from_ref(first)).is_some() {
            return Ok(None);
        }
        let timestamp = token.timestamp();
        let key = token.authenticate(&self.keys).ok_or(InvalidToken)?;
        let plaintext = token.open(key)?;
        Ok(Some(self.seal(&plaintext, timestamp)))
    }

    /// The creation time of `token` in Unix seconds, once its HMAC has been verified with a key
    /// of the ring. The token is not decrypted and its age is not checked.
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] when the token is malformed or no key of the ring made it.
    pub fn extract_timestamp(&self, token: &str) -> Result<u64, InvalidToken> {
        let token = RawToken::decode(token)?;
        token.authenticate(&self.keys).ok_or(InvalidToken)?;
        Ok(token.timestamp())
    }

    fn seal(&self, plaintext: &[u8], timestamp: u64) -> String {
        let mut iv = [0u8; 16];
        self.iv_source.fill_iv(&mut iv);
        self.keys[0].seal(plaintext, timestamp, &iv)
    }
}

/// Python's rule: reject when `timestamp + ttl < now` or `now + MAX_CLOCK_SKEW < timestamp`,
/// rewritten as differences so that no sum can overflow.
fn is_fresh(timestamp: u64, now: u64, ttl: u64) -> bool {
    let age = now.saturating_sub(timestamp);
    let ahead = timestamp.saturating_sub(now);
    age <= ttl && ahead <= MAX_CLOCK_SKEW
}

impl From<Key> for KeyRing {
    fn from(key: Key) -> KeyRing {
        KeyRing {
            keys: vec![PreparedKey::new(&key)],
            clock: Arc::new(SystemClock),
            iv_source: Arc::new(OsIvSource),
        }
    }
}

impl FromStr for KeyRing {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<KeyRing, KeyError> {
        KeyRing::parse(text)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A clock the test moves by hand.
    #[derive(Clone, Default)]
    struct ManualClock(Arc<AtomicU64>);

    impl ManualClock {
        fn set(&self, now: u64) {
            self.0.store(now, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now_unix_seconds(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn ring_at(clock: &ManualClock, keys: Vec<Key>) -> KeyRing {
        KeyRing::new(keys).unwrap().with_clock(clock.clone())
    }

    #[test]
    fn freshness_rule_matches_python() {
        // (timestamp, now, ttl, fresh)
        let cases = [
            (1_000, 1_060, 60, true),  // exactly ts + ttl: still valid
            (1_000, 1_061, 60, false), // one second later: expired
            (1_000, 940, 60, true),    // exactly 60 s in the future: tolerated skew
            (1_000, 939, 60, false),   // 61 s in the future
            (1_000, 1_000, 0, true),   // ttl 0 accepts the current second only
            (1_000, 1_001, 0, false),
            (u64::MAX, 0, u64::MAX, false), // hostile timestamp: no overflow, far future
            (0, u64::MAX, u64::MAX, true),
            (0, u64::MAX, u64::MAX - 1, false),
            (u64::MAX, u64::MAX, 1, true),
        ];
        for (timestamp, now, ttl, fresh) in cases {
            assert_eq!(
                is_fresh(timestamp, now, ttl),
                fresh,
                "ts {timestamp} now {now} ttl {ttl}"
            );
        }
    }

    #[test]
    fn ttl_boundaries_through_the_ring() {
        let clock = ManualClock::default();
        clock.set(1_000_000);
        let ring = ring_at(&clock, vec![Key::generate()]);
        let token = ring.encrypt(b"x");
        let ttl = Duration::from_secs(60);
        for (now, ok) in [
            (1_000_060, true),
            (1_000_061, false),
            (999_940, true),
            (999_939, false),
        ] {
            clock.set(now);
            assert_eq!(
                ring.decrypt_with_ttl(&token, ttl).is_ok(),
                ok,
                "now = {now}"
            );
        }
        // Without a TTL no time check runs, even far in the past or the future.
        for now in [0, u64::MAX] {
            clock.set(now);
            assert_eq!(ring.decrypt(&token).unwrap().as_slice(), b"x");
        }
        // Sub-second parts of the TTL are ignored.
        clock.set(1_000_061);
        assert!(
            ring.decrypt_with_ttl(&token, Duration::from_millis(60_999))
                .is_err()
        );
    }

    #[test]
    fn first_key_encrypts_every_key_decrypts() {
        let clock = ManualClock::default();
        let (new, old) = (Key::generate(), Key::generate());
        let old_ring = ring_at(&clock, vec![old.clone()]);
        let new_ring = ring_at(&clock, vec![new.clone()]);
        let both = ring_at(&clock, vec![new, old]);

        let legacy = old_ring.encrypt(b"legacy");
        assert_eq!(both.decrypt(&legacy).unwrap().as_slice(), b"legacy");
        let fresh = both.encrypt(b"fresh");
        assert_eq!(new_ring.decrypt(&fresh).unwrap().as_slice(), b"fresh");
        assert_eq!(old_ring.decrypt(&fresh), Err(InvalidToken));
    }

    #[test]
    fn rotate_keeps_the_timestamp_and_changes_the_key() {
        let clock = ManualClock::default();
        let (new, old) = (Key::generate(), Key::generate());
        clock.set(1_000);
        let legacy = ring_at(&clock, vec![old.clone()]).encrypt(b"payload");
        clock.set(5_000);
        let both = ring_at(&clock, vec![new.clone(), old]);
        let rotated = both.rotate(&legacy).unwrap();
        assert_ne!(rotated, legacy);
        let new_only = ring_at(&clock, vec![new]);
        assert_eq!(new_only.extract_timestamp(&rotated), Ok(1_000));
        assert_eq!(new_only.decrypt(&rotated).unwrap().as_slice(), b"payload");
        // Rotation ignores age: a long-expired token still rotates, and stays expired.
        assert!(
            both.decrypt_with_ttl(&legacy, Duration::from_secs(10))
                .is_err()
        );
        assert!(
            new_only
                .decrypt_with_ttl(&rotated, Duration::from_secs(10))
                .is_err()
        );
        assert_eq!(new_only.rotate(&legacy), Err(InvalidToken));
    }

    #[test]
    fn extract_timestamp_requires_a_valid_mac() {
        let clock = ManualClock::default();
        clock.set(123_456);
        let ring = ring_at(&clock, vec![Key::generate()]);
        let token = ring.encrypt(b"x");
        assert_eq!(ring.extract_timestamp(&token), Ok(123_456));
        let stranger = ring_at(&clock, vec![Key::generate()]);
        assert_eq!(stranger.extract_timestamp(&token), Err(InvalidToken));
    }

    #[test]
    fn empty_ring_is_refused() {
        assert_eq!(KeyRing::new(Vec::new()).unwrap_err(), KeyError::Empty);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ring = KeyRing::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=").unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing { keys: <1 redacted>, .. }");
    }
}
