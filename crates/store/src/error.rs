//! The one error type of vaultref-store.

/// `Result` with vaultref-store's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in vaultref-store.
///
/// Messages say what to fix. They never contain a secret value, a key, a token or a database
/// password: database URLs appear redacted (scheme, host, port and database only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL is not one vaultref can use.
    #[error(
        "the database URL {url} is not usable: {problem} (set database.url to a postgres://, \
         mysql:// or sqlite:// URL, or database.url/user/password to OpenMetadata's jdbc: form)"
    )]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The configuration has no `database` block.
    #[error("the configuration has no database block: add `database: {{url: ...}}` to it")]
    NoDatabase,

    /// The database did not accept a connection.
    #[error(
        "cannot connect to the database at {url}: {source} (check that the server runs, \
         the host and port, the user, the password and the database name)"
    )]
    Connect {
        /// The URL, redacted.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },

    /// The store's migrations failed.
    #[error(
        "cannot create the entity tables: {source} (the database user needs the right to \
         create tables; on an OpenMetadata database the tables exist already and need no \
         migration)"
    )]
    Migrate {
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed.
    #[error(
        "cannot {action} in table {table}: {source} (run the store migrations if the table is \
         missing, and check the database user's rights)"
    )]
    Query {
        /// What was attempted, e.g. `list entities`.
        action: &'static str,
        /// The table.
        table: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },

    /// Secrets were deleted, and waiting for other writers, to read again what they committed
    /// meanwhile, failed: a row another writer wrote at that moment may reference one of them.
    #[error(
        "deleted secret(s) {deleted} from the vault, then could not wait for the other writers \
         of the entity tables to read again what they wrote meanwhile ({source}): if a row \
         written at that moment references one of them, run `vaultref secret recover NAME` for \
         it"
    )]
    Barrier {
        /// The names deleted, comma-separated.
        deleted: String,
        /// The driver's error.
        source: sqlx::Error,
    },

    /// A row's `json` column does not hold a JSON object.
    #[error("row {id} of table {table} does not hold a JSON object: {problem} (fix or remove it)")]
    InvalidDocument {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: String,
        /// What is wrong (a parser message: positions, never content).
        problem: String,
    },

    /// An entity to store has no usable `name`.
    #[error("a {entity_type} entity has no `name` string: every entity needs one")]
    MissingName {
        /// OpenMetadata's entity type.
        entity_type: String,
    },

    /// An entity's `id` is not a string of at most 36 characters.
    #[error(
        "the {entity_type} entity `{name}` has an invalid `id`: it must be a string of at most \
         36 characters (a UUID), or absent so that one is generated"
    )]
    InvalidId {
        /// OpenMetadata's entity type.
        entity_type: String,
        /// The entity's name.
        name: String,
    },

    /// An entity in a file is not a JSON object.
    #[error("a {entity_type} entity is not a JSON object")]
    NotAnObject {
        /// OpenMetadata's entity type.
        entity_type: String,
    },

    /// The secrets-manager core refused an entity or the vault failed.
    #[error(transparent)]
    Core(#[from] vaultref_core::Error),

    /// A `fernet:` value opens with none of the keys.
    #[error(
        "a fernet: value of the {entity_type} entity `{name}` opens with none of the keys: add \
         the key it was encrypted with to the end of the key list"
    )]
    UndecryptableValue {
        /// OpenMetadata's entity type.
        entity_type: String,
        /// The entity's name.
        name: String,
    },

    /// Another writer kept changing the row while vaultref wrote it.
    #[error(
        "{table} row `{name}` changed {attempts} times while vaultref was writing it (another \
         writer is editing it): nothing was written for it; run the command again"
    )]
    Conflict {
        /// The table.
        table: &'static str,
        /// The entity's (fully qualified) name.
        name: String,
        /// How many times it was read again and re-planned.
        attempts: usize,
    },

    /// A new row breaks a unique key other than its identity.
    #[error(
        "{table} has another row that takes a unique value of `{name}` (its id, a user's email, \
         or a name the database compares without case or accents): nothing was written for it; \
         change the entity or remove the other row"
    )]
    Duplicate {
        /// The table.
        table: &'static str,
        /// The entity's (fully qualified) name.
        name: String,
    },

    /// A row of OpenMetadata's tables was to be deleted.
    #[error(
        "{entity} is in OpenMetadata's tables: delete it through OpenMetadata (its hard delete \
         also removes the entity's relationships and, with a secrets manager configured, its \
         secrets); vaultref deletes rows only in its own tables"
    )]
    OpenMetadataRow {
        /// The entity (type and name).
        entity: String,
    },

    /// The row was deleted while vaultref wrote it.
    #[error("row {id} of table {table} was deleted meanwhile: nothing was written for it")]
    RowGone {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: String,
    },

    /// An entity failed after its secrets were written; they were put back (or one could not
    /// be).
    #[error("{cause}; {put_back}")]
    PutBack {
        /// Why the entity failed.
        cause: Box<Error>,
        /// What putting the secrets back did.
        put_back: Box<vaultref_core::PutBack>,
    },

    /// The database has no table for an entity type (an OpenMetadata release without such
    /// entities).
    #[error(
        "the database ({layout}) has no table {table}: this OpenMetadata release has no such \
         entities (upgrade OpenMetadata, or leave them out)"
    )]
    MissingTable {
        /// The table.
        table: &'static str,
        /// The database's layout ([`Layout`](crate::Layout)'s line).
        layout: String,
    },

    /// A name OpenMetadata's releases hash differently, so its row cannot be told.
    #[error(
        "the {entity_type} `{name}` has a double quote in its name: OpenMetadata's releases \
         compute the nameHash of such names differently, so vaultref cannot tell its row in \
         OpenMetadata's tables; rename it without `\"`"
    )]
    UnsupportedName {
        /// OpenMetadata's entity type.
        entity_type: String,
        /// The entity's (fully qualified) name.
        name: String,
    },

    /// An imported document sets a secret field the stored OpenMetadata document lacks.
    #[error(
        "the stored {entity_type} `{name}` has no field {path}, which the imported document \
         sets: on OpenMetadata's tables vaultref changes only the secret fields of a stored \
         entity; change its connection through OpenMetadata first, then import again"
    )]
    FieldNotStored {
        /// OpenMetadata's entity type.
        entity_type: String,
        /// The entity's (fully qualified) name.
        name: String,
        /// The field's dotted path.
        path: String,
    },

    /// No random bytes for a new entity id.
    #[error("the operating system gave no random bytes for a new entity id: {0}")]
    Random(String),
}
