//! The JSON Key Vault speaks (private DTOs) and their conversion to the public types.
//!
//! Field names follow `secrets.json` of the 2025-07-01 REST spec; times are integer Unix
//! seconds; unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{
    DeletedSecret, Error, Result, Secret, SecretName, SecretProperties, SecretUpdate, SecretValue,
    SetSecretOptions,
};

/// `SecretSetParameters`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SetBody<'a> {
    pub(crate) value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attributes: Option<AttributesOut>,
}

impl<'a> SetBody<'a> {
    pub(crate) fn new(value: &'a str, options: &'a SetSecretOptions) -> Self {
        Self {
            value,
            content_type: options.content_type.as_deref(),
            tags: &options.tags,
            attributes: AttributesOut::new(options.enabled, options.not_before, options.expires_on),
        }
    }
}

/// `SecretUpdateParameters`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attributes: Option<AttributesOut>,
}

impl<'a> UpdateBody<'a> {
    pub(crate) fn new(update: &'a SecretUpdate) -> Self {
        Self {
            content_type: update.content_type.as_deref(),
            tags: update.tags.as_ref(),
            attributes: AttributesOut::new(update.enabled, update.not_before, update.expires_on),
        }
    }
}

/// The writable part of `SecretAttributes`; sent only when something is set (as the SDKs do).
#[derive(Serialize)]
pub(crate) struct AttributesOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

impl AttributesOut {
    fn new(
        enabled: Option<bool>,
        not_before: Option<OffsetDateTime>,
        expires_on: Option<OffsetDateTime>,
    ) -> Option<Self> {
        let out = Self {
            enabled,
            nbf: not_before.map(OffsetDateTime::unix_timestamp),
            exp: expires_on.map(OffsetDateTime::unix_timestamp),
        };
        (out.enabled.is_some() || out.nbf.is_some() || out.exp.is_some()).then_some(out)
    }
}

/// `SecretRestoreParameters`.
#[derive(Serialize)]
pub(crate) struct RestoreBody<'a> {
    pub(crate) value: &'a str,
}

/// `SecretBundle`, `SecretItem`, `DeletedSecretBundle` and `DeletedSecretItem` in one shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BundleWire {
    value: Option<Zeroizing<String>>,
    id: Option<String>,
    content_type: Option<String>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
    kid: Option<String>,
    managed: Option<bool>,
    recovery_id: Option<String>,
    deleted_date: Option<i64>,
    scheduled_purge_date: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttributesIn {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
    created: Option<i64>,
    updated: Option<i64>,
    recovery_level: Option<String>,
    recoverable_days: Option<i32>,
}

/// `SecretListResult` / `DeletedSecretListResult`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListWire {
    #[serde(default)]
    pub(crate) value: Vec<BundleWire>,
    pub(crate) next_link: Option<String>,
}

/// `BackupSecretResult`.
#[derive(Deserialize)]
pub(crate) struct BackupWire {
    pub(crate) value: Zeroizing<String>,
}

/// Parses a success body, naming the operation when it does not fit.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    operation: &'static str,
    body: &[u8],
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        // Not serde_json's message: it quotes the offending data (`invalid type: string
        // "…", expected a sequence`), which may be a secret value.
        let what = match e.classify() {
            serde_json::error::Category::Io => "could not be read",
            serde_json::error::Category::Syntax => "is not valid JSON",
            serde_json::error::Category::Data => "has a field of the wrong type or shape",
            serde_json::error::Category::Eof => "is truncated",
        };
        Error::UnexpectedResponse {
            operation,
            status: 200,
            problem: format!(
                "the body {what} (line {}, column {}); is the URL a Key Vault, or is a proxy rewriting responses?",
                e.line(),
                e.column()
            ),
        }
    })
}

fn timestamp(operation: &'static str, seconds: Option<i64>) -> Result<Option<OffsetDateTime>> {
    seconds
        .map(|s| {
            OffsetDateTime::from_unix_timestamp(s).map_err(|_| Error::UnexpectedResponse {
                operation,
                status: 200,
                problem: format!("timestamp {s} is out of range"),
            })
        })
        .transpose()
}

/// `(name, version)` from `scheme://host[:port]/secrets/{name}[/{version}]`.
fn split_id(operation: &'static str, id: &str) -> Result<(SecretName, Option<String>)> {
    let bad = |problem: &str| Error::UnexpectedResponse {
        operation,
        status: 200,
        problem: format!("secret id '{id}' {problem}"),
    };
    let url = url::Url::parse(id).map_err(|_| bad("is not a URL"))?;
    let mut segments = url.path_segments().ok_or_else(|| bad("has no path"))?;
    let collection = segments.next().unwrap_or_default();
    if !collection.eq_ignore_ascii_case("secrets")
        && !collection.eq_ignore_ascii_case("deletedsecrets")
    {
        return Err(bad("is not a secret id"));
    }
    let name = segments
        .next()
        .and_then(|n| SecretName::new(n).ok())
        .ok_or_else(|| bad("has no valid secret name"))?;
    let version = segments.next().filter(|v| !v.is_empty()).map(str::to_owned);
    Ok((name, version))
}

impl BundleWire {
    pub(crate) fn into_properties(self, operation: &'static str) -> Result<SecretProperties> {
        self.split(operation).map(|(_, properties, _)| properties)
    }

