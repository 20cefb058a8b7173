//! The token layout: `0x80 ‖ timestamp (u64 BE) ‖ IV (16) ‖ AES-128-CBC ciphertext ‖ HMAC (32)`,
//! URL-safe base64. Everything here works on the raw bytes, decoded once.

use aes::{
    Aes128,
    cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, block_padding::Pkcs7},
};
use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::{InvalidToken, Key, Plaintext, plaintext::wipe};

const VERSION: u8 = 0x80;
const HEADER_LEN: usize = 1 + 8 + 16;
const TAG_LEN: usize = 32;
const BLOCK_LEN: usize = 16;
/// Header, one block of ciphertext (an empty message still pads to one block) and the tag.
const MIN_LEN: usize = HEADER_LEN + BLOCK_LEN + TAG_LEN;

/// URL-safe alphabet; emits padding, accepts tokens with or without it, requires canonical
/// trailing bits and rejects anything outside the alphabet (whitespace included).
pub(crate) const TOKEN_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key made ready for use: the keyed HMAC state and the AES key schedule are computed once
/// and cloned per token (both wipe themselves on drop).
#[derive(Clone)]
pub(crate) struct PreparedKey {
    mac: Hmac<Sha256>,
    cipher: Aes128,
}

impl PreparedKey {
    pub(crate) fn new(key: &Key) -> PreparedKey {
        let mac = Hmac::<Sha256>::new_from_slice(key.signing_key())
            .expect("HMAC accepts keys of any length");
        let encryption_key = Zeroizing::new(key.encryption_key());
        let cipher = Aes128::new(&(*encryption_key).into());
        PreparedKey { mac, cipher }
    }

    /// A complete token (base64 text) for `plaintext` at `timestamp` with `iv`.
    pub(crate) fn seal(&self, plaintext: &[u8], timestamp: u64, iv: &[u8; 16]) -> String {
        let padded_len = (plaintext.len() / BLOCK_LEN + 1) * BLOCK_LEN;
        let body_len = HEADER_LEN + padded_len;
        let mut raw = vec![0u8; body_len + TAG_LEN];
        raw[0] = VERSION;
        raw[1..9].copy_from_slice(&timestamp.to_be_bytes());
        raw[9..HEADER_LEN].copy_from_slice(iv);
        let body = &mut raw[HEADER_LEN..body_len];
        body[..plaintext.len()].copy_from_slice(plaintext);
        // In place: the plaintext copy is overwritten by its ciphertext.
        let encrypted = cbc::Encryptor::<Aes128>::inner_iv_init(self.cipher.clone(), iv.into())
            .encrypt_padded::<Pkcs7>(body, plaintext.len());
        debug_assert!(matches!(encrypted, Ok(ct) if ct.len() == padded_len));
        let mut mac = self.mac.clone();
        mac.update(&raw[..body_len]);
        raw[body_len..].copy_from_slice(&mac.finalize().into_bytes());
        TOKEN_ENGINE.encode(&raw)
    }

    /// Whether this key's HMAC matches, compared in constant time.
    fn authenticates(&self, token: &RawToken) -> bool {
        let (signed, tag) = token.bytes.split_at(token.bytes.len() - TAG_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        tags_equal(&mac.finalize().into_bytes(), tag)
    }
}

/// Compares two 32-byte tags in constant time, eight bytes per `subtle` comparison (its slice
/// comparison pays one optimisation barrier per byte, which showed in profiles).
fn tags_equal(computed: &[u8], received: &[u8]) -> bool {
    debug_assert_eq!((computed.len(), received.len()), (TAG_LEN, TAG_LEN));
    let word = |bytes: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        u64::from_ne_bytes(word)
    };
    let mut equal = Choice::from(1);
    for (a, b) in computed.chunks_exact(8).zip(received.chunks_exact(8)) {
        equal &= word(a).ct_eq(&word(b));
    }
    equal.into()
}

/// A decoded token whose layout (version, minimum length, whole blocks) has been checked,
/// but not yet its HMAC. Wiped on drop: after a failed unpadding it may hold plaintext.
pub(crate) struct RawToken {
    bytes: Vec<u8>,
}

impl Drop for RawToken {
    fn drop(&mut self) {
        wipe(&mut self.bytes);
    }
}

