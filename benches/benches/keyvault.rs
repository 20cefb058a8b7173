//! Key Vault client: per-GET cost of vaultref-keyvault side by side with the official
//! `azure_security_keyvault_secrets` 1.0.1 (+ `azure_identity` 1.0.0) in the same run, against
//! the emulator over TLS with the challenge on. See docs/benchmarks.md ("Key Vault client").
//!
//! - `keyvault-get/raw reqwest (floor)`: the same GET with a precomputed bearer header and no
//!   client logic: emulator + TLS + HTTP cost, subtracted to get each client's overhead.
//! - `keyvault-get/vaultref-keyvault`, `keyvault-get/azure_security_keyvault_secrets`: a warm
//!   `get_secret` (challenge cached, token cached), value parsed.
//! - `keyvault-get-overhead/*`: each client's GET minus a floor GET timed right before it, i.e.
//!   the client's own cost per call, robust to load that drifts on a shared machine.
//!
//! Both clients get an identical reqwest 0.13 client (emulator CA trusted, `kvtest.localhost`
//! mapped to 127.0.0.1), each its own pool. Before measuring, the bench counts the HTTP
//! requests each client makes per operation and prints them.

// The request-count table on stdout is this bench's report, next to criterion's.
#![allow(clippy::print_stdout)]

use std::{
    hint::black_box,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::Secret as AzureSecret,
    http::{ClientOptions, Transport},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vaultref_emulator::{Emulator, EmulatorConfig, Target};
use vaultref_entra::{ClientSecretCredential, CredentialOptions, Env, HttpClientOptions};
use vaultref_keyvault::{SecretClient, SecretClientOptions, SecretName, SetSecretOptions};

const VAULT: &str = "kvtest";
const SECRET: &str = "bench-secret";
const VALUE: &str = "postgres://etl:correct-horse-battery-staple@db:5432/warehouse";

fn no_env() -> Env {
    Env::from_vars::<[(&str, &str); 0], &str, &str>([])
}

/// A reqwest client that trusts the emulator and resolves the vault's host to it.
fn http_client(emu: &Emulator) -> reqwest::Client {
    let options = HttpClientOptions {
        ca_cert_file: emu.ca_cert_path().map(ToOwned::to_owned),
        ..HttpClientOptions::default()
    };
    vaultref_entra::http_client_builder(&options, &no_env())
        .expect("CA file")
        .no_proxy()
        .resolve(
            &format!("{VAULT}.localhost"),
            SocketAddr::from(([127, 0, 0, 1], emu.port())),
        )
        .build()
        .expect("reqwest client")
}

fn ours(emu: &Emulator) -> SecretClient {
    let http = http_client(emu);
    let credential = ClientSecretCredential::new(
        emu.tenant_id(),
        emu.client_id(),
        emu.client_secret().into(),
        CredentialOptions {
            env: no_env(),
            authority_host: Some(emu.authority_host()),
            http_client: Some(http.clone()),
            ..CredentialOptions::default()
        },
    )
    .expect("credential");
    SecretClient::new(
        emu.vault_url_for(VAULT).as_str(),
        Arc::new(credential),
        SecretClientOptions {
            http_client: Some(http),
            env: no_env(),
            ..SecretClientOptions::default()
        },
    )
    .expect("client")
}

fn official(emu: &Emulator) -> azure_security_keyvault_secrets::SecretClient {
    let transport = Transport::new(Arc::new(http_client(emu)));
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emu
        .authority_host()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let credential = azure_identity::ClientSecretCredential::new(
        emu.tenant_id(),
        emu.client_id().to_owned(),
        AzureSecret::new(emu.client_secret().to_owned()),
        Some(azure_identity::ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(transport.clone()),
                cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                ..ClientOptions::default()
            },
        }),
    )
    .expect("official credential");
    azure_security_keyvault_secrets::SecretClient::new(
        emu.vault_url_for(VAULT).as_str(),
        credential,
        Some(azure_security_keyvault_secrets::SecretClientOptions {
            client_options: ClientOptions {
                transport: Some(transport),
                ..ClientOptions::default()
            },
            ..azure_security_keyvault_secrets::SecretClientOptions::default()
        }),
    )
    .expect("official client")
}

async fn get_ours(client: &SecretClient, name: &SecretName) -> usize {
    let secret = client.get_secret(name).await.expect("vaultref get");
    secret.value.len()
}

async fn get_official(client: &azure_security_keyvault_secrets::SecretClient) -> usize {
    let secret = client
        .get_secret(SECRET, None)
        .await
        .expect("official get")
        .into_model()
        .expect("official body");
    secret.value.map_or(0, |v| v.len())
}

/// Vault and Entra requests made by `op`.
async fn count<F: Future<Output = ()>>(emu: &Emulator, op: F) -> (usize, usize) {
    emu.clear_requests();
    op.await;
    (
        emu.requests_to(Target::Vault).len(),
        emu.requests_to(Target::Entra).len(),
    )
}

