//! What the state API reports about a stored secret: its latest version's attributes, never
//! its value.

use std::collections::BTreeMap;

use crate::vault::Secret;

/// The attributes of a secret's latest version, as stored (read with
/// `Emulator::secret_properties`). Holds no value, so it can be printed freely.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretProperties {
    /// The name as first created (names are case-insensitive).
    pub name: String,
    /// The latest version's id (32 lowercase hex characters).
    pub version: String,
    /// `contentType`, if set.
    pub content_type: Option<String>,
    /// The tags (empty when none were set).
    pub tags: BTreeMap<String, String>,
    /// `attributes.enabled`.
    pub enabled: bool,
    /// `attributes.nbf`, in seconds since the Unix epoch.
    pub not_before: Option<i64>,
    /// `attributes.exp`, in seconds since the Unix epoch.
    pub expires_on: Option<i64>,
    /// `attributes.created`, in seconds since the Unix epoch (emulator clock).
    pub created_on: i64,
    /// `attributes.updated`, in seconds since the Unix epoch (emulator clock).
    pub updated_on: i64,
    /// How many versions the secret has.
    pub version_count: usize,
}

impl SecretProperties {
    /// The latest version's properties; `None` for a secret without versions.
    pub(crate) fn of(secret: &Secret) -> Option<Self> {
        let latest = secret.versions.last()?;
        Some(Self {
            name: secret.name.clone(),
            version: latest.id.clone(),
            content_type: latest.content_type.clone(),
            tags: latest.tags.clone().unwrap_or_default(),
            enabled: latest.enabled,
            not_before: latest.nbf,
            expires_on: latest.exp,
            created_on: latest.created,
            updated_on: latest.updated,
            version_count: secret.versions.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Version;

    fn version(id: &str, tags: Option<&[(&str, &str)]>, exp: Option<i64>) -> Version {
        Version {
            id: id.into(),
            value: "never-shown".into(),
            content_type: Some("text/plain".into()),
            tags: tags.map(|t| {
                t.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
            enabled: true,
            nbf: None,
            exp,
            created: 10,
            updated: 20,
        }
    }

    #[test]
    fn properties_are_the_latest_versions_and_hold_no_value() {
        let secret = Secret {
            name: "Db-Pass".into(),
            versions: vec![
                version("a", Some(&[("old", "1")]), Some(5)),
                version("b", Some(&[("owner", "core")]), Some(1_893_456_000)),
            ],
            visible_from: None,
        };
        let properties = SecretProperties::of(&secret).unwrap();
        assert_eq!(properties.name, "Db-Pass");
        assert_eq!(properties.version, "b");
        assert_eq!(properties.expires_on, Some(1_893_456_000));
        assert_eq!(
            properties.tags.into_iter().collect::<Vec<_>>(),
            vec![("owner".to_owned(), "core".to_owned())]
        );
        assert_eq!(properties.version_count, 2);
        let shown = format!("{:?}", SecretProperties::of(&secret).unwrap());
        assert!(!shown.contains("never-shown"), "{shown}");
    }

    #[test]
    fn untagged_secrets_have_empty_tags_and_versionless_ones_no_properties() {
        let mut secret = Secret {
            name: "plain".into(),
            versions: vec![version("a", None, None)],
            visible_from: None,
        };
        let properties = SecretProperties::of(&secret).unwrap();
        assert!(properties.tags.is_empty());
        assert_eq!(properties.expires_on, None);
        secret.versions.clear();
        assert_eq!(SecretProperties::of(&secret), None);
    }
}
