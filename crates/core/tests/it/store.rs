//! The store, read and delete paths against the in-memory provider.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use vaultref_core::{
    BackendErrorKind, Catalog, EntityType, Error, InMemoryBackend, LongNamePolicy, OWNER_TAG,
    ProviderKind, Release, ReleaseOutcome, SecretBackend, SecretName, SecretsManager,
};
use vaultref_fernet::KeyRing;

use crate::support::{FERNET_KEY as KEY, FixedClock, entity, keys};

const OTHER_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

struct Fixture {
    vault: Arc<InMemoryBackend>,
    manager: SecretsManager,
}

fn managed() -> Fixture {
    managed_with(|b| b)
}

fn managed_with(
    configure: impl FnOnce(vaultref_core::SecretsManagerBuilder) -> vaultref_core::SecretsManagerBuilder,
) -> Fixture {
    let vault = Arc::new(InMemoryBackend::new());
    let builder = SecretsManager::builder(ProviderKind::InMemory, keys(), "openmetadata")
        .backend(vault.clone());
    let manager = configure(builder).build().unwrap();
    Fixture { vault, manager }
}

fn db() -> SecretsManager {
    SecretsManager::builder(ProviderKind::Db, keys(), "openmetadata")
        .build()
        .unwrap()
}

/// The database value at `pointer`, Fernet-decrypted: it must be a `fernet:` envelope.
fn opened(entity: &Value, pointer: &str) -> String {
    let stored = entity.pointer(pointer).and_then(Value::as_str).unwrap();
    assert!(
        stored.starts_with("fernet:"),
        "{pointer} is not a fernet: value"
    );
    keys()
        .decrypt_if_tokenized(stored)
        .unwrap()
        .as_str()
        .to_owned()
}

async fn vault_value(vault: &InMemoryBackend, name: &str) -> String {
    let secret = vault
        .get_secret(&SecretName::new(name).unwrap())
        .await
        .unwrap();
    secret.expose_secret().to_owned()
}

/// The secrets a release deleted.
fn deleted(releases: &[Release]) -> Vec<SecretName> {
    releases
        .iter()
        .filter(|r| matches!(r.outcome, ReleaseOutcome::Deleted))
        .map(|r| r.name.clone())
        .collect()
}

/// Stores `file` in managed mode and checks the vault name and the stored forms.
async fn check_managed(
    entity_type: EntityType,
    file: &str,
    pointer: &str,
    name: &str,
    plaintext: &str,
) {
    let f = managed();
    let mut doc = entity(file);
    let outcome = f.manager.store_entity(entity_type, &mut doc).await.unwrap();
    assert_eq!(outcome.written, [SecretName::new(name).unwrap()], "{file}");
    assert_eq!(vault_value(&f.vault, name).await, plaintext);
    assert_eq!(opened(&doc, pointer), format!("secret:{name}"));
    // Storing the stored document again writes nothing and keeps the reference.
    let outcome = f.manager.store_entity(entity_type, &mut doc).await.unwrap();
    assert!(outcome.written.is_empty());
    assert_eq!(f.vault.write_count(), 1);
    assert_eq!(opened(&doc, pointer), format!("secret:{name}"));
    // The read path gives the reference back, not the secret.
    f.manager.decrypt_entity(entity_type, &mut doc).unwrap();
    assert_eq!(
        doc.pointer(pointer).and_then(Value::as_str),
        Some(format!("secret:{name}").as_str())
    );
}

#[tokio::test]
async fn managed_mode_stores_in_the_vault_and_fernet_wraps_the_reference() {
    check_managed(
        EntityType::DatabaseService,
        "mysql-service.json",
        "/connection/config/authType/password",
        "openmetadata-database-mysql-test-authtype-password",
        "s3cret",
    )
    .await;
    check_managed(
        EntityType::User,
        "bot-user.json",
        "/authenticationMechanism/config/JWTToken",
        "openmetadata-bot-ingestion-bot-config-jwttoken",
        "eyJhbGciOiJSUzI1NiJ9.bot.token",
    )
    .await;
    check_managed(
        EntityType::IngestionPipeline,
        "dbt-pipeline.json",
        "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
        "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey",
        "aws-s3cret",
    )
    .await;
}

