//! vaultref-store against real databases: SQLite always, PostgreSQL and MariaDB/MySQL from
//! `VAULTREF_TEST_POSTGRES_URL` / `VAULTREF_TEST_MYSQL_URL`, else from containers started
//! through testcontainers (vaultref-testkit; docs/testing.md); with `CI` set, a database that
//! cannot be had fails the tests instead of being skipped. Each test works in a fresh database
//! with a random name, dropped at the end.

// clippy.toml allows unwrap in #[test] functions only; the helpers here are test code too, and
// a panic is how they report a broken fixture. The notes on skipped databases go to stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod delete;
mod migrate;
mod openmetadata;
mod store;
mod support;
mod tls;
