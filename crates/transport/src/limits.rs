//! Bounded reads: every file and body vaultref reads has a size cap, so hostile or mistaken
//! input (`--config /dev/zero`, a huge response) fails fast with a clear error.

use std::{
    fmt,
    io::{self, Read},
    path::Path,
};

use zeroize::{Zeroize, Zeroizing};

/// Input over its size cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// The cap, in bytes.
    pub limit: u64,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "it is larger than {}, the most accepted",
            describe_size(self.limit)
        )
    }
}

impl std::error::Error for TooLarge {}

/// `4 MiB`, `512 KiB`, `100 bytes`.
#[must_use]
pub fn describe_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Everything `reader` holds, when it is at most `limit` bytes.
///
/// # Errors
///
/// The reader's own errors; more than `limit` bytes is an error of kind
/// [`io::ErrorKind::FileTooLarge`] whose source is [`TooLarge`] (only `limit + 1` bytes are
/// read to find out).
pub fn read_to_end_limited(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buffer)?;
    if buffer.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            TooLarge { limit },
        ));
    }
    Ok(buffer)
}

/// The file at `path`, when it holds at most `limit` bytes.
///
/// # Errors
///
/// As [`read_to_end_limited`], plus the errors of opening the file.
pub fn read_file_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_to_end_limited(std::fs::File::open(path)?, limit)
}

/// Why a response body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is over the cap (by its `Content-Length`, or as it arrived).
    TooLarge(TooLarge),
    /// The connection failed while the body arrived.
    Transport(reqwest::Error),
}

/// The whole body of `response` in zeroizing memory, when it is at most `limit` bytes;
/// reqwest's chunks are wiped when they are ours alone.
///
/// # Errors
///
/// [`BodyError::TooLarge`] as soon as the body is known to be over the cap (nothing more is
/// read), [`BodyError::Transport`] when the connection fails.
pub async fn read_body_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>, BodyError> {
    let too_large = BodyError::TooLarge(TooLarge { limit });
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large);
        }
        // Reserve up front so the buffer never reallocates and leaves a copy behind.
        if body.capacity() < body.len() + chunk.len() {
            let wanted = (body.len() + chunk.len()).max(body.capacity() * 2);
            let mut bigger = Zeroizing::new(Vec::with_capacity(wanted));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
        if let Ok(mut owned) = chunk.try_into_mut() {
            owned.as_mut().zeroize();
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_refuses_beyond() {
        assert_eq!(read_to_end_limited(&b"abcd"[..], 4).unwrap(), b"abcd");
        let err = read_to_end_limited(&b"abcde"[..], 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "it is larger than 4 bytes, the most accepted"
        );
        // An endless source is read only to one byte past the cap.
        let err = read_to_end_limited(io::repeat(0), 1024 * 1024).unwrap_err();
        assert!(err.to_string().contains("1 MiB"), "{err}");
        assert_eq!(describe_size(512 * 1024), "512 KiB");
    }
}
