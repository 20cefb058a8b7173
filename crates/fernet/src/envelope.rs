//! The `fernet:` envelope: how OpenMetadata marks a database value as a Fernet token.

use zeroize::Zeroizing;

use crate::{InvalidToken, KeyRing};

/// The prefix OpenMetadata puts before a Fernet token it stores (`fernet:<token>`).
pub const FERNET_PREFIX: &str = "fernet:";

/// Whether `value` is a `fernet:` envelope (OpenMetadata's `isTokenized`: a prefix test only,
/// the token itself is not checked).
#[must_use]
pub fn is_tokenized(value: &str) -> bool {
    value.starts_with(FERNET_PREFIX)
}

/// The token inside a `fernet:` envelope, or `value` unchanged when it has no prefix.
#[must_use]
pub fn strip_prefix(value: &str) -> &str {
    value.strip_prefix(FERNET_PREFIX).unwrap_or(value)
}

impl KeyRing {
    /// Wraps `value` as `fernet:<token>` unless it already is a `fernet:` envelope, which is
    /// returned unchanged: a value is never encrypted twice (OpenMetadata's `encryptIfApplies`).
    #[must_use]
    pub fn encrypt_if_not_tokenized(&self, value: &str) -> String {
        if is_tokenized(value) {
            return value.to_owned();
        }
        let token = self.encrypt(value.as_bytes());
        let mut envelope = String::with_capacity(FERNET_PREFIX.len() + token.len());
        envelope.push_str(FERNET_PREFIX);
        envelope.push_str(&token);
        envelope
    }

    /// Decrypts a `fernet:` envelope; any other value is returned unchanged
    /// (OpenMetadata's `decryptIfApplies`).
    ///
    /// # Errors
    ///
    /// [`InvalidToken`] when the value is an envelope that no key of the ring opens, or whose
    /// plaintext is not UTF-8 text. A wrong key is never mistaken for "not encrypted".
    pub fn decrypt_if_tokenized(&self, value: &str) -> Result<Zeroizing<String>, InvalidToken> {
        let Some(token) = value.strip_prefix(FERNET_PREFIX) else {
            return Ok(Zeroizing::new(value.to_owned()));
        };
        self.decrypt(token)?.into_string().map_err(|_| InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn ring() -> KeyRing {
        KeyRing::from(Key::generate())
    }

    #[test]
    fn prefix_is_detected_and_stripped() {
        assert!(is_tokenized("fernet:gAAAA"));
        assert!(!is_tokenized("secret:/a/b"));
        assert!(!is_tokenized("Fernet:gAAAA"));
        assert_eq!(strip_prefix("fernet:gAAAA"), "gAAAA");
        assert_eq!(strip_prefix("gAAAA"), "gAAAA");
    }

    #[test]
    fn envelope_round_trip_never_double_encrypts() {
        let ring = ring();
        let once = ring.encrypt_if_not_tokenized("s3cret");
        assert!(once.starts_with(FERNET_PREFIX));
        let twice = ring.encrypt_if_not_tokenized(&once);
        assert_eq!(once, twice);
        assert_eq!(ring.decrypt_if_tokenized(&once).unwrap().as_str(), "s3cret");
    }

    #[test]
    fn plain_values_pass_through_decrypt() {
        let ring = ring();
        assert_eq!(
            ring.decrypt_if_tokenized("plain").unwrap().as_str(),
            "plain"
        );
        assert_eq!(
            ring.decrypt_if_tokenized("secret:/x").unwrap().as_str(),
            "secret:/x"
        );
    }

    #[test]
    fn wrong_key_is_an_error_not_a_passthrough() {
        let envelope = ring().encrypt_if_not_tokenized("s3cret");
        assert_eq!(ring().decrypt_if_tokenized(&envelope), Err(InvalidToken));
    }

    #[test]
    fn non_utf8_plaintext_is_rejected_by_the_string_helper() {
        let ring = ring();
        let envelope = format!("{FERNET_PREFIX}{}", ring.encrypt(&[0xff, 0xfe]));
        assert_eq!(ring.decrypt_if_tokenized(&envelope), Err(InvalidToken));
    }
}
