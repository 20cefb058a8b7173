//! https authority hosts and the extra CA bundle (explicit option or SSL_CERT_FILE).

use vaultref_emulator::Target;
use vaultref_entra::{CredentialOptions, Env, Error, HttpClientOptions, build_http_client};

use crate::support::{
    emulator_options, fast_retry, options, secret_credential, tls_emulator, vault_accepts,
    vault_token,
};

#[tokio::test]
async fn https_authority_trusted_through_the_ca_option() {
    let emu = tls_emulator().await;
    assert_eq!(emu.authority_host().scheme(), "https");
    let options = CredentialOptions {
        http: HttpClientOptions {
            ca_cert_file: Some(emu.ca_cert_path().unwrap().to_path_buf()),
            ..HttpClientOptions::default()
        },
        ..emulator_options(&emu)
    };
    let cred = secret_credential(&emu, options);
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
    assert!(emu.requests_to(Target::Entra)[0].tls);
}

#[tokio::test]
async fn https_authority_trusted_through_ssl_cert_file() {
    let emu = tls_emulator().await;
    let authority = emu.authority_host().to_string();
    let ca = emu.ca_cert_path().unwrap().to_str().unwrap().to_owned();
    let options = options(&[
        ("AZURE_TENANT_ID", emu.tenant_id()),
        ("AZURE_CLIENT_ID", emu.client_id()),
        ("AZURE_CLIENT_SECRET", emu.client_secret()),
        ("AZURE_AUTHORITY_HOST", &authority),
        ("SSL_CERT_FILE", &ca),
    ]);
    let cred = vaultref_entra::EnvironmentCredential::new(options).unwrap();
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
}

#[tokio::test]
async fn untrusted_certificate_is_a_transport_error_that_mentions_the_ca() {
    let emu = tls_emulator().await;
    // Retries allowed, but a certificate error is not worth retrying.
    let options = CredentialOptions {
        retry: fast_retry(3),
        ..emulator_options(&emu)
    };
    let cred = secret_credential(&emu, options);
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 1, .. }), "{err}");
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
    assert!(
        err.to_string().contains("certificate"),
        "the root cause is shown: {err}"
    );
}

#[tokio::test]
async fn shared_client_builder_reaches_the_tls_vault() {
    let emu = tls_emulator().await;
    let ca = emu.ca_cert_path().unwrap().to_str().unwrap().to_owned();
    let client = build_http_client(
        &HttpClientOptions::default(),
        &Env::from_vars([("SSL_CERT_FILE", ca)]),
    )
    .unwrap();
    let response = client
        .get(emu.vault_url().join("secrets/x?api-version=7.6").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "the vault's challenge, over trusted TLS"
    );
    assert!(response.headers().contains_key("www-authenticate"));
}
