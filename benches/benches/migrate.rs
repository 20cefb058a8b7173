//! Migrating secrets: entities per second through `vaultref_store::migrate_secrets`, per
//! database, with the write rate limit off, against the emulator (TLS, no injected latency) —
//! and where the time goes. See docs/benchmarks.md ("Migration") for method and results.
//!
//! Per engine (SQLite in a file; PostgreSQL and MariaDB/MySQL from the test kit, skipped
//! with a note when they cannot be had outside CI), `ENTITIES` database services each with one
//! plaintext password, in a fresh database per iteration (made before the clock starts):
//! - `migrate-<engine>/managed`: `managed-azure-kv`, every password moved to the vault (the
//!   store path reads the secret's current state, writes it, then commits the row);
//! - `migrate-<engine>/db`: the same migration with the `db` provider: every password sealed
//!   with Fernet in place, no vault: the store's share alone;
//! - `migrate-vault-only/managed`: the vault's share alone: the same reads and writes of
//!   `ENTITIES` secrets through the same backend, one after another, no database;
//! - `migrate-5ms-vault/*`: SQLite's managed migration and the vault's share again, with every
//!   vault answer 5 ms late (a same-region vault).
//!
//! Criterion reports each as entities (elements) per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secrecy::SecretString;
use serde_json::json;
use vaultref_core::{
    Catalog, Config, KeyVaultBackend, SecretAttributes, SecretBackend, SecretsManager, secret_name,
};
use vaultref_emulator::{Emulator, EmulatorConfig, Fault, Target};
use vaultref_store::{EntityType, MigrateOptions, NoProgress, Store, migrate_secrets};
use vaultref_testkit::{Engine, TestDatabase, database_or_skip};

/// Runs so far (migrations and vault-only alike), to name each run's secrets apart.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Entities per migration.
const ENTITIES: usize = 100;

/// The vault's answer delay in `migrate-5ms-vault`: a same-region network round trip.
const VAULT_LATENCY: Duration = Duration::from_millis(5);

mod support;

/// The configuration of `provider` against `emu`, the rate limit off (a million writes a
/// second is never reached here).
fn config(emu: &Emulator, provider: &str) -> Config {
    support::config(emu, provider, "    rateLimitPermitsPerSecond: 1000000\n")
}

fn backend(config: &Config) -> Arc<KeyVaultBackend> {
    support::key_vault_backend(config)
}

/// A fresh manager for `provider` (`managed-azure-kv` or `db`), as the CLI builds one.
fn manager(emu: &Emulator, provider: &str) -> SecretsManager {
    let config = config(emu, provider);
    let backend: Option<Arc<dyn SecretBackend>> = (provider != "db").then(|| {
        let backend: Arc<dyn SecretBackend> = backend(&config);
        backend
    });
    SecretsManager::from_config(&config, backend, Arc::new(Catalog::builtin())).expect("manager")
}

/// A fresh database of `engine` holding `ENTITIES` services with a plaintext password each,
/// named after run `run`, so that every run writes secrets the vault does not hold yet (a run
/// over names an earlier run wrote would find the same values there and write nothing).
async fn seeded(engine: Engine, run: usize) -> Option<(TestDatabase, Store)> {
    let database = database_or_skip(engine).await?;
    let store = Store::connect(database.url()).await.expect("connect");
    store.migrate().await.expect("tables");
    for i in 0..ENTITIES {
        let service = json!({
            "name": format!("service-{run}-{i:03}"),
            "serviceType": "Mysql",
            "connection": {"config": {
                "type": "Mysql",
                "scheme": "mysql+pymysql",
                "username": "etl",
                "authType": {"password": format!("plaintext-{i:03}")},
                "hostPort": "db:3306"
            }}
        });
        store
            .upsert(EntityType::DatabaseService, service)
            .await
            .expect("seed");
    }
    Some((database, store))
}

/// The time of `iters` migrations of a freshly seeded database of `engine` with `provider`;
/// `None` when the engine cannot be had.
async fn migrations(
    emu: &Emulator,
    engine: Engine,
    provider: &str,
    iters: u64,
) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (database, store) = seeded(engine, RUNS.fetch_add(1, Ordering::Relaxed)).await?;
        let manager = manager(emu, provider);
        let started = Instant::now();
        let report = migrate_secrets(&store, &manager, &MigrateOptions::default(), &NoProgress)
            .await
            .expect("migration");
        total += started.elapsed();
        assert!(report.is_success(), "{report:?}");
        store.close().await;
        database.drop_database().await;
    }
    Some(total)
}

/// What custody does per secret, without a database: read the secret's current state, write.
async fn vault_only(backend: &dyn SecretBackend, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        for i in 0..ENTITIES {
            let name = secret_name(&format!("vault-only-{run}-{i:03}")).expect("name");
            assert!(backend.read_secret(&name).await.is_err(), "a new name");
            backend
                .set_secret(
                    &name,
                    &SecretString::from(format!("plaintext-{i:03}")),
                    &SecretAttributes::default(),
                )
                .await
                .expect("write");
        }
        total += started.elapsed();
    }
    total
}

fn migrate(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emu = runtime.block_on(async {
        Emulator::start(EmulatorConfig {
            tls: true,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator")
    });
    // A warm client for the vault-only baseline (the migrations build theirs per run, as the
    // CLI does; one token and one challenge each, negligible beside 100 entities).
    let vault = backend(&config(&emu, "managed-azure-kv"));
    let elements = u64::try_from(ENTITIES).unwrap_or(u64::MAX);

    for engine in Engine::ALL {
        // Outside CI an engine that cannot be had is skipped (with the test kit's note).
        let available = runtime.block_on(async {
            let database = database_or_skip(engine).await?;
            database.drop_database().await;
            Some(())
        });
        if available.is_none() {
            continue;
        }
        let mut group = c.benchmark_group(format!("migrate-{}", engine.label()));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(20));
        group.throughput(Throughput::Elements(elements));
        for provider in ["managed-azure-kv", "db"] {
            let label = if provider == "db" { "db" } else { "managed" };
            group.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    runtime
                        .block_on(migrations(&emu, engine, provider, iters))
                        .expect("the engine was available a moment ago")
                });
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("migrate-vault-only");
    group.sample_size(10);
    group.throughput(Throughput::Elements(elements));
    group.bench_function("managed", |b| {
        b.iter_custom(|iters| runtime.block_on(vault_only(vault.as_ref(), iters)));
    });
    group.finish();

    // A vault 5 ms away, as a same-region one is: the store's share stays, the vault's grows.
    emu.inject(Fault::latency(Target::Vault, VAULT_LATENCY));
    let mut group = c.benchmark_group("migrate-5ms-vault");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(elements));
    group.bench_function("sqlite managed", |b| {
        b.iter_custom(|iters| {
            runtime
                .block_on(migrations(&emu, Engine::Sqlite, "managed-azure-kv", iters))
                .expect("SQLite needs nothing")
        });
    });
    group.bench_function("vault-only", |b| {
        b.iter_custom(|iters| runtime.block_on(vault_only(vault.as_ref(), iters)));
    });
    group.finish();
    emu.clear_faults();
    runtime.block_on(emu.shutdown());
}

criterion_group!(benches, migrate);
criterion_main!(benches);
