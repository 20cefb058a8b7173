//! The admin endpoint: faults and the request log over HTTP, so that a test suite in any
//! language can make a running emulator throttle, fail or slow down, and read what its client
//! sent (docs/emulator.md, "Faults from any language").
//!
//! Nothing reaches it by accident: it listens on its own port on 127.0.0.1 (vault, Entra and
//! managed-identity clients are configured with the public port); the `Host` must name the
//! loopback (a DNS-rebinding page names its own host); and every request carries the token
//! of the ready line in `X-Vaultref-Admin-Token` (a web page cannot add that header to a
//! request to another origin without a CORS preflight, which this endpoint never grants).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::error::{Error, Result};
use crate::fault::Target;
use crate::fault_spec::FaultSpec;
use crate::headers::carries_credential;
use crate::log::RecordedRequest;
use crate::service::Service;
use crate::wire::Reply;

/// The header that carries the admin token.
pub(crate) const TOKEN_HEADER: &str = "x-vaultref-admin-token";

/// A running admin endpoint; stops when dropped.
#[derive(Debug)]
pub(crate) struct Admin {
    pub(crate) url: Url,
    pub(crate) token: String,
    _server: MockServer,
}

impl Admin {
    /// Serves the admin endpoint of `service` on `127.0.0.1:port` (0: a free port).
    pub(crate) async fn start(port: u16, service: Arc<Service>, token: String) -> Result<Self> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let bind = |source| Error::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        let port = listener.local_addr().map_err(bind)?.port();
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        Mock::given(any())
            .respond_with(AdminEndpoint {
                service,
                token: token.clone(),
                port,
            })
            .mount(&server)
            .await;
        let url = Url::parse(&format!("http://127.0.0.1:{port}/"))
            .unwrap_or_else(|_| unreachable!("a loopback URL with a port parses"));
        Ok(Self {
            url,
            token,
            _server: server,
        })
    }
}

struct AdminEndpoint {
    service: Arc<Service>,
    token: String,
    port: u16,
}

impl Respond for AdminEndpoint {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        self.answer(request).into_template(Duration::ZERO)
    }
}

fn problem(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({"error": message}))
}

impl AdminEndpoint {
    fn answer(&self, request: &wiremock::Request) -> Reply {
        let host = request
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let loopback = [
            format!("127.0.0.1:{}", self.port),
            format!("localhost:{}", self.port),
        ];
        if !loopback.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return problem(
                403,
                "the admin endpoint answers only requests addressed to 127.0.0.1 or localhost with its port; use the admin_url of the ready line",
            );
        }
        let token = request
            .headers
            .get(TOKEN_HEADER)
            .map(http::HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(token.ct_eq(self.token.as_bytes())) {
            return problem(
                401,
                "send the admin_token of the ready line in the X-Vaultref-Admin-Token header",
            );
        }
        let method = &request.method;
        match request.url.path().trim_end_matches('/') {
            "" if method == Method::GET => index(),
            "/faults" if method == Method::POST => self.inject(&request.body),
            "/faults" if method == Method::DELETE => {
                self.service.reset_faults();
                Reply::empty(204)
            }
            "/requests" if method == Method::GET => self.requests(request.url.query()),
            "/requests" if method == Method::DELETE => {
                self.service.log().clear();
                Reply::empty(204)
            }
            "/faults" => problem(405, "use POST (inject) or DELETE (clear) on /faults")
                .with_header("allow", "POST, DELETE"),
            "/requests" => problem(405, "use GET (read) or DELETE (clear) on /requests")
                .with_header("allow", "GET, DELETE"),
            _ => problem(
                404,
                "no such admin resource; the admin endpoint serves /faults and /requests",
            ),
        }
    }

    fn inject(&self, body: &[u8]) -> Reply {
        match FaultSpec::parse_list(body) {
            Ok(specs) => {
                for spec in &specs {
                    self.service.apply(*spec);
                }
                Reply::json(200, &json!({"applied": specs.len()}))
            }
            Err(e) => problem(400, &e.to_string()),
        }
    }

