//! `for_each_database` and the CI rule, on real servers.

use std::process::Command;

use sqlx::{Connection as _, Row as _};
use vaultref_testkit::{Engine, TestDatabase, for_each_database};

#[tokio::test]
async fn every_engine_runs_one_body_in_a_database_of_its_own() {
    let mut seen = Vec::new();
    for_each_database(async |db: &TestDatabase| {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(db.url()).await.unwrap();
        // A fresh database: the table cannot be there yet.
        sqlx::query("CREATE TABLE kit_check (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO kit_check (id, name) VALUES (1, 'x')")
            .execute(&mut conn)
            .await
            .unwrap();
        let row = sqlx::query("SELECT name FROM kit_check WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>(0), "x", "{}", db.label());
        conn.close().await.unwrap();
        seen.push(db.engine());
    })
    .await;
    assert_eq!(seen.first(), Some(&Engine::Sqlite));
    if std::env::var_os("CI").is_some() {
        assert_eq!(seen, Engine::ALL, "CI runs every engine");
    }
}

#[tokio::test]
async fn a_dropped_database_is_gone_from_its_server() {
    for engine in Engine::SERVERS {
        let Some(db) = vaultref_testkit::database_or_skip(engine).await else {
            continue;
        };
        let url = db.url().to_owned();
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&url)
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        db.drop_database().await;
        assert!(
            sqlx::AnyConnection::connect(&url).await.is_err(),
            "{engine}: the database is still there"
        );
    }
}

/// Runs the first test again in a child process with no URL and an engine that cannot be
/// reached, with and without `CI`.
fn run_without_servers(ci: bool) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args([
            "--exact",
            "harness::every_engine_runs_one_body_in_a_database_of_its_own",
            "--nocapture",
        ])
        .env_remove("VAULTREF_TEST_POSTGRES_URL")
        .env_remove("VAULTREF_TEST_MYSQL_URL")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    let out = command.output().expect("running the test binary again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn without_a_server_ci_fails_saying_what_to_set() {
    let (passed, output) = run_without_servers(true);
    assert!(!passed, "{output}");
    for expected in [
        "VAULTREF_TEST_POSTGRES_URL is not set",
        "VAULTREF_TEST_MYSQL_URL is not set",
        "DOCKER_HOST",
        "CI is set",
    ] {
        assert!(output.contains(expected), "no {expected:?} in: {output}");
    }
}

#[test]
fn without_a_server_and_without_ci_the_engines_are_skipped_loudly() {
    let (passed, output) = run_without_servers(false);
    assert!(passed, "{output}");
    for engine in ["postgres", "mysql"] {
        let line = output
            .lines()
            .find(|line| {
                line.starts_with(&format!(
                    "vaultref-testkit: SKIPPED {engine} in harness::every_engine"
                ))
            })
            .unwrap_or_else(|| panic!("no SKIPPED line for {engine} in: {output}"));
        assert!(line.contains("is not set"), "{line}");
    }
}
