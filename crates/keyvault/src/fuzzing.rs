//! Entry points for the cargo-fuzz targets of `crates/keyvault/fuzz` (compiled only under
//! `--cfg fuzzing`, which cargo-fuzz sets): what a vault sends, parsed without a network.
//! Not part of the API.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use crate::challenge::Challenge;
use crate::error::{Context, from_response};
use crate::wire::{BackupWire, BundleWire, ListWire, parse};

/// Parses a `WWW-Authenticate` header as a vault challenge and checks its resource against
/// `vault`; the scope to ask a token for when the challenge is usable, else the error text.
///
/// # Errors
/// The message of the error the client would return.
pub fn challenge(header: &str, vault: &Url) -> Result<String, String> {
    let challenge = Challenge::parse(header).map_err(|e| e.to_string())?;
    challenge
        .verify_resource(vault)
        .map_err(|e| e.to_string())?;
    Ok(challenge.scope)
}

/// Reads a response as the client would: a success body in every shape the client parses
/// (secret, properties, deleted secret, list page, backup), or an error body with `status`;
/// `retry_after` as the value of `Retry-After`. Returns every error message produced.
#[must_use]
pub fn response(status: u16, retry_after: &[u8], body: &[u8]) -> Vec<String> {
    let mut messages = Vec::new();
    let mut note = |result: crate::Result<()>| {
        if let Err(e) = result {
            messages.push(e.to_string());
        }
    };
    note(
        parse::<BundleWire>("get secret", body).and_then(|b| b.into_secret("get secret").map(drop)),
    );
    note(parse::<BundleWire>("update", body).and_then(|b| b.into_properties("update").map(drop)));
    note(
        parse::<BundleWire>("get deleted", body)
            .and_then(|b| b.into_deleted("get deleted").map(drop)),
    );
    note(parse::<ListWire>("list", body).and_then(|page| {
        for item in page.value {
            item.into_properties("list")?;
        }
        Ok(())
    }));
    note(parse::<BackupWire>("backup", body).map(drop));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(retry_after) {
        headers.insert(reqwest::header::RETRY_AFTER, value);
    }
    let requested: Option<Duration> =
        crate::retry::retry_after(&headers, time::OffsetDateTime::UNIX_EPOCH);
    if let Ok(status) = StatusCode::from_u16(status) {
        let ctx = Context {
            operation: "get secret",
            name: Some("fuzz"),
            version: None,
            vault: "https://fuzz.vault.azure.net/",
        };
        messages.push(from_response(&ctx, status, body, requested, 1).to_string());
    }
    messages
}
