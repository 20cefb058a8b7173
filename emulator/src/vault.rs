//! The Key Vault secrets data plane: challenge, token validation, permissions, and every secret
//! operation with soft delete, paging and backup/restore, for several vaults routed by host.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{
    AccessModel, Caller, access_denied_message, data_action, policy_message, rbac_message,
};
use crate::clock::unix_seconds;
use crate::error::Error;
use crate::fault::Target;
use crate::identity::{Principal, SecretPermission};
use crate::state::{Info, State};
use crate::token::{AccessClaims, Signer, TokenError};
use crate::wire::{Call, Reply};

/// Largest secret value Key Vault stores (25 KiB).
const MAX_VALUE_BYTES: usize = 25 * 1024;
const MAX_CONTENT_TYPE: usize = 255;
const MAX_TAGS: usize = 15;
const MAX_TAG_CHARS: usize = 512;
const DEFAULT_PAGE: usize = 25;
/// Clock skew Key Vault tolerates on `nbf` (5 minutes, like Entra token validation).
const NBF_SKEW_SECS: i64 = 300;
const BACKUP_FORMAT: &str = "vaultref-emulator-backup/1";

/// One version of a secret. `Debug` redacts the value.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) id: String,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<i64>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Version")
            .field("id", &self.id)
            .field("value", &"<redacted>")
            .field("content_type", &self.content_type)
            .field("tags", &self.tags)
            .field("enabled", &self.enabled)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}

/// A secret: its name as first created and its versions, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Secret {
    pub(crate) name: String,
    pub(crate) versions: Vec<Version>,
    /// While a recovery is "in progress" (see `Emulator::set_recover_delay`), invisible until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) visible_from: Option<i64>,
}

impl Secret {
    fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
    fn visible(&self, now: i64) -> bool {
        self.visible_from.is_none_or(|t| now >= t)
    }
}

/// A soft-deleted secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Deleted {
    pub(crate) secret: Secret,
    pub(crate) deleted_date: i64,
    pub(crate) scheduled_purge_date: i64,
    /// While the deletion is "in progress", invisible until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) visible_from: Option<i64>,
}

impl Deleted {
    fn visible(&self, now: i64) -> bool {
        self.visible_from.is_none_or(|t| now >= t)
    }
}

/// One vault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Vault {
    pub(crate) name: String,
    pub(crate) purge_protection: bool,
    pub(crate) retention_days: u32,
    /// How 403s look (access policies unless set otherwise).
    #[serde(default)]
    pub(crate) access_model: AccessModel,
    /// Keyed by lowercase name: names are case-insensitive.
    pub(crate) secrets: BTreeMap<String, Secret>,
    pub(crate) deleted: BTreeMap<String, Deleted>,
}

impl Vault {
    pub(crate) fn new(
        name: &str,
        purge_protection: bool,
        retention_days: u32,
        access_model: AccessModel,
    ) -> Self {
        Self {
            name: name.to_owned(),
            purge_protection,
            retention_days,
            access_model,
            secrets: BTreeMap::new(),
            deleted: BTreeMap::new(),
        }
    }

    fn recovery_level(&self) -> &'static str {
        match (self.purge_protection, self.retention_days >= 90) {
            (true, true) => "Recoverable",
            (false, true) => "Recoverable+Purgeable",
            (true, false) => "CustomizedRecoverable",
            (false, false) => "CustomizedRecoverable+Purgeable",
        }
    }

    /// Adds a version directly (the `Emulator::set_secret` seeding path).
    pub(crate) fn put(&mut self, name: &str, version: Version) {
        self.secrets
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| Secret {
                name: name.to_owned(),
                versions: Vec::new(),
                visible_from: None,
            })
            .versions
            .push(version);
    }
}

/// What is persisted in the state directory.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct Snapshot {
    pub(crate) vaults: Vec<Vault>,
}

/// All vaults, the default one, and the delays of long-running operations.
#[derive(Debug)]
pub(crate) struct Vaults {
    pub(crate) default: String,
    pub(crate) vaults: BTreeMap<String, Vault>,
    pub(crate) recover_delay: Duration,
    pub(crate) delete_delay: Duration,
    pub(crate) purge_protection: bool,
    pub(crate) retention_days: u32,
    /// The access model of vaults created from now on.
    pub(crate) access_model: AccessModel,
}

