//! The emulator's mutable state and fixed facts, shared by the front, the handlers and the API.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use http::Method;

use crate::clock::{Clock, WallClock, unix_seconds};
use crate::fault::{Faults, Target, Verdict};
use crate::identity::{Identity, Permissions, Principal};
use crate::log::{RecordedRequest, RequestLog};
use crate::random::Random;
use crate::token::{AccessClaims, Signer};
use crate::vault::Vaults;
use crate::wire::{Call, Reply};
use crate::{entra, managed, vault};

/// Facts fixed at start. `Debug` redacts the identity header.
#[derive(Clone)]
pub(crate) struct Info {
    pub(crate) tls: bool,
    pub(crate) tenant_id: String,
    /// `scheme://127.0.0.1:port`, no trailing slash.
    pub(crate) authority: String,
    /// The resource the vault challenge names and tokens must be issued for.
    pub(crate) vault_resource: String,
    pub(crate) identity_header: String,
    pub(crate) federated_issuer: String,
    pub(crate) system_identity: String,
    pub(crate) state_file: Option<PathBuf>,
}

impl std::fmt::Debug for Info {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Info")
            .field("tls", &self.tls)
            .field("tenant_id", &self.tenant_id)
            .field("authority", &self.authority)
            .field("vault_resource", &self.vault_resource)
            .field("identity_header", &"<redacted>")
            .field("federated_issuer", &self.federated_issuer)
            .field("system_identity", &self.system_identity)
            .field("state_file", &self.state_file)
            .finish()
    }
}

/// Everything that changes.
#[derive(Debug)]
pub(crate) struct State {
    principals: HashMap<String, Principal>,
    pub(crate) faults: Faults,
    pub(crate) vaults: Vaults,
    pub(crate) token_lifetime: Duration,
    pub(crate) random: Random,
    /// Bumped on every change of stored secrets, so that saves never go back in time.
    generation: u64,
}

impl State {
    pub(crate) fn new(random: Random, vaults: Vaults, token_lifetime: Duration) -> Self {
        Self {
            principals: HashMap::new(),
            faults: Faults::default(),
            vaults,
            token_lifetime,
            random,
            generation: 0,
        }
    }

    /// A numbered snapshot of the vaults, to hand to `Shared::persist` after the lock is gone.
    pub(crate) fn changed(&mut self) -> (u64, crate::vault::Snapshot) {
        self.generation += 1;
        (self.generation, self.vaults.snapshot())
    }

    pub(crate) fn add_principal(&mut self, identity: Identity, permissions: Permissions) {
        let object_id = identity
            .object_id
            .clone()
            .unwrap_or_else(|| self.random.guid());
        self.principals.insert(
            identity.client_id.clone(),
            Principal {
                identity,
                object_id,
                permissions,
            },
        );
    }

    pub(crate) fn set_permissions(&mut self, client_id: &str, permissions: Permissions) -> bool {
        self.principals
            .get_mut(client_id)
            .map(|p| p.permissions = permissions)
            .is_some()
    }

    pub(crate) fn remove_principal(&mut self, client_id: &str) -> bool {
        self.principals.remove(client_id).is_some()
    }

    pub(crate) fn principal(&self, client_id: &str) -> Option<&Principal> {
        self.principals.get(client_id)
    }

    pub(crate) fn managed_by(&self, pred: impl Fn(&Principal) -> bool) -> Option<Principal> {
        self.principals
            .values()
            .find(|p| {
                matches!(p.identity.credential, crate::identity::Credential::Managed) && pred(p)
            })
            .cloned()
    }

