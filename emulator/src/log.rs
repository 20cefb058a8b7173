//! The request log: every request the emulator received, in order, for tests to inspect.

use std::collections::VecDeque;
use std::fmt;

use http::HeaderMap;

use crate::fault::Target;

/// Headers whose values never appear in `Debug` output.
const REDACTED_HEADERS: [&str; 3] = ["authorization", "x-identity-header", "cookie"];

/// One request as the emulator saw it.
///
/// `Debug` redacts `Authorization` (and other credential headers) and shows only the body's
/// length, so a logged request never leaks a token or a secret.
#[derive(Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The `Host` header as sent, e.g. `127.0.0.1:4711` or `myvault.localhost:4711`.
    pub host: String,
    /// The path, e.g. `/secrets/db-pass/`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every request header.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Vec<u8>,
    /// The part of the emulator it went to.
    pub target: Target,
    /// The status answered; 0 when the connection was dropped by a fault.
    pub status: u16,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), if present and valid UTF-8.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The decoded value of query parameter `name`, if present.
    #[must_use]
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Whether it carried an `Authorization` header.
    #[must_use]
    pub fn has_authorization(&self) -> bool {
        self.headers.contains_key(http::header::AUTHORIZATION)
    }

    /// The decoded form fields of the body (token requests), e.g. `grant_type`.
    #[must_use]
    pub fn form_field(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a HeaderMap);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (name, value) in self.0 {
                    if REDACTED_HEADERS.contains(&name.as_str()) {
                        map.entry(&name.as_str(), &"<redacted>");
                    } else {
                        map.entry(&name.as_str(), &value.to_str().unwrap_or("<binary>"));
                    }
                }
                map.finish()
            }
        }
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field("body_len", &self.body.len())
            .field("target", &self.target)
            .field("status", &self.status)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A bounded log: the oldest entries go once `capacity` is reached.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    capacity: usize,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn record(&mut self, request: RecordedRequest) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(request);
    }

    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn to(&self, target: Target) -> Vec<RecordedRequest> {
        self.entries
            .iter()
            .filter(|r| target.covers(r.target))
            .cloned()
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> RecordedRequest {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc.def.ghi".parse().unwrap());
        headers.insert("accept", "application/json".parse().unwrap());
        RecordedRequest {
            method: "GET".into(),
            host: "127.0.0.1:1".into(),
            path: path.into(),
            query: Some("api-version=7.6&maxresults=2".into()),
            headers,
            body: b"client_secret=hunter2".to_vec(),
            target: Target::classify(path),
            status: 200,
            tls: false,
        }
    }

    #[test]
    fn debug_redacts_credentials_and_bodies() {
        let shown = format!("{:?}", request("/secrets/a"));
        assert!(!shown.contains("abc.def.ghi"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("application/json"));
    }

    #[test]
    fn log_is_bounded_and_filterable() {
        let mut log = RequestLog::new(2);
        log.record(request("/secrets/a"));
        log.record(request("/t/oauth2/v2.0/token"));
        log.record(request("/secrets/b"));
        let all = log.all();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].path, "/t/oauth2/v2.0/token");
        assert_eq!(log.to(Target::Vault).len(), 1);
        assert_eq!(all[1].query_param("maxresults").as_deref(), Some("2"));
        assert_eq!(
            all[1].form_field("client_secret").as_deref(),
            Some("hunter2")
        );
    }
}
