//! Migrations and entity CRUD on every database flavour.

use futures::TryStreamExt;
use serde_json::json;
use sqlx::Connection;
use vaultref_store::{EntityType, Upserted, table_name};

use crate::support::{absent, entity, for_each_store, row_of};

#[tokio::test]
async fn migrations_create_every_table_and_run_twice() {
    for_each_store(async |db| {
        // Already migrated once by `databases`: a second run applies nothing and fails nothing.
        db.store.migrate().await.unwrap();
        for &entity_type in EntityType::all() {
            assert_eq!(
                db.store.count(entity_type).await.unwrap(),
                0,
                "{}: {}",
                db.label,
                table_name(entity_type)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn upsert_get_update_and_list_round_trip() {
    for_each_store(async |db| {
        let store = &db.store;
        let label = db.label;
        let service = entity("mysql-service.json");
        let (row, how) = store
            .upsert(EntityType::DatabaseService, service.clone())
            .await
            .unwrap();
        assert_eq!(how, Upserted::Inserted, "{label}");
        assert_eq!(row.id.len(), 36);
        assert_eq!(
            row.entity["id"],
            json!(row.id),
            "the id goes into the document"
        );

        let read = row_of(store, EntityType::DatabaseService, "mysql-test").await;
        assert_eq!(read, row, "{label}");
        assert_eq!(read.entity["connection"], service["connection"]);

        // Upsert by name keeps the id and replaces the document.
        let mut changed = service.clone();
        changed["connection"]["config"]["hostPort"] = json!("db2:3306");
        let (again, how) = store
            .upsert(EntityType::DatabaseService, changed)
            .await
            .unwrap();
        assert_eq!((how, &again.id), (Upserted::Updated, &row.id), "{label}");
        let read = store
            .get_by_id(EntityType::DatabaseService, &row.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.entity["connection"]["config"]["hostPort"], "db2:3306");

        // Storing the same document again still finds the row (MySQL counts no change).
        let (_, how) = store
            .upsert(EntityType::DatabaseService, read.entity.clone())
            .await
            .unwrap();
        assert_eq!(how, Upserted::Updated, "{label}");
        assert_eq!(store.count(EntityType::DatabaseService).await.unwrap(), 1);

        // A given id is kept; other tables are separate.
        let (bot, _) = store
            .upsert(
                EntityType::User,
                json!({"id": "0b1c2d3e-0000-4000-8000-000000000001", "name": "ingestion-bot", "isBot": true}),
            )
            .await
            .unwrap();
        assert_eq!(bot.id, "0b1c2d3e-0000-4000-8000-000000000001");
        assert!(
            absent(store, EntityType::DatabaseService, "ingestion-bot").await
        );
    })
    .await;
}

/// Another writer renames a row the stream has not reached to a name it has passed, and
/// inserts a row, while the stream runs: the renamed row is read once under its new name and
/// the new row after the others; a row deleted meanwhile is simply not read.
#[tokio::test]
async fn a_stream_reads_each_row_once_whatever_another_writer_renames_or_inserts() {
    for_each_store(async |db| {
        let store = &db.store;
        for i in 0..12 {
            store
                .upsert(
                    EntityType::DatabaseService,
                    json!({"name": format!("svc-{i:02}"), "serviceType": "Postgres"}),
                )
                .await
                .unwrap();
        }
        let renamed = row_of(store, EntityType::DatabaseService, "svc-09").await;
        let deleted = row_of(store, EntityType::DatabaseService, "svc-10").await;
        let param = |n: usize| {
            if db.label == "postgres" {
                format!("${n}")
            } else {
                "?".to_owned()
            }
        };
        let mut writer = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let mut rows = Box::pin(store.stream(EntityType::DatabaseService, 4));
        let mut names = Vec::new();
        for _ in 0..5 {
            names.push(rows.try_next().await.unwrap().unwrap().name);
        }
        // The stream has read svc-00 .. svc-04 (and fetched the page up to svc-07).
        sqlx::query(&format!(
            "UPDATE dbservice_entity SET name = {} WHERE id = {}",
            param(1),
            param(2)
        ))
        .bind("svc-01b")
        .bind(renamed.id.as_str())
        .execute(&mut writer)
        .await
        .unwrap();
        sqlx::query(&format!(
            "DELETE FROM dbservice_entity WHERE id = {}",
            param(1)
        ))
        .bind(deleted.id.as_str())
        .execute(&mut writer)
        .await
        .unwrap();
        store
            .upsert(
                EntityType::DatabaseService,
                json!({"name": "svc-00a", "serviceType": "Postgres"}),
            )
            .await
            .unwrap();
        while let Some(row) = rows.try_next().await.unwrap() {
            names.push(row.name);
        }
        drop(rows);
        writer.close().await.unwrap();
        assert_eq!(
            names,
            [
                "svc-00", "svc-01", "svc-02", "svc-03", "svc-04", "svc-05", "svc-06", "svc-07",
                "svc-08", "svc-01b", "svc-11", "svc-00a"
            ],
            "{}",
            db.label
        );
    })
    .await;
}

#[tokio::test]
async fn streams_large_tables_page_by_page() {
    for_each_store(async |db| {
        let store = &db.store;
        for i in 0..23 {
            store
                .upsert(
                    EntityType::IngestionPipeline,
                    json!({"name": format!("pipeline-{i:02}"), "pipelineType": "metadata"}),
                )
                .await
                .unwrap();
        }
        // 23 rows in pages of 5 (the last page short), and in pages of exactly 23 / 1.
        for page in [5, 23, 1] {
            let rows: Vec<_> = store
                .stream(EntityType::IngestionPipeline, page)
                .try_collect()
                .await
                .unwrap();
            let names: Vec<_> = rows.iter().map(|r| r.name.clone()).collect();
            let expected: Vec<_> = (0..23).map(|i| format!("pipeline-{i:02}")).collect();
            // By name, whatever the ids (random UUIDs) and the database's collation.
            assert_eq!(names, expected, "{} page {page}", db.label);
        }
        let first = store
            .list_page(EntityType::IngestionPipeline, None, 10)
            .await
            .unwrap();
        let second = store
            .list_page(EntityType::IngestionPipeline, Some(&first[9].id), 10)
            .await
            .unwrap();
        assert_eq!((first.len(), second.len()), (10, 10));
        assert!(second[0].id > first[9].id);
    })
    .await;
}

#[tokio::test]
async fn entities_without_a_name_are_refused() {
    for_each_store(async |db| {
        let err = db
            .store
            .upsert(EntityType::Bot, json!({"displayName": "x"}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no `name`"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn connection_errors_name_the_server_but_not_the_password() {
    let err = vaultref_store::Store::connect("postgres://u:hunter2@127.0.0.1:1/x")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn openmetadata_jdbc_settings_connect() {
    for_each_store(async |db| {
        if db.label == "sqlite" {
            return;
        }
        let url = url::Url::parse(&db.url).unwrap();
        let scheme = if db.label == "postgres" {
            "postgresql"
        } else {
            "mysql"
        };
        let config = vaultref_core::DatabaseConfig::Jdbc {
            url: format!(
                "jdbc:{scheme}://{}:{}{}?allowPublicKeyRetrieval=true&useSSL=false",
                url.host_str().unwrap(),
                url.port().unwrap(),
                url.path()
            ),
            user: url.username().to_owned(),
            password: secrecy::SecretString::from(url.password().unwrap_or_default()),
        };
        let store = vaultref_store::Store::connect_database(&config)
            .await
            .unwrap();
        db.store
            .upsert(EntityType::Bot, json!({"name": "ingestion-bot"}))
            .await
            .unwrap();
        // The same database, reached through the JDBC settings.
        assert!(!absent(&store, EntityType::Bot, "ingestion-bot").await);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = vaultref_store::Store::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .upsert(
            EntityType::Workflow,
            json!({"name": "test-connection", "workflowType": "TEST_CONNECTION"}),
        )
        .await
        .unwrap();
    assert_eq!(store.count(EntityType::Workflow).await.unwrap(), 1);
}
