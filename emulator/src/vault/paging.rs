//! Listing with Key Vault's paging: `maxresults` (1-25) and an absolute `nextLink` on the
//! client's own scheme and host carrying an opaque `$skiptoken`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::model::Vault;
use super::operations::SecretsRequest;
use super::replies::{bad_parameter, not_found};
use crate::wire::Reply;

/// Page size when the client names none, and the largest it may name.
const DEFAULT_PAGE: usize = 25;

/// What a list operation lists.
#[derive(Clone, Copy)]
pub(super) enum ListKind<'a> {
    Secrets,
    Versions(&'a str),
    Deleted,
}

impl SecretsRequest<'_, '_> {
    pub(super) fn list(&self, vault: &Vault, kind: ListKind<'_>) -> Reply {
        let page_size = match self.call.query_param("maxresults") {
            None => DEFAULT_PAGE,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=DEFAULT_PAGE).contains(&n) => n,
                _ => {
                    return bad_parameter(&format!(
                        "Invalid maxresults value '{raw}': it must be an integer between 1 and 25."
                    ));
                }
            },
        };
        let offset = match self.call.query_param("$skiptoken") {
            None => 0,
            Some(token) => match decode_skiptoken(&token) {
                Some(offset) => offset,
                None => {
                    return bad_parameter(
                        "The $skiptoken is not valid; use the nextLink as returned.",
                    );
                }
            },
        };
        let (items, path): (Vec<Value>, String) = match kind {
            ListKind::Secrets => (
                vault
                    .secrets
                    .values()
                    .filter(|s| s.visible(self.now))
                    .filter_map(|s| {
                        let latest = s.latest()?;
                        let mut item = json!({"id": format!("{}/secrets/{}", self.origin, s.name)});
                        self.decorate(vault, &mut item, latest);
                        Some(item)
                    })
                    .collect(),
                "/secrets".to_owned(),
            ),
            ListKind::Versions(name) => {
                let Some(secret) = self.visible(vault, name) else {
                    return not_found(name);
                };
                (
                    secret
                        .versions
                        .iter()
                        .map(|v| {
                            let mut item = json!({"id": format!("{}/secrets/{}/{}", self.origin, secret.name, v.id)});
                            self.decorate(vault, &mut item, v);
                            item
                        })
                        .collect(),
                    format!("/secrets/{name}/versions"),
                )
            }
            ListKind::Deleted => (
                vault
                    .deleted
                    .values()
                    .filter(|d| d.visible(self.now))
                    .filter_map(|d| {
                        let latest = d.secret.latest()?;
                        let mut item =
                            json!({"id": format!("{}/secrets/{}", self.origin, d.secret.name)});
                        self.decorate(vault, &mut item, latest);
                        self.deleted_fields(&mut item, d);
                        Some(item)
                    })
                    .collect(),
                "/deletedsecrets".to_owned(),
            ),
        };
        let page: Vec<Value> = items.iter().skip(offset).take(page_size).cloned().collect();
        let next = offset + page.len();
        let next_link = (next < items.len()).then(|| {
            format!(
                "{}{path}?api-version={}&$skiptoken={}&maxresults={page_size}",
                self.origin,
                self.api_version,
                encode_skiptoken(next)
            )
        });
        Reply::json(200, &json!({"value": page, "nextLink": next_link}))
    }
}

fn encode_skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{{\"offset\":{offset}}}"))
}

fn decode_skiptoken(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("offset")?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptokens_round_trip() {
        assert_eq!(decode_skiptoken(&encode_skiptoken(42)), Some(42));
        assert_eq!(decode_skiptoken("garbage!"), None);
    }
}
