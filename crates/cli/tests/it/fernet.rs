//! `vaultref fernet …` against the command-line contract in DESIGN.md.

use crate::support::{Run, vaultref};

/// OpenMetadata's default `fernetKey`, standard alphabet with padding.
const OM_DEFAULT: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";
/// The same key, URL-safe and unpadded.
const OM_DEFAULT_URL_SAFE: &str = "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA";
/// The official vectors' key and token (plaintext "hello").
const VECTOR_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const VECTOR_TOKEN: &str = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

fn encrypt(keys: &str, plaintext: &[u8]) -> String {
    let out = vaultref(&["fernet", "encrypt"], &[("FERNET_KEY", keys)], plaintext).ok_text();
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    out
}

fn decrypt(keys: &str, token: &str) -> Run {
    vaultref(
        &["fernet", "decrypt"],
        &[("FERNET_KEY", keys)],
        token.as_bytes(),
    )
}

#[test]
fn generate_key_prints_a_fresh_usable_key() {
    let first = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
    let second = vaultref(&["fernet", "generate-key"], &[], b"").ok_text();
    assert_ne!(first, second);
    let key = first.strip_suffix('\n').expect("one line");
    assert_eq!(key.len(), 44);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b)),
        "{key}"
    );
    let token = encrypt(key, b"works");
    assert_eq!(decrypt(key, &token).stdout, b"works");
}

#[test]
fn round_trip_is_byte_exact_with_no_newline_added() {
    for plaintext in [
        &b""[..],
        b"s3cret",
        b"line\n",
        b"\x00\xff binary \r\n",
        &[b'a'; 5000],
    ] {
        let token = encrypt(OM_DEFAULT, plaintext);
        let out = decrypt(OM_DEFAULT, &token);
        out.assert_ok();
        assert_eq!(out.stdout, plaintext);
    }
}

#[test]
fn openmetadata_default_key_in_every_form() {
    let token = encrypt(OM_DEFAULT, b"pw");
    for form in [
        OM_DEFAULT,
        OM_DEFAULT_URL_SAFE,
        "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=",
    ] {
        assert_eq!(decrypt(form, &token).stdout, b"pw", "{form}");
        let out = vaultref(&["fernet", "decrypt", "--key", form], &[], token.as_bytes());
        assert_eq!(out.stdout, b"pw", "--key {form}");
    }
}

#[test]
fn key_flag_wins_over_the_environment() {
    let token = encrypt(VECTOR_KEY, b"flag");
    let out = vaultref(
        &["fernet", "decrypt", "--key", VECTOR_KEY],
        &[("FERNET_KEY", OM_DEFAULT)],
        token.as_bytes(),
    );
    assert_eq!(out.stdout, b"flag");
}

#[test]
fn token_input_forms() {
    let token = encrypt(OM_DEFAULT, b"value");
    let bare = token.trim_end();
    for input in [
        bare.to_owned(),
        format!("fernet:{bare}"),
        format!("  fernet:{bare} \r\n"),
        format!("{bare}\n\n"),
        bare.trim_end_matches('=').to_owned(),
    ] {
        let out = decrypt(OM_DEFAULT, &input);
        assert_eq!(out.stdout, b"value", "{input:?}: {}", out.stderr);
    }
}

#[test]
fn official_vector_token_decrypts() {
    // No TTL: the 1985 timestamp is fine, as in Python `cryptography`.
    assert_eq!(decrypt(VECTOR_KEY, VECTOR_TOKEN).stdout, b"hello");
    // With a TTL it is long expired.
    let out = vaultref(
        &["fernet", "decrypt", "--ttl", "60"],
        &[("FERNET_KEY", VECTOR_KEY)],
        VECTOR_TOKEN.as_bytes(),
    );
    out.assert_one_line_failure();
}

