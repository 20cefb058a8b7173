//! `secretsManagerConfiguration.tags`: read as OpenMetadata reads them, checked against Key
//! Vault's limits.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::{Node, scalar};
use crate::error::Result;

/// The tag naming the deployment (its database) that wrote a secret: vaultref sets it on every
/// secret it writes, so users may not configure it.
pub const OWNER_TAG: &str = "vaultref-database";

/// The `tags` list's entries as text (`- k: v` items written back as `k:v`).
pub(crate) fn tag_items(node: &Node<'_>) -> Result<Vec<String>> {
    Ok(match node.value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(seq)) => {
            let mut items = Vec::with_capacity(seq.len());
            for (i, item) in seq.iter().enumerate() {
                let item_node = node.item(i, item);
                match item {
                    // `[k1:v1]` in a YAML flow list is a string; `- k1: v1` is a one-entry map.
                    Value::Mapping(map) if map.len() == 1 => {
                        let (k, v) = map
                            .iter()
                            .next()
                            .map(|(k, v)| (scalar(k), scalar(v)))
                            .unwrap_or_default();
                        match (k, v) {
                            (Some(k), Some(v)) => items.push(format!("{k}:{v}")),
                            _ => return Err(item_node.error("must be a `key:value` string")),
                        }
                    }
                    _ => match item_node.string()? {
                        Some(s) => items.push(s),
                        None => return Err(item_node.error("must be a `key:value` string")),
                    },
                }
            }
            items
        }
        Some(_) => {
            return Err(
                node.error("must be a list of `key:value` strings, e.g. [team:data,env:prod]")
            );
        }
    })
}

pub(super) fn tags(node: &Node<'_>) -> Result<BTreeMap<String, String>> {
    let items = tag_items(node)?;
    let tags = parse_tags(&items);
    // Key Vault refuses the write otherwise (400 BadParameter), for every secret; vaultref
    // adds its ownership tag to every write.
    if tags.len() > MAX_TAGS - 1 {
        return Err(node.error(format!(
            "has {} tags, over the {} Key Vault leaves beside vaultref's own \
             ({OWNER_TAG}; {MAX_TAGS} per secret): remove some",
            tags.len(),
            MAX_TAGS - 1
        )));
    }
    if tags.contains_key(OWNER_TAG) {
        return Err(node.error(format!(
            "has a tag named {OWNER_TAG}, which vaultref sets itself to name the deployment \
             that wrote a secret: remove it"
        )));
    }
    if let Some((key, _)) = tags
        .iter()
        .find(|(k, v)| k.chars().count() > MAX_TAG_LEN || v.chars().count() > MAX_TAG_LEN)
    {
        return Err(node.error(format!(
            "has a tag (`{}…`) whose name or value is over Key Vault's {MAX_TAG_LEN} characters: \
             shorten it",
            key.chars().take(20).collect::<String>()
        )));
    }
    Ok(tags)
}

/// Key Vault's limits on a secret's tags.
const MAX_TAGS: usize = 15;
const MAX_TAG_LEN: usize = 512;

/// Parses tags exactly as OpenMetadata's `getTags` does: each string is split on `:` like
/// Java's `String.split` (trailing empty parts dropped); part 0 is the key and part 1 the value,
/// further parts are ignored, nothing is trimmed; a string without a value is skipped with a
/// warning; a repeated key keeps its last value.
#[must_use]
pub fn parse_tags<S: AsRef<str>>(items: &[S]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for item in items {
        let item = item.as_ref();
        let Some((key, value)) = split_tag(item) else {
            tracing::warn!(
                tag = item,
                "skipping secretsManagerConfiguration.tags entry without `key:value`"
            );
            continue;
        };
        tags.insert(key.to_owned(), value.to_owned());
    }
    tags
}

/// One entry split as OpenMetadata's `getTags` splits it: `None` when it has no value (Java's
/// `String.split` drops trailing empty parts), so the entry is skipped.
pub(crate) fn split_tag(item: &str) -> Option<(&str, &str)> {
    let mut parts: Vec<&str> = item.split(':').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    (parts.len() >= 2).then(|| (parts[0], parts[1]))
}
