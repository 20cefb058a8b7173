//! Who may overwrite and delete which secret: ownership tags, references, claims.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::json;
use vaultref_core::{
    EntityType, Error, InMemoryBackend, OWNER_TAG, ProviderKind, ReleaseOutcome, SecretAttributes,
    SecretBackend, SecretName, SecretsManager,
};

use crate::support::keys;

const SECRET: &str = "openmetadata-database-pg1-authtype-password";

fn manager(vault: &Arc<InMemoryBackend>, deployment: &str) -> SecretsManager {
    SecretsManager::builder(ProviderKind::InMemory, keys(), "openmetadata")
        .backend(vault.clone())
        .deployment(deployment)
        .build()
        .unwrap()
}

fn service(name: &str, password: &str) -> serde_json::Value {
    json!({"name": name, "serviceType": "Postgres", "connection": {"config": {"type": "Postgres",
        "authType": {"password": password}}}})
}

async fn value(vault: &InMemoryBackend, name: &str) -> Option<String> {
    use secrecy::ExposeSecret as _;
    vault
        .get_secret(&SecretName::new(name).unwrap())
        .await
        .ok()
        .map(|v| v.expose_secret().to_owned())
}

#[tokio::test]
async fn another_deployments_secret_is_neither_overwritten_nor_deleted() {
    let vault = Arc::new(InMemoryBackend::new());
    let first = manager(&vault, "postgres://db-a:5432/om");
    let mut stored = service("pg1", "first");
    first
        .store_entity(EntityType::DatabaseService, &mut stored)
        .await
        .unwrap();
    let tags = vault
        .attributes(&SecretName::new(SECRET).unwrap())
        .unwrap()
        .tags;
    assert_eq!(tags[OWNER_TAG], "postgres://db-a:5432/om");

    let second = manager(&vault, "postgres://db-b:5432/om");
    let err = second
        .store_entity(EntityType::DatabaseService, &mut service("pg1", "second"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignSecret { .. }), "{err}");
    assert!(err.to_string().contains("db-a"), "{err}");
    assert_eq!(value(&vault, SECRET).await.as_deref(), Some("first"));

    let releases = second
        .delete_entity_secrets(EntityType::DatabaseService, &stored)
        .await
        .unwrap();
    assert!(
        matches!(&releases[0].outcome, ReleaseOutcome::NotOurs { owner: Some(o) } if o == "postgres://db-a:5432/om"),
        "{releases:?}"
    );
    assert_eq!(value(&vault, SECRET).await.as_deref(), Some("first"));
    assert!(vault.deleted_names().is_empty());
}

#[tokio::test]
async fn an_untagged_secret_is_overwritten_only_for_a_row_that_references_it() {
    let vault = Arc::new(InMemoryBackend::new());
    let name = SecretName::new(SECRET).unwrap();
    // Written by OpenMetadata (or an older vaultref): no ownership tag.
    vault
        .set_secret(
            &name,
            &SecretString::from("om"),
            &SecretAttributes::default(),
        )
        .await
        .unwrap();
    let manager = manager(&vault, "sqlite:/om.db");
    let err = manager
        .store_entity(EntityType::DatabaseService, &mut service("pg1", "new"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnownedSecret { .. }), "{err}");
    assert_eq!(value(&vault, SECRET).await.as_deref(), Some("om"));

    // A stored row references it: it is this deployment's entity's secret.
    let reference = keys().encrypt_if_not_tokenized(&format!("secret:{SECRET}"));
    manager
        .register_stored(EntityType::DatabaseService, &service("pg1", &reference))
        .unwrap();
    manager
        .store_entity(EntityType::DatabaseService, &mut service("pg1", "new"))
        .await
        .unwrap();
    assert_eq!(value(&vault, SECRET).await.as_deref(), Some("new"));
    // ... and now it carries this deployment's tag.
    let tags = vault.attributes(&name).unwrap().tags;
    assert_eq!(tags[OWNER_TAG], "sqlite:/om.db");
}

#[tokio::test]
async fn a_name_goes_to_the_row_that_references_it_whatever_the_order() {
    let vault = Arc::new(InMemoryBackend::new());
    let first = manager(&vault, "d");
    // `pg_1` and `pg1` share a Key Vault name; pg1 holds a plaintext to write, pg_1 already
    // references the name (registered after, it still wins).
    let reference = keys().encrypt_if_not_tokenized(&format!("secret:{SECRET}"));
    first
        .register_stored(EntityType::DatabaseService, &service("pg1", "plain"))
        .unwrap();
    first
        .register_stored(EntityType::DatabaseService, &service("pg_1", &reference))
        .unwrap();
    let err = first
        .plan_store(EntityType::DatabaseService, &service("pg1", "plain"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::SecretNameCollision { first, .. } if first.entity.name == "pg_1"),
        "{err}"
    );
    // A row no key opens holds its names the same way.
    let other = manager(&vault, "d");
    let unreadable = json!(
        "fernet:gAAAAABpAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
    );
    let mut orphan = service("pg_1", "x");
    orphan["connection"]["config"]["authType"]["password"] = unreadable;
    other
        .register_stored(EntityType::DatabaseService, &orphan)
        .unwrap();
    assert!(
        other
            .plan_store(EntityType::DatabaseService, &service("pg1", "plain"))
            .is_err()
    );
}
