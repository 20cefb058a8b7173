//! Shared helpers: clients, tokens and request shortcuts.

use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use vaultref_emulator::{Emulator, EmulatorConfig, Target};

pub(crate) async fn plain() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

pub(crate) fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

/// A client of `emu` over TLS that trusts its CA and resolves `*.localhost` names to it.
pub(crate) fn tls_client(emu: &Emulator, vault_names: &[&str]) -> Client {
    let ca = reqwest::Certificate::from_pem(emu.ca_cert_pem().unwrap().as_bytes()).unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], emu.port()));
    let mut builder = Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .resolve("localhost", addr);
    for name in vault_names {
        builder = builder.resolve(&format!("{name}.localhost"), addr);
    }
    builder.build().unwrap()
}

pub(crate) async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// A client-secret token for the default app and the vault resource.
pub(crate) async fn app_token(emu: &Emulator, client_id: &str, secret: &str) -> String {
    let (status, body) = token_request(
        emu,
        client_id,
        secret,
        &format!("{}/.default", emu.vault_resource()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn token_request(
    emu: &Emulator,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    let url = emu
        .authority_host()
        .join(&format!("{}/oauth2/v2.0/token", emu.tenant_id()))
        .unwrap();
    json(
        client()
            .post(url)
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn default_token(emu: &Emulator) -> String {
    app_token(emu, emu.client_id(), emu.client_secret()).await
}

/// `{vault}{path}?api-version=7.6` as a full URL.
pub(crate) fn vault_path(emu: &Emulator, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!(
        "{}{}{sep}api-version=7.6",
        emu.vault_url(),
        path.trim_start_matches('/')
    )
}

/// `GET {vault}/secrets` with `token` over `http`: the vault's plainest authenticated call.
pub(crate) fn list_secrets(emu: &Emulator, http: &Client, token: &str) -> RequestBuilder {
    http.get(vault_path(emu, "secrets")).bearer_auth(token)
}

/// The status [`list_secrets`] gets.
pub(crate) async fn list(emu: &Emulator, http: &Client, token: &str) -> u16 {
    list_secrets(emu, http, token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The statuses of the vault requests `emu` logged, in order (0: closed without a response).
pub(crate) fn vault_statuses(emu: &Emulator) -> Vec<u16> {
    emu.requests_to(Target::Vault)
        .iter()
        .map(|r| r.status)
        .collect()
}
