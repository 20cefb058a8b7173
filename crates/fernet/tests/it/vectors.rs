//! The official Fernet vectors (`tests/data/*.json`, verbatim from fernet/spec; commit in
//! `tests/data/SOURCE_COMMIT`), each file driven by one loop.

use std::time::Duration;

use serde::Deserialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use vaultref_fernet::{InvalidToken, KeyRing};

use crate::support::{FixedClock, FixedIv};

#[derive(Deserialize)]
struct Generate {
    token: String,
    now: String,
    iv: [u8; 16],
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Verify {
    token: String,
    now: String,
    ttl_sec: u64,
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Invalid {
    desc: String,
    token: String,
    now: String,
    ttl_sec: u64,
    secret: String,
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let cases: Vec<T> = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
    assert!(!cases.is_empty(), "{path} holds no case");
    cases
}

fn unix_seconds(rfc3339: &str) -> u64 {
    let instant = OffsetDateTime::parse(rfc3339, &Rfc3339).expect("RFC 3339 time");
    u64::try_from(instant.unix_timestamp()).expect("time after 1970")
}

fn ring(secret: &str, now: &str) -> KeyRing {
    KeyRing::parse(secret)
        .expect("vector keys are valid")
        .with_clock(FixedClock(unix_seconds(now)))
}

#[test]
fn generate_vectors() {
    for case in load::<Generate>("generate.json") {
        let ring = ring(&case.secret, &case.now).with_iv_source(FixedIv(case.iv));
        assert_eq!(ring.encrypt(case.src.as_bytes()), case.token);
    }
}

#[test]
fn verify_vectors() {
    for case in load::<Verify>("verify.json") {
        let ring = ring(&case.secret, &case.now);
        let ttl = Duration::from_secs(case.ttl_sec);
        let plaintext = ring.decrypt_with_ttl(&case.token, ttl).unwrap();
        assert_eq!(plaintext.as_slice(), case.src.as_bytes());
        assert_eq!(
            ring.decrypt(&case.token).unwrap().as_slice(),
            case.src.as_bytes()
        );
    }
}

#[test]
fn invalid_vectors_are_all_rejected_with_the_one_error() {
    let cases = load::<Invalid>("invalid.json");
    assert_eq!(cases.len(), 8);
    for case in cases {
        let ring = ring(&case.secret, &case.now);
        let ttl = Duration::from_secs(case.ttl_sec);
        assert_eq!(
            ring.decrypt_with_ttl(&case.token, ttl),
            Err(InvalidToken),
            "{}",
            case.desc
        );
    }
}

/// Without a TTL, only the time-based vectors become valid: every other failure is in the
/// token itself and must still be caught (Python `cryptography` behaves the same way).
/// `extract_timestamp` checks the MAC but does not decrypt, so padding errors pass it.
#[test]
fn invalid_vectors_without_ttl() {
    for case in load::<Invalid>("invalid.json") {
        let ring = ring(&case.secret, &case.now);
        let time_based = case.desc.contains("TTL") || case.desc.contains("clock skew");
        assert_eq!(
            ring.decrypt(&case.token).is_ok(),
            time_based,
            "{}",
            case.desc
        );
        let authentic = time_based || case.desc.contains("padding error");
        assert_eq!(
            ring.extract_timestamp(&case.token).is_ok(),
            authentic,
            "{}",
            case.desc
        );
    }
}