    fn requests(&self, query: Option<&str>) -> Reply {
        let target = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "target")
            .map(|(_, v)| v.into_owned());
        let target = match target.as_deref() {
            None | Some("any") => Target::Any,
            Some("vault") => Target::Vault,
            Some("entra") => Target::Entra,
            Some("managed_identity") => Target::ManagedIdentity,
            Some(other) => {
                return problem(
                    400,
                    &format!("unknown target {other:?}; use vault, entra, managed_identity or any"),
                );
            }
        };
        let requests: Vec<Value> = self
            .service
            .log()
            .to(target)
            .iter()
            .map(request_json)
            .collect();
        Reply::json(200, &json!({"requests": requests}))
    }
}

fn index() -> Reply {
    Reply::json(
        200,
        &json!({
            "endpoints": {
                "POST /faults": "inject one fault object or an array of them",
                "DELETE /faults": "remove every fault; delays and token lifetime back to their values at start",
                "GET /requests[?target=vault|entra|managed_identity]": "the request log, oldest first",
                "DELETE /requests": "empty the request log",
            },
            "docs": "docs/emulator.md, \"Faults from any language\"",
        }),
    )
}

/// `target` as the admin endpoint writes it.
fn target_name(target: Target) -> &'static str {
    match target {
        Target::Vault => "vault",
        Target::Entra => "entra",
        Target::ManagedIdentity => "managed_identity",
        Target::Any => "any",
    }
}

/// One log entry as JSON: credential headers redacted, the body as its length only (bodies
/// carry secret values, client secrets and assertions).
fn request_json(request: &RecordedRequest) -> Value {
    let mut headers = Map::new();
    for name in request.headers.keys() {
        let value = if carries_credential(name.as_str()) {
            "<redacted>".to_owned()
        } else {
            request
                .headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap_or("<binary>"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        headers.insert(name.as_str().to_owned(), Value::String(value));
    }
    json!({
        "method": request.method,
        "host": request.host,
        "path": request.path,
        "query": request.query,
        "target": target_name(request.target),
        "status": request.status,
        "tls": request.tls,
        "http2": request.http2,
        "connection": request.connection,
        "retry_after_ms": request.retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "received_at": rfc3339(request.received_at),
        "responded_at": rfc3339(request.responded_at),
        "elapsed_ms": request.elapsed().as_secs_f64() * 1000.0,
        "has_authorization": request.has_authorization(),
        "headers": headers,
        "body_bytes": request.body.len(),
    })
}

/// RFC 3339 in UTC with microseconds (what Python's `datetime.fromisoformat` reads).
fn rfc3339(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn times_are_rfc3339_with_microseconds() {
        let at = UNIX_EPOCH + Duration::from_micros(1_676_877_689_123_456);
        assert_eq!(rfc3339(at), "2023-02-20T07:21:29.123456Z");
    }

    #[test]
    fn log_entries_redact_credentials_and_bodies() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer abc.def.ghi".parse().unwrap());
        headers.insert("user-agent", "azsdk-python".parse().unwrap());
        let mut request = RecordedRequest::arrived(
            &Method::PUT,
            "/secrets/db",
            Some("api-version=7.6"),
            &headers,
            br#"{"value":"s3cr3t"}"#.to_vec(),
            200,
        );
        request.received_at = UNIX_EPOCH;
        request.responded_at = UNIX_EPOCH + Duration::from_millis(3);
        let shown = request_json(&request).to_string();
        for secret in ["abc.def.ghi", "s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let entry = request_json(&request);
        assert_eq!(entry["headers"]["authorization"], "<redacted>");
        assert_eq!(entry["headers"]["user-agent"], "azsdk-python");
        assert_eq!(entry["target"], "vault");
        assert_eq!(entry["body_bytes"], 18);
        assert_eq!(entry["elapsed_ms"], 3.0);
        assert_eq!(entry["has_authorization"], true);
    }
}
