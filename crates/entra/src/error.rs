//! The crate's one error type.

use std::{fmt, path::PathBuf, sync::Arc, time::Duration};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while getting a token.
///
/// Each variant is one kind of failure with a message that says what to fix. No variant ever
/// holds a secret, a token or a response body that could contain one. Errors are `Clone`
/// because the token cache hands the last failure to every caller waiting behind it.
///
/// Chains ([`ChainedTokenCredential`](crate::ChainedTokenCredential),
/// [`DefaultAzureCredential`](crate::DefaultAzureCredential)) move on to the next credential
/// after [`Error::Unavailable`] and stop at any other error.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The credential cannot be used in this environment: its environment variables are not
    /// set, no managed identity endpoint answers, no identity is assigned. A chain tries the
    /// next credential.
    #[error("{credential} is unavailable: {reason}")]
    Unavailable {
        /// Which credential, e.g. `ManagedIdentityCredential`.
        credential: &'static str,
        /// Why, and what would make it available.
        reason: String,
    },

    /// The configuration is invalid (a tenant id with bad characters, an `http://` authority
    /// host, a malformed URL, a wrong number of scopes). Fix the named setting.
    #[error("invalid configuration: {0}")]
    Configuration(String),

    /// Microsoft Entra ID refused the token request (an `AADSTS` error).
    #[error("{credential} authentication failed: {details}")]
    Authentication {
        /// Which credential made the request.
        credential: &'static str,
        /// What Entra ID said, with a hint about what to fix.
        details: Box<EntraError>,
    },

    /// A managed identity endpoint (IMDS or App Service) refused the request.
    #[error(
        "{credential} failed: the managed identity endpoint answered HTTP {status}{message}. {hint}"
    )]
    ManagedIdentity {
        /// Which credential made the request.
        credential: &'static str,
        /// The HTTP status.
        status: u16,
        /// The endpoint's own explanation, prefixed with `": "` when present.
        message: String,
        /// What to fix.
        hint: &'static str,
    },

    /// The service kept answering 429 (throttling) or 5xx after every retry, or asked for a
    /// longer wait than the retry policy allows.
    #[error(
        "{credential}: {service} answered HTTP {status} after {attempts} attempt(s){}; {hint}",
        retry_after.map(|d| format!(" and asked to retry after {}s", d.as_secs())).unwrap_or_default()
    )]
    ServiceUnavailable {
        /// Which credential made the request.
        credential: &'static str,
        /// `Microsoft Entra ID` or `the managed identity endpoint`.
        service: &'static str,
        /// The last HTTP status.
        status: u16,
        /// How many requests were sent.
        attempts: u32,
        /// The last `Retry-After`, when the service sent one.
        retry_after: Option<Duration>,
        /// What to do about it.
        hint: &'static str,
    },

    /// The request never got an HTTP answer (DNS, connection, TLS or timeout), after retries.
    #[error(
        "{credential}: could not reach {endpoint} after {attempts} attempt(s): {cause}; {hint}"
    )]
    Transport {
        /// Which credential made the request.
        credential: &'static str,
        /// The URL, redacted.
        endpoint: String,
        /// How many requests were tried.
        attempts: u32,
        /// The underlying error.
        source: Arc<reqwest::Error>,
        /// The chain of causes as text, e.g. `... invalid peer certificate: UnknownIssuer`.
        cause: String,
        /// What to check, naming the root cause (vaultref-transport's hint).
        hint: &'static str,
    },

    /// A success response could not be understood (missing `access_token`, bad `expires_in`).
    #[error("{credential}: unexpected response from {endpoint} (HTTP {status}): {problem}")]
    UnexpectedResponse {
        /// Which credential made the request.
        credential: &'static str,
        /// The URL without its query.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong, never the body itself.
        problem: String,
    },

    /// The federated token file could not be read.
    #[error(
        "WorkloadIdentityCredential: cannot read the federated token file {path}: {source}; check AZURE_FEDERATED_TOKEN_FILE and that the projected service account token volume is mounted"
    )]
    TokenFile {
        /// The file named by `AZURE_FEDERATED_TOKEN_FILE` or the options.
        path: PathBuf,
        /// The I/O error.
        source: Arc<std::io::Error>,
    },

    /// The HTTP client could not be set up: an unusable CA file (`SSL_CERT_FILE` or the
    /// explicit option), a proxy variable that cannot be used.
    #[error(transparent)]
    Http(#[from] vaultref_transport::Error),

    /// A challenge asked for a tenant this credential may not use.
    #[error(
        "{credential} is configured for tenant '{configured}' and may not get tokens for tenant '{requested}'; add it to CredentialOptions::additionally_allowed_tenants (or \"*\"), or set AZURE_IDENTITY_DISABLE_MULTITENANTAUTH=1 to always use the configured tenant"
    )]
    TenantNotAllowed {
        /// Which credential.
        credential: &'static str,
        /// The tenant it is configured for.
        configured: String,
        /// The tenant that was asked for.
        requested: String,
    },

    /// Every credential of a chain was tried; the list says what each one said. When the last
    /// attempt is not [`Error::Unavailable`], the chain stopped there.
    #[error(
        "{chain} failed to get a token. Attempted credentials:{}\nSee docs/entra.md for how to configure each credential.",
        AttemptList(attempts)
    )]
    Chain {
        /// `DefaultAzureCredential` or `ChainedTokenCredential`.
        chain: &'static str,
        /// One entry per credential tried, in order.
        attempts: Vec<CredentialAttempt>,
    },
}