#[test]
fn invalid_tokens_fail_with_one_line_and_status_1() {
    let token = encrypt(OM_DEFAULT, b"value");
    let bare = token.trim_end();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"not a token\n".to_vec()),
        ("truncated", bare.as_bytes()[..bare.len() - 8].to_vec()),
        ("wrong key", VECTOR_TOKEN.as_bytes().to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, 0x80]),
        ("prefix only", b"fernet:".to_vec()),
        ("secret reference", b"secret:/openmetadata/x".to_vec()),
    ];
    for (what, input) in cases {
        for command in ["decrypt", "rotate"] {
            let out = vaultref(&["fernet", command], &[("FERNET_KEY", OM_DEFAULT)], &input);
            out.assert_one_line_failure();
            assert!(
                out.stderr.contains("invalid Fernet token"),
                "{what}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn bad_keys_name_the_entry_and_never_echo_it() {
    let short = "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IA";
    let cases = [
        (
            format!("{OM_DEFAULT},{short}"),
            "invalid FERNET_KEY: entry 2 of 2 in the Fernet key list decodes to 31 bytes",
        ),
        (
            format!("{OM_DEFAULT},,{OM_DEFAULT}"),
            "invalid FERNET_KEY: entry 2 of 3 in the Fernet key list is empty",
        ),
        (
            "no_encryption_at_rest".to_owned(),
            "invalid FERNET_KEY: entry 1 of 1 in the Fernet key list is not base64",
        ),
        (
            String::new(),
            "invalid FERNET_KEY: the Fernet key list is empty",
        ),
    ];
    for (keys, expected) in cases {
        let out = vaultref(&["fernet", "encrypt"], &[("FERNET_KEY", &keys)], b"x");
        out.assert_one_line_failure();
        assert!(out.stderr.contains(expected), "{keys:?}: {}", out.stderr);
        assert!(!out.stderr.contains("jJ"), "key echoed: {}", out.stderr);
    }
    let out = vaultref(&["fernet", "decrypt", "--key", short], &[], b"x");
    out.assert_one_line_failure();
    assert!(
        out.stderr.contains("invalid --key: entry 1 of 1"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(short));
}

#[test]
fn missing_key_says_where_to_put_one() {
    let out = vaultref(&["fernet", "encrypt"], &[], b"x");
    out.assert_one_line_failure();
    assert!(
        out.stderr.contains("--key") && out.stderr.contains("FERNET_KEY"),
        "{}",
        out.stderr
    );
}

#[test]
fn rotate_moves_a_token_to_the_first_key() {
    let legacy = encrypt(OM_DEFAULT, b"legacy");
    let both = format!("{VECTOR_KEY},{OM_DEFAULT}");
    // Old tokens still decrypt while both keys are configured.
    assert_eq!(decrypt(&both, &legacy).stdout, b"legacy");
    let rotated = vaultref(
        &["fernet", "rotate"],
        &[("FERNET_KEY", &both)],
        legacy.as_bytes(),
    )
    .ok_text();
    assert_eq!(decrypt(VECTOR_KEY, &rotated).stdout, b"legacy");
    decrypt(OM_DEFAULT, &rotated).assert_one_line_failure();
    // The envelope form is kept.
    let envelope = format!("fernet:{legacy}");
    let rotated = vaultref(
        &["fernet", "rotate"],
        &[("FERNET_KEY", &both)],
        envelope.as_bytes(),
    )
    .ok_text();
    assert!(rotated.starts_with("fernet:gAAAAA"), "{rotated}");
    assert_eq!(decrypt(VECTOR_KEY, &rotated).stdout, b"legacy");
}

#[test]
fn encrypt_with_a_key_list_uses_the_first_key() {
    let token = encrypt(&format!("{VECTOR_KEY},{OM_DEFAULT}"), b"new");
    assert_eq!(decrypt(VECTOR_KEY, &token).stdout, b"new");
    decrypt(OM_DEFAULT, &token).assert_one_line_failure();
}

#[test]
fn a_key_that_starts_with_a_dash_is_taken_by_key_and_never_echoed() {
    // URL-safe base64 keys start with '-' one time in 64 (`generate-key` makes them too).
    let dashed = "-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pg=";
    let out = vaultref(&["fernet", "encrypt", "--key", dashed], &[], b"dash");
    out.assert_ok();
    let token = String::from_utf8(out.stdout).expect("a token is text");
    assert_eq!(decrypt(dashed, &token).stdout, b"dash");
    // Not a valid key, but still a value of --key: its error does not repeat it.
    let bad = "-Pj4-not-a-key";
    let out = vaultref(&["fernet", "decrypt", "--key", bad], &[], b"x");
    out.assert_one_line_failure();
    assert!(!out.stderr.contains(bad), "key echoed: {}", out.stderr);
}
