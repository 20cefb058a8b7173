//! Database URLs: the `database` block of the configuration to a sqlx URL, and redaction.

mod jdbc;

use md5::Digest as _;
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vaultref_core::DatabaseConfig;

use crate::error::{Error, Result};

/// The database flavour a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavour {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    MySql,
    /// SQLite (`sqlite:`).
    Sqlite,
}

impl Flavour {
    /// The flavour of a sqlx URL.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] for another scheme.
    pub fn of_url(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(Error::InvalidUrl {
                url: redact_url(url),
                problem: format!("the scheme `{scheme}` is not postgres, mysql or sqlite"),
            }),
        }
    }
}

/// `url` without its user info and query (which may hold a password): for messages and
/// logs. The one redaction of the workspace, vaultref-transport's.
pub use vaultref_transport::redact_url;

/// The longest database identity written as it is: well within Key Vault's 512 characters for
/// a tag value (docs/facts-checked.md, 4.2), and readable in the portal.
const MAX_TAG_VALUE_LEN: usize = 256;

/// The identity of the database a sqlx URL names, as vaultref's ownership tag spells it: the
/// flavour, the host (lower-cased), the port (the default one filled in) and the database
/// name for servers; the absolute path of a SQLite file. No user, no password, no parameters:
/// the same database reached as another user is the same deployment. Identities over 256
/// characters are given as `md5:` and their digest.
#[must_use]
pub fn database_identity(url: &str) -> String {
    let identity = match Flavour::of_url(url) {
        Ok(Flavour::Sqlite) => sqlite_identity(url),
        Ok(flavour) => match Url::parse(url) {
            Ok(parsed) => {
                let (scheme, default_port) = match flavour {
                    Flavour::Postgres => ("postgres", 5432),
                    _ => ("mysql", 3306),
                };
                // PostgreSQL: the schema is part of where the tables are (two deployments in
                // one database, each in its own schema, are two deployments).
                let schema = parsed
                    .query_pairs()
                    .filter(|(k, _)| k == "options")
                    .find_map(|(_, v)| {
                        v.split_once("search_path=").map(|(_, path)| {
                            path.split_whitespace().next().unwrap_or("").to_owned()
                        })
                    })
                    .map(|path| format!("?search_path={path}"))
                    .unwrap_or_default();
                format!(
                    "{scheme}://{}:{}{}{schema}",
                    parsed.host_str().unwrap_or_default().to_ascii_lowercase(),
                    parsed.port().unwrap_or(default_port),
                    parsed.path()
                )
            }
            Err(_) => redact_url(url),
        },
        Err(_) => redact_url(url),
    };
    if identity.len() <= MAX_TAG_VALUE_LEN {
        return identity;
    }
    let digest = md5::Md5::digest(identity.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("md5:{hex}")
}

fn sqlite_identity(url: &str) -> String {
    let rest = url
        .split_once(':')
        .map_or("", |(_, rest)| rest)
        .trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return "sqlite::memory:".to_owned();
    }
    let path = std::path::Path::new(path);
    // The file may not exist yet (it is created on connect): its directory made canonical,
    // so that two spellings of one file are one deployment before and after it exists.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let canonical = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(file)) => {
            std::fs::canonicalize(dir).map_or_else(|_| absolute.clone(), |dir| dir.join(file))
        }
        _ => absolute,
    };
    format!("sqlite:{}", canonical.display())
}

/// The sqlx URL the configuration's `database` block names. OpenMetadata's JDBC form
/// (`jdbc:mysql://...` or `jdbc:postgresql://...` with `user` and `password`) becomes
/// `mysql://user:password@host:port/db`. Its driver parameters are mapped to sqlx's: the TLS
/// ones (MySQL `sslMode`, `useSSL`, `requireSSL`, `verifyServerCertificate`, a PEM CA file as
/// `sslca`; PostgreSQL `sslmode`, `ssl`, `sslrootcert`, `sslcert`, `sslkey`) to the same TLS
/// mode and files, those that change nothing for vaultref (`allowPublicKeyRetrieval`,
/// `serverTimezone`, ...) accepted; the TLS mode is always written out.
///
/// # Errors
/// [`Error::InvalidUrl`] for a JDBC URL of another database, one that does not parse, or a
/// parameter that cannot be honoured (named in the message; a TLS parameter is never
/// dropped).
pub fn database_url(config: &DatabaseConfig) -> Result<SecretString> {
    match config {
        DatabaseConfig::Url(url) => Ok(url.clone()),
        DatabaseConfig::Jdbc {
            url,
            user,
            password,
        } => jdbc_to_sqlx(url, user, password),
        _ => Err(Error::InvalidUrl {
            url: String::from("(unknown form)"),
            problem: "this form of the database block is not supported".to_owned(),
        }),
    }
}

