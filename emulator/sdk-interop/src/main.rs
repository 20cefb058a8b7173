//! Runs the official Azure Rust SDK crates (`azure_identity` 1.0.0,
//! `azure_security_keyvault_secrets` 1.0.1) against a vaultref emulator.
//!
//! `vaultref-sdk-interop client-secret|workload|mi-appservice`, configured by the environment
//! exactly as a user would (`AZURE_*`, `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, `SSL_CERT_FILE`)
//! plus `VAULT_URL` and, for the negative checks, `EMU_*`. Prints one `PASS <operation>` line per
//! checked operation and `ALL PASSED` at the end; exits 1 on the first failure. Driven by
//! `tests/it/`.

// The PASS lines on stdout are this program's interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::env;
use std::process::ExitCode;
use std::sync::Arc;

use azure_core::credentials::{
    AccessToken, Secret as Credential, TokenCredential, TokenRequestOptions,
};
use azure_core::error::ErrorKind;
use azure_core::http::{RequestContent, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use azure_identity::{
    ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential,
};
use azure_security_keyvault_secrets::models::{
    RestoreSecretParameters, SecretAttributes, SecretClientGetSecretOptions,
    SecretClientListSecretPropertiesOptions, SecretClientListSecretPropertiesVersionsOptions,
    SecretClientUpdateSecretPropertiesOptions, SetSecretParameters,
    UpdateSecretPropertiesParameters,
};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use futures::TryStreamExt;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn var(name: &str) -> Result<String> {
    env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

fn check(condition: bool, what: &str) -> Result<()> {
    if condition {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

fn passed(what: &str) {
    println!("PASS {what}");
}

/// The HTTP status and service error code of a failed call.
fn failure(error: &azure_core::Error) -> (Option<u16>, Option<String>) {
    let code = match error.kind() {
        ErrorKind::HttpResponse { error_code, .. } => error_code.clone(),
        _ => None,
    };
    (error.http_status().map(u16::from), code)
}

/// The error of a call that must fail (`must_fail` otherwise), checked to carry HTTP
/// `status` and service error `code` (`what` names the check).
fn expect_failure<T>(
    outcome: azure_core::Result<T>,
    must_fail: &str,
    (status, code): (u16, &str),
    what: &str,
) -> Result<azure_core::Error> {
    let error = outcome.err().ok_or(must_fail)?;
    check(failure(&error) == (Some(status), Some(code.into())), what)?;
    Ok(error)
}

/// The body of a `set_secret` that sets only the value.
fn value_only(value: impl Into<String>) -> Result<RequestContent<SetSecretParameters>> {
    Ok(SetSecretParameters {
        value: Some(value.into()),
        ..SetSecretParameters::default()
    }
    .try_into()?)
}

/// Checks that the latest version of `name` reads `expected` (`what` names the check).
async fn check_latest(client: &SecretClient, name: &str, expected: &str, what: &str) -> Result<()> {
    let latest = client.get_secret(name, None).await?.into_model()?;
    check(latest.value.as_deref() == Some(expected), what)
}

fn client(credential: Arc<dyn TokenCredential>) -> Result<SecretClient> {
    let vault_url = var("VAULT_URL")?;
    let url = azure_core::http::Url::parse(&vault_url)?;
    let mut options = SecretClientOptions::default();
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) if host.ends_with(".localhost") => {
            // glibc does not resolve NAME.localhost: give the SDK a transport that does (and
            // trusts the emulator's CA). Challenge-resource verification stays on: the
            // challenge names https://localhost:PORT, a parent domain of the vault host.
            let ca = reqwest::Certificate::from_pem(&std::fs::read(var("SSL_CERT_FILE")?)?)?;
            let http = reqwest::Client::builder()
                .no_proxy()
                .tls_certs_only([ca])
                .resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                .build()?;
            options.client_options.transport = Some(Transport::new(Arc::new(http)));
            options.verify_challenge_resource = Some(true);
        }
        // The default vault at 127.0.0.1 has no parent domain to match the challenge resource.
        _ => options.verify_challenge_resource = Some(false),
    }
    Ok(SecretClient::new(&vault_url, credential, Some(options))?)
}

fn credential(mode: &str) -> Result<Arc<dyn TokenCredential>> {
    Ok(match mode {
        // The authority host comes from AZURE_AUTHORITY_HOST.
        "client-secret" => ClientSecretCredential::new(
            &var("AZURE_TENANT_ID")?,
            var("AZURE_CLIENT_ID")?,
            Credential::new(var("AZURE_CLIENT_SECRET")?),
            None,
        )?,
        // AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST.
        "workload" => WorkloadIdentityCredential::new(None)?,
        // IDENTITY_ENDPOINT + IDENTITY_HEADER select the App Service source.
        "mi-appservice" => ManagedIdentityCredential::new(None)?,
        other => return Err(format!("unknown mode {other}").into()),
    })
}

async fn every_operation(client: &SecretClient, prefix: &str) -> Result<()> {
    let name = format!("{prefix}-secret");
    let first = client
        .set_secret(
            &name,
            SetSecretParameters {
                value: Some("v1".into()),
                content_type: Some("text/plain".into()),
                tags: Some(HashMap::from([("a".to_owned(), "b".to_owned())])),
                ..SetSecretParameters::default()
            }
            .try_into()?,
            None,
        )
        .await?
        .into_model()?;
    let v1 = first.resource_id()?.version.unwrap_or_default();
    check(
        v1.len() == 32 && first.value.as_deref() == Some("v1"),
        "set returns the bundle",
    )?;
    let second = client
        .set_secret(&name, value_only("v2")?, None)
        .await?
        .into_model()?;
    check(
        second.resource_id()?.version.as_deref() != Some(v1.as_str()),
        "new version",
    )?;
    passed("set_secret (new version each time)");

    check_latest(client, &name, "v2", "get latest").await?;
    check_latest(client, &name.to_uppercase(), "v2", "case-insensitive names").await?;
    let by_version = client
        .get_secret(
            &name,
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..SecretClientGetSecretOptions::default()
            }),
        )
        .await?
        .into_model()?;
    check(by_version.value.as_deref() == Some("v1"), "get by version")?;
    passed("get_secret (latest, by version, case-insensitive)");

    for i in 0..3 {
        client
            .set_secret(
                &format!("{prefix}-page-{i}"),
                value_only(format!("p{i}"))?,
                None,
            )
            .await?;
    }
    let mut pages = client
        .list_secret_properties(Some(SecretClientListSecretPropertiesOptions {
            maxresults: Some(2),
            ..SecretClientListSecretPropertiesOptions::default()
        }))?
        .into_pages();
    let (mut page_count, mut names) = (0, Vec::new());
    while let Some(page) = pages.try_next().await? {
        page_count += 1;
        for item in page.into_model()?.value {
            names.push(item.resource_id()?.name);
        }
    }
    check(page_count >= 2, "several pages")?;
    check(
        (0..3).all(|i| names.contains(&format!("{prefix}-page-{i}"))),
        "every secret listed",
    )?;
    passed("list_secret_properties (paged, nextLink followed)");
    let versions: Vec<_> = client
        .list_secret_properties_versions(
            &name,
            Some(SecretClientListSecretPropertiesVersionsOptions {
                maxresults: Some(1),
                ..SecretClientListSecretPropertiesVersionsOptions::default()
            }),
        )?
        .try_collect()
        .await?;
    check(versions.len() == 2, "two versions")?;
    passed("list_secret_properties_versions (paged)");

    let disable = UpdateSecretPropertiesParameters {
        content_type: Some("application/json".into()),
        secret_attributes: Some(SecretAttributes {
            enabled: Some(false),
            ..SecretAttributes::default()
        }),
        tags: Some(HashMap::from([("t".to_owned(), "1".to_owned())])),
    };
    let updated = client
        .update_secret_properties(&name, disable.try_into()?, None)
        .await?
        .into_model()?;
    check(
        updated.content_type.as_deref() == Some("application/json"),
        "update contentType",
    )?;
    let error = client
        .get_secret(&name, None)
        .await
        .err()
        .ok_or("a disabled secret must not be readable")?;
    check(failure(&error).0 == Some(403), "disabled get is 403")?;
    let enable = UpdateSecretPropertiesParameters {
        secret_attributes: Some(SecretAttributes {
            enabled: Some(true),
            ..SecretAttributes::default()
        }),
        ..UpdateSecretPropertiesParameters::default()
    };
    let latest_version = updated.resource_id()?.version;
    client
        .update_secret_properties(
            &name,
            enable.try_into()?,
            Some(SecretClientUpdateSecretPropertiesOptions {
                secret_version: latest_version,
                ..SecretClientUpdateSecretPropertiesOptions::default()
            }),
        )
        .await?;
    check_latest(client, &name, "v2", "re-enabled").await?;
    passed("update_secret_properties (contentType, enabled, tags, by version)");

    let backup = client
        .backup_secret(&name, None)
        .await?
        .into_model()?
        .value
        .unwrap_or_default();
    check(!backup.is_empty(), "backup blob")?;
    passed("backup_secret");

    let deleted = client.delete_secret(&name, None).await?.into_model()?;
    check(
        deleted.recovery_id.is_some(),
        "deleted secret has a recovery id",
    )?;
    passed("delete_secret");
    let got = client.get_deleted_secret(&name, None).await?.into_model()?;
    check(got.scheduled_purge_date.is_some(), "scheduled purge date")?;
    passed("get_deleted_secret");
    let listed: Vec<_> = client
        .list_deleted_secret_properties(None)?
        .try_collect()
        .await?;
    check(
        listed
            .iter()
            .any(|d| d.resource_id().is_ok_and(|r| r.name == name)),
        "listed as deleted",
    )?;
    passed("list_deleted_secret_properties");
    expect_failure(
        client.set_secret(&name, value_only("v3")?, None).await,
        "setting a soft-deleted name must fail",
        (409, "Conflict"),
        "409 Conflict",
    )?;
    passed("set on a soft-deleted name is 409 Conflict");
    client.recover_deleted_secret(&name, None).await?;
    check_latest(client, &name, "v2", "recovered").await?;
    passed("recover_deleted_secret");

    client.delete_secret(&name, None).await?;
    let purged = client.purge_deleted_secret(&name, None).await?;
    check(u16::from(purged.status()) == 204, "purge is 204")?;
    passed("purge_deleted_secret (204)");

    client
        .restore_secret(
            RestoreSecretParameters {
                secret_backup: Some(backup),
            }
            .try_into()?,
            None,
        )
        .await?;
    check_latest(client, &name, "v2", "restored").await?;
    passed("restore_secret");

    expect_failure(
        client.get_secret(&format!("{prefix}-missing"), None).await,
        "a missing secret must fail",
        (404, "SecretNotFound"),
        "404 SecretNotFound",
    )?;
    passed("get of a missing secret is 404 SecretNotFound");
    Ok(())
}

