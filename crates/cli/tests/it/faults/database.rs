//! `migrate-secrets` when the database goes away mid-run, on PostgreSQL: every connection cut
//! and refused for a while (a proxy), or the server ending its backend
//! (`pg_terminate_backend`). The run stops cleanly, a later run completes, nothing is lost.

use std::net::ToSocketAddrs as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection as _;
use vaultref_emulator::EmulatorConfig;

use super::harness::{Database, Site, baseline, fleet, summary};
use super::proxy::Proxy;
use crate::support::Run;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own on the test PostgreSQL server, dropped at the end.
struct Postgres {
    admin_url: url::Url,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Postgres {
    /// A new database on the server of `VAULTREF_TEST_POSTGRES_URL`; `None` (with a note) when
    /// there is no server, which fails the test under CI.
    // Not inside a #[test] function, so clippy's allow-print-in-tests does not reach here.
    #[allow(clippy::print_stdout)]
    fn create() -> Option<Self> {
        sqlx::any::install_default_drivers();
        let raw = std::env::var("VAULTREF_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let admin_url = url::Url::parse(&raw).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "vaultref_faults_{}_{}",
            super::harness::marker(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let created = runtime.block_on(async {
            let mut conn = sqlx::AnyConnection::connect(admin_url.as_str()).await?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .map(drop)
        });
        match created {
            Ok(()) => Some(Self {
                admin_url,
                name,
                runtime,
            }),
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "PostgreSQL at VAULTREF_TEST_POSTGRES_URL is needed under CI: {e}"
                );
                println!("note: skipping a PostgreSQL fault test: {e}");
                None
            }
        }
    }

    /// The database's URL, through `port` instead of the server's when given.
    fn url(&self, port: Option<u16>) -> String {
        let mut url = self.admin_url.clone();
        url.set_path(&format!("/{}", self.name));
        if let Some(port) = port {
            url.set_port(Some(port)).unwrap();
        }
        url.to_string()
    }

    /// The server's address, for a proxy in front of it.
    fn server(&self) -> std::net::SocketAddr {
        let host = self.admin_url.host_str().unwrap();
        let port = self.admin_url.port().unwrap_or(5432);
        (host, port).to_socket_addrs().unwrap().next().unwrap()
    }

    /// Ends every session on the database, as an administrator or a failover would.
    fn terminate_backends(&self) -> u64 {
        self.runtime.block_on(async {
            let mut conn = sqlx::AnyConnection::connect(self.admin_url.as_str())
                .await
                .unwrap();
            sqlx::query(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ))
            .execute(&mut conn)
            .await
            .unwrap()
            .rows_affected()
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        self.runtime.block_on(async {
            if let Ok(mut conn) = sqlx::AnyConnection::connect(self.admin_url.as_str()).await {
                // A failed cleanup only leaves a database behind.
                let _ = sqlx::query(&sql).execute(&mut conn).await;
            }
        });
    }
}

/// A run the database failure stopped: exit 1 with one `error:` line last, no panic.
fn assert_stopped_cleanly(run: &Run) {
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn the_database_cut_off_mid_run_stops_it_cleanly_and_the_next_run_completes() {
    let Some(postgres) = Postgres::create() else {
        return;
    };
    let proxy = Proxy::start(postgres.server());
    let fleet = fleet(500);
    let site = Site::new(
        fleet,
        EmulatorConfig::default(),
        Database::Url(postgres.url(Some(proxy.port()))),
    );
    let mut running = site.start_migrate();
    running.wait_for_entities(200);
    proxy.cut();
    let stopped = running.wait();
    assert_stopped_cleanly(&stopped);

    proxy.restore();
    let resumed = site.migrate();
    resumed.assert_ok();
    let summary_line = String::from_utf8(resumed.stdout.clone()).unwrap();
    assert!(summary_line.contains("failed 0"), "{summary_line}");
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&stopped, &resumed]);
}

#[test]
fn backends_terminated_mid_run_lose_nothing_and_the_next_run_completes() {
    let Some(postgres) = Postgres::create() else {
        return;
    };
    let fleet = fleet(500);
    let site = Site::new(
        fleet,
        EmulatorConfig::default(),
        Database::Url(postgres.url(None)),
    );
    let mut running = site.start_migrate();
    running.wait_for_entities(200);
    assert!(postgres.terminate_backends() >= 1, "vaultref was connected");
    let first = running.wait();
    // The pool may reconnect for the next statement, or the broken one may end the run.
    if first.code != Some(0) {
        assert_stopped_cleanly(&first);
    }
    let second = site.migrate();
    if first.code == Some(0) {
        assert_eq!(second.ok_text(), summary_unchanged(fleet.len()));
    } else {
        second.assert_ok();
    }
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&first, &second]);
}

/// The summary of a run that found everything already migrated.
fn summary_unchanged(count: usize) -> String {
    summary(count)
        .replace(
            &format!("updated {count}, unchanged 0"),
            &format!("updated 0, unchanged {count}"),
        )
        .replace(&format!("{count} secret(s) written"), "0 secret(s) written")
}
