//! `vaultref fernet generate-key | encrypt | decrypt [--ttl S] | rotate`.
//!
//! Input comes from stdin, output goes to stdout. Tokens and keys are printed with a trailing
//! newline (they are text, and shells expect one); decrypted plaintext is written byte for byte,
//! with nothing added. Token input may carry the `fernet:` prefix and surrounding whitespace.

use std::{
    io::{Read as _, Write as _},
    time::Duration,
};

use crate::context::Context;
use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use vaultref_fernet::{FERNET_PREFIX, InvalidToken, Key, KeyRing, Zeroizing, strip_prefix};

/// The environment variable OpenMetadata reads its `fernetKey` from.
const KEY_ENV: &str = "FERNET_KEY";

#[derive(Subcommand)]
pub(crate) enum FernetCommand {
    /// Print a new random key: 32 bytes as URL-safe base64.
    GenerateKey,
    /// Encrypt stdin (taken byte for byte) under the first key; print the token.
    Encrypt(KeyArgs),
    /// Decrypt the token on stdin (`fernet:` prefix optional); print the plaintext as is.
    Decrypt {
        #[command(flatten)]
        keys: KeyArgs,
        /// Reject tokens older than this many seconds (or more than 60 s in the future).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
    },
    /// Re-encrypt the token on stdin under the first key, keeping its timestamp.
    Rotate(KeyArgs),
}

#[derive(Args)]
pub(crate) struct KeyArgs {
    /// Key or comma-separated key list (the first encrypts, every one decrypts), standard or
    /// URL-safe base64, padded or not. Defaults to $FERNET_KEY, which keeps the key out of the
    /// process list.
    // URL-safe base64 keys may start with '-': without this clap takes such a key for an
    // option and refuses it, echoing part of it.
    #[arg(long, value_name = "KEYS", allow_hyphen_values = true)]
    key: Option<String>,
}

impl KeyArgs {
    /// The key ring from `--key`, else from `FERNET_KEY`; errors name the source, never the key.
    fn ring(self) -> Result<KeyRing> {
        let (text, source) = match self.key {
            Some(text) => (Zeroizing::new(text), "--key"),
            None => match std::env::var(KEY_ENV) {
                Ok(text) => (Zeroizing::new(text), KEY_ENV),
                Err(std::env::VarError::NotPresent) => {
                    return Err(anyhow!(
                        "no Fernet key: pass --key or set {KEY_ENV} (make a key with \
                         `vaultref fernet generate-key`)"
                    ));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(anyhow!(
                        "{KEY_ENV} is not valid UTF-8; it must hold base64 keys"
                    ));
                }
            },
        };
        KeyRing::parse(&text).with_context(|| format!("invalid {source}"))
    }
}

pub(crate) fn run(command: FernetCommand, ctx: &Context) -> Result<()> {
    // `--output json`: one document, `{"key": ...}`, `{"token": ...}` or `{"plaintext": ...}`.
    let print = |field: &str, text: &[u8]| -> Result<()> {
        if ctx.json() {
            let text = std::str::from_utf8(text)
                .map_err(|_| anyhow!("the {field} is not UTF-8 text: use --output text"))?;
            crate::output::json_line(&serde_json::json!({ field: text }))
        } else {
            write_line(text)
        }
    };
    match command {
        FernetCommand::GenerateKey => {
            let key = Key::generate().to_base64();
            print("key", key.as_bytes())
        }
        FernetCommand::Encrypt(keys) => {
            let ring = keys.ring()?;
            let plaintext = read_stdin()?;
            print("token", ring.encrypt(&plaintext).as_bytes())
        }
        FernetCommand::Decrypt { keys, ttl } => {
            let ring = keys.ring()?;
            let input = read_stdin()?;
            let token = token_text(&input)?;
            let plaintext = match ttl {
                Some(seconds) => {
                    ring.decrypt_with_ttl(strip_prefix(token), Duration::from_secs(seconds))
                }
                None => ring.decrypt(strip_prefix(token)),
            }
            .context("cannot decrypt the token on stdin")?;
            if ctx.json() {
                let text = std::str::from_utf8(&plaintext)
                    .map_err(|_| anyhow!("the plaintext is not UTF-8 text: use --output text"))?;
                return crate::output::json_line(&serde_json::json!({ "plaintext": text }));
            }
            write_stdout(&plaintext)
        }
        FernetCommand::Rotate(keys) => {
            let ring = keys.ring()?;
            let input = read_stdin()?;
            let token = token_text(&input)?;
            let rotated = ring
                .rotate(strip_prefix(token))
                .context("cannot rotate the token on stdin")?;
            // Keep the envelope form the caller used.
            let prefix = if token.starts_with(FERNET_PREFIX) {
                FERNET_PREFIX
            } else {
                ""
            };
            print("token", format!("{prefix}{rotated}").as_bytes())
        }
    }
}

/// The token text on stdin, without surrounding whitespace (a trailing newline is normal).
fn token_text(input: &[u8]) -> Result<&str> {
    let text = std::str::from_utf8(input)
        .map_err(|_| InvalidToken)
        .context("cannot read the token on stdin")?;
    Ok(text.trim())
}

fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    let mut input = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .context("cannot read stdin")?;
    Ok(input)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

fn write_line(text: &[u8]) -> Result<()> {
    let mut line = Zeroizing::new(Vec::with_capacity(text.len() + 1));
    line.extend_from_slice(text);
    line.push(b'\n');
    write_stdout(&line)
}
