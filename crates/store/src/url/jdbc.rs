//! OpenMetadata's JDBC driver parameters as sqlx options: TLS above all.
//!
//! Every parameter is either honoured (mapped to the sqlx option with the same effect),
//! accepted because it changes nothing vaultref does (OpenMetadata's defaults pass
//! `allowPublicKeyRetrieval=true&useSSL=false&serverTimezone=UTC`, to PostgreSQL too), or
//! refused by name. A TLS parameter is never dropped: a server that must be reached over
//! verified TLS is reached so, or not at all. The TLS mode is always written out, so that
//! libpq-style environment variables (`PGSSLMODE`) cannot weaken it.
//!
//! MySQL Connector/J: `sslMode` (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY;
//! PREFERRED when nothing is said), else the legacy `useSSL` / `requireSSL` /
//! `verifyServerCertificate` (useSSL=false is DISABLED, verifyServerCertificate=true
//! VERIFY_CA, requireSSL=true REQUIRED, else PREFERRED). Its trust and key stores are JKS or
//! PKCS#12 files, which sqlx cannot read: vaultref takes a PEM CA file as `sslca` (sqlx's
//! name; Connector/J ignores it). PostgreSQL pgjdbc: `sslmode` (the six libpq modes, prefer by
//! default; `ssl=true` alone is verify-full), `sslrootcert` (PEM), `sslcert`, and `sslkey` in
//! PEM (pgjdbc's default `.pk8` DER and `.p12` keys cannot be read by sqlx).

/// The database a JDBC URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Driver {
    MySql,
    Postgres,
}

/// Parameters that change nothing vaultref does, per driver.
const HARMLESS_MYSQL: &[&str] = &[
    // sqlx asks for the server's RSA key whenever caching_sha2 needs it.
    "allowpublickeyretrieval",
    // vaultref reads no time values; sqlx sets the session to UTC.
    "servertimezone",
    "connectiontimezone",
    // sqlx always speaks utf8mb4.
    "characterencoding",
    "useunicode",
    "autoreconnect",
    "connecttimeout",
    "sockettimeout",
    "zerodatetimebehavior",
    "uselegacydatetimecode",
    "rewritebatchedstatements",
    "cacheprepstmts",
    "useserverprepstmts",
];

/// pgjdbc ignores properties it does not know, and OpenMetadata's default passes MySQL's.
const HARMLESS_POSTGRES: &[&str] = &[
    "allowpublickeyretrieval",
    "usessl",
    "servertimezone",
    "connecttimeout",
    "sockettimeout",
    "tcpkeepalive",
    "applicationname",
    "loglevel",
    "preparethreshold",
    "reWriteBatchedInserts",
];

/// The sqlx query parameters for a JDBC URL's parameters, or the problem (naming the
/// parameter) when one cannot be honoured.
pub(super) fn sqlx_parameters(
    driver: Driver,
    pairs: &[(String, String)],
) -> Result<Vec<(&'static str, String)>, String> {
    match driver {
        Driver::MySql => mysql(pairs),
        Driver::Postgres => postgres(pairs),
    }
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn boolean(pairs: &[(String, String)], key: &str) -> Result<Option<bool>, String> {
    match get(pairs, key) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" || v.eq_ignore_ascii_case("yes") => {
            Ok(Some(true))
        }
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" || v.eq_ignore_ascii_case("no") => {
            Ok(Some(false))
        }
        Some(_) => Err(format!("the JDBC parameter {key} must be true or false")),
    }
}

/// Whether any of `keys` is among the parameters.
fn has_any(pairs: &[(String, String)], keys: &[&str]) -> bool {
    pairs
        .iter()
        .any(|(k, _)| keys.iter().any(|key| k.eq_ignore_ascii_case(key)))
}

/// A CA file with a mode that does not check the certificate against it: sqlx would ignore
/// the file (only its verify modes read it), so the connection would be less checked than the
/// URL suggests.
fn not_verified(instead: &str) -> String {
    format!(
        "the JDBC URL names a CA file with a TLS mode that does not verify the server's \
         certificate, so the file would have no effect: say {instead} to have it checked"
    )
}