/// OpenMetadata leaves the server connection's JWT in the row as sent (issue 14); vaultref
/// stores it like every other secret (docs/compatibility.md).
#[tokio::test]
async fn the_pipeline_server_connection_is_never_left_in_plaintext() {
    let f = managed();
    let mut doc = entity("dbt-pipeline.json");
    doc["openMetadataServerConnection"] =
        json!({"hostPort": "http://om:8585/api", "securityConfig": {"jwtToken": "server-token"}});
    f.manager
        .store_entity(EntityType::IngestionPipeline, &mut doc)
        .await
        .unwrap();
    let name =
        "openmetadata-pipeline-my-pipeline-openmetadataserverconnection-securityconfig-jwttoken";
    assert_eq!(
        opened(
            &doc,
            "/openMetadataServerConnection/securityConfig/jwtToken"
        ),
        format!("secret:{name}")
    );
    assert_eq!(vault_value(&f.vault, name).await, "server-token");
}

#[tokio::test]
async fn db_mode_fernet_encrypts_the_plaintext() {
    let manager = db();
    for (entity_type, file, pointer, plaintext) in [
        (
            EntityType::DatabaseService,
            "mysql-service.json",
            "/connection/config/authType/password",
            "s3cret",
        ),
        (
            EntityType::User,
            "bot-user.json",
            "/authenticationMechanism/config/JWTToken",
            "eyJhbGciOiJSUzI1NiJ9.bot.token",
        ),
        (
            EntityType::IngestionPipeline,
            "dbt-pipeline.json",
            "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
            "aws-s3cret",
        ),
    ] {
        let mut doc = entity(file);
        let outcome = manager.store_entity(entity_type, &mut doc).await.unwrap();
        assert!(outcome.written.is_empty());
        assert_eq!(outcome.fields_updated, 1);
        assert_eq!(opened(&doc, pointer), plaintext);
        // Never double-encrypted: storing again still opens to the plaintext in one step.
        manager.store_entity(entity_type, &mut doc).await.unwrap();
        assert_eq!(opened(&doc, pointer), plaintext);
        manager.decrypt_entity(entity_type, &mut doc).unwrap();
        assert_eq!(
            doc.pointer(pointer).and_then(Value::as_str),
            Some(plaintext)
        );
    }
}

#[tokio::test]
async fn user_references_are_kept_verbatim_in_every_mode() {
    let pointer = "/connection/config/authType/password";
    let f = managed();
    for manager in [&f.manager, &db()] {
        let mut doc = entity("mysql-service.json");
        *doc.pointer_mut(pointer).unwrap() = json!("secret:my-own-kv-secret");
        manager
            .store_entity(EntityType::DatabaseService, &mut doc)
            .await
            .unwrap();
        assert_eq!(opened(&doc, pointer), "secret:my-own-kv-secret");
    }
    assert_eq!(f.vault.write_count(), 0);
}

#[tokio::test]
async fn fernet_values_are_decrypted_before_they_go_to_the_vault() {
    let f = managed();
    let mut doc = entity("mysql-service.json");
    let pointer = "/connection/config/authType/password";
    *doc.pointer_mut(pointer).unwrap() = json!(keys().encrypt_if_not_tokenized("from-db"));
    f.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    assert_eq!(
        vault_value(
            &f.vault,
            "openmetadata-database-mysql-test-authtype-password"
        )
        .await,
        "from-db"
    );
}

#[tokio::test]
async fn an_emptied_password_deletes_its_secret_and_a_new_one_recovers_the_name() {
    let f = managed();
    let name = "openmetadata-database-mysql-test-authtype-password";
    let pointer = "/connection/config/authType/password";
    let mut doc = entity("mysql-service.json");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    for empty in [json!(""), json!(null)] {
        *doc.pointer_mut(pointer).unwrap() = empty.clone();
        let outcome = f
            .manager
            .store_entity(EntityType::DatabaseService, &mut doc)
            .await
            .unwrap();
        // The field is left empty, never the string "null" in the vault.
        assert_eq!(doc.pointer(pointer), Some(&empty));
        assert!(f.vault.names().is_empty());
        assert_eq!(f.vault.deleted_names().len(), 1);
        let expected: Vec<SecretName> = if empty == json!("") {
            vec![SecretName::new(name).unwrap()]
        } else {
            Vec::new() // already deleted: tolerated
        };
        assert_eq!(deleted(&outcome.released), expected);
    }
    // Key Vault keeps the deleted name: it is recovered, then written.
    *doc.pointer_mut(pointer).unwrap() = json!("n3w");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    assert_eq!(vault_value(&f.vault, name).await, "n3w");
    assert!(f.vault.deleted_names().is_empty());
}

