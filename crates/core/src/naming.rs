//! Secret ids as OpenMetadata builds them, and validated Key Vault secret names.
//!
//! OpenMetadata's `buildSecretId(addClusterPrefix, values...)` (spec §2.2): with the cluster
//! prefix, the id starts with `[sep]prefix` (when a prefix is set) and `[sep]clusterName`, where
//! `[sep]` is only written by schemes that need a leading separator; every value is cleaned of
//! the scheme's forbidden characters and appended after a separator; the whole id is lower-cased.
//! Without the cluster prefix the first (cleaned) value is the start. Nested fields call it again
//! with the parent id as first value, so the leaf id is cleaned throughout. For Azure this glues
//! the prefix to the cluster name without a `-` — reproduced on purpose, for compatibility.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The longest secret name Key Vault accepts.
pub const MAX_SECRET_NAME_LEN: usize = 127;

/// How ids are spelled: separator, leading separator, character cleaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamingScheme {
    /// OpenMetadata's Azure Key Vault ids: `-` separator, no leading separator, every character
    /// outside `[A-Za-z0-9-]` deleted, e.g. `openmetadata-database-mysql-test-authtype-password`.
    Azure,
    /// OpenMetadata's base-class ids (AWS and, unconfirmed, others): `/` separator with a leading
    /// `/`, characters outside `[A-Za-z0-9/_-]` replaced by `_`,
    /// e.g. `/openmetadata/database/mysql-test/authtype/password`. Not valid Key Vault names.
    Default,
}

impl NamingScheme {
    fn separator(self) -> char {
        match self {
            Self::Azure => '-',
            Self::Default => '/',
        }
    }

    fn needs_leading_separator(self) -> bool {
        matches!(self, Self::Default)
    }

    /// Applies the scheme's cleaning to one component.
    fn clean(self, value: &str) -> String {
        match self {
            Self::Azure => value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            Self::Default => value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
        }
    }
}

/// Builds secret ids for one cluster, the way OpenMetadata's `buildSecretId` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretIdBuilder {
    scheme: NamingScheme,
    cluster_name: String,
    prefix: String,
}

