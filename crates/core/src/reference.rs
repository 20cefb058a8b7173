//! The `secret:` reference syntax, on both sides: a field that holds `secret:<name>` points to
//! the vault secret `<name>`. The store path writes such references in managed mode, users
//! write them in non-managed mode, and consumers resolve them.

use std::borrow::Cow;

/// The prefix of a reference to a vault secret (`secret:<name>`), on both sides.
pub const SECRET_PREFIX: &str = "secret:";

/// Whether `value` is a reference: it starts with `secret:` (the name may still be invalid,
/// or empty).
#[must_use]
pub fn is_reference(value: &str) -> bool {
    value.starts_with(SECRET_PREFIX)
}

/// The reference to the secret `name`: `secret:<name>`.
#[must_use]
pub fn reference_to(name: &str) -> String {
    format!("{SECRET_PREFIX}{name}")
}

/// The name a reference points to, as OpenMetadata's ingestion reads it (every `secret:` in
/// the value removed, as its `str.replace` does); `None` when `value` is not a reference.
#[must_use]
pub fn reference_name(value: &str) -> Option<String> {
    referenced_name(value).map(Cow::into_owned)
}

/// [`reference_name`], borrowed from `value` unless it holds `secret:` more than once.
pub(crate) fn referenced_name(value: &str) -> Option<Cow<'_, str>> {
    let rest = value.strip_prefix(SECRET_PREFIX)?;
    Some(if rest.contains(SECRET_PREFIX) {
        Cow::Owned(rest.replace(SECRET_PREFIX, ""))
    } else {
        Cow::Borrowed(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_the_prefix_and_a_name() {
        assert_eq!(reference_to("db-pass"), "secret:db-pass");
        assert!(is_reference("secret:db-pass"));
        assert!(is_reference("secret:"));
        assert!(!is_reference("Secret:db-pass"));
        assert!(!is_reference(" secret:db-pass"));
        assert_eq!(reference_name(&reference_to("a")).as_deref(), Some("a"));
        // As OpenMetadata's ingestion reads it: every `secret:` removed.
        assert_eq!(reference_name("secret:a-secret:b").as_deref(), Some("a-b"));
        assert!(matches!(
            referenced_name("secret:a"),
            Some(Cow::Borrowed("a"))
        ));
        assert_eq!(referenced_name("plain"), None);
    }
}
