//! The database engines the tests run on, and what each needs: the variables that point at a
//! server or an image, the official image to fall back on, the port and the admin account.

use std::fmt;

/// A database engine vaultref's store supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// SQLite, in a temporary file: always available.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MariaDB or MySQL.
    Mysql,
}

impl Engine {
    /// Every engine, SQLite first (it needs nothing).
    pub const ALL: [Self; 3] = [Self::Sqlite, Self::Postgres, Self::Mysql];

    /// The engines that need a server: a URL or a container.
    pub const SERVERS: [Self; 2] = [Self::Postgres, Self::Mysql];

    /// The short name tests print beside a failure: `sqlite`, `postgres`, `mysql`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
        }
    }

    /// The variable holding the URL of a server to use (an admin URL: tests create and drop
    /// their own databases on it). `None` for SQLite.
    #[must_use]
    pub fn url_var(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("VAULTREF_TEST_POSTGRES_URL"),
            Self::Mysql => Some("VAULTREF_TEST_MYSQL_URL"),
        }
    }

    /// The variable naming the image (`NAME[:TAG]`) to start when no URL is set.
    #[must_use]
    pub fn image_var(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("VAULTREF_TEST_POSTGRES_IMAGE"),
            Self::Mysql => Some("VAULTREF_TEST_MYSQL_IMAGE"),
        }
    }

    /// The official image used when the image variable is not set: what a machine with a
    /// registry pulls, so it needs no set-up.
    #[must_use]
    pub fn default_image(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("postgres:17"),
            Self::Mysql => Some("mariadb:11.4"),
        }
    }

    /// A URL of the kind the URL variable takes, for messages.
    pub(crate) fn example_url(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Self::Mysql => "mysql://root@127.0.0.1:3306/test",
        }
    }

    /// The port the server listens on inside its container.
    pub(crate) fn container_port(self) -> u16 {
        match self {
            Self::Sqlite => 0,
            Self::Postgres => 5432,
            Self::Mysql => 3306,
        }
    }

    /// What the official images need to start without a password (the images
    /// `cargo xtask images` builds ignore them: they trust every connection already).
    pub(crate) fn container_env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Sqlite => &[],
            Self::Postgres => &[("POSTGRES_HOST_AUTH_METHOD", "trust")],
            Self::Mysql => &[("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")],
        }
    }

    /// The admin URL of a container's server at `host:port`.
    pub(crate) fn container_url(self, host: &str, port: u16) -> String {
        match self {
            Self::Sqlite => String::new(),
            Self::Postgres => format!("postgres://postgres@{host}:{port}/postgres"),
            Self::Mysql => format!("mysql://root@{host}:{port}/mysql"),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
