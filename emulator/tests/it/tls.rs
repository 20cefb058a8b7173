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
