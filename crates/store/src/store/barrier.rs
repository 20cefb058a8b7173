//! The writer barrier: waiting until every transaction that is writing to an entity table has
//! ended, so that what it wrote can be read.
//!
//! vaultref writes a row, then the vault, then commits ([`crate::write`]): a reference another
//! vaultref is writing is invisible until that commit, while its secret is already in the
//! vault. Whoever deletes secrets no row references reads every row again afterwards, past
//! this barrier, and recovers what a row committed meanwhile references.

use sqlx::{Connection as _, Executor as _};

use super::{Store, entity_types_with_tables, table_name};
use crate::error::Error;
use crate::url::Flavour;

/// Why [`Store::wait_for_writers`] failed.
pub(crate) enum Barrier {
    /// The layout could not be read.
    Store(Error),
    /// The lock could not be taken.
    Lock(sqlx::Error),
}

fn failed(source: sqlx::Error) -> Barrier {
    Barrier::Lock(source)
}

/// How long the barrier waits for other writers before it gives up (seconds). A vaultref
/// write holds its row for a few vault round trips; a writer that keeps a transaction open
/// longer than this is not one the barrier can wait for.
const WAIT_SECONDS: u32 = 60;

impl Store {
    /// Returns once every transaction that was writing to an entity table when it was called
    /// has committed or rolled back. It takes a lock that conflicts with writers and releases
    /// it at once: PostgreSQL `LOCK TABLE ... IN SHARE MODE`, MySQL and MariaDB `LOCK TABLES
    /// ... READ` (which waits for the metadata locks open write transactions hold), SQLite
    /// `BEGIN IMMEDIATE` (the database's write lock). Readers are never blocked; writers wait
    /// only as long as the lock is queued behind the transactions before it.
    ///
    /// # Errors
    /// The driver's error when the lock cannot be taken (after 60 s of waiting, or a failed
    /// connection); [`Error`] when the layout cannot be read.
    pub(crate) async fn wait_for_writers(&self) -> Result<(), Barrier> {
        let layout = self.layout().await.map_err(Barrier::Store)?;
        let mut tables: Vec<&'static str> = entity_types_with_tables()
            .into_iter()
            .filter(|t| layout.table(*t).is_some())
            .map(table_name)
            .collect();
        tables.sort_unstable();
        tables.dedup();
        if tables.is_empty() {
            return Ok(());
        }
        let mut connection = self.pool.acquire().await.map_err(failed)?;
        // The session settings below must not reach the pool's other users.
        connection.close_on_drop();
        match self.flavour {
            Flavour::Postgres => {
                let mut transaction = connection.begin().await.map_err(failed)?;
                transaction
                    .execute(format!("SET LOCAL lock_timeout = '{WAIT_SECONDS}s'").as_str())
                    .await
                    .map_err(failed)?;
                transaction
                    .execute(format!("LOCK TABLE {} IN SHARE MODE", tables.join(", ")).as_str())
                    .await
                    .map_err(failed)?;
                transaction.commit().await.map_err(failed)?;
            }
            Flavour::MySql => {
                connection
                    .execute(format!("SET SESSION lock_wait_timeout = {WAIT_SECONDS}").as_str())
                    .await
                    .map_err(failed)?;
                let locks: Vec<String> = tables.iter().map(|t| format!("{t} READ")).collect();
                connection
                    .execute(format!("LOCK TABLES {}", locks.join(", ")).as_str())
                    .await
                    .map_err(failed)?;
                connection.execute("UNLOCK TABLES").await.map_err(failed)?;
            }
            Flavour::Sqlite => {
                connection
                    .execute(format!("PRAGMA busy_timeout = {}", WAIT_SECONDS * 1000).as_str())
                    .await
                    .map_err(failed)?;
                connection
                    .execute("BEGIN IMMEDIATE")
                    .await
                    .map_err(failed)?;
                connection.execute("COMMIT").await.map_err(failed)?;
            }
        }
        Ok(())
    }
}
