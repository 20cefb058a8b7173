//! The managed-azure-kv provider against the emulator over TLS: what lands in the vault, what
//! lands in the entity, what is refused before any write, soft-deleted names, denied identities.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vaultref_core::{
    AuditAction, BackendErrorKind, EntityType, Error, OWNER_TAG, Resolver, ResolverOptions,
    SECRET_PREFIX,
};
use vaultref_emulator::{Identity, Permissions, Target};

use crate::support::{
    EXPIRES_AFTER_DAYS, NOW, deployment, emulator, entity, environment, keys, vault_calls,
};

const MYSQL_NAME: &str = "openmetadata-database-mysql-test-authtype-password";
const BOT_NAME: &str = "openmetadata-bot-ingestion-bot-config-jwttoken";
const DBT_NAME: &str = "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey";

/// The database value at `pointer`, Fernet-decrypted.
fn opened(doc: &Value, pointer: &str) -> String {
    let stored = doc.pointer(pointer).and_then(Value::as_str).unwrap();
    assert!(stored.starts_with("fernet:"), "{pointer}: {stored}");
    keys()
        .decrypt_if_tokenized(stored)
        .unwrap()
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn managed_store_puts_tagged_expiring_secrets_in_the_vault_and_references_in_the_entity() {
    let emu = emulator().await;
    let d = deployment(&environment(&emu, emu.client_id(), emu.client_secret()));
    let cases = [
        (
            EntityType::DatabaseService,
            "mysql-service.json",
            "/connection/config/authType/password",
            MYSQL_NAME,
        ),
        (
            EntityType::User,
            "bot-user.json",
            "/authenticationMechanism/config/JWTToken",
            BOT_NAME,
        ),
        (
            EntityType::IngestionPipeline,
            "dbt-pipeline.json",
            "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
            DBT_NAME,
        ),
    ];
    let mut stored = Vec::new();
    for (entity_type, file, pointer, name) in cases {
        let original = entity(file);
        let plaintext = original.pointer(pointer).unwrap().as_str().unwrap();
        let mut doc = original.clone();
        let outcome = d.manager.store_entity(entity_type, &mut doc).await.unwrap();
        assert_eq!(outcome.written.len(), 1, "{file}");
        assert_eq!(outcome.written[0].as_str(), name);
        // The vault holds the password, the entity a Fernet token of the reference.
        assert_eq!(emu.secret_value(name).as_deref(), Some(plaintext), "{file}");
        assert_eq!(opened(&doc, pointer), format!("{SECRET_PREFIX}{name}"));
        stored.push((entity_type, doc, original));
    }
    let mut names = emu.secret_names();
    names.sort();
    let mut expected = vec![MYSQL_NAME, BOT_NAME, DBT_NAME];
    expected.sort_unstable();
    assert_eq!(names, expected);

    // Every write carried the configured tags (OpenMetadata's parsing: `env:test:extra` is
    // env → test), the deployment's ownership tag, and an expiry `expiresAfterDays` after the
    // write: per secret, one read of the live and one of the deleted secret (the very first
    // one after the client's unauthenticated challenge probe), then one PUT.
    let mut gets = vault_calls(&emu, "GET");
    assert_eq!(gets.remove(0).1, 401);
    assert_eq!(gets.len(), 6, "{gets:?}");
    assert!(gets.iter().all(|(_, status)| *status == 404), "{gets:?}");
    let puts = vault_calls(&emu, "PUT");
    assert_eq!(puts.len(), 3, "{puts:?}");
    assert!(puts.iter().all(|(_, status)| *status == 200));
    let tags = BTreeMap::from([
        ("team".to_owned(), "data".to_owned()),
        ("env".to_owned(), "test".to_owned()),
        (OWNER_TAG.to_owned(), "openmetadata".to_owned()),
    ]);
    let expires = i64::try_from(NOW + EXPIRES_AFTER_DAYS * 86_400).unwrap();
    for name in [MYSQL_NAME, BOT_NAME, DBT_NAME] {
        assert_eq!(emu.secret_tags(name).as_ref(), Some(&tags), "{name}");
        assert_eq!(emu.secret_expires_on(name), Some(expires), "{name}");
    }

    // One audit event per write, with entity, field, name and the vault's version id.
    let events = d.audit.events();
    assert_eq!(events.len(), 3);
    for (event, (name, entity_name)) in events.iter().zip([
        (MYSQL_NAME, "mysql-test"),
        (BOT_NAME, "ingestion-bot"),
        (DBT_NAME, "my-pipeline"),
    ]) {
        assert_eq!(event.action, AuditAction::Write);
        assert_eq!(event.secret.as_str(), name);
        assert_eq!(event.entity.name, entity_name);
        let version = event.version.as_deref().unwrap();
        assert_eq!(version.len(), 32, "{version}");
        assert!(format!("{event:?}").find("s3cret").is_none());
    }

    // The resolver gives the originals back.
    let resolver = Resolver::new(d.backend.clone(), ResolverOptions::default());
    for (entity_type, mut doc, original) in stored {
        d.manager.decrypt_entity(entity_type, &mut doc).unwrap();
        let report = resolver.resolve_references(&mut doc).await.unwrap();
        assert_eq!(report.resolved, 1);
        assert_eq!(doc, original);
    }
}

#[tokio::test]
async fn collisions_and_overlong_names_are_refused_before_any_write() {
    let emu = emulator().await;
    let d = deployment(&environment(&emu, emu.client_id(), emu.client_secret()));
    let mut first = json!({"name": "my_svc", "serviceType": "Mysql",
        "connection": {"config": {"type": "Mysql", "authType": {"password": "one"}}}});
    d.manager
        .store_entity(EntityType::DatabaseService, &mut first)
        .await
        .unwrap();
    emu.clear_requests();

    let mut second = json!({"name": "mysvc", "serviceType": "Mysql",
        "connection": {"config": {"type": "Mysql", "authType": {"password": "two"}}}});
    let before = second.clone();
    let err = d
        .manager
        .store_entity(EntityType::DatabaseService, &mut second)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecretNameCollision { .. }), "{err}");
    assert!(err.to_string().contains("`my_svc`"), "{err}");
    assert_eq!(second, before);

    let mut long = entity("dbt-pipeline.json");
    long["name"] = json!("a-pipeline-name-well-over-forty-characters-so-it-cannot-fit");
    let err = d
        .manager
        .store_entity(EntityType::IngestionPipeline, &mut long)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecretNameTooLong { .. }), "{err}");

    assert_eq!(vault_calls(&emu, "PUT"), []);
    assert!(emu.requests_to(Target::Vault).is_empty());
    assert_eq!(
        emu.secret_value("openmetadata-database-mysvc-authtype-password")
            .as_deref(),
        Some("one"),
        "the first entity's secret is intact"
    );
}

