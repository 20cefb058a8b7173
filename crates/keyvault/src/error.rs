//! The crate's one error type, and the mapping from Key Vault error responses to it.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::StatusCode;
use serde::Deserialize;

use crate::name::RejectedName;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why Key Vault answered 403 Forbidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForbiddenReason {
    /// An access-policy vault whose policies do not grant this identity the permission
    /// (innererror `AccessDenied`).
    AccessPolicy,
    /// An RBAC vault where no role assignment grants the action (innererror `ForbiddenByRbac`).
    Rbac,
    /// A policy (e.g. Conditional Access or a network/tenant policy) denied the request
    /// (innererror `ForbiddenByPolicy`).
    Policy,
    /// The vault has purge protection: deleted secrets cannot be purged before the retention
    /// period ends.
    PurgeProtection,
    /// The secret (version) is disabled (innererror `SecretDisabled`).
    SecretDisabled,
    /// Any other 403.
    Other,
}

impl ForbiddenReason {
    fn hint(self) -> &'static str {
        match self {
            Self::AccessPolicy => {
                "grant this identity the secret permission in the vault's access policies"
            }
            Self::Rbac => {
                "assign this identity a role with the action (e.g. 'Key Vault Secrets User' to read, 'Key Vault Secrets Officer' to write) on the vault; role changes can take minutes to propagate"
            }
            Self::Policy => {
                "a policy denied the request: check Conditional Access, the vault's network rules and the policies the service message names"
            }
            Self::PurgeProtection => {
                "purge protection is on: the secret is purged automatically when its retention period ends; recover it instead if you need the name now"
            }
            Self::SecretDisabled => {
                "the secret is disabled: enable it with update_secret_properties (enabled = true) first"
            }
            Self::Other => "check the identity's permissions on the vault",
        }
    }
}

impl fmt::Display for ForbiddenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AccessPolicy => "access policy",
            Self::Rbac => "RBAC",
            Self::Policy => "policy",
            Self::PurgeProtection => "purge protection",
            Self::SecretDisabled => "secret disabled",
            Self::Other => "forbidden",
        })
    }
}

