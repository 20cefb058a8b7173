//! The store on OpenMetadata's own tables (tests/data/openmetadata: the 1.13 and 2.0 layouts,
//! and an older 1.x without `api_service_entity`), on real PostgreSQL and MariaDB/MySQL.

use futures::StreamExt as _;
use md5::Digest as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::AnyPool;
use vaultref_core::{Document, ProviderKind, SecretsManager};
use vaultref_fernet::KeyRing;
use vaultref_store::{
    EntityStatus, EntityType, Error, LayoutKind, MigrateOptions, NoProgress, Store, Upserted,
    import_entity, migrate_secrets, rotate_fernet_key,
};
use vaultref_testkit::{Engine, TestDatabase, database_or_skip};

use crate::support::{FERNET_KEY, for_each_store, row_of};

/// A second Fernet key (32 bytes of 0x01), to rotate to.
const NEW_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// Which of OpenMetadata's layouts a database gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    V1_13,
    V2_0,
    /// An older 1.x: the 1.13 tables without `api_service_entity` (created in 1.5) and
    /// without a migration log.
    Older1x,
}

const ALL: [Release; 3] = [Release::V1_13, Release::V2_0, Release::Older1x];

/// A fresh database holding one of OpenMetadata's layouts, and a store on it.
struct OpenMetadataDb {
    label: String,
    release: Release,
    engine: Engine,
    store: Store,
    pool: AnyPool,
    database: TestDatabase,
}

