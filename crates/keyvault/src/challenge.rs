//! The Key Vault authentication challenge: parsing `WWW-Authenticate` and checking that the
//! resource it names belongs to the vault.

use url::Url;

use crate::{Error, Result};

/// What a vault's 401 challenge asks for: a token for `scope`, from `tenant`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// `scope`, else `resource` + `/.default`.
    pub(crate) scope: String,
    /// The first path segment of `authorization` / `authorization_uri`.
    pub(crate) tenant: Option<String>,
}

impl Challenge {
    /// Parses `Bearer authorization="https://login.windows.net/{tenant}", resource="https://vault.azure.net"`
    /// and its variants (`authorization_uri`, `scope`, unquoted values, any order).
    pub(crate) fn parse(header: &str) -> Result<Self> {
        let invalid = |problem: &str| Error::InvalidChallenge {
            problem: problem.to_owned(),
        };
        let rest = header.trim_start();
        let (scheme, params) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(invalid("the scheme is not Bearer"));
        }
        let params = parse_params(params);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let scope = match (get("scope"), get("resource")) {
            (Some(scope), _) => scope.to_owned(),
            (None, Some(resource)) => format!("{}/.default", resource.trim_end_matches('/')),
            (None, None) => return Err(invalid("it names neither a scope nor a resource")),
        };
        let tenant = get("authorization")
            .or_else(|| get("authorization_uri"))
            .and_then(|uri| Url::parse(uri).ok())
            .and_then(|uri| {
                uri.path_segments()
                    .and_then(|mut s| s.next().map(str::to_owned))
            })
            .filter(|t| !t.is_empty());
        Ok(Self { scope, tenant })
    }

    /// Checks that the resource is the vault's parent domain: its host must be a dot-suffix of
    /// the vault host (`vault.azure.net` for `myvault.vault.azure.net`) and, when the resource
    /// names a port, the ports must match.
    pub(crate) fn verify_resource(&self, vault: &Url) -> Result<()> {
        let resource = self.scope.strip_suffix("/.default").unwrap_or(&self.scope);
        let vault_host = vault.host_str().unwrap_or_default().to_ascii_lowercase();
        let mismatch = || Error::ChallengeResourceMismatch {
            resource: resource.to_owned(),
            vault_host: vault_host.clone(),
        };
        let url = Url::parse(resource).map_err(|_| mismatch())?;
        let host = url.host_str().ok_or_else(mismatch)?.to_ascii_lowercase();
        let suffix_ok = vault_host.len() > host.len()
            && vault_host.ends_with(&host)
            && vault_host.as_bytes()[vault_host.len() - host.len() - 1] == b'.';
        let port_ok = url.port().is_none() || url.port() == vault.port_or_known_default();
        if suffix_ok && port_ok {
            Ok(())
        } else {
            Err(mismatch())
        }
    }
}

/// The scope a vault's challenge most likely names, known before asking: the vault host's
/// parent domain, with the vault's port when it is not the default (`https://vault.azure.net/.default`
/// for `https://myvault.vault.azure.net/`, as every Azure cloud's vaults answer; `https://localhost:8443/.default`
/// for `https://team-a.localhost:8443/`). `None` for an IP address or a host without a parent
/// domain. Only a guess: a token is sent to the vault only for the scope its challenge names.
pub(crate) fn predicted_scope(vault: &Url) -> Option<String> {
    let url::Host::Domain(host) = vault.host()? else {
        return None;
    };
    let (_, parent) = host.split_once('.')?;
    if parent.is_empty() || parent.ends_with('.') {
        return None;
    }
    let parent = parent.to_ascii_lowercase();
    Some(match vault.port() {
        Some(port) => format!("https://{parent}:{port}/.default"),
        None => format!("https://{parent}/.default"),
    })
}

