//! The tenant's directory: the identities the emulator knows (app registrations, workload
//! identities, managed identities) with their permissions, and the access tokens it issues
//! for them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::clock::unix_seconds;
use crate::identity::{Credential, Identity, Permissions, Principal};
use crate::random::Random;
use crate::tenant::Tenant;
use crate::token::AccessClaims;

/// Registered identities by client id, and the lifetime of the tokens issued to them.
#[derive(Debug)]
pub(crate) struct Directory {
    principals: HashMap<String, Principal>,
    /// Lifetime of access tokens issued from now on (zero: already expired).
    pub(crate) token_lifetime: Duration,
}

impl Directory {
    pub(crate) fn new(token_lifetime: Duration) -> Self {
        Self {
            principals: HashMap::new(),
            token_lifetime,
        }
    }

    /// Registers (or replaces) `identity`; its object id is random unless it has one.
    pub(crate) fn add(
        &mut self,
        identity: Identity,
        permissions: Permissions,
        random: &mut Random,
    ) {
        let object_id = identity.object_id.clone().unwrap_or_else(|| random.guid());
        self.principals.insert(
            identity.client_id.clone(),
            Principal {
                identity,
                object_id,
                permissions,
            },
        );
    }

    pub(crate) fn set_permissions(&mut self, client_id: &str, permissions: Permissions) -> bool {
        self.principals
            .get_mut(client_id)
            .map(|p| p.permissions = permissions)
            .is_some()
    }

    pub(crate) fn remove(&mut self, client_id: &str) -> bool {
        self.principals.remove(client_id).is_some()
    }

    pub(crate) fn principal(&self, client_id: &str) -> Option<&Principal> {
        self.principals.get(client_id)
    }

    /// The first managed identity `pred` accepts.
    pub(crate) fn managed_by(&self, pred: impl Fn(&Principal) -> bool) -> Option<Principal> {
        self.principals
            .values()
            .find(|p| matches!(p.identity.credential, Credential::Managed) && pred(p))
            .cloned()
    }

    /// Mints an access token for `principal` and `resource`; returns it with its lifetime in
    /// seconds.
    pub(crate) fn issue_access_token(
        &self,
        tenant: &Tenant,
        principal: &Principal,
        resource: &str,
        now: SystemTime,
    ) -> (String, i64) {
        let iat = unix_seconds(now);
        let lifetime = i64::try_from(self.token_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = AccessClaims {
            aud: resource.to_owned(),
            iss: tenant.issuer(),
            tid: tenant.id.clone(),
            appid: principal.identity.client_id.clone(),
            oid: principal.object_id.clone(),
            sub: principal.object_id.clone(),
            iat,
            nbf: iat,
            exp: iat + lifetime,
            idtyp: "app".into(),
            ver: "1.0".into(),
        };
        (tenant.signer.sign(&claims), lifetime)
    }
}
