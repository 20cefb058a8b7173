//! The token cache: one entry per (tenant, scopes), single flight, background refresh,
//! failure back-off.
//!
//! Rules (facts: specs/azure-protocols.md A7, with one deliberate difference):
//! - a token is *fresh* until `min(refresh_on, expires_on - refresh_before_expiry)`; fresh
//!   tokens are returned without I/O;
//! - a *stale* token (past that point but more than `min_validity` from expiry) is still
//!   returned at once, and one background refresh starts (at most one per
//!   `refresh_retry_delay`); if it fails the old token is kept — Python and the Rust SDK
//!   refresh inline here, which makes the unlucky caller wait through Entra's retries;
//! - with no usable token, callers queue behind one request (single flight) and all get its
//!   result; after a failure they get that same error without a new request until the
//!   back-off (doubling from `failure_backoff` to `max_failure_backoff`) has passed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::OwnedMutexGuard;

use crate::{AccessToken, CacheOptions, Clock, Error, Result};

/// What the cache is keyed by. Scopes are sorted and deduplicated.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub(crate) tenant: Option<String>,
    pub(crate) scopes: Vec<String>,
}

impl CacheKey {
    pub(crate) fn new(tenant: Option<String>, mut scopes: Vec<String>) -> Self {
        scopes.sort();
        scopes.dedup();
        Self { tenant, scopes }
    }
}

/// The thing that actually requests a token (one per credential).
#[async_trait]
pub(crate) trait TokenSource: Send + Sync + 'static {
    async fn fetch(&self, key: &CacheKey) -> Result<AccessToken>;
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    options: CacheOptions,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<CacheKey, Arc<Slot>>>,
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// Held while a request for this key is in flight.
    flight: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Default)]
struct SlotState {
    token: Option<AccessToken>,
    last_attempt: Option<OffsetDateTime>,
    failures: u32,
    blocked_until: Option<OffsetDateTime>,
    last_error: Option<Error>,
}

enum Usability {
    Fresh,
    Stale,
    Unusable,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenCache {
    pub(crate) fn new(options: CacheOptions, clock: Arc<dyn Clock>) -> Self {
        Self {
            options,
            clock,
            slots: Mutex::default(),
        }
    }

    fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        lock(&self.slots).entry(key.clone()).or_default().clone()
    }

    /// A token for `key`: cached, or from `source` (once, however many callers wait).
    ///
    /// With `force_refresh` the cached token is not served: the caller gets a token that
    /// another caller fetched after this call started, or fetches one itself.
    pub(crate) async fn get<S: TokenSource>(
        &self,
        source: &Arc<S>,
        key: CacheKey,
        force_refresh: bool,
    ) -> Result<AccessToken> {
        let slot = self.slot(&key);
        if force_refresh {
            return self.get_forced(source, &key, &slot).await;
        }
        // Fast path: no waiting when a usable token is cached.
        let background = {
            let now = self.clock.now();
            let mut state = lock(&slot.state);
            let mut started = None;
            if let Some(token) = state.token.clone() {
                match usability(&self.options, &token, now) {
                    Usability::Fresh => return Ok(token),
                    Usability::Stale => {
                        let due = state
                            .last_attempt
                            .is_none_or(|at| now >= at + self.options.refresh_retry_delay);
                        if let Some(guard) = due
                            .then(|| slot.flight.clone().try_lock_owned().ok())
                            .flatten()
                        {
                            state.last_attempt = Some(now);
                            started = Some((guard, token));
                        } else {
                            return Ok(token);
                        }
                    }
                    Usability::Unusable => {}
                }
            }
            if started.is_none()
                && let Some(error) = backed_off(&state, now)
            {
                return Err(error);
            }
            started
        };
        if let Some((guard, old)) = background {
            let task = refresh(
                self.options,
                self.clock.clone(),
                slot,
                source.clone(),
                key,
                guard,
            );
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(task);
                return Ok(old);
            }
            // No tokio runtime to run it in the background: refresh inline.
            return Ok(task.await.unwrap_or(old));
        }

