//! OpenMetadata's name hashes: `nameHash` and `fqnHash`.
//!
//! `FullyQualifiedName.buildHash` (openmetadata-service/.../util/FullyQualifiedName.java
//! @ 9c906918, with `EntityUtil.hash` @ 015f49b4): the fully qualified name is split into its
//! parts, each part is taken in its quoted form (a part holding a `.` in double quotes, the
//! quotes included), hashed with MD5 over its UTF-8 bytes, written in lowercase hex, and the
//! digests are joined with `.`. A service's FQN is its quoted name, so its `nameHash` is one
//! digest; an ingestion pipeline's `fqnHash` is `md5(service).md5(pipeline)`.
//!
//! Names holding a `"` are refused: the sources disagree on how such a part is quoted
//! (rejected, `\"`, or `""`), a wrong hash would create a second row for one entity, and the
//! released ingestion packages of both supported releases reject them (`fqn.quote_name`,
//! docs/facts-checked.md 7.2).

use md5::Digest as _;
use vaultref_core::EntityKey;

/// A part of a fully qualified name as OpenMetadata writes it: in double quotes when it holds
/// a `.`.
pub(crate) fn quoted_part(part: &str) -> String {
    if part.contains('.') {
        format!("\"{part}\"")
    } else {
        part.to_owned()
    }
}

/// The `nameHash` / `fqnHash` of `key`, or the part that holds a `"` (not supported).
pub(crate) fn name_hash(key: &EntityKey) -> Result<String, String> {
    if let Some(part) = key.parts().iter().find(|p| p.contains('"')) {
        return Err(part.clone());
    }
    Ok(hash_parts(key))
}

/// The hash of every part as [`name_hash`] computes it, whatever the parts hold (vaultref's
/// own tables need one value per identity, not OpenMetadata's).
pub(crate) fn hash_parts(key: &EntityKey) -> String {
    key.parts()
        .iter()
        .map(|part| {
            md5::Md5::digest(quoted_part(part).as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use vaultref_core::EntityType;

    use super::*;

    fn hash(entity_type: EntityType, entity: &Value) -> Result<String, String> {
        name_hash(&EntityKey::of(entity_type, entity).unwrap())
    }

    /// The worked examples of the issue 12 facts (computed with Python's hashlib over UTF-8).
    #[test]
    fn hashes_match_openmetadatas_worked_examples() {
        for (name, expected) in [
            ("simple", "8dbdda48fb8748d6746f1965824e966a"),
            ("has.dot", "eac5d049653bb4c7cc99745ac29bd30a"),
            ("naïve space", "9032d36672f34fa1cdb59d6d0fccdb7f"),
        ] {
            assert_eq!(
                hash(EntityType::DatabaseService, &json!({"name": name})).as_deref(),
                Ok(expected),
                "{name}"
            );
        }
        let pipeline = json!({"name": "a.b", "service": {"name": "svc"}});
        assert_eq!(
            hash(EntityType::IngestionPipeline, &pipeline).as_deref(),
            Ok("961e38b5146c0b07d078f53dec9b699a.7afdd4dc13167ba44a2be193a89bbc07")
        );
        let quoted = json!({"name": "has \"quote\""});
        assert_eq!(
            hash(EntityType::DatabaseService, &quoted),
            Err("has \"quote\"".to_owned())
        );
    }
}
