//! Databases for tests through the binary: SQLite always, PostgreSQL and MariaDB/MySQL from
//! `VAULTREF_TEST_POSTGRES_URL` / `VAULTREF_TEST_MYSQL_URL` (defaults on 127.0.0.1). With `CI`
//! set, a server that cannot be reached fails the test. Each database is created with a random
//! name for one test and dropped at the end (other helpers share the servers).

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use sqlx::Connection as _;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// One database of one flavour, for one test.
pub(crate) struct Database {
    pub(crate) label: &'static str,
    /// The sqlx URL the configuration names.
    pub(crate) url: String,
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    /// Runs one statement with text parameters (`?` placeholders, rewritten for PostgreSQL).
    pub(crate) fn execute(&self, sql: &str, binds: &[&str]) {
        self.runtime.block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
            let sql = self.placeholders(sql);
            let mut query = sqlx::query(&sql);
            for bind in binds {
                query = query.bind(*bind);
            }
            query
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{}: {sql}: {e}", self.label));
            conn.close().await.unwrap();
        });
    }

    /// Runs a script of several statements (comments included) as the server's simple query
    /// protocol takes it (PostgreSQL).
    pub(crate) fn execute_script(&self, sql: &str) {
        self.runtime.block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", self.label));
            conn.close().await.unwrap();
        });
    }

    /// Runs several statements through one connection, as fast as the database takes them.
    pub(crate) fn connection(&self) -> Session<'_> {
        let mut conn = self
            .runtime
            .block_on(sqlx::AnyConnection::connect(&self.url))
            .unwrap();
        if self.label == "sqlite" {
            // SQLite has one writer at a time, and a vaultref run holds it across its vault
            // calls. SQLite's own busy handler backs off to 100 ms sleeps and so misses the
            // short gaps between a run's row transactions: `execute` polls instead.
            self.runtime
                .block_on(sqlx::query("PRAGMA busy_timeout = 0").execute(&mut conn))
                .unwrap();
        }
        Session { db: self, conn }
    }

    /// `?` placeholders as the flavour spells them, `JSON(?)` as a JSON parameter.
    fn placeholders(&self, sql: &str) -> String {
        if self.label != "postgres" {
            return sql.replace("JSON(?)", "?");
        }
        let mut out = String::new();
        let mut n = 0;
        let mut rest = sql;
        while let Some(at) = rest.find('?') {
            n += 1;
            let json = rest[..at].ends_with("JSON(");
            let head = if json { &rest[..at - 5] } else { &rest[..at] };
            out.push_str(head);
            if json {
                out.push_str(&format!("CAST(${n} AS jsonb"));
            } else {
                out.push_str(&format!("${n}"));
            }
            rest = &rest[at + 1..];
        }
        out.push_str(rest);
        out
    }

    /// `CREATE TRIGGER`s that make every write of `table` whose new document contains
    /// `marker` fail inside the database, as a constraint or a full disk would.
    pub(crate) fn fail_writes_containing(&self, table: &str, marker: &str) {
        match self.label {
            "sqlite" => {
                for event in ["INSERT", "UPDATE"] {
                    self.execute(
                        &format!(
                            "CREATE TRIGGER fail_{event}_{table} BEFORE {event} ON {table} \
                             WHEN instr(NEW.json, '{marker}') > 0 \
                             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                        ),
                        &[],
                    );
                }
            }
            "postgres" => {
                self.execute(
                    &format!(
                        "CREATE FUNCTION fail_{table}() RETURNS trigger AS $$ BEGIN \
                         IF strpos(NEW.json::text, '{marker}') > 0 THEN \
                         RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ \
                         LANGUAGE plpgsql"
                    ),
                    &[],
                );
                self.execute(
                    &format!(
                        "CREATE TRIGGER fail_{table} BEFORE INSERT OR UPDATE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION fail_{table}()"
                    ),
                    &[],
                );
            }
            _ => {
                for event in ["INSERT", "UPDATE"] {
                    self.execute(
                        &format!(
                            "CREATE TRIGGER fail_{event}_{table} BEFORE {event} ON {table} \
                             FOR EACH ROW BEGIN IF INSTR(NEW.json, '{marker}') > 0 THEN \
                             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; \
                             END IF; END"
                        ),
                        &[],
                    );
                }
            }
        }
    }
}

/// One connection to a [`Database`].
pub(crate) struct Session<'a> {
    db: &'a Database,
    conn: sqlx::AnyConnection,
}

impl Session<'_> {
    /// Runs one statement; returns how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, binds: &[&str]) -> u64 {
        let sql = self.db.placeholders(sql);
        let label = self.db.label;
        let conn = &mut self.conn;
        self.db.runtime.block_on(async {
            // As long as a test may run, every 100 us: the writer gets in at the first gap.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                match query.execute(&mut *conn).await {
                    Ok(done) => return done.rows_affected(),
                    Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_micros(100)).await;
                    }
                    Err(e) => panic!("{label}: {e}"),
                }
            }
        })
    }
}

/// SQLite's "database is locked" (`SQLITE_BUSY`, extended codes included).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.server.take() {
            let sql = if admin_url.starts_with("postgres") {
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            } else {
                format!("DROP DATABASE IF EXISTS {name}")
            };
            // Already unwinding or finishing: a failed cleanup only leaves a database behind.
            let _ = self.runtime.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&admin_url).await?;
                sqlx::query(&sql).execute(&mut conn).await
            });
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn server(label: &'static str, var: &str, default: &str) -> Option<Database> {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let runtime = runtime();
    let mut conn = match runtime.block_on(sqlx::AnyConnection::connect(&admin_url)) {
        Ok(conn) => conn,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{label} is unreachable ({e}); set {var} (CI requires it)"
            );
            #[allow(clippy::print_stderr)]
            {
                eprintln!("note: skipping {label}: cannot connect ({e}); set {var}");
            }
            return None;
        }
    };
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("vaultref_test_{suffix}");
    runtime
        .block_on(sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn))
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    Some(Database {
        label,
        url: url.to_string(),
        server: Some((admin_url, name)),
        _dir: None,
        runtime,
    })
}

/// A fresh SQLite database, and one of each server flavour that can be reached.
pub(crate) fn databases() -> Vec<Database> {
    let mut all = vec![sqlite()];
    all.extend(server(
        "postgres",
        "VAULTREF_TEST_POSTGRES_URL",
        DEFAULT_POSTGRES_URL,
    ));
    all.extend(server(
        "mysql",
        "VAULTREF_TEST_MYSQL_URL",
        DEFAULT_MYSQL_URL,
    ));
    all
}

/// A fresh SQLite database.
pub(crate) fn sqlite() -> Database {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("vaultref.db");
    Database {
        label: "sqlite",
        url: format!("sqlite://{}?mode=rwc", path.display()),
        server: None,
        _dir: Some(dir),
        runtime: runtime(),
    }
}
