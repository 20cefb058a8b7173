//! Property tests: round trip, and no single flipped bit survives.

use base64::{Engine as _, engine::general_purpose::URL_SAFE};
use proptest::prelude::*;
use vaultref_fernet::{InvalidToken, Key, KeyRing};

fn ring() -> KeyRing {
    KeyRing::from(Key::parse("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").expect("valid key"))
}

proptest! {
    #[test]
    fn round_trip(plaintext in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ring = ring();
        let token = ring.encrypt(&plaintext);
        let decrypted = ring.decrypt(&token).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());
        let rotated = ring.rotate(&token).unwrap();
        let decrypted = ring.decrypt(&rotated).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());
    }

    /// Flips one bit of the raw token (version, timestamp, IV, ciphertext or MAC) and
    /// re-encodes it canonically: the HMAC must catch every one.
    #[test]
    fn any_flipped_bit_is_rejected(
        plaintext in proptest::collection::vec(any::<u8>(), 0..100),
        bit in any::<prop::sample::Index>(),
    ) {
        let ring = ring();
        let mut raw = URL_SAFE.decode(ring.encrypt(&plaintext)).unwrap();
        let bit = bit.index(raw.len() * 8);
        raw[bit / 8] ^= 1 << (bit % 8);
        let tampered = URL_SAFE.encode(&raw);
        prop_assert_eq!(ring.decrypt(&tampered), Err(InvalidToken));
        prop_assert_eq!(ring.extract_timestamp(&tampered), Err(InvalidToken));
    }
}

/// `rotate_to_first` leaves a token of the first key alone, moves one of an older key to the
/// first with its timestamp, and refuses one no key made (or a flipped bit).
#[test]
fn rotate_to_first_moves_only_tokens_of_older_keys() {
    let old = KeyRing::from(Key::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=").unwrap());
    let new = ring();
    let both = KeyRing::parse(
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=,jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=",
    )
    .unwrap();

    let current = new.encrypt(b"current");
    assert_eq!(both.rotate_to_first(&current), Ok(None));

    let legacy = old.encrypt(b"legacy");
    let rotated = both.rotate_to_first(&legacy).unwrap().unwrap();
    assert_eq!(new.decrypt(&rotated).unwrap().as_slice(), b"legacy");
    assert!(old.decrypt(&rotated).is_err());
    assert_eq!(
        new.extract_timestamp(&rotated),
        old.extract_timestamp(&legacy)
    );
    assert_eq!(both.rotate_to_first(&rotated), Ok(None));

    assert_eq!(new.rotate_to_first(&legacy), Err(InvalidToken));
    let mut raw = URL_SAFE.decode(&legacy).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    assert_eq!(
        both.rotate_to_first(&URL_SAFE.encode(&raw)),
        Err(InvalidToken)
    );
}
