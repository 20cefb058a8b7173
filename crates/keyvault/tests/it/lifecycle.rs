//! Soft delete, recovery, purge and the waits that make them visible.

use std::{sync::Arc, time::Duration};

use futures::TryStreamExt;
use vaultref_keyvault::{Error, ListOptions, SetSecretOptions, TokioTimer, WaitOptions};

use crate::support::{VAULT, name, start};

#[tokio::test]
async fn a_soft_deleted_name_is_recovered_and_set_again() {
    let kv = start().await;
    let n = name("db-pass");
    let opts = SetSecretOptions::default();
    kv.client
        .set_secret(&n, &"first".into(), &opts)
        .await
        .unwrap();

    let deleted = kv
        .client
        .delete_secret_and_wait(&n, &WaitOptions::default())
        .await
        .unwrap();
    assert!(
        deleted
            .recovery_id
            .unwrap()
            .ends_with("/deletedsecrets/db-pass")
    );
    assert!(deleted.deleted_on.is_some());
    assert!(kv.client.get_secret(&n).await.unwrap_err().is_not_found());

    let err = kv
        .client
        .set_secret(&n, &"second".into(), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeletedButRecoverable { .. }), "{err}");

    let listed: Vec<_> = kv
        .client
        .list_deleted_secrets(&ListOptions::default())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        kv.client
            .get_deleted_secret(&n)
            .await
            .unwrap()
            .properties
            .name,
        n
    );

    let recovered = kv
        .client
        .recover_deleted_secret_and_wait(&n, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(recovered.name, n);
    assert_eq!(
        kv.client.get_secret(&n).await.unwrap().value.expose(),
        "first"
    );

    kv.client
        .set_secret(&n, &"second".into(), &opts)
        .await
        .unwrap();
    assert_eq!(
        kv.emu.vault(VAULT).secret_value("db-pass").as_deref(),
        Some("second")
    );
    let versions = kv
        .client
        .list_secret_versions(&n, &ListOptions::default())
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
}

#[tokio::test]
async fn purge_frees_the_name() {
    let kv = start().await;
    let n = name("temp");
    let opts = SetSecretOptions::default();
    kv.client.set_secret(&n, &"a".into(), &opts).await.unwrap();
    kv.client
        .delete_secret_and_wait(&n, &WaitOptions::default())
        .await
        .unwrap();
    kv.client.purge_deleted_secret(&n).await.unwrap();
    assert!(
        kv.client
            .get_deleted_secret(&n)
            .await
            .unwrap_err()
            .is_not_found()
    );
    kv.client.set_secret(&n, &"b".into(), &opts).await.unwrap();
    assert_eq!(
        kv.emu.vault(VAULT).secret_value("temp").as_deref(),
        Some("b")
    );
}

#[tokio::test]
async fn waits_poll_until_a_slow_delete_and_recover_are_visible() {
    let kv = start().await;
    let client = kv.client_with(kv.credential(), |o| o.timer = Arc::new(TokioTimer));
    let wait = WaitOptions {
        poll_interval: Duration::from_millis(200),
        timeout: Duration::from_secs(20),
    };
    let n = name("slow");
    client
        .set_secret(&n, &"v".into(), &SetSecretOptions::default())
        .await
        .unwrap();

    // The emulator counts whole seconds: a 3 s delay hides the change for at least 2 s, so
    // the first poll, sent right away, sees 404.
    kv.emu.set_delete_delay(Duration::from_secs(3));
    kv.emu.clear_requests();
    client.delete_secret_and_wait(&n, &wait).await.unwrap();
    let polls: Vec<u16> = kv
        .vault_requests()
        .iter()
        .filter(|r| r.path == "/deletedsecrets/slow")
        .map(|r| r.status)
        .collect();
    assert!(polls.len() >= 2 && polls.ends_with(&[200]), "{polls:?}");
    assert!(
        polls[..polls.len() - 1].iter().all(|s| *s == 404),
        "{polls:?}"
    );
    // Visible now: purge or recover work at once.
    kv.emu.set_recover_delay(Duration::from_secs(3));
    kv.emu.clear_requests();
    client
        .recover_deleted_secret_and_wait(&n, &wait)
        .await
        .unwrap();
    assert_eq!(client.get_secret(&n).await.unwrap().value.expose(), "v");
    let polls = kv
        .vault_requests()
        .iter()
        .filter(|r| r.path == "/secrets/slow/" && r.status == 404)
        .count();
    assert!(polls >= 1, "recover was polled");
}

#[tokio::test]
async fn a_wait_gives_up_at_its_deadline() {
    let kv = start().await;
    let n = name("stuck");
    kv.client
        .set_secret(&n, &"v".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    kv.emu.set_delete_delay(Duration::from_secs(3600));
    let wait = WaitOptions {
        poll_interval: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
    };
    // The recording timer turns the 10 s deadline into a handful of polls, no real waiting.
    let err = kv
        .client
        .delete_secret_and_wait(&n, &wait)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::WaitTimedOut { state: "deleted", waited, .. } if *waited == Duration::from_secs(10)),
        "{err}"
    );
    assert_eq!(kv.timer.sleeps(), [Duration::from_secs(2); 5]);
}
