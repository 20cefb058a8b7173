//! Dropwizard-style `${VAR}` substitution, from the one environment source
//! ([`Environment`], vaultref-transport's).

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
                match (env.get(name), default) {
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
