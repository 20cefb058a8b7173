//! Managed identity: the IMDS endpoint (`/metadata/identity/oauth2/token`, needs `Metadata: true`)
//! and the App Service endpoint (`/msi/token`, needs `X-IDENTITY-HEADER`). Every field of a
//! token reply is a string, as the real endpoints send them.

use http::Method;
use serde_json::json;

use crate::clock::unix_seconds;
use crate::directory::Directory;
use crate::identity::{Credential, Principal};
use crate::tenant::Tenant;
use crate::wire::{Call, Reply};

/// The App Service endpoint's path (the full URL is `Emulator::identity_endpoint`).
pub(crate) const APP_SERVICE_PATH: &str = "/msi/token";
/// The IMDS token path below the IMDS base URL.
pub(crate) const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// Answers a request classified as managed identity.
pub(crate) fn handle(call: &Call<'_>, tenant: &Tenant, directory: &Directory) -> Reply {
    if call.method != Method::GET {
        return bad_request("Only GET is supported by the managed identity endpoint");
    }
    if call.path == IMDS_PATH {
        let metadata = call.header("metadata").unwrap_or_default();
        if !metadata.eq_ignore_ascii_case("true") {
            return bad_request("Required metadata header not specified");
        }
        issue(
            call,
            tenant,
            directory,
            &["client_id"],
            &["object_id"],
            &["msi_res_id", "mi_res_id"],
        )
    } else if call.path == APP_SERVICE_PATH {
        match call.header("x-identity-header") {
            None => bad_request("Required header X-IDENTITY-HEADER not specified"),
            Some(h) if h != tenant.identity_header => Reply::json(
                401,
                &json!({"error": "unauthorized", "error_description": "The X-IDENTITY-HEADER value does not match IDENTITY_HEADER"}),
            ),
            Some(_) => issue(
                call,
                tenant,
                directory,
                &["client_id"],
                &["object_id", "principal_id"],
                &["mi_res_id", "msi_res_id"],
            ),
        }
    } else {
        Reply::json(
            404,
            &json!({"error": "not_found", "error_description": format!("No managed identity endpoint at {}", call.path)}),
        )
    }
}

fn bad_request(description: &str) -> Reply {
    Reply::json(
        400,
        &json!({"error": "invalid_request", "error_description": description}),
    )
}

fn issue(
    call: &Call<'_>,
    tenant: &Tenant,
    directory: &Directory,
    client_id_params: &[&str],
    object_id_params: &[&str],
    resource_id_params: &[&str],
) -> Reply {
    if call.query_param("api-version").is_none() {
        return bad_request("Required query variable 'api-version' is missing");
    }
    let Some(resource) = call.query_param("resource").filter(|r| !r.is_empty()) else {
        return bad_request("Required query variable 'resource' is missing");
    };
    let pick = |names: &[&str]| names.iter().find_map(|n| call.query_param(n));
    let selected: Option<Principal> = if let Some(id) = pick(client_id_params) {
        directory.managed_by(|p| p.identity.client_id == id)
    } else if let Some(id) = pick(object_id_params) {
        directory.managed_by(|p| p.object_id == id)
    } else if let Some(id) = pick(resource_id_params) {
        directory.managed_by(|p| p.identity.resource_id.as_deref() == Some(id.as_str()))
    } else {
        directory.principal(&tenant.system_identity).cloned()
    };
    let Some(principal) = selected.filter(|p| matches!(p.identity.credential, Credential::Managed))
    else {
        return bad_request("Identity not found");
    };
    let (access_token, lifetime) =
        directory.issue_access_token(tenant, &principal, &resource, call.now);
    let now = unix_seconds(call.now);
    Reply::json(
        200,
        &json!({
            "access_token": access_token,
            "client_id": principal.identity.client_id,
            "expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime).to_string(),
            "ext_expires_in": lifetime.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}