/// Everything that can go wrong talking to Key Vault.
///
/// Each variant is one kind of failure with a message that says what to do. No variant ever
/// holds a secret value, a backup blob or a token. Service messages (which name identities,
/// vaults and secrets, never values) are kept for diagnostics.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A secret name breaks the Key Vault naming rule; no request was sent. The message
    /// describes the name (length, first character not allowed and its position) without
    /// echoing it.
    #[error("invalid secret name: {problem}; a secret name must be {rule}")]
    InvalidSecretName {
        /// The rejected name; shown nowhere, not even by `Debug`.
        name: RejectedName,
        /// What is wrong with it.
        problem: String,
        /// The rule.
        rule: &'static str,
    },

    /// An argument other than the name is invalid (a version id, a page size); no request was
    /// sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The client configuration is unusable (vault URL, api-version, CA file).
    #[error("invalid Key Vault client configuration: {0}")]
    Configuration(String),

    /// The secret (or the named version, or the deleted secret) does not exist.
    #[error(
        "{operation}: secret '{name}' was not found in {vault}: {message} (check the name; a secret deleted recently may be recoverable with recover_deleted_secret)"
    )]
    NotFound {
        /// What was attempted, e.g. `get secret`.
        operation: &'static str,
        /// The secret name (and version, when one was given).
        name: String,
        /// The vault URL.
        vault: String,
        /// The service's message.
        message: String,
    },

    /// The name belongs to a soft-deleted secret: it cannot be set until the secret is
    /// recovered or purged (409 `ObjectIsDeletedButRecoverable`).
    #[error(
        "{operation}: secret '{name}' is deleted but recoverable, so its name cannot be reused yet; recover it (recover_deleted_secret) or purge it (purge_deleted_secret) first"
    )]
    DeletedButRecoverable {
        /// What was attempted.
        operation: &'static str,
        /// The secret name.
        name: String,
    },

    /// The secret is still being deleted (409 `ObjectIsBeingDeleted`).
    #[error(
        "{operation}: secret '{name}' is still being deleted; retry in a few seconds (delete_secret_and_wait waits for this)"
    )]
    BeingDeleted {
        /// What was attempted.
        operation: &'static str,
        /// The secret name.
        name: String,
    },

    /// The secret is still being recovered (409 `ObjectIsBeingRecovered`).
    #[error(
        "{operation}: secret '{name}' is still being recovered; retry in a few seconds (recover_deleted_secret_and_wait waits for this)"
    )]
    BeingRecovered {
        /// What was attempted.
        operation: &'static str,
        /// The secret name.
        name: String,
    },

    /// Any other 409 Conflict (e.g. restoring a backup onto an existing name).
    #[error("{operation}: conflict on secret '{name}': {message}")]
    Conflict {
        /// What was attempted.
        operation: &'static str,
        /// The secret name, when the operation names one.
        name: String,
        /// The service's message.
        message: String,
    },

    /// 403 Forbidden: the identity may not do this, or the vault forbids it.
    #[error("{operation} on {vault} is forbidden ({reason}): {message}; {hint}", hint = reason.hint())]
    Forbidden {
        /// What was attempted.
        operation: &'static str,
        /// Why, from the response's `innererror.code` (or message).
        reason: ForbiddenReason,
        /// The vault URL.
        vault: String,
        /// The service's message (names the identity and the missing permission).
        message: String,
    },

    /// 401 Unauthorized after authenticating: the token was rejected (expired, wrong audience
    /// or tenant), or the vault sent no usable challenge.
    #[error(
        "{operation} on {vault}: Key Vault rejected the credentials: {message}; {hint}",
        hint = unauthorized_hint(message)
    )]
    Unauthorized {
        /// What was attempted.
        operation: &'static str,
        /// The vault URL.
        vault: String,
        /// The service's message.
        message: String,
    },

    /// The vault's `WWW-Authenticate` challenge names a resource that is not the vault's
    /// domain, so no token was requested for it.
    #[error(
        "the challenge resource '{resource}' does not match the vault host '{vault_host}'; if the vault really is served from another domain (an emulator, a proxy), set SecretClientOptions::verify_challenge_resource to false"
    )]
    ChallengeResourceMismatch {
        /// The resource or scope the challenge named.
        resource: String,
        /// The host of the vault URL.
        vault_host: String,
    },

    /// A 401 carried a `WWW-Authenticate` header that could not be understood.
    #[error(
        "the vault's authentication challenge could not be parsed ({problem}); is the URL a Key Vault?"
    )]
    InvalidChallenge {
        /// What was missing or malformed.
        problem: String,
    },

    /// The credential could not get a token for the vault.
    #[error("could not get a token for Key Vault: {0}")]
    Credential(#[source] vaultref_entra::Error),

    /// [`SecretClient::connect`](crate::SecretClient::connect) could not build the credential
    /// (an invalid tenant id, authority host or `AZURE_TOKEN_CREDENTIALS`).
    #[error("cannot set up the credential: {0}")]
    CredentialSetup(#[source] vaultref_entra::Error),

    /// Key Vault kept answering 429 Too Many Requests until the retry policy gave up.
    #[error(
        "{operation}: Key Vault throttled the request (HTTP 429) after {attempts} attempt(s){}; slow down (a vault allows about 4,000 reads and 300 creates per 10 s) or raise RetryOptions::max_retries / total_budget",
        retry_after.map(|d| format!(", the service asked to wait {} ms", d.as_millis())).unwrap_or_default()
    )]
    Throttled {
        /// What was attempted.
        operation: &'static str,
        /// How many requests were sent.
        attempts: u32,
        /// The wait the last 429 asked for (`Retry-After`, `retry-after-ms`, `x-ms-retry-after-ms`).
        retry_after: Option<Duration>,
    },

    /// 400 Bad Request: the service rejected a parameter (value too large, too many tags…).
    #[error("{operation}: Key Vault rejected a parameter ({code}): {message}")]
    BadParameter {
        /// What was attempted.
        operation: &'static str,
        /// The `error.code` (usually `BadParameter`).
        code: String,
        /// The service's message.
        message: String,
    },

    /// Any other error status, or a 5xx after every retry.
    #[error(
        "{operation}: Key Vault answered HTTP {status} ({code}) after {attempts} attempt(s): {message}; {}",
        if *status >= 500 { "the service is failing: retry later" } else { "check the request" }
    )]
    Service {
        /// What was attempted.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The `error.code`, or `-`.
        code: String,
        /// The service's message.
        message: String,
        /// How many requests were sent.
        attempts: u32,
    },

    /// No HTTP answer (DNS, connection, TLS, timeout). Transient failures were retried per
    /// the retry policy; one that no retry can fix (an untrusted certificate, an unknown host,
    /// a refused connection to a loopback or literal address) ends at the first attempt.
    #[error("{operation}: could not reach {vault} after {attempts} attempt(s): {cause}; {hint}")]
    Transport {
        /// What was attempted.
        operation: &'static str,
        /// The vault URL.
        vault: String,
        /// How many requests were tried.
        attempts: u32,
        /// The chain of causes, down to the root one (`Connection refused`, `UnknownIssuer`).
        cause: String,
        /// What to check about that root cause.
        hint: &'static str,
        /// The underlying error (without the URL).
        source: Arc<reqwest::Error>,
    },

    /// A success response could not be understood.
    #[error("{operation}: unexpected response from Key Vault (HTTP {status}): {problem}")]
    UnexpectedResponse {
        /// What was attempted.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong (never the body).
        problem: String,
    },

    /// A delete or recover did not become visible before the wait deadline.
    #[error(
        "{operation}: secret '{name}' was still not {state} after waiting {}s; the operation was accepted and may still complete, poll again or raise WaitOptions::timeout",
        waited.as_secs()
    )]
    WaitTimedOut {
        /// What was awaited.
        operation: &'static str,
        /// The secret name.
        name: String,
        /// `deleted` or `recovered`.
        state: &'static str,
        /// How long the client waited.
        waited: Duration,
    },
}