#[tokio::test]
async fn names_over_127_characters_are_refused_before_any_write() {
    let f = managed();
    let mut doc = entity("dbt-pipeline.json");
    doc["name"] = json!("p".repeat(33));
    let before = doc.clone();
    let err = f
        .manager
        .store_entity(EntityType::IngestionPipeline, &mut doc)
        .await
        .unwrap_err();
    match &err {
        Error::SecretNameTooLong { field, length, .. } => {
            assert_eq!(*length, 128);
            assert_eq!(field.entity.name, "p".repeat(33));
            assert_eq!(
                field.path,
                "sourceConfig.config.dbtConfigSource.dbtSecurityConfig.awsSecretAccessKey"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("aws-s3cret"));
    assert_eq!(f.vault.write_count(), 0);
    assert_eq!(doc, before);
}

#[tokio::test]
async fn long_names_can_be_shortened_on_request() {
    let f = managed_with(|b| b.long_names(LongNamePolicy::Shorten));
    let mut doc = entity("dbt-pipeline.json");
    doc["name"] = json!("p".repeat(60));
    let outcome = f
        .manager
        .store_entity(EntityType::IngestionPipeline, &mut doc)
        .await
        .unwrap();
    let name = outcome.written[0].as_str().to_owned();
    assert!(name.len() <= 127);
    assert!(name.starts_with("openmetadata-pipeline-pppp"));
    assert_eq!(
        opened(
            &doc,
            "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey"
        ),
        format!("secret:{name}")
    );
    // The delete path finds the same name.
    let deleted = f
        .manager
        .delete_entity_secrets(EntityType::IngestionPipeline, &doc)
        .await
        .unwrap();
    assert_eq!(self::deleted(&deleted), outcome.written);
}

#[tokio::test]
async fn entities_whose_names_collide_are_refused_before_any_write() {
    let f = managed();
    let mut first = entity("mysql-service.json");
    first["name"] = json!("my_svc");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut first)
        .await
        .unwrap();
    let mut second = entity("mysql-service.json");
    second["name"] = json!("mysvc");
    let before = second.clone();
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut second)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::SecretNameCollision { .. }),
        "{message}"
    );
    assert!(message.contains("databaseService `my_svc`"), "{message}");
    assert!(message.contains("databaseService `mysvc`"), "{message}");
    assert!(
        message.contains("connection.config.authType.password"),
        "{message}"
    );
    assert!(
        message.contains("openmetadata-database-mysvc-authtype-password"),
        "{message}"
    );
    assert_eq!(f.vault.write_count(), 1);
    assert_eq!(second, before);
    // The owner itself may store again.
    f.manager
        .store_entity(EntityType::DatabaseService, &mut first)
        .await
        .unwrap();
}

#[tokio::test]
async fn fields_of_one_entity_that_collide_are_refused_before_any_write() {
    let mut catalog = Catalog::builtin();
    catalog.merge(
        &Catalog::from_json(
            r#"{"services": {"databaseService": {"category": "database", "connections": {
                "Twin": {"secrets": ["api_key", "apikey"]}}}}}"#,
        )
        .unwrap(),
    );
    let f = managed_with(|b| b.catalog(Arc::new(catalog)));
    let mut doc = json!({"name": "twins", "serviceType": "Twin",
        "connection": {"config": {"type": "Twin", "api_key": "first-value", "apikey": "second-value"}}});
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("connection.config.api_key"), "{message}");
    assert!(message.contains("connection.config.apikey"), "{message}");
    assert!(
        !message.contains("first-value") && !message.contains("second-value"),
        "{message}"
    );
    assert_eq!(f.vault.write_count(), 0);
}