fn keyvault_get(c: &mut Criterion) {
    // The emulator runs on its own runtime and threads; the clients on a current-thread
    // runtime, so the client side is what differs between contenders.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let emu = server.block_on(async {
        Emulator::start(EmulatorConfig {
            tls: true,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator")
    });
    let _ = emu.vault_url_for(VAULT);
    emu.vault(VAULT).set_secret(SECRET, VALUE);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let name = SecretName::new(SECRET).expect("name");

    let (ours, official) = rt.block_on(async { (ours(&emu), official(&emu)) });
    // Requests per operation, cold (first call: challenge + token) and warm.
    rt.block_on(async {
        let cold_ours = count(&emu, async {
            get_ours(&ours, &name).await;
        })
        .await;
        let cold_official = count(&emu, async {
            get_official(&official).await;
        })
        .await;
        let warm_ours = count(&emu, async {
            get_ours(&ours, &name).await;
        })
        .await;
        let warm_official = count(&emu, async {
            get_official(&official).await;
        })
        .await;
        let set_ours = count(&emu, async {
            ours.set_secret(&name, &VALUE.into(), &SetSecretOptions::default())
                .await
                .expect("vaultref set");
        })
        .await;
        let set_official = count(&emu, async {
            official
                .set_secret(
                    SECRET,
                    azure_security_keyvault_secrets::models::SetSecretParameters {
                        value: Some(VALUE.to_owned()),
                        ..Default::default()
                    }
                    .try_into()
                    .expect("body"),
                    None,
                )
                .await
                .expect("official set");
        })
        .await;
        println!("keyvault requests per operation (vault, entra):");
        println!("  first GET (cold): vaultref {cold_ours:?}  official {cold_official:?}");
        println!("  GET (warm):       vaultref {warm_ours:?}  official {warm_official:?}");
        println!("  SET (warm):       vaultref {set_ours:?}  official {set_official:?}");
        assert!(
            warm_ours.0 <= warm_official.0 && cold_ours.0 <= cold_official.0,
            "vaultref must not send more requests than the official client"
        );
    });

    // The floor: the same authenticated GET with no client logic at all.
    let raw = http_client(&emu);
    let token = emu
        .issue_access_token(emu.client_id(), emu.vault_resource())
        .expect("token");
    let bearer = format!("Bearer {token}");
    let url = format!(
        "{}secrets/{SECRET}/?api-version=2025-07-01",
        emu.vault_url_for(VAULT)
    );

    // Interleaved rounds (floor, vaultref, official, repeated) are robust to load that drifts
    // while criterion measures one contender after the other on a shared machine.
    rt.block_on(async {
        // `cargo bench` passes `--bench`; under `cargo test` a few rounds check the path only.
        let rounds = if std::env::args().any(|a| a == "--bench") {
            3000
        } else {
            30
        };
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..rounds {
            let started = Instant::now();
            let response = raw
                .get(&url)
                .header("authorization", &bearer)
                .send()
                .await
                .expect("raw get");
            black_box(response.bytes().await.expect("raw body").len());
            times[0].push(started.elapsed());
            let started = Instant::now();
            black_box(get_ours(&ours, &name).await);
            times[1].push(started.elapsed());
            let started = Instant::now();
            black_box(get_official(&official).await);
            times[2].push(started.elapsed());
        }
        let medians = times.map(|mut t| {
            t.sort();
            t[t.len() / 2]
        });
        let floor = medians[0];
        let overhead = |d: Duration| d.saturating_sub(floor);
        println!(
            "interleaved medians of {rounds} GETs: floor {floor:?}, vaultref {:?} (+{:?}), official {:?} (+{:?}); overhead ratio {:.2}x",
            medians[1],
            overhead(medians[1]),
            medians[2],
            overhead(medians[2]),
            overhead(medians[2]).as_secs_f64() / overhead(medians[1]).as_secs_f64().max(1e-9)
        );
    });

    let mut group = c.benchmark_group("keyvault-get");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("raw reqwest (floor)", |b| {
        b.to_async(&rt).iter(|| async {
            let response = raw
                .get(&url)
                .header("authorization", &bearer)
                .send()
                .await
                .expect("raw get");
            black_box(response.bytes().await.expect("raw body").len())
        });
    });
    group.bench_function("vaultref-keyvault", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(get_ours(&ours, &name).await) });
    });
    group.bench_function("azure_security_keyvault_secrets 1.0.1", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(get_official(&official).await) });
    });
    group.finish();

    // Overhead directly: each iteration times a floor GET and a client GET back to back and
    // keeps the difference, so load on the shared machine hits both sides alike.
    let floor_get = || async {
        let started = Instant::now();
        let response = raw
            .get(&url)
            .header("authorization", &bearer)
            .send()
            .await
            .expect("raw get");
        black_box(response.bytes().await.expect("raw body").len());
        started.elapsed()
    };
    let (ours, official, name, floor_get) = (&ours, &official, &name, &floor_get);
    let mut group = c.benchmark_group("keyvault-get-overhead");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("vaultref-keyvault", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let (mut client, mut floor) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..iters {
                floor += floor_get().await;
                let started = Instant::now();
                black_box(get_ours(ours, name).await);
                client += started.elapsed();
            }
            // A batch of a few iterations can come out negative on a loaded machine; criterion
            // needs a positive time, so such a batch counts as 1 ns (a bias against both).
            client.saturating_sub(floor).max(Duration::from_nanos(1))
        });
    });
    group.bench_function("azure_security_keyvault_secrets 1.0.1", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let (mut client, mut floor) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..iters {
                floor += floor_get().await;
                let started = Instant::now();
                black_box(get_official(official).await);
                client += started.elapsed();
            }
            // A batch of a few iterations can come out negative on a loaded machine; criterion
            // needs a positive time, so such a batch counts as 1 ns (a bias against both).
            client.saturating_sub(floor).max(Duration::from_nanos(1))
        });
    });
    group.finish();
    drop(emu);
    drop(server);
}

criterion_group!(benches, keyvault_get);
criterion_main!(benches);
