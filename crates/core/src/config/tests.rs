//! Tests of the configuration: parsing, defaults, and every error with its key and hint.

use super::*;
use secrecy::ExposeSecret;

const KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config> {
    Config::parse(text, &Environment::from_pairs(env.iter().copied()))
}

fn minimal(extra: &str) -> String {
    format!("fernetConfiguration:\n  fernetKey: {KEY}\n{extra}")
}

/// Checks that `text` is refused with an error on `key` whose message contains `hint`.
fn check_error(text: &str, env: &[(&str, &str)], key: &str, hint: &str) {
    match parse(text, env) {
        Err(Error::Config { key: k, problem }) => {
            assert_eq!(k, key, "{problem}");
            assert!(problem.contains(hint), "{k} {problem}");
        }
        other => panic!("expected an error on {key}, got {other:?}"),
    }
}

#[test]
fn the_design_example_parses_with_defaults() {
    let text = include_str!("../../tests/data/openmetadata.yaml");
    let config = parse(text, &[]).unwrap();
    assert_eq!(config.cluster_name, "openmetadata");
    assert_eq!(config.fernet_key.expose_secret(), KEY);
    let sm = &config.secrets_manager;
    assert_eq!(sm.provider, ProviderKind::ManagedAzureKeyVault);
    assert_eq!(sm.prefix, "");
    assert!(sm.tags.is_empty());
    let kv = sm.key_vault.as_ref().unwrap();
    assert_eq!(kv.vault_url.as_str(), "https://127.0.0.1:8443/");
    assert_eq!(kv.tenant_id, None);
    assert_eq!(
        kv.authority_host.as_ref().unwrap().as_str(),
        "https://127.0.0.1:8443/"
    );
    assert_eq!(
        kv.ca_cert_file.as_deref(),
        Some(Path::new("/path/to/emulator-ca.pem"))
    );
    assert_eq!(config.secrets_manager_loader, LoaderKind::Noop);
    assert!(matches!(config.database, Some(DatabaseConfig::Url(_))));
    assert!((sm.rate_limit_permits_per_second - 10.0).abs() < f64::EPSILON);
    assert_eq!(sm.long_names, LongNamePolicy::Refuse);
}

#[test]
fn environment_values_feed_the_yaml() {
    let text = include_str!("../../tests/data/openmetadata.yaml");
    let config = parse(
        text,
        &[
            ("OPENMETADATA_CLUSTER_NAME", "prod_cluster"),
            ("SECRET_MANAGER", "azure-kv"),
            ("SECRET_MANAGER_PREFIX", "om"),
            (
                "SECRET_MANAGER_TAGS",
                "[team:data,env:prod:eu,broken,team:platform]",
            ),
            ("OM_SM_TENANT_ID", "tenant"),
            ("OM_SM_CLIENT_ID", "client"),
            ("OM_SM_CLIENT_SECRET", "s3cret"),
            ("PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER", "airflow"),
        ],
    )
    .unwrap();
    assert_eq!(config.cluster_name, "prod_cluster");
    let sm = &config.secrets_manager;
    assert_eq!(sm.provider, ProviderKind::AzureKeyVault);
    assert_eq!(sm.prefix, "om");
    let tags: Vec<(&str, &str)> = sm
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tags, [("env", "prod"), ("team", "platform")]);
    let kv = sm.key_vault.as_ref().unwrap();
    assert_eq!(kv.tenant_id.as_deref(), Some("tenant"));
    assert_eq!(kv.client_secret.as_ref().unwrap().expose_secret(), "s3cret");
    assert_eq!(config.secrets_manager_loader, LoaderKind::Airflow);
    // Secrets never show in Debug output.
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
}

#[test]
fn vault_url_comes_from_the_vault_name() {
    let config = parse(
        &minimal("secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultName: ${OM_SM_VAULT_NAME:-\"\"}\n"),
        &[("OM_SM_VAULT_NAME", "my-vault")],
    )
    .unwrap();
    let kv = config.secrets_manager.key_vault.unwrap();
    assert_eq!(kv.vault_url.as_str(), "https://my-vault.vault.azure.net/");
    assert_eq!(kv.ca_cert_file, None);
}

