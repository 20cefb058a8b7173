//! Microsoft Entra ID: OIDC discovery and the v2.0 token endpoint (client secret and
//! jwt-bearer client assertions), with Entra's error bodies.

use http::Method;
use serde_json::json;

use crate::clock::{entra_timestamp, unix_seconds};
use crate::directory::Directory;
use crate::identity::{Credential, Principal};
use crate::random::Random;
use crate::tenant::Tenant;
use crate::token::{AssertionClaims, TOKEN_EXCHANGE_AUDIENCE, TokenError};
use crate::wire::{Call, Reply};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Answers a request classified as Entra.
pub(crate) fn handle(
    call: &Call<'_>,
    tenant: &Tenant,
    directory: &Directory,
    random: &mut Random,
) -> Reply {
    let segments = call.segments();
    match (call.method, segments.as_slice()) {
        (&Method::GET, ["common" | "organizations", "discovery", "instance"]) => {
            instance_discovery(call)
        }
        (&Method::GET, [requested, "v2.0", ".well-known", "openid-configuration"]) => {
            openid_configuration(call, tenant, random, requested, true)
        }
        (&Method::GET, [requested, ".well-known", "openid-configuration"]) => {
            openid_configuration(call, tenant, random, requested, false)
        }
        (&Method::POST, [requested, "oauth2", "v2.0", "token"]) => {
            token(call, tenant, directory, random, requested, true)
        }
        (&Method::POST, [requested, "oauth2", "token"]) => {
            token(call, tenant, directory, random, requested, false)
        }
        _ => error(
            random,
            call,
            404,
            "invalid_request",
            900_561,
            &format!(
                "The endpoint only accepts POST requests. Received a {} request.",
                call.method
            ),
        ),
    }
}

