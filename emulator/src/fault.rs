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

/// Which requests a rate limit counts. Key Vault's service limits count "CREATE secret" (a
/// set: `PUT /secrets/{name}`) apart from "all other transactions"
/// (learn.microsoft.com/azure/key-vault/general/service-limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    /// Every request of the target.
    All,
    /// Sets only: `PUT /secrets/{name}`.
    SetSecret,
    /// Every request but sets.
    Other,
}

impl RateClass {
    /// The class of one request: [`RateClass::SetSecret`] or [`RateClass::Other`].
    #[must_use]
    pub fn of_request(method: &str, path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if method.eq_ignore_ascii_case("PUT")
            && segments.len() == 2
            && segments[0].eq_ignore_ascii_case("secrets")
        {
            Self::SetSecret
        } else {
            Self::Other
        }
    }

    /// Whether a limit of class `self` counts a request of class `request`.
    fn counts(self, request: Self) -> bool {
        self == Self::All || self == request
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
        per_window: u32,
        window: Duration,
        class: RateClass,
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
        Self::rate_limit_for(target, RateClass::All, per_10s, RATE_WINDOW)
    }

    /// Like [`Fault::rate_limit`], counting only the requests of `class`, with `per_window`
    /// requests in windows of `window`: Key Vault's counts in compressed time when `window` is
    /// shorter than 10 s (300 sets per second instead of per 10 s), so that a test runs fast at
    /// the real counts. Then the 429s also carry `retry-after-ms` with the exact wait
    /// (`Retry-After` has whole seconds only). Limits of different classes on one target apply
    /// together; a new one replaces the one of the same target and class.
    #[must_use]
    pub fn rate_limit_for(
        target: Target,
        class: RateClass,
        per_window: u32,
        window: Duration,
    ) -> Self {
        Self {
            target,
            kind: FaultKind::RateLimit {
                per_window,
                window: window.max(Duration::from_millis(1)),
                class,
            },
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
    /// 429; `retry_after` is whole seconds except for rate limits in compressed time.
    Throttle {
        retry_after: Duration,
    },
    Status(u16),
}

#[derive(Debug)]
enum Active {
    Throttle {
        left: u32,
        retry_after_secs: u64,
    },
    Status {
        left: u32,
        status: u16,
    },
    StatusUntil {
        until: SystemTime,
        status: u16,
    },
    Latency(Duration),
    Drop {
        left: u32,
    },
    RateLimit {
        per_window: u32,
        window: Duration,
        class: RateClass,
    },
    PolicyDenial {
        left: u32,
    },
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
    windows: HashMap<(Target, RateClass), Window>,
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
            FaultKind::RateLimit {
                per_window,
                window,
                class,
            } => {
                self.active.retain(|(t, a)| {
                    !(*t == fault.target
                        && matches!(a, Active::RateLimit { class: c, .. } if *c == class))
                });
                self.windows.remove(&(fault.target, class));
                Active::RateLimit {
                    per_window,
                    window,
                    class,
                }
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

    /// Decides the fate of one request of class `class` to `target`, consuming counted faults.
    pub(crate) fn on_request(
        &mut self,
        target: Target,
        class: RateClass,
        now: SystemTime,
    ) -> Verdict {
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
                        retry_after: Duration::from_secs(*retry_after_secs),
                    };
                }
                Active::Status { left, status } if *left > 0 => {
                    *left -= 1;
                    verdict = Verdict::Status(*status);
                }
                Active::StatusUntil { until, status } if now < *until => {
                    verdict = Verdict::Status(*status);
                }
                Active::RateLimit {
                    per_window,
                    window: length,
                    class: limited,
                } if limited.counts(class) => {
                    let window = self.windows.entry((*t, *limited)).or_insert(Window {
                        start: now,
                        count: 0,
                    });
                    let elapsed = now.duration_since(window.start).unwrap_or_default();
                    if elapsed >= *length {
                        window.start = now;
                        window.count = 0;
                    }
                    if window.count >= *per_window {
                        let left = length
                            .saturating_sub(now.duration_since(window.start).unwrap_or_default());
                        verdict = Verdict::Throttle {
                            retry_after: wait_to_window_end(left, *length),
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

/// What a 429 asks a client to wait: to the window's end, rounded up (never 0) so that the
/// retry lands in the next window; whole seconds for Key Vault's 10-s windows (Retry-After has
/// no fractions), milliseconds in compressed time.
fn wait_to_window_end(left: Duration, window: Duration) -> Duration {
    let unit: u128 = if window >= RATE_WINDOW { 1_000 } else { 1 };
    let millis = left.as_nanos().div_ceil(1_000_000);
    let rounded = millis.div_ceil(unit).max(1) * unit;
    Duration::from_millis(u64::try_from(rounded).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const ANY: RateClass = RateClass::Other;

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
        assert_eq!(
            faults.on_request(Target::Entra, ANY, at(0)),
            Verdict::Proceed
        );
        for _ in 0..2 {
            assert_eq!(
                faults.on_request(Target::Vault, ANY, at(0)),
                Verdict::Throttle {
                    retry_after: Duration::from_secs(3)
                }
            );
        }
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Proceed
        );
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
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Status(503)
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Status(500)
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Throttle {
                retry_after: Duration::from_secs(2)
            }
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Proceed
        );
    }

    #[test]
    fn status_for_a_duration_then_recovery() {
        let mut faults = Faults::default();
        faults.inject(
            Fault::status_for(Target::Any, Duration::from_secs(30), 503),
            at(100),
        );
        assert_eq!(
            faults.on_request(Target::Entra, ANY, at(129)),
            Verdict::Status(503)
        );
        assert_eq!(
            faults.on_request(Target::Entra, ANY, at(130)),
            Verdict::Proceed
        );
    }

    #[test]
    fn rate_limit_counts_per_ten_second_window() {
        let mut faults = Faults::default();
        faults.inject(Fault::rate_limit(Target::Vault, 2), at(0));
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Proceed
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(1)),
            Verdict::Proceed
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(4)),
            Verdict::Throttle {
                retry_after: Duration::from_secs(6)
            }
        );
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(10)),
            Verdict::Proceed
        );
    }

    #[test]
    fn retry_after_reaches_the_end_of_the_window() {
        // Whole seconds, rounded up, for Key Vault's windows: 9.2 s left is 10.
        let mut faults = Faults::default();
        faults.inject(Fault::rate_limit(Target::Vault, 1), at(0));
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Proceed
        );
        let later = at(0) + Duration::from_millis(800);
        assert_eq!(
            faults.on_request(Target::Vault, ANY, later),
            Verdict::Throttle {
                retry_after: Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn rate_limits_per_class_in_compressed_time() {
        // Key Vault's limits (300 sets, 4000 others per 10 s) compressed into 100-ms windows.
        let window = Duration::from_millis(100);
        let ms = |n| at(0) + Duration::from_millis(n);
        let mut faults = Faults::default();
        faults.inject(
            Fault::rate_limit_for(Target::Vault, RateClass::SetSecret, 2, window),
            at(0),
        );
        faults.inject(
            Fault::rate_limit_for(Target::Vault, RateClass::Other, 3, window),
            at(0),
        );
        let set = RateClass::SetSecret;
        assert_eq!(
            faults.on_request(Target::Vault, set, ms(0)),
            Verdict::Proceed
        );
        assert_eq!(
            faults.on_request(Target::Vault, set, ms(10)),
            Verdict::Proceed
        );
        assert_eq!(
            faults.on_request(Target::Vault, set, ms(30)),
            Verdict::Throttle {
                retry_after: Duration::from_millis(70)
            }
        );
        // Reads have their own budget, untouched by the sets.
        for n in 0..3 {
            assert_eq!(
                faults.on_request(Target::Vault, ANY, ms(40 + n)),
                Verdict::Proceed
            );
        }
        assert!(matches!(
            faults.on_request(Target::Vault, ANY, ms(50)),
            Verdict::Throttle { .. }
        ));
        // Entra is another target.
        assert_eq!(
            faults.on_request(Target::Entra, set, ms(50)),
            Verdict::Proceed
        );
        // The next window.
        assert_eq!(
            faults.on_request(Target::Vault, set, ms(100)),
            Verdict::Proceed
        );
        // A new limit of the same class replaces the old one; the other class keeps its own.
        faults.inject(
            Fault::rate_limit_for(Target::Vault, RateClass::SetSecret, 1, window),
            ms(100),
        );
        assert_eq!(
            faults.on_request(Target::Vault, set, ms(101)),
            Verdict::Proceed
        );
        assert!(matches!(
            faults.on_request(Target::Vault, set, ms(102)),
            Verdict::Throttle { .. }
        ));
    }

    #[test]
    fn requests_are_classed_as_sets_or_others() {
        for (method, path, class) in [
            ("PUT", "/secrets/db-pass", RateClass::SetSecret),
            ("PUT", "/secrets/db-pass/", RateClass::SetSecret),
            ("put", "/Secrets/db-pass", RateClass::SetSecret),
            ("GET", "/secrets/db-pass", RateClass::Other),
            ("PATCH", "/secrets/db-pass/v1", RateClass::Other),
            ("PUT", "/secrets/db-pass/v1", RateClass::Other),
            ("POST", "/secrets/restore", RateClass::Other),
            ("PUT", "/deletedsecrets/db-pass", RateClass::Other),
        ] {
            assert_eq!(
                RateClass::of_request(method, path),
                class,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn policy_denials_are_counted_apart_from_request_verdicts() {
        let mut faults = Faults::default();
        faults.inject(Fault::forbidden_by_policy(Target::Vault, 2), at(0));
        // The request-level verdict ignores it: denial happens after authentication.
        assert_eq!(
            faults.on_request(Target::Vault, ANY, at(0)),
            Verdict::Proceed
        );
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
