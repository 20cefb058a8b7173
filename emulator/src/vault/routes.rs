//! Which vault and which operation a request addresses: the vault from the `Host` header, the
//! operation from the method and the path, and the permission each operation needs.

use http::Method;

use super::model::Vaults;
use crate::identity::SecretPermission;
use crate::wire::Call;

impl Vaults {
    /// The vault a `Host` header addresses: `{name}.localhost[:port]` selects `name`, a host
    /// whose first label is a known vault selects it, anything else the default vault. `Err`
    /// carries the name of a `*.localhost` vault that does not exist.
    pub(super) fn addressed_by(&self, host: &str) -> Result<String, String> {
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

/// A secrets-API operation and the names in its path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Route<'a> {
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
    /// The operation `call` asks for; `None` for a path the secrets API does not have.
    pub(super) fn parse(call: &'a Call<'_>) -> Option<Self> {
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

    /// The permission the operation needs.
    pub(super) fn permission(self) -> SecretPermission {
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

    /// The secret name in the path, if the operation has one.
    pub(super) fn name(self) -> Option<&'a str> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::access::AccessModel;

    #[test]
    fn hosts_address_vaults() {
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
        assert_eq!(vaults.addressed_by("127.0.0.1:8443"), Ok("default".into()));
        assert_eq!(vaults.addressed_by("localhost:8443"), Ok("default".into()));
        assert_eq!(
            vaults.addressed_by("team-a.localhost:8443"),
            Ok("team-a".into())
        );
        assert_eq!(
            vaults.addressed_by("team-a.vault.azure.net"),
            Ok("team-a".into())
        );
        assert_eq!(vaults.addressed_by("nope.localhost:1"), Err("nope".into()));
    }
}
