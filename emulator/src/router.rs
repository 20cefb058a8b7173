//! The router behind the front: every request goes through the faults, then to Entra ID, the
//! managed-identity endpoints or the vaults by its path, and into the request log.

use std::sync::Arc;

use serde_json::json;
use wiremock::{Respond, ResponseTemplate};

use std::time::Duration;

use crate::fault::{RateClass, Target, Verdict};
use crate::headers::{FORWARDED_PROTO, REQUEST_SEQ, host_of};
use crate::log::RecordedRequest;
use crate::service::Service;
use crate::wire::{Call, Reply};
use crate::{entra, managed, vault};

/// The one wiremock responder: every request goes to [`route`].
pub(crate) struct Router(pub(crate) Arc<Service>);

impl Respond for Router {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        route(&self.0, request)
    }
}

/// Handles one request end to end: faults, routing, persistence, logging.
fn route(service: &Service, request: &wiremock::Request) -> ResponseTemplate {
    let path = request.url.path();
    let host = host_of(&request.headers);
    let tls = request
        .headers
        .get(FORWARDED_PROTO)
        .is_some_and(|v| v.as_bytes() == b"https");
    let target = Target::classify(path);
    let handled_at = service.wall.now();
    let call = Call {
        method: &request.method,
        path,
        query: request.url.query(),
        headers: &request.headers,
        body: &request.body,
        host: &host,
        tls,
        now: service.clock.now(),
    };
    let (reply, delay, snapshot) = {
        let mut state = service.state();
        let delay = state.faults.latency(target);
        let class = RateClass::of_request(request.method.as_str(), path);
        let verdict = state.faults.on_request(target, class, call.now);
        let mut changed = false;
        let reply = match verdict {
            Verdict::Throttle { retry_after } => throttled(target, retry_after),
            Verdict::Status(status) => failing(target, status),
            Verdict::Proceed => {
                let state = &mut *state;
                match target {
                    Target::Entra => {
                        entra::handle(&call, &service.tenant, &state.directory, &mut state.random)
                    }
                    Target::ManagedIdentity => {
                        managed::handle(&call, &service.tenant, &state.directory)
                    }
                    Target::Vault | Target::Any => {
                        let (reply, stored) = vault::handle(
                            &call,
                            &service.tenant,
                            &state.directory,
                            &mut state.faults,
                            &mut state.random,
                            &mut state.vaults,
                        );
                        changed = stored;
                        reply
                    }
                }
            }
        };
        let snapshot = (changed && service.persists()).then(|| state.changed());
        (reply, delay, snapshot)
    };
    if let Some((generation, snapshot)) = snapshot {
        service.persist(generation, &snapshot);
    }
    let seq = request
        .headers
        .get(REQUEST_SEQ)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    let mut entry = RecordedRequest::arrived(
        &request.method,
        path,
        request.url.query(),
        &request.headers,
        request.body.clone(),
        reply.status,
    );
    // Provisional times; the front stamps the ones it measures once the response leaves.
    entry.tls = tls;
    entry.retry_after = reply.retry_after();
    entry.received_at = handled_at;
    entry.responded_at = handled_at + delay;
    service.record(seq, entry);
    reply.into_template(delay)
}

/// The 429 of an injected throttle or rate limit, in the body shape of the target:
/// `Retry-After` in whole seconds (rounded up), plus `retry-after-ms` when the wait has a
/// fraction (rate limits in compressed time), which clients read first.
fn throttled(target: Target, retry_after: Duration) -> Reply {
    let reply = match target {
        Target::Vault | Target::Any => vault::throttled(),
        Target::Entra | Target::ManagedIdentity => Reply::json(
            429,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop. Too many requests."
            }),
        ),
    };
    let millis = retry_after.as_millis();
    let reply = reply.with_header("retry-after", millis.div_ceil(1000).max(1).to_string());
    if millis.is_multiple_of(1000) {
        reply
    } else {
        reply.with_header("retry-after-ms", millis.to_string())
    }
}

/// The status of an injected status fault, in the body shape of the target.
fn failing(target: Target, status: u16) -> Reply {
    match target {
        Target::Vault | Target::Any => vault::injected_status(status),
        Target::Entra | Target::ManagedIdentity => Reply::json(
            status,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": format!("The service answered {status} because a fault was injected into the emulator.")
            }),
        ),
    }
}
