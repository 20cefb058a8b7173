//! Fernet tokens for vaultref, written by hand on the RustCrypto primitives
//! (`aes`, `cbc`, `hmac`, `sha2`).
//!
//! - [`Key`]: one 32-byte Fernet key (signing half + encryption half). Parsed from the forms
//!   OpenMetadata's `fernetKey` accepts (standard or URL-safe base64, padded or not), wiped on
//!   drop, never shown by `Debug`.
//! - [`KeyRing`]: an ordered, non-empty list of keys. The first key encrypts, every key is tried
//!   on decrypt (the token is parsed once), [`KeyRing::rotate`] re-encrypts under the first key
//!   and keeps the token's timestamp, [`KeyRing::extract_timestamp`] authenticates first.
//! - [`Clock`] / [`SystemClock`] and [`IvSource`] / [`OsIvSource`]: time and randomness are
//!   injected, so the official test vectors run deterministically.
//! - The `fernet:` envelope that OpenMetadata stores in its database: [`FERNET_PREFIX`],
//!   [`is_tokenized`], [`strip_prefix`], [`KeyRing::encrypt_if_not_tokenized`] and
//!   [`KeyRing::decrypt_if_tokenized`].
//! - [`Plaintext`]: what decryption returns; wiped on drop, redacted in `Debug`.
//! - Errors: [`InvalidToken`] is the single opaque error for every token failure (base64,
//!   version, length, TTL, clock skew, MAC, padding), so no failure reason can become an oracle;
//!   [`KeyError`] says which entry of a key list is wrong, without echoing it.
//!
//! TTL and clock-skew rules follow Python `cryptography`: a token is still valid at exactly
//! `timestamp + ttl`, and a token more than 60 s in the future is rejected only when a TTL is
//! given. The full policy (base64 leniency, key formats, differences from Python, fernet-rs and
//! Java) is in `docs/fernet.md`.
//!
//! ```
//! use vaultref_fernet::{Key, KeyRing};
//!
//! let ring = KeyRing::from(Key::generate());
//! let token = ring.encrypt(b"s3cret");
//! assert_eq!(ring.decrypt(&token).unwrap().as_slice(), b"s3cret");
//! ```

mod clock;
mod envelope;
mod error;
mod iv;
mod key;
mod plaintext;
mod ring;
mod token;

pub use crate::{
    clock::{Clock, SystemClock},
    envelope::{FERNET_PREFIX, is_tokenized, strip_prefix},
    error::{InvalidToken, KeyError},
    iv::{IvSource, OsIvSource},
    key::Key,
    plaintext::Plaintext,
    ring::{KeyRing, MAX_CLOCK_SKEW},
};
pub use zeroize::Zeroizing;

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
