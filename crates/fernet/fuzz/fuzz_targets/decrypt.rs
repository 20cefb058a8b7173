//! Fuzzes every entry point that reads an untrusted token: `decrypt`, `decrypt_with_ttl`,
//! `rotate`, `extract_timestamp` and the `fernet:` envelope. The input is tried both as token
//! text and as raw token bytes (re-encoded, so that the layout checks, the hostile timestamp
//! and the MAC are reached), and as a plaintext that must round-trip.
//!
//! Built with `-a` (debug assertions, hence overflow checks) so that unchecked arithmetic on the
//! timestamp would crash here.
#![no_main]

use std::{
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE};
use libfuzzer_sys::fuzz_target;
use vaultref_fernet::{Clock, InvalidToken, KeyRing};

static NOW: AtomicU64 = AtomicU64::new(0);

struct FuzzClock;

impl Clock for FuzzClock {
    fn now_unix_seconds(&self) -> u64 {
        NOW.load(Ordering::Relaxed)
    }
}

/// Two keys, the second being the official vectors' key, so mutated vector tokens authenticate
/// with the last key of the ring.
static RING: LazyLock<KeyRing> = LazyLock::new(|| {
    KeyRing::parse(
        "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=,cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
    )
    .expect("fixed keys are valid")
    .with_clock(FuzzClock)
});

fn exercise(token: &str, ttl: u64) {
    let ring = &*RING;
    let plain = ring.decrypt(token);
    let fresh = ring.decrypt_with_ttl(token, Duration::from_secs(ttl));
    let stamp = ring.extract_timestamp(token);
    // A token that is valid with a TTL is valid without one, and is authentic.
    if let Ok(fresh) = &fresh {
        assert_eq!(plain.as_ref().map(|p| p.as_slice()), Ok(fresh.as_slice()));
    }
    if plain.is_ok() {
        assert!(stamp.is_ok());
        let rotated = ring.rotate(token).expect("a decryptable token rotates");
        assert_eq!(ring.extract_timestamp(&rotated), stamp);
    } else {
        assert_eq!(ring.rotate(token), Err(InvalidToken));
    }
    let _ = ring.decrypt_if_tokenized(&format!("fernet:{token}"));
}

fuzz_target!(|data: &[u8]| {
    let (control, rest) = data.split_at(data.len().min(16));
    let mut now = [0u8; 8];
    let mut ttl = [0u8; 8];
    now[..control.len().min(8)].copy_from_slice(&control[..control.len().min(8)]);
    if control.len() > 8 {
        ttl[..control.len() - 8].copy_from_slice(&control[8..]);
    }
    NOW.store(u64::from_be_bytes(now), Ordering::Relaxed);
    let ttl = u64::from_be_bytes(ttl);

    if let Ok(text) = std::str::from_utf8(data) {
        exercise(text, ttl);
    }
    exercise(&URL_SAFE.encode(rest), ttl);

    let token = RING.encrypt(rest);
    assert_eq!(RING.decrypt(&token).expect("own token").as_slice(), rest);
});
