//! The consumer side: turning `secret:<name>` references back into values, with a cache.
//!
//! Reference syntax follows OpenMetadata's ingestion (`CustomSecretStr.get_secret_value`): a
//! string that starts with `secret:` is a reference, and the name is the string with **every**
//! `secret:` removed. The name is used verbatim as the Key Vault name.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use vaultref_fernet::{Clock, SystemClock};

use crate::backend::SecretBackend;
use crate::error::Result;
use crate::manager::SECRET_PREFIX;
use crate::naming::SecretName;

/// The value older OpenMetadata versions stored for a cleared password.
const LEGACY_NULL: &str = "null";

/// What to do with a reference that cannot be resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnresolvedPolicy {
    /// Fail with the error (the default: a credential that is the text `secret:...` is wrong).
    #[default]
    Fail,
    /// Log the failure and keep the reference text, as OpenMetadata's ingestion does.
    KeepReference,
}

/// How a [`Resolver`] caches and what it does on failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverOptions {
    /// How long a value read from the vault is reused, in seconds (0: no cache).
    pub ttl_seconds: u64,
    /// At most this many values are kept; the one expiring first is dropped to make room.
    pub max_entries: usize,
    /// What to do with references that do not resolve.
    pub on_unresolved: UnresolvedPolicy,
}

impl Default for ResolverOptions {
    /// Five minutes, 1000 entries, fail on unresolved references.
    fn default() -> Self {
        Self {
            ttl_seconds: 300,
            max_entries: 1000,
            on_unresolved: UnresolvedPolicy::Fail,
        }
    }
}

/// What [`Resolver::resolve_references`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolveReport {
    /// References replaced by their value.
    pub resolved: usize,
    /// References kept as text (only with [`UnresolvedPolicy::KeepReference`]): the names.
    pub unresolved: Vec<String>,
}

struct Cached {
    value: SecretString,
    expires_at: u64,
}

/// Resolves `secret:` references through a [`SecretBackend`], caching values for a while.
/// Failures are never cached.
pub struct Resolver {
    backend: Arc<dyn SecretBackend>,
    clock: Arc<dyn Clock>,
    options: ResolverOptions,
    cache: Mutex<HashMap<SecretName, Cached>>,
}

impl fmt::Debug for Resolver {
    /// Options and cached names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("backend", &self.backend)
            .field("options", &self.options)
            .field("cached", &self.cache().keys().collect::<Vec<_>>())
            .finish()
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

impl Resolver {
    /// A resolver reading `backend`, with the system clock.
    #[must_use]
    pub fn new(backend: Arc<dyn SecretBackend>, options: ResolverOptions) -> Self {
        Self {
            backend,
            clock: Arc::new(SystemClock),
            options,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `clock` for cache expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The value of the secret `name`, from the cache while it is fresh. A stored `"null"` (what
    /// older OpenMetadata versions wrote for a cleared password) reads as empty.
    ///
    /// # Errors
    /// [`Error::InvalidSecretName`](crate::Error::InvalidSecretName) for a name Key Vault cannot
    /// hold, [`Error::Backend`](crate::Error::Backend) from the vault.
    pub async fn secret_value(&self, name: &str) -> Result<SecretString> {
        let name = SecretName::new(name)?;
        let now = self.clock.now_unix_seconds();
        if let Some(cached) = self.cache().get(&name)
            && cached.expires_at > now
        {
            return Ok(SecretString::from(cached.value.expose_secret()));
        }
        let mut value = self.backend.get_secret(&name).await?;
        if value.expose_secret() == LEGACY_NULL {
            tracing::warn!(secret = %name, "secret holds the legacy \"null\" placeholder of a cleared password: read as empty");
            value = SecretString::from("");
        }
        if self.options.ttl_seconds > 0 && self.options.max_entries > 0 {
            let mut cache = self.cache();
            cache.retain(|_, c| c.expires_at > now);
            if cache.len() >= self.options.max_entries
                && let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, c)| c.expires_at)
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
            cache.insert(
                name,
                Cached {
                    value: SecretString::from(value.expose_secret()),
                    expires_at: now.saturating_add(self.options.ttl_seconds),
                },
            );
        }
        Ok(value)
    }

    /// Forgets the cached value of `name` (after it was rotated, for instance).
    pub fn invalidate(&self, name: &SecretName) {
        self.cache().remove(name);
    }

    /// Replaces, anywhere in `doc`, every string that is a `secret:` reference by the value it
    /// points to.
    ///
    /// # Errors
    /// With [`UnresolvedPolicy::Fail`], the first reference that does not resolve.
    pub async fn resolve_references(&self, doc: &mut Value) -> Result<ResolveReport> {
        let mut report = ResolveReport::default();
        let mut pending = vec![doc];
        while let Some(value) = pending.pop() {
            match value {
                Value::String(text) => {
                    let Some(name) = reference_name(text) else {
                        continue;
                    };
                    match self.secret_value(&name).await {
                        Ok(secret) => {
                            *text = secret.expose_secret().to_owned();
                            report.resolved += 1;
                        }
                        Err(e) if self.options.on_unresolved == UnresolvedPolicy::KeepReference => {
                            tracing::error!(secret = %name, error = %e, "secret not present in the vault: keeping the reference");
                            report.unresolved.push(name);
                        }
                        Err(e) => return Err(e),
                    }
                }
                Value::Array(items) => pending.extend(items.iter_mut()),
                Value::Object(map) => pending.extend(map.values_mut()),
                _ => {}
            }
        }
        Ok(report)
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<SecretName, Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{InMemoryBackend, SecretAttributes};
    use crate::error::Error;
    use serde_json::json;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug, Default)]
    struct ManualClock(AtomicU64);

