//! The emulated tenant: facts fixed at start that every endpoint answers with (its id, its
//! authority, the resource its vaults accept tokens for, the managed-identity header) and the
//! key it signs tokens with.

use std::fmt;

use crate::token::Signer;

/// The emulated tenant. `Debug` redacts the identity header (the signer redacts its key).
pub(crate) struct Tenant {
    /// The tenant id (a GUID).
    pub(crate) id: String,
    /// `scheme://127.0.0.1:port`, no trailing slash.
    pub(crate) authority: String,
    /// The resource the vault challenge names and tokens must be issued for.
    pub(crate) vault_resource: String,
    /// The `X-IDENTITY-HEADER` the App Service managed-identity endpoint expects.
    pub(crate) identity_header: String,
    /// The issuer of the federated (workload identity) assertions the emulator mints.
    pub(crate) federated_issuer: String,
    /// Client id of the system-assigned managed identity.
    pub(crate) system_identity: String,
    /// Signs and verifies every token and assertion.
    pub(crate) signer: Signer,
}

impl Tenant {
    /// The `iss` of the access tokens this tenant issues (Entra's v1 form).
    pub(crate) fn issuer(&self) -> String {
        format!("https://sts.windows.net/{}/", self.id)
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("authority", &self.authority)
            .field("vault_resource", &self.vault_resource)
            .field("identity_header", &"<redacted>")
            .field("federated_issuer", &self.federated_issuer)
            .field("system_identity", &self.system_identity)
            .field("signer", &self.signer)
            .finish()
    }
}
