//! The one URL redaction: every URL vaultref prints or logs goes through it.

use url::Url;

/// `url` without its user info (a user name can be a token too), query (`?sig=`,
/// `?password=`) and fragment: for messages and logs. JDBC URLs (`jdbc:mysql://…`) are
/// redacted inside; text that does not parse as a URL with a host or path (`scheme:…`)
/// shows its scheme only.
///
/// ```
/// use vaultref_transport::redact_url;
///
/// assert_eq!(redact_url("https://admin:P4ss@vault.example/?sig=abc"), "https://vault.example/");
/// assert_eq!(redact_url("jdbc:mysql://u:pw@db:3306/om?password=pw"), "jdbc:mysql://db:3306/om");
/// assert_eq!(redact_url("postgres:not a url pw"), "postgres:[REDACTED]");
/// ```
#[must_use]
pub fn redact_url(text: &str) -> String {
    // `jdbc:mysql://user:password@host/db` parses as an opaque `jdbc:` URL whose path holds
    // the credentials: redact the URL inside instead.
    if let Some(inner) = text.strip_prefix("jdbc:") {
        return format!("jdbc:{}", redact_url(inner));
    }
    match Url::parse(text.trim()) {
        // An opaque URL (`scheme:anything`) has no parts to keep.
        Ok(url) if !url.cannot_be_a_base() => redact(&url),
        // Unparsable or opaque: show the scheme only, the rest may hold anything.
        _ => match text.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}:[REDACTED]")
            }
            _ => "[REDACTED]".to_owned(),
        },
    }
}

/// [`redact_url`] for a parsed URL.
#[must_use]
pub fn redact(url: &Url) -> String {
    let mut url = url.clone();
    // Both fail only on URLs that cannot have user info (no host), which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_query_and_fragment_are_removed() {
        for (given, shown) in [
            (
                "postgres://u:hunter2@db:5432/x?password=hunter2",
                "postgres://db:5432/x",
            ),
            (
                "jdbc:mysql://u:hunter2@db:3306/x?password=hunter2",
                "jdbc:mysql://db:3306/x",
            ),
            (
                "https://admin:P4ssw0rd@127.0.0.1:8443/?sig=s1gn#frag",
                "https://127.0.0.1:8443/",
            ),
            (
                "https://ghp_T0ken@github.example/",
                "https://github.example/",
            ),
            ("sqlite://vaultref.db?mode=rwc", "sqlite://vaultref.db"),
            ("sqlite::memory:", "sqlite:[REDACTED]"),
            ("not a url hunter2", "[REDACTED]"),
            ("ftp:// bad host hunter2", "ftp:[REDACTED]"),
        ] {
            assert_eq!(redact_url(given), shown, "{given}");
        }
    }
}
