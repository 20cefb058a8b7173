//! The vault's error replies, in Key Vault's body shape:
//! `{"error":{"code","message"[,"innererror":{"code"}]}}`.

use serde_json::json;

use crate::wire::Reply;

/// `{"error":{"code","message"[,"innererror":{"code"}]}}` with `status`.
pub(crate) fn kv_error(status: u16, code: &str, message: &str, inner: Option<&str>) -> Reply {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    Reply::json(status, &json!({"error": error}))
}

pub(super) fn bad_parameter(message: &str) -> Reply {
    kv_error(400, "BadParameter", message, None)
}

pub(super) fn not_found(name: &str) -> Reply {
    kv_error(
        404,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

pub(super) fn deleted_not_found(name: &str) -> Reply {
    kv_error(
        404,
        "SecretNotFound",
        &format!("Deleted Secret not found: {name}"),
        None,
    )
}

/// A `*.localhost` host naming a vault the emulator does not have.
pub(super) fn vault_not_found(name: &str) -> Reply {
    kv_error(
        404,
        "VaultNotFound",
        &format!(
            "No vault named '{name}' in this emulator. Start it with --vault {name} or call Emulator::vault_url_for(\"{name}\")."
        ),
        None,
    )
}

/// 409 for a set or purge while a delete of `name` is still in progress.
pub(super) fn being_deleted(name: &str) -> Reply {
    kv_error(
        409,
        "Conflict",
        &format!("Secret {name} is currently being deleted."),
        Some("ObjectIsBeingDeleted"),
    )
}

/// 429 for an injected throttle or rate limit.
pub(crate) fn throttled() -> Reply {
    kv_error(
        429,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        None,
    )
}

/// `status` for an injected status fault.
pub(crate) fn injected_status(status: u16) -> Reply {
    kv_error(
        status,
        "ServiceUnavailable",
        &format!("The service answered {status} because a fault was injected into the emulator."),
        None,
    )
}
