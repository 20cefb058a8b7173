//! The credential trait and the token it returns.

use std::fmt;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::Result;

/// An access token: a bearer secret and when it expires.
///
/// The token string is held in a zeroizing [`SecretString`] and `Debug` shows only the expiry.
///
/// ```
/// use time::macros::datetime;
/// use vaultref_entra::AccessToken;
///
/// let token = AccessToken::new("eyJ0eXAi...", datetime!(2030-01-01 0:00 UTC));
/// assert_eq!(token.secret(), "eyJ0eXAi...");
/// assert!(!format!("{token:?}").contains("eyJ0"));
/// ```
#[derive(Clone)]
pub struct AccessToken {
    token: SecretString,
    expires_on: OffsetDateTime,
    refresh_on: Option<OffsetDateTime>,
}

impl AccessToken {
    /// A token that expires at `expires_on`.
    pub fn new(token: impl Into<SecretString>, expires_on: OffsetDateTime) -> Self {
        Self {
            token: token.into(),
            expires_on,
            refresh_on: None,
        }
    }

    /// Sets the time after which the cache should get a new token even though this one is
    /// still valid (Entra's `refresh_in`).
    #[must_use]
    pub fn with_refresh_on(mut self, refresh_on: OffsetDateTime) -> Self {
        self.refresh_on = Some(refresh_on);
        self
    }

    /// The bearer token, for an `Authorization: Bearer` header. Never log it.
    #[must_use]
    pub fn secret(&self) -> &str {
        self.token.expose_secret()
    }

    /// When the token stops being accepted.
    #[must_use]
    pub fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }

    /// When the token should be refreshed proactively, if the issuer said so.
    #[must_use]
    pub fn refresh_on(&self) -> Option<OffsetDateTime> {
        self.refresh_on
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

/// Per-request options for [`TokenCredential::get_token`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequestOptions {
    /// The tenant to get the token from instead of the configured one, e.g. the tenant named
    /// by a Key Vault `WWW-Authenticate` challenge. Credentials that are configured for one
    /// tenant accept it only when it is the same tenant or listed in
    /// [`CredentialOptions::additionally_allowed_tenants`](crate::CredentialOptions); managed
    /// identity ignores it.
    pub tenant_id: Option<String>,
    /// Skip the credential's cache for this call: fetch a new token, cache it and return it.
    /// For a caller whose token was rejected although it is still valid by its expiry
    /// (revoked, or issued for an audience the resource no longer accepts). Concurrent forced
    /// calls share one request, and a forced call never returns the token that was cached
    /// when it started. Use it once per rejection, not on every call.
    pub force_refresh: bool,
}

impl TokenRequestOptions {
    /// Options asking for a token from `tenant_id`.
    #[must_use]
    pub fn for_tenant(tenant_id: impl Into<String>) -> Self {
        Self {
            tenant_id: Some(tenant_id.into()),
            ..Self::default()
        }
    }

    /// These options with [`force_refresh`](Self::force_refresh) set.
    #[must_use]
    pub fn with_force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }
}

/// Something that can get Entra ID access tokens.
///
/// Implemented by every credential of this crate; use it as `Arc<dyn TokenCredential>`.
/// Implementations cache tokens, so callers may call `get_token` before every request.
#[async_trait]
pub trait TokenCredential: Send + Sync + fmt::Debug {
    /// Gets a token for `scopes` (for Key Vault: `["https://vault.azure.net/.default"]`).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](crate::Error::Unavailable) when the credential cannot be used
    /// here, otherwise the reason the token request failed.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken>;

    /// A short name for error messages, e.g. `ClientSecretCredential`.
    fn credential_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}
