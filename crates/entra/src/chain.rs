//! Credential chains: try credentials in order until one gets a token.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;

use crate::{
    AccessToken, CredentialAttempt, CredentialOptions, EnvironmentCredential, Error,
    ManagedIdentityCredential, ManagedIdentityOptions, Result, TokenCredential,
    TokenRequestOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityOptions,
    variables::{AZURE_CLIENT_ID, AZURE_TOKEN_CREDENTIALS},
};

const NO_WINNER: usize = usize::MAX;

enum Link {
    Ready(Arc<dyn TokenCredential>),
    /// A credential that could not even be built here (its variables are missing).
    Unavailable {
        name: &'static str,
        error: Error,
    },
}

impl Link {
    fn name(&self) -> &'static str {
        match self {
            Self::Ready(credential) => credential.credential_name(),
            Self::Unavailable { name, .. } => name,
        }
    }
}

/// Tries credentials in order: an [`Error::Unavailable`] moves on to the next one, any other
/// error stops the chain (as in Python's azure-identity). Once a credential has succeeded it is
/// used directly for later calls. When nothing works the error is [`Error::Chain`], listing
/// what every credential said.
///
/// ```no_run
/// # async fn example() -> Result<(), vaultref_entra::Error> {
/// use std::sync::Arc;
/// use vaultref_entra::{
///     ChainedTokenCredential, CredentialOptions, EnvironmentCredential,
///     ManagedIdentityCredential, ManagedIdentityOptions, TokenCredential, TokenRequestOptions,
/// };
///
/// let chain = ChainedTokenCredential::new(vec![
///     Arc::new(EnvironmentCredential::new(CredentialOptions::default())?),
///     Arc::new(ManagedIdentityCredential::new(ManagedIdentityOptions::default(), CredentialOptions::default())?),
/// ]);
/// let token = chain.get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default()).await?;
/// # drop(token); Ok(()) }
/// ```
pub struct ChainedTokenCredential {
    name: &'static str,
    links: Vec<Link>,
    winner: AtomicUsize,
}

impl ChainedTokenCredential {
    /// A chain of `credentials`, tried in order.
    #[must_use]
    pub fn new(credentials: Vec<Arc<dyn TokenCredential>>) -> Self {
        Self::from_links(
            "ChainedTokenCredential",
            credentials.into_iter().map(Link::Ready).collect(),
        )
    }

    fn from_links(name: &'static str, links: Vec<Link>) -> Self {
        Self {
            name,
            links,
            winner: AtomicUsize::new(NO_WINNER),
        }
    }

    /// The names of the credentials in the chain, in order.
    #[must_use]
    pub fn credential_names(&self) -> Vec<&'static str> {
        self.links.iter().map(Link::name).collect()
    }
}

#[async_trait]
impl TokenCredential for ChainedTokenCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        if let Some(Link::Ready(winner)) = self.links.get(self.winner.load(Ordering::Acquire)) {
            return winner.get_token(scopes, options).await;
        }
        let mut attempts = Vec::with_capacity(self.links.len());
        for (index, link) in self.links.iter().enumerate() {
            let outcome = match link {
                Link::Ready(credential) => credential.get_token(scopes, options).await,
                Link::Unavailable { error, .. } => Err(error.clone()),
            };
            match outcome {
                Ok(token) => {
                    tracing::debug!(
                        chain = self.name,
                        credential = link.name(),
                        "credential chain chose a credential"
                    );
                    self.winner.store(index, Ordering::Release);
                    return Ok(token);
                }
                Err(error) => {
                    let unavailable = error.is_unavailable();
                    attempts.push(CredentialAttempt::new(link.name(), error));
                    if !unavailable {
                        break;
                    }
                }
            }
        }
        Err(Error::Chain {
            chain: self.name,
            attempts,
        })
    }

    fn credential_name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for ChainedTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.name)
            .field("credentials", &self.credential_names())
            .finish_non_exhaustive()
    }
}

/// Settings of a [`DefaultAzureCredential`].
#[derive(Clone, Debug, Default)]
pub struct DefaultAzureCredentialOptions {
    /// Leave out [`EnvironmentCredential`].
    pub exclude_environment_credential: bool,
    /// Leave out [`WorkloadIdentityCredential`].
    pub exclude_workload_identity_credential: bool,
    /// Leave out [`ManagedIdentityCredential`].
    pub exclude_managed_identity_credential: bool,
    /// Workload identity settings (default: from the environment).
    pub workload_identity: WorkloadIdentityOptions,
    /// Managed identity settings. Without a user-assigned id, `AZURE_CLIENT_ID` names one (as
    /// in Python); without a probe timeout, IMDS is probed with a 1 s timeout.
    pub managed_identity: ManagedIdentityOptions,
}

