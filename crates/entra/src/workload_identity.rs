//! Workload identity: a federated token from a file, exchanged as a client assertion.

use std::{
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt as _;
use vaultref_transport::TooLarge;
use zeroize::Zeroize as _;

use crate::{
    AccessToken, CredentialOptions, Error, Result, TokenCredential, TokenRequestOptions,
    cache::{CacheKey, TokenSource},
    client_credentials::{AppCredential, AppSource, ClientApp, ClientAuth},
    options::validate_tenant_id,
    variables::{AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, missing_names},
};

const NAME: &str = "WorkloadIdentityCredential";

/// The largest federated token file read (a Kubernetes service account token is about 1 KiB).
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Settings of a [`WorkloadIdentityCredential`]; each `None` falls back to its environment
/// variable.
#[derive(Clone, Debug)]
pub struct WorkloadIdentityOptions {
    /// The tenant; else `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// The client id the federated credential is configured on; else `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// The token file; else `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file: Option<PathBuf>,
    /// Re-read the file at least this often even when it looks unchanged (it is always
    /// re-read when its modification time or size changes).
    pub reread_interval: Duration,
}

impl Default for WorkloadIdentityOptions {
    fn default() -> Self {
        Self {
            tenant_id: None,
            client_id: None,
            token_file: None,
            reread_interval: Duration::from_secs(600),
        }
    }
}

/// Exchanges a federated token (Kubernetes service account token, GitHub OIDC token...) read
/// from a file for an Entra ID token: `client_assertion=<file contents>` with
/// `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
///
/// On AKS the workload identity webhook sets `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_FEDERATED_TOKEN_FILE` and `AZURE_AUTHORITY_HOST`. The file is re-read when it
/// changes or after ten minutes; trailing whitespace (a final newline) is trimmed.
///
/// ```no_run
/// # async fn example() -> Result<(), vaultref_entra::Error> {
/// use vaultref_entra::{
///     CredentialOptions, TokenCredential, TokenRequestOptions, WorkloadIdentityCredential,
///     WorkloadIdentityOptions,
/// };
///
/// // Everything from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE:
/// let credential = WorkloadIdentityCredential::new(
///     WorkloadIdentityOptions::default(),
///     CredentialOptions::default(),
/// )?;
/// let token = credential
///     .get_token(&["https://vault.azure.net/.default"], &TokenRequestOptions::default())
///     .await?;
/// # drop(token); Ok(()) }
/// ```
#[derive(Clone)]
pub struct WorkloadIdentityCredential(AppCredential<Source>);

struct Source {
    app: ClientApp,
    token_file: PathBuf,
    reread_interval: Duration,
    assertion: Mutex<Option<CachedAssertion>>,
}

struct CachedAssertion {
    value: SecretString,
    read_at: OffsetDateTime,
    stamp: (Option<SystemTime>, u64),
}

impl WorkloadIdentityCredential {
    /// A credential from `settings`, falling back to the environment of `options.env`.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] naming the missing variables when the tenant, client id or
    /// token file is not configured; [`Error::Configuration`] for an invalid tenant id or
    /// authority host.
    pub fn new(settings: WorkloadIdentityOptions, options: CredentialOptions) -> Result<Self> {
        let env = &options.env;
        let tenant_id = settings.tenant_id.or_else(|| env.var(AZURE_TENANT_ID));
        let client_id = settings.client_id.or_else(|| env.var(AZURE_CLIENT_ID));
        let token_file = settings
            .token_file
            .or_else(|| env.var(AZURE_FEDERATED_TOKEN_FILE).map(PathBuf::from));
        let (Some(tenant_id), Some(client_id), Some(token_file)) =
            (tenant_id.clone(), client_id.clone(), token_file.clone())
        else {
            let missing = missing_names([
                (tenant_id.is_none(), AZURE_TENANT_ID),
                (client_id.is_none(), AZURE_CLIENT_ID),
                (token_file.is_none(), AZURE_FEDERATED_TOKEN_FILE),
            ]);
            return Err(Error::Unavailable {
                credential: NAME,
                reason: format!(
                    "workload identity is not configured: {missing} not set (on AKS, label the pod azure.workload.identity/use=true and annotate its service account with the client id)"
                ),
            });
        };
        validate_tenant_id(&tenant_id)?;
        Ok(Self(AppCredential::new(Source {
            app: ClientApp::new(NAME, tenant_id, client_id, options)?,
            token_file,
            reread_interval: settings.reread_interval,
            assertion: Mutex::new(None),
        })))
    }
}

impl Source {
    /// The assertion: cached while the file is unchanged and younger than the re-read interval.
    async fn assertion(&self) -> Result<SecretString> {
        let file_error = |source: std::io::Error| Error::TokenFile {
            path: self.token_file.clone(),
            source: Arc::new(source),
        };
        let metadata = tokio::fs::metadata(&self.token_file)
            .await
            .map_err(file_error)?;
        let stamp = (metadata.modified().ok(), metadata.len());
        let now = self.app.ctx.clock.now();
        {
            let cached = self
                .assertion
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(cached) = cached.as_ref()
                && cached.stamp == stamp
                && now < cached.read_at + self.reread_interval
            {
                return Ok(cached.value.clone());
            }
        }
        let file = tokio::fs::File::open(&self.token_file)
            .await
            .map_err(file_error)?;
        let mut contents = String::new();
        file.take(MAX_TOKEN_FILE_BYTES + 1)
            .read_to_string(&mut contents)
            .await
            .map_err(file_error)?;
        if contents.len() as u64 > MAX_TOKEN_FILE_BYTES {
            contents.zeroize();
            return Err(file_error(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                TooLarge {
                    limit: MAX_TOKEN_FILE_BYTES,
                },
            )));
        }
        // Truncate in place, so no untrimmed copy of the token is left behind.
        contents.truncate(contents.trim_end().len());
        if contents.is_empty() {
            return Err(file_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the file is empty",
            )));
        }
        let value = SecretString::from(contents);
        *self
            .assertion
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(CachedAssertion {
            value: value.clone(),
            read_at: now,
            stamp,
        });
        Ok(value)
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
        let assertion = self.assertion().await?;
        self.app
            .request_token(key, ClientAuth::Assertion(&assertion))
            .await
    }
}

