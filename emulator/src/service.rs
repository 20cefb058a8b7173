//! The running emulator as one object: the tenant's fixed facts, the time sources, the
//! mutable state and the request log. The front, the router, the admin endpoint and the
//! `Emulator` handle each hold an `Arc` of it.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{Clock, WallClock};
use crate::fault_spec::FaultSpec;
use crate::log::{RecordedRequest, RequestLog};
use crate::state::State;
use crate::sync::lock;
use crate::tenant::Tenant;
use crate::vault::{Snapshot, save_snapshot};

/// The timing of tokens and long-running operations, which faults can change and a reset
/// of the faults puts back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) token_lifetime: Duration,
    pub(crate) recover_delay: Duration,
    pub(crate) delete_delay: Duration,
}

/// The running emulator, shared.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) tenant: Tenant,
    /// Whether the public port also speaks TLS.
    pub(crate) tls: bool,
    /// Where the vaults are saved after every change (`--state-dir`), if anywhere.
    state_file: Option<PathBuf>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Real time for the request log's timestamps.
    pub(crate) wall: WallClock,
    /// The next request's sequence number (from 1), given by the front.
    pub(crate) next_seq: AtomicU64,
    state: Mutex<State>,
    log: Mutex<RequestLog>,
    /// The generation last written to the state file.
    saved: Mutex<u64>,
    /// The timing at start, which `reset_faults` puts back.
    timing_at_start: Timing,
}

impl Service {
    pub(crate) fn new(
        tenant: Tenant,
        tls: bool,
        state_file: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        state: State,
        log: RequestLog,
    ) -> Self {
        let timing_at_start = Timing {
            token_lifetime: state.directory.token_lifetime,
            recover_delay: state.vaults.recover_delay,
            delete_delay: state.vaults.delete_delay,
        };
        Self {
            tenant,
            tls,
            state_file,
            clock,
            wall: WallClock::new(),
            next_seq: AtomicU64::new(1),
            state: Mutex::new(state),
            log: Mutex::new(log),
            saved: Mutex::new(0),
            timing_at_start,
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// Adds `request` to the log under the front's sequence number `seq` (0: none).
    pub(crate) fn record(&self, seq: u64, request: RecordedRequest) {
        self.log().record(seq, request);
    }

    /// Whether changes are saved to a state file.
    pub(crate) fn persists(&self) -> bool {
        self.state_file.is_some()
    }

    /// Writes a snapshot to the state file unless a newer one was written already. A failed
    /// save must not fail the request; the next change tries again.
    pub(crate) fn persist(&self, generation: u64, snapshot: &Snapshot) {
        let Some(path) = &self.state_file else {
            return;
        };
        let mut saved = lock(&self.saved);
        if generation > *saved && save_snapshot(path, snapshot).is_ok() {
            *saved = generation;
        }
    }

    /// Puts `spec` into effect: a fault is injected now, a delay or token lifetime replaces
    /// the current one.
    pub(crate) fn apply(&self, spec: FaultSpec) {
        let now = self.clock.now();
        let mut state = self.state();
        match spec {
            FaultSpec::Fault(fault) => state.faults.inject(fault, now),
            FaultSpec::RecoverDelay(delay) => state.vaults.recover_delay = delay,
            FaultSpec::DeleteDelay(delay) => state.vaults.delete_delay = delay,
            FaultSpec::TokenLifetime(lifetime) => state.directory.token_lifetime = lifetime,
        }
    }

    /// Removes every fault and rate limit and puts the timing of tokens and long-running
    /// operations back as it was at start.
    pub(crate) fn reset_faults(&self) {
        let Timing {
            token_lifetime,
            recover_delay,
            delete_delay,
        } = self.timing_at_start;
        let mut state = self.state();
        state.faults.clear();
        state.directory.token_lifetime = token_lifetime;
        state.vaults.recover_delay = recover_delay;
        state.vaults.delete_delay = delete_delay;
    }
}
