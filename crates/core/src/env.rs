//! Dropwizard-style `${VAR}` substitution, from the one environment source
//! ([`Environment`], vaultref-transport's).

use std::collections::BTreeSet;

pub use vaultref_transport::Environment;

/// Replaces `${VAR}` and `${VAR:-default}` in `text` as Dropwizard's non-strict
/// `EnvironmentVariableSubstitutor` does: a set variable (even empty) gives its value, an unset
/// one its default, an unset one without default is left as written; `$${...}` is an escape for
/// a literal `${...}`. Values are inserted verbatim, before any YAML parsing.
///
/// Linear in the length of `text`: once no `}` is left, a later `${` cannot close either, so
/// the rest is only scanned for `$${` escapes.
#[must_use]
pub fn substitute_variables(text: &str, env: &Environment) -> String {
    substitute_with(text, |name| env.get(name))
}

/// The names of the variables `text` reads (`${NAME}` or `${NAME:-default}`; `$${...}` escapes
/// are not reads), in order of name.
#[must_use]
pub fn referenced_variables(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    substitute_with(text, |name| {
        names.insert(name.to_owned());
        None
    });
    names
}

/// OpenMetadata's variables that configure the secrets manager (`SECRET_MANAGER`,
/// `FERNET_KEY`, `OM_SM_*`, `SECRET_MANAGER_*`,
/// `PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER`) and unknown `VAULTREF_*` variables that
/// `env` sets but `text` does not read: setting them changes nothing, which a user following
/// OpenMetadata's documentation does not expect. In order of name.
#[must_use]
pub fn ignored_variables(text: &str, env: &Environment) -> Vec<String> {
    let read = referenced_variables(text);
    env.names()
        .into_iter()
        .filter(|name| is_watched(name) && !read.contains(name))
        .collect()
}

/// Whether `name` is one of the variables [`ignored_variables`] reports when unread.
fn is_watched(name: &str) -> bool {
    /// The `VAULTREF_*` variables vaultref (or its test tools) read from the process, not
    /// through the configuration file.
    const VAULTREF_OWN: [&str; 10] = [
        "VAULTREF_CONFIG",
        "VAULTREF_LOG",
        "VAULTREF_KEY_VAULT_DNS_SUFFIX",
        "VAULTREF_EMULATOR_LISTEN",
        "VAULTREF_EMULATOR_READY",
        "VAULTREF_FAULT_SEED",
        "VAULTREF_PYTHON",
        "VAULTREF_AIRFLOW_PYTHON",
        "VAULTREF_DEBIAN_MIRROR",
        "VAULTREF_DATABASE_URL",
    ];
    matches!(
        name,
        "SECRET_MANAGER" | "FERNET_KEY" | "PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER"
    ) || name.starts_with("OM_SM_")
        || name.starts_with("SECRET_MANAGER_")
        || (name.starts_with("VAULTREF_")
            && !name.starts_with("VAULTREF_TEST_")
            && !VAULTREF_OWN.contains(&name))
}

/// The substitution, with `lookup` giving a variable's value (`None`: unset).
fn substitute_with(text: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Set once a `${` found no closing `}` in what follows.
    let mut unclosed = false;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if let Some(body_and_more) = tail.strip_prefix("${")
            && !unclosed
        {
            if let Some(end) = body_and_more.find('}') {
                let body = &body_and_more[..end];
                let (name, default) = match body.split_once(":-") {
                    Some((name, default)) => (name, Some(default)),
                    None => (body, None),
                };
                match (lookup(name), default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => out.push_str(&tail[..end + 3]),
                }
                rest = &body_and_more[end + 1..];
                continue;
            }
            unclosed = true;
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
    fn variables_read_and_variables_ignored() {
        let text = "a: ${FERNET_KEY:-k}\nb: $${SECRET_MANAGER}\nc: ${OM_SM_VAULT_NAME}\n";
        let read: Vec<String> = referenced_variables(text).into_iter().collect();
        assert_eq!(read, ["FERNET_KEY", "OM_SM_VAULT_NAME"]);
        let env = Environment::from_pairs([
            ("FERNET_KEY", "x"),
            ("SECRET_MANAGER", "db"),
            ("OM_SM_CLIENT_ID", "c"),
            ("SECRET_MANAGER_PREFIX", "p"),
            ("VAULTREF_CONFG", "typo"),
            ("VAULTREF_LOG", "info"),
            ("VAULTREF_TEST_MYSQL_URL", "mysql://"),
            ("HOME", "/root"),
        ]);
        assert_eq!(
            ignored_variables(text, &env),
            [
                "OM_SM_CLIENT_ID",
                "SECRET_MANAGER",
                "SECRET_MANAGER_PREFIX",
                "VAULTREF_CONFG"
            ]
        );
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
            // After an unclosed `${`, escapes still apply and nothing else is replaced.
            ("${a $${SET", "${a ${SET"),
            ("${SET} ${b", "value ${b"),
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