impl Error {
    /// Whether this error means "the credential can't be used here" (a chain moves on) rather
    /// than "it was used and failed". A chain error is unavailable when all its attempts were.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable { .. } => true,
            Self::Chain { attempts, .. } => attempts.iter().all(|a| a.error.is_unavailable()),
            _ => false,
        }
    }

    /// The `AADSTS` code, when Entra ID refused the request (for a chain: the attempt that
    /// stopped it).
    #[must_use]
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            Self::Authentication { details, .. } => details.aadsts_code(),
            Self::Chain { attempts, .. } => attempts.last().and_then(|a| a.error.aadsts_code()),
            _ => None,
        }
    }

    /// The Entra ID error details, when Entra ID refused the request (for a chain: the attempt
    /// that stopped it).
    #[must_use]
    pub fn entra_error(&self) -> Option<&EntraError> {
        match self {
            Self::Authentication { details, .. } => Some(details.as_ref()),
            Self::Chain { attempts, .. } => attempts.last().and_then(|a| a.error.entra_error()),
            _ => None,
        }
    }

    /// The same error, attributed to `name` (a credential that delegates to another).
    pub(crate) fn reported_by(mut self, name: &'static str) -> Self {
        match &mut self {
            Self::Unavailable { credential, .. }
            | Self::Authentication { credential, .. }
            | Self::ManagedIdentity { credential, .. }
            | Self::ServiceUnavailable { credential, .. }
            | Self::Transport { credential, .. }
            | Self::UnexpectedResponse { credential, .. }
            | Self::TenantNotAllowed { credential, .. } => *credential = name,
            _ => {}
        }
        self
    }
}

/// One credential's outcome inside [`Error::Chain`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CredentialAttempt {
    /// The credential's name, e.g. `EnvironmentCredential`.
    pub credential: String,
    /// What it said.
    pub error: Error,
}

impl CredentialAttempt {
    pub(crate) fn new(credential: impl Into<String>, error: Error) -> Self {
        Self {
            credential: credential.into(),
            error,
        }
    }
}

struct AttemptList<'a>(&'a [CredentialAttempt]);

impl fmt::Display for AttemptList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for attempt in self.0 {
            // Our errors already start with the credential's name; others may not.
            let message = attempt.error.to_string();
            if message.starts_with(&attempt.credential) {
                write!(f, "\n  - {message}")?;
            } else {
                write!(f, "\n  - {}: {message}", attempt.credential)?;
            }
        }
        Ok(())
    }
}

/// What Microsoft Entra ID said when it refused a token request.
///
/// Entra ID answers `{"error", "error_description", "error_codes", "trace_id",
/// "correlation_id", "timestamp"}`; the `AADSTS` code is the first of `error_codes`. Quote the
/// trace and correlation ids when asking Microsoft support. `Display` shows the first line of
/// the description, a hint about what to fix, and the ids.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntraError {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error, e.g. `invalid_client`.
    pub error: String,
    /// `error_codes` (the `AADSTS` numbers).
    pub codes: Vec<u32>,
    /// The first line of `error_description`, e.g. `AADSTS7000215: Invalid client secret
    /// provided. ...`.
    pub description: String,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// `timestamp`.
    pub timestamp: Option<String>,
}

impl EntraError {
    /// The `AADSTS` code: the first of `error_codes`, else the number after `AADSTS` in the
    /// description.
    #[must_use]
    pub fn aadsts_code(&self) -> Option<u32> {
        self.codes.first().copied().or_else(|| {
            let rest = self.description.split("AADSTS").nth(1)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    }

    /// What the user should do about this error.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        hint_for(self.aadsts_code(), &self.error)
    }
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.error)?;
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        write!(f, " -> {}", self.hint())?;
        if let Some(trace) = &self.trace_id {
            write!(f, " [trace id {trace}")?;
            if let Some(correlation) = &self.correlation_id {
                write!(f, ", correlation id {correlation}")?;
            }
            f.write_str("]")?;
        } else if let Some(correlation) = &self.correlation_id {
            write!(f, " [correlation id {correlation}]")?;
        }
        Ok(())
    }
}

