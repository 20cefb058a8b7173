//! Fuzzes the vault's `WWW-Authenticate` challenge: parsing (scheme, quoted and unquoted
//! parameters, escapes, `scope` / `resource` / `authorization`) and the check of its resource
//! against the vault's host and port.
//!
//! Properties: no panic, no hang; an accepted challenge yields a non-empty scope; a challenge
//! that passes for a vault passes for it again (no state).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use url::Url;
use vaultref_keyvault::fuzzing::challenge;

static VAULTS: LazyLock<[Url; 3]> = LazyLock::new(|| {
    [
        "https://myvault.vault.azure.net/",
        "https://team-a.localhost:8443/",
        "https://127.0.0.1:8443/",
    ]
    .map(|u| Url::parse(u).expect("a fixed URL"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    for vault in VAULTS.iter() {
        let first = challenge(header, vault);
        if let Ok(scope) = &first {
            assert!(!scope.is_empty());
        }
        assert_eq!(first, challenge(header, vault));
    }
});