/// `key=value` pairs separated by commas and/or spaces; values may be double-quoted (with
/// `\"` escapes).
fn parse_params(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            // A bare token (e.g. a second scheme) carries nothing we need.
            if chars.peek().is_none() {
                return out;
            }
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| {
                chars.next_if(|c| *c != ',' && !c.is_whitespace())
            }));
        }
        out.push((key.trim().to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predicted_scope_is_the_parent_domain_that_verification_accepts() {
        let predict = |vault: &str| predicted_scope(&Url::parse(vault).unwrap());
        assert_eq!(
            predict("https://MyVault.vault.azure.net/").as_deref(),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(
            predict("https://team-a.localhost:8443/").as_deref(),
            Some("https://localhost:8443/.default")
        );
        assert_eq!(predict("https://127.0.0.1:8443/"), None);
        assert_eq!(predict("https://[::1]:8443/"), None);
        assert_eq!(predict("https://localhost:8443/"), None);
        for vault in [
            "https://myvault.vault.azure.net/",
            "https://team-a.localhost:8443/",
        ] {
            let vault = Url::parse(vault).unwrap();
            let challenge = Challenge {
                scope: predicted_scope(&vault).unwrap(),
                tenant: None,
            };
            challenge.verify_resource(&vault).unwrap();
        }
    }

    fn check(header: &str, scope: &str, tenant: Option<&str>) {
        let c = Challenge::parse(header).unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(c.scope, scope, "{header}");
        assert_eq!(c.tenant.as_deref(), tenant, "{header}");
    }

    #[test]
    fn challenge_variants() {
        check(
            r#"Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#,
            "https://vault.azure.net/.default",
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        );
        check(
            r#"Bearer authorization_uri="https://login.microsoftonline.com/t1/oauth2/authorize", scope="https://vault.azure.net/.default""#,
            "https://vault.azure.net/.default",
            Some("t1"),
        );
        check(
            r#"bearer resource="https://localhost:8443/",authorization="https://127.0.0.1:8443/t2""#,
            "https://localhost:8443/.default",
            Some("t2"),
        );
        check(
            "Bearer authorization=https://login.windows.net/t3 resource=https://vault.azure.cn",
            "https://vault.azure.cn/.default",
            Some("t3"),
        );
        check(
            r#"Bearer resource="https://vault.azure.net", error="insufficient_claims", claims="e30=""#,
            "https://vault.azure.net/.default",
            None,
        );
    }

    #[test]
    fn unusable_challenges_are_typed_errors() {
        for header in [
            "Basic realm=\"x\"",
            "Bearer",
            "Bearer authorization=\"https://login/t\"",
            "",
        ] {
            assert!(
                matches!(
                    Challenge::parse(header),
                    Err(Error::InvalidChallenge { .. })
                ),
                "{header}"
            );
        }
    }

    /// The outcomes checked against the Python SDK's validator (azure-protocols.md B2.3).
    #[test]
    fn resource_verification() {
        let check = |resource: &str, vault: &str, ok: bool| {
            let challenge = Challenge {
                scope: format!("{resource}/.default"),
                tenant: None,
            };
            let result = challenge.verify_resource(&Url::parse(vault).unwrap());
            assert_eq!(result.is_ok(), ok, "{resource} vs {vault}: {result:?}");
        };
        check(
            "https://vault.azure.net",
            "https://myvault.vault.azure.net/",
            true,
        );
        check(
            "https://vault.azure.net",
            "https://myvault.vault.azure.net:443/",
            true,
        );
        check(
            "https://localhost:8443",
            "https://myvault.localhost:8443/",
            true,
        );
        check("https://localhost", "https://myvault.localhost:8443/", true);
        check(
            "https://localhost:9999",
            "https://myvault.localhost:8443/",
            false,
        );
        check("https://vault.azure.net", "https://localhost:8443/", false);
        check("https://localhost:8443", "https://localhost:8443/", false);
        check(
            "https://evil.net",
            "https://myvault.vault.azure.net/",
            false,
        );
        check("https://t.net", "https://myvault.vaultt.net/", false);
        check("not a url", "https://myvault.vault.azure.net/", false);
    }
}
