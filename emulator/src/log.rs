//! The request log: every request the emulator received, in order, for tests to inspect.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};

use crate::fault::Target;
use crate::headers::{RedactedHeaders, as_sent, host_of};

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
    /// Whether it came over HTTP/2 (negotiated with ALPN on a TLS connection); else HTTP/1.1.
    pub http2: bool,
    /// The client connection it came over: the front numbers connections from 1 in the order
    /// it accepts them, so requests with the same number shared one TCP (and TLS) connection.
    /// 0 when unknown (a request that reached the backend without the front).
    pub connection: u64,
    /// The wait the answer asked for (`retry-after-ms`, else `Retry-After`), if any: what a
    /// client that honours it waits before its next attempt.
    pub retry_after: Option<Duration>,
    /// When the request reached the emulator (its whole head had been read).
    ///
    /// Real time, whatever `EmulatorConfig::clock` says: the system time when the emulator
    /// started plus a monotonic clock since, so durations and overlaps between requests are
    /// measurable even under a `ManualClock` and never negative.
    pub received_at: SystemTime,
    /// When the response left the emulator, after any latency fault (the client sees it a few
    /// microseconds later); for a connection dropped by a fault, when it was closed. Same
    /// time source as `received_at`, and never earlier than it.
    pub responded_at: SystemTime,
}

impl RecordedRequest {
    /// An entry for a request as it arrived (the front's own headers removed), answered
    /// `status` (0: dropped); the caller sets `tls` and the times.
    pub(crate) fn arrived(
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Vec<u8>,
        status: u16,
    ) -> Self {
        Self {
            method: method.to_string(),
            host: host_of(headers),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: as_sent(headers),
            body,
            target: Target::classify(path),
            status,
            tls: false,
            http2: false,
            connection: 0,
            retry_after: None,
            received_at: SystemTime::UNIX_EPOCH,
            responded_at: SystemTime::UNIX_EPOCH,
        }
    }

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

    /// How long the emulator took to answer: `responded_at - received_at` (latency faults
    /// included).
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.responded_at
            .duration_since(self.received_at)
            .unwrap_or_default()
    }

    /// The largest number of `requests` that were in flight at the same moment, each from
    /// its `received_at` to its `responded_at` (one that ends exactly when another starts
    /// does not overlap it). E.g. 100 reads made with a concurrency bound of 40 show at most 40.
    #[must_use]
    pub fn peak_in_flight(requests: &[Self]) -> usize {
        // Ends sort before starts at the same instant (false < true).
        let mut events: Vec<(SystemTime, bool)> = requests
            .iter()
            .flat_map(|r| {
                [
                    (r.received_at, true),
                    (r.responded_at.max(r.received_at), false),
                ]
            })
            .collect();
        events.sort_unstable();
        let (mut current, mut peak) = (0usize, 0usize);
        for (_, starts) in events {
            if starts {
                current += 1;
                peak = peak.max(current);
            } else {
                current = current.saturating_sub(1);
            }
        }
        peak
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
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body_len", &self.body.len())
            .field("target", &self.target)
            .field("status", &self.status)
            .field("tls", &self.tls)
            .field("http2", &self.http2)
            .field("connection", &self.connection)
            .field("retry_after", &self.retry_after)
            .field("received_at", &self.received_at)
            .field("responded_at", &self.responded_at)
            .finish()
    }
}

/// What the front knows of a request that the backend does not: its real times and its
/// connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp {
    pub(crate) received_at: SystemTime,
    pub(crate) responded_at: SystemTime,
    pub(crate) connection: u64,
    pub(crate) http2: bool,
}

/// A bounded log: the oldest entries go once `capacity` is reached. Each entry carries the
/// sequence number the front gave its request (0: none), to stamp its times later.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<(u64, RecordedRequest)>,
    capacity: usize,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn record(&mut self, seq: u64, request: RecordedRequest) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((seq, request));
    }

    /// Sets the times and the connection of the entry of request `seq` (if still in the log)
    /// to what the front measured. Recent entries are searched first: that is where the entry
    /// is.
    pub(crate) fn stamp(&mut self, seq: u64, stamp: &Stamp) {
        if seq == 0 {
            return;
        }
        if let Some((_, entry)) = self.entries.iter_mut().rev().find(|(s, _)| *s == seq) {
            entry.received_at = stamp.received_at;
            entry.responded_at = stamp.responded_at.max(stamp.received_at);
            entry.connection = stamp.connection;
            entry.http2 = stamp.http2;
        }
    }

    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        self.entries.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn to(&self, target: Target) -> Vec<RecordedRequest> {
        self.entries
            .iter()
            .filter(|(_, r)| target.covers(r.target))
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

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
            http2: false,
            connection: 0,
            retry_after: None,
            received_at: UNIX_EPOCH,
            responded_at: UNIX_EPOCH,
        }
    }

    fn span(from_ms: u64, to_ms: u64) -> RecordedRequest {
        let mut r = request("/secrets/a");
        r.received_at = UNIX_EPOCH + Duration::from_millis(from_ms);
        r.responded_at = UNIX_EPOCH + Duration::from_millis(to_ms);
        r
    }

    #[test]
    fn peak_in_flight_counts_overlapping_intervals() {
        assert_eq!(RecordedRequest::peak_in_flight(&[]), 0);
        // Back to back (one ends as the next starts): never two at once.
        let sequential = [span(0, 10), span(10, 20), span(20, 30)];
        assert_eq!(RecordedRequest::peak_in_flight(&sequential), 1);
        // Two waves of three.
        let waves = [
            span(0, 50),
            span(1, 52),
            span(2, 51),
            span(52, 100),
            span(53, 101),
            span(54, 99),
        ];
        assert_eq!(RecordedRequest::peak_in_flight(&waves), 3);
        // Nested and out of order.
        let nested = [span(5, 6), span(0, 100), span(4, 7), span(50, 60)];
        assert_eq!(RecordedRequest::peak_in_flight(&nested), 3);
        assert_eq!(span(3, 10).elapsed(), Duration::from_millis(7));
        assert_eq!(span(10, 3).elapsed(), Duration::ZERO);
    }

    #[test]
    fn stamps_reach_the_entry_of_their_sequence_number() {
        let mut log = RequestLog::new(3);
        log.record(1, request("/secrets/a"));
        log.record(2, request("/secrets/b"));
        log.record(0, request("/secrets/c"));
        let at = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        let stamp = |from, to, connection| Stamp {
            received_at: at(from),
            responded_at: at(to),
            connection,
            http2: connection == 2,
        };
        log.stamp(1, &stamp(5, 9, 1));
        // A response time before the arrival is clamped; seq 0 and unknown seqs change nothing.
        log.stamp(2, &stamp(7, 6, 2));
        log.stamp(0, &stamp(1, 1, 3));
        log.stamp(42, &stamp(1, 1, 3));
        let all = log.all();
        assert_eq!((all[0].received_at, all[0].responded_at), (at(5), at(9)));
        assert_eq!((all[1].received_at, all[1].responded_at), (at(7), at(7)));
        assert_eq!((all[2].received_at, all[2].responded_at), (at(0), at(0)));
        let connections: Vec<_> = all.iter().map(|r| (r.connection, r.http2)).collect();
        assert_eq!(connections, [(1, false), (2, true), (0, false)]);
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
        log.record(1, request("/secrets/a"));
        log.record(2, request("/t/oauth2/v2.0/token"));
        log.record(3, request("/secrets/b"));
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
