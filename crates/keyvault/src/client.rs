//! `SecretClient`: every Key Vault secrets operation.

use std::{collections::VecDeque, sync::Arc};

use futures::{StreamExt, stream::BoxStream};
use reqwest::Method;
use url::Url;
use vaultref_entra::TokenCredential;
use vaultref_transport::build_http_client;
use zeroize::Zeroizing;

use crate::{
    DeletedSecret, Error, ListOptions, Result, Secret, SecretBackup, SecretClientOptions,
    SecretName, SecretProperties, SecretUpdate, SecretValue, SetSecretOptions, WaitOptions,
    connect::vault_origin,
    error::Context,
    name::validate_version,
    pipeline::{Call, Pipeline, Reply},
    wire::{self, BackupWire, BundleWire, ListWire, RestoreBody, SetBody, UpdateBody},
};

/// An async stream of list results; it follows `nextLink`s until the last page and ends after
/// the first error.
pub type SecretStream<T> = BoxStream<'static, Result<T>>;

/// A client for the secrets of one Key Vault.
///
/// Cheap to clone: clones share the HTTP connection pool, the credential and the cached
/// authentication challenge. Every operation validates its arguments before sending anything,
/// authenticates with the challenge protocol of the official SDKs, retries per
/// [`RetryOptions`](crate::RetryOptions) and maps failures to a typed [`Error`].
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use futures::TryStreamExt;
/// use vaultref_entra::{ClientSecretCredential, CredentialOptions};
/// use vaultref_keyvault::{
///     ListOptions, SecretClient, SecretClientOptions, SecretName, SetSecretOptions,
/// };
///
/// let credential = Arc::new(ClientSecretCredential::new(
///     "72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "0d7ab5b2-63b9-4a6e-8c5c-5bd1d4a5b1c2",
///     std::env::var("AZURE_CLIENT_SECRET")?.into(),
///     CredentialOptions::default(),
/// )?);
/// let client = SecretClient::new(
///     "https://myvault.vault.azure.net/",
///     credential,
///     SecretClientOptions::default(),
/// )?;
///
/// let name = SecretName::new("db-password")?;
/// client.set_secret(&name, &"s3cr3t".into(), &SetSecretOptions::default()).await?;
/// let secret = client.get_secret(&name).await?;
/// assert_eq!(secret.value.expose(), "s3cr3t");
///
/// let names: Vec<String> = client
///     .list_secrets(&ListOptions::default())?
///     .map_ok(|p| p.name.into_string())
///     .try_collect()
///     .await?;
/// # drop(names); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SecretClient {
    inner: Arc<Pipeline>,
}