/// A TLS or authentication parameter nobody mapped: refused rather than dropped.
fn looks_tls(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "ssl",
        "tls",
        "trust",
        "cert",
        "keystore",
        "cipher",
        "gss",
        "kerberos",
        // Authentication options (pgjdbc's channelBinding, Connector/J's plugins): dropping
        // one would weaken how the password is sent.
        "channelbinding",
        "auth",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn refuse_or_ignore(key: &str, harmless: &[&str]) -> Result<(), String> {
    if harmless.iter().any(|h| h.eq_ignore_ascii_case(key)) {
        return Ok(());
    }
    if key.eq_ignore_ascii_case("user") || key.eq_ignore_ascii_case("password") {
        return Err(format!(
            "the JDBC parameter {key} would be dropped: give the user and the password in the \
             database block's `user` and `password` (OpenMetadata's DB_USER, DB_USER_PASSWORD)"
        ));
    }
    if looks_tls(key) {
        return Err(format!(
            "the JDBC parameter {key} cannot be honoured by vaultref's driver (sqlx); remove \
             it, or say the same with the parameters vaultref maps (MySQL: sslMode and a PEM \
             CA file as sslca; PostgreSQL: sslmode, sslrootcert, sslcert, sslkey in PEM)"
        ));
    }
    tracing::warn!(
        parameter = key,
        "JDBC parameter ignored: it does not concern vaultref"
    );
    Ok(())
}

fn mysql(pairs: &[(String, String)]) -> Result<Vec<(&'static str, String)>, String> {
    let mode = match get(pairs, "sslMode") {
        Some(mode) => match mode.to_ascii_uppercase().as_str() {
            "DISABLED" => "disabled",
            "PREFERRED" => "preferred",
            "REQUIRED" => "required",
            "VERIFY_CA" => "verify_ca",
            "VERIFY_IDENTITY" => "verify_identity",
            _ => {
                // The value is not repeated: nothing of a URL's query is printed.
                return Err(
                    "the JDBC parameter sslMode is not one of DISABLED, PREFERRED, \
                            REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
                        .to_owned(),
                );
            }
        },
        None => {
            let use_ssl = boolean(pairs, "useSSL")?;
            let require = boolean(pairs, "requireSSL")?;
            let verify = boolean(pairs, "verifyServerCertificate")?;
            if use_ssl == Some(false) {
                "disabled"
            } else if verify == Some(true) {
                "verify_ca"
            } else if require == Some(true) {
                "required"
            } else {
                "preferred"
            }
        }
    };
    // Connector/J with allowPublicKeyRetrieval=false never asks the server for its RSA key
    // outside verified TLS (a man in the middle could hand over his own and read the password
    // sent under it); sqlx asks whenever the account's authentication needs it. Honoured by
    // refusing, unless the certificate is verified.
    if boolean(pairs, "allowPublicKeyRetrieval")? == Some(false) && !mode.starts_with("verify") {
        return Err(
            "the JDBC parameter allowPublicKeyRetrieval=false cannot be honoured without a \
             verified TLS connection: vaultref's MySQL driver fetches the server's public key \
             when the account's authentication needs it. Use sslMode=VERIFY_CA or \
             VERIFY_IDENTITY (with sslca), or allowPublicKeyRetrieval=true"
                .to_owned(),
        );
    }
    if !mode.starts_with("verify") && has_any(pairs, &["sslca", "ssl-ca"]) {
        return Err(not_verified("sslMode=VERIFY_CA or VERIFY_IDENTITY"));
    }
    let mut out = vec![("ssl-mode", mode.to_owned())];
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_str() {
            "sslmode" | "usessl" | "requiressl" | "verifyservercertificate" => {}
            "sslca" | "ssl-ca" => out.push(("ssl-ca", value.clone())),
            "sslcert" | "ssl-cert" => out.push(("ssl-cert", value.clone())),
            "sslkey" | "ssl-key" => out.push(("ssl-key", value.clone())),
            _ => refuse_or_ignore(key, HARMLESS_MYSQL)?,
        }
    }
    Ok(out)
}

