//! The one way tests get databases: every engine that can be had, the CI rule applied.

use crate::{EmulatorContainer, Engine, Error, TestDatabase, container::announce};

/// Runs `test` once on a fresh database of every engine (SQLite, PostgreSQL, MariaDB/MySQL),
/// dropping each database afterwards, so one test body covers every engine instead of a loop
/// in each test. An engine that cannot be had fails the test when `CI` is set, and is skipped
/// with a loud note otherwise (see [`database_or_skip`]).
pub async fn for_each_database(mut test: impl AsyncFnMut(&TestDatabase)) {
    for database in databases().await {
        test(&database).await;
        database.drop_database().await;
    }
}

/// A fresh database of every engine that can be had, SQLite first, made concurrently (the
/// first test of a process may start two containers). The CI rule of [`database_or_skip`]
/// applies, with every engine's reason in one message.
///
/// # Panics
/// With `CI` set, when a database cannot be had.
pub async fn databases() -> Vec<TestDatabase> {
    let [sqlite, postgres, mysql] = Engine::ALL;
    let (sqlite, postgres, mysql) = tokio::join!(
        TestDatabase::create(sqlite),
        TestDatabase::create(postgres),
        TestDatabase::create(mysql)
    );
    let mut databases = Vec::new();
    let mut missing = Vec::new();
    for result in [sqlite, postgres, mysql] {
        match result {
            Ok(database) => databases.push(database),
            Err(e) => missing.push(e),
        }
    }
    skip_or_fail(&missing);
    databases
}

/// A fresh database of `engine`, or `None` when it cannot be had: then with `CI` set this
/// panics with what to set (CI must run every engine); without it, it writes a loud
/// "SKIPPED" line naming the test and the reason to stderr, past the output capture.
///
/// # Panics
/// With `CI` set, when the database cannot be had.
pub async fn database_or_skip(engine: Engine) -> Option<TestDatabase> {
    match TestDatabase::create(engine).await {
        Ok(database) => Some(database),
        Err(e) => {
            skip_or_fail(&[e]);
            None
        }
    }
}

/// The `vaultref` emulator image in a container of its own, serving `vaults` beside the
/// default vault, or `None` when it cannot be started: the CI rule of [`database_or_skip`]
/// applies.
///
/// # Panics
/// With `CI` set, when the container cannot be started.
pub async fn emulator_container_or_skip(vaults: &[&str]) -> Option<EmulatorContainer> {
    match EmulatorContainer::start(vaults).await {
        Ok(emulator) => Some(emulator),
        Err(e) => {
            skip_or_fail(&[e]);
            None
        }
    }
}

/// Fails (with `CI` set) or notes loudly that the test goes on without what is `missing`.
pub(crate) fn skip_or_fail(missing: &[Error]) {
    if missing.is_empty() {
        return;
    }
    if std::env::var_os("CI").is_some() {
        let reasons: Vec<String> = missing.iter().map(ToString::to_string).collect();
        panic!(
            "{} (CI is set, so what a test needs and cannot have fails it)",
            reasons.join("\n")
        );
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    for e in missing {
        announce(&format!(
            "SKIPPED {} in {test}: {e}. (With CI set, this fails the test.)",
            e.engine().map_or("emulator", Engine::label)
        ));
    }
}