/// The production chain of Python's `DefaultAzureCredential`: [`EnvironmentCredential`], then
/// [`WorkloadIdentityCredential`], then [`ManagedIdentityCredential`] (with a fast IMDS probe),
/// sharing one HTTP client.
///
/// `AZURE_TOKEN_CREDENTIALS` narrows it as in Python: `prod` keeps all three;
/// `EnvironmentCredential`, `WorkloadIdentityCredential` or `ManagedIdentityCredential`
/// (any case) keeps only that one (managed identity then skips the probe). Developer-tool
/// credentials (`dev`, Azure CLI...) are not part of vaultref and are rejected.
///
/// ```no_run
/// # async fn example() -> Result<(), vaultref_entra::Error> {
/// use vaultref_entra::{
///     CredentialOptions, DefaultAzureCredential, DefaultAzureCredentialOptions, TokenCredential,
///     TokenRequestOptions,
/// };
///
/// let credential = DefaultAzureCredential::new(
///     DefaultAzureCredentialOptions::default(),
///     CredentialOptions::default(),
/// )?;
/// let token = credential.get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default()).await?;
/// # drop(token); Ok(()) }
/// ```
#[derive(Debug)]
pub struct DefaultAzureCredential {
    chain: ChainedTokenCredential,
}

impl DefaultAzureCredential {
    /// Builds the chain from `settings` and the environment of `options.env`.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for an invalid `AZURE_TOKEN_CREDENTIALS` or an invalid value in
    /// a configured credential (e.g. an `http://` `AZURE_AUTHORITY_HOST`);
    /// [`Error::Http`] for an unusable CA file or proxy setting.
    pub fn new(
        settings: DefaultAzureCredentialOptions,
        options: CredentialOptions,
    ) -> Result<Self> {
        let options = options.with_shared_client()?;
        let env = &options.env;
        let (mut environment, mut workload, mut managed) = (
            !settings.exclude_environment_credential,
            !settings.exclude_workload_identity_credential,
            !settings.exclude_managed_identity_credential,
        );
        let mut probe = true;
        if let Some(selection) = env.var(AZURE_TOKEN_CREDENTIALS) {
            match selection.trim().to_ascii_lowercase().as_str() {
                "prod" => {}
                "environmentcredential" => (workload, managed) = (false, false),
                "workloadidentitycredential" => (environment, managed) = (false, false),
                "managedidentitycredential" => {
                    (environment, workload, probe) = (false, false, false);
                }
                other => {
                    return Err(Error::Configuration(format!(
                        "AZURE_TOKEN_CREDENTIALS='{other}' is not supported: use 'prod', 'EnvironmentCredential', 'WorkloadIdentityCredential' or 'ManagedIdentityCredential' (developer-tool credentials are not part of vaultref)"
                    )));
                }
            }
        }

        let mut links = Vec::new();
        if environment {
            links.push(Link::Ready(Arc::new(EnvironmentCredential::new(
                options.clone(),
            )?)));
        }
        if workload {
            links.push(built(
                "WorkloadIdentityCredential",
                WorkloadIdentityCredential::new(settings.workload_identity, options.clone()),
            )?);
        }
        if managed {
            let mut mi = settings.managed_identity;
            if mi.user_assigned_id.is_none() {
                mi.user_assigned_id = env.var(AZURE_CLIENT_ID).map(UserAssignedId::ClientId);
            }
            if probe && mi.imds_probe_timeout.is_none() {
                mi.imds_probe_timeout = Some(Duration::from_secs(1));
            }
            links.push(built(
                "ManagedIdentityCredential",
                ManagedIdentityCredential::new(mi, options.clone()),
            )?);
        }
        Ok(Self {
            chain: ChainedTokenCredential::from_links("DefaultAzureCredential", links),
        })
    }

    /// The names of the credentials in the chain, in order.
    #[must_use]
    pub fn credential_names(&self) -> Vec<&'static str> {
        self.chain.credential_names()
    }
}

/// A built credential, or its "unavailable here" error kept for the chain's report.
fn built<C: TokenCredential + 'static>(name: &'static str, credential: Result<C>) -> Result<Link> {
    match credential {
        Ok(credential) => Ok(Link::Ready(Arc::new(credential))),
        Err(error) if error.is_unavailable() => Ok(Link::Unavailable { name, error }),
        Err(error) => Err(error),
    }
}

#[async_trait]
impl TokenCredential for DefaultAzureCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken> {
        self.chain.get_token(scopes, options).await
    }

    fn credential_name(&self) -> &'static str {
        "DefaultAzureCredential"
    }
}

#[cfg(test)]
mod tests {
    use crate::Env;

    use super::*;

    fn names(vars: &[(&str, &str)]) -> Result<Vec<&'static str>> {
        DefaultAzureCredential::new(
            DefaultAzureCredentialOptions::default(),
            CredentialOptions {
                env: Env::from_vars(vars.iter().copied()),
                ..CredentialOptions::default()
            },
        )
        .map(|c| c.credential_names())
    }

    #[test]
    fn order_and_selection() {
        let all = [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
        ];
        assert_eq!(names(&[]).unwrap(), all);
        assert_eq!(names(&[(AZURE_TOKEN_CREDENTIALS, "prod")]).unwrap(), all);
        assert_eq!(
            names(&[(AZURE_TOKEN_CREDENTIALS, "ManagedIdentityCredential")]).unwrap(),
            ["ManagedIdentityCredential"]
        );
        assert_eq!(
            names(&[(AZURE_TOKEN_CREDENTIALS, "environmentcredential")]).unwrap(),
            ["EnvironmentCredential"]
        );
        let err = names(&[(AZURE_TOKEN_CREDENTIALS, "dev")]).unwrap_err();
        assert!(
            err.to_string().contains("AZURE_TOKEN_CREDENTIALS='dev'"),
            "{err}"
        );
    }
}