fn jdbc_to_sqlx(jdbc: &str, user: &str, password: &SecretString) -> Result<SecretString> {
    let invalid = |problem: &str| Error::InvalidUrl {
        url: redact_url(jdbc),
        problem: problem.to_owned(),
    };
    let rest = jdbc
        .strip_prefix("jdbc:")
        .ok_or_else(|| invalid("a JDBC URL starts with `jdbc:`"))?;
    let mut parsed = Url::parse(rest).map_err(|e| invalid(&format!("it does not parse: {e}")))?;
    let (scheme, driver) = match parsed.scheme() {
        "mysql" | "mariadb" => ("mysql", jdbc::Driver::MySql),
        "postgresql" | "postgres" => ("postgres", jdbc::Driver::Postgres),
        other => {
            return Err(invalid(&format!(
                "JDBC URLs of `{other}` are not supported, only mysql and postgresql"
            )));
        }
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let parameters = jdbc::sqlx_parameters(driver, &pairs).map_err(|problem| invalid(&problem))?;
    // `Url` refuses to change a special scheme into another, so rebuild from the parts.
    let host = parsed
        .host_str()
        .ok_or_else(|| invalid("it has no host"))?
        .to_owned();
    let mut out = Url::parse(&format!("{scheme}://{host}"))
        .map_err(|e| invalid(&format!("it does not parse: {e}")))?;
    out.set_port(parsed.port())
        .map_err(|()| invalid("its port is not valid"))?;
    out.set_path(parsed.path());
    if !user.is_empty() {
        out.set_username(user)
            .map_err(|()| invalid("the user cannot be put in a URL"))?;
    }
    if !password.expose_secret().is_empty() {
        out.set_password(Some(password.expose_secret()))
            .map_err(|()| invalid("the password cannot be put in a URL"))?;
    }
    for (key, value) in parameters {
        out.query_pairs_mut().append_pair(key, &value);
    }
    parsed.set_query(None);
    Ok(SecretString::from(out.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jdbc(url: &str, user: &str, password: &str) -> String {
        let config = DatabaseConfig::Jdbc {
            url: url.to_owned(),
            user: user.to_owned(),
            password: SecretString::from(password),
        };
        database_url(&config).unwrap().expose_secret().to_owned()
    }

    #[test]
    fn openmetadata_jdbc_urls_become_sqlx_urls() {
        assert_eq!(
            jdbc(
                "jdbc:mysql://mysql:3306/openmetadata_db?allowPublicKeyRetrieval=true&useSSL=false&serverTimezone=UTC",
                "openmetadata_user",
                "p@ss:w/rd"
            ),
            "mysql://openmetadata_user:p%40ss%3Aw%2Frd@mysql:3306/openmetadata_db?ssl-mode=disabled"
        );
        assert_eq!(
            jdbc(
                "jdbc:postgresql://pg:5432/openmetadata_db?sslmode=require",
                "om",
                "pw"
            ),
            "postgres://om:pw@pg:5432/openmetadata_db?sslmode=require"
        );
    }

    #[test]
    fn other_jdbc_urls_are_refused_without_the_password() {
        let config = DatabaseConfig::Jdbc {
            url: "jdbc:oracle:thin:@host:1521:db".to_owned(),
            user: "u".to_owned(),
            password: SecretString::from("hunter2"),
        };
        let message = database_url(&config).unwrap_err().to_string();
        assert!(message.contains("not supported"), "{message}");
        assert!(!message.contains("hunter2"));
        let config = DatabaseConfig::Jdbc {
            url: "jdbc:sqlserver://u:hunter2@host:1433/db".to_owned(),
            user: "u".to_owned(),
            password: SecretString::from("pw"),
        };
        let message = database_url(&config).unwrap_err().to_string();
        assert!(message.contains("not supported"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn redaction_hides_passwords_and_queries() {
        assert_eq!(
            redact_url("postgres://u:hunter2@db:5432/x?password=hunter2"),
            "postgres://db:5432/x"
        );
        assert_eq!(
            redact_url("jdbc:mysql://u:hunter2@db:3306/x?password=hunter2"),
            "jdbc:mysql://db:3306/x"
        );
        assert_eq!(redact_url("not a url hunter2"), "[REDACTED]");
        assert_eq!(
            database_identity("postgres://u:hunter2@DB.example/om?sslmode=require"),
            "postgres://db.example:5432/om"
        );
        // A schema is part of where the tables are; the rest of the options is not.
        assert_eq!(
            database_identity(
                "postgres://db/om?options=-c%20search_path%3Dtenant_a&sslmode=require"
            ),
            "postgres://db:5432/om?search_path=tenant_a"
        );
        assert_eq!(
            database_identity("mysql://root@127.0.0.1:3307/test"),
            "mysql://127.0.0.1:3307/test"
        );
        assert_eq!(database_identity("sqlite::memory:"), "sqlite::memory:");
        let dir = std::env::temp_dir();
        let file = dir.join("vaultref-identity.db");
        assert_eq!(
            database_identity(&format!("sqlite://{}?mode=rwc", file.display())),
            format!(
                "sqlite:{}",
                std::fs::canonicalize(&dir)
                    .unwrap()
                    .join("vaultref-identity.db")
                    .display()
            )
        );
        let long = database_identity(&format!("postgres://db/{}", "x".repeat(300)));
        assert!(long.starts_with("md5:") && long.len() == 36, "{long}");
        assert_eq!(Flavour::of_url("sqlite://x.db").unwrap(), Flavour::Sqlite);
        assert!(Flavour::of_url("oracle://x").is_err());
    }
}