fn instance_discovery(call: &Call<'_>) -> Reply {
    let origin = call.origin();
    let host = call.host;
    Reply::json(
        200,
        &json!({
            "tenant_discovery_endpoint": format!("{origin}/common/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
}

fn known_tenant(tenant: &Tenant, requested: &str) -> bool {
    requested.eq_ignore_ascii_case(&tenant.id)
}

fn unknown_tenant(random: &mut Random, call: &Call<'_>, requested: &str) -> Reply {
    error(
        random,
        call,
        400,
        "invalid_tenant",
        90_002,
        &format!(
            "Tenant '{requested}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

fn openid_configuration(
    call: &Call<'_>,
    tenant: &Tenant,
    random: &mut Random,
    requested: &str,
    v2: bool,
) -> Reply {
    if !known_tenant(tenant, requested) {
        return unknown_tenant(random, call, requested);
    }
    let origin = call.origin();
    let tid = &tenant.id;
    let (oauth, issuer) = if v2 {
        (
            format!("{origin}/{tid}/oauth2/v2.0"),
            format!("{origin}/{tid}/v2.0"),
        )
    } else {
        (
            format!("{origin}/{tid}/oauth2"),
            format!("https://sts.windows.net/{tid}/"),
        )
    };
    Reply::json(
        200,
        &json!({
            "token_endpoint": format!("{oauth}/token"),
            "authorization_endpoint": format!("{oauth}/authorize"),
            "device_authorization_endpoint": format!("{oauth}/devicecode"),
            "issuer": issuer,
            "jwks_uri": format!("{origin}/{tid}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "vaultref-emulator",
        }),
    )
}

fn token(
    call: &Call<'_>,
    tenant: &Tenant,
    directory: &Directory,
    random: &mut Random,
    requested: &str,
    v2: bool,
) -> Reply {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(call.body)
        .into_owned()
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let missing = |random: &mut Random, name: &str| {
        error(
            random,
            call,
            400,
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    if !known_tenant(tenant, requested) {
        return unknown_tenant(random, call, requested);
    }
    let Some(grant_type) = field("grant_type") else {
        return missing(random, "grant_type");
    };
    if grant_type != "client_credentials" {
        return error(
            random,
            call,
            400,
            "unsupported_grant_type",
            70_003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return missing(random, "client_id");
    };
    let resource = if v2 {
        let Some(scope) = field("scope") else {
            return missing(random, "scope");
        };
        match resource_of_scope(scope) {
            Some(resource) => resource,
            None => {
                return error(
                    random,
                    call,
                    400,
                    "invalid_scope",
                    1_002_012,
                    &format!(
                        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                );
            }
        }
    } else {
        let Some(resource) = field("resource") else {
            return missing(random, "resource");
        };
        resource.to_owned()
    };
    let Some(principal) = directory
        .principal(client_id)
        .filter(|p| !matches!(p.identity.credential, Credential::Managed))
        .cloned()
    else {
        return error(
            random,
            call,
            400,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                tenant.id
            ),
        );
    };
    if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return error(
                random,
                call,
                400,
                "invalid_request",
                50_027,
                &format!("client_assertion_type must be '{JWT_BEARER}'."),
            );
        }
        if let Err(reply) = check_assertion(call, tenant, random, &principal, assertion) {
            return reply;
        }
    } else if let Some(secret) = field("client_secret") {
        let matches =
            matches!(&principal.identity.credential, Credential::Secret(s) if s == secret);
        if !matches {
            return error(
                random,
                call,
                401,
                "invalid_client",
                7_000_215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    } else {
        return error(
            random,
            call,
            400,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let (access_token, lifetime) =
        directory.issue_access_token(tenant, &principal, &resource, call.now);
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if !v2 {
        let exp = unix_seconds(call.now) + lifetime;
        body["expires_on"] = json!(exp.to_string());
        body["not_before"] = json!(unix_seconds(call.now).to_string());
        body["resource"] = json!(resource);
    }
    Reply::json(200, &body)
}

/// `https://vault.azure.net/.default` -> `https://vault.azure.net`; OIDC scopes are ignored.
fn resource_of_scope(scope: &str) -> Option<String> {
    let mut resources = scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"));
    let first = resources.next()?;
    if resources.next().is_some() {
        return None;
    }
    first.strip_suffix("/.default").map(str::to_owned)
}

fn check_assertion(
    call: &Call<'_>,
    tenant: &Tenant,
    random: &mut Random,
    principal: &Principal,
    assertion: &str,
) -> Result<(), Reply> {
    // The token file is sent verbatim, trailing newline included: tolerate surrounding space.
    let assertion = assertion.trim();
    let claims: AssertionClaims = tenant.signer.verify(assertion).map_err(|e| {
        let why = match e {
            TokenError::Malformed => "JWT token is invalid or malformed.",
            TokenError::BadSignature => {
                "The client assertion's signature could not be verified with the keys of its issuer."
            }
        };
        error(random, call, 400, "invalid_client", 50_027, why)
    })?;
    let now = unix_seconds(call.now);
    if claims.exp <= now || claims.nbf > now + 300 {
        return Err(error(
            random,
            call,
            400,
            "invalid_client",
            700_024,
            &format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                rfc3339(now),
                rfc3339(claims.nbf),
                rfc3339(claims.exp)
            ),
        ));
    }
    if claims.iss != tenant.federated_issuer {
        return Err(error(
            random,
            call,
            400,
            "invalid_client",
            700_211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{}'.",
                claims.iss
            ),
        ));
    }
    if claims.aud != TOKEN_EXCHANGE_AUDIENCE {
        return Err(error(
            random,
            call,
            400,
            "invalid_client",
            700_212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                claims.aud
            ),
        ));
    }
    let subject_matches = matches!(
        &principal.identity.credential,
        Credential::Federated { subject } if *subject == claims.sub
    );
    if !subject_matches {
        return Err(error(
            random,
            call,
            400,
            "invalid_client",
            70_021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.",
                claims.iss, claims.sub, claims.aud
            ),
        ));
    }
    Ok(())
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// An Entra error body: `error`, `error_description` with its trailer lines, `error_codes`, ...
pub(crate) fn error(
    random: &mut Random,
    call: &Call<'_>,
    status: u16,
    error: &str,
    code: u32,
    message: &str,
) -> Reply {
    let trace_id = random.guid();
    let correlation_id = call
        .header("client-request-id")
        .map_or_else(|| random.guid(), str::to_owned);
    let timestamp = entra_timestamp(call.now);
    Reply::json(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_one_resource_with_default_suffix() {
        assert_eq!(
            resource_of_scope("https://vault.azure.net/.default").as_deref(),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            resource_of_scope("https://localhost:8443/.default offline_access").as_deref(),
            Some("https://localhost:8443")
        );
        assert_eq!(
            resource_of_scope("https://vault.azure.net/user_impersonation"),
            None
        );
        assert_eq!(resource_of_scope("a/.default b/.default"), None);
    }
}