    /// Mints an access token for `principal` and `resource`; returns it with its lifetime in seconds.
    pub(crate) fn issue_access_token(
        &mut self,
        info: &Info,
        signer: &Signer,
        principal: &Principal,
        resource: &str,
        now: std::time::SystemTime,
    ) -> (String, i64) {
        let iat = unix_seconds(now);
        let lifetime = i64::try_from(self.token_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = AccessClaims {
            aud: resource.to_owned(),
            iss: format!("https://sts.windows.net/{}/", info.tenant_id),
            tid: info.tenant_id.clone(),
            appid: principal.identity.client_id.clone(),
            oid: principal.object_id.clone(),
            sub: principal.object_id.clone(),
            iat,
            nbf: iat,
            exp: iat + lifetime,
            idtyp: "app".into(),
            ver: "1.0".into(),
        };
        (signer.sign(&claims), lifetime)
    }
}

/// What the front, the handlers and the `Emulator` handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) info: Info,
    pub(crate) clock: Arc<dyn Clock>,
    /// Real time for the request log's timestamps.
    pub(crate) wall: WallClock,
    /// The next request's sequence number (from 1), given by the front.
    pub(crate) next_seq: AtomicU64,
    pub(crate) signer: Signer,
    pub(crate) state: Mutex<State>,
    pub(crate) log: Mutex<RequestLog>,
    /// The generation last written to the state file.
    pub(crate) saved: Mutex<u64>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The header the front sets to tell the backend a request came over TLS.
pub(crate) const FORWARDED_PROTO: &str = "x-vaultref-forwarded-proto";

/// The header the front uses to tell the backend a request's sequence number, so that the
/// front can stamp the log entry with the time the response left.
pub(crate) const REQUEST_SEQ: &str = "x-vaultref-seq";

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Handles one request end to end: faults, routing, logging.
    pub(crate) fn handle(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let path = request.url.path();
        let host = request
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let tls = request
            .headers
            .get(FORWARDED_PROTO)
            .is_some_and(|v| v.as_bytes() == b"https");
        let target = Target::classify(path);
        let handled_at = self.wall.now();
        let call = Call {
            method: &request.method,
            path,
            query: request.url.query(),
            headers: &request.headers,
            body: &request.body,
            host: &host,
            tls,
            now: self.clock.now(),
        };
        let (reply, delay, persist) = {
            let mut state = self.state();
            let delay = state.faults.latency(target);
            let verdict = state.faults.on_request(target, call.now);
            let mut persist = false;
            let reply = match verdict {
                Verdict::Throttle { retry_after_secs } => throttled(target, retry_after_secs),
                Verdict::Status(status) => failing(target, status),
                Verdict::Proceed => match target {
                    Target::Entra => entra::handle(&call, &self.info, &self.signer, &mut state),
                    Target::ManagedIdentity => {
                        managed::handle(&call, &self.info, &self.signer, &mut state)
                    }
                    Target::Vault | Target::Any => {
                        let (reply, changed) =
                            vault::handle(&call, &self.info, &self.signer, &mut state);
                        persist = changed;
                        reply
                    }
                },
            };
            let snapshot = (persist && self.info.state_file.is_some()).then(|| state.changed());
            (reply, delay, snapshot)
        };
        if let Some((generation, snapshot)) = persist {
            self.persist(generation, &snapshot);
        }
        let mut headers = request.headers.clone();
        headers.remove(FORWARDED_PROTO);
        let seq = headers
            .remove(REQUEST_SEQ)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(0);
        // Provisional times; the front stamps the ones it measures once the response leaves.
        lock(&self.log).record(
            seq,
            RecordedRequest {
                method: request.method.to_string(),
                host,
                path: path.to_owned(),
                query: request.url.query().map(str::to_owned),
                headers,
                body: request.body.clone(),
                target,
                status: reply.status,
                tls,
                received_at: handled_at,
                responded_at: handled_at + delay,
            },
        );
        reply.into_template(delay)
    }

    /// Writes a snapshot to the state file unless a newer one was written already. A failed
    /// save must not fail the request; the next change tries again.
    pub(crate) fn persist(&self, generation: u64, snapshot: &crate::vault::Snapshot) {
        let Some(path) = &self.info.state_file else {
            return;
        };
        let mut saved = lock(&self.saved);
        if generation > *saved && crate::vault::save_snapshot(path, snapshot).is_ok() {
            *saved = generation;
        }
    }

    /// Records a request the front dropped because of a fault (`received_at`: when it arrived).
    pub(crate) fn record_dropped(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        target: Target,
        tls: bool,
        received_at: SystemTime,
    ) {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut headers = headers.clone();
        headers.remove(FORWARDED_PROTO);
        headers.remove(REQUEST_SEQ);
        lock(&self.log).record(
            0,
            RecordedRequest {
                method: method.to_string(),
                host,
                path: uri.path().to_owned(),
                query: uri.query().map(str::to_owned),
                headers,
                body: Vec::new(),
                target,
                status: 0,
                tls,
                received_at,
                responded_at: self.wall.now().max(received_at),
            },
        );
    }
}

fn throttled(target: Target, retry_after_secs: u64) -> Reply {
    let body = match target {
        Target::Vault | Target::Any => serde_json::json!({"error": {
            "code": "Throttled",
            "message": "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"
        }}),
        _ => serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop. Too many requests."
        }),
    };
    Reply::json(429, &body).with_header("retry-after", retry_after_secs.to_string())
}

fn failing(target: Target, status: u16) -> Reply {
    let body = match target {
        Target::Vault | Target::Any => serde_json::json!({"error": {
            "code": "ServiceUnavailable",
            "message": format!("The service answered {status} because a fault was injected into the emulator.")
        }}),
        _ => serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": format!("The service answered {status} because a fault was injected into the emulator.")
        }),
    };
    Reply::json(status, &body)
}
