//! Principals the emulator knows (app registrations, workload identities, managed identities)
//! and what each may do in the vaults.

use std::fmt;

/// One secret operation, as Key Vault access policies name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretPermission {
    /// Read a secret (latest, a version, or a deleted secret).
    Get,
    /// List secrets, versions and deleted secrets.
    List,
    /// Create a version or update attributes.
    Set,
    /// Soft-delete a secret.
    Delete,
    /// Recover a soft-deleted secret.
    Recover,
    /// Purge a soft-deleted secret.
    Purge,
    /// Download a backup blob.
    Backup,
    /// Restore a backup blob.
    Restore,
}

impl SecretPermission {
    const ALL: [Self; 8] = [
        Self::Get,
        Self::List,
        Self::Set,
        Self::Delete,
        Self::Recover,
        Self::Purge,
        Self::Backup,
        Self::Restore,
    ];

    fn bit(self) -> u16 {
        match self {
            Self::Get => 1,
            Self::List => 1 << 1,
            Self::Set => 1 << 2,
            Self::Delete => 1 << 3,
            Self::Recover => 1 << 4,
            Self::Purge => 1 << 5,
            Self::Backup => 1 << 6,
            Self::Restore => 1 << 7,
        }
    }

    /// The lowercase name used in Key Vault's 403 messages (`secrets get permission`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Set => "set",
            Self::Delete => "delete",
            Self::Recover => "recover",
            Self::Purge => "purge",
            Self::Backup => "backup",
            Self::Restore => "restore",
        }
    }
}

/// The secret permissions of one identity, in every vault of the emulator.
///
/// Build with [`Permissions::all`], [`Permissions::read_only`] or [`Permissions::none`] and the
/// `with_*` methods, e.g. `Permissions::read_only().with_set()`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions(u16);

impl Permissions {
    /// Every secret operation.
    #[must_use]
    pub fn all() -> Self {
        Self(SecretPermission::ALL.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// Get and list only: a reader.
    #[must_use]
    pub fn read_only() -> Self {
        Self::none()
            .with(SecretPermission::Get)
            .with(SecretPermission::List)
    }

    /// Nothing: every vault request is answered 403.
    #[must_use]
    pub fn none() -> Self {
        Self(0)
    }

    /// These permissions plus `permission`.
    #[must_use]
    pub fn with(self, permission: SecretPermission) -> Self {
        Self(self.0 | permission.bit())
    }

    /// These permissions without `permission`.
    #[must_use]
    pub fn without(self, permission: SecretPermission) -> Self {
        Self(self.0 & !permission.bit())
    }

    /// Adds get.
    #[must_use]
    pub fn with_get(self) -> Self {
        self.with(SecretPermission::Get)
    }
    /// Adds list.
    #[must_use]
    pub fn with_list(self) -> Self {
        self.with(SecretPermission::List)
    }
    /// Adds set.
    #[must_use]
    pub fn with_set(self) -> Self {
        self.with(SecretPermission::Set)
    }
    /// Adds delete.
    #[must_use]
    pub fn with_delete(self) -> Self {
        self.with(SecretPermission::Delete)
    }
    /// Adds recover.
    #[must_use]
    pub fn with_recover(self) -> Self {
        self.with(SecretPermission::Recover)
    }
    /// Adds purge.
    #[must_use]
    pub fn with_purge(self) -> Self {
        self.with(SecretPermission::Purge)
    }
    /// Adds backup.
    #[must_use]
    pub fn with_backup(self) -> Self {
        self.with(SecretPermission::Backup)
    }
    /// Adds restore.
    #[must_use]
    pub fn with_restore(self) -> Self {
        self.with(SecretPermission::Restore)
    }

    /// Whether `permission` is granted.
    #[must_use]
    pub fn allows(self, permission: SecretPermission) -> bool {
        self.0 & permission.bit() != 0
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                SecretPermission::ALL
                    .iter()
                    .filter(|p| self.allows(**p))
                    .map(|p| p.as_str()),
            )
            .finish()
    }
}

/// How an identity proves itself.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// An app registration with a client secret.
    Secret(String),
    /// An app registration with a federated credential: client assertions issued by the
    /// emulator's token issuer whose subject is `subject`.
    Federated { subject: String },
    /// A managed identity: tokens come from the IMDS / App Service endpoints.
    Managed,
}

/// An identity the emulator will issue tokens for.
///
/// `Debug` never shows a client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    pub(crate) client_id: String,
    pub(crate) object_id: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) credential: Credential,
}

impl Identity {
    /// An app registration authenticating with `client_secret` (client credentials flow).
    #[must_use]
    pub fn app(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            object_id: None,
            resource_id: None,
            credential: Credential::Secret(client_secret.into()),
        }
    }

    /// An app registration with a federated credential (workload identity): it accepts
    /// client assertions minted by the emulator for this client id
    /// (see `Emulator::issue_federated_token_for`).
    #[must_use]
    pub fn workload(client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        Self {
            credential: Credential::Federated {
                subject: federated_subject(&client_id),
            },
            client_id,
            object_id: None,
            resource_id: None,
        }
    }

    /// A user-assigned managed identity, selected by `client_id` (or by the object id /
    /// resource id set with [`Identity::with_object_id`] / [`Identity::with_resource_id`]).
    #[must_use]
    pub fn managed(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            object_id: None,
            resource_id: None,
            credential: Credential::Managed,
        }
    }

    /// Sets the object (principal) id; a random GUID is used otherwise.
    #[must_use]
    pub fn with_object_id(mut self, object_id: impl Into<String>) -> Self {
        self.object_id = Some(object_id.into());
        self
    }

    /// Sets the Azure resource id a managed identity can also be selected by
    /// (`msi_res_id` / `mi_res_id`).
    #[must_use]
    pub fn with_resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.resource_id = Some(resource_id.into());
        self
    }

    /// The client (application) id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.credential {
            Credential::Secret(_) => "app (client secret, redacted)",
            Credential::Federated { .. } => "workload (federated credential)",
            Credential::Managed => "managed identity",
        };
        f.debug_struct("Identity")
            .field("client_id", &self.client_id)
            .field("object_id", &self.object_id)
            .field("kind", &kind)
            .finish()
    }
}

/// The subject the emulator's federated-token issuer puts in assertions for `client_id`,
/// shaped like a Kubernetes service-account subject.
pub(crate) fn federated_subject(client_id: &str) -> String {
    format!("system:serviceaccount:vaultref:{client_id}")
}

/// An identity registered in the emulator, with its resolved object id and permissions.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub(crate) identity: Identity,
    pub(crate) object_id: String,
    pub(crate) permissions: Permissions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_gets_and_lists_but_does_not_write() {
        let reader = Permissions::read_only();
        assert!(reader.allows(SecretPermission::Get));
        assert!(reader.allows(SecretPermission::List));
        assert!(!reader.allows(SecretPermission::Set));
        assert!(reader.with_set().allows(SecretPermission::Set));
        assert!(
            !Permissions::all()
                .without(SecretPermission::Purge)
                .allows(SecretPermission::Purge)
        );
        assert_eq!(
            format!("{:?}", Permissions::read_only()),
            r#"{"get", "list"}"#
        );
    }

    #[test]
    fn debug_hides_the_client_secret() {
        let shown = format!("{:?}", Identity::app("app-1", "super-secret-value"));
        assert!(shown.contains("app-1"));
        assert!(!shown.contains("super-secret-value"));
    }
}
