//! Bounded reads of what commands take from files and stdin: no input is read without a cap,
//! so a wrong path (`/dev/zero`) or a runaway producer fails fast with a clear error.

use std::{
    io::{self, BufRead, Read},
    path::Path,
};

use anyhow::{Context as _, Result, anyhow};
use vaultref_fernet::Zeroizing;
use vaultref_transport::{describe_size, read_to_end_limited};

/// The largest document `resolve` reads.
pub(crate) const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
/// The longest entity line `entities import` reads (OpenMetadata documents are rarely over a
/// few hundred KiB).
pub(crate) const MAX_ENTITY_LINE_BYTES: u64 = 16 * 1024 * 1024;
/// The largest secret value `secret set` reads (Key Vault itself takes at most 25 KiB).
pub(crate) const MAX_SECRET_VALUE_BYTES: u64 = 1024 * 1024;

/// All of `path` (`-` for stdin) into zeroizing memory, when it is at most `limit` bytes;
/// `what` names the input in errors.
pub(crate) fn read_all(path: &Path, limit: u64, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (reader, name): (Box<dyn Read>, String) = if path.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), "stdin".to_owned())
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        (Box::new(file), path.display().to_string())
    };
    read_limited(reader, limit, what, &name)
}

/// All of `reader` into zeroizing memory, when it is at most `limit` bytes.
pub(crate) fn read_limited(
    reader: impl Read,
    limit: u64,
    what: &str,
    name: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    match read_to_end_limited(reader, limit) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => Err(anyhow!(
            "{name} is larger than {}, the most {what} may hold: is this the right input?",
            describe_size(limit)
        )),
        Err(e) => Err(e).with_context(|| format!("cannot read {name}")),
    }
}

/// One line of input, without its `\n`.
pub(crate) enum Line {
    /// The line's bytes.
    Bytes(Zeroizing<Vec<u8>>),
    /// The line is longer than the cap; it was skipped, not kept.
    TooLong,
}

/// The lines of `reader`, each read with a cap: a longer line is reported as
/// [`Line::TooLong`] and skipped to its end without being held in memory.
pub(crate) struct BoundedLines<R> {
    reader: R,
    limit: u64,
}

impl<R: BufRead> BoundedLines<R> {
    pub(crate) fn new(reader: R, limit: u64) -> Self {
        Self { reader, limit }
    }

    /// Consumes input up to and including the next `\n`.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                return Ok(());
            }
            if let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                self.reader.consume(end + 1);
                return Ok(());
            }
            let all = buffer.len();
            self.reader.consume(all);
        }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Zeroizing::new(Vec::new());
        let read = (&mut self.reader)
            .take(self.limit.saturating_add(1))
            .read_until(b'\n', &mut line);
        match read {
            Err(e) => Some(Err(e)),
            Ok(0) => None,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                    Some(Ok(Line::Bytes(line)))
                } else if line.len() as u64 > self.limit {
                    Some(self.skip_line().map(|()| Line::TooLong))
                } else {
                    // The last line, without a final newline.
                    Some(Ok(Line::Bytes(line)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: u64) -> Vec<Option<String>> {
        BoundedLines::new(input, limit)
            .map(|line| match line.unwrap() {
                Line::Bytes(bytes) => Some(String::from_utf8(bytes.to_vec()).unwrap()),
                Line::TooLong => None,
            })
            .collect()
    }

    #[test]
    fn long_lines_are_skipped_alone() {
        assert_eq!(
            lines(b"ab\n0123456789\ncd\n\nlast", 5),
            [
                Some("ab".to_owned()),
                None,
                Some("cd".to_owned()),
                Some(String::new()),
                Some("last".to_owned())
            ]
        );
        // A line of exactly the cap fits, with or without its newline.
        assert_eq!(
            lines(b"12345\n12345", 5),
            [Some("12345".into()), Some("12345".into())]
        );
        assert_eq!(lines(b"123456", 5), [None]);
    }

    #[test]
    fn whole_inputs_are_capped() {
        let err = read_limited(io::repeat(b'x'), 1024, "a document", "stdin").unwrap_err();
        assert_eq!(
            err.to_string(),
            "stdin is larger than 1 KiB, the most a document may hold: is this the right input?"
        );
    }
}
