//! The consumer side: turning `secret:<name>` references back into values.
//!
//! Reference syntax follows OpenMetadata's ingestion (`CustomSecretStr.get_secret_value`): a
//! string that starts with `secret:` is a reference, and the name is the string with **every**
//! `secret:` removed. The name is used verbatim as the Key Vault name.
//!
//! Unlike OpenMetadata's ingestion, which reads the vault once per use, one at a time, a
//! [`Resolver`] reads every distinct name of a document once, concurrently (at most
//! [`ResolverOptions::max_concurrency`] reads in flight), with one read per name however many
//! callers miss it at the same time, and caches values for a TTL; while the vault is failing it
//! serves a cached value past its TTL for a bounded time, and it remembers for a short while
//! that a name does not exist.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};
use vaultref_transport::{Clock, SystemClock};

use crate::backend::SecretBackend;
use crate::custody::OWNER_TAG;
use crate::error::{BackendErrorKind, Error, Result};
use crate::manager::SECRET_PREFIX;
use crate::naming::{SecretName, secret_name};

/// The value older OpenMetadata versions stored for a cleared password (read as empty unless
/// vaultref wrote it: then it is a password that is literally `null`).
const LEGACY_NULL: &str = "null";

/// What to do with a reference that cannot be resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnresolvedPolicy {
    /// Fail with an error naming the reference, leaving the document unchanged (the default:
    /// a credential that is the text `secret:...` is wrong).
    #[default]
    Fail,
    /// OpenMetadata's ingestion behaviour, for compatibility only: log the failure and pass the
    /// reference text on as if it were the value.
    KeepReference,
}

/// How a [`Resolver`] caches, how hard it may press the vault, and what it does on failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverOptions {
    /// How long a value read from the vault is reused, in seconds (0: no cache).
    pub ttl_seconds: u64,
    /// After its TTL, a cached value is still served while the vault is failing (throttled,
    /// unreachable, 5xx) for at most this many more seconds; never for a secret the vault says
    /// is gone, nor when access is denied.
    pub max_stale_seconds: u64,
    /// How long a name the vault does not have is remembered as missing, in seconds (0: not
    /// remembered).
    pub negative_ttl_seconds: u64,
    /// At most this many names are kept; the one read longest ago is dropped to make room.
    pub max_entries: usize,
    /// At most this many vault reads in flight at once, across all callers.
    pub max_concurrency: usize,
    /// What to do with references that do not resolve.
    pub on_unresolved: UnresolvedPolicy,
    /// Read a stored `"null"` as empty (older OpenMetadata versions wrote it for a cleared
    /// password). Off for stores where `"null"` is a value like any other (Airflow variables).
    pub legacy_null_as_empty: bool,
}

impl Default for ResolverOptions {
    /// Five minutes' TTL, one hour of stale serving, ten seconds of negative caching, 1000
    /// entries, 64 reads in flight, fail on unresolved references, a stored `"null"` read as
    /// empty.
    fn default() -> Self {
        Self {
            ttl_seconds: 300,
            max_stale_seconds: 3600,
            negative_ttl_seconds: 10,
            max_entries: 1000,
            max_concurrency: 64,
            on_unresolved: UnresolvedPolicy::Fail,
            legacy_null_as_empty: true,
        }
    }
}

/// What [`Resolver::resolve_references`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolveReport {
    /// Reference strings replaced by their value (a name referenced twice counts twice).
    pub resolved: usize,
    /// Distinct names referenced.
    pub distinct: usize,
    /// Vault reads this call made (names served from the cache, or by a read another caller
    /// had in flight, cost none).
    pub vault_reads: usize,
    /// References kept as text (only with [`UnresolvedPolicy::KeepReference`]): the names.
    pub unresolved: Vec<String>,
}

/// What a lookup gives every caller waiting for it.
type Outcome = std::result::Result<Arc<SecretString>, Arc<Error>>;

enum Cached {
    Value(Arc<SecretString>),
    /// The vault said the name does not exist.
    Missing(Arc<Error>),
}

struct Entry {
    cached: Cached,
    fetched_at: u64,
}

/// Resolves `secret:` references through a [`SecretBackend`]; see the module documentation.
pub struct Resolver {
    backend: Arc<dyn SecretBackend>,
    clock: Arc<dyn Clock>,
    options: ResolverOptions,
    cache: Mutex<HashMap<SecretName, Entry>>,
    /// One read per name in flight; every caller missing that name waits for it.
    inflight: Mutex<HashMap<SecretName, Arc<OnceCell<Outcome>>>>,
    permits: Semaphore,
}

