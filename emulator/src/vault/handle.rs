//! One vault request from start to end: which vault, who is calling, which operation, whether
//! a policy or the caller's permissions forbid it, then the operation itself.

use std::time::Duration;

use super::auth::{authenticate, forbidden};
use super::model::{Vaults, valid_secret_name};
use super::operations::SecretsRequest;
use super::paging::ListKind;
use super::replies::{bad_parameter, kv_error, vault_not_found};
use super::routes::Route;
use crate::access::{Caller, policy_message};
use crate::clock::unix_seconds;
use crate::directory::Directory;
use crate::fault::{Faults, Target};
use crate::random::Random;
use crate::tenant::Tenant;
use crate::wire::{Call, Reply};

/// Answers a vault request; the flag says whether stored secrets changed.
pub(crate) fn handle(
    call: &Call<'_>,
    tenant: &Tenant,
    directory: &Directory,
    faults: &mut Faults,
    random: &mut Random,
    vaults: &mut Vaults,
) -> (Reply, bool) {
    let vault_name = match vaults.addressed_by(call.host) {
        Ok(name) => name,
        Err(unknown) => return (vault_not_found(&unknown), false),
    };
    // Authentication comes first: the SDKs' first request is deliberately body-less.
    let principal = match authenticate(call, tenant, directory) {
        Ok(p) => p,
        Err(reply) => return (reply, false),
    };
    let Some(api_version) = call.query_param("api-version").filter(|v| !v.is_empty()) else {
        return (
            bad_parameter(
                "The api-version query parameter is missing. Add ?api-version=7.6 (or any version the SDKs send).",
            ),
            false,
        );
    };
    let Some(route) = Route::parse(call) else {
        return (
            kv_error(
                404,
                "NotFound",
                &format!(
                    "The requested resource {} {} does not exist in the secrets API.",
                    call.method, call.path
                ),
                None,
            ),
            false,
        );
    };
    let caller = Caller {
        client_id: &principal.identity.client_id,
        object_id: &principal.object_id,
        tenant_id: &tenant.id,
    };
    if faults.take_policy_denial(Target::Vault) {
        return (
            kv_error(
                403,
                "Forbidden",
                &policy_message(caller),
                Some("ForbiddenByPolicy"),
            ),
            false,
        );
    }
    if !principal.permissions.allows(route.permission()) {
        let model = vaults
            .get(&vault_name)
            .map(|v| v.access_model)
            .unwrap_or_default();
        return (forbidden(caller, route, model, &vault_name), false);
    }
    if let Some(name) = route.name()
        && !valid_secret_name(name)
    {
        return (
            bad_parameter(&format!("The request URI contains an invalid name: {name}")),
            false,
        );
    }
    // Only a set needs a fresh version id.
    let version_id = matches!(route, Route::Set(_))
        .then(|| random.hex32())
        .unwrap_or_default();
    let recover_delay = delay_secs(vaults.recover_delay);
    let delete_delay = delay_secs(vaults.delete_delay);
    let Some(vault) = vaults.get_mut(&vault_name) else {
        return (
            kv_error(404, "VaultNotFound", "The vault no longer exists.", None),
            false,
        );
    };
    let request = SecretsRequest {
        origin: call.origin(),
        now: unix_seconds(call.now),
        api_version,
        call,
    };
    match route {
        Route::List => (request.list(vault, ListKind::Secrets), false),
        Route::ListVersions(name) => (request.list(vault, ListKind::Versions(name)), false),
        Route::ListDeleted => (request.list(vault, ListKind::Deleted), false),
        Route::Set(name) => request.set(vault, name, version_id),
        Route::Get(name, version) => (request.get(vault, name, version), false),
        Route::Update(name, version) => request.update(vault, name, version),
        Route::Delete(name) => request.delete(vault, name, delete_delay),
        Route::GetDeleted(name) => (request.get_deleted(vault, name), false),
        Route::Purge(name) => request.purge(vault, name),
        Route::Recover(name) => request.recover(vault, name, recover_delay),
        Route::Backup(name) => (request.backup(vault, name), false),
        Route::Restore => request.restore(vault),
    }
}

/// A long-running operation's delay in whole seconds (at least one), `None` when off.
fn delay_secs(delay: Duration) -> Option<i64> {
    (!delay.is_zero()).then(|| i64::try_from(delay.as_secs().max(1)).unwrap_or(i64::MAX / 2))
}