impl RawToken {
    /// Decodes the base64 once, into one allocation, and checks the layout before any crypto.
    pub(crate) fn decode(text: &str) -> Result<RawToken, InvalidToken> {
        let mut token = RawToken {
            bytes: Vec::with_capacity(text.len() / 4 * 3 + 3),
        };
        TOKEN_ENGINE
            .decode_vec(text, &mut token.bytes)
            .map_err(|_| InvalidToken)?;
        let len = token.bytes.len();
        if len < MIN_LEN
            || !(len - HEADER_LEN - TAG_LEN).is_multiple_of(BLOCK_LEN)
            || token.bytes[0] != VERSION
        {
            return Err(InvalidToken);
        }
        Ok(token)
    }

    /// The creation time written in the token (not authenticated until [`Self::authenticate`]).
    pub(crate) fn timestamp(&self) -> u64 {
        let mut be = [0u8; 8];
        be.copy_from_slice(&self.bytes[1..9]);
        u64::from_be_bytes(be)
    }

    /// The first key whose HMAC matches, trying them in order.
    pub(crate) fn authenticate<'k>(&self, keys: &'k [PreparedKey]) -> Option<&'k PreparedKey> {
        keys.iter().find(|key| key.authenticates(self))
    }

    /// Decrypts in place and returns the plaintext in the same allocation. Call only with the
    /// key that [`Self::authenticate`] returned.
    pub(crate) fn open(mut self, key: &PreparedKey) -> Result<Plaintext, InvalidToken> {
        let body_end = self.bytes.len() - TAG_LEN;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.bytes[9..HEADER_LEN]);
        let plaintext_len =
            cbc::Decryptor::<Aes128>::inner_iv_init(key.cipher.clone(), (&iv).into())
                .decrypt_padded::<Pkcs7>(&mut self.bytes[HEADER_LEN..body_end])
                .map_err(|_| InvalidToken)?
                .len();
        self.bytes
            .copy_within(HEADER_LEN..HEADER_LEN + plaintext_len, 0);
        // Wipe the tail (old plaintext copy, padding, tag) before handing the buffer over.
        self.bytes[plaintext_len..].zeroize();
        self.bytes.truncate(plaintext_len);
        Ok(Plaintext::new(std::mem::take(&mut self.bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sizes_follow_the_spec() {
        let key = PreparedKey::new(&Key::generate());
        // raw = 57 + 16·(⌊L/16⌋+1), text = 4·⌈raw/3⌉
        for (len, raw_len, text_len) in [(0, 73, 100), (5, 73, 100), (15, 73, 100), (16, 89, 120)] {
            let token = key.seal(&vec![b'x'; len], 0, &[0; 16]);
            assert_eq!(token.len(), text_len, "plaintext of {len} bytes");
            let raw = RawToken::decode(&token).unwrap();
            assert_eq!(raw.bytes.len(), raw_len);
        }
    }

    #[test]
    fn layout_is_checked_before_crypto() {
        let key = PreparedKey::new(&Key::generate());
        let token = key.seal(b"hello", 7, &[1; 16]);
        let mut raw = TOKEN_ENGINE.decode(&token).unwrap();
        let check = |bytes: &[u8]| RawToken::decode(&TOKEN_ENGINE.encode(bytes)).is_err();
        assert!(!check(&raw));
        assert!(check(&raw[..MIN_LEN - 1]), "too short");
        assert!(check(&raw[..raw.len() - 1]), "not whole blocks");
        raw[0] = 0x81;
        assert!(check(&raw), "unknown version");
    }

    #[test]
    fn base64_policy() {
        let key = PreparedKey::new(&Key::generate());
        let token = key.seal(b"hello", 7, &[1; 16]);
        assert!(token.ends_with('='), "emits padding");
        let accepted = |text: &str| RawToken::decode(text).is_ok();
        assert!(accepted(&token));
        assert!(accepted(token.trim_end_matches('=')), "unpadded");
        assert!(!accepted(&format!("{token}=")), "extra padding");
        assert!(
            !accepted(&format!("{token}\n")),
            "whitespace (the CLI trims it)"
        );
        assert!(!accepted(&format!(" {token}")), "whitespace");
        // "hello" pads to 73 raw bytes: the last quad holds one byte and four unused bits.
        let (body, padding) = token.split_at(token.len() - 2);
        assert_eq!(padding, "==");
        let (head, last) = body.split_at(body.len() - 1);
        let last = alphabet::URL_SAFE.as_str().find(last).unwrap();
        assert_eq!(
            last % 16,
            0,
            "canonical encoding leaves the unused bits at zero"
        );
        let dirty = alphabet::URL_SAFE.as_str().as_bytes()[last + 1] as char;
        assert!(
            !accepted(&format!("{head}{dirty}==")),
            "non-canonical trailing bits"
        );
        let standard = token.replace('-', "+").replace('_', "/");
        if standard != token {
            assert!(!accepted(&standard), "standard alphabet");
        }
    }
}