impl Vaults {
    pub(crate) fn get(&self, name: &str) -> Option<&Vault> {
        self.vaults.get(&name.to_ascii_lowercase())
    }

    /// The live (not deleted) secret `name` of vault `vault`; both names are case-insensitive.
    pub(crate) fn secret(&self, vault: &str, name: &str) -> Option<&Secret> {
        self.get(vault)?.secrets.get(&name.to_ascii_lowercase())
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Vault> {
        self.vaults.get_mut(&name.to_ascii_lowercase())
    }

    /// The vault `name`, created if missing.
    pub(crate) fn ensure(&mut self, name: &str) -> &mut Vault {
        let (protection, retention, model) = (
            self.purge_protection,
            self.retention_days,
            self.access_model,
        );
        self.vaults
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| Vault::new(name, protection, retention, model))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            vaults: self.vaults.values().cloned().collect(),
        }
    }

    pub(crate) fn restore_snapshot(&mut self, snapshot: Snapshot) {
        for vault in snapshot.vaults {
            self.vaults.insert(vault.name.to_ascii_lowercase(), vault);
        }
    }

    /// The vault a `Host` header addresses: `{name}.localhost[:port]` selects `name`, a host
    /// whose first label is a known vault selects it, anything else the default vault.
    fn route(&self, host: &str) -> Result<String, String> {
        let hostname = strip_port(host);
        if let Some(name) = hostname
            .strip_suffix(".localhost")
            .filter(|n| !n.contains('.'))
        {
            return if self.get(name).is_some() {
                Ok(name.to_ascii_lowercase())
            } else {
                Err(name.to_owned())
            };
        }
        let first = hostname.split('.').next().unwrap_or_default();
        if hostname.contains('.') && self.get(first).is_some() && first.parse::<u8>().is_err() {
            return Ok(first.to_ascii_lowercase());
        }
        Ok(self.default.to_ascii_lowercase())
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split(']').next().map_or(host, |h| &h[1..]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Whether `name` is a valid vault name (3-24 of `0-9a-zA-Z-`).
pub(crate) fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `name` is a valid secret name (1-127 of `0-9a-zA-Z-`).
pub(crate) fn valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(crate) fn save_snapshot(path: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    write_private(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)
}

/// Writes a file readable only by its owner (it holds secret values or keys).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub(crate) fn load_snapshot(path: &Path) -> Result<Option<Snapshot>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::State {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::State {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling.

/// Answers a vault request; the flag says whether stored secrets changed.
pub(crate) fn handle(
    call: &Call<'_>,
    info: &Info,
    signer: &Signer,
    state: &mut State,
) -> (Reply, bool) {
    let vault_name = match state.vaults.route(call.host) {
        Ok(name) => name,
        Err(unknown) => {
            return (
                kv_error(
                    404,
                    "VaultNotFound",
                    &format!(
                        "No vault named '{unknown}' in this emulator. Start it with --vault {unknown} or call Emulator::vault_url_for(\"{unknown}\")."
                    ),
                    None,
                ),
                false,
            );
        }
    };
    // Authentication comes first: the SDKs' first request is deliberately body-less.
    let principal = match authenticate(call, info, signer, state) {
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
    let permission = route.permission();
    let caller = Caller {
        client_id: &principal.identity.client_id,
        object_id: &principal.object_id,
        tenant_id: &info.tenant_id,
    };
    if state.faults.take_policy_denial(Target::Vault) {
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
    if !principal.permissions.allows(permission) {
        let model = state
            .vaults
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
    let now = unix_seconds(call.now);
    // Only a set needs a fresh version id (drawn before the vault is borrowed).
    let random_version = matches!(route, Route::Set(_))
        .then(|| state.random.hex32())
        .unwrap_or_default();
    let recover_delay = delay_secs(state.vaults.recover_delay);
    let delete_delay = delay_secs(state.vaults.delete_delay);
    let Some(vault) = state.vaults.get_mut(&vault_name) else {
        return (
            kv_error(404, "VaultNotFound", "The vault no longer exists.", None),
            false,
        );
    };
    let ctx = Ctx {
        origin: call.origin(),
        now,
        api_version,
        call,
    };
    match route {
        Route::List => (ctx.list(vault, ListKind::Secrets), false),
        Route::ListVersions(name) => (ctx.list(vault, ListKind::Versions(name)), false),
        Route::ListDeleted => (ctx.list(vault, ListKind::Deleted), false),
        Route::Set(name) => ctx.set(vault, name, random_version),
        Route::Get(name, version) => (ctx.get(vault, name, version), false),
        Route::Update(name, version) => ctx.update(vault, name, version),
        Route::Delete(name) => ctx.delete(vault, name, delete_delay),
        Route::GetDeleted(name) => (ctx.get_deleted(vault, name), false),
        Route::Purge(name) => ctx.purge(vault, name),
        Route::Recover(name) => ctx.recover(vault, name, recover_delay),
        Route::Backup(name) => (ctx.backup(vault, name), false),
        Route::Restore => ctx.restore(vault),
    }
}

fn delay_secs(delay: Duration) -> Option<i64> {
    (!delay.is_zero()).then(|| i64::try_from(delay.as_secs().max(1)).unwrap_or(i64::MAX / 2))
}

/// The `WWW-Authenticate` challenge every 401 carries.
pub(crate) fn challenge(info: &Info) -> String {
    format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        info.authority, info.tenant_id, info.vault_resource
    )
}

fn unauthorized(info: &Info, message: &str) -> Reply {
    kv_error(401, "Unauthorized", message, None).with_header("www-authenticate", challenge(info))
}

fn authenticate(
    call: &Call<'_>,
    info: &Info,
    signer: &Signer,
    state: &State,
) -> Result<Principal, Reply> {
    let missing = || unauthorized(info, "AKV10000: Request is missing a Bearer or PoP token.");
    let header = call.header("authorization").ok_or_else(missing)?;
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(missing)?;
    let claims: AccessClaims = signer.verify(token).map_err(|e| match e {
        TokenError::Malformed => unauthorized(
            info,
            "AKV10005: Invalid bearer token: it is not a well-formed JWT.",
        ),
        TokenError::BadSignature => unauthorized(
            info,
            "AKV10046: Unable to resolve the key used for signature validation.",
        ),
    })?;
    let now = unix_seconds(call.now);
    if claims.exp <= now {
        return Err(unauthorized(
            info,
            "[TokenExpired] Error validating token: 'S2S12086'.",
        ));
    }
    if claims.nbf > now + NBF_SKEW_SECS {
        return Err(unauthorized(info, "Token not yet valid."));
    }
    if claims.aud != info.vault_resource {
        return Err(unauthorized(
            info,
            &format!(
                "AKV10022: Invalid audience. Expected {}, found: {}.",
                info.vault_resource, claims.aud
            ),
        ));
    }
    // The message names the claim that did not match: the issuer when it is wrong, else the
    // tenant id (a right issuer with a wrong `tid` must not read "found <the right issuer>").
    let expected_issuer = format!("https://sts.windows.net/{}/", info.tenant_id);
    let found = if claims.iss != expected_issuer {
        Some(claims.iss.clone())
    } else if claims.tid != info.tenant_id {
        Some(format!("tid {}", claims.tid))
    } else {
        None
    };
    if let Some(found) = found {
        return Err(unauthorized(
            info,
            &format!("AKV10032: Invalid issuer. Expected one of {expected_issuer}, found {found}."),
        ));
    }
    // A token for an identity that has since been removed carries no permissions.
    Ok(state
        .principal(&claims.appid)
        .cloned()
        .unwrap_or_else(|| Principal {
            identity: crate::identity::Identity::managed(claims.appid.clone()),
            object_id: claims.oid.clone(),
            permissions: crate::identity::Permissions::none(),
        }))
}

/// The 403 for a caller without the permission `route` needs, shaped by the vault's model.
fn forbidden(caller: Caller<'_>, route: Route<'_>, model: AccessModel, vault: &str) -> Reply {
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

/// `{"error":{"code","message"[,"innererror":{"code"}]}}`.
pub(crate) fn kv_error(status: u16, code: &str, message: &str, inner: Option<&str>) -> Reply {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    Reply::json(status, &json!({"error": error}))
}

fn bad_parameter(message: &str) -> Reply {
    kv_error(400, "BadParameter", message, None)
}

fn not_found(name: &str) -> Reply {
    kv_error(
        404,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

fn deleted_not_found(name: &str) -> Reply {
    kv_error(
        404,
        "SecretNotFound",
        &format!("Deleted Secret not found: {name}"),
        None,
    )
}

#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    List,
    ListVersions(&'a str),
    ListDeleted,
    Set(&'a str),
    Get(&'a str, Option<&'a str>),
    Update(&'a str, Option<&'a str>),
    Delete(&'a str),
    GetDeleted(&'a str),
    Purge(&'a str),
    Recover(&'a str),
    Backup(&'a str),
    Restore,
}

impl<'a> Route<'a> {
    fn parse(call: &'a Call<'_>) -> Option<Self> {
        let mut segments: Vec<&'a str> = call.path.trim_start_matches('/').split('/').collect();
        // Both SDKs address "latest" as `/secrets/{name}/` (empty version).
        if segments.len() > 1 && segments.last() == Some(&"") {
            segments.pop();
        }
        let (collection, rest) = segments.split_first()?;
        let method = call.method;
        if collection.eq_ignore_ascii_case("secrets") {
            match (method, rest) {
                (&Method::GET, []) => Some(Self::List),
                (&Method::POST, ["restore"]) => Some(Self::Restore),
                (&Method::PUT, [name]) => Some(Self::Set(name)),
                (&Method::GET, [name]) => Some(Self::Get(name, None)),
                (&Method::PATCH, [name]) => Some(Self::Update(name, None)),
                (&Method::DELETE, [name]) => Some(Self::Delete(name)),
                (&Method::GET, [name, "versions"]) => Some(Self::ListVersions(name)),
                (&Method::POST, [name, "backup"]) => Some(Self::Backup(name)),
                (&Method::GET, [name, version]) => Some(Self::Get(name, Some(version))),
                (&Method::PATCH, [name, version]) => Some(Self::Update(name, Some(version))),
                _ => None,
            }
        } else if collection.eq_ignore_ascii_case("deletedsecrets") {
            match (method, rest) {
                (&Method::GET, []) => Some(Self::ListDeleted),
                (&Method::GET, [name]) => Some(Self::GetDeleted(name)),
                (&Method::DELETE, [name]) => Some(Self::Purge(name)),
                (&Method::POST, [name, "recover"]) => Some(Self::Recover(name)),
                _ => None,
            }
        } else {
            None
        }
    }

    fn permission(self) -> SecretPermission {
        match self {
            Self::List | Self::ListVersions(_) | Self::ListDeleted => SecretPermission::List,
            Self::Set(_) | Self::Update(..) => SecretPermission::Set,
            Self::Get(..) | Self::GetDeleted(_) => SecretPermission::Get,
            Self::Delete(_) => SecretPermission::Delete,
            Self::Purge(_) => SecretPermission::Purge,
            Self::Recover(_) => SecretPermission::Recover,
            Self::Backup(_) => SecretPermission::Backup,
            Self::Restore => SecretPermission::Restore,
        }
    }

    fn name(self) -> Option<&'a str> {
        match self {
            Self::ListVersions(n)
            | Self::Set(n)
            | Self::Get(n, _)
            | Self::Update(n, _)
            | Self::Delete(n)
            | Self::GetDeleted(n)
            | Self::Purge(n)
            | Self::Recover(n)
            | Self::Backup(n) => Some(n),
            Self::List | Self::ListDeleted | Self::Restore => None,
        }
    }
}

/// The writable attributes of `SecretSetParameters` / `SecretUpdateParameters`.
#[derive(Debug, Default, Deserialize)]
struct AttributesIn {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetIn {
    value: Option<String>,
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    attributes: Option<AttributesIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateIn {
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    attributes: Option<AttributesIn>,
}

#[derive(Debug, Deserialize)]
struct RestoreIn {
    value: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BackupBlob {
    format: String,
    secret: Secret,
}

#[derive(Clone, Copy)]
enum ListKind<'a> {
    Secrets,
    Versions(&'a str),
    Deleted,
}

struct Ctx<'c, 'a> {
    origin: String,
    now: i64,
    api_version: String,
    call: &'c Call<'a>,
}

impl Ctx<'_, '_> {
    fn attributes(&self, vault: &Vault, version: &Version) -> Value {
        let mut attrs = json!({
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": vault.recovery_level(),
            "recoverableDays": vault.retention_days,
        });
        if let Some(nbf) = version.nbf {
            attrs["nbf"] = json!(nbf);
        }
        if let Some(exp) = version.exp {
            attrs["exp"] = json!(exp);
        }
        attrs
    }

    fn decorate(&self, vault: &Vault, out: &mut Value, version: &Version) {
        out["attributes"] = self.attributes(vault, version);
        if let Some(content_type) = &version.content_type {
            out["contentType"] = json!(content_type);
        }
        if let Some(tags) = &version.tags {
            out["tags"] = json!(tags);
        }
    }

    fn bundle(&self, vault: &Vault, secret: &Secret, version: &Version, with_value: bool) -> Value {
        let mut out =
            json!({"id": format!("{}/secrets/{}/{}", self.origin, secret.name, version.id)});
        if with_value {
            out["value"] = json!(version.value);
        }
        self.decorate(vault, &mut out, version);
        out
    }

    fn deleted_fields(&self, out: &mut Value, deleted: &Deleted) {
        out["recoveryId"] = json!(format!(
            "{}/deletedsecrets/{}",
            self.origin, deleted.secret.name
        ));
        out["deletedDate"] = json!(deleted.deleted_date);
        out["scheduledPurgeDate"] = json!(deleted.scheduled_purge_date);
    }

    fn deleted_bundle(&self, vault: &Vault, deleted: &Deleted) -> Value {
        let Some(latest) = deleted.secret.latest() else {
            return json!({});
        };
        let mut out = self.bundle(vault, &deleted.secret, latest, false);
        self.deleted_fields(&mut out, deleted);
        out
    }

    fn visible<'v>(&self, vault: &'v Vault, name: &str) -> Option<&'v Secret> {
        vault
            .secrets
            .get(&name.to_ascii_lowercase())
            .filter(|s| s.visible(self.now))
    }

    fn body<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, Reply> {
        if self.call.body.is_empty() {
            return Ok(T::default());
        }
        serde_json::from_slice(self.call.body).map_err(|e| {
            bad_parameter(&format!(
                "The request body is not a valid JSON document for this operation: {e}"
            ))
        })
    }

    fn list(&self, vault: &Vault, kind: ListKind<'_>) -> Reply {
        let page_size = match self.call.query_param("maxresults") {
            None => DEFAULT_PAGE,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=DEFAULT_PAGE).contains(&n) => n,
                _ => {
                    return bad_parameter(&format!(
                        "Invalid maxresults value '{raw}': it must be an integer between 1 and 25."
                    ));
                }
            },
        };
        let offset = match self.call.query_param("$skiptoken") {
            None => 0,
            Some(token) => match decode_skiptoken(&token) {
                Some(offset) => offset,
                None => {
                    return bad_parameter(
                        "The $skiptoken is not valid; use the nextLink as returned.",
                    );
                }
            },
        };
        let (items, path): (Vec<Value>, String) = match kind {
            ListKind::Secrets => (
                vault
                    .secrets
                    .values()
                    .filter(|s| s.visible(self.now))
                    .filter_map(|s| {
                        let latest = s.latest()?;
                        let mut item = json!({"id": format!("{}/secrets/{}", self.origin, s.name)});
                        self.decorate(vault, &mut item, latest);
                        Some(item)
                    })
                    .collect(),
                "/secrets".to_owned(),
            ),
            ListKind::Versions(name) => {
                let Some(secret) = self.visible(vault, name) else {
                    return not_found(name);
                };
                (
                    secret
                        .versions
                        .iter()
                        .map(|v| {
                            let mut item = json!({"id": format!("{}/secrets/{}/{}", self.origin, secret.name, v.id)});
                            self.decorate(vault, &mut item, v);
                            item
                        })
                        .collect(),
                    format!("/secrets/{name}/versions"),
                )
            }
            ListKind::Deleted => (
                vault
                    .deleted
                    .values()
                    .filter(|d| d.visible(self.now))
                    .filter_map(|d| {
                        let latest = d.secret.latest()?;
                        let mut item =
                            json!({"id": format!("{}/secrets/{}", self.origin, d.secret.name)});
                        self.decorate(vault, &mut item, latest);
                        self.deleted_fields(&mut item, d);
                        Some(item)
                    })
                    .collect(),
                "/deletedsecrets".to_owned(),
            ),
        };
        let page: Vec<Value> = items.iter().skip(offset).take(page_size).cloned().collect();
        let next = offset + page.len();
        let next_link = (next < items.len()).then(|| {
            format!(
                "{}{path}?api-version={}&$skiptoken={}&maxresults={page_size}",
                self.origin,
                self.api_version,
                encode_skiptoken(next)
            )
        });
        Reply::json(200, &json!({"value": page, "nextLink": next_link}))
    }

    fn conflict_if_blocked(&self, vault: &Vault, name: &str) -> Option<Reply> {
        let key = name.to_ascii_lowercase();
        if let Some(deleted) = vault.deleted.get(&key) {
            return Some(if deleted.visible(self.now) {
                kv_error(
                    409,
                    "Conflict",
                    &format!(
                        "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
                    ),
                    Some("ObjectIsDeletedButRecoverable"),
                )
            } else {
                kv_error(
                    409,
                    "Conflict",
                    &format!("Secret {name} is currently being deleted."),
                    Some("ObjectIsBeingDeleted"),
                )
            });
        }
        if vault
            .secrets
            .get(&key)
            .is_some_and(|s| !s.visible(self.now))
        {
            return Some(kv_error(
                409,
                "Conflict",
                &format!(
                    "Secret {name} is currently being recovered and cannot be re-created; retry later."
                ),
                Some("ObjectIsBeingRecovered"),
            ));
        }
        None
    }

    fn set(&self, vault: &mut Vault, name: &str, version_id: String) -> (Reply, bool) {
        let input: SetIn = match self.body() {
            Ok(b) => b,
            Err(r) => return (r, false),
        };
        let Some(value) = input.value else {
            return (
                bad_parameter("The request body must contain a 'value' property."),
                false,
            );
        };
        if value.len() > MAX_VALUE_BYTES {
            return (
                bad_parameter(&format!(
                    "The secret value is {} bytes; Key Vault accepts at most {MAX_VALUE_BYTES} bytes (25 KB).",
                    value.len()
                )),
                false,
            );
        }
        if let Err(r) = validate_meta(input.content_type.as_deref(), input.tags.as_ref()) {
            return (r, false);
        }
        if let Some(r) = self.conflict_if_blocked(vault, name) {
            return (r, false);
        }
        let attributes = input.attributes.unwrap_or_default();
        let version = Version {
            id: version_id,
            value,
            content_type: input.content_type,
            tags: input.tags,
            enabled: attributes.enabled.unwrap_or(true),
            nbf: attributes.nbf,
            exp: attributes.exp,
            created: self.now,
            updated: self.now,
        };
        vault.put(name, version);
        let secret = &vault.secrets[&name.to_ascii_lowercase()];
        let Some(latest) = secret.latest() else {
            return (not_found(name), true);
        };
        (
            Reply::json(200, &self.bundle(vault, secret, latest, true)),
            true,
        )
    }

    fn find_version<'v>(
        &self,
        vault: &'v Vault,
        name: &str,
        version: Option<&str>,
    ) -> Result<(&'v Secret, &'v Version), Reply> {
        let secret = self.visible(vault, name).ok_or_else(|| not_found(name))?;
        let found = match version {
            None => secret.latest(),
            Some(v) => secret
                .versions
                .iter()
                .find(|x| x.id.eq_ignore_ascii_case(v)),
        };
        found
            .map(|v| (secret, v))
            .ok_or_else(|| not_found(&format!("{name}/{}", version.unwrap_or_default())))
    }

    fn get(&self, vault: &Vault, name: &str, version: Option<&str>) -> Reply {
        match self.find_version(vault, name, version) {
            Err(r) => r,
            Ok((_, v)) if !v.enabled => kv_error(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                Some("SecretDisabled"),
            ),
            Ok((secret, v)) => Reply::json(200, &self.bundle(vault, secret, v, true)),
        }
    }

    fn update(&self, vault: &mut Vault, name: &str, version: Option<&str>) -> (Reply, bool) {
        let input: UpdateIn = match self.body() {
            Ok(b) => b,
            Err(r) => return (r, false),
        };
        if let Err(r) = validate_meta(input.content_type.as_deref(), input.tags.as_ref()) {
            return (r, false);
        }
        let version_id = match self.find_version(vault, name, version) {
            Ok((_, v)) => v.id.clone(),
            Err(r) => return (r, false),
        };
        let now = self.now;
        let key = name.to_ascii_lowercase();
        let Some(secret) = vault.secrets.get_mut(&key) else {
            return (not_found(name), false);
        };
        let Some(target) = secret.versions.iter_mut().find(|v| v.id == version_id) else {
            return (not_found(name), false);
        };
        if let Some(content_type) = input.content_type {
            target.content_type = Some(content_type);
        }
        if let Some(tags) = input.tags {
            target.tags = Some(tags);
        }
        if let Some(attrs) = input.attributes {
            if let Some(enabled) = attrs.enabled {
                target.enabled = enabled;
            }
            if attrs.nbf.is_some() {
                target.nbf = attrs.nbf;
            }
            if attrs.exp.is_some() {
                target.exp = attrs.exp;
            }
        }
        target.updated = now;
        let secret = &vault.secrets[&key];
        let Some(v) = secret.versions.iter().find(|v| v.id == version_id) else {
            return (not_found(name), true);
        };
        (
            Reply::json(200, &self.bundle(vault, secret, v, false)),
            true,
        )
    }

    fn delete(&self, vault: &mut Vault, name: &str, delay: Option<i64>) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        if self.visible(vault, name).is_none() {
            return (not_found(name), false);
        }
        let Some(secret) = vault.secrets.remove(&key) else {
            return (not_found(name), false);
        };
        let deleted = Deleted {
            secret: Secret {
                visible_from: None,
                ..secret
            },
            deleted_date: self.now,
            scheduled_purge_date: self.now + i64::from(vault.retention_days) * 86_400,
            visible_from: delay.map(|d| self.now + d),
        };
        let body = self.deleted_bundle(vault, &deleted);
        vault.deleted.insert(key, deleted);
        (Reply::json(200, &body), true)
    }

    fn get_deleted(&self, vault: &Vault, name: &str) -> Reply {
        match vault
            .deleted
            .get(&name.to_ascii_lowercase())
            .filter(|d| d.visible(self.now))
        {
            Some(deleted) => Reply::json(200, &self.deleted_bundle(vault, deleted)),
            None => deleted_not_found(name),
        }
    }

    fn purge(&self, vault: &mut Vault, name: &str) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        match vault.deleted.get(&key) {
            None => return (deleted_not_found(name), false),
            Some(d) if !d.visible(self.now) => {
                return (
                    kv_error(
                        409,
                        "Conflict",
                        &format!("Secret {name} is currently being deleted."),
                        Some("ObjectIsBeingDeleted"),
                    ),
                    false,
                );
            }
            Some(_) => {}
        }
        if vault.purge_protection {
            return (
                kv_error(
                    403,
                    "Forbidden",
                    &format!(
                        "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: {};location=eastus",
                        vault.name
                    ),
                    None,
                ),
                false,
            );
        }
        vault.deleted.remove(&key);
        (Reply::empty(204), true)
    }

    fn recover(&self, vault: &mut Vault, name: &str, delay: Option<i64>) -> (Reply, bool) {
        let key = name.to_ascii_lowercase();
        match vault.deleted.get(&key) {
            Some(d) if d.visible(self.now) => {}
            _ => return (deleted_not_found(name), false),
        }
        let Some(deleted) = vault.deleted.remove(&key) else {
            return (deleted_not_found(name), false);
        };
        let mut secret = deleted.secret;
        secret.visible_from = delay.map(|d| self.now + d);
        let body = secret
            .latest()
            .map(|latest| self.bundle(vault, &secret, latest, false))
            .unwrap_or_default();
        vault.secrets.insert(key, secret);
        (Reply::json(200, &body), true)
    }

    fn backup(&self, vault: &Vault, name: &str) -> Reply {
        let Some(secret) = self.visible(vault, name) else {
            return not_found(name);
        };
        let blob = BackupBlob {
            format: BACKUP_FORMAT.to_owned(),
            secret: secret.clone(),
        };
        let bytes = serde_json::to_vec(&blob).unwrap_or_default();
        Reply::json(200, &json!({"value": URL_SAFE_NO_PAD.encode(bytes)}))
    }

    fn restore(&self, vault: &mut Vault) -> (Reply, bool) {
        let input: RestoreIn = match self.body::<Option<RestoreIn>>() {
            Ok(Some(b)) => b,
            Ok(None) => RestoreIn { value: None },
            Err(r) => return (r, false),
        };
        let Some(value) = input.value else {
            return (
                bad_parameter(
                    "The request body must contain a 'value' property with the backup blob.",
                ),
                false,
            );
        };
        let blob = URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BackupBlob>(&bytes).ok())
            .filter(|b| b.format == BACKUP_FORMAT && !b.secret.versions.is_empty());
        let Some(blob) = blob else {
            return (
                bad_parameter("Backup blob is corrupt or was not produced by a secret backup."),
                false,
            );
        };
        let key = blob.secret.name.to_ascii_lowercase();
        if vault.secrets.contains_key(&key) || vault.deleted.contains_key(&key) {
            return (
                kv_error(
                    409,
                    "Conflict",
                    &format!(
                        "Secret {} already exists in this vault (possibly soft-deleted); delete and purge it before restoring.",
                        blob.secret.name
                    ),
                    None,
                ),
                false,
            );
        }
        let mut secret = blob.secret;
        secret.visible_from = None;
        let body = secret
            .latest()
            .map(|latest| self.bundle(vault, &secret, latest, false))
            .unwrap_or_default();
        vault.secrets.insert(key, secret);
        (Reply::json(200, &body), true)
    }
}

fn validate_meta(
    content_type: Option<&str>,
    tags: Option<&BTreeMap<String, String>>,
) -> Result<(), Reply> {
    if content_type.is_some_and(|c| c.chars().count() > MAX_CONTENT_TYPE) {
        return Err(bad_parameter(&format!(
            "contentType is longer than {MAX_CONTENT_TYPE} characters."
        )));
    }
    if let Some(tags) = tags {
        if tags.len() > MAX_TAGS {
            return Err(bad_parameter(&format!(
                "A secret can have at most {MAX_TAGS} tags; {} were given.",
                tags.len()
            )));
        }
        if tags
            .iter()
            .any(|(k, v)| k.chars().count() > MAX_TAG_CHARS || v.chars().count() > MAX_TAG_CHARS)
        {
            return Err(bad_parameter(&format!(
                "Tag names and values are limited to {MAX_TAG_CHARS} characters."
            )));
        }
    }
    Ok(())
}

fn encode_skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{{\"offset\":{offset}}}"))
}

fn decode_skiptoken(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("offset")?.as_u64()?).ok()
}

/// A version for direct seeding through the library API.
pub(crate) fn seeded_version(id: String, value: &str, now: SystemTime) -> Version {
    let now = unix_seconds(now);
    Version {
        id,
        value: value.to_owned(),
        content_type: None,
        tags: None,
        enabled: true,
        nbf: None,
        exp: None,
        created: now,
        updated: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_like_key_vault() {
        assert!(valid_secret_name("db-Pass-1"));
        assert!(valid_secret_name("1-leading-digit"));
        assert!(!valid_secret_name("under_score"));
        assert!(!valid_secret_name(""));
        assert!(!valid_secret_name(&"a".repeat(128)));
        assert!(valid_secret_name(&"a".repeat(127)));
        assert!(valid_vault_name("my-vault"));
        assert!(!valid_vault_name("ab"));
    }

    #[test]
    fn hosts_route_to_vaults() {
        let mut vaults = Vaults {
            default: "default".into(),
            vaults: BTreeMap::new(),
            recover_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            purge_protection: false,
            retention_days: 90,
            access_model: AccessModel::default(),
        };
        vaults.ensure("default");
        vaults.ensure("Team-A");
        assert_eq!(vaults.route("127.0.0.1:8443"), Ok("default".into()));
        assert_eq!(vaults.route("localhost:8443"), Ok("default".into()));
        assert_eq!(vaults.route("team-a.localhost:8443"), Ok("team-a".into()));
        assert_eq!(vaults.route("team-a.vault.azure.net"), Ok("team-a".into()));
        assert_eq!(vaults.route("nope.localhost:1"), Err("nope".into()));
    }

    #[test]
    fn debug_of_stored_versions_redacts_the_value() {
        let mut vault = Vault::new("v", false, 90, AccessModel::default());
        vault.put(
            "db",
            Version {
                id: "0123".into(),
                value: "s3cr3t-value".into(),
                content_type: None,
                tags: None,
                enabled: true,
                nbf: None,
                exp: None,
                created: 1,
                updated: 1,
            },
        );
        let shown = format!("{vault:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("0123"), "{shown}");
    }

    #[test]
    fn skiptokens_round_trip() {
        assert_eq!(decode_skiptoken(&encode_skiptoken(42)), Some(42));
        assert_eq!(decode_skiptoken("garbage!"), None);
    }
}
