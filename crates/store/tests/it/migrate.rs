//! migrate-secrets and rotate-fernet-key against the TLS emulator, on every database flavour.

use std::sync::Mutex;

use secrecy::SecretString;
use serde_json::{Value, json};
use vaultref_core::{ProviderKind, SecretsManager};
use vaultref_emulator::{Emulator, Fault, Target};
use vaultref_fernet::KeyRing;
use vaultref_store::{
    EntityResult, EntityStatus, EntityType, MigrateOptions, MigrationReport, NoProgress, Progress,
    Store, migrate_secrets, rotate_fernet_key,
};

use crate::support::{
    FERNET_KEY, emulator, entity, for_each_store, manager, migrate_managed, row_of, vault_calls,
};

const SERVICE_SECRET: &str = "openmetadata-database-mysql-test-authtype-password";
const BOT_SECRET: &str = "openmetadata-bot-ingestion-bot-config-jwttoken";
const DBT_SECRET: &str = "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey";

/// The three entities with plaintext secrets, as an older deployment stored them.
async fn seed(store: &Store) {
    store
        .upsert(EntityType::DatabaseService, entity("mysql-service.json"))
        .await
        .unwrap();
    store
        .upsert(EntityType::User, entity("bot-user.json"))
        .await
        .unwrap();
    store
        .upsert(EntityType::IngestionPipeline, entity("dbt-pipeline.json"))
        .await
        .unwrap();
}

/// Every row of the three tables, in order.
async fn rows(store: &Store) -> Vec<Value> {
    let mut out = Vec::new();
    for t in [
        EntityType::DatabaseService,
        EntityType::User,
        EntityType::IngestionPipeline,
    ] {
        out.extend(store.list(t).await.unwrap().into_iter().map(|r| r.entity));
    }
    out
}

/// The string at `pointer` in the row named `name` of `entity_type`, Fernet-opened.
async fn opened(store: &Store, entity_type: EntityType, name: &str, pointer: &str) -> String {
    let row = store.get(entity_type, name).await.unwrap().unwrap();
    let stored = row.entity.pointer(pointer).and_then(Value::as_str).unwrap();
    assert!(
        stored.starts_with("fernet:"),
        "{name} {pointer} is not fernet:"
    );
    KeyRing::parse(FERNET_KEY)
        .unwrap()
        .decrypt_if_tokenized(stored)
        .unwrap()
        .as_str()
        .to_owned()
}

fn status_of<'a>(report: &'a MigrationReport, name: &str) -> &'a EntityStatus {
    &report
        .entities
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the report"))
        .status
}

async fn check_migrated(emu: &Emulator, store: &Store, label: &str) {
    for (name, value) in [
        (SERVICE_SECRET, "s3cret"),
        (BOT_SECRET, "eyJhbGciOiJSUzI1NiJ9.bot.token"),
        (DBT_SECRET, "aws-s3cret"),
    ] {
        assert_eq!(
            emu.secret_value(name).as_deref(),
            Some(value),
            "{label}: {name}"
        );
    }
    assert_eq!(
        opened(
            store,
            EntityType::DatabaseService,
            "mysql-test",
            "/connection/config/authType/password"
        )
        .await,
        format!("secret:{SERVICE_SECRET}"),
        "{label}"
    );
    assert_eq!(
        opened(
            store,
            EntityType::User,
            "ingestion-bot",
            "/authenticationMechanism/config/JWTToken"
        )
        .await,
        format!("secret:{BOT_SECRET}")
    );
    assert_eq!(
        opened(
            store,
            EntityType::IngestionPipeline,
            "my-pipeline",
            "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey"
        )
        .await,
        format!("secret:{DBT_SECRET}")
    );
    // No plaintext is left in any row.
    for row in rows(store).await {
        let text = row.to_string();
        for plain in ["s3cret", "bot.token", "aws-s3cret"] {
            assert!(!text.contains(plain), "{label}: {plain} left in {text}");
        }
    }
}