#[test]
fn ssl_cert_file_is_the_fallback_ca() {
    let config = parse(
        &minimal("secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultUrl: https://kv.example/x\n"),
        &[("SSL_CERT_FILE", "/etc/ca.pem")],
    )
    .unwrap();
    let kv = config.secrets_manager.key_vault.unwrap();
    assert_eq!(kv.vault_url.as_str(), "https://kv.example/x/");
    assert_eq!(kv.ca_cert_file.as_deref(), Some(Path::new("/etc/ca.pem")));
}

#[test]
fn unknown_sections_are_ignored_and_defaults_apply() {
    let config = parse(
        &minimal("server:\n  applicationConnectors: []\nlogging:\n  level: INFO\n"),
        &[],
    )
    .unwrap();
    assert_eq!(config.cluster_name, "openmetadata");
    assert_eq!(config.secrets_manager.provider, ProviderKind::Db);
    assert!(config.secrets_manager.key_vault.is_none());
    assert!(config.database.is_none());
}

#[test]
fn jdbc_database_block() {
    let config = parse(
        &minimal("database:\n  driverClass: com.mysql.cj.jdbc.Driver\n  user: om\n  password: pw\n  url: jdbc:mysql://db:3306/openmetadata_db?useSSL=false\n"),
        &[],
    )
    .unwrap();
    match config.database {
        Some(DatabaseConfig::Jdbc {
            url,
            user,
            password,
        }) => {
            assert_eq!(url, "jdbc:mysql://db:3306/openmetadata_db?useSSL=false");
            assert_eq!(user, "om");
            assert_eq!(password.expose_secret(), "pw");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_values_name_their_key_and_what_to_set() {
    let sm = "secretsManagerConfiguration.secretsManager";
    let params = "secretsManagerConfiguration.parameters";
    let cases: &[(&str, &str, &str)] = &[
        (
            "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultName: ${OM_SM_VAULT_NAME:-\"\"}\n",
            &format!("{params}.vaultName"),
            "is empty: set OM_SM_VAULT_NAME or parameters.vaultUrl",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultName: ${OM_SM_VAULT_NAME:-}\n",
            &format!("{params}.vaultName"),
            "set OM_SM_VAULT_NAME",
        ),
        // A file that reads no variable there is told which key to set, never a variable.
        (
            "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n",
            &format!("{params}.vaultName"),
            "is empty: set secretsManagerConfiguration.parameters.vaultName or parameters.vaultUrl",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: managed-aws\n",
            sm,
            "not supported by vaultref",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: kubernetes\n",
            sm,
            "not supported by vaultref",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: noop\n",
            sm,
            "renamed `db`",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: vault9\n",
            sm,
            "not a secrets manager",
        ),
        (
            "secretsManagerConfiguration:\n  secretsManager: ${SECRET_MANAGER:-\"\"}\n",
            sm,
            "set SECRET_MANAGER",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    vaultName: my_vault!\n",
            &format!("{params}.vaultName"),
            "not a Key Vault name",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    vaultUrl: ftp://x/\n",
            &format!("{params}.vaultUrl"),
            "https://",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    vaultUrl: not a url\n",
            &format!("{params}.vaultUrl"),
            "not a URL",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    tenantId: t\n    clientId: ${OM_SM_CLIENT_ID:-}\n",
            &format!("{params}.clientId"),
            "set OM_SM_CLIENT_ID",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    tenantId: t\n    clientId: c\n    clientSecret: ${OM_SM_CLIENT_SECRET:-}\n",
            &format!("{params}.clientSecret"),
            "set OM_SM_CLIENT_SECRET",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    rateLimitPermitsPerSecond: 0\n",
            &format!("{params}.rateLimitPermitsPerSecond"),
            "positive number",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    rateLimitPermitsPerSecond: fast\n",
            &format!("{params}.rateLimitPermitsPerSecond"),
            "positive number",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    expiresAfterDays: soon\n",
            &format!("{params}.expiresAfterDays"),
            "whole number of days",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    authorityHost: nope\n    vaultName: vault1\n",
            &format!("{params}.authorityHost"),
            "not a URL",
        ),
        (
            "secretsManagerConfiguration:\n  parameters:\n    longSecretNames: truncate\n",
            &format!("{params}.longSecretNames"),
            "set refuse",
        ),
        (
            "secretsManagerConfiguration:\n  tags: team:data\n",
            "secretsManagerConfiguration.tags",
            "list of `key:value`",
        ),
        (
            "secretsManagerConfiguration:\n  prefix: [a]\n",
            "secretsManagerConfiguration.prefix",
            "single value",
        ),
        (
            "pipelineServiceClientConfiguration:\n  secretsManagerLoader: vault\n",
            "pipelineServiceClientConfiguration.secretsManagerLoader",
            "noop, env or airflow",
        ),
        (
            "clusterName: ${OPENMETADATA_CLUSTER_NAME:-\"\"}\n",
            "clusterName",
            "set OPENMETADATA_CLUSTER_NAME",
        ),
        (
            "database:\n  url: jdbc:mysql://db/om\n  user: ${DB_USER:-}\n",
            "database.user",
            "set DB_USER",
        ),
        (
            "database:\n  url: oracle://secretpw@db\n",
            "database.url",
            "not a supported database URL",
        ),
    ];
    for (extra, key, hint) in cases {
        check_error(&minimal(extra), &[], key, hint);
    }
}

/// Issue 14: credentials in endpoint URLs are refused and never echoed; plain http is
/// refused off loopback; a bad scheme is not echoed whole.
#[test]
fn endpoint_urls_are_refused_without_echoing_what_they_carry() {
    let params = "secretsManagerConfiguration.parameters";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "vaultUrl: https://admin:P4ssw0rd@127.0.0.1:8443/",
            "vaultUrl",
            "user name or password",
            "P4ssw0rd",
        ),
        (
            "vaultUrl: https://kv.example/?sig=S1gn4ture",
            "vaultUrl",
            "query",
            "S1gn4ture",
        ),
        (
            "vaultUrl: http://10.0.0.5/",
            "vaultUrl",
            "must use https",
            "\u{0}",
        ),
        (
            "vaultName: vault1\n    authorityHost: https://admin:P4ssw0rd@login.example/",
            "authorityHost",
            "user name or password",
            "P4ssw0rd",
        ),
        (
            "vaultName: vault1\n    authorityHost: ftp://admin:P4ssw0rd@login.example/",
            "authorityHost",
            "https://",
            "P4ssw0rd",
        ),
        (
            "vaultName: vault1\n    authorityHost: http://login.example/",
            "authorityHost",
            "must use https",
            "\u{0}",
        ),
    ];
    for (line, key, hint, hidden) in cases {
        let text = minimal(&format!(
            "secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    {line}\n"
        ));
        match parse(&text, &[]) {
            Err(Error::Config { key: k, problem }) => {
                assert_eq!(k, format!("{params}.{key}"), "{problem}");
                assert!(problem.contains(hint), "{line}: {problem}");
                assert!(!problem.contains(hidden), "{line}: {problem}");
                assert!(!problem.contains("admin"), "{line}: {problem}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn debug_never_shows_a_jdbc_query_or_an_authority_query() {
    let text = minimal(
        "secretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    authorityHost: https://login.example/?k=S1gn\ndatabase:\n  url: jdbc:mysql://db:3306/om?password=hunter2\n  user: u\n  password: pw\n",
    );
    let shown = format!("{:?}", parse(&text, &[]).unwrap());
    assert!(
        !shown.contains("hunter2") && !shown.contains("S1gn"),
        "{shown}"
    );
}

#[test]
fn configuration_files_are_read_with_a_cap() {
    let err = Config::load(Path::new("/dev/zero"), &Environment::default()).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("/dev/zero") && shown.contains("larger than 4 MiB"),
        "{shown}"
    );
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let shown = read_config_file(&binary).unwrap_err().to_string();
    assert!(shown.contains("not UTF-8"), "{shown}");
}

#[test]
fn fernet_key_problems() {
    let key = "fernetConfiguration.fernetKey";
    check_error(
        "clusterName: x\nfernetConfiguration:\n  fernetKey: ${FERNET_KEY:-}\n",
        &[],
        key,
        "set FERNET_KEY",
    );
    // No `${FERNET_KEY}` in the file: the hint names the key, not a variable it never reads.
    match parse("clusterName: x\n", &[]) {
        Err(Error::Config { problem, .. }) => {
            assert!(
                problem.contains("set fernetConfiguration.fernetKey"),
                "{problem}"
            );
            assert!(!problem.contains("FERNET_KEY"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
    check_error(
        "fernetConfiguration:\n  fernetKey: no_encryption_at_rest\n",
        &[],
        key,
        "does not support",
    );
    check_error(
        "fernetConfiguration:\n  fernetKey: c2hvcnQ=\n",
        &[],
        key,
        "32 bytes",
    );
    // A rotation list, new key first, URL-safe and standard forms mixed.
    let rotated = format!(
        "fernetConfiguration:\n  fernetKey: \"{}, {KEY}\"\n",
        "jJ_9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA"
    );
    let config = parse(&rotated.replace(", ", ","), &[]).unwrap();
    assert!(config.fernet_key.expose_secret().contains(','));
    // The rejected key never appears in the message.
    let err = parse("fernetConfiguration:\n  fernetKey: c2VjcmV0LWtleQ==\n", &[]).unwrap_err();
    assert!(!err.to_string().contains("c2VjcmV0LWtleQ"), "{err}");
}

/// Found by the `config` fuzz target (docs/bad-input.md): a secret substituted into a URL
/// that does not parse was printed with it.
#[test]
fn a_url_that_does_not_parse_is_described_not_echoed() {
    let env = Environment::from_pairs([("OM_SM_CLIENT_SECRET", "fuzz-client-secret-Qx7Vb2Lm9")]);
    for url in [
        "https://508.0.0.1:8d of vaultName, for the em${OM_SM_CLIENT_SECRET}",
        "ftp://user:${OM_SM_CLIENT_SECRET}@vault.example/",
        "${OM_SM_CLIENT_SECRET}",
    ] {
        for key in ["vaultUrl", "authorityHost"] {
            let text = format!(
                "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\nsecretsManagerConfiguration:\n  parameters:\n    vaultName: vault1\n    {key}: {url}\n"
            );
            let message = Config::parse(&text, &env).unwrap_err().to_string();
            assert!(message.contains(key), "{message}");
            assert!(!message.contains("Qx7Vb2Lm9"), "{message}");
        }
    }
}

#[test]
fn yaml_syntax_errors_have_a_location() {
    match parse("clusterName: [unclosed\n", &[]) {
        Err(Error::ConfigSyntax { line, .. }) => assert!(line >= 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tags_follow_openmetadata_parsing() {
    fn check(items: &[&str], expected: &[(&str, &str)]) {
        let tags = parse_tags(items);
        let got: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expected, "{items:?}");
    }
    check(&["key:value"], &[("key", "value")]);
    check(&["a:b:c"], &[("a", "b")]);
    check(&[" k : v "], &[(" k ", " v ")]);
    check(&["novalue"], &[]);
    check(&["key:"], &[]);
    check(&[""], &[]);
    check(&[":v"], &[("", "v")]);
    check(&["a::b"], &[("a", "")]);
    check(&["k:1", "k:2"], &[("k", "2")]);
}

#[test]
fn tags_over_key_vaults_limits_are_refused() {
    let many: Vec<String> = (0..15).map(|i| format!("k{i}:v")).collect();
    let long = format!("k:{}", "v".repeat(513));
    for (tags, problem) in [
        (format!("[{}]", many.join(",")), "15 tags"),
        (format!("[{long}]"), "over Key Vault's 512 characters"),
        ("[vaultref-database:spoofed]".to_owned(), "sets itself"),
    ] {
        match parse(
            &minimal(&format!("secretsManagerConfiguration:\n  tags: {tags}\n")),
            &[],
        ) {
            Err(Error::Config { key, problem: p }) => {
                assert_eq!(key, "secretsManagerConfiguration.tags");
                assert!(p.contains(problem), "{p}");
            }
            other => panic!("{other:?}"),
        }
    }
    // Fourteen, and vaultref's own makes Key Vault's fifteen.
    let fourteen = (0..14)
        .map(|i| format!("k{i}:v"))
        .collect::<Vec<_>>()
        .join(",");
    parse(
        &minimal(&format!(
            "secretsManagerConfiguration:\n  tags: [{fourteen}]\n"
        )),
        &[],
    )
    .unwrap();
}

#[test]
fn yaml_list_forms_of_tags() {
    for tags in [
        "[k1:v1, k2:v2]",
        "\n    - k1:v1\n    - k2:v2",
        "\n    - k1: v1\n    - k2: v2",
    ] {
        let config = parse(
            &minimal(&format!("secretsManagerConfiguration:\n  tags: {tags}\n")),
            &[],
        )
        .unwrap();
        let got: Vec<(&str, &str)> = config
            .secrets_manager
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, [("k1", "v1"), ("k2", "v2")], "{tags}");
    }
}