#[tokio::test]
async fn a_soft_deleted_name_is_recovered_and_set_again() {
    let emu = emulator().await;
    // A recovered secret stays invisible for a while, as in Key Vault: the write must wait.
    emu.set_recover_delay(std::time::Duration::from_millis(300));
    let d = deployment(&environment(&emu, emu.client_id(), emu.client_secret()));
    let mut doc = entity("mysql-service.json");
    d.manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    let deleted = d
        .manager
        .delete_entity_secrets(EntityType::DatabaseService, &doc)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(emu.deleted_secret_names(), [MYSQL_NAME]);
    emu.clear_requests();

    let mut again = entity("mysql-service.json");
    again["connection"]["config"]["authType"]["password"] = json!("n3w");
    d.manager
        .store_entity(EntityType::DatabaseService, &mut again)
        .await
        .unwrap();
    assert_eq!(emu.secret_value(MYSQL_NAME).as_deref(), Some("n3w"));
    assert!(emu.deleted_secret_names().is_empty());

    // Not found, found deleted (its owner checked), recovered (polled until visible), read,
    // then written.
    let calls: Vec<(String, String, u16)> = emu
        .requests_to(Target::Vault)
        .into_iter()
        .filter(vaultref_emulator::RecordedRequest::has_authorization)
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let path = format!("/secrets/{MYSQL_NAME}");
    assert_eq!(
        calls.first(),
        Some(&("GET".into(), format!("{path}/"), 404))
    );
    assert_eq!(
        calls.get(1),
        Some(&("GET".into(), format!("/deletedsecrets/{MYSQL_NAME}"), 200))
    );
    assert_eq!(
        calls.get(2),
        Some(&(
            "POST".into(),
            format!("/deletedsecrets/{MYSQL_NAME}/recover"),
            200
        ))
    );
    assert_eq!(calls.last(), Some(&("PUT".into(), path, 200)));
    let actions: Vec<AuditAction> = d.audit.events().iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Write,
            AuditAction::Delete,
            AuditAction::Recover,
            AuditAction::Write
        ]
    );
}