#[tokio::test]
async fn a_token_from_another_key_is_refused_naming_the_field() {
    let f = managed();
    let mut doc = entity("mysql-service.json");
    let foreign = KeyRing::parse(OTHER_KEY)
        .unwrap()
        .encrypt_if_not_tokenized("x");
    *doc.pointer_mut("/connection/config/authType/password")
        .unwrap() = json!(foreign);
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FernetDecrypt(_)), "{err}");
    assert!(
        err.to_string()
            .contains("connection.config.authType.password")
    );
    assert_eq!(f.vault.write_count(), 0);
}

#[tokio::test]
async fn non_string_secrets_and_unknown_connections_are_errors() {
    let f = managed();
    let mut doc = entity("mysql-service.json");
    *doc.pointer_mut("/connection/config/authType/password")
        .unwrap() = json!(1234);
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecretNotAString(_)), "{err}");
    assert!(!err.to_string().contains("1234"));

    let mut hive = json!({"name": "h", "serviceType": "Hivemind", "connection": {"config": {"type": "Hivemind", "password": "p"}}});
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut hive)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownConnectionType { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("entity/services/connections/database/"),
        "{err}"
    );

    let mut nameless = json!({"serviceType": "Mysql", "connection": {"config": {"type": "Mysql"}}});
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut nameless)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no `name`"), "{err}");
}

#[tokio::test]
async fn entities_without_secrets_are_left_alone() {
    let f = managed();
    for (entity_type, doc) in [
        (
            EntityType::User,
            json!({"name": "alice", "isBot": false, "authenticationMechanism": {"authType": "JWT", "config": {"JWTToken": "t"}}}),
        ),
        (
            EntityType::Bot,
            json!({"name": "ingestion-bot", "botUser": {"name": "ingestion-bot"}}),
        ),
        (
            EntityType::DatabaseService,
            json!({"name": "no-connection", "serviceType": "Mysql"}),
        ),
        (
            EntityType::User,
            json!({"name": "basic-bot", "isBot": true, "authenticationMechanism": {"authType": "BASIC", "config": {"username": "u", "password": "p"}}}),
        ),
    ] {
        let mut stored = doc.clone();
        let outcome = f
            .manager
            .store_entity(entity_type, &mut stored)
            .await
            .unwrap();
        assert_eq!(outcome.fields_updated, 0);
        assert_eq!(stored, doc);
    }
    assert_eq!(f.vault.write_count(), 0);
}

#[tokio::test]
async fn delete_removes_computed_names_only() {
    let f = managed();
    let mut doc = entity("mysql-service.json");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    let mut own = entity("bot-user.json");
    *own.pointer_mut("/authenticationMechanism/config/JWTToken")
        .unwrap() = json!("secret:shared-token");
    f.vault
        .set_secret(
            &SecretName::new("shared-token").unwrap(),
            &"t".to_owned().into(),
            &vaultref_core::SecretAttributes::default(),
        )
        .await
        .unwrap();
    f.manager
        .store_entity(EntityType::User, &mut own)
        .await
        .unwrap();

    let deleted = f
        .manager
        .delete_entity_secrets(EntityType::DatabaseService, &doc)
        .await
        .unwrap();
    assert_eq!(
        self::deleted(&deleted),
        [SecretName::new("openmetadata-database-mysql-test-authtype-password").unwrap()]
    );
    // The bot's user reference is not a computed name: its secret stays.
    let deleted = f
        .manager
        .delete_entity_secrets(EntityType::User, &own)
        .await
        .unwrap();
    assert!(self::deleted(&deleted).is_empty());
    assert_eq!(f.vault.names(), [SecretName::new("shared-token").unwrap()]);
    // Once deleted, the name is free for another entity.
    let mut other = entity("mysql-service.json");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut other)
        .await
        .unwrap();
    // db mode never deletes.
    assert!(
        db().delete_entity_secrets(EntityType::DatabaseService, &doc)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tags_and_expiry_go_with_every_write() {
    let tags = vaultref_core::parse_tags(&["team:data", "env:prod"]);
    let f = managed_with(|b| {
        b.tags(tags.clone())
            .deployment("postgres://db.example:5432/om")
            .expires_after_days(Some(30))
            .clock(Arc::new(FixedClock(1_700_000_000.into())))
    });
    let mut doc = entity("mysql-service.json");
    f.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    let attributes = f
        .vault
        .attributes(&SecretName::new("openmetadata-database-mysql-test-authtype-password").unwrap())
        .unwrap();
    // The configured tags, and the ownership tag naming the deployment's database.
    let mut expected = tags;
    expected.insert(
        OWNER_TAG.to_owned(),
        "postgres://db.example:5432/om".to_owned(),
    );
    assert_eq!(attributes.tags, expected);
    assert_eq!(attributes.expires_on, Some(1_700_000_000 + 30 * 86_400));
}

#[tokio::test]
async fn the_prefix_is_glued_to_the_cluster_name_like_openmetadata() {
    let f = managed_with(|b| b.prefix("om"));
    let mut doc = entity("mysql-service.json");
    let outcome = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    assert_eq!(
        outcome.written[0].as_str(),
        "omopenmetadata-database-mysql-test-authtype-password"
    );
}

#[tokio::test]
async fn plans_list_what_would_be_written_without_writing() {
    let f = managed();
    let doc = entity("mysql-service.json");
    let plan = f
        .manager
        .plan_store(EntityType::DatabaseService, &doc)
        .unwrap();
    let names: Vec<&str> = plan.names_to_write().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        ["openmetadata-database-mysql-test-authtype-password"]
    );
    assert_eq!(f.vault.write_count(), 0);
    assert!(!format!("{plan:?}").contains("s3cret"));
}

