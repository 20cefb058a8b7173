//! What `TransportFailure` says about real failures, and whether it calls them transient.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use url::Url;
use vaultref_emulator::{Emulator, EmulatorConfig, Fault, Target};
use vaultref_transport::{
    BodyError, Environment, FailureKind, HttpClientOptions, TransportFailure, build_http_client,
    http_client_builder, read_body_limited,
};

fn no_env() -> Environment {
    Environment::default()
}

async fn fail(client: &reqwest::Client, url: &str) -> TransportFailure {
    let url = Url::parse(url).unwrap();
    let err = client.get(url.clone()).send().await.unwrap_err();
    TransportFailure::new(err, &url)
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn a_refused_loopback_connection_is_final_and_says_so() {
    let client = build_http_client(&HttpClientOptions::default(), &no_env()).unwrap();
    let port = closed_port();
    for url in [
        format!("https://127.0.0.1:{port}/secrets?sig=s1gn4ture"),
        format!("http://localhost:{port}/"),
    ] {
        let failure = fail(&client, &url).await;
        assert_eq!(failure.kind(), FailureKind::ConnectionRefused, "{failure}");
        assert!(!failure.is_transient(), "{url}");
        let shown = failure.to_string();
        assert!(shown.contains("Connection refused"), "{shown}");
        assert!(
            shown.contains("connection refused: nothing listens"),
            "{shown}"
        );
        assert!(!shown.contains("s1gn4ture"), "{shown}");
    }
}

#[tokio::test]
async fn a_refused_connection_to_a_named_host_is_worth_retrying() {
    // A name (resolved here without DNS) may sit behind a load balancer that comes back.
    let addr = SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let client = http_client_builder(&HttpClientOptions::default(), &no_env())
        .unwrap()
        .resolve("vault.test", addr)
        .build()
        .unwrap();
    let failure = fail(&client, &format!("https://vault.test:{}/", addr.port())).await;
    assert_eq!(failure.kind(), FailureKind::ConnectionRefused);
    assert!(failure.is_transient());
}

#[tokio::test]
async fn an_untrusted_certificate_is_final_and_names_the_ca_settings() {
    let emu = vaultref_testkit::tls_emulator().await;
    let client = build_http_client(&HttpClientOptions::default(), &no_env()).unwrap();
    let failure = fail(&client, emu.vault_url().as_str()).await;
    assert_eq!(failure.kind(), FailureKind::Certificate, "{failure}");
    assert!(!failure.is_transient());
    let shown = failure.to_string();
    assert!(shown.contains("UnknownIssuer"), "{shown}");
    assert!(
        shown.contains("caCertFile") && shown.contains("SSL_CERT_FILE"),
        "{shown}"
    );

    // Trusting the CA fixes it.
    let trusted = build_http_client(
        &HttpClientOptions {
            ca_cert_file: emu.ca_cert_path().map(ToOwned::to_owned),
            ..HttpClientOptions::default()
        },
        &no_env(),
    )
    .unwrap();
    assert_eq!(
        trusted.get(emu.vault_url()).send().await.unwrap().status(),
        401
    );
}

/// A resolver that fails as getaddrinfo does, so no DNS query leaves the machine.
#[derive(Debug)]
struct FailingResolver(&'static str);

impl reqwest::dns::Resolve for FailingResolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let message = self.0;
        Box::pin(async move {
            Err(Box::new(std::io::Error::other(format!(
                "failed to lookup address information: {message}"
            ))) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

#[tokio::test]
async fn an_unknown_host_is_final_a_temporary_dns_failure_is_not() {
    for (message, kind, transient) in [
        (
            "Name or service not known",
            FailureKind::NameNotResolved,
            false,
        ),
        (
            "Temporary failure in name resolution",
            FailureKind::NameResolutionUnavailable,
            true,
        ),
    ] {
        let client = http_client_builder(&HttpClientOptions::default(), &no_env())
            .unwrap()
            .dns_resolver(Arc::new(FailingResolver(message)))
            .build()
            .unwrap();
        let failure = fail(&client, "https://no-such-vault.vault.azure.net/").await;
        assert_eq!(failure.kind(), kind, "{failure}");
        assert_eq!(failure.is_transient(), transient, "{failure}");
        assert!(failure.cause().contains(message), "{failure}");
    }
}

#[tokio::test]
async fn dropped_connections_and_timeouts_are_worth_retrying() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.inject(Fault::drop_connections(Target::Vault, 1));
    let client = build_http_client(&HttpClientOptions::default(), &no_env()).unwrap();
    let failure = fail(&client, emu.vault_url().as_str()).await;
    assert_eq!(failure.kind(), FailureKind::Connection, "{failure}");
    assert!(failure.is_transient());

    emu.inject(Fault::latency(Target::Vault, Duration::from_secs(2)));
    let impatient = build_http_client(
        &HttpClientOptions {
            request_timeout: Duration::from_millis(200),
            ..HttpClientOptions::default()
        },
        &no_env(),
    )
    .unwrap();
    let failure = fail(&impatient, emu.vault_url().as_str()).await;
    assert_eq!(failure.kind(), FailureKind::Timeout, "{failure}");
    assert!(failure.is_transient());
    assert!(failure.to_string().contains("did not answer in time"));
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let client = build_http_client(&HttpClientOptions::default(), &no_env()).unwrap();
    // The vault's challenge comes with a JSON error body of a few dozen bytes.
    let response = client.get(emu.vault_url()).send().await.unwrap();
    assert!(matches!(
        read_body_limited(response, 8).await,
        Err(BodyError::TooLarge(_))
    ));
    let response = client.get(emu.vault_url()).send().await.unwrap();
    let body = read_body_limited(response, 64 * 1024).await.unwrap();
    assert!(!body.is_empty());
}