#[tokio::test]
async fn a_reader_identity_gets_the_typed_forbidden_error_and_a_wrong_secret_unauthenticated() {
    let emu = emulator().await;
    emu.add_app(
        Identity::app("reader-id", "reader-secret"),
        Permissions::read_only(),
    );
    let d = deployment(&environment(&emu, "reader-id", "reader-secret"));
    let mut doc = entity("mysql-service.json");
    let before = doc.clone();
    let err = d
        .manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap_err();
    assert_eq!(
        err.backend_kind(),
        Some(BackendErrorKind::Forbidden),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("Key Vault Secrets Officer"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(doc, before);
    assert_eq!(emu.secret_value(MYSQL_NAME), None);
    emu.set_secret(MYSQL_NAME, "seeded");

    // The same identity may read: consumers resolve with it.
    let resolver = Resolver::new(d.backend.clone(), ResolverOptions::default());
    let mut reference = json!({"password": format!("secret:{MYSQL_NAME}")});
    resolver.resolve_references(&mut reference).await.unwrap();
    assert_eq!(reference, json!({"password": "seeded"}));

    let wrong = deployment(&environment(&emu, emu.client_id(), "not-the-secret"));
    let err = Resolver::new(wrong.backend.clone(), ResolverOptions::default())
        .secret_value(MYSQL_NAME)
        .await
        .unwrap_err();
    assert_eq!(
        err.backend_kind(),
        Some(BackendErrorKind::Unauthenticated),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn without_tenant_id_the_default_chain_signs_in() {
    let emu = emulator().await;
    let ca = emu.ca_cert_path().unwrap().to_string_lossy().into_owned();
    // No OM_SM_TENANT_ID: the configuration's credential is the default chain, whose
    // environment credential reads AZURE_*.
    let env = vaultref_core::Environment::from_pairs([
        ("FERNET_KEY", crate::support::FERNET_KEY.to_owned()),
        ("VAULT_URL", emu.vault_url().to_string()),
        ("AUTHORITY_HOST", emu.authority_host().to_string()),
        ("CA_CERT", ca),
        ("AZURE_TENANT_ID", emu.tenant_id().to_owned()),
        ("AZURE_CLIENT_ID", emu.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", emu.client_secret().to_owned()),
    ]);
    let config = vaultref_core::Config::parse(crate::support::CONFIG, &env).unwrap();
    let backend = vaultref_core::connect_backend(&config, &env).unwrap();
    assert!(backend.is_some());
    let manager = vaultref_core::SecretsManager::from_config(
        &config,
        backend,
        std::sync::Arc::new(vaultref_core::Catalog::builtin()),
    )
    .unwrap();
    let mut doc = entity("mysql-service.json");
    manager
        .store_entity(EntityType::DatabaseService, &mut doc)
        .await
        .unwrap();
    assert_eq!(emu.secret_value(MYSQL_NAME).as_deref(), Some("s3cret"));
    let grants: Vec<Option<String>> = emu
        .requests_to(Target::Entra)
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.form_field("client_id"))
        .collect();
    assert_eq!(grants, [Some(emu.client_id().to_owned())]);
}

#[tokio::test]
async fn throttling_is_typed_and_the_resolver_serves_stale_values_through_it() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    let emu = emulator().await;
    emu.set_secret(MYSQL_NAME, "s3cret");
    let d = deployment(&environment(&emu, emu.client_id(), emu.client_secret()));
    let clock = Arc::new(crate::support::FixedClock(0.into()));
    let resolver =
        Resolver::new(d.backend.clone(), ResolverOptions::default()).with_clock(clock.clone());
    let read = || async {
        resolver
            .secret_value(MYSQL_NAME)
            .await
            .map(|v| secrecy::ExposeSecret::expose_secret(&v).to_owned())
    };
    assert_eq!(read().await.unwrap(), "s3cret");

    // Key Vault keeps answering 429 (with Retry-After: 0, so the client's retries are quick).
    emu.inject(vaultref_emulator::Fault::throttle(Target::Vault, 1000, 0));
    let ttl = resolver.options().ttl_seconds;
    let max_stale = resolver.options().max_stale_seconds;
    clock.0.store(ttl, Ordering::SeqCst);
    assert_eq!(
        read().await.unwrap(),
        "s3cret",
        "stale value while throttled"
    );
    clock.0.store(ttl + max_stale, Ordering::SeqCst);
    let err = read().await.unwrap_err();
    assert_eq!(
        err.backend_kind(),
        Some(BackendErrorKind::Throttled),
        "{err}"
    );
    assert!(err.to_string().contains(MYSQL_NAME), "{err}");
    assert!(
        emu.requests_to(Target::Vault)
            .iter()
            .any(|r| r.status == 429)
    );
}
