//! The default chain: which credential it picks, and how it falls through.

use std::sync::Arc;

use vaultref_emulator::{Emulator, Target};
use vaultref_entra::{
    ChainedTokenCredential, DefaultAzureCredential, DefaultAzureCredentialOptions, Error,
    ManagedIdentityCredential, ManagedIdentityOptions,
};

use crate::support::{emulator, only_request, options, vault_accepts, vault_token};

fn chain(vars: &[(&str, &str)]) -> DefaultAzureCredential {
    DefaultAzureCredential::new(DefaultAzureCredentialOptions::default(), options(vars)).unwrap()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The default chain with the tenant, authority host, token file and IMDS of `emu`, plus `client`.
fn chain_with_every_source(emu: &Emulator, client: &[(&str, &str)]) -> DefaultAzureCredential {
    let authority = emu.authority_host().to_string();
    let imds = emu.imds_endpoint().to_string();
    let file = emu.federated_token_file().to_str().unwrap().to_owned();
    let mut vars = vec![("AZURE_TENANT_ID", emu.tenant_id())];
    vars.extend_from_slice(client);
    vars.extend([
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
        ("AZURE_FEDERATED_TOKEN_FILE", &file),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds),
    ]);
    chain(&vars)
}

#[tokio::test]
async fn environment_credential_comes_first() {
    let emu = emulator().await;
    let cred = chain_with_every_source(
        &emu,
        &[
            ("AZURE_CLIENT_ID", emu.client_id()),
            ("AZURE_CLIENT_SECRET", emu.client_secret()),
        ],
    );
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
    let request = only_request(&emu, Target::Entra);
    assert!(request.form_field("client_secret").is_some());
    assert!(emu.requests_to(Target::ManagedIdentity).is_empty());
}

#[tokio::test]
async fn workload_identity_when_there_is_no_secret() {
    let emu = emulator().await;
    let cred = chain_with_every_source(&emu, &[("AZURE_CLIENT_ID", emu.workload_client_id())]);
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
    let request = only_request(&emu, Target::Entra);
    assert!(request.form_field("client_assertion").is_some());
    assert!(emu.requests_to(Target::ManagedIdentity).is_empty());
}

#[tokio::test]
async fn falls_through_to_managed_identity_after_a_probe_without_metadata() {
    let emu = emulator().await;
    let imds = emu.imds_endpoint().to_string();
    let cred = chain(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds)]);
    let first = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &first).await);

    // The probe is the emulator's "missing Metadata header" failure (400), which proves IMDS
    // is there; the real request carries the header.
    let requests = emu.requests_to(Target::ManagedIdentity);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].header("metadata"), None);
    assert_eq!(requests[0].status, 400);
    assert_eq!(requests[1].header("metadata"), Some("true"));
    assert_eq!(requests[1].status, 200);
    assert!(emu.requests_to(Target::Entra).is_empty());

    // Later calls go straight to the cached token of the chosen credential.
    assert_eq!(vault_token(&emu, &cred).await.unwrap(), first);
    assert_eq!(emu.requests_to(Target::ManagedIdentity).len(), 2);
}

#[tokio::test]
async fn managed_identity_probe_failure_is_unavailable_without_retries() {
    let emu = emulator().await;
    let host = format!("http://127.0.0.1:{}", closed_port());
    let cred = ManagedIdentityCredential::new(
        ManagedIdentityOptions {
            imds_probe_timeout: Some(std::time::Duration::from_secs(1)),
            ..ManagedIdentityOptions::default()
        },
        options(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)]),
    )
    .unwrap();
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        err.to_string().contains("no IMDS endpoint answered"),
        "{err}"
    );
}

#[tokio::test]
async fn nothing_configured_lists_every_credential() {
    let emu = emulator().await;
    let host = format!("http://127.0.0.1:{}", closed_port());
    let cred = chain(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)]);
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let Error::Chain { attempts, .. } = &err else {
        panic!("{err}")
    };
    let names: Vec<&str> = attempts.iter().map(|a| a.credential.as_str()).collect();
    assert_eq!(
        names,
        [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential"
        ]
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with("DefaultAzureCredential failed to get a token. Attempted credentials:"),
        "{shown}"
    );
    assert!(
        shown.contains("AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set"),
        "{shown}"
    );
    assert!(
        shown.contains("AZURE_FEDERATED_TOKEN_FILE not set"),
        "{shown}"
    );
    assert!(shown.contains("no IMDS endpoint answered"), "{shown}");
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn a_failing_credential_stops_the_chain() {
    let emu = emulator().await;
    let authority = emu.authority_host().to_string();
    let imds = emu.imds_endpoint().to_string();
    let cred = chain(&[
        ("AZURE_TENANT_ID", emu.tenant_id()),
        ("AZURE_CLIENT_ID", emu.client_id()),
        ("AZURE_CLIENT_SECRET", "not-the-secret"),
        ("AZURE_AUTHORITY_HOST", &authority),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds),
    ]);
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(!err.is_unavailable());
    assert_eq!(err.aadsts_code(), Some(7_000_215));
    let Error::Chain { attempts, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].credential, "EnvironmentCredential");
    assert!(
        err.to_string()
            .contains("EnvironmentCredential authentication failed"),
        "{err}"
    );
    assert!(
        emu.requests_to(Target::ManagedIdentity).is_empty(),
        "the chain stopped"
    );
}

#[tokio::test]
async fn custom_chain_skips_unavailable_credentials() {
    let emu = emulator().await;
    let imds = emu.imds_endpoint().to_string();
    let unavailable = vaultref_entra::EnvironmentCredential::new(options(&[])).unwrap();
    let managed = ManagedIdentityCredential::new(
        ManagedIdentityOptions::default(),
        options(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds)]),
    )
    .unwrap();
    let cred = ChainedTokenCredential::new(vec![Arc::new(unavailable), Arc::new(managed)]);
    assert_eq!(
        cred.credential_names(),
        ["EnvironmentCredential", "ManagedIdentityCredential"]
    );
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
}
