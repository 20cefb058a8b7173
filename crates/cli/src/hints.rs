//! Errors say what to run: the libraries' hints name their own API (`recover_deleted_secret`,
//! `HttpClientOptions::ca_cert_file`), which means nothing to an operator; this is the one
//! place where they become the `vaultref` command that fixes the problem.

/// `message` with every library hint replaced by the command line that does the same.
pub(crate) fn with_hint(message: &str) -> String {
    let name = secret_name(message).unwrap_or("NAME");
    let replacements = [
        (
            "(check the name; a secret deleted recently may be recoverable with \
             recover_deleted_secret)"
                .to_owned(),
            format!(
                "(check the name with `vaultref secret list`; a secret deleted recently may be \
                 recoverable: `vaultref secret list --deleted`, then `vaultref secret recover \
                 {name}`)"
            ),
        ),
        (
            "recover it (recover_deleted_secret) or purge it (purge_deleted_secret) first"
                .to_owned(),
            format!(
                "recover it (`vaultref secret recover {name}`, or `vaultref secret set --recover \
                 {name}` to recover it and write the new value) or purge it (`vaultref secret \
                 purge {name}`) first"
            ),
        ),
        (
            "(recover_deleted_secret_and_wait waits for this)".to_owned(),
            "(`vaultref secret recover` waits for this)".to_owned(),
        ),
        (
            ", or HttpClientOptions::ca_cert_file)".to_owned(),
            "; `vaultref check` shows which one is used)".to_owned(),
        ),
        (
            "raise RetryOptions::max_retries / total_budget".to_owned(),
            "run the command again once the load has passed".to_owned(),
        ),
        (
            "poll again or raise WaitOptions::timeout".to_owned(),
            format!(
                "see where it is with `vaultref secret list --deleted` before trying {name} again"
            ),
        ),
        // Where OpenMetadata owns the rows (`entities delete`), its own delete must run.
        (
            "delete it through OpenMetadata (its hard delete also removes".to_owned(),
            "delete it through OpenMetadata, with its API's hard delete (the entity's DELETE \
             with `?hardDelete=true&recursive=true`) or Permanently Delete in its UI, which also \
             removes"
                .to_owned(),
        ),
    ];
    let mut text = message.to_owned();
    for (from, to) in &replacements {
        text = text.replace(from.as_str(), to);
    }
    text
}

/// The name in the Key Vault client's `secret 'NAME'`.
fn secret_name(message: &str) -> Option<&str> {
    let start = message.find("secret '")? + "secret '".len();
    let len = message[start..].find('\'')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_hints_become_commands() {
        let message = "set secret: secret 'db-pw' is deleted but recoverable, so its name cannot \
                       be reused yet; recover it (recover_deleted_secret) or purge it \
                       (purge_deleted_secret) first";
        let hinted = with_hint(message);
        assert!(
            hinted.contains("`vaultref secret recover db-pw`"),
            "{hinted}"
        );
        assert!(
            hinted.contains("`vaultref secret set --recover db-pw`"),
            "{hinted}"
        );
        assert!(!hinted.contains("recover_deleted_secret"), "{hinted}");
        assert_eq!(with_hint("nothing to do"), "nothing to do");
        let refused = vaultref_store::Error::OpenMetadataRow {
            entity: "databaseService `pg`".to_owned(),
        };
        let hinted = with_hint(&refused.to_string());
        assert!(
            hinted.contains("`?hardDelete=true&recursive=true`"),
            "{hinted}"
        );
        assert!(hinted.contains("its secrets"), "{hinted}");
    }
}