impl Error {
    /// The HTTP status of the response that caused this error, if any.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::NotFound { .. } => Some(404),
            Self::DeletedButRecoverable { .. }
            | Self::BeingDeleted { .. }
            | Self::BeingRecovered { .. }
            | Self::Conflict { .. } => Some(409),
            Self::Forbidden { .. } => Some(403),
            Self::Unauthorized { .. } => Some(401),
            Self::Throttled { .. } => Some(429),
            Self::BadParameter { .. } => Some(400),
            Self::Service { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the secret (or deleted secret) does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// What to do about a 401, from the service's `AKV…` code or message.
fn unauthorized_hint(message: &str) -> &'static str {
    let has = |needle: &str| message.contains(needle);
    if has("AKV10022") || has("audience") {
        "the token was issued for another resource: the credential must ask for the scope the vault's challenge names (a proxy rewriting the challenge, or a token made for another service?)"
    } else if has("AKV10032") || has("issuer") {
        "the token comes from another tenant than the vault's: use the vault's tenant id, or allow it in the credential's additionally allowed tenants"
    } else if has("TokenExpired") || has("expired") {
        "the token had expired when the vault checked it: check this machine's clock"
    } else if has("AKV10046") || has("signature") {
        "the vault cannot verify the token's signature: it was issued by another authority (an emulator's token sent to a real vault, or the reverse?)"
    } else {
        "check that the credential's tenant is the vault's tenant and that the token is issued for the vault's resource"
    }
}

/// `{"error":{"code","message","innererror":{"code",…}}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    message: Option<String>,
    innererror: Option<Box<ErrorDetail>>,
}

impl ErrorDetail {
    /// The innermost `code` below the top level (Key Vault nests `innererror`s).
    fn inner_code(&self) -> Option<&str> {
        let mut inner = self.innererror.as_deref()?;
        while let Some(next) = inner.innererror.as_deref() {
            if next.code.is_none() {
                break;
            }
            inner = next;
        }
        inner.code.as_deref()
    }
}

/// What an error response is about: the operation, the secret, the vault.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context<'a> {
    pub(crate) operation: &'static str,
    pub(crate) name: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
    pub(crate) vault: &'a str,
}

impl Context<'_> {
    fn subject(&self) -> String {
        match (self.name, self.version) {
            (Some(name), Some(version)) => format!("{name}/{version}"),
            (Some(name), None) => name.to_owned(),
            (None, _) => "-".to_owned(),
        }
    }
}

