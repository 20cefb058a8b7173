//! Request headers: the ones that carry credentials (redacted wherever a request is shown),
//! the ones the front adds for the backend, and the `Host` a request addressed.

use std::fmt;

use http::HeaderMap;

/// The header the front sets to tell the backend a request came over TLS.
pub(crate) const FORWARDED_PROTO: &str = "x-vaultref-forwarded-proto";

/// The header the front uses to tell the backend a request's sequence number, so that the
/// front can stamp the log entry with the time the response left.
pub(crate) const REQUEST_SEQ: &str = "x-vaultref-seq";

/// Headers whose values are never shown.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-identity-header", "cookie"];

/// Whether header `name` (lower case, as `http` stores names) carries a credential.
pub(crate) fn carries_credential(name: &str) -> bool {
    CREDENTIAL_HEADERS.contains(&name)
}

/// The `Host` header as sent (`host:port`), empty when absent or not text.
pub(crate) fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The headers as the client sent them: without those the front added.
pub(crate) fn as_sent(headers: &HeaderMap) -> HeaderMap {
    let mut headers = headers.clone();
    headers.remove(FORWARDED_PROTO);
    headers.remove(REQUEST_SEQ);
    headers
}

/// Request headers for `Debug`, with the credential headers' values redacted.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if carries_credential(name.as_str()) {
                map.entry(&name.as_str(), &"<redacted>");
            } else {
                map.entry(&name.as_str(), &value.to_str().unwrap_or("<binary>"));
            }
        }
        map.finish()
    }
}
