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
