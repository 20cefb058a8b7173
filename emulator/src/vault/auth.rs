//! Who is calling and whether they may: the challenge, bearer-token validation (signature,
//! expiry, audience, issuer and tenant) and the 403 a caller without the permission gets,
//! shaped by the vault's access model.

use super::replies::kv_error;
use super::routes::Route;
use crate::access::{AccessModel, Caller, access_denied_message, data_action, rbac_message};
use crate::clock::unix_seconds;
use crate::directory::Directory;
use crate::identity::{Identity, Permissions, Principal};
use crate::tenant::Tenant;
use crate::token::{AccessClaims, TokenError};
use crate::wire::{Call, Reply};

/// Clock skew Key Vault tolerates on `nbf` (5 minutes, like Entra token validation).
const NBF_SKEW_SECS: i64 = 300;

/// The `WWW-Authenticate` challenge every 401 carries.
pub(crate) fn challenge(tenant: &Tenant) -> String {
    format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        tenant.authority, tenant.id, tenant.vault_resource
    )
}

fn unauthorized(tenant: &Tenant, message: &str) -> Reply {
    kv_error(401, "Unauthorized", message, None).with_header("www-authenticate", challenge(tenant))
}

/// The principal a request's bearer token stands for, or the 401 to answer.
pub(super) fn authenticate(
    call: &Call<'_>,
    tenant: &Tenant,
    directory: &Directory,
) -> Result<Principal, Reply> {
    let missing = || {
        unauthorized(
            tenant,
            "AKV10000: Request is missing a Bearer or PoP token.",
        )
    };
    let header = call.header("authorization").ok_or_else(missing)?;
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(missing)?;
    let claims: AccessClaims = tenant.signer.verify(token).map_err(|e| match e {
        TokenError::Malformed => unauthorized(
            tenant,
            "AKV10005: Invalid bearer token: it is not a well-formed JWT.",
        ),
        TokenError::BadSignature => unauthorized(
            tenant,
            "AKV10046: Unable to resolve the key used for signature validation.",
        ),
    })?;
    let now = unix_seconds(call.now);
    if claims.exp <= now {
        return Err(unauthorized(
            tenant,
            "[TokenExpired] Error validating token: 'S2S12086'.",
        ));
    }
    if claims.nbf > now + NBF_SKEW_SECS {
        return Err(unauthorized(tenant, "Token not yet valid."));
    }
    if claims.aud != tenant.vault_resource {
        return Err(unauthorized(
            tenant,
            &format!(
                "AKV10022: Invalid audience. Expected {}, found: {}.",
                tenant.vault_resource, claims.aud
            ),
        ));
    }
    // The message names the claim that did not match: the issuer when it is wrong, else the
    // tenant id (a right issuer with a wrong `tid` must not read "found <the right issuer>").
    let expected_issuer = tenant.issuer();
    let found = if claims.iss != expected_issuer {
        Some(claims.iss.clone())
    } else if claims.tid != tenant.id {
        Some(format!("tid {}", claims.tid))
    } else {
        None
    };
    if let Some(found) = found {
        return Err(unauthorized(
            tenant,
            &format!("AKV10032: Invalid issuer. Expected one of {expected_issuer}, found {found}."),
        ));
    }
    // A token for an identity that has since been removed carries no permissions.
    Ok(directory
        .principal(&claims.appid)
        .cloned()
        .unwrap_or_else(|| Principal {
            identity: Identity::managed(claims.appid.clone()),
            object_id: claims.oid.clone(),
            permissions: Permissions::none(),
        }))
}

/// The 403 for a caller without the permission `route` needs, shaped by the vault's model.
pub(super) fn forbidden(
    caller: Caller<'_>,
    route: Route<'_>,
    model: AccessModel,
    vault: &str,
) -> Reply {
    let permission = route.permission();
    match model {
        AccessModel::Rbac => {
            let action = data_action(permission, matches!(route, Route::Get(..)));
            // Metadata reads (list, deleted secrets) name the vault only, like the service.
            let secret = route
                .name()
                .filter(|_| !action.ends_with("/readMetadata/action"));
            kv_error(
                403,
                "Forbidden",
                &rbac_message(caller, action, vault, secret),
                Some("ForbiddenByRbac"),
            )
        }
        AccessModel::AccessPolicy => kv_error(
            403,
            "Forbidden",
            &access_denied_message(caller, permission, vault),
            Some("AccessDenied"),
        ),
    }
}
