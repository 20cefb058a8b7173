//! Retries, Retry-After and back-off against the emulator's faults.

use std::time::Duration;

use vaultref_emulator::{Fault, Target};
use vaultref_entra::{
    CredentialOptions, Error, HttpClientOptions, ManagedIdentityCredential, ManagedIdentityOptions,
};

use crate::support::{
    ManualClock, emulator, emulator_options, fast_retry, options, secret_credential, statuses,
    vault_token, with_clock,
};

#[tokio::test]
async fn throttling_is_retried_after_retry_after() {
    let emu = emulator().await;
    emu.inject(Fault::throttle(Target::Entra, 2, 1));
    let cred = secret_credential(&emu, emulator_options(&emu));
    vault_token(&emu, &cred).await.unwrap();
    assert_eq!(statuses(&emu, Target::Entra), [429, 429, 200]);
}

#[tokio::test]
async fn persistent_throttling_says_so_with_the_requested_wait() {
    let emu = emulator().await;
    emu.inject(Fault::throttle(Target::Entra, 10, 1));
    let cred = secret_credential(&emu, emulator_options(&emu));
    let err = vault_token(&emu, &cred).await.unwrap_err();
    match &err {
        Error::ServiceUnavailable {
            status,
            attempts,
            retry_after,
            ..
        } => {
            assert_eq!(
                (*status, *attempts, *retry_after),
                (429, 3, Some(Duration::from_secs(1)))
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("throttling"), "{err}");
    assert_eq!(statuses(&emu, Target::Entra), [429, 429, 429]);
}

#[tokio::test]
async fn retry_after_beyond_the_limit_is_not_waited_for() {
    let emu = emulator().await;
    emu.inject(Fault::throttle(Target::Entra, 1, 600));
    let cred = secret_credential(&emu, emulator_options(&emu));
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(
        matches!(err, Error::ServiceUnavailable { status: 429, attempts: 1, retry_after: Some(d), .. } if d == Duration::from_secs(600)),
        "{err}"
    );
    assert_eq!(statuses(&emu, Target::Entra), [429]);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let emu = emulator().await;
    emu.inject(Fault::status(Target::Entra, 2, 503));
    let cred = secret_credential(&emu, emulator_options(&emu));
    vault_token(&emu, &cred).await.unwrap();
    assert_eq!(statuses(&emu, Target::Entra), [503, 503, 200]);

    let emu = emulator().await;
    emu.inject(Fault::drop_connections(Target::Entra, 1));
    let cred = secret_credential(&emu, emulator_options(&emu));
    vault_token(&emu, &cred).await.unwrap();
    assert_eq!(statuses(&emu, Target::Entra).last(), Some(&200));
}

#[tokio::test]
async fn a_down_entra_sees_one_request_per_back_off_not_one_per_call() {
    let emu = emulator().await;
    // Down for good (not for a wall-clock window, which a slow machine could outlast).
    emu.inject(Fault::status(Target::Entra, u32::MAX, 503));
    let clock = ManualClock::new();
    let options = CredentialOptions {
        retry: fast_retry(0),
        ..with_clock(emulator_options(&emu), clock.clone())
    };
    let cred = secret_credential(&emu, options);
    for _ in 0..20 {
        let err = vault_token(&emu, &cred).await.unwrap_err();
        assert!(
            matches!(err, Error::ServiceUnavailable { status: 503, .. }),
            "{err}"
        );
    }
    assert_eq!(statuses(&emu, Target::Entra), [503]);
    clock.advance(Duration::from_secs(2));
    vault_token(&emu, &cred).await.unwrap_err();
    assert_eq!(statuses(&emu, Target::Entra), [503, 503]);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let emu = emulator().await;
    emu.inject(Fault::latency(Target::Entra, Duration::from_secs(2)));
    let options = CredentialOptions {
        http: HttpClientOptions {
            request_timeout: Duration::from_millis(200),
            ..HttpClientOptions::default()
        },
        retry: fast_retry(1),
        ..emulator_options(&emu)
    };
    let cred = secret_credential(&emu, options);
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 2, .. }), "{err}");
    assert!(err.to_string().contains("did not answer in time"), "{err}");
}

#[tokio::test]
async fn managed_identity_throttling_is_retried() {
    let emu = emulator().await;
    emu.inject(Fault::throttle(Target::ManagedIdentity, 1, 1));
    let host = emu.imds_endpoint().to_string();
    let cred = ManagedIdentityCredential::new(
        ManagedIdentityOptions::default(),
        options(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)]),
    )
    .unwrap();
    vault_token(&emu, &cred).await.unwrap();
    assert_eq!(statuses(&emu, Target::ManagedIdentity), [429, 200]);
}