    pub(crate) fn into_secret(self, operation: &'static str) -> Result<Secret> {
        let (value, properties, _) = self.split(operation)?;
        let value = value.ok_or(Error::UnexpectedResponse {
            operation,
            status: 200,
            problem: "the secret bundle has no value".into(),
        })?;
        Ok(Secret {
            value: SecretValue::from(value),
            properties,
        })
    }

    pub(crate) fn into_deleted(self, operation: &'static str) -> Result<DeletedSecret> {
        let (_, properties, deletion) = self.split(operation)?;
        Ok(DeletedSecret {
            properties,
            recovery_id: deletion.recovery_id,
            deleted_on: timestamp(operation, deletion.deleted_date)?,
            scheduled_purge_date: timestamp(operation, deletion.scheduled_purge_date)?,
        })
    }

    fn split(
        self,
        operation: &'static str,
    ) -> Result<(Option<Zeroizing<String>>, SecretProperties, Deletion)> {
        let id = self.id.ok_or(Error::UnexpectedResponse {
            operation,
            status: 200,
            problem: "the response has no secret id".into(),
        })?;
        let (name, version) = split_id(operation, &id)?;
        let attributes = self.attributes.unwrap_or_default();
        let properties = SecretProperties {
            id,
            name,
            version,
            content_type: self.content_type,
            tags: self.tags.unwrap_or_default(),
            enabled: attributes.enabled,
            not_before: timestamp(operation, attributes.nbf)?,
            expires_on: timestamp(operation, attributes.exp)?,
            created_on: timestamp(operation, attributes.created)?,
            updated_on: timestamp(operation, attributes.updated)?,
            recovery_level: attributes.recovery_level,
            recoverable_days: attributes.recoverable_days,
            managed: self.managed.unwrap_or(false),
            key_id: self.kid,
        };
        let deletion = Deletion {
            recovery_id: self.recovery_id,
            deleted_date: self.deleted_date,
            scheduled_purge_date: self.scheduled_purge_date,
        };
        Ok((self.value, properties, deletion))
    }
}

struct Deletion {
    recovery_id: Option<String>,
    deleted_date: Option<i64>,
    scheduled_purge_date: Option<i64>,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn set_body_sends_attributes_only_when_given() {
        let plain = SetSecretOptions::default();
        let json = serde_json::to_string(&SetBody::new("v", &plain)).unwrap();
        assert_eq!(json, r#"{"value":"v"}"#);

        let full = SetSecretOptions {
            content_type: Some("text/plain".into()),
            tags: [("a".to_owned(), "b".to_owned())].into(),
            enabled: Some(true),
            not_before: None,
            expires_on: Some(datetime!(2030-01-01 0:00 UTC)),
        };
        let json = serde_json::to_string(&SetBody::new("hello", &full)).unwrap();
        assert_eq!(
            json,
            r#"{"value":"hello","contentType":"text/plain","tags":{"a":"b"},"attributes":{"enabled":true,"exp":1893456000}}"#
        );
    }

    #[test]
    fn bundles_from_the_wire_trace_parse() {
        let body = br#"{"value": "hello", "id": "https://localhost:8445/secrets/mysecret/8095fa90d89344e984c1e4328e52b711", "attributes": {"enabled": true, "created": 1795416326, "updated": 1795416326, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}, "contentType": "text/plain", "tags": {"a": "b"}, "unknownField": 1}"#;
        let secret = parse::<BundleWire>("get secret", body)
            .unwrap()
            .into_secret("get secret")
            .unwrap();
        assert_eq!(secret.value.expose(), "hello");
        let p = &secret.properties;
        assert_eq!(p.name.as_str(), "mysecret");
        assert_eq!(
            p.version.as_deref(),
            Some("8095fa90d89344e984c1e4328e52b711")
        );
        assert_eq!(p.recoverable_days, Some(90));
        assert_eq!(
            p.created_on.map(OffsetDateTime::unix_timestamp),
            Some(1_795_416_326)
        );
        assert_eq!(p.tags.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn list_pages_accept_null_next_link_and_deleted_items() {
        let body = br#"{"value":[{"id":"https://v.vault.azure.net:443/secrets/s1","attributes":{"enabled":true},"recoveryId":"https://v.vault.azure.net/deletedsecrets/s1","deletedDate":1493938433,"scheduledPurgeDate":1501714433}],"nextLink":null}"#;
        let list = parse::<ListWire>("list deleted secrets", body).unwrap();
        assert!(list.next_link.is_none());
        let deleted = list
            .value
            .into_iter()
            .next()
            .unwrap()
            .into_deleted("list deleted secrets")
            .unwrap();
        assert_eq!(deleted.properties.name.as_str(), "s1");
        assert_eq!(deleted.properties.version, None);
        assert_eq!(
            deleted.deleted_on.map(OffsetDateTime::unix_timestamp),
            Some(1_493_938_433)
        );
    }

    #[test]
    fn malformed_bodies_are_typed_errors_without_the_body() {
        let Err(err) = parse::<BundleWire>("get secret", br#"{"value":"s3cr3t","id":5}"#) else {
            panic!("a numeric id must not parse");
        };
        assert!(matches!(err, Error::UnexpectedResponse { .. }));
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        // A secret's body where a list page was expected (a nextLink to a secret): serde_json
        // would quote the value in its message.
        let Err(err) = parse::<ListWire>("list secrets", br#"{"value":"s3cr3t"}"#) else {
            panic!("a string value must not parse as a list page");
        };
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse::<BundleWire>(
            "get secret",
            br#"{"value":"s3cr3t","id":"https://h/keys/x"}"#,
        )
        .unwrap()
        .into_secret("get secret")
        .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
