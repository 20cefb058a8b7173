//! Emulator throughput: authenticated `GET /secrets/{name}/` answered per second, from a
//! concurrent client (64 requests in flight, keep-alive connections), side by side with a bare
//! wiremock server answering a fixed body (the floor the emulator is built on). See
//! docs/benchmarks.md ("Emulator") for method and results.
//!
//! - `emulator-get/vaultref http`: front + wiremock + token validation + permission check +
//!   lookup + request log, plain HTTP.
//! - `emulator-get/vaultref https`: the same over TLS (the SDKs' path).
//! - `emulator-get/bare wiremock`: wiremock alone with one static mock.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use vaultref_emulator::{Emulator, EmulatorConfig};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const IN_FLIGHT: usize = 64;

async fn token(emu: &Emulator, http: &reqwest::Client) -> String {
    let url = format!(
        "http://127.0.0.1:{}/{}/oauth2/v2.0/token",
        emu.port(),
        emu.tenant_id()
    );
    let scope = format!("{}/.default", emu.vault_resource());
    let body: serde_json::Value = http
        .post(url)
        .form(&[
            ("client_id", emu.client_id()),
            ("client_secret", emu.client_secret()),
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token body");
    body["access_token"].as_str().expect("a token").to_owned()
}

async fn burst(http: &reqwest::Client, url: &str, bearer: &str) {
    let requests = (0..IN_FLIGHT).map(|_| async {
        let response = http
            .get(url)
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200);
        black_box(response.bytes().await.expect("body"));
    });
    join_all(requests).await;
}

fn emulator_get(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let (emu, bare, bearer) = runtime.block_on(async {
        let emu = Emulator::start(EmulatorConfig {
            tls: true,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator");
        emu.set_secret(
            "bench-secret",
            "a value of a typical size, 64 bytes long.........",
        );
        let bare = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value":"x"}"#))
            .mount(&bare)
            .await;
        let bearer = token(&emu, &plain).await;
        (emu, bare, bearer)
    });
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let ca =
        reqwest::Certificate::from_pem(emu.ca_cert_pem().expect("tls on").as_bytes()).expect("ca");
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .build()
        .expect("client");
    let path = "secrets/bench-secret/?api-version=7.6";
    let http_url = format!("http://127.0.0.1:{}/{path}", emu.port());
    let https_url = format!("{}{path}", emu.vault_url());
    let bare_url = format!("{}/{path}", bare.uri());

    let mut group = c.benchmark_group("emulator-get");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("vaultref http", |b| {
        b.to_async(&runtime)
            .iter(|| burst(&plain, &http_url, &bearer));
    });
    group.bench_function("vaultref https", |b| {
        b.to_async(&runtime)
            .iter(|| burst(&https, &https_url, &bearer));
    });
    group.bench_function("bare wiremock", |b| {
        b.to_async(&runtime)
            .iter(|| burst(&plain, &bare_url, &bearer));
    });
    group.finish();
    // The request log holds every request of the run; keep it from growing the next group.
    emu.clear_requests();
}

criterion_group!(benches, emulator_get);
criterion_main!(benches);
