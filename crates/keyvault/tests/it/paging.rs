//! List streams: `nextLink` followed to the end, api-version on every page.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use vaultref_keyvault::{ListOptions, SecretProperties, WaitOptions};

use crate::support::{VAULT, name, start};

#[tokio::test]
async fn two_hundred_secrets_at_seven_per_page() {
    let kv = start().await;
    let expected: BTreeSet<String> = (0..200).map(|i| format!("secret-{i:03}")).collect();
    for n in &expected {
        kv.emu.vault(VAULT).set_secret(n, "value");
    }
    let client = kv.client_with(kv.credential(), |o| o.api_version = "7.6".into());
    let listed: Vec<SecretProperties> = client
        .list_secrets(&ListOptions {
            max_results: Some(7),
        })
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = listed.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(listed.len(), 200, "no duplicates");
    assert_eq!(names, expected);
    assert!(
        listed.iter().all(|p| p.version.is_none()),
        "list items carry no version"
    );

    let pages: Vec<_> = kv
        .vault_requests()
        .into_iter()
        .filter(|r| r.path == "/secrets" && r.has_authorization())
        .collect();
    assert_eq!(pages.len(), 29, "ceil(200 / 7) pages");
    assert!(
        pages
            .iter()
            .all(|r| r.query_param("api-version").as_deref() == Some("7.6"))
    );
    assert!(
        pages
            .iter()
            .all(|r| r.query_param("maxresults").as_deref() == Some("7"))
    );
    assert!(
        pages[1..]
            .iter()
            .all(|r| r.query_param("$skiptoken").is_some())
    );
}

#[tokio::test]
async fn streams_are_lazy_and_yield_item_by_item() {
    let kv = start().await;
    for i in 0..10 {
        kv.emu.vault(VAULT).set_secret(&format!("s{i}"), "v");
    }
    let mut stream = kv
        .client
        .list_secrets(&ListOptions {
            max_results: Some(3),
        })
        .unwrap();
    assert!(kv.emu.requests().is_empty(), "nothing sent before polling");
    let first_four: Vec<_> = (&mut stream).take(4).try_collect().await.unwrap();
    assert_eq!(first_four.len(), 4);
    let authenticated = |kv: &crate::support::Kv| {
        kv.vault_requests()
            .iter()
            .filter(|r| r.has_authorization())
            .count()
    };
    assert_eq!(authenticated(&kv), 2, "two pages of 3 for 4 items");
    drop(stream);
}

#[tokio::test]
async fn versions_and_deleted_secrets_page_too() {
    let kv = start().await;
    for _ in 0..11 {
        kv.emu.vault(VAULT).set_secret("many", "v");
    }
    let versions: Vec<_> = kv
        .client
        .list_secret_versions(
            &name("many"),
            &ListOptions {
                max_results: Some(4),
            },
        )
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 11);
    let unique: BTreeSet<_> = versions
        .iter()
        .map(|v| v.version.clone().unwrap())
        .collect();
    assert_eq!(unique.len(), 11);

    for i in 0..5 {
        let n = name(&format!("del-{i}"));
        kv.emu.vault(VAULT).set_secret(n.as_str(), "v");
        kv.client
            .delete_secret_and_wait(&n, &WaitOptions::default())
            .await
            .unwrap();
    }
    let deleted: Vec<_> = kv
        .client
        .list_deleted_secrets(&ListOptions {
            max_results: Some(2),
        })
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(deleted.len(), 5);
    assert!(
        deleted
            .iter()
            .all(|d| d.recovery_id.is_some() && d.scheduled_purge_date.is_some())
    );

    let err = kv
        .client
        .list_secret_versions(&name("nope"), &ListOptions::default())
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