#[tokio::test]
async fn backend_failures_leave_the_entity_unchanged() {
    #[derive(Debug)]
    struct Denied;
    #[async_trait::async_trait]
    impl SecretBackend for Denied {
        async fn set_secret(
            &self,
            name: &SecretName,
            _: &secrecy::SecretString,
            _: &vaultref_core::SecretAttributes,
        ) -> vaultref_core::Result<Option<String>> {
            Err(Error::Backend {
                kind: BackendErrorKind::Forbidden,
                name: name.clone(),
                detail: "403".to_owned(),
            })
        }
        async fn get_secret(
            &self,
            name: &SecretName,
        ) -> vaultref_core::Result<secrecy::SecretString> {
            Err(Error::Backend {
                kind: BackendErrorKind::Forbidden,
                name: name.clone(),
                detail: "403".to_owned(),
            })
        }
        async fn delete_secret(&self, name: &SecretName) -> vaultref_core::Result<()> {
            Err(Error::Backend {
                kind: BackendErrorKind::Forbidden,
                name: name.clone(),
                detail: "403".to_owned(),
            })
        }
        async fn recover_secret(&self, name: &SecretName) -> vaultref_core::Result<()> {
            Err(Error::Backend {
                kind: BackendErrorKind::Forbidden,
                name: name.clone(),
                detail: "403".to_owned(),
            })
        }
    }
    let manager =
        SecretsManager::builder(ProviderKind::ManagedAzureKeyVault, keys(), "openmetadata")
            .backend(Arc::new(Denied))
            .build()
            .unwrap();
    let mut doc = entity("mysql-service.json");
    let before = doc.clone();
    let err = manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Forbidden));
    assert!(
        err.to_string().contains("Key Vault Secrets Officer"),
        "{err}"
    );
    assert_eq!(doc, before);
    // A managed provider without a vault is a configuration error.
    assert!(
        SecretsManager::builder(ProviderKind::ManagedAzureKeyVault, keys(), "x")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn names_owned_by_stored_entities_are_protected_in_a_fresh_process() {
    let first_run = managed();
    let mut owner = entity("mysql-service.json");
    owner["name"] = json!("my_svc");
    first_run
        .manager
        .store_entity(EntityType::DatabaseService, &mut owner)
        .await
        .unwrap();

    // A new process over the same vault learns the stored entity's names first.
    let vault = first_run.vault.clone();
    let second_run = SecretsManager::builder(ProviderKind::InMemory, keys(), "openmetadata")
        .backend(vault.clone())
        .build()
        .unwrap();
    assert_eq!(
        second_run
            .register_stored(EntityType::DatabaseService, &owner)
            .unwrap(),
        1
    );
    let mut newcomer = entity("mysql-service.json");
    newcomer["name"] = json!("mysvc");
    let err = second_run
        .store_entity(EntityType::DatabaseService, &mut newcomer)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecretNameCollision { .. }), "{err}");
    assert_eq!(vault.write_count(), 1);
    assert_eq!(
        vault_value(&vault, "openmetadata-database-mysvc-authtype-password").await,
        "s3cret"
    );

    // Re-storing a stored entity also claims its names.
    let third_run = SecretsManager::builder(ProviderKind::InMemory, keys(), "openmetadata")
        .backend(vault.clone())
        .build()
        .unwrap();
    third_run
        .store_entity(EntityType::DatabaseService, &mut owner)
        .await
        .unwrap();
    assert!(
        third_run
            .store_entity(EntityType::DatabaseService, &mut newcomer)
            .await
            .is_err()
    );
    // Two stored entities that already collide are reported.
    let fourth_run = SecretsManager::builder(ProviderKind::InMemory, keys(), "openmetadata")
        .backend(vault)
        .build()
        .unwrap();
    fourth_run
        .register_stored(EntityType::DatabaseService, &owner)
        .unwrap();
    let mut twin = owner.clone();
    twin["name"] = json!("my.svc");
    assert!(
        fourth_run
            .register_stored(EntityType::DatabaseService, &twin)
            .is_err()
    );
}

