//! The naive way to resolve a document's `secret:` references with the official Rust SDK
//! (`azure_security_keyvault_secrets` 1.0.1, `azure_identity` 1.0.0): one `get_secret` per
//! reference, one after another, nothing cached. One whole process, for `cargo xtask bench`
//! (docs/benchmarks.md, "Cold start").
//!
//! `sdk_loop DOCUMENT.json`, configured by the environment the bench sets:
//! `VAULTREF_BENCH_VAULT_URL`, `_TENANT_ID`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_AUTHORITY_HOST`,
//! `_CA_CERT` (the emulator's CA) and `_PORT` (`*.localhost` is reached on 127.0.0.1 there, as
//! an `/etc/hosts` line would do). Prints the resolved document as JSON.

use std::{net::SocketAddr, sync::Arc};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::Secret,
    http::{ClientOptions, Transport},
};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn var(name: &str) -> Result<String> {
    std::env::var(format!("VAULTREF_BENCH_{name}"))
        .map_err(|_| format!("VAULTREF_BENCH_{name} is not set").into())
}

fn resolve<'a>(
    node: &'a mut Value,
    client: &'a SecretClient,
) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + 'a>> {
    Box::pin(async move {
        match node {
            Value::Object(map) => {
                for value in map.values_mut() {
                    resolve(value, client).await?;
                }
            }
            Value::Array(items) => {
                for value in items {
                    resolve(value, client).await?;
                }
            }
            Value::String(text) => {
                if let Some(name) = text.strip_prefix("secret:") {
                    let secret = client.get_secret(name, None).await?.into_model()?;
                    *node = Value::String(secret.value.unwrap_or_default());
                }
            }
            _ => {}
        }
        Ok(())
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sdk_loop DOCUMENT.json")?;
    let vault_url = url::Url::parse(&var("VAULT_URL")?)?;
    let port: u16 = var("PORT")?.parse()?;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(var("CA_CERT")?)?)?;
    let mut http = reqwest::Client::builder().tls_certs_merge([ca]);
    if let Some(host) = vault_url.host_str().filter(|h| h.ends_with(".localhost")) {
        http = http.resolve(host, SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let transport = Transport::new(Arc::new(http.build()?));
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = var("AUTHORITY_HOST")?.trim_end_matches('/').to_owned();
    let credential = ClientSecretCredential::new(
        &var("TENANT_ID")?,
        var("CLIENT_ID")?,
        Secret::new(var("CLIENT_SECRET")?),
        Some(ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(transport.clone()),
                cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                ..ClientOptions::default()
            },
        }),
    )?;
    let client = SecretClient::new(
        vault_url.as_str(),
        credential,
        Some(SecretClientOptions {
            client_options: ClientOptions {
                transport: Some(transport),
                ..ClientOptions::default()
            },
            ..SecretClientOptions::default()
        }),
    )?;
    let mut document: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    resolve(&mut document, &client).await?;
    let text = serde_json::to_string(&document)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
    Ok(())
}