fn postgres(pairs: &[(String, String)]) -> Result<Vec<(&'static str, String)>, String> {
    let mode = match (get(pairs, "sslmode"), boolean(pairs, "ssl")?) {
        (Some(mode), _) => match mode.to_ascii_lowercase().as_str() {
            m @ ("disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full") => {
                m.to_owned()
            }
            _ => {
                return Err(
                    "the JDBC parameter sslmode is not one of disable, allow, prefer, \
                            require, verify-ca, verify-full"
                        .to_owned(),
                );
            }
        },
        // pgjdbc: `ssl=true` without a mode verifies the certificate and the host name.
        (None, Some(true)) => "verify-full".to_owned(),
        (None, Some(false)) => {
            return Err(
                "the JDBC parameter ssl=false is ambiguous: say sslmode=disable (or another \
                 sslmode) instead"
                    .to_owned(),
            );
        }
        (None, None) => "prefer".to_owned(),
    };
    if !mode.starts_with("verify")
        && has_any(pairs, &["sslrootcert", "ssl-root-cert", "sslca", "ssl-ca"])
    {
        return Err(not_verified("sslmode=verify-ca or verify-full"));
    }
    let mut out = vec![("sslmode", mode)];
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_str() {
            "sslmode" | "ssl" => {}
            "sslrootcert" | "ssl-root-cert" | "sslca" | "ssl-ca" => {
                out.push(("sslrootcert", value.clone()));
            }
            "sslcert" | "ssl-cert" => out.push(("sslcert", value.clone())),
            "sslkey" | "ssl-key" => {
                let lower = value.to_ascii_lowercase();
                if [".pk8", ".p12", ".pfx", ".der"]
                    .iter()
                    .any(|ext| lower.ends_with(ext))
                {
                    return Err(
                        "the JDBC parameter sslkey names a DER or PKCS#12 key, which vaultref's \
                         driver (sqlx) cannot read: convert it to PEM (openssl pkcs8 -inform DER \
                         -in key.pk8 -out key.pem) and name that"
                            .to_owned(),
                    );
                }
                out.push(("sslkey", value.clone()));
            }
            "currentschema" => {
                // Pasted into a startup option: names only, or a space would add options.
                let names = value.split(',').map(str::trim);
                if value.is_empty()
                    || !names.clone().all(|n| {
                        !n.is_empty()
                            && n.chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                    })
                {
                    return Err(
                        "the JDBC parameter currentSchema must be schema names (letters, \
                                digits, _ and $, separated by commas)"
                            .to_owned(),
                    );
                }
                let names: Vec<&str> = names.collect();
                out.push(("options", format!("-c search_path={}", names.join(","))));
            }
            _ => refuse_or_ignore(key, HARMLESS_POSTGRES)?,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(driver: Driver, query: &str, expected: Result<&str, &str>) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let got = sqlx_parameters(driver, &pairs).map(|out| {
            out.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        });
        match (got, expected) {
            (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{query}"),
            (Err(problem), Err(named)) => {
                assert!(problem.contains(named), "{query}: {problem}");
                // Nothing of a URL's query is printed but the parameter's name.
                for (_, value) in pairs.iter().filter(|(_, v)| v.len() > 5) {
                    assert!(!problem.contains(value.as_str()), "{query}: {problem}");
                }
            }
            (got, expected) => panic!("{query}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn mysql_tls_parameters_map_to_sqlx_modes() {
        use Driver::MySql;
        for (query, expected) in [
            (
                "allowPublicKeyRetrieval=true&useSSL=false&serverTimezone=UTC",
                Ok("ssl-mode=disabled"),
            ),
            ("", Ok("ssl-mode=preferred")),
            ("useSSL=true&serverTimezone=UTC", Ok("ssl-mode=preferred")),
            ("useSSL=true&requireSSL=true", Ok("ssl-mode=required")),
            (
                "useSSL=true&verifyServerCertificate=true&sslca=/ca.pem",
                Ok("ssl-mode=verify_ca&ssl-ca=/ca.pem"),
            ),
            (
                "sslMode=VERIFY_IDENTITY&useSSL=false",
                Ok("ssl-mode=verify_identity"),
            ),
            ("sslMode=required", Ok("ssl-mode=required")),
            ("sslMode=SOMETIMES", Err("sslMode is not one of")),
            (
                "sslMode=REQUIRED&sslca=/ca.pem",
                Err("VERIFY_CA or VERIFY_IDENTITY"),
            ),
            (
                "useSSL=true&sslca=/ca.pem",
                Err("VERIFY_CA or VERIFY_IDENTITY"),
            ),
            (
                "allowPublicKeyRetrieval=false&useSSL=false",
                Err("allowPublicKeyRetrieval=false cannot be honoured"),
            ),
            (
                "allowPublicKeyRetrieval=false&sslMode=REQUIRED",
                Err("allowPublicKeyRetrieval=false cannot be honoured"),
            ),
            (
                "allowPublicKeyRetrieval=false&sslMode=VERIFY_IDENTITY",
                Ok("ssl-mode=verify_identity"),
            ),
            ("useSSL=maybe", Err("useSSL")),
            (
                "sslMode=VERIFY_CA&trustCertificateKeyStoreUrl=file:/ts.jks",
                Err("trustCertificateKeyStoreUrl"),
            ),
            ("enabledTLSProtocols=TLSv1.3", Err("enabledTLSProtocols")),
            (
                "clientCertificateKeyStoreUrl=file:/k.p12",
                Err("clientCertificateKeyStoreUrl"),
            ),
        ] {
            check(MySql, query, expected);
        }
    }

    #[test]
    fn postgres_tls_parameters_map_to_sqlx_modes() {
        use Driver::Postgres;
        for (query, expected) in [
            // OpenMetadata's docker-compose default, MySQL's parameters included.
            (
                "allowPublicKeyRetrieval=true&useSSL=false&serverTimezone=UTC",
                Ok("sslmode=prefer"),
            ),
            (
                "sslmode=verify-full&sslrootcert=/ca.pem",
                Ok("sslmode=verify-full&sslrootcert=/ca.pem"),
            ),
            ("sslmode=require", Ok("sslmode=require")),
            ("ssl=true", Ok("sslmode=verify-full")),
            ("ssl=false", Err("ssl=false")),
            (
                "sslmode=verify-ca&sslcert=/c.pem&sslkey=/k.pem",
                Ok("sslmode=verify-ca&sslcert=/c.pem&sslkey=/k.pem"),
            ),
            ("sslmode=verify-ca&sslkey=/k.pk8", Err("sslkey")),
            (
                "sslmode=verify-full&sslfactory=org.postgresql.ssl.NonValidatingFactory",
                Err("sslfactory"),
            ),
            ("sslpassword=x", Err("sslpassword")),
            ("sslmode=sometimes", Err("sslmode is not one of")),
            ("channelBinding=require", Err("channelBinding")),
            ("password=hunter2&sslmode=require", Err("database block")),
            (
                "currentSchema=om",
                Ok("sslmode=prefer&options=-c search_path=om"),
            ),
            (
                "currentSchema=om, public",
                Ok("sslmode=prefer&options=-c search_path=om,public"),
            ),
            (
                "currentSchema=om -c x=y",
                Err("currentSchema must be schema names"),
            ),
            (
                "sslmode=require&sslrootcert=/ca.pem",
                Err("verify-ca or verify-full"),
            ),
            (
                "sslmode=verify-ca&sslrootcert=/ca.pem",
                Ok("sslmode=verify-ca&sslrootcert=/ca.pem"),
            ),
        ] {
            check(Postgres, query, expected);
        }
    }
}
