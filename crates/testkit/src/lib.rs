//! Test support shared by vaultref's crates: a fresh database per test on every engine, and
//! the fixtures every crate's tests use (the emulator, its environment, the entity corpus).
//!
//! [`for_each_database`] runs one test body on SQLite, PostgreSQL and MariaDB/MySQL;
//! [`databases`] and [`database_or_skip`] hand out the same databases for tests that need
//! them otherwise; [`TestDatabase::create`] is the fallible call underneath (for tools, such
//! as `cargo xtask e2e`).
//!
//! Where a server comes from, per engine, decided once per process:
//! 1. the URL variable (`VAULTREF_TEST_POSTGRES_URL`, `VAULTREF_TEST_MYSQL_URL`) when set;
//! 2. else a container started through testcontainers from the image variable
//!    (`VAULTREF_TEST_POSTGRES_IMAGE`, `VAULTREF_TEST_MYSQL_IMAGE`), default the official
//!    `postgres` and `mariadb` images: one container per engine per process, shared by its
//!    tests (each gets its own database), removed when the process exits;
//! 3. else, with `CI` set, the test fails with what to set; without it, the engine is skipped
//!    with a loud note.
//!
//! [`EmulatorContainer`] runs the `vaultref` image (`vaultref emulator --tls`) the way other
//! projects run it in their CI.
//!
//! Fixtures: [`tls_emulator`] (and [`tls_emulator_with`] a configuration),
//! [`deployment_variables`] (what a configuration against it reads),
//! [`vault_calls`], [`secret_reads`], [`FERNET_KEY`] and the entity corpus ([`entity`]).
//!
//! Each test's database has a random name and is dropped afterwards: the servers are shared.
//! See docs/testing.md.

mod container;
mod database;
mod emulator;
mod engine;
mod error;
mod fixtures;
mod harness;
mod server;

pub use container::CONTAINER_LABEL;
pub use database::TestDatabase;
pub use emulator::{EMULATOR_IMAGE_VAR, EmulatorContainer};
pub use engine::Engine;
pub use error::{Error, Result};
pub use fixtures::{
    FERNET_KEY, deployment_variables, entity, secret_reads, tls_emulator, tls_emulator_with,
    vault_calls,
};
pub use harness::{database_or_skip, databases, emulator_container_or_skip, for_each_database};
