//! Fuzzes what the client reads from a vault's answers: success bodies in every shape (secret,
//! properties, deleted secret, list page, backup), error bodies with any status, and
//! `Retry-After`.
//!
//! Input: two bytes of status, then `RETRY-AFTER\nBODY`.
//! Properties: no panic, no hang; no error message quotes the body's secret value (a `value`
//! of 8 characters or more that appears in the body only there).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vaultref_keyvault::fuzzing::response;

/// Every string under a `value` key (bundles, list items, backups).
fn values(json: &Value, out: &mut Vec<String>) {
    match json {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::String(s) if key == "value" => out.push(s.clone()),
                    _ => values(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| values(item, out)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]) % 600;
    let rest = &data[2..];
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(0);
    let (retry_after, body) = (&rest[..split], &rest[(split + 1).min(rest.len())..]);
    let messages = response(status, retry_after, body);

    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    let mut secrets = Vec::new();
    values(&json, &mut secrets);
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        // Quoted elsewhere in the body (an id, a message) it may be echoed from there.
        if text.matches(secret.as_str()).count() > 1 || secret.contains('\\') {
            continue;
        }
        for message in &messages {
            assert!(
                !message.contains(secret.as_str()),
                "an error message quotes the secret value: {message}"
            );
        }
    }
});
