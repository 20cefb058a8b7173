//! Workload identity (federated token file) against the emulator.

use std::time::Duration;

use vaultref_emulator::{Emulator, Target};
use vaultref_entra::{Error, WorkloadIdentityCredential, WorkloadIdentityOptions};

use crate::support::{
    ManualClock, emulator, emulator_options, only_request, options, statuses, vault_accepts,
    vault_token, with_clock,
};

fn settings(emu: &Emulator, file: &std::path::Path) -> WorkloadIdentityOptions {
    WorkloadIdentityOptions {
        tenant_id: Some(emu.tenant_id().to_owned()),
        client_id: Some(emu.workload_client_id().to_owned()),
        token_file: Some(file.to_path_buf()),
        ..WorkloadIdentityOptions::default()
    }
}

#[tokio::test]
async fn federated_token_from_the_environment_is_exchanged_trimmed() {
    let emu = emulator().await;
    let authority = emu.authority_host().to_string();
    let file = emu.federated_token_file().to_str().unwrap().to_owned();
    let options = options(&[
        ("AZURE_TENANT_ID", emu.tenant_id()),
        ("AZURE_CLIENT_ID", emu.workload_client_id()),
        ("AZURE_FEDERATED_TOKEN_FILE", &file),
        ("AZURE_AUTHORITY_HOST", &authority),
    ]);
    let cred =
        WorkloadIdentityCredential::new(WorkloadIdentityOptions::default(), options).unwrap();
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);

    let request = only_request(&emu, Target::Entra);
    let on_disk = std::fs::read_to_string(emu.federated_token_file()).unwrap();
    assert!(
        on_disk.ends_with('\n'),
        "the emulator writes a trailing newline"
    );
    assert_eq!(
        request.form_field("client_assertion").as_deref(),
        Some(on_disk.trim_end())
    );
    assert_eq!(
        request.form_field("client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(
        request.form_field("client_id").as_deref(),
        Some(emu.workload_client_id())
    );
    assert_eq!(request.form_field("client_secret"), None);
}

#[tokio::test]
async fn expired_token_file_is_reported_and_a_rotated_file_is_picked_up() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, emu.issue_federated_token(Duration::ZERO)).unwrap();
    let clock = ManualClock::new();
    let cred = WorkloadIdentityCredential::new(
        settings(&emu, &file),
        with_clock(emulator_options(&emu), clock.clone()),
    )
    .unwrap();

    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(700_024), "{err}");
    let shown = err.to_string();
    assert!(shown.contains("AZURE_FEDERATED_TOKEN_FILE"), "{shown}");
    assert!(
        shown.starts_with("WorkloadIdentityCredential authentication failed"),
        "{shown}"
    );

    // The issuer rotates the file; after the failure back-off the new contents are used.
    std::fs::write(
        &file,
        format!("{}\n", emu.issue_federated_token(Duration::from_secs(3600))),
    )
    .unwrap();
    clock.advance(Duration::from_secs(3));
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
    assert_eq!(statuses(&emu, Target::Entra), [400, 200]);
}

#[tokio::test]
async fn missing_token_file_names_the_file() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-mounted");
    let cred =
        WorkloadIdentityCredential::new(settings(&emu, &file), emulator_options(&emu)).unwrap();
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(
        matches!(&err, Error::TokenFile { path, .. } if *path == file),
        "{err}"
    );
    assert!(emu.requests_to(Target::Entra).is_empty());
}

#[tokio::test]
async fn assertion_for_another_client_is_refused() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, emu.issue_federated_token(Duration::from_secs(600))).unwrap();
    let mut settings = settings(&emu, &file);
    settings.client_id = Some(emu.client_id().to_owned());
    let cred = WorkloadIdentityCredential::new(settings, emulator_options(&emu)).unwrap();
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(70_021), "{err}");
    assert!(
        err.to_string()
            .contains("no federated identity credential on the app matches"),
        "{err}"
    );
}
