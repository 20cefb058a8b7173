//! The one error type of vaultref-core.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use vaultref_keyvault::SecretName;

/// `Result` with vaultref-core's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in vaultref-core.
///
/// Messages say what to fix. No message ever contains a secret value, a key or a token:
/// entities and fields are named by their place, never by their content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The configuration is not valid YAML (after `${VAR}` substitution).
    #[error(
        "the configuration is not valid YAML at line {line}, column {column}: {message} \
         (check the YAML syntax and the values of the ${{VAR}} references there)"
    )]
    ConfigSyntax {
        /// 1-based line in the substituted text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },

    /// A configuration value is missing or invalid.
    #[error("{key} {problem}")]
    Config {
        /// Where in the file, e.g. `secretsManagerConfiguration.parameters.vaultName`.
        key: String,
        /// What is wrong and what to set, e.g. `is empty: set OM_SM_VAULT_NAME or parameters.vaultUrl`.
        problem: String,
    },

    /// A name is not a valid Key Vault secret name. The name itself is not shown (users
    /// paste secrets where names belong): the problem describes it.
    #[error(
        "invalid Key Vault secret name: {problem}; a secret name must be 1 to 127 characters \
         of 0-9, a-z, A-Z and '-'"
    )]
    InvalidSecretName {
        /// What is wrong: the length, the first character not allowed and its position.
        problem: String,
    },

    /// A computed secret name is longer than Key Vault accepts.
    #[error(
        "the secret name for {field} is {length} characters long, over Key Vault's limit of 127 \
         (`{name}`): give the entity a shorter name or prefix, or set \
         secretsManagerConfiguration.parameters.longSecretNames to shorten"
    )]
    SecretNameTooLong {
        /// The field that would have been stored.
        field: FieldRef,
        /// The computed name.
        name: String,
        /// Its length in characters.
        length: usize,
    },

    /// Two secret fields map to the same secret name.
    #[error(
        "{first} and {second} map to the same secret name `{name}`: rename one of the \
         entities (the name loses characters other than letters, digits and '-')"
    )]
    SecretNameCollision {
        /// The computed name both fields share.
        name: SecretName,
        /// The field that claimed the name first.
        first: Box<FieldRef>,
        /// The field that collides with it.
        second: Box<FieldRef>,
    },

    /// A secret-field catalog (the built-in one or a custom one) is malformed.
    #[error("secret-field catalog {source_name}: {problem}")]
    Catalog {
        /// Which catalog: `built-in` or the file.
        source_name: String,
        /// What is wrong.
        problem: String,
    },

    /// A custom catalog file could not be read.
    #[error("cannot read the secret-field catalog {path}: {source}")]
    CatalogRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The catalog knows no connection of this type: vaultref cannot tell its secrets.
    #[error(
        "{entity}: the secret-field catalog knows no {category} connection of type \
         `{connection_type}` at {path}, so vaultref cannot tell which fields are secret: \
         check the type's spelling, or describe it (OpenMetadata's schemas are under \
         entity/services/connections/{category}/) in a custom catalog \
         (`catalogFile` in the configuration or --catalog FILE; docs/compatibility.md)"
    )]
    UnknownConnectionType {
        /// The entity.
        entity: EntityRef,
        /// The service categories looked in, e.g. `database`.
        category: String,
        /// The service or connection type, e.g. `Mysql`.
        connection_type: String,
        /// Where the connection is, e.g. `connection.config`.
        path: String,
    },

    /// A field looks secret by its name, but the catalog does not classify it.
    #[error(
        "{0} looks like a secret (by its name) but the secret-field catalog does not classify \
         it, so vaultref will not store it in plaintext: remove it, or classify it in a custom \
         catalog (`catalogFile` or --catalog FILE) as `secrets` (stored like OpenMetadata's \
         secrets) or `plain`"
    )]
    UnclassifiedSecret(FieldRef),

    /// An entity document does not have the shape its type requires.
    #[error("{entity}: {problem}")]
    Entity {
        /// Which entity.
        entity: EntityRef,
        /// What is wrong and what to fix.
        problem: String,
    },

    /// An unknown entity type was given.
    #[error(
        "unknown entity type `{0}`: use one of databaseService, dashboardService, \
         messagingService, pipelineService, mlmodelService, storageService, metadataService, \
         searchService, apiService, driveService, securityService, llmService, mcpService, \
         user, bot, ingestionPipeline, workflow"
    )]
    UnknownEntityType(String),

    /// A secret field holds something other than a string.
    #[error("{0} is a secret field but does not hold a string: store the secret as a JSON string")]
    SecretNotAString(FieldRef),

    /// A secret field holds OpenMetadata's password mask instead of a secret.
    #[error(
        "{0} holds OpenMetadata's password mask `*********`, not a secret: export entities \
         with their secrets (as stored, or revealed) or set the real value"
    )]
    MaskedSecret(FieldRef),

    /// A `fernet:` value could not be decrypted with any configured key.
    #[error(
        "{0} holds a fernet: token that none of the keys in fernetConfiguration.fernetKey \
         decrypts: did the Fernet key change? List the new key first and the old one after it, \
         comma-separated"
    )]
    FernetDecrypt(FieldRef),

    /// The Fernet key ring could not encrypt (it never fails in practice; kept for the envelope).
    #[error("{0} could not be Fernet-encrypted: {1}")]
    FernetEncrypt(FieldRef, String),

    /// The Key Vault client could not be set up from the configuration (credential, CA file,
    /// vault URL).
    #[error("cannot set up the Key Vault client for {vault}: {detail}")]
    VaultClient {
        /// The vault URL, redacted.
        vault: String,
        /// What is wrong and what to fix (from the credential or client).
        detail: String,
    },

    /// A `secret:` reference could not be resolved.
    #[error("cannot resolve the reference `secret:{reference}`{at}: {source}", at = location(path.as_deref(), *others))]
    Unresolved {
        /// The secret name the reference points to; `(invalid name)` when it is not a valid
        /// name (the source describes it; the text is not shown).
        reference: String,
        /// Where the reference is in the document (a JSON pointer), when resolving a document.
        path: Option<String>,
        /// How many other references of the same document failed too.
        others: usize,
        /// Why (shared by every caller that waited for the same read).
        source: Arc<Error>,
    },

    /// The secret backend failed.
    #[error("secret `{name}`: {kind}: {detail}")]
    Backend {
        /// What kind of failure it is.
        kind: BackendErrorKind,
        /// The secret concerned.
        name: SecretName,
        /// The backend's description (never the secret value).
        detail: String,
    },

    /// A document is not JSON vaultref can read.
    #[error("the document is not valid JSON: {problem}")]
    InvalidJson {
        /// The parser's description (positions, never content).
        problem: String,
    },

    /// A secret carries another deployment's ownership tag: vaultref neither overwrites nor
    /// deletes it.
    #[error(
        "secret `{name}` belongs to another deployment (its {tag} tag names `{owner}`, this \
         deployment is `{deployment}`): two deployments share the vault and the secret names; \
         give one of them another clusterName or secretsManagerConfiguration.prefix"
    )]
    ForeignSecret {
        /// The secret.
        name: SecretName,
        /// The ownership tag's name.
        tag: &'static str,
        /// The deployment its tag names.
        owner: String,
        /// This deployment.
        deployment: String,
    },

    /// A secret exists that this deployment did not write and that no row of its database
    /// references: it may be another deployment's, so vaultref does not overwrite it.
    #[error(
        "secret `{name}` already exists in the vault, without this deployment's {tag} tag, and \
         no row of this database references it: it may belong to another deployment (or to \
         OpenMetadata) sharing the vault; if it is a stale copy, delete it (`vaultref secret \
         delete {name}`) and run again, else give this deployment another clusterName or prefix"
    )]
    UnownedSecret {
        /// The secret.
        name: SecretName,
        /// The ownership tag's name.
        tag: &'static str,
    },

    /// An operation failed after writing secrets; they were put back (or one could not be).
    #[error("{cause}; {put_back}")]
    PutBack {
        /// Why the operation failed.
        cause: Box<Error>,
        /// What putting the secrets back did.
        put_back: Box<PutBack>,
    },
}

