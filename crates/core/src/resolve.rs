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
use crate::config::OWNER_TAG;
use crate::error::{BackendErrorKind, Error, Result};
use crate::naming::{SecretName, secret_name};
use crate::reference::{reference_name, referenced_name};

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
    /// At most this many vault reads in flight at once, across all callers. The default, 100,
    /// is the smallest stream limit RFC 9113 recommends an HTTP/2 server advertise
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`, section 6.5.2): over HTTP/2, as Key Vault speaks it, every read shares
    /// one connection without queueing; over HTTP/1.1 each read in flight is a connection.
    pub max_concurrency: usize,
    /// What to do with references that do not resolve.
    pub on_unresolved: UnresolvedPolicy,
    /// Read a stored `"null"` as empty (older OpenMetadata versions wrote it for a cleared
    /// password). Off for stores where `"null"` is a value like any other (Airflow variables).
    pub legacy_null_as_empty: bool,
}

impl Default for ResolverOptions {
    /// Five minutes' TTL, one hour of stale serving, ten seconds of negative caching, 1000
    /// entries, 100 reads in flight, fail on unresolved references, a stored `"null"` read as
    /// empty.
    fn default() -> Self {
        Self {
            ttl_seconds: 300,
            max_stale_seconds: 3600,
            negative_ttl_seconds: 10,
            max_entries: 1000,
            max_concurrency: 100,
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

/// What OpenMetadata's ingestion does with references under the `db` provider: its
/// `DBSecretsManager` returns a reference's name as the value, so every reference in the YAML
/// document `doc` is replaced by its name. Returns how many were replaced.
pub fn replace_references_by_names(doc: &mut serde_yaml_ng::Value) -> usize {
    let mut replaced = 0;
    doc.visit_strings(&mut String::new(), &mut |_, text| {
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
        // Every reference's name, in document order.
        let mut references: Vec<String> = Vec::new();
        doc.visit_strings(&mut String::new(), &mut |_, text| {
            if let Some(name) = referenced_name(text) {
                references.push(name.into_owned());
            }
        });
        let mut seen = HashSet::new();
        let distinct: Vec<&str> = references
            .iter()
            .map(String::as_str)
            .filter(|name| seen.insert(*name))
            .collect();
        // The warm path: every name still fresh in the cache, looked up under one lock.
        let mut results: HashMap<&str, Outcome> = {
            let now = self.now();
            let cache = self.cache();
            distinct
                .iter()
                .filter_map(|name| Some((*name, fresh_in(&cache, name, now, &self.options)?)))
                .collect()
        };
        let missing: Vec<&str> = distinct
            .iter()
            .copied()
            .filter(|name| !results.contains_key(name))
            .collect();
        let lookups = missing.iter().map(|text| async move {
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
        results.extend(
            missing
                .iter()
                .copied()
                .zip(outcomes.into_iter().map(|(outcome, _)| outcome)),
        );
        let failed: Vec<(&str, &Arc<Error>)> = references
            .iter()
            .filter_map(|name| match results.get(name.as_str()) {
                Some(Err(e)) => Some((name.as_str(), e)),
                _ => None,
            })
            .collect();
        if let (Some((name, source)), UnresolvedPolicy::Fail) =
            (failed.first(), self.options.on_unresolved)
        {
            return Err(Error::Unresolved {
                reference: shown_reference(name, source),
                path: first_path_of(doc, name),
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
        doc.visit_strings(&mut String::new(), &mut |_, text| {
            let found = match referenced_name(text) {
                Some(name) => results.get(&*name),
                None => None,
            };
            if let Some(Ok(value)) = found {
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
        fresh_in(&self.cache(), name.as_str(), now, &self.options)
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

/// The answer cached for `name` in `cache` if it is still within its TTL (or negative TTL).
fn fresh_in(
    cache: &HashMap<SecretName, Entry>,
    name: &str,
    now: u64,
    options: &ResolverOptions,
) -> Option<Outcome> {
    let entry = cache.get(name)?;
    let age = now.saturating_sub(entry.fetched_at);
    match &entry.cached {
        Cached::Value(value) if age < options.ttl_seconds => Some(Ok(value.clone())),
        Cached::Missing(error) if age < options.negative_ttl_seconds => Some(Err(error.clone())),
        _ => None,
    }
}

/// The JSON pointer of the first reference to `name` in `doc`.
fn first_path_of<D: Document>(doc: &mut D, name: &str) -> Option<String> {
    let mut found = None;
    doc.visit_strings(&mut String::new(), &mut |path, text| {
        if found.is_none() && referenced_name(text).is_some_and(|n| n == name) {
            found = Some(path.to_owned());
        }
    });
    found
}

/// Documents whose strings the resolver walks: JSON and YAML values.
trait Document {
    /// Calls `visit` with the JSON pointer and the text of every string in the document; `path`
    /// is the pointer so far (a buffer the walk extends and restores, so that no pointer is
    /// built unless `visit` keeps it).
    fn visit_strings(&mut self, path: &mut String, visit: &mut dyn FnMut(&str, &mut String));
}

/// Appends `/` and `key` escaped for a JSON pointer (RFC 6901) to `path`.
fn push_segment(path: &mut String, key: &str) {
    path.push('/');
    if key.contains(['~', '/']) {
        path.push_str(&key.replace('~', "~0").replace('/', "~1"));
    } else {
        path.push_str(key);
    }
}

/// Appends `/` and an array index to `path`.
fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write as _;
    let _ = write!(path, "/{index}");
}

impl Document for Value {
    fn visit_strings(&mut self, path: &mut String, visit: &mut dyn FnMut(&str, &mut String)) {
        let len = path.len();
        match self {
            Value::String(text) => visit(path, text),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    push_index(path, i);
                    item.visit_strings(path, visit);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    push_segment(path, key);
                    item.visit_strings(path, visit);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
}

impl Document for serde_yaml_ng::Value {
    fn visit_strings(&mut self, path: &mut String, visit: &mut dyn FnMut(&str, &mut String)) {
        use serde_yaml_ng::Value as Yaml;
        let len = path.len();
        match self {
            Yaml::String(text) => visit(path, text),
            Yaml::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    push_index(path, i);
                    item.visit_strings(path, visit);
                    path.truncate(len);
                }
            }
            Yaml::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    match key {
                        Yaml::String(s) => push_segment(path, s),
                        other => push_segment(
                            path,
                            serde_yaml_ng::to_string(other)
                                .map(|s| s.trim_end().to_owned())
                                .unwrap_or_default()
                                .as_str(),
                        ),
                    }
                    item.visit_strings(path, visit);
                    path.truncate(len);
                }
            }
            Yaml::Tagged(tagged) => tagged.value.visit_strings(path, visit),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
