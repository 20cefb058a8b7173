//! Environment variables as an injected map, and Dropwizard-style `${VAR}` substitution.

use std::collections::BTreeMap;
use std::fmt;

/// A set of environment variables, injected rather than read from the process, so that
/// configuration loading is testable. [`Environment::from_process`] takes the real one.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The current process environment (variables that are not valid UTF-8 are left out).
    #[must_use]
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of the given pairs.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, if set.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The same variables for vaultref-entra's credentials and HTTP client.
    pub(crate) fn to_entra_env(&self) -> vaultref_entra::Env {
        vaultref_entra::Env::from_vars(self.vars.clone())
    }
}

impl fmt::Debug for Environment {
    /// Names only: environment values often are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in `text` as Dropwizard's non-strict
/// `EnvironmentVariableSubstitutor` does: a set variable (even empty) gives its value, an unset
/// one its default, an unset one without default is left as written; `$${...}` is an escape for
/// a literal `${...}`. Values are inserted verbatim, before any YAML parsing.
#[must_use]
pub fn substitute_variables(text: &str, env: &Environment) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if let Some(body_and_more) = tail.strip_prefix("${")
            && let Some(end) = body_and_more.find('}')
        {
            let body = &body_and_more[..end];
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (body, None),
            };
            match (env.get(name), default) {
                (Some(value), _) => out.push_str(value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => out.push_str(&tail[..end + 3]),
            }
            rest = &body_and_more[end + 1..];
            continue;
        }
        out.push('$');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        let env = Environment::from_pairs([("SET", "value"), ("EMPTY", ""), ("LIST", "[a:b,c:d]")]);
        assert_eq!(substitute_variables(text, &env), expected, "{text:?}");
    }

    #[test]
    fn substitution_cases() {
        for (text, expected) in [
            ("plain", "plain"),
            ("${SET}", "value"),
            ("a ${SET} b ${SET}", "a value b value"),
            ("${SET:-other}", "value"),
            ("${UNSET:-fallback}", "fallback"),
            ("${UNSET:-}", ""),
            ("${UNSET:-\"\"}", "\"\""),
            ("${UNSET:-[]}", "[]"),
            ("${EMPTY:-fallback}", ""),
            ("${UNSET}", "${UNSET}"),
            ("$${SET}", "${SET}"),
            ("cost: $5", "cost: $5"),
            ("${unterminated", "${unterminated"),
            ("${LIST}", "[a:b,c:d]"),
            ("${UNSET:-a:-b}", "a:-b"),
            ("x$", "x$"),
        ] {
            check(text, expected);
        }
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env = Environment::from_pairs([("OM_SM_CLIENT_SECRET", "hunter2")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("OM_SM_CLIENT_SECRET"));
        assert!(!shown.contains("hunter2"));
    }
}