impl Error {
    /// The backend failure kind, when this error comes from the secret backend.
    #[must_use]
    pub fn backend_kind(&self) -> Option<BackendErrorKind> {
        match self {
            Self::Backend { kind, .. } => Some(*kind),
            Self::Unresolved { source, .. } => source.backend_kind(),
            Self::PutBack { cause, .. } => cause.backend_kind(),
            _ => None,
        }
    }

    /// Whether this error means the secret does not exist in the vault.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.backend_kind() == Some(BackendErrorKind::NotFound)
    }

    /// This error, with what putting back the secrets written before it did (unchanged when
    /// nothing was written).
    #[must_use]
    pub fn put_back(self, put_back: PutBack) -> Self {
        if put_back.is_empty() {
            return self;
        }
        Self::PutBack {
            cause: Box::new(self),
            put_back: Box::new(put_back),
        }
    }

    pub(crate) fn config(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// How a secret backend failed; what the store path does depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The secret does not exist (Key Vault 404 `SecretNotFound`).
    NotFound,
    /// The secret was deleted but is still recoverable, so its name is taken
    /// (Key Vault 409 `ObjectIsDeletedButRecoverable`).
    DeletedButRecoverable,
    /// The identity may not do this (403): grant it a Key Vault role or access policy.
    Forbidden,
    /// No usable token: the credential failed, or the vault rejected its token (401).
    Unauthenticated,
    /// The backend asked to slow down (429) until the client's retries gave up.
    Throttled,
    /// The vault could not be reached (DNS, connection, TLS, timeout).
    Unreachable,
    /// Anything else (5xx, unexpected answers, bad parameters).
    Other,
}

