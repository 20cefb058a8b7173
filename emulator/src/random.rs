//! Injected randomness: ids, secrets and keys come from the OS, or from a seed for reproducible runs.

/// Where random bytes come from.
#[derive(Debug)]
pub(crate) struct Random {
    seeded: Option<u64>,
}

impl Random {
    /// OS randomness, or a deterministic SplitMix64 stream when `seed` is given.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Self { seeded: seed }
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        if let Some(state) = self.seeded.as_mut() {
            for chunk in buf.chunks_mut(8) {
                let word = split_mix(state).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            return;
        }
        if getrandom::fill(buf).is_err() {
            // The OS refused; fall back to a time-seeded stream rather than failing a request.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let mut state = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
            for chunk in buf.chunks_mut(8) {
                let word = split_mix(&mut state).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// 32 lowercase hex characters, the shape of a Key Vault version id.
    pub(crate) fn hex32(&mut self) -> String {
        hex(&self.bytes::<16>())
    }

    /// A random (version 4) GUID in its usual 8-4-4-4-12 form.
    pub(crate) fn guid(&mut self) -> String {
        let mut b = self.bytes::<16>();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A client-secret-like string of 40 URL-safe characters.
    pub(crate) fn secret(&mut self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.bytes::<30>())
    }
}

fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_repeat_and_ids_have_their_shapes() {
        let mut a = Random::new(Some(7));
        let mut b = Random::new(Some(7));
        let version = a.hex32();
        assert_eq!(version, b.hex32());
        assert_eq!(version.len(), 32);
        assert!(
            version
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let guid = a.guid();
        assert_eq!(guid.len(), 36);
        assert_eq!(&guid[14..15], "4");
        assert_eq!(a.secret().len(), 40);
    }

    #[test]
    fn os_randomness_differs_between_calls() {
        let mut r = Random::new(None);
        assert_ne!(r.hex32(), r.hex32());
    }
}