#[tokio::test]
async fn managed_mode_moves_plaintexts_into_the_vault_once() {
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        seed(store).await;

        let report = migrate_managed(store, &emu).await;
        assert!(report.is_success(), "{}: {report:?}", db.label);
        assert_eq!(report.updated(), 3, "{}: {report:?}", db.label);
        assert_eq!(report.secrets_written().len(), 3);
        check_migrated(&emu, store, db.label).await;

        // A second run, from a fresh process: no vault write, no row change.
        let before = rows(store).await;
        emu.clear_requests();
        let report = migrate_managed(store, &emu).await;
        assert!(report.is_success());
        assert_eq!(
            (report.updated(), report.unchanged()),
            (0, 3),
            "{}: {report:?}",
            db.label
        );
        assert!(vault_calls(&emu, "PUT").is_empty(), "{}", db.label);
        assert_eq!(rows(store).await, before, "{}: rows rewritten", db.label);

        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        seed(store).await;
        let before = rows(store).await;

        let options = MigrateOptions::default().with_dry_run(true);
        let report = migrate_secrets(store, &manager(&emu, FERNET_KEY), &options, &NoProgress)
            .await
            .unwrap();
        assert!(report.dry_run && report.is_success());
        assert_eq!(report.updated(), 3, "{}: {report:?}", db.label);
        let mut planned: Vec<_> = report
            .secrets_written()
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        planned.sort();
        let mut expected = vec![SERVICE_SECRET, BOT_SECRET, DBT_SECRET];
        expected.sort_unstable();
        assert_eq!(planned, expected);
        assert!(vault_calls(&emu, "PUT").is_empty(), "{}", db.label);
        assert!(emu.secret_names().is_empty());
        assert_eq!(rows(store).await, before, "{}", db.label);

        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_denied_write_leaves_its_row_and_the_others_migrate() {
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        seed(store).await;
        let service_before = row_of(store, EntityType::DatabaseService, "mysql-test").await;
        // Services come first: the service's write is the first vault write.
        emu.inject(Fault::forbidden_by_policy(Target::Vault, 1));

        let report = migrate_managed(store, &emu).await;
        assert!(!report.is_success(), "{}", db.label);
        let failed: Vec<_> = report.failed().map(|e| e.name.as_str()).collect();
        assert_eq!(failed, ["mysql-test"], "{}: {report:?}", db.label);
        let EntityStatus::Failed { error } = status_of(&report, "mysql-test") else {
            unreachable!()
        };
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(matches!(
            status_of(&report, "ingestion-bot"),
            EntityStatus::Updated { .. }
        ));
        assert!(matches!(
            status_of(&report, "my-pipeline"),
            EntityStatus::Updated { .. }
        ));
        assert_eq!(
            row_of(store, EntityType::DatabaseService, "mysql-test").await,
            service_before,
            "{}: the failed entity's row changed",
            db.label
        );
        assert!(emu.secret_value(SERVICE_SECRET).is_none());

        // Once the vault allows it, a second run finishes the job.
        let report = migrate_managed(store, &emu).await;
        assert!(report.is_success(), "{report:?}");
        assert_eq!(report.updated(), 1);
        check_migrated(&emu, store, db.label).await;

        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn key_rotation_leaves_every_value_readable_with_the_new_key_alone() {
    const NEW_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        seed(store).await;
        migrate_managed(store, &emu).await;
        let old = KeyRing::parse(FERNET_KEY).unwrap();
        let timestamps: Vec<u64> = fernet_values(&rows(store).await)
            .iter()
            .map(|t| old.extract_timestamp(t).unwrap())
            .collect();
        assert_eq!(timestamps.len(), 3);

        let both = SecretString::from(format!("{NEW_KEY},{FERNET_KEY}"));
        let report = rotate_fernet_key(store, &both, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert!(report.is_success(), "{report:?}");
        assert_eq!(report.updated(), 3, "{}: {report:?}", db.label);

        let new = KeyRing::parse(NEW_KEY).unwrap();
        let values = fernet_values(&rows(store).await);
        assert_eq!(values.len(), 3);
        for (token, timestamp) in values.iter().zip(&timestamps) {
            let plain = new.decrypt(token).unwrap();
            assert!(plain.as_slice().starts_with(b"secret:openmetadata-"));
            assert_eq!(
                new.extract_timestamp(token).unwrap(),
                *timestamp,
                "timestamp kept"
            );
            assert!(old.decrypt(token).is_err());
        }

        // Idempotent: a second rotation changes nothing.
        let before = rows(store).await;
        let report = rotate_fernet_key(store, &both, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(report.updated(), 0, "{report:?}");
        assert_eq!(rows(store).await, before);

        // And the rotated rows migrate with the new key alone: nothing to do.
        let report = migrate_secrets(
            store,
            &manager(&emu, NEW_KEY),
            &MigrateOptions::default(),
            &NoProgress,
        )
        .await
        .unwrap();
        assert!(report.is_success() && report.updated() == 0, "{report:?}");

        emu.shutdown().await;
    })
    .await;
}

/// Every `fernet:` token (without the prefix) in `rows`, in document order.
fn fernet_values(rows: &[Value]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(t) = s.strip_prefix("fernet:") {
                    out.push(t.to_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    rows.iter().for_each(|r| walk(r, &mut out));
    out
}

#[tokio::test]
async fn a_new_entity_never_takes_the_secret_of_a_stored_one() {
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        // `mysqltest`, migrated earlier, owns openmetadata-database-mysqltest-authtype-password.
        let mut owner = entity("mysql-service.json");
        owner["name"] = "mysqltest".into();
        owner["id"] = "ffffffff-0000-4000-8000-000000000000".into();
        store
            .upsert(EntityType::DatabaseService, owner)
            .await
            .unwrap();
        migrate_managed(store, &emu).await;
        let name = "openmetadata-database-mysqltest-authtype-password";
        assert_eq!(emu.secret_value(name).as_deref(), Some("s3cret"));

        // `mysql_test` maps to the same Key Vault name (Azure names drop `_`), and sorts first.
        let mut newcomer = entity("mysql-service.json");
        newcomer["name"] = "mysql_test".into();
        newcomer["id"] = "00000000-0000-4000-8000-000000000000".into();
        newcomer["connection"]["config"]["authType"]["password"] = "other-password".into();
        let (before, _) = store
            .upsert(EntityType::DatabaseService, newcomer)
            .await
            .unwrap();
        emu.clear_requests();

        let report = migrate_managed(store, &emu).await;
        let failed: Vec<_> = report.failed().map(|e| e.name.as_str()).collect();
        assert_eq!(failed, ["mysql_test"], "{}: {report:?}", db.label);
        let EntityStatus::Failed { error } = status_of(&report, "mysql_test") else {
            unreachable!()
        };
        let message = error.to_string();
        assert!(message.contains(name), "{message}");
        assert!(!message.contains("other-password"), "{message}");
        assert!(matches!(
            status_of(&report, "mysqltest"),
            EntityStatus::Unchanged
        ));
        assert!(vault_calls(&emu, "PUT").is_empty(), "{}", db.label);
        assert_eq!(emu.secret_value(name).as_deref(), Some("s3cret"));
        assert_eq!(
            row_of(store, EntityType::DatabaseService, "mysql_test").await,
            before
        );

        emu.shutdown().await;
    })
    .await;
}

/// Records what a run reports as it goes.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Progress for Recorder {
    fn entity_type_started(&self, entity_type: EntityType, rows: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{entity_type}: {rows}"));
    }

    fn entity_done(&self, result: &EntityResult) {
        let status = match result.status {
            EntityStatus::Unchanged => "unchanged",
            EntityStatus::Updated { .. } => "updated",
            EntityStatus::WouldUpdate { .. } => "would update",
            _ => "failed",
        };
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {status}", result.name));
    }
}

#[tokio::test]
async fn non_managed_mode_encrypts_plaintexts_in_place_and_reports_progress() {
    for_each_store(async |db| {
        let store = &db.store;
        seed(store).await;
        // A human user: not a bot, so not looked at.
        store
            .upsert(
                EntityType::User,
                json!({"name": "alice", "email": "alice@example.com"}),
            )
            .await
            .unwrap();
        let db_mode = SecretsManager::builder(
            ProviderKind::Db,
            KeyRing::parse(FERNET_KEY).unwrap(),
            "openmetadata",
        )
        .build()
        .unwrap();

        let progress = Recorder::default();
        let report = migrate_secrets(store, &db_mode, &MigrateOptions::default(), &progress)
            .await
            .unwrap();
        assert!(report.is_success() && report.secrets_written().is_empty());
        let lines = progress.0.into_inner().unwrap();
        let interesting: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| !l.ends_with(": 0"))
            .collect();
        assert_eq!(
            interesting,
            [
                "databaseService: 1",
                "mysql-test updated",
                "user: 2",
                "ingestion-bot updated",
                "ingestionPipeline: 1",
                "my-pipeline updated",
            ],
            "{}",
            db.label
        );
        assert_eq!(
            opened(
                store,
                EntityType::DatabaseService,
                "mysql-test",
                "/connection/config/authType/password"
            )
            .await,
            "s3cret"
        );

        let before = rows(store).await;
        let report = migrate_secrets(store, &db_mode, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        assert_eq!((report.updated(), report.unchanged()), (0, 3), "{report:?}");
        assert_eq!(rows(store).await, before);
    })
    .await;
}

#[tokio::test]
async fn rotation_skips_a_row_no_key_opens_and_rotates_the_others() {
    const OLD_TIMESTAMP: u64 = 1_600_000_000;
    const NEW_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const LOST_KEY: &str = "1nbAvVhzJ6XgC1jRbaWTP3Bg5wtaO4Ib4wiGhHxFV2g=";
    for_each_store(async |db| {
        let store = &db.store;
        let lost = KeyRing::parse(LOST_KEY).unwrap();
        let mut orphan = entity("mysql-service.json");
        orphan["name"] = "orphan".into();
        orphan["connection"]["config"]["authType"]["password"] =
            format!("fernet:{}", lost.encrypt(b"unknown")).into();
        let (orphan_before, _) = store
            .upsert(EntityType::DatabaseService, orphan)
            .await
            .unwrap();
        // Stamped long ago, so that a rotation that re-stamped it with the current time shows.
        let old_ring = KeyRing::parse(FERNET_KEY)
            .unwrap()
            .with_clock(FixedClock(OLD_TIMESTAMP));
        let mut service = entity("mysql-service.json");
        service["connection"]["config"]["authType"]["password"] =
            format!("fernet:{}", old_ring.encrypt(b"s3cret")).into();
        store
            .upsert(EntityType::DatabaseService, service)
            .await
            .unwrap();

        let both = SecretString::from(format!("{NEW_KEY},{FERNET_KEY}"));
        let report = rotate_fernet_key(store, &both, &MigrateOptions::default(), &NoProgress)
            .await
            .unwrap();
        let failed: Vec<_> = report.failed().map(|e| e.name.as_str()).collect();
        assert_eq!(failed, ["orphan"], "{}: {report:?}", db.label);
        let EntityStatus::Failed { error } = status_of(&report, "orphan") else {
            unreachable!()
        };
        assert!(error.to_string().contains("add the key"), "{error}");
        assert_eq!(
            row_of(store, EntityType::DatabaseService, "orphan").await,
            orphan_before
        );
        let row = row_of(store, EntityType::DatabaseService, "mysql-test").await;
        let token = row.entity["connection"]["config"]["authType"]["password"]
            .as_str()
            .unwrap();
        let new = KeyRing::parse(NEW_KEY).unwrap();
        assert_eq!(new.decrypt_if_tokenized(token).unwrap().as_str(), "s3cret");
        let rotated = token.strip_prefix("fernet:").unwrap();
        assert_eq!(
            new.extract_timestamp(rotated).unwrap(),
            OLD_TIMESTAMP,
            "{}: rotation must keep the token's timestamp",
            db.label
        );

        // A bad key list is refused before anything is read, without showing the keys.
        let err = rotate_fernet_key(
            store,
            &SecretString::from(format!("{NEW_KEY},not-a-key")),
            &MigrateOptions::default(),
            &NoProgress,
        )
        .await
        .unwrap_err();
        assert!(!err.to_string().contains(NEW_KEY), "{err}");
    })
    .await;
}

#[tokio::test]
async fn workflows_migrate_too() {
    for_each_store(async |db| {
        let emu = emulator().await;
        let store = &db.store;
        store
            .upsert(
                EntityType::Workflow,
                entity("test-connection-workflow.json"),
            )
            .await
            .unwrap();

        let report = migrate_managed(store, &emu).await;
        let EntityStatus::Updated { written } = status_of(&report, "test-connection-mysql-01")
        else {
            panic!("{}: {report:?}", db.label)
        };
        let [name] = written.as_slice() else {
            panic!("{written:?}")
        };
        assert!(
            name.as_str()
                .starts_with("openmetadata-workflow-test-connection-mysql-01-")
        );
        assert_eq!(
            emu.secret_value(name.as_str()).as_deref(),
            Some("wf-s3cret")
        );
        assert_eq!(
            opened(
                store,
                EntityType::Workflow,
                "test-connection-mysql-01",
                "/request/connection/config/authType/password"
            )
            .await,
            format!("secret:{name}")
        );
        emu.shutdown().await;
    })
    .await;
}

/// A Fernet clock that always reads `.0`.
struct FixedClock(u64);

impl vaultref_fernet::Clock for FixedClock {
    fn now_unix_seconds(&self) -> u64 {
        self.0
    }
}
