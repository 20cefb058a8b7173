//! Fault injection: throttling, 5xx bursts, latency, dropped connections, rate limits.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Which part of the emulator a request goes to (and a fault applies to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The Key Vault data plane (`/secrets`, `/deletedsecrets`, anything not below).
    Vault,
    /// Entra ID: `/{tenant}/oauth2/...`, `/{tenant}/v2.0/.well-known/...`, `/common/discovery/...`.
    Entra,
    /// The managed-identity endpoints: IMDS `/metadata/identity/oauth2/token` and App Service `/msi/token`.
    ManagedIdentity,
    /// Every request (only meaningful for faults and filters).
    Any,
}

impl Target {
    /// The target a request path belongs to.
    #[must_use]
    pub fn classify(path: &str) -> Self {
        let mut segments = path.trim_start_matches('/').split('/');
        let first = segments.next().unwrap_or_default();
        let second = segments.next().unwrap_or_default();
        if first == "metadata" && second == "identity" || first == "msi" {
            Self::ManagedIdentity
        } else if first.eq_ignore_ascii_case("secrets")
            || first.eq_ignore_ascii_case("deletedsecrets")
        {
            Self::Vault
        } else if matches!(second, "oauth2" | "v2.0" | ".well-known" | "discovery") {
            Self::Entra
        } else {
            Self::Vault
        }
    }

    /// Whether a fault or filter aimed at `self` covers a request to `actual`.
    #[must_use]
    pub fn covers(self, actual: Self) -> bool {
        self == Self::Any || self == actual
    }
}

/// A fault to inject, built with the constructors below and given to
/// `Emulator::inject` or `EmulatorConfig::faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    target: Target,
    kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultKind {
    Throttle {
        requests: u32,
        retry_after_secs: u64,
    },
    Status {
        requests: u32,
        status: u16,
    },
    StatusFor {
        duration: Duration,
        status: u16,
    },
    Latency(Duration),
    Drop {
        requests: u32,
    },
    RateLimit {
        per_10s: u32,
    },
    ForbiddenByPolicy {
        requests: u32,
    },
}

impl Fault {
    /// The next `requests` requests to `target` get 429 with `Retry-After: retry_after_secs`.
    #[must_use]
    pub fn throttle(target: Target, requests: u32, retry_after_secs: u64) -> Self {
        Self {
            target,
            kind: FaultKind::Throttle {
                requests,
                retry_after_secs,
            },
        }
    }

    /// The next `requests` requests to `target` get `status` (e.g. 503) with an error body.
    #[must_use]
    pub fn status(target: Target, requests: u32, status: u16) -> Self {
        Self {
            target,
            kind: FaultKind::Status { requests, status },
        }
    }

    /// Every request to `target` gets `status` for `duration` from the moment of injection.
    #[must_use]
    pub fn status_for(target: Target, duration: Duration, status: u16) -> Self {
        Self {
            target,
            kind: FaultKind::StatusFor { duration, status },
        }
    }

    /// Every response from `target` is delayed by `latency` (until faults are cleared).
    #[must_use]
    pub fn latency(target: Target, latency: Duration) -> Self {
        Self {
            target,
            kind: FaultKind::Latency(latency),
        }
    }

    /// The next `requests` requests to `target` are read and then the connection is closed
    /// without any response.
    #[must_use]
    pub fn drop_connections(target: Target, requests: u32) -> Self {
        Self {
            target,
            kind: FaultKind::Drop { requests },
        }
    }

    /// Like the real vault: past `per_10s` requests in a 10-second window, 429 with
    /// `Retry-After` (seconds to the end of the window). Throttled requests do not count.
    #[must_use]
    pub fn rate_limit(target: Target, per_10s: u32) -> Self {
        Self {
            target,
            kind: FaultKind::RateLimit { per_10s },
        }
    }

    /// The next `requests` authenticated vault requests are denied by an Azure Policy: 403
    /// `Forbidden` / innererror `ForbiddenByPolicy` ("The policy requires the caller '…' to
    /// use on-behalf-of (OBO) flow."), whatever the caller's permissions. Requests that do not
    /// get that far (challenges, 401s, 400s for a missing api-version, unknown paths) do not
    /// count. Only vault requests are ever denied: use `Target::Vault` (or `Target::Any`).
    #[must_use]
    pub fn forbidden_by_policy(target: Target, requests: u32) -> Self {
        Self {
            target,
            kind: FaultKind::ForbiddenByPolicy { requests },
        }
    }

    /// The target this fault applies to.
    #[must_use]
    pub fn target(&self) -> Target {
        self.target
    }
}

/// What the fault set decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Proceed,
    Throttle { retry_after_secs: u64 },
    Status(u16),
}