impl OpenMetadataDb {
    async fn load(database: TestDatabase, release: Release) -> Self {
        let engine = database.engine();
        let pool = AnyPool::connect(database.url()).await.unwrap();
        let mariadb = engine == Engine::Mysql && {
            let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
                .fetch_one(&pool)
                .await
                .unwrap();
            version.contains("MariaDB")
        };
        let file = if engine == Engine::Postgres {
            "postgres.sql"
        } else {
            "mysql.sql"
        };
        // 2.0 is the 1.13 layout with 2.0's changes applied, as OpenMetadata migrates it.
        let releases: &[&str] = match release {
            Release::V2_0 => &["1.13", "2.0"],
            Release::V1_13 | Release::Older1x => &["1.13"],
        };
        let mut sql = String::new();
        for dir in releases {
            let path = format!(
                "{}/tests/data/openmetadata/{dir}/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            sql.push_str(&std::fs::read_to_string(path).unwrap());
        }
        if mariadb {
            sql = for_mariadb(&sql);
        }
        if release == Release::Older1x {
            sql.push_str("DROP TABLE api_service_entity;\nDROP TABLE SERVER_CHANGE_LOG;\n");
        }
        for statement in sql.split(";\n") {
            let code = statement
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if code.trim().is_empty() {
                continue;
            }
            sqlx::raw_sql(&code)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let store = Store::connect(database.url()).await.unwrap();
        Self {
            label: format!("{} {release:?}", database.label()),
            release,
            engine,
            store,
            pool,
            database,
        }
    }

    async fn drop_database(self) {
        self.store.close().await;
        self.pool.close().await;
        self.database.drop_database().await;
    }

    /// A statement's `n`th parameter.
    fn param(&self, n: usize) -> String {
        if self.engine == Engine::Postgres {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// The hash column of a row, read with SQL.
    async fn hash_of(&self, table: &str, column: &str, name: &str) -> Option<String> {
        let sql = format!(
            "SELECT {column} FROM {table} WHERE name = {}",
            self.param(1)
        );
        sqlx::query_scalar(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .unwrap()
    }
}

/// MySQL 8's DDL as MariaDB takes it (the fixtures' header says why): `NOT NULL` on a
/// generated column becomes a `CHECK`, the primary key on the generated id a unique key,
/// MySQL 8's default collation an equivalent one, and a boolean taken from the document
/// compares its text (MariaDB's `json_extract` gives the text `true`, which is no integer).
fn for_mariadb(sql: &str) -> String {
    sql.lines()
        .map(|line| {
            let mut line = line
                .replace("PRIMARY KEY (`id`)", "UNIQUE KEY `id` (`id`)")
                .replace("utf8mb4_0900_ai_ci", "utf8mb4_general_ci");
            if line.contains("tinyint(1) GENERATED ALWAYS AS (json_extract(") {
                line = line
                    .replace("(json_extract(`json`,", "(json_value(`json`,")
                    .replace("')) VIRTUAL", "') = 'true') VIRTUAL");
            }
            match (
                line.contains(" GENERATED ALWAYS AS "),
                line.strip_suffix(" NOT NULL,"),
            ) {
                (true, Some(column)) => {
                    let name = column.trim_start().split('`').nth(1).unwrap();
                    format!("{column} CHECK (`{name}` IS NOT NULL),")
                }
                _ => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `test` on a fresh database of every server engine for every release in `releases`.
async fn for_each_layout(releases: &[Release], mut test: impl AsyncFnMut(&OpenMetadataDb)) {
    for engine in [Engine::Postgres, Engine::Mysql] {
        for &release in releases {
            let Some(database) = database_or_skip(engine).await else {
                continue;
            };
            let db = OpenMetadataDb::load(database, release).await;
            test(&db).await;
            db.drop_database().await;
        }
    }
}

fn db_mode() -> SecretsManager {
    SecretsManager::builder(
        ProviderKind::Db,
        KeyRing::parse(FERNET_KEY).unwrap(),
        "openmetadata",
    )
    .build()
    .unwrap()
}

/// The lowercase hex MD5 of `text`'s UTF-8 bytes: OpenMetadata's `EntityUtil.hash`.
fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::Md5::digest(text.as_bytes()))
}

/// `value` Fernet-opened with `keys`.
fn opened(keys: &str, value: &Value) -> String {
    let token = value.as_str().unwrap();
    assert!(token.starts_with("fernet:"), "not encrypted");
    KeyRing::parse(keys)
        .unwrap()
        .decrypt_if_tokenized(token)
        .unwrap()
        .as_str()
        .to_owned()
}

fn service(name: &str, password: &str) -> Value {
    json!({"name": name, "serviceType": "Mysql", "connection": {"config": {"type": "Mysql",
        "username": "etl", "authType": {"password": password}, "hostPort": "db:3306"}}})
}

#[tokio::test]
async fn the_layout_is_told_with_its_release() {
    for_each_layout(&ALL, async |db| {
        let layout = db.store.layout().await.unwrap();
        let (release, missing) = match db.release {
            Release::V1_13 => (Some("1.13.4"), vec![]),
            Release::V2_0 => (Some("2.0.0"), vec![]),
            Release::Older1x => (None, vec!["api_service_entity"]),
        };
        assert_eq!(
            layout.kind(),
            &LayoutKind::OpenMetadata {
                release: release.map(str::to_owned)
            },
            "{}",
            db.label
        );
        assert_eq!(layout.missing_tables(), missing, "{}", db.label);
        // vaultref's migrations leave OpenMetadata's database alone: no table is added.
        db.store.migrate().await.unwrap();
        assert_eq!(db.store.layout().await.unwrap().missing_tables(), missing);
        // A type whose table the release lacks: none stored, and an import says why.
        if db.release == Release::Older1x {
            assert_eq!(db.store.count(EntityType::ApiService).await.unwrap(), 0);
            let scanned = vaultref_store::scan(&db.store, &db_mode()).await.unwrap();
            assert_eq!(scanned.missing_tables, ["api_service_entity"]);
            let err = db
                .store
                .upsert(
                    EntityType::ApiService,
                    json!({"name": "rest", "serviceType": "Rest"}),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::MissingTable {
                        table: "api_service_entity",
                        ..
                    }
                ),
                "{err}"
            );
        }
        // Deleting rows is OpenMetadata's own business on its tables.
        let key = vaultref_core::EntityKey::of(EntityType::DatabaseService, &json!({"name": "x"}));
        let err = vaultref_store::delete_entity(&db.store, &db_mode(), &key.unwrap(), false)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OpenMetadataRow { .. }), "{err}");
    })
    .await;
    for_each_store(async |db| {
        let layout = db.store.layout().await.unwrap();
        assert_eq!(layout.kind(), &LayoutKind::Vaultref, "{}", db.label);
        assert_eq!(layout.to_string(), "vaultref's own layout");
    })
    .await;
}

#[tokio::test]
async fn imports_insert_rows_with_openmetadatas_name_hashes() {
    for_each_layout(&[Release::V1_13, Release::V2_0], async |db| {
        let manager = db_mode();
        // The hashes an independent computation gives: MD5 of each part in its quoted form
        // (the worked examples of the issue 12 facts for `simple` and `naïve space`).
        for (name, hashed) in [
            ("simple", "8dbdda48fb8748d6746f1965824e966a".to_owned()),
            ("has.dot", md5_hex("\"has.dot\"")),
            ("naïve space", "9032d36672f34fa1cdb59d6d0fccdb7f".to_owned()),
        ] {
            let document = Document::from_value(service(name, "s3cret"));
            let imported =
                import_entity(&db.store, &manager, EntityType::DatabaseService, &document)
                    .await
                    .unwrap();
            assert_eq!(imported.upserted, Upserted::Inserted, "{}", db.label);
            assert_eq!(
                db.hash_of("dbservice_entity", "nameHash", name)
                    .await
                    .as_deref(),
                Some(hashed.as_str()),
                "{}: {name}",
                db.label
            );
            let row = row_of(&db.store, EntityType::DatabaseService, name).await;
            // The generated columns were filled from the document vaultref completed.
            assert_eq!(row.name, name);
            assert_eq!(row.entity["id"], json!(row.id));
            assert!(row.entity["updatedAt"].is_u64(), "{}", db.label);
            assert_eq!(row.entity["deleted"], json!(false));
            assert_eq!(
                opened(
                    FERNET_KEY,
                    &row.entity["connection"]["config"]["authType"]["password"]
                ),
                "s3cret"
            );
        }
        // A pipeline's fqnHash: one digest per quoted part of `"has.dot"."dbt.nightly"`.
        let pipeline = json!({"name": "dbt.nightly", "pipelineType": "dbt",
            "service": {"type": "databaseService", "name": "has.dot",
                        "fullyQualifiedName": "\"has.dot\""},
            "sourceConfig": {"config": {"type": "DBT"}}});
        import_entity(
            &db.store,
            &manager,
            EntityType::IngestionPipeline,
            &Document::from_value(pipeline),
        )
        .await
        .unwrap();
        assert_eq!(
            db.hash_of("ingestion_pipeline_entity", "fqnHash", "dbt.nightly")
                .await,
            Some(format!(
                "{}.{}",
                md5_hex("\"has.dot\""),
                md5_hex("\"dbt.nightly\"")
            )),
            "{}",
            db.label
        );
        // Importing again finds the row by its hash: no second row.
        let again = import_entity(
            &db.store,
            &manager,
            EntityType::DatabaseService,
            &Document::from_value(service("has.dot", "s3cret")),
        )
        .await
        .unwrap();
        assert_eq!(again.upserted, Upserted::Updated);
        assert_eq!(
            db.store.count(EntityType::DatabaseService).await.unwrap(),
            3
        );
        // OpenMetadata's releases hash a `"` differently: refused, nothing written.
        let err = import_entity(
            &db.store,
            &manager,
            EntityType::DatabaseService,
            &Document::from_value(service("has \"quote\"", "s3cret")),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::UnsupportedName { .. }), "{err}");
        assert_eq!(
            db.store.count(EntityType::DatabaseService).await.unwrap(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn an_import_over_a_stored_entity_changes_only_its_secret_fields() {
    for_each_layout(&[Release::V1_13, Release::V2_0], async |db| {
        let stored = json!({"id": "6f0e1c1e-0000-4000-8000-000000000001", "name": "warehouse",
            "fullyQualifiedName": "warehouse", "serviceType": "Mysql",
            "updatedAt": 1_700_000_000_000_u64, "updatedBy": "admin", "version": 0.3,
            "deleted": false,
            "changeDescription": {"previousVersion": 0.2, "fieldsUpdated": [{"name": "connection"}]},
            "connection": {"config": {"type": "Mysql", "username": "etl",
                "authType": {"password": "old"}, "hostPort": "db:3306"}}});
        db.store
            .upsert(EntityType::DatabaseService, stored.clone())
            .await
            .unwrap();
        let import = json!({"name": "warehouse", "serviceType": "Mysql",
            "connection": {"config": {"type": "Mysql", "username": "someone-else",
                "authType": {"password": "new"}, "hostPort": "elsewhere:3306"}}});
        let imported = import_entity(
            &db.store,
            &db_mode(),
            EntityType::DatabaseService,
            &Document::from_value(import),
        )
        .await
        .unwrap();
        assert_eq!(imported.upserted, Upserted::Updated);
        let row = row_of(&db.store, EntityType::DatabaseService, "warehouse").await;
        let password = &row.entity["connection"]["config"]["authType"]["password"];
        assert_eq!(opened(FERNET_KEY, password), "new", "{}", db.label);
        // Everything else is the stored document's, untouched.
        let mut rest = row.entity.clone();
        rest["connection"]["config"]["authType"]["password"] = json!("old");
        assert_eq!(rest, stored, "{}", db.label);

        // A secret inside an array (an MCP server's API key) is found by its index, not lost.
        let stored = json!({"id": "6f0e1c1e-0000-4000-8000-000000000002", "name": "tools",
            "fullyQualifiedName": "tools", "serviceType": "Mcp", "updatedAt": 1, "updatedBy": "a",
            "version": 0.1, "deleted": false, "connection": {"config": {"type": "Mcp",
                "servers": [{"name": "one", "apiKey": "old-key"}]}}});
        db.store
            .upsert(EntityType::McpService, stored.clone())
            .await
            .unwrap();
        let import = json!({"name": "tools", "serviceType": "Mcp", "connection": {"config":
            {"type": "Mcp", "servers": [{"name": "one", "apiKey": "new-key"}]}}});
        import_entity(
            &db.store,
            &db_mode(),
            EntityType::McpService,
            &Document::from_value(import),
        )
        .await
        .unwrap();
        let row = row_of(&db.store, EntityType::McpService, "tools").await;
        let key = &row.entity["connection"]["config"]["servers"][0]["apiKey"];
        assert_eq!(opened(FERNET_KEY, key), "new-key", "{}", db.label);
    })
    .await;
}

#[tokio::test]
async fn migrate_secrets_and_key_rotation_run_on_every_release_and_skip_deleted_entities() {
    for_each_layout(&ALL, async |db| {
        let label = &db.label;
        let store = &db.store;
        store
            .upsert(EntityType::DatabaseService, service("mysql-test", "s3cret"))
            .await
            .unwrap();
        let mut gone = service("gone", "old-s3cret");
        gone["deleted"] = json!(true);
        store
            .upsert(EntityType::DatabaseService, gone)
            .await
            .unwrap();
        // A pipeline: fqnHash, and on PostgreSQL a `json` (not `jsonb`) column.
        store
            .upsert(
                EntityType::IngestionPipeline,
                crate::support::entity("dbt-pipeline.json"),
            )
            .await
            .unwrap();
        let has_api = db.release != Release::Older1x;
        if has_api {
            store
                .upsert(
                    EntityType::ApiService,
                    json!({"name": "rest", "serviceType": "Rest", "connection": {"config":
                        {"type": "Rest", "openAPISchemaURL": "https://api/openapi.json",
                         "token": "api-t0ken"}}}),
                )
                .await
                .unwrap();
        }
        let password = |row: &vaultref_store::StoredEntity| {
            row.entity["connection"]["config"]["authType"]["password"].clone()
        };
        let get = async |name: &str| row_of(store, EntityType::DatabaseService, name).await;

        // By default the soft-deleted service is skipped, and said so.
        let report = migrate_secrets(store, &db_mode(), &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert!(report.is_success(), "{label}: {:?}", report.entities);
        assert_eq!(report.updated(), if has_api { 3 } else { 2 }, "{label}");
        assert_eq!(report.skipped_deleted(), 1, "{label}");
        let pipeline = store
            .find(
                &vaultref_core::EntityKey::of(
                    EntityType::IngestionPipeline,
                    &crate::support::entity("dbt-pipeline.json"),
                )
                .unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        let key = &pipeline.entity["sourceConfig"]["config"]["dbtConfigSource"]["dbtSecurityConfig"]
            ["awsSecretAccessKey"];
        assert_eq!(opened(FERNET_KEY, key), "aws-s3cret", "{label}");
        // PostgreSQL's `json` column (not `jsonb`, which sorts keys by length) keeps the text
        // as written: the members vaultref added come first.
        if db.engine == Engine::Postgres {
            let at = |member: &str| pipeline.text.find(&format!("\"{member}\""));
            assert!(at("fullyQualifiedName") < at("name"), "{label}");
        }
        let expected_missing: Vec<&str> = if has_api {
            vec![]
        } else {
            vec!["api_service_entity"]
        };
        assert_eq!(report.missing_tables, expected_missing, "{label}");
        assert_eq!(
            opened(FERNET_KEY, &password(&get("mysql-test").await)),
            "s3cret"
        );
        assert_eq!(password(&get("gone").await), json!("old-s3cret"), "{label}");
        if has_api {
            let rest = row_of(store, EntityType::ApiService, "rest").await;
            assert_eq!(
                opened(FERNET_KEY, &rest.entity["connection"]["config"]["token"]),
                "api-t0ken"
            );
        }
        // Asked for, it is migrated too.
        let options = MigrateOptions::default().with_include_deleted(true);
        let report = migrate_secrets(store, &db_mode(), &options, &NoProgress)
            .await
            .unwrap();
        assert_eq!(
            (report.updated(), report.skipped_deleted()),
            (1, 0),
            "{label}"
        );
        assert_eq!(
            opened(FERNET_KEY, &password(&get("gone").await)),
            "old-s3cret"
        );

        // Rotation to a new key: the deleted row keeps the old key unless included.
        let keys = SecretString::from(format!("{NEW_KEY},{FERNET_KEY}"));
        let report = rotate_fernet_key(store, &keys, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert!(report.is_success(), "{label}");
        assert_eq!(report.updated(), if has_api { 3 } else { 2 }, "{label}");
        assert_eq!(report.skipped_deleted(), 1, "{label}");
        assert_eq!(
            opened(NEW_KEY, &password(&get("mysql-test").await)),
            "s3cret"
        );
        let report = rotate_fernet_key(store, &keys, &options, &NoProgress)
            .await
            .unwrap();
        assert_eq!(report.updated(), 1, "{label}");
        assert_eq!(opened(NEW_KEY, &password(&get("gone").await)), "old-s3cret");
        if has_api {
            let rest = row_of(store, EntityType::ApiService, "rest").await;
            assert_eq!(
                opened(NEW_KEY, &rest.entity["connection"]["config"]["token"]),
                "api-t0ken"
            );
        }
        // Every row still carries what the rewrite does not own.
        let row = get("mysql-test").await;
        assert!(row.entity["updatedAt"].is_u64() && row.entity["version"].is_number());
        assert!(matches!(
            status(&report, "mysql-test"),
            Some(EntityStatus::Unchanged)
        ));
    })
    .await;
}

fn status<'a>(report: &'a vaultref_store::MigrationReport, name: &str) -> Option<&'a EntityStatus> {
    report
        .entities
        .iter()
        .find(|e| e.name == name)
        .map(|e| &e.status)
}

#[tokio::test]
async fn a_unique_value_another_row_holds_is_an_error_not_a_conflict() {
    for_each_layout(&[Release::V1_13], async |db| {
        let user = |name: &str| {
            json!({"name": name, "email": "same@example.com", "isBot": false, "deleted": false})
        };
        db.store.upsert(EntityType::User, user("alice")).await.unwrap();
        let err = db.store.upsert(EntityType::User, user("bob")).await.unwrap_err();
        assert!(matches!(err, Error::Duplicate { table: "user_entity", .. }), "{}: {err}", db.label);
        // security_service_entity is unique by name, which MySQL/MariaDB compare without case.
        let security = |name: &str| json!({"name": name, "serviceType": "Ranger"});
        db.store
            .upsert(EntityType::SecurityService, security("Ranger"))
            .await
            .unwrap();
        let second = db.store.upsert(EntityType::SecurityService, security("ranger")).await;
        if db.engine == Engine::Mysql {
            assert!(matches!(second, Err(Error::Duplicate { .. })), "{}", db.label);
        } else {
            assert!(second.is_ok(), "{}", db.label);
        }
    })
    .await;
}

#[tokio::test]
async fn managed_mode_moves_secrets_of_openmetadata_rows_into_the_vault() {
    for_each_layout(&[Release::V2_0], async |db| {
        let emu = crate::support::emulator().await;
        db.store
            .upsert(EntityType::DatabaseService, service("mysql-test", "s3cret"))
            .await
            .unwrap();
        let manager = crate::support::manager(&emu, FERNET_KEY);
        let report = migrate_secrets(&db.store, &manager, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert!(report.is_success(), "{}: {:?}", db.label, report.entities);
        let name = "openmetadata-database-mysql-test-authtype-password";
        assert_eq!(
            emu.secret_value(name).as_deref(),
            Some("s3cret"),
            "{}",
            db.label
        );
        let row = row_of(&db.store, EntityType::DatabaseService, "mysql-test").await;
        let password = &row.entity["connection"]["config"]["authType"]["password"];
        assert_eq!(opened(FERNET_KEY, password), format!("secret:{name}"));
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn scan_reads_openmetadatas_version_history() {
    for_each_layout(&[Release::V1_13], async |db| {
        let keys = KeyRing::parse(FERNET_KEY).unwrap();
        let id = "6f0f6a52-93d1-4a55-a1c1-4d1f0b1e3c11";
        let old = service("history", "plain-then");
        let mut encrypted = service("history", "");
        encrypted["connection"]["config"]["authType"]["password"] =
            json!(keys.encrypt_if_not_tokenized("s3cret"));
        // Versions of a service: 0.1 kept its password in plaintext, 0.2 encrypted; and a
        // table's version whose `password` key is none of vaultref's business.
        let rows = [
            ("databaseService.version.0.1", old),
            ("databaseService.version.0.2", encrypted),
            (
                "table.version.0.1",
                json!({"name": "t", "password": "not-a-service"}),
            ),
            // Not a type vaultref knows, whatever MySQL's case-blind collation says.
            (
                "DatabaseService.version.0.3",
                json!({"name": "t", "password": "other-case"}),
            ),
        ];
        for (extension, document) in rows {
            let sql = format!(
                "INSERT INTO entity_extension (id, extension, jsonSchema, json) \
                 VALUES ({}, {}, {}, {})",
                db.param(1),
                db.param(2),
                db.param(3),
                if db.engine == Engine::Postgres {
                    "CAST($4 AS jsonb)".to_owned()
                } else {
                    db.param(4)
                }
            );
            sqlx::query(&sql)
                .bind(id)
                .bind(extension)
                .bind(extension.split('.').next().unwrap())
                .bind(document.to_string())
                .execute(&db.pool)
                .await
                .unwrap();
        }
        assert!(
            db.store.layout().await.unwrap().has_versions(),
            "{}",
            db.label
        );
        let versions: Vec<_> = db
            .store
            .stream_versions(1)
            .map(Result::unwrap)
            .collect()
            .await;
        let read: Vec<_> = versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(read, ["0.1", "0.2"], "{}", db.label);
        let report = vaultref_store::scan(&db.store, &db_mode()).await.unwrap();
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.table,
                    f.version.as_deref(),
                    f.path.as_str(),
                    f.problem.code(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [(
                "entity_extension",
                Some("0.1"),
                "connection.config.authType.password",
                "plaintext"
            )],
            "{}",
            db.label
        );
        assert_eq!(report.findings[0].name, "history");
    })
    .await;
    // vaultref's own layout has no history to read.
    for_each_store(async |db| {
        assert!(!db.store.layout().await.unwrap().has_versions());
        assert_eq!(db.store.stream_versions(10).count().await, 0);
    })
    .await;
}