impl fmt::Debug for Resolver {
    /// Options and cached names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("backend", &self.backend)
            .field("options", &self.options)
            .field("cached", &self.cache().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A reference's name for messages: the name, or `(invalid name)` when it is not a valid one
/// (the error describes it; the text may be a value pasted by mistake).
fn shown_reference(name: &str, error: &Error) -> String {
    if matches!(error, Error::InvalidSecretName { .. }) {
        "(invalid name)".to_owned()
    } else {
        name.to_owned()
    }
}

/// The name a reference points to, as OpenMetadata's ingestion reads it; `None` when `value`
/// is not a reference.
#[must_use]
pub fn reference_name(value: &str) -> Option<String> {
    value
        .starts_with(SECRET_PREFIX)
        .then(|| value.replace(SECRET_PREFIX, ""))
}

/// What OpenMetadata's ingestion does with references under the `db` provider: its
/// `DBSecretsManager` returns a reference's name as the value, so every reference in the YAML
/// document `doc` is replaced by its name. Returns how many were replaced.
pub fn replace_references_by_names(doc: &mut serde_yaml_ng::Value) -> usize {
    let mut replaced = 0;
    doc.visit_strings("", &mut |_, text| {
        if let Some(name) = reference_name(text) {
            *text = name;
            replaced += 1;
        }
    });
    replaced
}

impl Resolver {
    /// A resolver reading `backend`, with the system clock.
    #[must_use]
    pub fn new(backend: Arc<dyn SecretBackend>, options: ResolverOptions) -> Self {
        Self {
            backend,
            clock: Arc::new(SystemClock),
            options,
            cache: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            permits: Semaphore::new(options.max_concurrency.max(1)),
        }
    }

    /// Uses `clock` for cache expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whole seconds since the Unix epoch (a clock before 1970 reads as the epoch).
    fn now(&self) -> u64 {
        u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0)
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &ResolverOptions {
        &self.options
    }

    /// The value of the secret `name`, from the cache while it is fresh. A stored `"null"` (what
    /// older OpenMetadata versions wrote for a cleared password) reads as empty unless
    /// [`ResolverOptions::legacy_null_as_empty`] is off.
    ///
    /// # Errors
    /// [`Error::InvalidSecretName`] for a name Key Vault cannot hold, else
    /// [`Error::Unresolved`] naming the reference, whose source is the vault's error
    /// ([`Error::is_not_found`] and [`Error::backend_kind`] look through it).
    pub async fn secret_value(&self, name: &str) -> Result<SecretString> {
        let name = secret_name(name)?;
        let (outcome, _) = self.lookup(&name).await;
        outcome
            .map(|value| SecretString::from(value.expose_secret()))
            .map_err(|source| Error::Unresolved {
                reference: name.as_str().to_owned(),
                path: None,
                others: 0,
                source,
            })
    }

    /// Forgets the cached value of `name` (after it was rotated, for instance).
    pub fn invalidate(&self, name: &SecretName) {
        self.cache().remove(name);
    }

    /// Replaces, anywhere in the JSON document `doc`, every string that is a `secret:` reference
    /// by the value it points to. Each distinct name is read once, concurrently with the others.
    ///
    /// # Errors
    /// With [`UnresolvedPolicy::Fail`], [`Error::Unresolved`] naming the first reference (in
    /// document order) that does not resolve and where it is; `doc` is then left unchanged.
    pub async fn resolve_references(&self, doc: &mut Value) -> Result<ResolveReport> {
        self.resolve_document(doc).await
    }

    /// [`resolve_references`](Self::resolve_references) for a YAML document.
    ///
    /// # Errors
    /// As [`resolve_references`](Self::resolve_references).
    pub async fn resolve_yaml_references(
        &self,
        doc: &mut serde_yaml_ng::Value,
    ) -> Result<ResolveReport> {
        self.resolve_document(doc).await
    }

    async fn resolve_document<D: Document + Send>(&self, doc: &mut D) -> Result<ResolveReport> {
        // Every reference, in document order.
        let mut references: Vec<(String, String)> = Vec::new();
        doc.visit_strings("", &mut |path, text| {
            if let Some(name) = reference_name(text) {
                references.push((path.to_owned(), name));
            }
        });
        let mut seen = HashSet::new();
        let distinct: Vec<&str> = references
            .iter()
            .map(|(_, name)| name.as_str())
            .filter(|name| seen.insert(*name))
            .collect();
        let lookups = distinct.iter().map(|text| async move {
            match secret_name(text) {
                Ok(name) => self.lookup(&name).await,
                Err(e) => (Err(Arc::new(e)), false),
            }
        });
        let outcomes = futures::future::join_all(lookups).await;
        let mut report = ResolveReport {
            distinct: distinct.len(),
            vault_reads: outcomes.iter().filter(|(_, fetched)| *fetched).count(),
            ..ResolveReport::default()
        };
        let results: HashMap<&str, Outcome> = distinct
            .iter()
            .copied()
            .zip(outcomes.into_iter().map(|(outcome, _)| outcome))
            .collect();
        let failed: Vec<(&String, &String, &Arc<Error>)> = references
            .iter()
            .filter_map(|(path, name)| match results.get(name.as_str()) {
                Some(Err(e)) => Some((path, name, e)),
                _ => None,
            })
            .collect();
        if let (Some((path, name, source)), UnresolvedPolicy::Fail) =
            (failed.first(), self.options.on_unresolved)
        {
            return Err(Error::Unresolved {
                reference: shown_reference(name, source),
                path: Some((*path).clone()),
                others: failed.len() - 1,
                source: Arc::clone(source),
            });
        }
        for name in &distinct {
            if let Some(Err(error)) = results.get(name) {
                let secret = shown_reference(name, error);
                tracing::error!(%secret, %error, "secret not resolved: passing the reference text on (UnresolvedPolicy::KeepReference)");
                report.unresolved.push((*name).to_owned());
            }
        }
        doc.visit_strings("", &mut |_, text| {
            if let Some(Ok(value)) =
                reference_name(text).and_then(|name| results.get(name.as_str()))
            {
                value.expose_secret().clone_into(text);
                report.resolved += 1;
            }
        });
        Ok(report)
    }

    /// The outcome for `name`, and whether this call read the vault for it.
    async fn lookup(&self, name: &SecretName) -> (Outcome, bool) {
        if let Some(hit) = self.fresh(name, self.now()) {
            return (hit, false);
        }
        let cell = self
            .inflight()
            .entry(name.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let fetched = AtomicBool::new(false);
        let outcome = cell
            .get_or_init(|| self.fetch(name, &fetched))
            .await
            .clone();
        {
            let mut inflight = self.inflight();
            if inflight.get(name).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                inflight.remove(name);
            }
        }
        (outcome, fetched.load(Ordering::Relaxed))
    }

    /// Reads the vault for `name` (unless a read that just finished cached it) and caches the
    /// answer.
    async fn fetch(&self, name: &SecretName, fetched: &AtomicBool) -> Outcome {
        if let Some(hit) = self.fresh(name, self.now()) {
            return hit;
        }
        // The semaphore is never closed; were it, reading without a permit is still correct.
        let _permit = self.permits.acquire().await.ok();
        fetched.store(true, Ordering::Relaxed);
        let result = self.backend.read_secret(name).await;
        let now = self.now();
        match result {
            Ok(secret) => {
                let mut value = secret.value;
                // vaultref writes a cleared field as no secret at all, so a value it wrote
                // (tagged) is always the real one, even the text `null`.
                if self.options.legacy_null_as_empty
                    && value.expose_secret() == LEGACY_NULL
                    && !secret.tags.contains_key(OWNER_TAG)
                {
                    tracing::warn!(secret = %name, "secret holds the legacy \"null\" placeholder of a cleared password: read as empty");
                    value = SecretString::from("");
                }
                let value = Arc::new(value);
                if self.options.ttl_seconds > 0 {
                    self.store(name, Cached::Value(value.clone()), now);
                }
                Ok(value)
            }
            Err(e) if e.is_not_found() => {
                let e = Arc::new(e);
                if self.options.negative_ttl_seconds > 0 {
                    self.store(name, Cached::Missing(e.clone()), now);
                } else {
                    self.invalidate(name);
                }
                Err(e)
            }
            Err(e) => {
                if e.backend_kind().is_some_and(BackendErrorKind::is_transient)
                    && let Some(stale) = self.stale(name, now)
                {
                    tracing::warn!(secret = %name, error = %e, "the vault is failing: serving the cached value past its TTL");
                    return Ok(stale);
                }
                Err(Arc::new(e))
            }
        }
    }

    /// A cached answer still within its TTL (or negative TTL).
    fn fresh(&self, name: &SecretName, now: u64) -> Option<Outcome> {
        let cache = self.cache();
        let entry = cache.get(name)?;
        let age = now.saturating_sub(entry.fetched_at);
        match &entry.cached {
            Cached::Value(value) if age < self.options.ttl_seconds => Some(Ok(value.clone())),
            Cached::Missing(error) if age < self.options.negative_ttl_seconds => {
                Some(Err(error.clone()))
            }
            _ => None,
        }
    }

    /// A cached value past its TTL but within the stale bound.
    fn stale(&self, name: &SecretName, now: u64) -> Option<Arc<SecretString>> {
        let cache = self.cache();
        let entry = cache.get(name)?;
        match &entry.cached {
            Cached::Value(value) if !self.expired(entry, now) => Some(value.clone()),
            _ => None,
        }
    }

    /// Whether `entry` can no longer be served in any way.
    fn expired(&self, entry: &Entry, now: u64) -> bool {
        let age = now.saturating_sub(entry.fetched_at);
        match entry.cached {
            Cached::Value(_) => {
                age >= self
                    .options
                    .ttl_seconds
                    .saturating_add(self.options.max_stale_seconds)
            }
            Cached::Missing(_) => age >= self.options.negative_ttl_seconds,
        }
    }

    fn store(&self, name: &SecretName, cached: Cached, now: u64) {
        if self.options.max_entries == 0 {
            return;
        }
        let mut cache = self.cache();
        cache.retain(|_, entry| !self.expired(entry, now));
        if !cache.contains_key(name)
            && cache.len() >= self.options.max_entries
            && let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, entry)| entry.fetched_at)
                .map(|(key, _)| key.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(
            name.clone(),
            Entry {
                cached,
                fetched_at: now,
            },
        );
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<SecretName, Entry>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn inflight(&self) -> MutexGuard<'_, HashMap<SecretName, Arc<OnceCell<Outcome>>>> {
        self.inflight.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Documents whose strings the resolver walks: JSON and YAML values.
trait Document {
    /// Calls `visit` with the JSON pointer and the text of every string in the document.
    fn visit_strings(&mut self, path: &str, visit: &mut dyn FnMut(&str, &mut String));
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Document for Value {
    fn visit_strings(&mut self, path: &str, visit: &mut dyn FnMut(&str, &mut String)) {
        match self {
            Value::String(text) => visit(path, text),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    item.visit_strings(&format!("{path}/{i}"), visit);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    item.visit_strings(&format!("{path}/{}", pointer_segment(key)), visit);
                }
            }
            _ => {}
        }
    }
}

impl Document for serde_yaml_ng::Value {
    fn visit_strings(&mut self, path: &str, visit: &mut dyn FnMut(&str, &mut String)) {
        use serde_yaml_ng::Value as Yaml;
        match self {
            Yaml::String(text) => visit(path, text),
            Yaml::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    item.visit_strings(&format!("{path}/{i}"), visit);
                }
            }
            Yaml::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    let key = match key {
                        Yaml::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other)
                            .map(|s| s.trim_end().to_owned())
                            .unwrap_or_default(),
                    };
                    item.visit_strings(&format!("{path}/{}", pointer_segment(&key)), visit);
                }
            }
            Yaml::Tagged(tagged) => tagged.value.visit_strings(path, visit),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{InMemoryBackend, SecretAttributes};
    use crate::error::BackendErrorKind;
    use async_trait::async_trait;
    use serde_json::json;
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    use std::time::Duration;

    #[derive(Debug, Default)]
    struct ManualClock(AtomicU64);

    impl ManualClock {
        fn set(&self, t: u64) {
            self.0.store(t, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> time::OffsetDateTime {
            let seconds = i64::try_from(self.0.load(Ordering::SeqCst)).unwrap();
            time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
        }
    }

    /// The in-memory vault, counting reads and reads in flight, optionally slow, and able to
    /// fail every read with a given kind.
    #[derive(Debug, Default)]
    struct Counting {
        vault: InMemoryBackend,
        reads: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        delay_ms: AtomicU64,
        failing: Mutex<Option<BackendErrorKind>>,
    }

    impl Counting {
        async fn with(entries: &[(&str, &str)]) -> Arc<Self> {
            let backend = Arc::new(Self::default());
            for (name, value) in entries {
                backend.put(name, value).await;
            }
            backend
        }
        async fn put(&self, name: &str, value: &str) {
            self.vault
                .set_secret(
                    &SecretName::new(name).unwrap(),
                    &SecretString::from(value),
                    &SecretAttributes::default(),
                )
                .await
                .unwrap();
        }
        fn fail_with(&self, kind: Option<BackendErrorKind>) {
            *self.failing.lock().unwrap() = kind;
        }
        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl SecretBackend for Counting {
        async fn set_secret(
            &self,
            name: &SecretName,
            value: &SecretString,
            attributes: &SecretAttributes,
        ) -> Result<Option<String>> {
            self.vault.set_secret(name, value, attributes).await
        }
        async fn get_secret(&self, name: &SecretName) -> Result<SecretString> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let delay = self.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            } else {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let failing = *self.failing.lock().unwrap();
            if let Some(kind) = failing {
                return Err(Error::Backend {
                    kind,
                    name: name.clone(),
                    detail: "injected".into(),
                });
            }
            self.vault.get_secret(name).await
        }
        async fn delete_secret(&self, name: &SecretName) -> Result<()> {
            self.vault.delete_secret(name).await
        }
        async fn recover_secret(&self, name: &SecretName) -> Result<()> {
            self.vault.recover_secret(name).await
        }
    }

    fn resolver(
        backend: Arc<Counting>,
        clock: &Arc<ManualClock>,
        options: ResolverOptions,
    ) -> Resolver {
        Resolver::new(backend, options).with_clock(clock.clone())
    }

    async fn read(resolver: &Resolver, name: &str) -> Result<String> {
        resolver
            .secret_value(name)
            .await
            .map(|v| v.expose_secret().to_owned())
    }

    #[test]
    fn the_db_provider_replaces_references_by_their_names() {
        let mut doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("a: secret:x\nb: [plain, 'secret:/om/y']\n").unwrap();
        assert_eq!(replace_references_by_names(&mut doc), 2);
        assert_eq!(
            serde_yaml_ng::to_string(&doc).unwrap(),
            "a: x\nb:\n- plain\n- /om/y\n"
        );
    }

    #[test]
    fn reference_names_follow_openmetadata_ingestion() {
        for (value, expected) in [
            ("secret:openmetadata-x", Some("openmetadata-x")),
            ("secret:a-secret:b", Some("a-b")),
            ("plain", None),
            ("a secret:b", None),
            ("SECRET:x", None),
            ("secret:", Some("")),
        ] {
            assert_eq!(reference_name(value).as_deref(), expected, "{value}");
        }
    }

    #[tokio::test]
    async fn references_anywhere_in_a_document_are_replaced_and_read_once_per_name() {
        let vault = Counting::with(&[
            ("db-password", "s3cret"),
            ("token", "t0k"),
            ("cleared", "null"),
        ])
        .await;
        let resolver = Resolver::new(vault.clone(), ResolverOptions::default());
        let mut doc = json!({"a": "secret:db-password", "b": ["x", "secret:token", {"c": "secret:cleared"}],
                             "d": 3, "e": "not secret:db-password", "f": "secret:db-password"});
        let report = resolver.resolve_references(&mut doc).await.unwrap();
        assert_eq!(
            (report.resolved, report.distinct, report.vault_reads),
            (4, 3, 3)
        );
        assert_eq!(
            doc,
            json!({"a": "s3cret", "b": ["x", "t0k", {"c": ""}], "d": 3, "e": "not secret:db-password", "f": "s3cret"})
        );
        assert_eq!(vault.reads(), 3);

        let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "conn:\n  password: secret:db-password\n  list: [secret:token, plain]\n",
        )
        .unwrap();
        let report = resolver.resolve_yaml_references(&mut yaml).await.unwrap();
        assert_eq!((report.resolved, report.vault_reads), (2, 0), "warm cache");
        assert_eq!(
            serde_yaml_ng::to_string(&yaml).unwrap(),
            "conn:\n  password: s3cret\n  list:\n  - t0k\n  - plain\n"
        );
    }

    /// Issue 14: a reference whose name is invalid (a value pasted by mistake) is described,
    /// never echoed.
    #[tokio::test]
    async fn invalid_reference_names_are_described_not_echoed() {
        let vault = Counting::with(&[]).await;
        let resolver = Resolver::new(vault, ResolverOptions::default());
        let mut doc = json!({"p": "secret:password=SuperSecret1"});
        let shown = resolver
            .resolve_references(&mut doc)
            .await
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("SuperSecret1"), "{shown}");
        assert!(shown.contains("`secret:(invalid name)` at /p"), "{shown}");
        assert!(shown.contains("character 9 is '='"), "{shown}");
        let shown = resolver
            .secret_value("password=SuperSecret1")
            .await
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("SuperSecret1"), "{shown}");
    }

    #[tokio::test]
    async fn a_stored_null_is_empty_only_where_it_is_openmetadata_s_placeholder() {
        let vault = Counting::with(&[("cleared", "null")]).await;
        let openmetadata = Resolver::new(vault.clone(), ResolverOptions::default());
        assert_eq!(read(&openmetadata, "cleared").await.unwrap(), "");
        let verbatim = Resolver::new(
            vault,
            ResolverOptions {
                legacy_null_as_empty: false,
                ..ResolverOptions::default()
            },
        );
        assert_eq!(read(&verbatim, "cleared").await.unwrap(), "null");
    }

    #[tokio::test]
    async fn unresolved_references_fail_naming_the_reference_or_stay_as_asked() {
        let vault = Counting::with(&[("present", "v")]).await;
        let strict = Resolver::new(vault.clone(), ResolverOptions::default());
        let mut doc = json!({"ok": "secret:present", "conn": {"p": "secret:missing", "q": "secret:/openmetadata/x"}});
        let before = doc.clone();
        let err = strict.resolve_references(&mut doc).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("`secret:missing` at /conn/p (and 1 more unresolved reference(s))"),
            "{text}"
        );
        assert_eq!(doc, before, "nothing replaced when a reference fails");
        let mut bad = json!({"p": "secret:/openmetadata/database/x"});
        match strict.resolve_references(&mut bad).await {
            Err(Error::Unresolved { source, path, .. }) => {
                assert!(matches!(*source, Error::InvalidSecretName { .. }));
                assert_eq!(path.as_deref(), Some("/p"));
            }
            other => panic!("{other:?}"),
        }

        let lenient = Resolver::new(
            vault,
            ResolverOptions {
                on_unresolved: UnresolvedPolicy::KeepReference,
                ..ResolverOptions::default()
            },
        );
        let report = lenient.resolve_references(&mut doc).await.unwrap();
        assert_eq!(report.unresolved, ["missing", "/openmetadata/x"]);
        assert_eq!(
            doc,
            json!({"ok": "v", "conn": {"p": "secret:missing", "q": "secret:/openmetadata/x"}})
        );
    }

    #[tokio::test]
    async fn values_are_cached_until_they_expire() {
        let vault = Counting::with(&[("k", "v1")]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = resolver(
            vault.clone(),
            &clock,
            ResolverOptions {
                ttl_seconds: 60,
                ..ResolverOptions::default()
            },
        );
        assert_eq!(read(&resolver, "k").await.unwrap(), "v1");
        vault.put("k", "v2").await;
        clock.set(59);
        assert_eq!(
            read(&resolver, "k").await.unwrap(),
            "v1",
            "fresh entry reused"
        );
        clock.set(60);
        assert_eq!(
            read(&resolver, "k").await.unwrap(),
            "v2",
            "expired entry read again"
        );
        vault.put("k", "v3").await;
        resolver.invalidate(&SecretName::new("k").unwrap());
        assert_eq!(
            read(&resolver, "k").await.unwrap(),
            "v3",
            "invalidated entry read again"
        );
        assert_eq!(vault.reads(), 3);
        assert!(!format!("{resolver:?}").contains("v3"));
    }

    #[tokio::test]
    async fn missing_names_are_remembered_for_the_negative_ttl_only() {
        let vault = Counting::with(&[]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = resolver(
            vault.clone(),
            &clock,
            ResolverOptions {
                negative_ttl_seconds: 10,
                ..ResolverOptions::default()
            },
        );
        assert!(read(&resolver, "later").await.unwrap_err().is_not_found());
        vault.put("later", "here").await;
        clock.set(9);
        assert!(read(&resolver, "later").await.unwrap_err().is_not_found());
        assert_eq!(vault.reads(), 1, "the miss was remembered");
        clock.set(10);
        assert_eq!(read(&resolver, "later").await.unwrap(), "here");
        assert_eq!(vault.reads(), 2);
    }

    #[tokio::test]
    async fn stale_values_are_served_while_the_vault_fails_up_to_the_bound() {
        let vault = Counting::with(&[("k", "v1")]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = resolver(
            vault.clone(),
            &clock,
            ResolverOptions {
                ttl_seconds: 60,
                max_stale_seconds: 100,
                ..ResolverOptions::default()
            },
        );
        assert_eq!(read(&resolver, "k").await.unwrap(), "v1");
        for kind in [
            BackendErrorKind::Unreachable,
            BackendErrorKind::Throttled,
            BackendErrorKind::Other,
        ] {
            vault.fail_with(Some(kind));
            clock.set(159);
            assert_eq!(
                read(&resolver, "k").await.unwrap(),
                "v1",
                "{kind:?}: stale value served"
            );
        }
        // Access denied is an answer about the secret, not a failing vault.
        vault.fail_with(Some(BackendErrorKind::Forbidden));
        assert_eq!(
            read(&resolver, "k").await.unwrap_err().backend_kind(),
            Some(BackendErrorKind::Forbidden)
        );
        vault.fail_with(Some(BackendErrorKind::Unreachable));
        clock.set(160);
        assert_eq!(
            read(&resolver, "k").await.unwrap_err().backend_kind(),
            Some(BackendErrorKind::Unreachable),
            "past the bound"
        );
        // A secret the vault says is gone is never served stale.
        vault.fail_with(None);
        clock.set(200);
        assert_eq!(read(&resolver, "k").await.unwrap(), "v1");
        vault
            .vault
            .delete_secret(&SecretName::new("k").unwrap())
            .await
            .unwrap();
        clock.set(261);
        assert!(read(&resolver, "k").await.unwrap_err().is_not_found());
        vault.fail_with(Some(BackendErrorKind::Unreachable));
        clock.set(272);
        assert_eq!(
            read(&resolver, "k").await.unwrap_err().backend_kind(),
            Some(BackendErrorKind::Unreachable)
        );
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_name_make_one_read() {
        let vault = Counting::with(&[("k", "v")]).await;
        vault.delay_ms.store(20, Ordering::SeqCst);
        let resolver = Resolver::new(vault.clone(), ResolverOptions::default());
        let reads = futures::future::join_all((0..20).map(|_| read(&resolver, "k"))).await;
        assert!(reads.iter().all(|r| r.as_deref().ok() == Some("v")));
        assert_eq!(vault.reads(), 1);

        // Failures are shared the same way, and not cached beyond their negative TTL.
        let reads = futures::future::join_all((0..20).map(|_| read(&resolver, "nope"))).await;
        assert!(
            reads
                .iter()
                .all(|r| r.as_ref().is_err_and(Error::is_not_found))
        );
        assert_eq!(vault.reads(), 2);
    }

    #[tokio::test]
    async fn reads_in_flight_are_bounded() {
        let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        let vault = Counting::default();
        for name in &names {
            vault.put(name, "v").await;
        }
        let vault = Arc::new(vault);
        vault.delay_ms.store(20, Ordering::SeqCst);
        let resolver = Resolver::new(
            vault.clone(),
            ResolverOptions {
                max_concurrency: 3,
                ..ResolverOptions::default()
            },
        );
        let mut doc = Value::Array(names.iter().map(|n| json!(format!("secret:{n}"))).collect());
        let report = resolver.resolve_references(&mut doc).await.unwrap();
        assert_eq!(report.vault_reads, 10);
        assert_eq!(vault.max_in_flight.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_cache_keeps_at_most_max_entries() {
        let vault = Counting::with(&[("a", "1"), ("b", "2"), ("c", "3")]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = resolver(
            vault,
            &clock,
            ResolverOptions {
                ttl_seconds: 100,
                max_entries: 2,
                ..ResolverOptions::default()
            },
        );
        for (t, name) in [(0, "a"), (1, "b"), (2, "c")] {
            clock.set(t);
            read(&resolver, name).await.unwrap();
        }
        let mut cached: Vec<String> = resolver
            .cache()
            .keys()
            .map(|n| n.as_str().to_owned())
            .collect();
        cached.sort();
        assert_eq!(cached, ["b", "c"]);
    }
}
