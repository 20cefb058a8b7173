//! The one environment source: where every crate reads environment variables.

use std::{collections::BTreeMap, fmt, sync::Arc};

/// `SSL_CERT_FILE`: a PEM bundle of extra CA certificates to trust.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// A source of environment variables: a fixed map (tests, a snapshot of the process) or the
/// live process environment.
///
/// No crate of vaultref reads `std::env` for its settings: they all take an `Environment`, so
/// tests run side by side with different settings and nothing mutates the process
/// environment. Two readings exist because the two consumers have different rules:
/// [`get`](Self::get) returns a variable that is set, even to the empty string (Dropwizard's
/// `${VAR}` substitution treats an empty variable as set); [`var`](Self::var) treats empty as
/// unset (as Python's azure-identity does for `AZURE_*`). `Debug` shows names, never values
/// (`AZURE_CLIENT_SECRET` is one of them). The default is the empty environment.
///
/// ```
/// use vaultref_transport::Environment;
///
/// let env = Environment::from_vars([("AZURE_TENANT_ID", "contoso.onmicrosoft.com"), ("EMPTY", "")]);
/// assert_eq!(env.var("AZURE_TENANT_ID").as_deref(), Some("contoso.onmicrosoft.com"));
/// assert_eq!(env.var("EMPTY"), None);
/// assert_eq!(env.get("EMPTY").as_deref(), Some(""));
/// assert!(!format!("{env:?}").contains("contoso"));
/// ```
#[derive(Clone, Default)]
pub struct Environment {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Fixed(Arc<BTreeMap<String, String>>),
    /// Read at each lookup.
    Process,
}

impl Default for Source {
    fn default() -> Self {
        Self::Fixed(Arc::default())
    }
}

impl Environment {
    /// The process environment, read at the time each variable is looked up.
    #[must_use]
    pub fn process() -> Self {
        Self {
            source: Source::Process,
        }
    }

    /// A snapshot of the process environment now (variables that are not valid UTF-8 are left
    /// out).
    #[must_use]
    pub fn from_process() -> Self {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// A fixed set of variables; everything else is unset.
    #[must_use]
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            source: Source::Fixed(Arc::new(map)),
        }
    }

    /// The same as [`from_vars`](Self::from_vars), under the name configuration code uses.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self::from_vars(pairs)
    }

    /// The value of `name` when it is set, even to the empty string.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<String> {
        match &self.source {
            Source::Fixed(map) => map.get(name).cloned(),
            Source::Process => std::env::var(name).ok(),
        }
    }

    /// The value of `name`, or `None` when it is unset, empty or not valid Unicode.
    #[must_use]
    pub fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to a non-empty value.
    #[must_use]
    pub fn is_set(&self, name: &str) -> bool {
        self.var(name).is_some()
    }

    /// The names of every variable set (for the process, those whose name and value are
    /// valid Unicode), sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        match &self.source {
            Source::Fixed(map) => map.keys().cloned().collect(),
            Source::Process => {
                let mut names: Vec<String> = std::env::vars_os()
                    .filter_map(|(k, _)| k.into_string().ok())
                    .collect();
                names.sort();
                names
            }
        }
    }

    /// The first of `names` set to a non-empty value, with its name.
    pub(crate) fn first_var<'n>(&self, names: &[&'n str]) -> Option<(&'n str, String)> {
        names
            .iter()
            .find_map(|name| self.var(name).map(|value| (*name, value)))
    }
}

impl fmt::Debug for Environment {
    /// Names only: environment values often are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Process => f.write_str("Environment::process"),
            Source::Fixed(map) => f.debug_set().entries(map.keys()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let env = Environment::from_vars([("AZURE_CLIENT_SECRET", "hunter2-secret")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("AZURE_CLIENT_SECRET"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn empty_is_set_for_get_and_unset_for_var() {
        let env = Environment::from_pairs([("A", ""), ("B", "x")]);
        assert!(!env.is_set("A"));
        assert_eq!(env.get("A").as_deref(), Some(""));
        assert!(!env.is_set("C"));
        assert_eq!(env.get("C"), None);
        assert!(env.is_set("B"));
        assert_eq!(env.first_var(&["A", "C", "B"]), Some(("B", "x".to_owned())));
        assert_eq!(Environment::default().get("PATH"), None);
    }
}
