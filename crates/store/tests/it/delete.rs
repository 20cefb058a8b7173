//! `entities delete`: an entity's row, then exactly its computed secrets.

use serde_json::json;
use vaultref_core::EntityKey;
use vaultref_store::{EntityType, MigrateOptions, NoProgress, delete_entity, migrate_secrets};

use crate::support::{FERNET_KEY, databases, emulator, entity, manager, vault_calls};

const SERVICE_SECRET: &str = "openmetadata-database-mysql-test-authtype-password";
const OTHER_SECRET: &str = "openmetadata-database-other-authtype-password";

#[tokio::test]
async fn deleting_an_entity_removes_its_row_and_exactly_its_computed_secrets() {
    for db in databases().await {
        let emu = emulator().await;
        let store = &db.store;
        let label = db.label;
        let mut other = entity("mysql-service.json");
        other["name"] = json!("other");
        // A user's own secret, referenced by the entity: never a candidate.
        emu.set_secret("my-own-secret", "kept");
        let mut mine = entity("mysql-service.json");
        mine["name"] = json!("mine");
        mine["connection"]["config"]["authType"]["password"] = json!("secret:my-own-secret");
        for service in [entity("mysql-service.json"), other, mine] {
            store
                .upsert(EntityType::DatabaseService, service)
                .await
                .unwrap();
        }
        let report = migrate_secrets(
            store,
            &manager(&emu, FERNET_KEY),
            &MigrateOptions::default(),
            &NoProgress,
        )
        .await
        .unwrap();
        assert!(report.is_success(), "{label}: {report:?}");
        assert!(emu.secret_value(SERVICE_SECRET).is_some(), "{label}");
        let key =
            EntityKey::of(EntityType::DatabaseService, &json!({"name": "mysql-test"})).unwrap();

        // A dry run names the candidates and deletes nothing.
        emu.clear_requests();
        let dry = delete_entity(store, &manager(&emu, FERNET_KEY), &key, true)
            .await
            .unwrap()
            .unwrap();
        let names: Vec<String> = dry.secrets.iter().map(ToString::to_string).collect();
        assert_eq!(names, [SERVICE_SECRET], "{label}");
        assert!(vault_calls(&emu, "DELETE").is_empty(), "{label}");
        assert_eq!(store.count(EntityType::DatabaseService).await.unwrap(), 3);

        // The real one: the row, then that one secret (the vault's request log says so).
        let done = delete_entity(store, &manager(&emu, FERNET_KEY), &key, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.released.len(), 1, "{label}: {:?}", done.released);
        let deletes = vault_calls(&emu, "DELETE");
        assert_eq!(deletes.len(), 1, "{label}: {deletes:?}");
        assert!(
            deletes[0].0.contains(SERVICE_SECRET),
            "{label}: {deletes:?}"
        );
        assert!(
            store
                .get(EntityType::DatabaseService, "mysql-test")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(emu.secret_value(SERVICE_SECRET), None, "{label}");
        assert_eq!(
            emu.secret_value(OTHER_SECRET).as_deref(),
            Some("s3cret"),
            "{label}"
        );

        // An entity whose secret field holds the user's own reference: its row goes, the
        // user's secret stays (only computed names are candidates).
        emu.clear_requests();
        let key_mine =
            EntityKey::of(EntityType::DatabaseService, &json!({"name": "mine"})).unwrap();
        delete_entity(store, &manager(&emu, FERNET_KEY), &key_mine, false)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .get(EntityType::DatabaseService, "mine")
                .await
                .unwrap()
                .is_none()
        );
        let deletes = vault_calls(&emu, "DELETE");
        assert!(
            deletes
                .iter()
                .all(|(path, _)| !path.contains("my-own-secret")),
            "{label}: {deletes:?}"
        );
        assert_eq!(emu.secret_value("my-own-secret").as_deref(), Some("kept"));

        // Gone: nothing more to delete.
        let again = delete_entity(store, &manager(&emu, FERNET_KEY), &key, false)
            .await
            .unwrap();
        assert!(again.is_none(), "{label}");
        emu.shutdown().await;
        db.drop_database().await;
    }
}
