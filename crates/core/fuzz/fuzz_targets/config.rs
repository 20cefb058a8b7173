//! Fuzzes configuration loading: `${VAR}` / `${VAR:-default}` substitution, then YAML parsing
//! and every check of `Config::parse`, with an environment whose values come from the input
//! too (a value may itself hold `${...}`, YAML syntax or a secret).
//!
//! Properties: no panic, no hang (libFuzzer's `-timeout`); substitution is the identity on
//! text without `$`; the secrets the environment holds (client secret, Fernet key) never
//! appear in an error message unless the input wrote them somewhere a message may quote
//! (outside `${...}`), since a message that quotes the environment leaks it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultref_core::{Config, Environment, substitute_variables};

/// Values no mutation produces by chance.
const CLIENT_SECRET: &str = "fuzz-client-secret-Qx7Vb2Lm9";
const FERNET_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Input: `VALUE\0CONFIG`: VALUE becomes the environment variable `FUZZ`.
    let (value, config) = text.split_once('\0').unwrap_or(("", text));
    let env = Environment::from_pairs([
        ("FUZZ", value),
        ("OM_SM_CLIENT_SECRET", CLIENT_SECRET),
        ("FERNET_KEY", FERNET_KEY),
    ]);
    if !config.contains('$') {
        assert_eq!(substitute_variables(config, &env), config);
    }
    if let Err(error) = Config::parse(config, &env) {
        let message = error.to_string();
        assert!(!message.is_empty());
        if !config.contains(CLIENT_SECRET) && !value.contains(CLIENT_SECRET) {
            assert!(
                !message.contains(CLIENT_SECRET),
                "an error quotes the client secret from the environment: {message}"
            );
        }
    }
});
