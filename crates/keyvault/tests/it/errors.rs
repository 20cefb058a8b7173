//! Every error kind, from the emulator's real error responses.

use std::{sync::Arc, time::Duration};

use vaultref_emulator::{AccessModel, EmulatorConfig, Fault, Target};
use vaultref_keyvault::{
    Error, ForbiddenReason, ListOptions, RetryOptions, SecretClient, SecretClientOptions,
    SecretName, SetSecretOptions,
};

use crate::support::{FixedJitter, VAULT, assert_forbidden, name, read_value, start, start_with};

#[tokio::test]
async fn a_bad_name_is_rejected_before_any_request() {
    let kv = start().await;
    let err = SecretName::new("db_password").unwrap_err();
    assert!(matches!(&err, Error::InvalidSecretName { name, .. } if name == "db_password"));
    assert!(err.to_string().contains("0-9, a-z, A-Z or '-'"), "{err}");
    let err = kv
        .client
        .get_secret_version(&name("ok"), "../../keys/x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let err = kv
        .client
        .list_secrets(&ListOptions {
            max_results: Some(26),
        })
        .err()
        .unwrap();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(kv.emu.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn not_found_for_every_operation_on_an_unknown_name() {
    let kv = start().await;
    let n = name("missing");
    let not_found = |result: Result<(), Error>| {
        let err = result.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
    };
    not_found(kv.client.get_secret(&n).await.map(drop));
    not_found(kv.client.delete_secret(&n).await.map(drop));
    not_found(kv.client.get_deleted_secret(&n).await.map(drop));
    not_found(kv.client.recover_deleted_secret(&n).await.map(drop));
    not_found(kv.client.purge_deleted_secret(&n).await);
    not_found(kv.client.backup_secret(&n).await.map(drop));
    not_found(
        kv.client
            .get_secret_version(&n, "8095fa90d89344e984c1e4328e52b711")
            .await
            .map(drop),
    );
    // Not retried: one probe + one request for the first, then one each.
    assert_eq!(kv.vault_requests().len(), 8);
    assert!(kv.timer.sleeps().is_empty());
}

#[tokio::test]
async fn forbidden_by_access_policy_names_the_missing_permission() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("shared", "value");
    let reader = kv.read_only_client("reader-app", "reader-secret");
    assert_eq!(read_value(&reader, "shared").await, "value");
    kv.emu.clear_requests();
    let err = reader
        .set_secret(
            &name("shared"),
            &"new-value".into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap_err();
    assert_forbidden(
        &err,
        ForbiddenReason::AccessPolicy,
        "secrets set permission",
    );
    assert!(err.to_string().contains("access policies"), "{err}");
    assert!(!err.to_string().contains("new-value"), "{err}");
    assert_eq!(kv.vault_statuses(), [403], "403 is not retried");
}

#[tokio::test]
async fn purge_protection_is_its_own_forbidden_reason() {
    let kv = start_with(EmulatorConfig {
        purge_protection: true,
        ..EmulatorConfig::default()
    })
    .await;
    let n = name("protected");
    kv.client
        .set_secret(&n, &"v".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    kv.client
        .delete_secret_and_wait(&n, &Default::default())
        .await
        .unwrap();
    let err = kv.client.purge_deleted_secret(&n).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Forbidden {
                reason: ForbiddenReason::PurgeProtection,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("recover it instead"), "{err}");
}

#[tokio::test]
async fn conflicts_while_deleted_or_being_deleted() {
    let kv = start_with(EmulatorConfig {
        delete_delay: Duration::from_secs(30),
        ..EmulatorConfig::default()
    })
    .await;
    let n = name("busy");
    let set = |value: &'static str| {
        let client = kv.client.clone();
        let n = n.clone();
        async move {
            client
                .set_secret(&n, &value.into(), &SetSecretOptions::default())
                .await
        }
    };
    set("v1").await.unwrap();
    kv.client.delete_secret(&n).await.unwrap();
    let err = set("v2").await.unwrap_err();
    assert!(matches!(err, Error::BeingDeleted { .. }), "{err}");
    assert_eq!(err.status(), Some(409));
    let err = kv.client.purge_deleted_secret(&n).await.unwrap_err();
    assert!(matches!(err, Error::BeingDeleted { .. }), "{err}");

    kv.emu.set_delete_delay(Duration::ZERO);
    let other = name("gone");
    kv.client
        .set_secret(&other, &"x".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    kv.client.delete_secret(&other).await.unwrap();
    let err = kv
        .client
        .set_secret(&other, &"y".into(), &SetSecretOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeletedButRecoverable { .. }), "{err}");
    assert!(err.to_string().contains("recover it"), "{err}");

    // Restoring onto an existing name is a plain conflict.
    kv.client
        .set_secret(&name("dup"), &"d".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    let backup = kv.client.backup_secret(&name("dup")).await.unwrap();
    let err = kv.client.restore_secret(&backup).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn bad_parameters_are_reported_with_the_service_message() {
    let kv = start().await;
    let huge = "x".repeat(30_000);
    let err = kv
        .client
        .set_secret(
            &name("big"),
            &huge.as_str().into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadParameter { code, .. } if code == "BadParameter"),
        "{err}"
    );
    assert!(!err.to_string().contains("xxxxxxxxxx"), "{err}");
    let too_many_tags = SetSecretOptions {
        tags: (0..16).map(|i| (format!("t{i}"), "v".to_owned())).collect(),
        ..SetSecretOptions::default()
    };
    let err = kv
        .client
        .set_secret(&name("tags"), &"v".into(), &too_many_tags)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadParameter { .. }), "{err}");
}

#[tokio::test]
async fn throttling_past_the_retry_budget_reports_the_requested_delay() {
    let kv = start().await;
    kv.challenge_done("hot", "v").await;
    kv.emu.inject(Fault::throttle(Target::Vault, 100, 5));
    let err = kv.client.get_secret(&name("hot")).await.unwrap_err();
    match &err {
        Error::Throttled {
            attempts,
            retry_after,
            ..
        } => {
            // The default policy stops after 8 retries (8 x 5 s fits the 60 s budget).
            assert_eq!(*attempts, 9);
            assert_eq!(*retry_after, Some(Duration::from_secs(5)));
        }
        other => panic!("{other}"),
    }
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("5000 ms"), "{err}");
    assert_eq!(kv.vault_statuses(), [429; 9]);
}

#[tokio::test]
async fn server_errors_after_retries_and_unreachable_vaults() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    kv.client.get_secret(&name("s")).await.unwrap();
    let client = kv.client_with(kv.credential(), |o| o.jitter = Arc::new(FixedJitter(0.5)));
    client.get_secret(&name("s")).await.unwrap();
    kv.emu.inject(Fault::status(Target::Vault, 100, 503));
    let err = client.get_secret(&name("s")).await.unwrap_err();
    // Back-offs 0.5, 1, 2, 4, 8, 16 s; the next (30 s, capped) would end past the 60 s budget.
    assert!(
        matches!(
            err,
            Error::Service {
                status: 503,
                attempts: 7,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("retry later"), "{err}");
    let secs = |s: f64| Duration::from_secs_f64(s);
    assert_eq!(
        kv.timer.sleeps(),
        [
            secs(0.5),
            secs(1.0),
            secs(2.0),
            secs(4.0),
            secs(8.0),
            secs(16.0)
        ]
    );

    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = SecretClient::new(
        &format!("https://127.0.0.1:{port}/"),
        kv.credential(),
        SecretClientOptions {
            http_client: Some(kv.http.clone()),
            retry: RetryOptions {
                max_retries: 1,
                initial_delay: Duration::from_millis(10),
                ..Default::default()
            },
            ..SecretClientOptions::default()
        },
    )
    .unwrap();
    let err = client.get_secret(&name("s")).await.unwrap_err();
    // Nothing starts listening on a loopback port because we wait: the first refusal is final
    // (issue 11), and the root cause is in the message.
    assert!(matches!(err, Error::Transport { attempts: 1, .. }), "{err}");
    assert!(err.to_string().contains("Connection refused"), "{err}");

    // The same refusal from a named host (a load balancer may come back) is retried.
    let http = reqwest::Client::builder()
        .resolve(
            "vault.test",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .unwrap();
    let client = SecretClient::new(
        &format!("https://vault.test:{port}/"),
        kv.credential(),
        SecretClientOptions {
            http_client: Some(http),
            timer: kv.timer.clone(),
            retry: RetryOptions {
                max_retries: 1,
                ..Default::default()
            },
            ..SecretClientOptions::default()
        },
    )
    .unwrap();
    let err = client.get_secret(&name("s")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 2, .. }), "{err}");
}

#[tokio::test]
async fn forbidden_by_rbac_and_by_policy() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("guarded", "value");
    kv.emu.vault(VAULT).set_access_model(AccessModel::Rbac);
    let reader = kv.read_only_client("rbac-reader", "reader-secret");
    let err = reader
        .set_secret(
            &name("guarded"),
            &"new-value".into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap_err();
    assert_forbidden(&err, ForbiddenReason::Rbac, "Caller is not authorized");
    assert!(
        err.to_string().contains("Key Vault Secrets Officer"),
        "{err}"
    );

    kv.client.get_secret(&name("guarded")).await.unwrap();
    kv.emu.clear_requests();
    kv.emu.inject(Fault::forbidden_by_policy(Target::Vault, 1));
    let err = kv.client.get_secret(&name("guarded")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Forbidden {
                reason: ForbiddenReason::Policy,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(kv.vault_statuses(), [403], "not retried");
    assert_eq!(read_value(&kv.client, "guarded").await, "value");
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_with_its_root_cause() {
    let kv = start().await;
    let vault = kv.emu.vault_url_for(VAULT);
    let credential = vaultref_keyvault::VaultCredential::ClientSecret {
        tenant_id: kv.emu.tenant_id().to_owned(),
        client_id: kv.emu.client_id().to_owned(),
        client_secret: kv.emu.client_secret().to_owned().into(),
    };
    let connect = |ca_cert_file| {
        SecretClient::connect(
            &vault,
            &credential,
            vaultref_keyvault::ConnectOptions {
                authority_host: Some(kv.emu.authority_host()),
                ca_cert_file,
                env: vaultref_entra::Env::default(),
                ..vaultref_keyvault::ConnectOptions::default()
            },
        )
        .unwrap()
    };
    let err = connect(None).get_secret(&name("s")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 1, .. }), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("UnknownIssuer") && shown.contains("caCertFile"),
        "{shown}"
    );
    assert!(
        kv.emu.requests().is_empty(),
        "no TLS session, so no request"
    );

    // Trusting the emulator's CA, the same settings work (a named vault under *.localhost).
    kv.emu.vault(VAULT).set_secret("s", "v");
    let trusted = connect(kv.emu.ca_cert_path().map(ToOwned::to_owned));
    assert_eq!(read_value(&trusted, "s").await, "v");
}
