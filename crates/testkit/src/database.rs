//! A database made for one test: a randomly named database on the engine's server (other
//! tests and other people share it), or a SQLite file in a temporary folder.

use std::fmt;

use sqlx::Connection as _;

use crate::{Engine, Error, Result, server};

/// A fresh, empty database for one test. [`TestDatabase::drop_database`] removes it; a test
/// that panics first still removes it when the value is dropped.
pub struct TestDatabase {
    engine: Engine,
    url: String,
    /// The server's admin URL and the database's name, until the database is dropped.
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Makes a fresh database on `engine`: a SQLite file, or a new database on the server
    /// (the URL variable's, else a container's).
    ///
    /// # Errors
    /// When the server cannot be had (the message says what to set) or the database cannot be
    /// created.
    pub async fn create(engine: Engine) -> Result<Self> {
        sqlx::any::install_default_drivers();
        if engine == Engine::Sqlite {
            let dir = tempfile::tempdir().map_err(|e| Error::TempDir(e.to_string()))?;
            return Ok(Self {
                engine,
                // `mode=rwc`: the file does not exist yet; any client may create it.
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("vaultref.db").display()
                ),
                server: None,
                _dir: Some(dir),
            });
        }
        let admin_url = server::admin_url(engine).await?;
        let name = format!("vaultref_test_{}", random_suffix());
        let failed = |e: sqlx::Error| Error::CreateDatabase {
            engine,
            name: name.clone(),
            reason: e.to_string(),
        };
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .map_err(failed)?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .map_err(failed)?;
        let _ = conn.close().await;
        Ok(Self {
            engine,
            url: with_database(&admin_url, &name),
            server: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The engine's short name, for messages: `sqlite`, `postgres`, `mysql`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        self.engine.label()
    }

    /// The database's sqlx URL (with the server's credentials: do not print it).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database (SQLite: removes its folder). Close every connection to it first;
    /// PostgreSQL's are closed by force.
    pub async fn drop_database(mut self) {
        if let Some((admin_url, name)) = self.server.take() {
            drop_server_database(&admin_url, &name).await;
        }
    }
}

impl Drop for TestDatabase {
    /// A test that panicked before `drop_database` still removes its database.
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.server.take() {
            // Drop runs inside the test's runtime, which cannot be blocked on: a thread of
            // its own runs the cleanup.
            let cleanup = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(drop_server_database(&admin_url, &name));
                }
            });
            // Already unwinding or finishing: a failed cleanup only leaves a database behind.
            let _ = cleanup.join();
        }
    }
}

impl fmt::Debug for TestDatabase {
    /// Not the URL: it may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("engine", &self.engine)
            .field("name", &self.server.as_ref().map(|(_, name)| name))
            .finish_non_exhaustive()
    }
}

/// Best effort: a database left behind is only clutter on a test server.
async fn drop_server_database(admin_url: &str, name: &str) {
    let sql = if admin_url.starts_with("postgres") {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    } else {
        format!("DROP DATABASE IF EXISTS {name}")
    };
    if let Ok(mut conn) = sqlx::AnyConnection::connect(admin_url).await {
        let _ = sqlx::query(&sql).execute(&mut conn).await;
        let _ = conn.close().await;
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `url` with its path (the database name) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        // The server accepted this URL, so it parses; keep it as it is otherwise.
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_replaces_the_path_and_keeps_the_rest() {
        assert_eq!(
            with_database(
                "mysql://root:pw@127.0.0.1:3306/test?ssl-mode=disabled",
                "t_1"
            ),
            "mysql://root:pw@127.0.0.1:3306/t_1?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "t_2"),
            "postgres://postgres@127.0.0.1:5432/t_2"
        );
    }
}
