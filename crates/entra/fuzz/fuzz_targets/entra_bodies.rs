//! Fuzzes what the credentials read from Entra ID's token endpoint and the managed-identity
//! endpoints (IMDS, App Service): token bodies (numbers or numeric strings, `expires_in`,
//! `expires_on`, `refresh_in` out of range) and error bodies of every shape, with any status.
//!
//! Input: one byte selecting the endpoint, two bytes of status, then the body.
//! Properties: no panic, no hang; a token is handed out only with a status of success; no
//! error text quotes the body's `access_token` (8 characters or more, only there).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vaultref_entra::fuzzing::{entra_answer, managed_identity_answer};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 100 + u16::from_be_bytes([data[1], data[2]]) % 500;
    let body = &data[3..];
    let answer = match data[0] % 3 {
        0 => entra_answer(status, body),
        1 => managed_identity_answer(false, status, body),
        _ => managed_identity_answer(true, status, body),
    };
    match &answer {
        Ok(token) => {
            assert!((200..300).contains(&status), "a token from a {status}");
            assert!(!format!("{token:?}").contains(token.secret()) || token.secret().len() < 8);
        }
        Err(message) => {
            let Ok(json) = serde_json::from_slice::<Value>(body) else {
                return;
            };
            let text = String::from_utf8_lossy(body);
            if let Some(secret) = json.get("access_token").and_then(Value::as_str)
                && secret.len() >= 8
                && !secret.contains('\\')
                && text.matches(secret).count() == 1
            {
                assert!(
                    !message.contains(secret),
                    "an error quotes the access token: {message}"
                );
            }
        }
    }
});