impl SecretClient {
    /// A client for the vault at `vault_url` (`https://{name}.vault.azure.net/` or another
    /// cloud's, or an emulator's).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the URL is not `https://` (plain `http://` is accepted
    /// only for loopback hosts, i.e. a local emulator), carries a user name or password, has
    /// a query, or the api-version is empty, or when the CA file or a proxy setting cannot be
    /// used.
    pub fn new(
        vault_url: &str,
        credential: Arc<dyn TokenCredential>,
        options: SecretClientOptions,
    ) -> Result<Self> {
        let vault = vault_origin(vault_url)?;
        let api_version = options.api_version.trim().to_owned();
        if api_version.is_empty()
            || !api_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(Error::Configuration(format!(
                "api-version '{api_version}' is invalid: use a Key Vault API version such as {}",
                crate::DEFAULT_API_VERSION
            )));
        }
        let http = match options.http_client.clone() {
            Some(client) => client,
            None => build_http_client(&options.http, &options.env)
                .map_err(|e| Error::Configuration(e.to_string()))?,
        };
        Ok(Self {
            inner: Arc::new(Pipeline::new(http, credential, vault, api_version, options)),
        })
    }

    /// The vault URL (scheme, host and port; path `/`).
    #[must_use]
    pub fn vault_url(&self) -> &Url {
        &self.inner.vault
    }

    fn ctx<'a>(
        &'a self,
        operation: &'static str,
        name: Option<&'a SecretName>,
        version: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            operation,
            name: name.map(SecretName::as_str),
            version,
            vault: self.inner.vault.as_str(),
        }
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Zeroizing<Vec<u8>>>,
        ctx: Context<'_>,
    ) -> Result<Reply> {
        self.inner
            .send(&Call {
                method,
                url,
                body,
                ctx,
            })
            .await
    }

    /// Stores `value` as a new version of the secret `name` (creating the secret if needed).
    ///
    /// # Errors
    ///
    /// [`Error::DeletedButRecoverable`] when the name belongs to a soft-deleted secret
    /// (recover or purge it first), [`Error::Forbidden`], [`Error::BadParameter`] (value over
    /// 25 KB, too many tags), and the errors every operation can return.
    pub async fn set_secret(
        &self,
        name: &SecretName,
        value: &SecretValue,
        options: &SetSecretOptions,
    ) -> Result<Secret> {
        const OP: &str = "set secret";
        let body = json_body(OP, &SetBody::new(value.expose(), options))?;
        let url = self.inner.url(&["secrets", name.as_str()], &[]);
        let reply = self
            .call(Method::PUT, url, Some(body), self.ctx(OP, Some(name), None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_secret(OP)
    }

    /// The latest version of the secret `name`, with its value.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Forbidden`] (no get permission, or the secret is
    /// disabled: [`ForbiddenReason::SecretDisabled`](crate::ForbiddenReason::SecretDisabled)).
    pub async fn get_secret(&self, name: &SecretName) -> Result<Secret> {
        const OP: &str = "get secret";
        // `/secrets/{name}/`: the empty version means "latest", as both official SDKs send it.
        let url = self.inner.url(&["secrets", name.as_str(), ""], &[]);
        let reply = self
            .call(Method::GET, url, None, self.ctx(OP, Some(name), None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_secret(OP)
    }

    /// One version of the secret `name`, with its value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a malformed version id (nothing sent), [`Error::NotFound`],
    /// [`Error::Forbidden`].
    pub async fn get_secret_version(&self, name: &SecretName, version: &str) -> Result<Secret> {
        const OP: &str = "get secret version";
        validate_version(version)?;
        let url = self.inner.url(&["secrets", name.as_str(), version], &[]);
        let reply = self
            .call(
                Method::GET,
                url,
                None,
                self.ctx(OP, Some(name), Some(version)),
            )
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_secret(OP)
    }

    /// Changes the content type, tags, enabled flag or validity times of one version (the
    /// latest when `version` is `None`). The value cannot be changed: set a new version.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Forbidden`], [`Error::BadParameter`].
    pub async fn update_secret_properties(
        &self,
        name: &SecretName,
        version: Option<&str>,
        update: &SecretUpdate,
    ) -> Result<SecretProperties> {
        const OP: &str = "update secret properties";
        if let Some(version) = version {
            validate_version(version)?;
        }
        let body = json_body(OP, &UpdateBody::new(update))?;
        let url = self
            .inner
            .url(&["secrets", name.as_str(), version.unwrap_or("")], &[]);
        let reply = self
            .call(
                Method::PATCH,
                url,
                Some(body),
                self.ctx(OP, Some(name), version),
            )
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_properties(OP)
    }

    /// Deletes every version of the secret `name`. With soft delete on (the default for all
    /// vaults) it can be recovered until its scheduled purge date. Deletion completes in the
    /// background; [`SecretClient::delete_secret_and_wait`] waits for it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn delete_secret(&self, name: &SecretName) -> Result<DeletedSecret> {
        const OP: &str = "delete secret";
        let url = self.inner.url(&["secrets", name.as_str()], &[]);
        let reply = self
            .call(Method::DELETE, url, None, self.ctx(OP, Some(name), None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_deleted(OP)
    }

    /// [`SecretClient::delete_secret`], then polls `GET /deletedsecrets/{name}` until the
    /// deleted secret is visible (so that it can be purged or recovered right away).
    ///
    /// # Errors
    ///
    /// As `delete_secret`, plus [`Error::WaitTimedOut`].
    pub async fn delete_secret_and_wait(
        &self,
        name: &SecretName,
        wait: &WaitOptions,
    ) -> Result<DeletedSecret> {
        let deleted = self.delete_secret(name).await?;
        if deleted.recovery_id.is_none() {
            // Soft delete is off: the secret is gone at once.
            return Ok(deleted);
        }
        self.poll_until_found(name, "delete secret", "deleted", wait, || async {
            self.get_deleted_secret(name).await.map(drop)
        })
        .await?;
        Ok(deleted)
    }

    /// The soft-deleted secret `name`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no deleted secret has that name (or its deletion is still in
    /// progress), [`Error::Forbidden`].
    pub async fn get_deleted_secret(&self, name: &SecretName) -> Result<DeletedSecret> {
        const OP: &str = "get deleted secret";
        let url = self.inner.url(&["deletedsecrets", name.as_str()], &[]);
        let reply = self
            .call(Method::GET, url, None, self.ctx(OP, Some(name), None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_deleted(OP)
    }

    /// Recovers the soft-deleted secret `name` with all its versions. Recovery completes in
    /// the background; [`SecretClient::recover_deleted_secret_and_wait`] waits for it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Forbidden`], [`Error::BeingDeleted`].
    pub async fn recover_deleted_secret(&self, name: &SecretName) -> Result<SecretProperties> {
        const OP: &str = "recover deleted secret";
        let url = self
            .inner
            .url(&["deletedsecrets", name.as_str(), "recover"], &[]);
        let reply = self
            .call(Method::POST, url, None, self.ctx(OP, Some(name), None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_properties(OP)
    }

    /// [`SecretClient::recover_deleted_secret`], then polls `GET /secrets/{name}/` until the
    /// secret is readable again (so that it can be set right away).
    ///
    /// # Errors
    ///
    /// As `recover_deleted_secret`, plus [`Error::WaitTimedOut`].
    pub async fn recover_deleted_secret_and_wait(
        &self,
        name: &SecretName,
        wait: &WaitOptions,
    ) -> Result<SecretProperties> {
        let recovered = self.recover_deleted_secret(name).await?;
        self.poll_until_found(
            name,
            "recover deleted secret",
            "recovered",
            wait,
            || async { self.get_secret(name).await.map(drop) },
        )
        .await?;
        Ok(recovered)
    }

    /// Permanently deletes the soft-deleted secret `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] with [`ForbiddenReason::PurgeProtection`](crate::ForbiddenReason::PurgeProtection)
    /// when the vault has purge protection, [`Error::NotFound`], [`Error::BeingDeleted`].
    pub async fn purge_deleted_secret(&self, name: &SecretName) -> Result<()> {
        const OP: &str = "purge deleted secret";
        let url = self.inner.url(&["deletedsecrets", name.as_str()], &[]);
        self.call(Method::DELETE, url, None, self.ctx(OP, Some(name), None))
            .await
            .map(drop)
    }

    /// The latest version of every secret (no values), page after page.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] at once for a page size outside 1..=25; the stream yields
    /// the errors of each page request.
    pub fn list_secrets(&self, options: &ListOptions) -> Result<SecretStream<SecretProperties>> {
        const OP: &str = "list secrets";
        let first = self.first_page(&["secrets"], options)?;
        Ok(self.pages(first, OP, None, |item| item.into_properties(OP)))
    }

    /// Every version of the secret `name` (no values), page after page.
    ///
    /// # Errors
    ///
    /// As [`SecretClient::list_secrets`]; the stream yields [`Error::NotFound`] for an unknown
    /// name.
    pub fn list_secret_versions(
        &self,
        name: &SecretName,
        options: &ListOptions,
    ) -> Result<SecretStream<SecretProperties>> {
        const OP: &str = "list secret versions";
        let first = self.first_page(&["secrets", name.as_str(), "versions"], options)?;
        Ok(self.pages(first, OP, Some(name.clone()), |item| {
            item.into_properties(OP)
        }))
    }

    /// Every soft-deleted secret, page after page.
    ///
    /// # Errors
    ///
    /// As [`SecretClient::list_secrets`].
    pub fn list_deleted_secrets(
        &self,
        options: &ListOptions,
    ) -> Result<SecretStream<DeletedSecret>> {
        const OP: &str = "list deleted secrets";
        let first = self.first_page(&["deletedsecrets"], options)?;
        Ok(self.pages(first, OP, None, |item| item.into_deleted(OP)))
    }

    /// A backup of every version of the secret `name`, restorable into a vault of the same
    /// subscription and geography with [`SecretClient::restore_secret`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn backup_secret(&self, name: &SecretName) -> Result<SecretBackup> {
        const OP: &str = "backup secret";
        let url = self.inner.url(&["secrets", name.as_str(), "backup"], &[]);
        let reply = self
            .call(Method::POST, url, None, self.ctx(OP, Some(name), None))
            .await?;
        let backup: BackupWire = wire::parse(OP, &reply.body)?;
        Ok(SecretBackup::from_zeroizing(backup.value))
    }

    /// Restores a backup made by [`SecretClient::backup_secret`].
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] when a secret (or soft-deleted secret) with that name exists,
    /// [`Error::BadParameter`] for a corrupt blob, [`Error::Forbidden`].
    pub async fn restore_secret(&self, backup: &SecretBackup) -> Result<SecretProperties> {
        const OP: &str = "restore secret";
        let body = json_body(
            OP,
            &RestoreBody {
                value: backup.as_base64url(),
            },
        )?;
        let url = self.inner.url(&["secrets", "restore"], &[]);
        let reply = self
            .call(Method::POST, url, Some(body), self.ctx(OP, None, None))
            .await?;
        wire::parse::<BundleWire>(OP, &reply.body)?.into_properties(OP)
    }

    /// Polls `probe` until it succeeds: "not found" means "not yet"; 403 ends the wait as in
    /// the official SDKs (the caller may lack get permission, and the operation was accepted).
    async fn poll_until_found<F, Fut>(
        &self,
        name: &SecretName,
        operation: &'static str,
        state: &'static str,
        wait: &WaitOptions,
        probe: F,
    ) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let timer = &self.inner.timer;
        let started = timer.now();
        loop {
            match probe().await {
                Ok(()) | Err(Error::Forbidden { .. }) => return Ok(()),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
            let waited = timer.now().saturating_duration_since(started);
            if waited + wait.poll_interval > wait.timeout {
                return Err(Error::WaitTimedOut {
                    operation,
                    name: name.to_string(),
                    state,
                    waited,
                });
            }
            timer.sleep(wait.poll_interval).await;
        }
    }

    fn first_page(&self, segments: &[&str], options: &ListOptions) -> Result<Url> {
        match options.max_results {
            None => Ok(self.inner.url(segments, &[])),
            Some(n @ 1..=25) => Ok(self.inner.url(segments, &[("maxresults", &n.to_string())])),
            Some(n) => Err(Error::InvalidArgument(format!(
                "max_results {n} is out of range: Key Vault pages hold 1 to 25 items"
            ))),
        }
    }

    /// Follows `nextLink` from `first`, yielding items one by one.
    fn pages<T: Send + 'static>(
        &self,
        first: Url,
        operation: &'static str,
        name: Option<SecretName>,
        convert: fn(BundleWire) -> Result<T>,
    ) -> SecretStream<T> {
        let client = self.clone();
        let state = (Some(first), VecDeque::<BundleWire>::new(), client, name);
        futures::stream::try_unfold(
            state,
            move |(mut next, mut buffer, client, name)| async move {
                loop {
                    if let Some(item) = buffer.pop_front() {
                        let item = convert(item)?;
                        return Ok(Some((item, (next, buffer, client, name))));
                    }
                    let Some(url) = next.take() else {
                        return Ok(None);
                    };
                    let ctx = client.ctx(operation, name.as_ref(), None);
                    let reply = client.call(Method::GET, url, None, ctx).await?;
                    let page: ListWire = wire::parse(operation, &reply.body)?;
                    next = match page.next_link.as_deref().map(str::trim) {
                        Some(link) if !link.is_empty() => Some(client.next_link(operation, link)?),
                        _ => None,
                    };
                    buffer.extend(page.value);
                }
            },
        )
        .boxed()
    }

    /// The `nextLink` URL with this client's api-version (replacing the one in the link),
    /// refused when it points at another origin (the bearer token must stay with the vault).
    fn next_link(&self, operation: &'static str, link: &str) -> Result<Url> {
        let vault = &self.inner.vault;
        let mut url = vault.join(link).map_err(|_| Error::UnexpectedResponse {
            operation,
            status: 200,
            problem: "the nextLink is not a URL".into(),
        })?;
        if url.origin() != vault.origin() {
            return Err(Error::UnexpectedResponse {
                operation,
                status: 200,
                problem: format!(
                    "the nextLink points to {} instead of the vault; not following it",
                    url.origin().ascii_serialization()
                ),
            });
        }
        // Keep the other parameters byte for byte (the skip token is opaque).
        let rest: Vec<&str> = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("api-version="))
            .collect();
        let mut query = format!("api-version={}", self.inner.api_version);
        for part in rest {
            query.push('&');
            query.push_str(part);
        }
        url.set_query(Some(&query));
        Ok(url)
    }
}

/// Serializes a request body into zeroizing memory (it may hold a secret value).
fn json_body<T: serde::Serialize>(operation: &'static str, body: &T) -> Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(256));
    serde_json::to_writer(&mut *buffer, body).map_err(|e| {
        Error::InvalidArgument(format!(
            "{operation}: the request body cannot be serialized: {e}"
        ))
    })?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use vaultref_entra::{AccessToken, TokenRequestOptions};

    use super::*;

    #[derive(Debug)]
    struct NoToken;

    #[async_trait::async_trait]
    impl TokenCredential for NoToken {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: &TokenRequestOptions,
        ) -> vaultref_entra::Result<AccessToken> {
            Err(vaultref_entra::Error::Configuration("unused".into()))
        }
    }

    fn client(api_version: &str) -> SecretClient {
        SecretClient::new(
            "https://myvault.vault.azure.net",
            Arc::new(NoToken),
            SecretClientOptions {
                api_version: api_version.into(),
                ..SecretClientOptions::default()
            },
        )
        .unwrap()
    }

    /// The spec's example nextLink: `:443`, an older api-version, an opaque skip token.
    #[test]
    fn next_links_get_this_clients_api_version_and_keep_the_rest() {
        let link = "https://myvault.vault.azure.net:443/secrets?api-version=7.2&$skiptoken=eyJOZXh0TWFya2VyIjoiMiEx%3D&maxresults=1";
        let url = client("2025-07-01")
            .next_link("list secrets", link)
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://myvault.vault.azure.net/secrets?api-version=2025-07-01&$skiptoken=eyJOZXh0TWFya2VyIjoiMiEx%3D&maxresults=1"
        );
        let relative = client("7.6")
            .next_link("list secrets", "/deletedsecrets?$skiptoken=a")
            .unwrap();
        assert_eq!(
            relative.as_str(),
            "https://myvault.vault.azure.net/deletedsecrets?api-version=7.6&$skiptoken=a"
        );
    }

    #[test]
    fn next_links_to_other_hosts_are_not_followed() {
        for link in [
            "https://evil.example/secrets?$skiptoken=a",
            "http://myvault.vault.azure.net/secrets",
            "https://myvault.vault.azure.net:8443/secrets",
        ] {
            let err = client("7.6").next_link("list secrets", link).unwrap_err();
            assert!(
                matches!(err, Error::UnexpectedResponse { .. }),
                "{link}: {err}"
            );
        }
    }

    #[test]
    fn api_versions_are_checked() {
        for bad in ["", "7.6&x=1", "a b"] {
            let err = SecretClient::new(
                "https://myvault.vault.azure.net",
                Arc::new(NoToken),
                SecretClientOptions {
                    api_version: bad.into(),
                    ..SecretClientOptions::default()
                },
            )
            .unwrap_err();
            assert!(matches!(err, Error::Configuration(_)), "{bad:?}");
        }
    }
}
