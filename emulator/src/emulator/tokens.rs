//! Tokens minted outside the token endpoints: federated assertions for workload identities,
//! access tokens for any resource, and tokens with arbitrary claims for negative tests.

use std::time::Duration;

use super::Emulator;
use crate::clock::unix_seconds;
use crate::identity::federated_subject;
use crate::token::{AccessClaims, AssertionClaims, TOKEN_EXCHANGE_AUDIENCE};

impl Emulator {
    /// Mints a federated assertion for the workload identity, valid for `lifetime` from now
    /// (zero: already expired).
    #[must_use]
    pub fn issue_federated_token(&self, lifetime: Duration) -> String {
        self.issue_federated_token_for(&self.workload_client_id, lifetime)
    }

    /// Mints a federated assertion whose subject matches [`Identity::workload`](crate::Identity::workload)`(client_id)`.
    #[must_use]
    pub fn issue_federated_token_for(&self, client_id: &str, lifetime: Duration) -> String {
        let now = unix_seconds(self.service.clock.now());
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let jti = self.service.state().random.guid();
        self.service.tenant.signer.sign(&AssertionClaims {
            aud: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
            iss: self.service.tenant.federated_issuer.clone(),
            sub: federated_subject(client_id),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            jti,
        })
    }

    /// Mints an access token for a registered identity and any `resource`, as the token
    /// endpoints would (e.g. a token for another audience, to test the vault's 401).
    /// `None` when `client_id` is not registered.
    #[must_use]
    pub fn issue_access_token(&self, client_id: &str, resource: &str) -> Option<String> {
        let now = self.service.clock.now();
        let state = self.service.state();
        let principal = state.directory.principal(client_id)?;
        Some(
            state
                .directory
                .issue_access_token(&self.service.tenant, principal, resource, now)
                .0,
        )
    }

    /// Mints an access token with arbitrary claims (tenant, issuer, expiry...), signed by the
    /// emulator, for negative tests of token validation.
    #[must_use]
    pub fn issue_custom_token(&self, claims: &TokenClaims) -> String {
        let now = unix_seconds(self.service.clock.now());
        let tenant = claims
            .tenant_id
            .clone()
            .unwrap_or_else(|| self.tenant_id().to_owned());
        let oid = self.service.state().random.guid();
        self.service.tenant.signer.sign(&AccessClaims {
            aud: claims
                .audience
                .clone()
                .unwrap_or_else(|| self.vault_resource().to_owned()),
            iss: claims
                .issuer
                .clone()
                .unwrap_or_else(|| format!("https://sts.windows.net/{tenant}/")),
            tid: tenant,
            appid: claims
                .client_id
                .clone()
                .unwrap_or_else(|| self.client_id.clone()),
            oid: oid.clone(),
            sub: oid,
            iat: now,
            nbf: now,
            exp: now + claims.lifetime_secs,
            idtyp: "app".into(),
            ver: "1.0".into(),
        })
    }
}

/// Claims for [`Emulator::issue_custom_token`]; unset fields take the valid default.
#[derive(Debug, Clone, Default)]
pub struct TokenClaims {
    /// `aud` (default: the vault resource).
    pub audience: Option<String>,
    /// `tid` and the issuer's tenant (default: the emulator's tenant).
    pub tenant_id: Option<String>,
    /// `iss` (default: `https://sts.windows.net/{tenant_id}/`), e.g. the right issuer with a
    /// wrong `tid`.
    pub issuer: Option<String>,
    /// `appid` (default: the default app registration).
    pub client_id: Option<String>,
    /// Seconds from now to `exp`; zero or negative gives an expired token.
    pub lifetime_secs: i64,
}