impl SecretIdBuilder {
    /// A builder for `cluster_name` (OpenMetadata's `clusterName`) and `prefix`
    /// (`secretsManagerConfiguration.prefix`, empty for none).
    #[must_use]
    pub fn new(scheme: NamingScheme, cluster_name: &str, prefix: &str) -> Self {
        Self {
            scheme,
            cluster_name: cluster_name.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    /// The naming scheme.
    #[must_use]
    pub fn scheme(&self) -> NamingScheme {
        self.scheme
    }

    /// `buildSecretId(true, values...)`: the id of an entity, e.g. `["database", "mysql-test"]`
    /// gives `openmetadata-database-mysql-test` (Azure).
    #[must_use]
    pub fn entity_id(&self, values: &[&str]) -> String {
        let sep = self.scheme.separator();
        let lead = self.scheme.needs_leading_separator();
        let mut id = String::new();
        if !self.prefix.is_empty() {
            if lead {
                id.push(sep);
            }
            id.push_str(&self.prefix);
        }
        if lead {
            id.push(sep);
        }
        id.push_str(&self.cluster_name);
        for value in values {
            id.push(sep);
            id.push_str(&self.scheme.clean(value));
        }
        id.to_lowercase()
    }

    /// `buildSecretId(false, parent, values...)`: a child id, e.g. a field under an entity.
    #[must_use]
    pub fn child_id(&self, parent: &str, values: &[&str]) -> String {
        let sep = self.scheme.separator();
        let mut id = self.scheme.clean(parent);
        for value in values {
            id.push(sep);
            id.push_str(&self.scheme.clean(value));
        }
        id.to_lowercase()
    }

    /// The id of a field reached through `segments` (lower-cased property names) under an
    /// entity id, nesting one `child_id` call per segment as OpenMetadata's traversal does.
    #[must_use]
    pub fn field_id(&self, entity_id: &str, segments: &[String]) -> String {
        segments
            .iter()
            .fold(entity_id.to_owned(), |parent, segment| {
                self.child_id(&parent, &[segment.as_str()])
            })
    }
}

/// What to do with a computed name longer than [`MAX_SECRET_NAME_LEN`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LongNamePolicy {
    /// Refuse to store the field (the default: names then always match OpenMetadata's).
    #[default]
    Refuse,
    /// Shorten deterministically with [`shortened_secret_name`] (names then differ from what
    /// OpenMetadata would compute, which would fail on them anyway).
    Shorten,
}

/// A valid Key Vault secret name: the one type of the workspace, vaultref-keyvault's
/// (1 to 127 characters of `0-9`, `a-z`, `A-Z` and `-`).
pub use vaultref_keyvault::SecretName;

/// Characters kept from the original name by [`shortened_secret_name`].
const SHORTENED_KEEP: usize = 110;

/// `text` as a [`SecretName`], with core's error.
///
/// # Errors
/// [`Error::InvalidSecretName`] describing (never echoing) what is wrong.
pub fn secret_name(text: &str) -> Result<SecretName> {
    SecretName::new(text).map_err(invalid_name)
}

/// Core's error for a name vaultref-keyvault refused.
pub(crate) fn invalid_name(error: vaultref_keyvault::Error) -> Error {
    match error {
        vaultref_keyvault::Error::InvalidSecretName { problem, .. } => {
            Error::InvalidSecretName { problem }
        }
        other => Error::InvalidSecretName {
            problem: other.to_string(),
        },
    }
}

/// A deterministic short form of a long id: its first 110 characters (trailing `-` removed),
/// `-`, and the first 16 hex digits of the SHA-256 of the whole id — 127 characters at most.
/// Ids that fit are returned unchanged ([`LongNamePolicy::Shorten`]).
///
/// # Errors
/// [`Error::InvalidSecretName`] when `id` has characters Key Vault does not accept.
pub fn shortened_secret_name(id: &str) -> Result<SecretName> {
    if id.len() <= MAX_SECRET_NAME_LEN {
        return secret_name(id);
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        // Described by the name rule, without the length (which is the point here).
        return secret_name(id);
    }
    let digest = Sha256::digest(id.as_bytes());
    let suffix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    // The id is ASCII (checked above), so byte slicing is character slicing.
    let head = id[..SHORTENED_KEEP].trim_end_matches('-');
    secret_name(&format!("{head}-{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worked example of spec §2.2.
    struct Example {
        scheme: NamingScheme,
        cluster: &'static str,
        prefix: &'static str,
        entity: &'static [&'static str],
        fields: &'static [&'static str],
        expected: &'static str,
    }

    fn check(example: &Example) {
        let builder = SecretIdBuilder::new(example.scheme, example.cluster, example.prefix);
        let entity_id = builder.entity_id(example.entity);
        let segments: Vec<String> = example.fields.iter().map(|s| (*s).to_owned()).collect();
        let id = builder.field_id(&entity_id, &segments);
        assert_eq!(
            id, example.expected,
            "{:?} {:?}",
            example.entity, example.fields
        );
    }

    const fn ex(
        scheme: NamingScheme,
        cluster: &'static str,
        prefix: &'static str,
        entity: &'static [&'static str],
        fields: &'static [&'static str],
        expected: &'static str,
    ) -> Example {
        Example {
            scheme,
            cluster,
            prefix,
            entity,
            fields,
            expected,
        }
    }

    use NamingScheme::{Azure, Default};
    const OM: &str = "openmetadata";
    const DBT: &[&str] = &[
        "sourceconfig",
        "config",
        "dbtconfigsource",
        "dbtsecurityconfig",
        "awssecretaccesskey",
    ];
    const WF: &[&str] = &["request", "connection", "config", "authtype", "password"];

    /// Every worked example of spec §2.2, both schemes where the spec gives both.
    const EXAMPLES: &[Example] = &[
        ex(
            Default,
            OM,
            "",
            &["database", "mysql-test"],
            &["authtype", "password"],
            "/openmetadata/database/mysql-test/authtype/password",
        ),
        ex(
            Default,
            OM,
            "",
            &["database", "mysql-test"],
            &["password"],
            "/openmetadata/database/mysql-test/password",
        ),
        ex(
            Default,
            OM,
            "prefix",
            &["database", "test"],
            &["authtype", "password"],
            "/prefix/openmetadata/database/test/authtype/password",
        ),
        ex(
            Azure,
            OM,
            "",
            &["database", "mysql-test"],
            &["authtype", "password"],
            "openmetadata-database-mysql-test-authtype-password",
        ),
        ex(
            Azure,
            OM,
            "om",
            &["database", "mysql-test"],
            &["authtype", "password"],
            "omopenmetadata-database-mysql-test-authtype-password",
        ),
        ex(
            Azure,
            "open_metadata",
            "",
            &["database", "My Service.v2"],
            &["authtype", "password"],
            "openmetadata-database-myservicev2-authtype-password",
        ),
        ex(
            Default,
            OM,
            "",
            &["bot", "ingestion-bot"],
            &["config", "jwttoken"],
            "/openmetadata/bot/ingestion-bot/config/jwttoken",
        ),
        ex(
            Azure,
            OM,
            "",
            &["bot", "ingestion-bot"],
            &["config", "jwttoken"],
            "openmetadata-bot-ingestion-bot-config-jwttoken",
        ),
        ex(
            Default,
            OM,
            "",
            &["bot", "bot"],
            &["config", "authconfig", "privatekey"],
            "/openmetadata/bot/bot/config/authconfig/privatekey",
        ),
        ex(
            Default,
            OM,
            "",
            &["pipeline", "my-pipeline"],
            DBT,
            "/openmetadata/pipeline/my-pipeline/sourceconfig/config/dbtconfigsource/dbtsecurityconfig/awssecretaccesskey",
        ),
        ex(
            Azure,
            OM,
            "",
            &["pipeline", "my-pipeline"],
            DBT,
            "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey",
        ),
        ex(
            Default,
            OM,
            "",
            &["workflow", "test-connection"],
            WF,
            "/openmetadata/workflow/test-connection/request/connection/config/authtype/password",
        ),
        ex(
            Azure,
            OM,
            "",
            &["workflow", "test-connection"],
            WF,
            "openmetadata-workflow-test-connection-request-connection-config-authtype-password",
        ),
        ex(
            Default,
            OM,
            "",
            &["serverconnection"],
            &["securityconfig", "secretkey"],
            "/openmetadata/serverconnection/securityconfig/secretkey",
        ),
        ex(
            Azure,
            OM,
            "",
            &["serverconnection"],
            &[],
            "openmetadata-serverconnection",
        ),
        ex(
            Default,
            OM,
            "",
            &["database", "mysql-test"],
            &[],
            "/openmetadata/database/mysql-test",
        ),
        ex(
            Azure,
            OM,
            "",
            &["database", "mysql-test"],
            &[],
            "openmetadata-database-mysql-test",
        ),
        ex(
            Azure,
            OM,
            "",
            &["bot", "ingestion-bot"],
            &[],
            "openmetadata-bot-ingestion-bot",
        ),
        ex(
            Default,
            OM,
            "",
            &["pipeline", "p"],
            &[],
            "/openmetadata/pipeline/p",
        ),
        ex(
            Azure,
            OM,
            "",
            &["workflow", "w"],
            &[],
            "openmetadata-workflow-w",
        ),
        // Upper case is lower-cased; the default scheme replaces instead of deleting.
        ex(
            Default,
            "Open Metadata",
            "",
            &["database", "My Svc"],
            &["authtype", "password"],
            "/open_metadata/database/my_svc/authtype/password",
        ),
        ex(
            Azure,
            "OpenMetadata",
            "",
            &["Database", "MySvc"],
            &["authType"],
            "openmetadata-database-mysvc-authtype",
        ),
    ];

    #[test]
    fn worked_examples_of_the_spec() {
        for example in EXAMPLES {
            check(example);
        }
    }

    #[test]
    fn external_app_private_config_ids() {
        for (scheme, expected) in [
            (Default, "external-app/private-config//my-app"),
            (Azure, "external-appprivate-config-my-app"),
        ] {
            let builder = SecretIdBuilder::new(scheme, OM, "");
            assert_eq!(
                builder.child_id("external-app/private-config/", &["my-app"]),
                expected
            );
        }
    }

    #[test]
    fn dbt_id_length_leaves_32_characters_for_the_pipeline_name() {
        let builder = SecretIdBuilder::new(Azure, OM, "");
        let segments: Vec<String> = DBT.iter().map(|s| (*s).to_owned()).collect();
        let fits = builder.field_id(
            &builder.entity_id(&["pipeline", &"p".repeat(32)]),
            &segments,
        );
        assert_eq!(fits.len(), 127);
        assert!(secret_name(&fits).is_ok());
        let over = builder.field_id(
            &builder.entity_id(&["pipeline", &"p".repeat(33)]),
            &segments,
        );
        assert_eq!(over.len(), 128);
        assert!(matches!(
            secret_name(&over),
            Err(Error::InvalidSecretName { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn azure_ids_are_key_vault_characters(
            cluster in "[ -~]{1,20}", prefix in "[ -~]{0,5}", name in "\\PC{0,40}", field in "[A-Za-z_]{1,12}",
        ) {
            let builder = SecretIdBuilder::new(Azure, &cluster, &prefix);
            let id = builder.field_id(&builder.entity_id(&["database", &name]), &[field.to_lowercase()]);
            proptest::prop_assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", id);
            // Any such id becomes a valid name once shortened.
            let shortened = shortened_secret_name(&id).unwrap();
            proptest::prop_assert!(shortened.as_str().len() <= MAX_SECRET_NAME_LEN);
        }
    }

    #[test]
    fn secret_names_are_validated() {
        for good in ["a", "A-1", &"x".repeat(127)] {
            assert_eq!(SecretName::new(good).unwrap().as_str(), good);
        }
        for bad in ["", "a_b", "a/b", "a.b", "é", &"x".repeat(128)] {
            assert!(SecretName::new(bad).is_err(), "{bad:?}");
        }
        // Described, never echoed (issue 14): a value pasted as a name stays out of messages.
        let err = secret_name("password=SuperSecret").unwrap_err().to_string();
        assert!(err.contains("character 9 is '='"), "{err}");
        assert!(!err.contains("SuperSecret"), "{err}");
    }

    #[test]
    fn shortening_is_deterministic_distinct_and_fits() {
        let long_a = format!("openmetadata-pipeline-{}-a", "p".repeat(120));
        let long_b = format!("openmetadata-pipeline-{}-b", "p".repeat(120));
        let a1 = shortened_secret_name(&long_a).unwrap();
        let a2 = shortened_secret_name(&long_a).unwrap();
        let b = shortened_secret_name(&long_b).unwrap();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert!(a1.as_str().len() <= MAX_SECRET_NAME_LEN);
        assert!(a1.as_str().starts_with(&long_a[..100]));
        // Short names are untouched.
        assert_eq!(
            shortened_secret_name("openmetadata-x").unwrap().as_str(),
            "openmetadata-x"
        );
        // A cut that ends on '-' does not leave "--".
        let dashes = format!("{}-{}", "a".repeat(109), "b".repeat(40));
        let short = shortened_secret_name(&dashes).unwrap();
        assert!(!short.as_str().contains("--"), "{short}");
    }
}