#[async_trait]
impl TokenCredential for WorkloadIdentityCredential {
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

impl fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .debug_struct(f)
            .field("token_file", &self.0.source().token_file)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::Env;

    use super::*;

    #[test]
    fn missing_variables_are_named() {
        let options = CredentialOptions {
            env: Env::from_vars([(AZURE_CLIENT_ID, "c")]),
            ..CredentialOptions::default()
        };
        let err = WorkloadIdentityCredential::new(WorkloadIdentityOptions::default(), options)
            .unwrap_err();
        assert!(err.is_unavailable());
        let shown = err.to_string();
        assert!(
            shown.contains("AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE not set"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn token_file_is_trimmed_cached_and_reread_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "header.payload.sig\n \n").unwrap();
        let options = CredentialOptions {
            env: Env::from_vars([("UNRELATED", "1")]),
            ..CredentialOptions::default()
        };
        let credential = WorkloadIdentityCredential::new(
            WorkloadIdentityOptions {
                tenant_id: Some("t".into()),
                client_id: Some("c".into()),
                token_file: Some(path.clone()),
                ..WorkloadIdentityOptions::default()
            },
            options,
        )
        .unwrap();
        let read = || async {
            secrecy::ExposeSecret::expose_secret(&credential.0.source().assertion().await.unwrap())
                .to_owned()
        };
        assert_eq!(read().await, "header.payload.sig");
        std::fs::write(&path, "second.token.value-longer").unwrap();
        assert_eq!(read().await, "second.token.value-longer");
        std::fs::write(&path, "   \n").unwrap();
        let err = credential
            .0
            .source()
            .assertion()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("the file is empty"), "{err}");
        std::fs::write(&path, "x".repeat(65 * 1024)).unwrap();
        let err = credential
            .0
            .source()
            .assertion()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = credential
            .0
            .source()
            .assertion()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
    }
}
