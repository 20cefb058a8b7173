//! Catalog paths: patterns of JSON keys with `[]` (any item) and `*` (any member), matched
//! against and expanded over documents.

use serde_json::Value;

use crate::document::{JsonPath, PathStep};

/// Steps joined with `.` (an index as its number).
pub(crate) fn dotted(steps: &[PathStep]) -> String {
    steps
        .iter()
        .map(|step| match step {
            PathStep::Key(key) => key.clone(),
            PathStep::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// One step of a catalog path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Key(String),
    AnyIndex,
    AnyKey,
}

pub(crate) type Pattern = Vec<Step>;

/// A catalog path (`a.[].b`, `a.*`) as a pattern.
pub(crate) fn pattern(path: &str) -> Pattern {
    if path.is_empty() {
        return Vec::new();
    }
    path.split('.')
        .map(|part| match part {
            "[]" => Step::AnyIndex,
            "*" => Step::AnyKey,
            key => Step::Key(key.to_owned()),
        })
        .collect()
}

/// Whether `steps` is a concrete path `pattern` stands for.
pub(crate) fn matches(pattern: &[Step], steps: &[PathStep]) -> bool {
    pattern.len() == steps.len()
        && pattern.iter().zip(steps).all(|(p, s)| match (p, s) {
            (Step::Key(a), PathStep::Key(b)) => a == b,
            (Step::AnyIndex, PathStep::Index(_)) | (Step::AnyKey, PathStep::Key(_)) => true,
            _ => false,
        })
}

/// A pattern as the catalog writes it.
pub(crate) fn pattern_text(pattern: &[Step]) -> String {
    pattern
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.as_str(),
            Step::AnyIndex => "[]",
            Step::AnyKey => "*",
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Calls `found` with every concrete path (prefixed) where `pattern` reaches a value in `value`.
pub(crate) fn expand(
    pattern: &[Step],
    value: &Value,
    prefix: &mut JsonPath,
    found: &mut dyn FnMut(JsonPath),
) {
    let Some((first, rest)) = pattern.split_first() else {
        found(prefix.clone());
        return;
    };
    match (first, value) {
        (Step::Key(key), Value::Object(fields)) => {
            if let Some(child) = fields.get(key) {
                prefix.push(PathStep::Key(key.clone()));
                expand(rest, child, prefix, found);
                prefix.pop();
            }
        }
        (Step::AnyKey, Value::Object(fields)) => {
            for (key, child) in fields {
                prefix.push(PathStep::Key(key.clone()));
                expand(rest, child, prefix, found);
                prefix.pop();
            }
        }
        (Step::AnyIndex, Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                expand(rest, child, prefix, found);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The value at `steps` inside `value`.
pub(crate) fn pointer<'a>(value: &'a Value, steps: &[PathStep]) -> Option<&'a Value> {
    steps.iter().try_fold(value, |v, step| match step {
        PathStep::Key(k) => v.get(k),
        PathStep::Index(i) => v.get(i),
    })
}

/// The value at `steps` inside `value`, mutable.
pub(crate) fn pointer_mut<'a>(value: &'a mut Value, steps: &[PathStep]) -> Option<&'a mut Value> {
    steps.iter().try_fold(value, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k),
        PathStep::Index(i) => v.get_mut(i),
    })
}