#[derive(Debug)]
enum Active {
    Throttle { left: u32, retry_after_secs: u64 },
    Status { left: u32, status: u16 },
    StatusUntil { until: SystemTime, status: u16 },
    Latency(Duration),
    Drop { left: u32 },
    RateLimit { per_10s: u32 },
    PolicyDenial { left: u32 },
}

#[derive(Debug)]
struct Window {
    start: SystemTime,
    count: u32,
}

const RATE_WINDOW: Duration = Duration::from_secs(10);

/// The active faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    active: Vec<(Target, Active)>,
    windows: HashMap<Target, Window>,
}

impl Faults {
    pub(crate) fn inject(&mut self, fault: Fault, now: SystemTime) {
        let active = match fault.kind {
            FaultKind::Throttle {
                requests,
                retry_after_secs,
            } => Active::Throttle {
                left: requests,
                retry_after_secs,
            },
            FaultKind::Status { requests, status } => Active::Status {
                left: requests,
                status,
            },
            FaultKind::StatusFor { duration, status } => Active::StatusUntil {
                until: now + duration,
                status,
            },
            FaultKind::Latency(latency) => Active::Latency(latency),
            FaultKind::Drop { requests } => Active::Drop { left: requests },
            FaultKind::ForbiddenByPolicy { requests } => Active::PolicyDenial { left: requests },
            FaultKind::RateLimit { per_10s } => {
                self.active.retain(|(t, a)| {
                    !(*t == fault.target && matches!(a, Active::RateLimit { .. }))
                });
                self.windows.remove(&fault.target);
                Active::RateLimit { per_10s }
            }
        };
        self.active.push((fault.target, active));
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
        self.windows.clear();
    }

    /// Whether the next request to `target` must be dropped (consumes one drop).
    pub(crate) fn take_drop(&mut self, target: Target) -> bool {
        self.take_counted(target, |active| match active {
            Active::Drop { left } => Some(left),
            _ => None,
        })
    }

    /// Whether the next authenticated request to `target` must be denied by policy (consumes
    /// one denial).
    pub(crate) fn take_policy_denial(&mut self, target: Target) -> bool {
        self.take_counted(target, |active| match active {
            Active::PolicyDenial { left } => Some(left),
            _ => None,
        })
    }

    /// Consumes one use of the first fault covering `target` whose remaining count `left_of`
    /// gives (`None` for the other kinds), and forgets the used-up ones of that kind; whether
    /// there was one to consume.
    fn take_counted(
        &mut self,
        target: Target,
        left_of: fn(&mut Active) -> Option<&mut u32>,
    ) -> bool {
        let mut taken = false;
        for (t, active) in &mut self.active {
            if let Some(left) = left_of(active)
                && t.covers(target)
                && *left > 0
            {
                *left -= 1;
                taken = true;
                break;
            }
        }
        self.active
            .retain_mut(|(_, active)| left_of(active).is_none_or(|left| *left > 0));
        taken
    }

    /// The extra latency for a response from `target`.
    pub(crate) fn latency(&self, target: Target) -> Duration {
        self.active
            .iter()
            .filter(|(t, _)| t.covers(target))
            .filter_map(|(_, a)| match a {
                Active::Latency(d) => Some(*d),
                _ => None,
            })
            .sum()
    }

