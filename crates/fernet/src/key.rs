use std::{fmt, str::FromStr};

use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use zeroize::Zeroizing;

use crate::{KeyError, iv::os_random, token::TOKEN_ENGINE};

/// Decodes a key once it has been normalised to the URL-safe alphabet without `=`.
/// Non-canonical trailing bits are accepted, as Python's and Java's decoders do.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// One Fernet key: 16 bytes that key the HMAC, then 16 bytes that key AES-128.
///
/// The bytes are wiped on drop and `Debug` prints `Key(<redacted>)`.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; Key::LEN]>,
}

impl Key {
    /// Length of a decoded key in bytes.
    pub const LEN: usize = 32;

    /// A new random key from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails (see
    /// [`OsIvSource`](crate::OsIvSource)).
    #[must_use]
    pub fn generate() -> Key {
        let mut bytes = Zeroizing::new([0u8; Key::LEN]);
        os_random(bytes.as_mut_slice());
        Key { bytes }
    }

    /// A key from its 32 raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; Key::LEN]) -> Key {
        Key {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Parses one key in any form OpenMetadata's `fernetKey` accepts: standard (`+/`) or
    /// URL-safe (`-_`) base64, with or without `=` padding. Surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the text is empty, not base64, or not 32 bytes once decoded.
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        parse_entry(text, 1, 1)
    }

    /// The key as Fernet's canonical text: URL-safe base64 with padding (44 characters), the
    /// form `vaultref fernet generate-key` prints and every implementation reads.
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(TOKEN_ENGINE.encode(self.bytes.as_slice()))
    }

    /// The first half of the key: it keys HMAC-SHA256.
    pub(crate) fn signing_key(&self) -> &[u8] {
        &self.bytes[..16]
    }

    /// The second half of the key: it keys AES-128-CBC.
    pub(crate) fn encryption_key(&self) -> [u8; 16] {
        let mut key = [0u8; 16];
        key.copy_from_slice(&self.bytes[16..]);
        key
    }
}

impl FromStr for Key {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Key, KeyError> {
        Key::parse(text)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Parses a comma-separated key list, in order. Entries are numbered from 1 in errors.
pub(crate) fn parse_list(text: &str) -> Result<Vec<Key>, KeyError> {
    if text.trim().is_empty() {
        return Err(KeyError::Empty);
    }
    let count = text.split(',').count();
    text.split(',')
        .enumerate()
        .map(|(index, entry)| parse_entry(entry, index + 1, count))
        .collect()
}

/// OpenMetadata's normalisation (`/`→`_`, `+`→`-`, every `=` removed), then a strict decode.
fn parse_entry(entry: &str, position: usize, count: usize) -> Result<Key, KeyError> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err(KeyError::EmptyEntry {
            entry: position,
            count,
        });
    }
    let normalised: Zeroizing<Vec<u8>> = Zeroizing::new(
        entry
            .bytes()
            .filter(|&byte| byte != b'=')
            .map(|byte| match byte {
                b'+' => b'-',
                b'/' => b'_',
                other => other,
            })
            .collect(),
    );
    let decoded = Zeroizing::new(KEY_ENGINE.decode(normalised.as_slice()).map_err(|_| {
        KeyError::NotBase64 {
            entry: position,
            count,
        }
    })?);
    let bytes: [u8; Key::LEN] =
        decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength {
                entry: position,
                count,
                len: decoded.len(),
            })?;
    Ok(Key::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenMetadata's default `fernetKey`.
    const OM_DEFAULT: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

    fn check_same_key(forms: &[&str]) {
        let canonical = Key::parse(forms[0]).unwrap().to_base64();
        for form in forms {
            let key = Key::parse(form).unwrap_or_else(|err| panic!("{form:?}: {err}"));
            assert_eq!(key.to_base64(), canonical, "{form:?}");
        }
    }

    #[test]
    fn openmetadata_default_key_in_every_form() {
        check_same_key(&[
            OM_DEFAULT,
            "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA",
            "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=",
            "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA",
            " jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\n",
        ]);
        assert_eq!(
            Key::parse(OM_DEFAULT).unwrap().to_base64().as_str(),
            "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA="
        );
    }

    #[test]
    fn generated_keys_round_trip_through_text() {
        let key = Key::generate();
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        assert_eq!(Key::parse(&text).unwrap().to_base64(), text);
    }

    #[test]
    fn list_errors_name_the_entry_and_never_the_key() {
        let short = "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IA"; // 31 bytes
        let cases: &[(&str, KeyError)] = &[
            ("", KeyError::Empty),
            (" \n", KeyError::Empty),
            (
                &format!("{OM_DEFAULT},{short}"),
                KeyError::WrongLength {
                    entry: 2,
                    count: 2,
                    len: 31,
                },
            ),
            (
                &format!("{OM_DEFAULT},,{OM_DEFAULT}"),
                KeyError::EmptyEntry { entry: 2, count: 3 },
            ),
            (
                &format!("{OM_DEFAULT},{OM_DEFAULT},jJ*9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA"),
                KeyError::NotBase64 { entry: 3, count: 3 },
            ),
            (
                "no_encryption_at_rest",
                KeyError::NotBase64 { entry: 1, count: 1 },
            ),
        ];
        for (text, expected) in cases {
            let err = parse_list(text).unwrap_err();
            assert_eq!(&err, expected, "{text:?}");
            let message = err.to_string();
            assert!(!message.contains("jJ"), "key echoed in {message:?}");
        }
        assert_eq!(
            KeyError::WrongLength {
                entry: 2,
                count: 2,
                len: 31
            }
            .to_string(),
            "entry 2 of 2 in the Fernet key list decodes to 31 bytes; a Fernet key is 32 bytes \
             of URL-safe base64 (make one with `vaultref fernet generate-key`)"
        );
    }

    #[test]
    fn list_keeps_order() {
        let (first, second) = (Key::generate(), Key::generate());
        let text = format!(
            "{},{}",
            first.to_base64().as_str(),
            second.to_base64().as_str()
        );
        let keys = parse_list(&text).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].to_base64(), first.to_base64());
        assert_eq!(keys[1].to_base64(), second.to_base64());
    }

    #[test]
    fn debug_redacts() {
        let key = Key::parse(OM_DEFAULT).unwrap();
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
    }
}
