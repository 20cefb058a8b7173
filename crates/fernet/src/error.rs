use std::fmt;

/// A token was rejected.
///
/// Deliberately opaque: a wrong key, a modified or truncated token, bad base64, an expired TTL,
/// a timestamp too far in the future and a padding error all look the same, so the error cannot
/// serve as an oracle. It never contains the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvalidToken;

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid Fernet token: wrong key, modified or truncated token, or expired TTL")
    }
}

impl std::error::Error for InvalidToken {}

/// A Fernet key or key list could not be parsed.
///
/// Entries are numbered from 1 in the order they appear in the comma-separated list. No variant
/// carries any part of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The list holds no key at all.
    #[error(
        "the Fernet key list is empty; set a key (make one with `vaultref fernet generate-key`)"
    )]
    Empty,
    /// One entry of the list is empty (e.g. `key1,,key2`).
    #[error("entry {entry} of {count} in the Fernet key list is empty; remove the extra comma")]
    EmptyEntry {
        /// Position of the entry, from 1.
        entry: usize,
        /// Number of entries in the list.
        count: usize,
    },
    /// One entry holds characters that are not base64.
    #[error(
        "entry {entry} of {count} in the Fernet key list is not base64; a Fernet key is 32 bytes \
         of URL-safe base64 (make one with `vaultref fernet generate-key`)"
    )]
    NotBase64 {
        /// Position of the entry, from 1.
        entry: usize,
        /// Number of entries in the list.
        count: usize,
    },
    /// One entry decodes to the wrong number of bytes.
    #[error(
        "entry {entry} of {count} in the Fernet key list decodes to {len} bytes; a Fernet key is \
         32 bytes of URL-safe base64 (make one with `vaultref fernet generate-key`)"
    )]
    WrongLength {
        /// Position of the entry, from 1.
        entry: usize,
        /// Number of entries in the list.
        count: usize,
        /// Number of bytes the entry decodes to.
        len: usize,
    },
}