/// Hints for the AADSTS codes users hit most (facts: specs/azure-protocols.md A3).
fn hint_for(code: Option<u32>, error: &str) -> &'static str {
    match code {
        Some(7_000_215) => {
            "the client secret is wrong: use the secret's Value (not its Secret ID) from the app registration's 'Certificates & secrets' page, or create a new secret"
        }
        Some(7_000_222) => {
            "the client secret is expired: create a new secret for the app registration and update AZURE_CLIENT_SECRET / clientSecret"
        }
        Some(7_000_218) => {
            "the request carried neither a client secret nor a client assertion: set AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE"
        }
        Some(700_016) => {
            "no application with this client id exists in the tenant: check AZURE_CLIENT_ID / clientId and that AZURE_TENANT_ID / tenantId is the tenant the app is registered in"
        }
        Some(90_002) => {
            "the tenant does not exist: check AZURE_TENANT_ID / tenantId (a GUID or a domain such as contoso.onmicrosoft.com) and AZURE_AUTHORITY_HOST for sovereign clouds"
        }
        Some(700_024) => {
            "the federated token (client assertion) is expired or not yet valid: the file at AZURE_FEDERATED_TOKEN_FILE must be kept fresh by its issuer (the AKS workload identity webhook rotates it); check the clock too"
        }
        Some(70_021 | 700_211 | 700_212) => {
            "no federated identity credential on the app matches the token's issuer, subject and audience: add one in the app registration (or managed identity) for this service account"
        }
        Some(70_011) => {
            "the scope is invalid: client credentials need '<resource>/.default', e.g. https://vault.azure.net/.default"
        }
        Some(500_011) => {
            "the resource named by the scope does not exist in the tenant: check the scope's resource URI"
        }
        Some(50_027 | 700_027 | 700_023) => {
            "the client assertion is not valid: check the federated token file's contents and issuer"
        }
        _ => match error {
            "invalid_client" => {
                "the client credentials were rejected: check the client id, secret or assertion"
            }
            "unauthorized_client" => "the client is not authorized: check the client id and tenant",
            "invalid_tenant" => "the tenant is invalid: check the tenant id",
            "invalid_scope" => "the scope is invalid: use '<resource>/.default'",
            _ => {
                "see the description, and quote the trace and correlation ids to Microsoft support"
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entra(error: &str, codes: Vec<u32>, description: &str) -> EntraError {
        EntraError {
            status: 401,
            error: error.into(),
            codes,
            description: description.into(),
            trace_id: Some("t-1".into()),
            correlation_id: Some("c-1".into()),
            timestamp: None,
        }
    }

    #[test]
    fn aadsts_code_from_codes_or_description() {
        assert_eq!(
            entra("invalid_client", vec![7_000_215], "").aadsts_code(),
            Some(7_000_215)
        );
        assert_eq!(
            entra(
                "invalid_client",
                vec![],
                "AADSTS700016: Application with identifier"
            )
            .aadsts_code(),
            Some(700_016)
        );
        assert_eq!(entra("x", vec![], "no code").aadsts_code(), None);
    }

    #[test]
    fn display_says_what_to_fix_and_carries_ids() {
        let shown = entra(
            "invalid_client",
            vec![7_000_215],
            "AADSTS7000215: Invalid client secret provided.",
        )
        .to_string();
        assert!(shown.contains("the client secret is wrong"), "{shown}");
        assert!(
            shown.contains("trace id t-1, correlation id c-1"),
            "{shown}"
        );
        assert!(shown.contains("HTTP 401 invalid_client"), "{shown}");
    }

    #[test]
    fn chain_is_unavailable_only_when_every_attempt_is() {
        let unavailable = Error::Unavailable {
            credential: "A",
            reason: "not set".into(),
        };
        let failed = Error::Authentication {
            credential: "B",
            details: Box::new(entra("invalid_client", vec![7_000_215], "")),
        };
        let all_unavailable = Error::Chain {
            chain: "C",
            attempts: vec![CredentialAttempt::new("A", unavailable.clone())],
        };
        assert!(all_unavailable.is_unavailable());
        let stopped = Error::Chain {
            chain: "C",
            attempts: vec![
                CredentialAttempt::new("A", unavailable),
                CredentialAttempt::new("B", failed),
            ],
        };
        assert!(!stopped.is_unavailable());
        assert_eq!(stopped.aadsts_code(), Some(7_000_215));
        let shown = stopped.to_string();
        assert!(shown.contains("\n  - A is unavailable: not set"), "{shown}");
        assert!(shown.contains("\n  - B authentication failed"), "{shown}");
    }
}
