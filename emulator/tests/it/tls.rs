//! TLS: the CA, the leaf and plain HTTP on the same port.

use vaultref_emulator::{Emulator, EmulatorConfig, Target};

use crate::support::{json, tls_client};

#[tokio::test]
async fn https_with_the_emulator_ca_and_plain_http_share_the_port() {
    let emu = Emulator::start(EmulatorConfig {
        tls: true,
        vaults: vec!["tls-vault".into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(emu.vault_url().scheme(), "https");
    assert_eq!(emu.authority_host().scheme(), "https");
    let pem = std::fs::read_to_string(emu.ca_cert_path().unwrap()).unwrap();
    assert_eq!(pem, emu.ca_cert_pem().unwrap());
    assert_eq!(
        emu.vault_resource(),
        format!("https://localhost:{}", emu.port())
    );

    // rustls (webpki) refuses a CA:TRUE leaf, so these succeeding also checks the leaf shape.
    let https = tls_client(&emu, &["tls-vault"]);
    let token = {
        let url = format!(
            "{}{}/oauth2/v2.0/token",
            emu.authority_host(),
            emu.tenant_id()
        );
        let (status, body) = json(
            https
                .post(url)
                .form(&[
                    ("client_id", emu.client_id()),
                    ("client_secret", emu.client_secret()),
                    ("grant_type", "client_credentials"),
                    ("scope", &format!("{}/.default", emu.vault_resource())),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        body["access_token"].as_str().unwrap().to_owned()
    };
    for base in [
        emu.vault_url().to_string(),
        format!("https://localhost:{}/", emu.port()),
        emu.vault_url_for("tls-vault").to_string(),
    ] {
        let (status, body) = json(
            https
                .put(format!("{base}secrets/s?api-version=7.6"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"value": "v"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{base}: {body}");
        assert!(body["id"].as_str().unwrap().starts_with(&base), "{base}");
    }
    assert!(emu.requests_to(Target::Vault).iter().all(|r| r.tls));

    // Managed identity stays on plain http, on the same port.
    assert_eq!(emu.identity_endpoint().scheme(), "http");
    let url = format!(
        "{}?api-version=2019-08-01&resource={}",
        emu.identity_endpoint(),
        emu.vault_resource()
    );
    let (status, _) = json(
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(url)
            .header("X-IDENTITY-HEADER", emu.identity_header())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!emu.requests().last().unwrap().tls);
}

/// Over TLS the emulator offers HTTP/2 as Key Vault does: a client that offers it sends
/// concurrent requests as streams of one connection, and they are answered together (each is
/// forwarded on its own, so a latency fault delays them side by side, not one after another).
/// A client that offers only HTTP/1.1 gets HTTP/1.1, a connection per request in flight.
#[tokio::test]
async fn tls_clients_that_offer_http2_share_one_connection_answered_concurrently() {
    let emu = Emulator::start(EmulatorConfig {
        tls: true,
        vaults: vec!["h2-vault".into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}secrets/s?api-version=7.6", emu.vault_url_for("h2-vault"));
    let get_all = |client: reqwest::Client| {
        let url = url.clone();
        async move {
            let requests = (0..8).map(|_| {
                let (client, url) = (client.clone(), url.clone());
                async move { client.get(url).send().await.unwrap().status().as_u16() }
            });
            futures_statuses(requests).await
        }
    };
    emu.inject(vaultref_emulator::Fault::latency(
        Target::Vault,
        std::time::Duration::from_millis(200),
    ));

    // Unauthenticated GETs: each is the vault's 401 challenge.
    let statuses = get_all(tls_client(&emu, &["h2-vault"])).await;
    assert_eq!(statuses, [401; 8]);
    let h2 = emu.requests_to(Target::Vault);
    assert_eq!(h2.len(), 8);
    assert!(h2.iter().all(|r| r.tls && r.http2), "{h2:?}");
    let connection = h2[0].connection;
    assert_ne!(connection, 0);
    assert!(h2.iter().all(|r| r.connection == connection), "{h2:?}");
    assert_eq!(
        vaultref_emulator::RecordedRequest::peak_in_flight(&h2),
        8,
        "{h2:?}"
    );
    // The `:authority` routed each to its vault, as a `Host` header does over HTTP/1.1.
    assert!(
        h2.iter().all(|r| r.host.starts_with("h2-vault.localhost:")),
        "{h2:?}"
    );

    emu.clear_requests();
    let ca = reqwest::Certificate::from_pem(emu.ca_cert_pem().unwrap().as_bytes()).unwrap();
    let http1_only = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tls_certs_only([ca])
        .resolve(
            "h2-vault.localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], emu.port())),
        )
        .build()
        .unwrap();
    assert_eq!(get_all(http1_only).await, [401; 8]);
    let h1 = emu.requests_to(Target::Vault);
    assert!(h1.iter().all(|r| r.tls && !r.http2), "{h1:?}");
    let mut connections: Vec<u64> = h1.iter().map(|r| r.connection).collect();
    connections.sort_unstable();
    connections.dedup();
    assert_eq!(connections.len(), 8, "{h1:?}");
}

/// Runs `requests` concurrently and returns their results in order.
async fn futures_statuses<F: std::future::Future<Output = u16> + Send + 'static>(
    requests: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}