    impl Clock for ManualClock {
        fn now_unix_seconds(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    async fn vault(entries: &[(&str, &str)]) -> Arc<InMemoryBackend> {
        let vault = Arc::new(InMemoryBackend::new());
        for (name, value) in entries {
            vault
                .set_secret(
                    &SecretName::new(name).unwrap(),
                    &SecretString::from(*value),
                    &SecretAttributes::default(),
                )
                .await
                .unwrap();
        }
        vault
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
    async fn references_anywhere_in_a_document_are_replaced() {
        let vault = vault(&[
            ("db-password", "s3cret"),
            ("token", "t0k"),
            ("cleared", "null"),
        ])
        .await;
        let resolver = Resolver::new(vault, ResolverOptions::default());
        let mut doc = json!({"a": "secret:db-password", "b": ["x", "secret:token", {"c": "secret:cleared"}],
                             "d": 3, "e": "not secret:db-password"});
        let report = resolver.resolve_references(&mut doc).await.unwrap();
        assert_eq!(report.resolved, 3);
        assert_eq!(
            doc,
            json!({"a": "s3cret", "b": ["x", "t0k", {"c": ""}], "d": 3, "e": "not secret:db-password"})
        );
    }

    #[tokio::test]
    async fn unresolved_references_fail_or_stay_as_asked() {
        let vault = vault(&[]).await;
        let strict = Resolver::new(vault.clone(), ResolverOptions::default());
        let mut doc = json!({"p": "secret:missing"});
        let err = strict.resolve_references(&mut doc).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let mut bad = json!({"p": "secret:/openmetadata/database/x"});
        assert!(matches!(
            strict.resolve_references(&mut bad).await,
            Err(Error::InvalidSecretName { .. })
        ));

        let lenient = Resolver::new(
            vault,
            ResolverOptions {
                on_unresolved: UnresolvedPolicy::KeepReference,
                ..ResolverOptions::default()
            },
        );
        let report = lenient.resolve_references(&mut doc).await.unwrap();
        assert_eq!(report.unresolved, ["missing"]);
        assert_eq!(doc, json!({"p": "secret:missing"}));
    }

    #[tokio::test]
    async fn values_are_cached_until_they_expire_and_failures_are_not() {
        let vault = vault(&[("k", "v1")]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = Resolver::new(
            vault.clone(),
            ResolverOptions {
                ttl_seconds: 60,
                ..ResolverOptions::default()
            },
        )
        .with_clock(clock.clone());
        let name = SecretName::new("k").unwrap();
        let read = || async {
            resolver
                .secret_value("k")
                .await
                .unwrap()
                .expose_secret()
                .to_owned()
        };
        assert_eq!(read().await, "v1");
        vault
            .set_secret(
                &name,
                &SecretString::from("v2"),
                &SecretAttributes::default(),
            )
            .await
            .unwrap();
        clock.0.store(59, Ordering::SeqCst);
        assert_eq!(read().await, "v1", "fresh cache entry is reused");
        clock.0.store(60, Ordering::SeqCst);
        assert_eq!(read().await, "v2", "expired entry is read again");
        vault
            .set_secret(
                &name,
                &SecretString::from("v3"),
                &SecretAttributes::default(),
            )
            .await
            .unwrap();
        resolver.invalidate(&name);
        assert_eq!(read().await, "v3", "invalidated entry is read again");

        // A failure is not cached: once the secret exists it resolves.
        assert!(resolver.secret_value("later").await.is_err());
        vault
            .set_secret(
                &SecretName::new("later").unwrap(),
                &SecretString::from("here"),
                &SecretAttributes::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            resolver
                .secret_value("later")
                .await
                .unwrap()
                .expose_secret(),
            "here"
        );
        assert!(!format!("{resolver:?}").contains("v3"));
    }

    #[tokio::test]
    async fn the_cache_keeps_at_most_max_entries() {
        let vault = vault(&[("a", "1"), ("b", "2"), ("c", "3")]).await;
        let clock = Arc::new(ManualClock::default());
        let resolver = Resolver::new(
            vault,
            ResolverOptions {
                ttl_seconds: 100,
                max_entries: 2,
                ..ResolverOptions::default()
            },
        )
        .with_clock(clock.clone());
        for (t, name) in [(0, "a"), (1, "b"), (2, "c")] {
            clock.0.store(t, Ordering::SeqCst);
            resolver.secret_value(name).await.unwrap();
        }
        let cached: Vec<String> = {
            let cache = resolver.cache();
            let mut names: Vec<String> = cache.keys().map(|n| n.as_str().to_owned()).collect();
            names.sort();
            names
        };
        assert_eq!(cached, ["b", "c"]);
    }
}
