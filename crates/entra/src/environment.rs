//! The environment credential: a client secret described by `AZURE_*` variables.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{
    AccessToken, ClientSecretCredential, CredentialOptions, Error, Result, TokenCredential,
    TokenRequestOptions,
    variables::{
        AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID,
        AZURE_USERNAME, missing_names,
    },
};

const NAME: &str = "EnvironmentCredential";

/// A [`ClientSecretCredential`] configured by `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
/// `AZURE_CLIENT_SECRET` (plus `AZURE_AUTHORITY_HOST`), like Python's `EnvironmentCredential`.
///
/// When the variables are not all set, [`get_token`](TokenCredential::get_token) answers
/// [`Error::Unavailable`] naming the missing ones. Certificate (`AZURE_CLIENT_CERTIFICATE_PATH`)
/// and username/password (`AZURE_USERNAME`) configurations are recognised and reported as
/// unsupported.
///
/// ```
/// use vaultref_entra::{CredentialOptions, EnvironmentCredential, Env};
///
/// let options = CredentialOptions {
///     env: Env::from_vars([
///         ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
///         ("AZURE_CLIENT_ID", "0d7ab5b2-63b9-4a6e-8c5c-5bd1d4a5b1c2"),
///         ("AZURE_CLIENT_SECRET", "the secret value"),
///     ]),
///     ..CredentialOptions::default()
/// };
/// let credential = EnvironmentCredential::new(options).unwrap();
/// assert!(credential.is_configured());
/// ```
#[derive(Clone, Debug)]
pub struct EnvironmentCredential {
    inner: std::result::Result<ClientSecretCredential, Error>,
}

impl EnvironmentCredential {
    /// Reads the variables from `options.env`.
    ///
    /// # Errors
    ///
    /// Only for invalid values ([`Error::Configuration`], [`Error::Http`]); missing
    /// variables make the credential unavailable instead.
    pub fn new(options: CredentialOptions) -> Result<Self> {
        let env = &options.env;
        let tenant = env.var(AZURE_TENANT_ID);
        let client = env.var(AZURE_CLIENT_ID);
        let unavailable = |reason: String| Self {
            inner: Err(Error::Unavailable {
                credential: NAME,
                reason,
            }),
        };
        match (tenant, client, env.var(AZURE_CLIENT_SECRET)) {
            (Some(tenant), Some(client), Some(secret)) => Ok(Self {
                inner: Ok(ClientSecretCredential::new(tenant, client, SecretString::from(secret), options)?),
            }),
            _ if env.is_set(AZURE_CLIENT_CERTIFICATE_PATH) => Ok(unavailable(
                "AZURE_CLIENT_CERTIFICATE_PATH is set, but certificate credentials are not supported by vaultref; set AZURE_CLIENT_SECRET instead".into(),
            )),
            _ if env.is_set(AZURE_USERNAME) => Ok(unavailable(
                "AZURE_USERNAME is set, but username/password credentials are not supported by vaultref; set AZURE_CLIENT_SECRET instead".into(),
            )),
            (tenant, client, secret) => {
                let missing = missing_names([
                    (tenant.is_none(), AZURE_TENANT_ID),
                    (client.is_none(), AZURE_CLIENT_ID),
                    (secret.is_none(), AZURE_CLIENT_SECRET),
                ]);
                Ok(unavailable(format!(
                    "environment variables are not fully configured: {missing} not set"
                )))
            }
        }
    }

    /// Whether the variables describe a usable client secret credential.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.inner.is_ok()
    }
}

#[async_trait]
impl TokenCredential for EnvironmentCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        match &self.inner {
            Ok(credential) => credential
                .get_token(scopes, options)
                .await
                // Name the credential the user configured.
                .map_err(|e| e.reported_by(NAME)),
            Err(unavailable) => Err(unavailable.clone()),
        }
    }

    fn credential_name(&self) -> &'static str {
        NAME
    }
}

#[cfg(test)]
mod tests {
    use crate::Env;

    use super::*;

    fn credential(vars: &[(&str, &str)]) -> Result<EnvironmentCredential> {
        EnvironmentCredential::new(CredentialOptions {
            env: Env::from_vars(vars.iter().copied()),
            ..CredentialOptions::default()
        })
    }

    #[tokio::test]
    async fn missing_and_unsupported_configurations_are_unavailable() {
        let check = |vars: &'static [(&'static str, &'static str)], fragment: &'static str| async move {
            let credential = credential(vars).unwrap();
            assert!(!credential.is_configured());
            let err = credential
                .get_token(&["s/.default"], &TokenRequestOptions::default())
                .await
                .unwrap_err();
            assert!(err.is_unavailable());
            assert!(err.to_string().contains(fragment), "{err}");
        };
        check(
            &[],
            "AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set",
        )
        .await;
        check(
            &[(AZURE_TENANT_ID, "t"), (AZURE_CLIENT_ID, "c")],
            "AZURE_CLIENT_SECRET not set",
        )
        .await;
        check(
            &[(AZURE_CLIENT_CERTIFICATE_PATH, "/x.pem")],
            "certificate credentials are not supported",
        )
        .await;
        check(&[(AZURE_USERNAME, "u")], "username/password").await;
    }

    #[test]
    fn invalid_values_fail_at_construction() {
        let err = credential(&[
            (AZURE_TENANT_ID, "bad tenant"),
            (AZURE_CLIENT_ID, "c"),
            (AZURE_CLIENT_SECRET, "s"),
        ])
        .unwrap_err();
        assert!(matches!(err, Error::Configuration(_)), "{err}");
        let err = credential(&[
            (AZURE_TENANT_ID, "t"),
            (AZURE_CLIENT_ID, "c"),
            (AZURE_CLIENT_SECRET, "s"),
            ("AZURE_AUTHORITY_HOST", "http://login.example"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("must use https"), "{err}");
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let credential = credential(&[
            (AZURE_TENANT_ID, "t"),
            (AZURE_CLIENT_ID, "c"),
            (AZURE_CLIENT_SECRET, "hunter2-value"),
        ])
        .unwrap();
        let shown = format!("{credential:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