#[tokio::test]
async fn moving_from_db_to_managed_moves_plaintexts_and_rotates_the_key() {
    // Stored by a db-mode server with the old key.
    let mut doc = entity("mysql-service.json");
    db().store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    // The operator switches to managed mode and puts a new key first.
    let vault = Arc::new(InMemoryBackend::new());
    let rotated = KeyRing::parse(&format!("{OTHER_KEY},{KEY}")).unwrap();
    let manager = SecretsManager::builder(ProviderKind::InMemory, rotated, "openmetadata")
        .backend(vault.clone())
        .build()
        .unwrap();
    manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    let name = "openmetadata-database-mysql-test-authtype-password";
    assert_eq!(vault_value(&vault, name).await, "s3cret");
    let stored = doc
        .pointer("/connection/config/authType/password")
        .and_then(Value::as_str)
        .unwrap();
    let new_only = KeyRing::parse(OTHER_KEY).unwrap();
    assert_eq!(
        new_only.decrypt_if_tokenized(stored).unwrap().as_str(),
        format!("secret:{name}")
    );
    assert!(
        keys().decrypt_if_tokenized(stored).is_err(),
        "the old key no longer opens it"
    );
}

#[tokio::test]
async fn reveal_reads_references_back_from_the_vault() {
    let f = managed();
    let mut doc = entity("bot-user.json");
    f.manager
        .store_entity(EntityType::User, &mut doc)
        .await
        .unwrap();
    let resolver =
        vaultref_core::Resolver::new(f.vault.clone(), vaultref_core::ResolverOptions::default());
    let resolved = f
        .manager
        .reveal_entity(EntityType::User, &mut doc, &resolver)
        .await
        .unwrap();
    assert_eq!(resolved, 1);
    assert_eq!(doc, entity("bot-user.json"));
}

/// The store crate and servers run these on multi-threaded runtimes.
#[test]
fn managers_resolvers_and_their_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let f = managed();
    let resolver =
        vaultref_core::Resolver::new(f.vault.clone(), vaultref_core::ResolverOptions::default());
    send_sync(&f.manager);
    send_sync(&resolver);
    let mut doc = entity("mysql-service.json");
    let mut other = doc.clone();
    send(
        &f.manager
            .store_entity(EntityType::DatabaseService, &mut doc),
    );
    send(
        &f.manager
            .delete_entity_secrets(EntityType::DatabaseService, &other),
    );
    send(
        &f.manager
            .reveal_entity(EntityType::DatabaseService, &mut other, &resolver),
    );
    let mut json = json!({});
    send(&resolver.resolve_references(&mut json));
}

#[tokio::test]
async fn the_password_mask_is_never_stored_as_a_secret() {
    let f = managed();
    let mut doc = entity("mysql-service.json");
    *doc.pointer_mut("/connection/config/authType/password")
        .unwrap() = json!("*********");
    let err = f
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MaskedSecret(_)), "{err}");
    assert_eq!(f.vault.write_count(), 0);
}
