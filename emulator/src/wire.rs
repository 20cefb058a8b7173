//! One request in, one reply out: the shapes every handler works with, free of wiremock.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};

use crate::headers::RedactedHeaders;

/// A request as the handlers see it.
///
/// `Debug` redacts credential headers and shows only the body's length: bodies carry secret
/// values, client secrets and assertions.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    /// The `Host` header as sent (`host:port`).
    pub(crate) host: &'a str,
    pub(crate) tls: bool,
    pub(crate) now: SystemTime,
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &RedactedHeaders(self.headers))
            .field("body_len", &self.body.len())
            .field("host", &self.host)
            .field("tls", &self.tls)
            .field("now", &self.now)
            .finish()
    }
}

impl Call<'_> {
    /// `scheme://host[:port]` exactly as the client addressed the emulator.
    pub(crate) fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host
        )
    }

    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Path segments without the leading slash; a trailing slash yields a final empty segment.
    pub(crate) fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').collect()
    }
}

/// A reply to send.
///
/// `Debug` shows only the body's length: bodies carry secret values and access tokens.
#[derive(Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: Option<&'static str>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

pub(crate) const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(body).unwrap_or_default(),
            content_type: Some(JSON),
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The wait this reply asks for: `retry-after-ms`, else `Retry-After` (whole seconds).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        let header = |wanted: &str| {
            self.headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .and_then(|(_, value)| value.parse::<u64>().ok())
        };
        header("retry-after-ms")
            .map(Duration::from_millis)
            .or_else(|| header("retry-after").map(Duration::from_secs))
    }

    pub(crate) fn into_template(self, delay: Duration) -> wiremock::ResponseTemplate {
        let mut template = wiremock::ResponseTemplate::new(self.status);
        for (name, value) in self.headers {
            template = template.append_header(name, value);
        }
        if let Some(content_type) = self.content_type {
            template = template.set_body_raw(self.body, content_type);
        }
        if !delay.is_zero() {
            template = template.set_delay(delay);
        }
        template
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_credential_headers_nor_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer tok-en".parse().unwrap());
        headers.insert("x-identity-header", "id-header".parse().unwrap());
        let call = Call {
            method: &Method::PUT,
            path: "/secrets/db",
            query: None,
            headers: &headers,
            body: br#"{"value":"s3cr3t"}"#,
            host: "127.0.0.1:1",
            tls: true,
            now: SystemTime::UNIX_EPOCH,
        };
        let shown = format!("{call:?}");
        for secret in ["tok-en", "id-header", "s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("/secrets/db"), "{shown}");

        let reply = Reply::json(200, &serde_json::json!({"access_token": "acc-ess"}));
        let shown = format!("{reply:?}");
        assert!(!shown.contains("acc-ess"), "{shown}");
        assert!(shown.contains("200"), "{shown}");
    }
}
