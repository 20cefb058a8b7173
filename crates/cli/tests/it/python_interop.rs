//! Interop with Python `cryptography`, both ways, through the `vaultref` binary and
//! `tests/data/fernet_interop.py` run by `VAULTREF_PYTHON`.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::support::{Run, data, python, run, vaultref};

const NEW: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
/// OpenMetadata's default key, in the standard alphabet as OpenMetadata writes it.
const OLD: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

fn py(python: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let script = data("fernet_interop.py");
    let mut full = vec![script.to_str().expect("UTF-8 path")];
    full.extend_from_slice(args);
    run(python, &full, &[], stdin)
}

fn payloads() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"s3cret".to_vec(),
        "pässwörd ✓ with a newline\n".as_bytes().to_vec(),
        (0..=255).collect(),
        (0..70_000u32).map(|i| (i % 251) as u8).collect(),
    ]
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
fn python_tokens_decrypt_with_vaultref() {
    let Some(python) = python(&["cryptography"]) else {
        return;
    };
    for payload in payloads() {
        let token = py(&python, &["encrypt", "--key", NEW], &payload);
        token.assert_ok();
        let out = vaultref(
            &["fernet", "decrypt"],
            &[("FERNET_KEY", NEW)],
            &token.stdout,
        );
        out.assert_ok();
        assert_eq!(out.stdout, payload);
    }
}

#[test]
fn vaultref_tokens_decrypt_with_python() {
    let Some(python) = python(&["cryptography"]) else {
        return;
    };
    for payload in payloads() {
        let token = vaultref(&["fernet", "encrypt"], &[("FERNET_KEY", NEW)], &payload);
        token.assert_ok();
        let out = py(&python, &["decrypt", "--key", NEW], &token.stdout);
        out.assert_ok();
        assert_eq!(out.stdout, payload);
    }
}

#[test]
fn key_rotation_new_old() {
    let Some(python) = python(&["cryptography"]) else {
        return;
    };
    let old_python_form = OLD.replace('/', "_").replace('+', "-");
    let both = format!("{NEW},{OLD}");
    let created = now() - 3_600;
    let at = created.to_string();
    let legacy = py(
        &python,
        &["encrypt", "--key", &old_python_form, "--at", &at],
        b"db-password",
    );
    legacy.assert_ok();

    // vaultref reads the old token while both keys are configured…
    let out = vaultref(
        &["fernet", "decrypt"],
        &[("FERNET_KEY", &both)],
        &legacy.stdout,
    );
    assert_eq!(out.stdout, b"db-password", "{}", out.stderr);
    // …rotates it to the new key, keeping the timestamp…
    let rotated = vaultref(
        &["fernet", "rotate"],
        &[("FERNET_KEY", &both)],
        &legacy.stdout,
    );
    rotated.assert_ok();
    assert_eq!(
        py(&python, &["decrypt", "--key", NEW], &rotated.stdout).stdout,
        b"db-password"
    );
    assert_eq!(
        py(&python, &["timestamp", "--key", NEW], &rotated.stdout).ok_text(),
        at
    );
    py(
        &python,
        &["decrypt", "--key", &old_python_form],
        &rotated.stdout,
    )
    .assert_one_line_failure();

    // …and new tokens are made with the new key only.
    let fresh = vaultref(&["fernet", "encrypt"], &[("FERNET_KEY", &both)], b"fresh");
    assert_eq!(
        py(&python, &["decrypt", "--key", NEW], &fresh.stdout).stdout,
        b"fresh"
    );
    py(
        &python,
        &["decrypt", "--key", &old_python_form],
        &fresh.stdout,
    )
    .assert_one_line_failure();

    // Python's MultiFernet.rotate output reads in vaultref with the new key alone.
    let python_rotated = py(
        &python,
        &["rotate", "--key", &format!("{NEW},{old_python_form}")],
        &legacy.stdout,
    );
    let out = vaultref(
        &["fernet", "decrypt"],
        &[("FERNET_KEY", NEW)],
        &python_rotated.stdout,
    );
    assert_eq!(out.stdout, b"db-password", "{}", out.stderr);
}

/// Tokens stamped far in the past and the future, with TTLs chosen far from the boundary, so
/// the outcome does not depend on how long the test takes.
#[test]
fn ttl_and_skew_agree_with_python() {
    let Some(python) = python(&["cryptography"]) else {
        return;
    };
    let now = now();
    // (token timestamp, ttl, accepted)
    let cases: [(u64, Option<u64>, bool); 6] = [
        (now - 1_000, None, true),
        (now - 1_000, Some(500), false),
        (now - 1_000, Some(100_000), true),
        (now + 3_600, None, true), // no TTL, no skew check (Python's rule)
        (now + 3_600, Some(60), false),
        (now + 3_600, Some(100_000), false), // too far in the future, whatever the TTL
    ];
    for (timestamp, ttl, accepted) in cases {
        let token = py(
            &python,
            &["encrypt", "--key", NEW, "--at", &timestamp.to_string()],
            b"t",
        );
        token.assert_ok();
        let ttl_text = ttl.map(|ttl| ttl.to_string());
        let mut vaultref_args = vec!["fernet", "decrypt"];
        let mut python_args = vec!["decrypt", "--key", NEW];
        if let Some(ttl) = &ttl_text {
            vaultref_args.extend(["--ttl", ttl]);
            python_args.extend(["--ttl", ttl]);
        }
        let ours = vaultref(&vaultref_args, &[("FERNET_KEY", NEW)], &token.stdout);
        let theirs = py(&python, &python_args, &token.stdout);
        let what = format!(
            "timestamp now{:+} ttl {ttl:?}",
            i128::from(timestamp) - i128::from(now)
        );
        assert_eq!(theirs.code == Some(0), accepted, "python, {what}");
        if accepted {
            assert_eq!(ours.stdout, b"t", "vaultref, {what}: {}", ours.stderr);
        } else {
            ours.assert_one_line_failure();
        }
    }
}

/// The exact boundaries, on a vaultref token, with Python's clock pinned: valid at ts+ttl and
/// at ts-60, invalid one second beyond. vaultref's own side of the same rule is pinned by the
/// unit tests of `vaultref-fernet` with an injected clock.
#[test]
fn vaultref_token_boundaries_in_python() {
    let Some(python) = python(&["cryptography"]) else {
        return;
    };
    let token = vaultref(&["fernet", "encrypt"], &[("FERNET_KEY", NEW)], b"edge");
    token.assert_ok();
    let stamp: u64 = py(&python, &["timestamp", "--key", NEW], &token.stdout)
        .ok_text()
        .parse()
        .expect("a number");
    for (at, accepted) in [
        (stamp + 60, true),
        (stamp + 61, false),
        (stamp - 60, true),
        (stamp - 61, false),
    ] {
        let out = py(
            &python,
            &[
                "decrypt",
                "--key",
                NEW,
                "--ttl",
                "60",
                "--at",
                &at.to_string(),
            ],
            &token.stdout,
        );
        assert_eq!(
            out.code == Some(0),
            accepted,
            "at ts{:+}",
            i128::from(at) - i128::from(stamp)
        );
    }
}
