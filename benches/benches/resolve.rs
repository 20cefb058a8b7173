//! Resolving `secret:` references against the emulator (TLS, challenge auth, a fixed vault
//! latency standing in for the network): vaultref's `Resolver` side by side with the naive
//! baseline of OpenMetadata's ingestion and Airflow (one vault GET per reference, one after
//! another, no cache). See docs/benchmarks.md ("Resolver") for method and results.
//!
//! - `resolve-cold/vaultref` (5 ms vault latency; `resolve-cold-slow-vault`: 20 ms, 100
//!   references): a fresh resolver (empty cache) per iteration; distinct names are
//!   read concurrently (at most `max_concurrency`, 100, in flight), each once.
//! - `resolve-cold/sequential uncached`: the baseline.
//! - `resolve-warm/vaultref`: the same resolver again (every value cached: no request).
//!
//! Before measuring, the number of vault requests one resolution makes is printed per variant.

// A benchmark binary reports on stdout.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use vaultref_core::{
    KeyVaultBackend, Resolver, ResolverOptions, SecretBackend, SecretName, reference_name,
};
use vaultref_emulator::{Emulator, EmulatorConfig, Fault, Target};

/// The vault's answer delay: a same-region network round trip; 100 references are measured
/// again with a slower vault, where round trips dominate the machine's CPU.
const VAULT_LATENCY: Duration = Duration::from_millis(5);
const SLOW_VAULT_LATENCY: Duration = Duration::from_millis(20);

const SIZES: [usize; 3] = [1, 10, 100];

fn document(size: usize) -> Value {
    json!({
        "services": (0..size)
            .map(|i| json!({"name": format!("svc-{i}"), "password": format!("secret:bench-{i:03}")}))
            .collect::<Vec<_>>()
    })
}

/// What OpenMetadata's ingestion does: every reference read from the vault when used, one at a
/// time, nothing cached.
async fn resolve_sequentially(backend: &dyn SecretBackend, doc: &mut Value) {
    let Some(services) = doc["services"].as_array_mut() else {
        return;
    };
    for service in services {
        let Some(name) = service["password"].as_str().and_then(reference_name) else {
            continue;
        };
        let name = SecretName::new(&name).expect("a valid name");
        let value = backend.get_secret(&name).await.expect("the secret");
        service["password"] = Value::String(value.expose_secret().to_owned());
    }
}

mod support;

fn backend(emu: &Emulator) -> Arc<KeyVaultBackend> {
    support::key_vault_backend(&support::config(emu, "azure-kv", ""))
}

fn resolve(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (emu, backend) = runtime.block_on(async {
        let emu = Emulator::start(EmulatorConfig {
            tls: true,
            request_log_capacity: 100_000,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator");
        for i in 0..100 {
            emu.set_secret(
                &format!("bench-{i:03}"),
                "a value of a typical size, 64 bytes long.........",
            );
        }
        let backend = backend(&emu);
        // Challenge and token once, so that every variant measures reads only.
        backend
            .get_secret(&SecretName::new("bench-000").expect("name"))
            .await
            .expect("warm-up read");
        emu.inject(Fault::latency(Target::Vault, VAULT_LATENCY));
        (emu, backend)
    });

    // Vault requests per resolution, from the emulator's request log.
    for size in SIZES {
        let doc = document(size);
        let count = |f: &dyn Fn()| {
            emu.clear_requests();
            f();
            emu.requests_to(Target::Vault).len()
        };
        let resolver = Resolver::new(backend.clone(), ResolverOptions::default());
        let cold = count(&|| {
            runtime
                .block_on(resolver.resolve_references(&mut doc.clone()))
                .expect("resolved");
        });
        let warm = count(&|| {
            runtime
                .block_on(resolver.resolve_references(&mut doc.clone()))
                .expect("resolved");
        });
        let naive =
            count(&|| runtime.block_on(resolve_sequentially(backend.as_ref(), &mut doc.clone())));
        println!(
            "vault requests per resolution of {size} reference(s): vaultref cold {cold}, vaultref warm {warm}, sequential uncached {naive}"
        );
    }

    for (group, latency, sizes) in [
        ("resolve-cold", VAULT_LATENCY, &SIZES[..]),
        ("resolve-cold-slow-vault", SLOW_VAULT_LATENCY, &SIZES[2..]),
    ] {
        emu.clear_faults();
        emu.inject(Fault::latency(Target::Vault, latency));
        let mut cold = c.benchmark_group(group);
        cold.sample_size(10);
        cold.measurement_time(Duration::from_secs(8));
        for &size in sizes {
            let doc = document(size);
            cold.throughput(Throughput::Elements(size as u64));
            cold.bench_with_input(BenchmarkId::new("vaultref", size), &doc, |b, doc| {
                b.to_async(&runtime).iter(|| async {
                    let resolver = Resolver::new(backend.clone(), ResolverOptions::default());
                    let mut doc = doc.clone();
                    resolver
                        .resolve_references(&mut doc)
                        .await
                        .expect("resolved");
                    black_box(doc)
                });
            });
            cold.bench_with_input(
                BenchmarkId::new("sequential uncached", size),
                &doc,
                |b, doc| {
                    b.to_async(&runtime).iter(|| async {
                        let mut doc = doc.clone();
                        resolve_sequentially(backend.as_ref(), &mut doc).await;
                        black_box(doc)
                    });
                },
            );
        }
        cold.finish();
    }
    emu.clear_faults();
    emu.inject(Fault::latency(Target::Vault, VAULT_LATENCY));

    let mut warm = c.benchmark_group("resolve-warm");
    for size in SIZES {
        let doc = document(size);
        let resolver = Resolver::new(backend.clone(), ResolverOptions::default());
        runtime
            .block_on(resolver.resolve_references(&mut doc.clone()))
            .expect("resolved");
        warm.throughput(Throughput::Elements(size as u64));
        warm.bench_with_input(BenchmarkId::new("vaultref", size), &doc, |b, doc| {
            b.to_async(&runtime).iter(|| async {
                let mut doc = doc.clone();
                resolver
                    .resolve_references(&mut doc)
                    .await
                    .expect("resolved");
                black_box(doc)
            });
        });
    }
    warm.finish();
    runtime.block_on(emu.shutdown());
}

criterion_group!(benches, resolve);
criterion_main!(benches);