impl BackendErrorKind {
    /// Whether the vault is failing rather than answering about the secret: a cached value
    /// may then be served stale.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::Unreachable | Self::Other)
    }
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::DeletedButRecoverable => {
                "deleted but recoverable (recover or purge it before writing the name again)"
            }
            Self::Forbidden => {
                "access denied (give the identity the Key Vault Secrets Officer role to store \
                 and delete, Key Vault Secrets User to read, or the matching access policy)"
            }
            Self::Unauthenticated => {
                "not authenticated (check tenantId, clientId and clientSecret, or the identity \
                 the default chain picks, and that it belongs to the vault's tenant)"
            }
            Self::Throttled => {
                "throttled by the vault (lower rateLimitPermitsPerSecond or the resolver's \
                 concurrency)"
            }
            Self::Unreachable => {
                "vault unreachable (check parameters.vaultUrl / vaultName, the network, and \
                 caCertFile / SSL_CERT_FILE for TLS errors)"
            }
            Self::Other => "failed",
        })
    }
}

fn location(path: Option<&str>, others: usize) -> String {
    let mut text = path.map(|p| format!(" at {p}")).unwrap_or_default();
    if others > 0 {
        text.push_str(&format!(" (and {others} more unresolved reference(s))"));
    }
    text
}

/// An entity named in an error: its type and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    /// OpenMetadata's entity type, e.g. `databaseService`.
    pub entity_type: String,
    /// The entity's name.
    pub name: String,
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.entity_type, self.name)
    }
}

/// A field of an entity named in an error: the entity and the JSON path of the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// The entity.
    pub entity: EntityRef,
    /// Dot-separated JSON keys from the entity root, e.g. `connection.config.authType.password`.
    pub path: String,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {} of {}", self.path, self.entity)
    }
}

/// What putting secrets back after a failure did ([`SecretsManager::undo_writes`](crate::SecretsManager::undo_writes)): every
/// change shows in the output, as in the audit trail.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct PutBack {
    /// Secrets given their previous value again.
    pub restored: Vec<SecretName>,
    /// Secrets deleted again: they did not exist (or were deleted) before.
    pub deleted: Vec<SecretName>,
    /// The first secret that could not be put back, and why (the others were).
    pub failed: Option<(SecretName, Error)>,
}

impl PutBack {
    /// Whether nothing was put back and nothing failed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.restored.is_empty() && self.deleted.is_empty() && self.failed.is_none()
    }
}

impl fmt::Display for PutBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[SecretName]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.restored.is_empty() {
            parts.push(format!(
                "secret(s) {} given their previous value again",
                list(&self.restored)
            ));
        }
        if !self.deleted.is_empty() {
            parts.push(format!(
                "secret(s) {} deleted again (they did not exist before)",
                list(&self.deleted)
            ));
        }
        if let Some((name, error)) = &self.failed {
            parts.push(format!(
                "putting secret `{name}` back failed ({error}): it may hold the value the failed \
                 operation wrote; check it with `vaultref secret get {name}`"
            ));
        }
        write!(f, "{}", parts.join("; "))
    }
}