/// Always returns one fixed token, to present bad tokens to the vault.
#[derive(Debug)]
struct StaticToken(String);

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            self.0.clone(),
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
    }
}

async fn expect_vault_401(token_var: &str, marker: &str, what: &str) -> Result<()> {
    let client = client(Arc::new(StaticToken(var(token_var)?)))?;
    let error = expect_failure(
        client.get_secret("anything", None).await,
        "must be refused",
        (401, "Unauthorized"),
        what,
    )?;
    check(
        format!("{error:?}").contains(marker) || error.to_string().contains(marker),
        marker,
    )?;
    passed(what);
    Ok(())
}

async fn negatives() -> Result<()> {
    let wrong = ClientSecretCredential::new(
        &var("AZURE_TENANT_ID")?,
        var("AZURE_CLIENT_ID")?,
        Credential::new("not-the-secret".to_owned()),
        None,
    )?;
    let error = client(wrong)?
        .get_secret("anything", None)
        .await
        .err()
        .ok_or("wrong secret must fail")?;
    check(
        format!("{error:?}").contains("7000215"),
        "AADSTS7000215 surfaced",
    )?;
    passed("wrong client secret is 401 invalid_client AADSTS7000215");

    expect_vault_401(
        "EMU_EXPIRED_TOKEN",
        "TokenExpired",
        "expired token is 401 Unauthorized",
    )
    .await?;
    expect_vault_401(
        "EMU_OTHER_AUDIENCE_TOKEN",
        "AKV10022",
        "token for another audience is 401 AKV10022",
    )
    .await?;

    let reader = ClientSecretCredential::new(
        &var("AZURE_TENANT_ID")?,
        var("EMU_READER_ID")?,
        Credential::new(var("EMU_READER_SECRET")?),
        None,
    )?;
    let reader = client(reader)?;
    check_latest(&reader, "seeded", "seeded-value", "reader can get").await?;
    expect_failure(
        reader
            .set_secret("seeded", value_only("overwrite")?, None)
            .await,
        "a reader must not set",
        (403, "Forbidden"),
        "403 Forbidden",
    )?;
    passed("reader setting a secret is 403 Forbidden");
    Ok(())
}

async fn run(mode: &str) -> Result<()> {
    let client = client(credential(mode)?)?;
    every_operation(&client, &format!("rust-{mode}")).await?;
    if mode == "client-secret" {
        negatives().await?;
    }
    println!("ALL PASSED");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mode = env::args().nth(1).unwrap_or_default();
    match run(&mode).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("FAILED ({mode}): {error}");
            ExitCode::FAILURE
        }
    }
}