    /// Decides the fate of one request to `target`, consuming counted faults.
    pub(crate) fn on_request(&mut self, target: Target, now: SystemTime) -> Verdict {
        let mut verdict = Verdict::Proceed;
        for (t, active) in &mut self.active {
            if !t.covers(target) {
                continue;
            }
            match active {
                Active::Throttle {
                    left,
                    retry_after_secs,
                } if *left > 0 => {
                    *left -= 1;
                    verdict = Verdict::Throttle {
                        retry_after_secs: *retry_after_secs,
                    };
                }
                Active::Status { left, status } if *left > 0 => {
                    *left -= 1;
                    verdict = Verdict::Status(*status);
                }
                Active::StatusUntil { until, status } if now < *until => {
                    verdict = Verdict::Status(*status);
                }
                Active::RateLimit { per_10s } => {
                    let window = self.windows.entry(*t).or_insert(Window {
                        start: now,
                        count: 0,
                    });
                    let elapsed = now.duration_since(window.start).unwrap_or_default();
                    if elapsed >= RATE_WINDOW {
                        window.start = now;
                        window.count = 0;
                    }
                    if window.count >= *per_10s {
                        let left = RATE_WINDOW
                            .saturating_sub(now.duration_since(window.start).unwrap_or_default());
                        verdict = Verdict::Throttle {
                            retry_after_secs: left.as_secs().max(1),
                        };
                    } else {
                        window.count += 1;
                        continue;
                    }
                }
                _ => continue,
            }
            break;
        }
        self.active.retain(|(_, a)| match a {
            Active::Throttle { left, .. } | Active::Status { left, .. } => *left > 0,
            Active::StatusUntil { until, .. } => now < *until,
            _ => true,
        });
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn paths_go_to_their_targets() {
        for (path, target) in [
            ("/secrets/a/", Target::Vault),
            ("/deletedsecrets", Target::Vault),
            ("/t/oauth2/v2.0/token", Target::Entra),
            ("/t/v2.0/.well-known/openid-configuration", Target::Entra),
            ("/common/discovery/instance", Target::Entra),
            ("/metadata/identity/oauth2/token", Target::ManagedIdentity),
            ("/msi/token", Target::ManagedIdentity),
            ("/", Target::Vault),
        ] {
            assert_eq!(Target::classify(path), target, "{path}");
        }
    }

    #[test]
    fn throttle_applies_to_exactly_n_requests_of_its_target() {
        let mut faults = Faults::default();
        faults.inject(Fault::throttle(Target::Vault, 2, 3), at(0));
        assert_eq!(faults.on_request(Target::Entra, at(0)), Verdict::Proceed);
        for _ in 0..2 {
            assert_eq!(
                faults.on_request(Target::Vault, at(0)),
                Verdict::Throttle {
                    retry_after_secs: 3
                }
            );
        }
        assert_eq!(faults.on_request(Target::Vault, at(0)), Verdict::Proceed);
    }

    #[test]
    fn faults_injected_together_each_take_their_own_requests() {
        // docs/emulator.md: a counted fault acts on the next n requests; two injected together
        // act one after the other, not both on the same request.
        let mut faults = Faults::default();
        faults.inject(Fault::status(Target::Vault, 1, 503), at(0));
        faults.inject(Fault::status(Target::Vault, 1, 500), at(0));
        faults.inject(Fault::throttle(Target::Vault, 1, 2), at(0));
        assert_eq!(
            faults.on_request(Target::Vault, at(0)),
            Verdict::Status(503)
        );
        assert_eq!(
            faults.on_request(Target::Vault, at(0)),
            Verdict::Status(500)
        );
        assert_eq!(
            faults.on_request(Target::Vault, at(0)),
            Verdict::Throttle {
                retry_after_secs: 2
            }
        );
        assert_eq!(faults.on_request(Target::Vault, at(0)), Verdict::Proceed);
    }

    #[test]
    fn status_for_a_duration_then_recovery() {
        let mut faults = Faults::default();
        faults.inject(
            Fault::status_for(Target::Any, Duration::from_secs(30), 503),
            at(100),
        );
        assert_eq!(
            faults.on_request(Target::Entra, at(129)),
            Verdict::Status(503)
        );
        assert_eq!(faults.on_request(Target::Entra, at(130)), Verdict::Proceed);
    }

    #[test]
    fn rate_limit_counts_per_ten_second_window() {
        let mut faults = Faults::default();
        faults.inject(Fault::rate_limit(Target::Vault, 2), at(0));
        assert_eq!(faults.on_request(Target::Vault, at(0)), Verdict::Proceed);
        assert_eq!(faults.on_request(Target::Vault, at(1)), Verdict::Proceed);
        assert_eq!(
            faults.on_request(Target::Vault, at(4)),
            Verdict::Throttle {
                retry_after_secs: 6
            }
        );
        assert_eq!(faults.on_request(Target::Vault, at(10)), Verdict::Proceed);
    }

    #[test]
    fn policy_denials_are_counted_apart_from_request_verdicts() {
        let mut faults = Faults::default();
        faults.inject(Fault::forbidden_by_policy(Target::Vault, 2), at(0));
        // The request-level verdict ignores it: denial happens after authentication.
        assert_eq!(faults.on_request(Target::Vault, at(0)), Verdict::Proceed);
        assert!(!faults.take_policy_denial(Target::Entra));
        assert!(faults.take_policy_denial(Target::Vault));
        assert!(faults.take_policy_denial(Target::Vault));
        assert!(!faults.take_policy_denial(Target::Vault));
        faults.inject(Fault::forbidden_by_policy(Target::Any, 1), at(0));
        assert!(faults.take_policy_denial(Target::Vault));
        assert!(!faults.take_policy_denial(Target::Vault));
    }

    #[test]
    fn drops_and_latency() {
        let mut faults = Faults::default();
        faults.inject(Fault::drop_connections(Target::Vault, 1), at(0));
        faults.inject(Fault::latency(Target::Any, Duration::from_millis(5)), at(0));
        assert!(!faults.take_drop(Target::Entra));
        assert!(faults.take_drop(Target::Vault));
        assert!(!faults.take_drop(Target::Vault));
        assert_eq!(faults.latency(Target::Entra), Duration::from_millis(5));
        faults.clear();
        assert_eq!(faults.latency(Target::Entra), Duration::ZERO);
    }
}