        // Slow path: queue behind the request in flight, then look again.
        let flight = slot.flight.clone().lock_owned().await;
        {
            let now = self.clock.now();
            let state = lock(&slot.state);
            if let Some(token) = &state.token
                && !matches!(usability(&self.options, token, now), Usability::Unusable)
            {
                return Ok(token.clone());
            }
            if let Some(error) = backed_off(&state, now) {
                return Err(error);
            }
        }
        lock(&slot.state).last_attempt = Some(self.clock.now());
        let result = source.fetch(&key).await;
        record(&self.options, self.clock.as_ref(), &slot, &result);
        drop(flight);
        result
    }

    /// A forced refresh: single flight like a cold start, but the token cached when the call
    /// started (the one the caller was refused with) is never the answer.
    async fn get_forced<S: TokenSource>(
        &self,
        source: &Arc<S>,
        key: &CacheKey,
        slot: &Arc<Slot>,
    ) -> Result<AccessToken> {
        let replaced = lock(&slot.state).token.clone();
        let flight = slot.flight.clone().lock_owned().await;
        {
            let now = self.clock.now();
            let state = lock(&slot.state);
            if let Some(token) = &state.token
                && !same_token(Some(token), replaced.as_ref())
                && !matches!(usability(&self.options, token, now), Usability::Unusable)
            {
                // Fetched by a caller that was in flight while this one waited.
                return Ok(token.clone());
            }
            if let Some(error) = backed_off(&state, now) {
                return Err(error);
            }
        }
        lock(&slot.state).last_attempt = Some(self.clock.now());
        let result = source.fetch(key).await;
        record(&self.options, self.clock.as_ref(), slot, &result);
        drop(flight);
        result
    }

    /// Waits until no request is in flight for `key` (tests use it to observe background
    /// refreshes).
    #[cfg(test)]
    pub(crate) async fn wait_idle(&self, key: &CacheKey) {
        let slot = self.slot(key);
        drop(slot.flight.lock().await);
    }
}

/// A background refresh: fetch, record, release the flight. Returns the new token, if any.
async fn refresh<S: TokenSource>(
    options: CacheOptions,
    clock: Arc<dyn Clock>,
    slot: Arc<Slot>,
    source: Arc<S>,
    key: CacheKey,
    flight: OwnedMutexGuard<()>,
) -> Option<AccessToken> {
    let result = source.fetch(&key).await;
    if let Err(error) = &result {
        tracing::warn!(scopes = ?key.scopes, tenant = ?key.tenant, %error, "token refresh failed; keeping the cached token while it is valid");
    }
    record(&options, clock.as_ref(), &slot, &result);
    drop(flight);
    result.ok()
}

fn record(options: &CacheOptions, clock: &dyn Clock, slot: &Slot, result: &Result<AccessToken>) {
    let now = clock.now();
    let mut state = lock(&slot.state);
    match result {
        Ok(token) => {
            state.token = Some(token.clone());
            state.failures = 0;
            state.blocked_until = None;
            state.last_error = None;
        }
        Err(error) => {
            state.failures = state.failures.saturating_add(1);
            let exponent = state.failures.saturating_sub(1).min(16);
            let backoff = options
                .failure_backoff
                .saturating_mul(1_u32 << exponent)
                .min(options.max_failure_backoff);
            state.blocked_until = Some(now + backoff);
            state.last_error = Some(error.clone());
        }
    }
}

fn same_token(a: Option<&AccessToken>, b: Option<&AccessToken>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.secret() == b.secret() && a.expires_on() == b.expires_on(),
        (None, None) => true,
        _ => false,
    }
}

fn backed_off(state: &SlotState, now: OffsetDateTime) -> Option<Error> {
    match (&state.last_error, state.blocked_until) {
        (Some(error), Some(until)) if now < until => Some(error.clone()),
        _ => None,
    }
}

