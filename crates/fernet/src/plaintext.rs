use std::{fmt, ops::Deref};

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A decrypted message. Its bytes are wiped when it is dropped; `Debug` shows only the length.
///
/// Not a `Zeroizing<Vec<u8>>`: `zeroize` wipes a `Vec` one volatile byte write at a time, which
/// cost 10–25 % of a 64 KiB decrypt in the benches. This type wipes the whole allocation with
/// one `memset` behind an optimisation barrier (`zeroize`'s slice path).
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext {
    bytes: Vec<u8>,
}

impl Plaintext {
    pub(crate) fn new(bytes: Vec<u8>) -> Plaintext {
        Plaintext { bytes }
    }

    /// The message.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The message as a standard zeroizing vector (its wipe on drop is the slower byte loop).
    #[must_use]
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut self.bytes))
    }

    /// The message as UTF-8 text, or the bytes back if they are not.
    pub(crate) fn into_string(mut self) -> Result<Zeroizing<String>, Plaintext> {
        String::from_utf8(std::mem::take(&mut self.bytes))
            .map(Zeroizing::new)
            .map_err(|err| Plaintext::new(err.into_bytes()))
    }
}

/// Wipes every byte of `bytes`' allocation (contents and spare capacity), then empties it.
pub(crate) fn wipe(bytes: &mut Vec<u8>) {
    bytes.as_mut_slice().zeroize();
    bytes.spare_capacity_mut().zeroize();
    bytes.clear();
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        wipe(&mut self.bytes);
    }
}

impl ZeroizeOnDrop for Plaintext {}

impl Deref for Plaintext {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Plaintext {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext(<{} bytes redacted>)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_length() {
        let plaintext = Plaintext::new(b"hunter2".to_vec());
        assert_eq!(format!("{plaintext:?}"), "Plaintext(<7 bytes redacted>)");
        assert_eq!(plaintext.as_slice(), b"hunter2");
        assert_eq!(&*plaintext.clone().into_zeroizing(), b"hunter2");
    }
}
