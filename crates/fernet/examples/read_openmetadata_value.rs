//! Reading the `fernet:` values OpenMetadata keeps in its database, with only vaultref-fernet.
//!
//! ```text
//! FERNET_KEY='new-key,old-key' cargo run -p vaultref-fernet --example read_openmetadata_value -- 'fernet:gAAAAA...'
//! ```
//!
//! `FERNET_KEY` is the server's `fernetConfiguration.fernetKey` (a comma-separated list during
//! a key rotation; every key is tried). Without arguments, the example encrypts a value under a
//! fresh key the way OpenMetadata does and reads it back. A decrypted value is a secret: the
//! example prints what kind of value it is and its length, never the value itself.

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use vaultref_fernet::{Key, KeyRing, is_tokenized};

fn main() -> ExitCode {
    let (ring, values) = match std::env::var("FERNET_KEY") {
        Ok(keys) => match KeyRing::parse(&keys) {
            Ok(ring) => (ring, std::env::args().skip(1).collect::<Vec<_>>()),
            // The error names which entry of the list is wrong, never its text.
            Err(e) => {
                eprintln!("FERNET_KEY: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => {
            // A demonstration: what OpenMetadata writes for a password in `db` mode, and for
            // a reference in managed mode.
            let ring = KeyRing::from(Key::generate());
            let stored = vec![
                ring.encrypt_if_not_tokenized("s3cret"),
                ring.encrypt_if_not_tokenized("secret:openmetadata-database-mysql-password"),
                "not encrypted".to_owned(),
            ];
            (ring, stored)
        }
    };

    let mut failed = false;
    for (i, value) in values.iter().enumerate() {
        let kind = if is_tokenized(value) {
            "fernet token"
        } else {
            "plain value"
        };
        match ring.decrypt_if_tokenized(value) {
            Ok(plain) if plain.starts_with("secret:") => {
                // A reference names a vault secret; the name itself is not secret.
                println!("value {i}: {kind} of the reference {}", plain.as_str());
            }
            Ok(plain) => println!("value {i}: {kind} of {} characters", plain.chars().count()),
            // One opaque error for every failure: wrong key, tampered or truncated token.
            Err(e) => {
                eprintln!("value {i}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