fn usability(options: &CacheOptions, token: &AccessToken, now: OffsetDateTime) -> Usability {
    let expires_on = token.expires_on();
    if now + options.min_validity >= expires_on {
        return Usability::Unusable;
    }
    let mut refresh_at = expires_on - options.refresh_before_expiry;
    if let Some(refresh_on) = token.refresh_on() {
        refresh_at = refresh_at.min(refresh_on);
    }
    if now >= refresh_at {
        Usability::Stale
    } else {
        Usability::Fresh
    }
}

/// The `refresh_on` rule shared by Entra and managed identity (Python/MSAL): the response's
/// `refresh_in` when given, else half the lifetime for tokens living two hours or more.
pub(crate) fn refresh_on(
    requested_at: OffsetDateTime,
    expires_in: Option<Duration>,
    refresh_in: Option<Duration>,
) -> Option<OffsetDateTime> {
    match (refresh_in, expires_in) {
        (Some(refresh_in), _) => later_by(requested_at, refresh_in),
        (None, Some(expires_in)) if expires_in >= Duration::from_secs(7200) => {
            later_by(requested_at, expires_in / 2)
        }
        _ => None,
    }
}

/// `at + duration`, or `None` past the representable range: durations come from token
/// responses, and `OffsetDateTime + Duration` panics on overflow.
pub(crate) fn later_by(at: OffsetDateTime, duration: Duration) -> Option<OffsetDateTime> {
    time::Duration::try_from(duration)
        .ok()
        .and_then(|duration| at.checked_add(duration))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use time::macros::datetime;

    use super::*;

    #[derive(Debug)]
    struct ManualClock(Mutex<OffsetDateTime>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *lock(&self.0) += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> OffsetDateTime {
            *lock(&self.0)
        }
    }

    /// A source that answers from a script: each fetch takes `delay` (virtual time) and then
    /// returns a token living `lifetime` from now, or an error while `failing` is set.
    #[derive(Debug)]
    struct ScriptedSource {
        clock: Arc<ManualClock>,
        fetches: AtomicUsize,
        failing: Mutex<bool>,
        lifetime: Duration,
        delay: Duration,
    }

    #[async_trait]
    impl TokenSource for ScriptedSource {
        async fn fetch(&self, _key: &CacheKey) -> Result<AccessToken> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(self.delay).await;
            if *lock(&self.failing) {
                return Err(Error::Unavailable {
                    credential: "Scripted",
                    reason: format!("failure #{n}"),
                });
            }
            Ok(AccessToken::new(
                format!("token-{n}"),
                self.clock.now() + self.lifetime,
            ))
        }
    }

    struct Fixture {
        clock: Arc<ManualClock>,
        source: Arc<ScriptedSource>,
        cache: TokenCache,
        key: CacheKey,
    }

    impl Fixture {
        fn new(lifetime: Duration) -> Self {
            let clock = Arc::new(ManualClock(Mutex::new(datetime!(2026-11-23 08:00 UTC))));
            let source = Arc::new(ScriptedSource {
                clock: clock.clone(),
                fetches: AtomicUsize::new(0),
                failing: Mutex::new(false),
                lifetime,
                delay: Duration::from_millis(100),
            });
            let cache = TokenCache::new(CacheOptions::default(), clock.clone());
            let key = CacheKey::new(Some("t".into()), vec!["s/.default".into()]);
            Self {
                clock,
                source,
                cache,
                key,
            }
        }

        async fn get(&self) -> Result<String> {
            self.get_with(false).await
        }

        async fn get_with(&self, force_refresh: bool) -> Result<String> {
            self.cache
                .get(&self.source, self.key.clone(), force_refresh)
                .await
                .map(|t| t.secret().to_owned())
        }

        fn fetches(&self) -> usize {
            self.source.fetches.load(Ordering::SeqCst)
        }

        fn set_failing(&self, failing: bool) {
            *lock(&self.source.failing) = failing;
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn concurrent_cold_callers_share_one_request() {
        let fixture = Arc::new(Fixture::new(HOUR));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let fixture = fixture.clone();
                tokio::spawn(async move { fixture.get().await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), "token-1");
        }
        assert_eq!(fixture.fetches(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_tokens_are_reused_and_scope_order_does_not_matter() {
        let f = Fixture::new(HOUR);
        assert_eq!(f.get().await.unwrap(), "token-1");
        f.clock.advance(Duration::from_secs(3000));
        assert_eq!(f.get().await.unwrap(), "token-1");
        assert_eq!(f.fetches(), 1);
        let reordered = CacheKey::new(Some("t".into()), vec!["b".into(), "a".into(), "a".into()]);
        assert_eq!(
            reordered,
            CacheKey::new(Some("t".into()), vec!["a".into(), "b".into()])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stale_token_is_served_while_a_background_refresh_replaces_it() {
        let f = Fixture::new(HOUR);
        f.get().await.unwrap();
        // Inside the 5-minute window: old token now, new one once the refresh lands.
        f.clock.advance(HOUR - Duration::from_secs(200));
        assert_eq!(f.get().await.unwrap(), "token-1");
        f.cache.wait_idle(&f.key).await;
        assert_eq!(f.fetches(), 2);
        assert_eq!(f.get().await.unwrap(), "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_keeps_the_valid_token_and_waits_before_retrying() {
        let f = Fixture::new(HOUR);
        f.get().await.unwrap();
        f.set_failing(true);
        f.clock.advance(HOUR - Duration::from_secs(250));
        for _ in 0..5 {
            assert_eq!(f.get().await.unwrap(), "token-1");
            f.cache.wait_idle(&f.key).await;
        }
        assert_eq!(
            f.fetches(),
            2,
            "one refresh attempt per refresh_retry_delay"
        );
        f.clock.advance(Duration::from_secs(31));
        assert_eq!(f.get().await.unwrap(), "token-1");
        f.cache.wait_idle(&f.key).await;
        assert_eq!(f.fetches(), 3);
        f.set_failing(false);
        f.clock.advance(Duration::from_secs(31));
        assert_eq!(f.get().await.unwrap(), "token-1");
        f.cache.wait_idle(&f.key).await;
        assert_eq!(f.get().await.unwrap(), "token-4");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_near_expiry_are_not_served() {
        let f = Fixture::new(HOUR);
        f.get().await.unwrap();
        f.clock.advance(HOUR - Duration::from_secs(10));
        assert_eq!(
            f.get().await.unwrap(),
            "token-2",
            "caller waits for a new token"
        );
        assert_eq!(f.fetches(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_without_a_token_back_off_exponentially() {
        let f = Fixture::new(HOUR);
        f.set_failing(true);
        let first = f.get().await.unwrap_err().to_string();
        assert!(first.contains("failure #1"), "{first}");
        // Within the 2 s back-off: same error, no request.
        for _ in 0..10 {
            assert!(
                f.get()
                    .await
                    .unwrap_err()
                    .to_string()
                    .contains("failure #1")
            );
        }
        assert_eq!(f.fetches(), 1);
        f.clock.advance(Duration::from_secs(2));
        assert!(
            f.get()
                .await
                .unwrap_err()
                .to_string()
                .contains("failure #2")
        );
        // Second back-off is 4 s.
        f.clock.advance(Duration::from_secs(3));
        assert!(
            f.get()
                .await
                .unwrap_err()
                .to_string()
                .contains("failure #2")
        );
        f.clock.advance(Duration::from_secs(1));
        f.set_failing(false);
        assert_eq!(f.get().await.unwrap(), "token-3");
        assert_eq!(f.fetches(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_behind_a_failure_make_no_further_requests() {
        let fixture = Arc::new(Fixture::new(HOUR));
        fixture.set_failing(true);
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let fixture = fixture.clone();
                tokio::spawn(async move { fixture.get().await })
            })
            .collect();
        for caller in callers {
            assert!(caller.await.unwrap().is_err());
        }
        assert_eq!(fixture.fetches(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn forced_call_replaces_a_fresh_token_and_the_cache_keeps_the_new_one() {
        let f = Fixture::new(HOUR);
        assert_eq!(f.get().await.unwrap(), "token-1");
        f.clock.advance(Duration::from_secs(60));
        assert_eq!(
            f.get().await.unwrap(),
            "token-1",
            "fresh: served from cache"
        );
        assert_eq!(f.fetches(), 1);
        assert_eq!(f.get_with(true).await.unwrap(), "token-2");
        assert_eq!(f.fetches(), 2);
        assert_eq!(f.get().await.unwrap(), "token-2", "the new token is cached");
        assert_eq!(f.fetches(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_forced_callers_share_one_request() {
        let fixture = Arc::new(Fixture::new(HOUR));
        assert_eq!(fixture.get().await.unwrap(), "token-1");
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let fixture = fixture.clone();
                tokio::spawn(async move { fixture.get_with(true).await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), "token-2");
        }
        assert_eq!(fixture.fetches(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn forced_call_behind_a_background_refresh_takes_its_token() {
        let f = Fixture::new(HOUR);
        f.get().await.unwrap();
        f.clock.advance(HOUR - Duration::from_secs(200));
        // Serves token-1 and starts the background refresh (in flight for 100 ms).
        assert_eq!(f.get().await.unwrap(), "token-1");
        assert_eq!(f.get_with(true).await.unwrap(), "token-2");
        assert_eq!(f.fetches(), 2, "the forced call waited for the refresh");
    }

    #[tokio::test(start_paused = true)]
    async fn forced_call_respects_the_failure_back_off_and_never_returns_the_old_token() {
        let f = Fixture::new(HOUR);
        f.get().await.unwrap();
        f.set_failing(true);
        let error = f.get_with(true).await.unwrap_err().to_string();
        assert!(error.contains("failure #2"), "{error}");
        let again = f.get_with(true).await.unwrap_err().to_string();
        assert!(again.contains("failure #2"), "backed off: {again}");
        assert_eq!(f.fetches(), 2);
        assert_eq!(
            f.get().await.unwrap(),
            "token-1",
            "unforced callers keep the valid token"
        );
        f.set_failing(false);
        f.clock.advance(Duration::from_secs(2));
        assert_eq!(f.get_with(true).await.unwrap(), "token-3");
    }

    #[test]
    fn refresh_on_rule() {
        let at = datetime!(2026-11-23 08:00 UTC);
        assert_eq!(refresh_on(at, Some(HOUR), None), None);
        assert_eq!(
            refresh_on(at, Some(Duration::from_secs(86_400)), None),
            Some(at + Duration::from_secs(43_200))
        );
        assert_eq!(
            refresh_on(at, Some(HOUR), Some(Duration::from_secs(600))),
            Some(at + Duration::from_secs(600))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_on_makes_a_token_stale_early() {
        let f = Fixture::new(HOUR);
        let clock = f.clock.clone();
        let cache = TokenCache::new(CacheOptions::default(), clock.clone());
        #[derive(Debug)]
        struct EarlyRefresh(Arc<ManualClock>, AtomicUsize);
        #[async_trait]
        impl TokenSource for EarlyRefresh {
            async fn fetch(&self, _key: &CacheKey) -> Result<AccessToken> {
                let n = self.1.fetch_add(1, Ordering::SeqCst);
                let now = self.0.now();
                Ok(AccessToken::new(format!("early-{n}"), now + HOUR)
                    .with_refresh_on(now + Duration::from_secs(600)))
            }
        }
        let source = Arc::new(EarlyRefresh(clock.clone(), AtomicUsize::new(0)));
        assert_eq!(
            cache
                .get(&source, f.key.clone(), false)
                .await
                .unwrap()
                .secret(),
            "early-0"
        );
        clock.advance(Duration::from_secs(601));
        assert_eq!(
            cache
                .get(&source, f.key.clone(), false)
                .await
                .unwrap()
                .secret(),
            "early-0"
        );
        cache.wait_idle(&f.key).await;
        assert_eq!(
            cache
                .get(&source, f.key.clone(), false)
                .await
                .unwrap()
                .secret(),
            "early-1"
        );
    }
}
