//! Validated Key Vault names: secret names and version ids.

use std::{fmt, str::FromStr};

use crate::{Error, Result};

/// The longest secret name Key Vault accepts.
const MAX_NAME_CHARS: usize = 127;

/// The rule a secret name must follow, quoted in errors.
pub(crate) const NAME_RULE: &str =
    "1 to 127 characters, each one of 0-9, a-z, A-Z or '-' (a leading digit or '-' is allowed)";

/// A Key Vault secret name: 1 to 127 characters of `0-9`, `a-z`, `A-Z` and `-`
/// (`^[0-9a-zA-Z-]{1,127}$`).
///
/// Every [`SecretClient`](crate::SecretClient) operation takes a `SecretName`, so a bad name is
/// reported before any request is sent. Key Vault compares names case-insensitively; this type
/// keeps the spelling it was given and compares exactly.
///
/// ```
/// use vaultref_keyvault::SecretName;
///
/// let name: SecretName = "db-password".parse()?;
/// assert_eq!(name.as_str(), "db-password");
/// assert!(SecretName::new("db_password").is_err()); // '_' is not allowed
/// assert!(SecretName::new("").is_err());
/// # Ok::<(), vaultref_keyvault::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    /// Validates `name`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSecretName`] naming the rule the name breaks.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        match describe_problem(&name) {
            None => Ok(Self(name)),
            Some(problem) => Err(Error::InvalidSecretName {
                name: RejectedName(name),
                problem,
                rule: NAME_RULE,
            }),
        }
    }

    /// The name as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, consumed.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

/// What is wrong with `name` as a Key Vault secret name, described without echoing it (a
/// value pasted where a name belongs must not reach logs): its length, and the first
/// character that is not allowed with its position. `None` when the name is valid.
fn describe_problem(name: &str) -> Option<String> {
    let length = name.chars().count();
    let bad = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'));
    let long = length > MAX_NAME_CHARS;
    match (length, long, bad) {
        (0, _, _) => Some("it is empty".to_owned()),
        (_, false, None) => None,
        (_, true, None) => Some(format!(
            "it is {length} characters long, the limit is {MAX_NAME_CHARS}"
        )),
        (_, long, Some((index, c))) => Some(format!(
            "it is {length} characters long{} and character {} is {c:?}, which is not allowed",
            if long {
                format!(" (the limit is {MAX_NAME_CHARS})")
            } else {
                String::new()
            },
            index + 1
        )),
    }
}

/// A name that was refused. The caller may read it ([`RejectedName::expose`]), but `Debug` and
/// `Display` show only its length: users paste secrets where names belong.
#[derive(Clone, PartialEq, Eq)]
pub struct RejectedName(String);

impl RejectedName {
    /// The name as given. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RejectedName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Debug for RejectedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RejectedName(<{} characters>)", self.0.chars().count())
    }
}

impl fmt::Display for RejectedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} characters>", self.0.chars().count())
    }
}

/// Checks a secret version id (Key Vault uses 32 lowercase hex characters) before it is put in a
/// URL path: letters and digits only, 1 to 64 characters.
pub(crate) fn validate_version(version: &str) -> Result<()> {
    let ok = !version.is_empty()
        && version.len() <= 64
        && version.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "a secret version of {} characters is invalid: a version id is the 32 hexadecimal characters at the end of a secret id",
            version.chars().count()
        )))
    }
}

impl FromStr for SecretName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<&str> for SecretName {
    type Error = Error;

    fn try_from(value: &str) -> Result<Self> {
        Self::new(value)
    }
}

impl TryFrom<String> for SecretName {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

/// Hashes and compares as its text, so maps keyed by names can be searched with a `&str`.
impl std::borrow::Borrow<str> for SecretName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SecretName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected_problem: Option<&str>) {
        match (SecretName::new(name), expected_problem) {
            (Ok(n), None) => assert_eq!(n.as_str(), name),
            (Err(Error::InvalidSecretName { problem, rule, .. }), Some(expected)) => {
                assert!(problem.contains(expected), "{name:?}: {problem}");
                assert_eq!(rule, NAME_RULE);
            }
            (other, expected) => panic!("{name:?}: got {other:?}, expected problem {expected:?}"),
        }
    }

    #[test]
    fn names_follow_the_key_vault_rule() {
        check("a", None);
        check("db-password", None);
        check("0starts-with-digit", None);
        check("-leading-dash", None);
        check("MixedCase-09", None);
        check(&"x".repeat(127), None);
        check("", Some("empty"));
        check(&"x".repeat(128), Some("128 characters"));
        check("under_score", Some("'_'"));
        check("dot.name", Some("'.'"));
        check("slash/name", Some("'/'"));
        check("space name", Some("' '"));
        check("é", Some("'é'"));
        check("q?x=1", Some("'?'"));
    }

    #[test]
    fn long_bad_names_are_shortened_in_errors() {
        let err = SecretName::new("v".repeat(5000)).unwrap_err();
        assert!(err.to_string().len() < 600, "{err}");
    }

    #[test]
    fn bad_names_are_described_not_echoed() {
        for (name, described) in [
            (
                "password=SuperSecret1",
                "it is 21 characters long and character 9 is '=', which is not allowed",
            ),
            (
                "db_password",
                "it is 11 characters long and character 3 is '_', which is not allowed",
            ),
            ("line\nbreak", "character 5 is '\\n'"),
        ] {
            let err = SecretName::new(name).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(described), "{shown}");
            assert!(!shown.contains(name), "{shown}");
            assert!(!format!("{err:?}").contains(name), "{err:?}");
            assert!(matches!(&err, Error::InvalidSecretName { name: n, .. } if n == name));
        }
        let long_and_bad = format!("{}_", "x".repeat(200));
        let shown = SecretName::new(long_and_bad).unwrap_err().to_string();
        assert!(
            shown.contains("201 characters long (the limit is 127) and character 201 is '_'"),
            "{shown}"
        );
        let shown = validate_version("SuperSecretVersion!")
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("SuperSecret"), "{shown}");
    }

    #[test]
    fn versions_are_checked_before_use_in_a_path() {
        assert!(validate_version("8095fa90d89344e984c1e4328e52b711").is_ok());
        for bad in ["", "../x", "a/b", "a?b", &"f".repeat(65)] {
            assert!(validate_version(bad).is_err(), "{bad:?}");
        }
    }
}