/// Maps a non-success response to an [`Error`] by status, `error.code` and
/// `error.innererror.code`.
pub(crate) fn from_response(
    ctx: &Context<'_>,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    attempts: u32,
) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let detail = parsed.error;
    let code = detail.code.clone().unwrap_or_else(|| "-".to_owned());
    let inner = detail.inner_code().map(str::to_owned);
    let message = detail
        .message
        .clone()
        .map(|m| m.trim_end().to_owned())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
    let operation = ctx.operation;
    let name = ctx.subject();
    let vault = ctx.vault.to_owned();
    match status.as_u16() {
        400 => Error::BadParameter {
            operation,
            code,
            message,
        },
        401 => Error::Unauthorized {
            operation,
            vault,
            message,
        },
        403 => {
            let reason = match inner.as_deref() {
                Some("ForbiddenByRbac") => ForbiddenReason::Rbac,
                Some("ForbiddenByPolicy") => ForbiddenReason::Policy,
                Some("AccessDenied") => ForbiddenReason::AccessPolicy,
                Some("SecretDisabled") => ForbiddenReason::SecretDisabled,
                _ if message.to_ascii_lowercase().contains("purge protection") => {
                    ForbiddenReason::PurgeProtection
                }
                _ if message.contains("disabled secret") => ForbiddenReason::SecretDisabled,
                _ => ForbiddenReason::Other,
            };
            Error::Forbidden {
                operation,
                reason,
                vault,
                message,
            }
        }
        404 => Error::NotFound {
            operation,
            name,
            vault,
            message,
        },
        409 => match inner.as_deref() {
            Some("ObjectIsDeletedButRecoverable") => {
                Error::DeletedButRecoverable { operation, name }
            }
            Some("ObjectIsBeingDeleted") => Error::BeingDeleted { operation, name },
            Some("ObjectIsBeingRecovered") => Error::BeingRecovered { operation, name },
            _ => Error::Conflict {
                operation,
                name,
                message,
            },
        },
        429 => Error::Throttled {
            operation,
            attempts,
            retry_after,
        },
        other => Error::Service {
            operation,
            status: other,
            code,
            message,
            attempts,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Context<'static> = Context {
        operation: "get secret",
        name: Some("db-pass"),
        version: None,
        vault: "https://myvault.vault.azure.net/",
    };

    fn map(status: u16, body: &str) -> Error {
        from_response(
            &CTX,
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            None,
            1,
        )
    }

    /// Bodies as real Key Vault sends them (docs/facts-checked.md §1).
    #[test]
    fn real_error_bodies_map_to_kinds() {
        let rbac = r#"{"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=1;oid=2;iss=https://sts.windows.net/t/\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n","innererror":{"code":"ForbiddenByRbac"}}}"#;
        assert!(matches!(
            map(403, rbac),
            Error::Forbidden {
                reason: ForbiddenReason::Rbac,
                ..
            }
        ));
        let policy = r#"{"error":{"code":"Forbidden","message":"Request forbidden by policy.","innererror":{"code":"ForbiddenByPolicy"}}}"#;
        assert!(matches!(
            map(403, policy),
            Error::Forbidden {
                reason: ForbiddenReason::Policy,
                ..
            }
        ));
        let purge = r#"{"error":{"code":"Forbidden","message":"Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: v;location=eastus"}}"#;
        assert!(matches!(
            map(403, purge),
            Error::Forbidden {
                reason: ForbiddenReason::PurgeProtection,
                ..
            }
        ));
        let deleted = r#"{"error":{"code":"Conflict","message":"Secret db-pass is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}"#;
        assert!(matches!(
            map(409, deleted),
            Error::DeletedButRecoverable { .. }
        ));
        let throttled = r#"{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}"#;
        assert!(matches!(map(429, throttled), Error::Throttled { .. }));
        assert!(matches!(
            map(
                401,
                r#"{"error":{"code":"Unauthorized","message":"[TokenExpired] Error validating token: 'S2S12086'."}}"#
            ),
            Error::Unauthorized { .. }
        ));
        assert!(matches!(
            map(502, "<html>bad gateway</html>"),
            Error::Service { status: 502, .. }
        ));
    }

    #[test]
    fn unauthorized_messages_point_at_the_cause() {
        let check = |message: &str, expected: &str| {
            let body = format!(r#"{{"error":{{"code":"Unauthorized","message":"{message}"}}}}"#);
            let text = map(401, &body).to_string();
            assert!(text.contains(expected), "{message}: {text}");
        };
        check(
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://storage.azure.com.",
            "issued for another resource",
        );
        check(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/t1/, found https://sts.windows.net/t2/.",
            "another tenant",
        );
        check(
            "[TokenExpired] Error validating token: 'S2S12086'.",
            "clock",
        );
        check(
            "AKV10046: Unable to resolve the key used for signature validation.",
            "another authority",
        );
        check("something else", "vault's tenant");
    }

    #[test]
    fn nested_innererror_uses_the_innermost_code() {
        let body = r#"{"error":{"code":"Conflict","message":"m","innererror":{"code":"ObjectIsBeingDeleted","innererror":{"message":"x"}}}}"#;
        assert!(matches!(map(409, body), Error::BeingDeleted { .. }));
    }

    #[test]
    fn messages_say_what_to_do() {
        let err = map(
            404,
            r#"{"error":{"code":"SecretNotFound","message":"A secret with (name/id) db-pass was not found in this key vault."}}"#,
        );
        let text = err.to_string();
        assert!(
            text.contains("db-pass") && text.contains("recover"),
            "{text}"
        );
        assert_eq!(err.status(), Some(404));
        assert!(err.is_not_found());
    }
}
