//! `entities delete`: an entity's row, then exactly its computed secrets.

use serde_json::json;
use sqlx::Connection as _;
use vaultref_core::EntityKey;
use vaultref_store::{EntityType, delete_entity};

use crate::support::{
    FERNET_KEY, absent, emulator, entity, for_each_store, manager, migrate_managed, row_of,
    vault_calls,
};

const SERVICE_SECRET: &str = "openmetadata-database-mysql-test-authtype-password";
const OTHER_SECRET: &str = "openmetadata-database-other-authtype-password";

#[tokio::test]
async fn deleting_an_entity_removes_its_row_and_exactly_its_computed_secrets() {
    for_each_store(async |db| {
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
        let report = migrate_managed(store, &emu).await;
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
        assert!(absent(store, EntityType::DatabaseService, "mysql-test").await);
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
        assert!(absent(store, EntityType::DatabaseService, "mine").await);
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
    })
    .await;
}

/// Another writer commits a row that references the entity's secret while `entities delete`
/// is deleting it (its transaction was open, uncommitted, when the rows were read again): the
/// delete waits for that writer once it has deleted the secret, reads the rows again and
/// recovers the secret, so the reference keeps its value. On PostgreSQL and MariaDB, where an
/// open transaction that inserts a row does not block the delete's own row delete; on SQLite
/// any open write transaction does, so the moment cannot be arranged there (the barrier runs
/// there on every delete all the same).
#[tokio::test]
async fn a_reference_committed_while_its_secret_is_deleted_gets_the_secret_back() {
    for_each_store(async |db| {
        if db.label == "sqlite" {
            return;
        }
        let emu = emulator().await;
        let store = &db.store;
        let label = db.label;
        store
            .upsert(EntityType::DatabaseService, entity("mysql-service.json"))
            .await
            .unwrap();
        let report = migrate_managed(store, &emu).await;
        assert!(report.is_success(), "{label}: {report:?}");
        let row = row_of(store, EntityType::DatabaseService, "mysql-test").await;

        // Another writer's row, a copy of the entity under another name: its reference to the
        // secret is in a transaction that is not committed yet.
        let mut copy = row.entity.clone();
        copy["name"] = json!("written-meanwhile");
        copy["id"] = json!("7f0c2a1e-0000-4000-8000-000000000001");
        let insert = if label == "postgres" {
            "INSERT INTO dbservice_entity (id, name, json) VALUES ($1, $2, CAST($3 AS JSONB))"
        } else {
            "INSERT INTO dbservice_entity (id, name, json) VALUES (?, ?, ?)"
        };
        let mut writer = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let mut transaction = writer.begin().await.unwrap();
        sqlx::query(insert)
            .bind(copy["id"].as_str().unwrap().to_owned())
            .bind("written-meanwhile")
            .bind(copy.to_string())
            .execute(&mut *transaction)
            .await
            .unwrap();

        emu.clear_requests();
        let key =
            EntityKey::of(EntityType::DatabaseService, &json!({"name": "mysql-test"})).unwrap();
        let delete = {
            let store = store.clone();
            let manager = manager(&emu, FERNET_KEY);
            tokio::spawn(async move { delete_entity(&store, &manager, &key, false).await })
        };
        // The secret is deleted (the uncommitted row is invisible to the delete's reading)...
        for _ in 0..600 {
            if !vault_calls(&emu, "DELETE").is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            vault_calls(&emu, "DELETE").len(),
            1,
            "{label}: {:?}",
            vault_calls(&emu, "DELETE")
        );
        // ... and the delete waits for the writer before it reads the rows again.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!delete.is_finished(), "{label}: the delete did not wait");
        transaction.commit().await.unwrap();
        writer.close().await.unwrap();

        let done = delete.await.unwrap().unwrap().unwrap();
        assert_eq!(done.released.len(), 1, "{label}: {:?}", done.released);
        assert!(
            matches!(
                &done.released[0].outcome,
                vaultref_core::ReleaseOutcome::Recovered { by } if by.to_string().contains("written-meanwhile")
            ),
            "{label}: {}",
            done.released[0]
        );
        assert_eq!(
            emu.secret_value(SERVICE_SECRET).as_deref(),
            Some("s3cret"),
            "{label}: the reference written meanwhile lost its secret"
        );
        let recovers = vault_calls(&emu, "POST");
        assert!(
            recovers
                .iter()
                .any(|(path, _)| path.contains("deletedsecrets")
                    && path.contains(SERVICE_SECRET)
                    && path.ends_with("/recover")),
            "{label}: {recovers:?}"
        );
        assert!(
            absent(store, EntityType::DatabaseService, "mysql-test").await
        );
        emu.shutdown().await;
    })
    .await;
}
