//! Every operation's happy path, checked against the emulator's state.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use time::{OffsetDateTime, macros::datetime};
use vaultref_keyvault::{Error, ForbiddenReason, ListOptions, SecretUpdate, SetSecretOptions};

use crate::support::{VAULT, name, start};

#[tokio::test]
async fn set_with_every_property_then_get_latest_and_by_version() {
    let kv = start().await;
    let not_before =
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::days(1);
    let options = SetSecretOptions {
        content_type: Some("text/plain".into()),
        tags: BTreeMap::from([
            ("owner".into(), "etl".into()),
            ("env".into(), "test".into()),
        ]),
        enabled: Some(true),
        not_before: Some(not_before),
        expires_on: Some(datetime!(2030-01-01 0:00 UTC)),
    };
    let n = name("conn-password");
    let first = kv
        .client
        .set_secret(&n, &"v1".into(), &options)
        .await
        .unwrap();
    let p = &first.properties;
    assert_eq!(p.name, n);
    assert_eq!(p.content_type.as_deref(), Some("text/plain"));
    assert_eq!(p.tags, options.tags);
    assert_eq!(p.enabled, Some(true));
    assert_eq!(p.not_before, Some(not_before));
    assert_eq!(p.expires_on, Some(datetime!(2030-01-01 0:00 UTC)));
    assert!(p.created_on.is_some() && p.updated_on.is_some());
    assert_eq!(p.recovery_level.as_deref(), Some("Recoverable+Purgeable"));
    let v1 = p.version.clone().unwrap();
    assert_eq!(v1.len(), 32);
    assert!(
        p.id.ends_with(&format!("/secrets/conn-password/{v1}")),
        "{}",
        p.id
    );

    // The wire body carried the attributes as integer seconds.
    let put = kv
        .vault_requests()
        .into_iter()
        .rfind(|r| r.method == "PUT")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(body["attributes"]["exp"], 1_893_456_000);
    assert_eq!(body["contentType"], "text/plain");

    let second = kv
        .client
        .set_secret(&n, &"v2".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    // nbf in the future does not block reads (facts-checked 1.11).
    assert_eq!(kv.client.get_secret(&n).await.unwrap().value.expose(), "v2");
    let old = kv.client.get_secret_version(&n, &v1).await.unwrap();
    assert_eq!(old.value.expose(), "v1");
    assert_eq!(old.properties.version.as_deref(), Some(v1.as_str()));
    assert_ne!(second.properties.version, Some(v1));
}

#[tokio::test]
async fn update_properties_disables_and_enables_a_version() {
    let kv = start().await;
    let n = name("toggle");
    kv.client
        .set_secret(&n, &"value".into(), &SetSecretOptions::default())
        .await
        .unwrap();
    let disabled = kv
        .client
        .update_secret_properties(
            &n,
            None,
            &SecretUpdate {
                enabled: Some(false),
                content_type: Some("application/json".into()),
                tags: Some(BTreeMap::from([("t".into(), "1".into())])),
                ..SecretUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(disabled.enabled, Some(false));
    assert_eq!(disabled.content_type.as_deref(), Some("application/json"));
    let patch = kv
        .vault_requests()
        .into_iter()
        .rfind(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.path, "/secrets/toggle/");

    let err = kv.client.get_secret(&n).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Forbidden {
                reason: ForbiddenReason::SecretDisabled,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("enable it"), "{err}");

    let version = disabled.version.unwrap();
    kv.client
        .update_secret_properties(
            &n,
            Some(&version),
            &SecretUpdate {
                enabled: Some(true),
                ..SecretUpdate::default()
            },
        )
        .await
        .unwrap();
    let secret = kv.client.get_secret(&n).await.unwrap();
    assert_eq!(secret.value.expose(), "value");
    assert_eq!(
        secret.properties.tags.get("t").map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn list_versions_backup_and_restore() {
    let kv = start().await;
    let n = name("rotated");
    for value in ["a", "b", "c"] {
        kv.client
            .set_secret(&n, &value.into(), &SetSecretOptions::default())
            .await
            .unwrap();
    }
    let versions: Vec<_> = kv
        .client
        .list_secret_versions(&n, &ListOptions::default())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions.iter().all(|v| v.version.is_some() && v.name == n));

    let backup = kv.client.backup_secret(&n).await.unwrap();
    assert!(!backup.as_base64url().is_empty());
    assert!(!format!("{backup:?}").contains(backup.as_base64url()));

    kv.client
        .delete_secret_and_wait(&n, &Default::default())
        .await
        .unwrap();
    kv.client.purge_deleted_secret(&n).await.unwrap();
    assert!(kv.emu.vault(VAULT).secret_value("rotated").is_none());

    let restored = kv.client.restore_secret(&backup).await.unwrap();
    assert_eq!(restored.name, n);
    assert_eq!(kv.client.get_secret(&n).await.unwrap().value.expose(), "c");
    let count = kv
        .client
        .list_secret_versions(&n, &ListOptions::default())
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(count, 3, "all versions restored");
}

#[tokio::test]
async fn secrets_never_show_in_debug_output() {
    let kv = start().await;
    let secret = kv
        .client
        .set_secret(
            &name("dbg"),
            &"TOP-SECRET-123".into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap();
    let shown = format!("{secret:?} {:?} {:?}", kv.client, secret.value);
    assert!(!shown.contains("TOP-SECRET-123"), "{shown}");
    assert!(
        !shown.contains("eyJ"),
        "the cached bearer token must not show: {shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}
