//! Client secret credential (OAuth2 client credentials with `client_secret`).

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{
    AccessToken, CredentialOptions, Error, Result, TokenCredential, TokenRequestOptions,
    cache::{CacheKey, TokenSource},
    client_credentials::{AppCredential, AppSource, ClientApp, ClientAuth},
    options::validate_tenant_id,
};

const NAME: &str = "ClientSecretCredential";

/// Authenticates an app registration with its client secret:
/// `POST {authority}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`.
///
/// Tokens are cached per (tenant, scopes) and refreshed before they expire.
///
/// ```no_run
/// # async fn example() -> Result<(), vaultref_entra::Error> {
/// use vaultref_entra::{ClientSecretCredential, CredentialOptions, TokenCredential, TokenRequestOptions};
///
/// let credential = ClientSecretCredential::new(
///     "72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "0d7ab5b2-63b9-4a6e-8c5c-5bd1d4a5b1c2",
///     "the secret value".into(),
///     CredentialOptions::default(),
/// )?;
/// let token = credential
///     .get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default())
///     .await?;
/// println!("expires {}", token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientSecretCredential(AppCredential<Source>);

struct Source {
    app: ClientApp,
    secret: SecretString,
}

impl ClientSecretCredential {
    /// A credential for `client_id` in `tenant_id`.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for an invalid tenant id, an empty client id or secret, or an
    /// invalid authority host; [`Error::Http`] for an unusable CA file or proxy setting.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
        options: CredentialOptions,
    ) -> Result<Self> {
        let tenant_id = tenant_id.into();
        let client_id = client_id.into();
        validate_tenant_id(&tenant_id)?;
        if client_id.is_empty() {
            return Err(Error::Configuration(
                "the client id is empty: set AZURE_CLIENT_ID / clientId to the app registration's Application (client) ID".into(),
            ));
        }
        if secrecy::ExposeSecret::expose_secret(&client_secret).is_empty() {
            return Err(Error::Configuration(
                "the client secret is empty: set AZURE_CLIENT_SECRET / clientSecret".into(),
            ));
        }
        Ok(Self(AppCredential::new(Source {
            app: ClientApp::new(NAME, tenant_id, client_id, options)?,
            secret: client_secret,
        })))
    }
}

impl AppSource for Source {
    fn app(&self) -> &ClientApp {
        &self.app
    }
}

#[async_trait]
impl TokenSource for Source {
    async fn fetch(&self, key: &CacheKey) -> Result<AccessToken> {
        self.app
            .request_token(key, ClientAuth::Secret(&self.secret))
            .await
    }
}

#[async_trait]
impl TokenCredential for ClientSecretCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        self.0.get_token(scopes, options).await
    }

    fn credential_name(&self) -> &'static str {
        NAME
    }
}

impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .debug_struct(f)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}
