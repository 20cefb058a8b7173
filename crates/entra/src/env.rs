//! Where configuration from environment variables comes from.

use std::{collections::BTreeMap, fmt, sync::Arc};

/// `AZURE_TENANT_ID`: the directory (tenant) id of the app registration.
pub(crate) const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`: the application (client) id; also the user-assigned managed identity in
/// the default chain.
pub(crate) const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`: the client secret value.
pub(crate) const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE_PATH`: certificate credentials (recognised, not supported).
pub(crate) const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// `AZURE_USERNAME`: username/password credentials (recognised, not supported).
pub(crate) const AZURE_USERNAME: &str = "AZURE_USERNAME";
/// `AZURE_FEDERATED_TOKEN_FILE`: path of the workload identity (federated) token.
pub(crate) const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// `AZURE_AUTHORITY_HOST`: the Entra ID host, `https://login.microsoftonline.com` by default.
pub(crate) const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: replaces `http://169.254.169.254` for IMDS.
pub(crate) const AZURE_POD_IDENTITY_AUTHORITY_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
/// `IDENTITY_ENDPOINT`: App Service / Functions managed identity endpoint.
pub(crate) const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// `IDENTITY_HEADER`: the secret header value the App Service endpoint expects.
pub(crate) const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// `IDENTITY_SERVER_THUMBPRINT`: marks Service Fabric (recognised, not supported).
pub(crate) const IDENTITY_SERVER_THUMBPRINT: &str = "IDENTITY_SERVER_THUMBPRINT";
/// `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH`: ignore tenants requested by a challenge.
pub(crate) const AZURE_IDENTITY_DISABLE_MULTITENANTAUTH: &str =
    "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH";
/// `AZURE_TOKEN_CREDENTIALS`: restricts the default chain (`prod` or one credential name).
pub(crate) const AZURE_TOKEN_CREDENTIALS: &str = "AZURE_TOKEN_CREDENTIALS";
/// `SSL_CERT_FILE`: a PEM bundle of extra CA certificates to trust.
pub(crate) const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// A source of environment variables: the process environment by default, a fixed map in tests.
///
/// Credentials never read `std::env` directly, so tests can run in parallel threads with
/// different configurations without mutating the process environment. An empty value counts
/// as unset, as in Python's azure-identity. `Debug` shows variable names, never values
/// (`AZURE_CLIENT_SECRET` is one of them).
///
/// ```
/// use vaultref_entra::Env;
///
/// let env = Env::from_vars([("AZURE_TENANT_ID", "contoso.onmicrosoft.com"), ("EMPTY", "")]);
/// assert_eq!(env.var("AZURE_TENANT_ID").as_deref(), Some("contoso.onmicrosoft.com"));
/// assert_eq!(env.var("EMPTY"), None);
/// ```
#[derive(Clone, Default)]
pub struct Env {
    /// `None` reads the process environment.
    vars: Option<Arc<BTreeMap<String, String>>>,
}

impl Env {
    /// Reads the process environment at the time each variable is looked up.
    #[must_use]
    pub fn process() -> Self {
        Self { vars: None }
    }

    /// A fixed set of variables; everything else is unset.
    #[must_use]
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            vars: Some(Arc::new(map)),
        }
    }

    /// The value of `name`, or `None` when it is unset, empty or not valid Unicode.
    #[must_use]
    pub fn var(&self, name: &str) -> Option<String> {
        let value = match &self.vars {
            None => std::env::var(name).ok(),
            Some(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to a non-empty value.
    #[must_use]
    pub fn is_set(&self, name: &str) -> bool {
        self.var(name).is_some()
    }
}

/// The names of the variables that are missing, comma-separated, for "... not set"
/// messages: `checks` pairs "is it missing" with the variable's name, in the order to list.
pub(crate) fn missing_names<const N: usize>(checks: [(bool, &str); N]) -> String {
    let missing: Vec<&str> = checks
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect();
    missing.join(", ")
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.vars {
            None => f.write_str("Env::process"),
            Some(map) => f.debug_set().entries(map.keys()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let env = Env::from_vars([(AZURE_CLIENT_SECRET, "hunter2-secret")]);
        let shown = format!("{env:?}");
        assert!(shown.contains(AZURE_CLIENT_SECRET));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn unset_and_empty_are_the_same() {
        let env = Env::from_vars([("A", ""), ("B", "x")]);
        assert!(!env.is_set("A"));
        assert!(!env.is_set("C"));
        assert!(env.is_set("B"));
    }
}
