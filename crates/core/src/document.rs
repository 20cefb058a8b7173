//! Entity documents as stored: the text, parsed once, and edits spliced into that text.
//!
//! vaultref owns only the secret fields of a document. Re-serializing a parsed
//! `serde_json::Value` would round numbers beyond `f64` (`123456789012345678901234567890`
//! becomes `1.2345678901234568e+29`) and could reorder keys, so a [`Document`] keeps the text it
//! was read from and an edit replaces only the bytes of the values it targets: everything else
//! comes back byte for byte. (serde_json's `arbitrary_precision` and `preserve_order` features
//! would also keep digits and order, but features unify across the workspace and change how
//! every crate's numbers and maps behave, e.g. numbers inside untagged enums; editing the text
//! costs nothing outside this module.)

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};

/// One step from a JSON value into a member or an element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    /// The member with this key of an object.
    Key(String),
    /// The element at this index of an array.
    Index(usize),
}

/// Steps from a document's root to a value.
pub type JsonPath = Vec<PathStep>;

/// Object keys from the root, as a [`JsonPath`].
#[must_use]
pub fn key_path<S: AsRef<str>>(keys: &[S]) -> JsonPath {
    keys.iter()
        .map(|k| PathStep::Key(k.as_ref().to_owned()))
        .collect()
}

/// A JSON document with the exact text it was read from.
///
/// `Debug` shows the length only: documents hold secrets.
#[derive(Clone, PartialEq)]
pub struct Document {
    text: String,
    value: Value,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl Document {
    /// Parses `text`, keeping it.
    ///
    /// # Errors
    /// [`Error::InvalidJson`] (positions only, never content): not JSON, or a number beyond
    /// what a JSON reader can hold (`1e400`).
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        let value = serde_json::from_str(&text).map_err(|e| Error::InvalidJson {
            problem: e.to_string(),
        })?;
        Ok(Self { text, value })
    }

    /// A document written from `value` (for documents that never had a text of their own).
    #[must_use]
    pub fn from_value(value: Value) -> Self {
        Self {
            text: value.to_string(),
            value,
        }
    }

    /// The parsed value (numbers as `f64` where they do not fit an integer: read it, never
    /// write it back).
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text, consuming the document.
    #[must_use]
    pub fn into_text(self) -> String {
        self.text
    }

    /// This document with the value at each path replaced. Only the bytes of the replaced
    /// values change. Every occurrence counts when an object repeats a key (readers disagree on
    /// which one wins). Paths that lead nowhere are skipped, as are edits inside a replaced
    /// value.
    ///
    /// # Errors
    /// [`Error::InvalidJson`] only if the document's text is not JSON (it was parsed before, so
    /// this does not happen).
    pub fn edited(&self, edits: &[(JsonPath, Value)]) -> Result<Self> {
        if edits.is_empty() {
            return Ok(self.clone());
        }
        let mut spans = Vec::new();
        let mut scanner = Scanner {
            text: &self.text,
            pos: 0,
        };
        scanner.value(&mut Vec::new(), edits, &mut spans)?;
        spans.sort_by_key(|span| span.0);
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for (start, end, edit) in spans {
            if start < at {
                continue;
            }
            out.push_str(&self.text[at..start]);
            out.push_str(&edits[edit].1.to_string());
            at = end;
        }
        out.push_str(&self.text[at..]);
        Self::parse(out)
    }

    /// This document with the top-level member `key` set to `value`: replaced where it is,
    /// else added first. Nothing else changes.
    ///
    /// # Errors
    /// [`Error::InvalidJson`] when the document is not an object.
    pub fn with_member(&self, key: &str, value: Value) -> Result<Self> {
        let Some(object) = self.value.as_object() else {
            return Err(Error::InvalidJson {
                problem: "the document is not a JSON object".to_owned(),
            });
        };
        if object.contains_key(key) {
            return self.edited(&[(vec![PathStep::Key(key.to_owned())], value)]);
        }
        let open = self.text.find('{').ok_or_else(|| Error::InvalidJson {
            problem: "the document is not a JSON object".to_owned(),
        })?;
        let separator = if object.is_empty() { "" } else { "," };
        let text = format!(
            "{}{{{}:{}{separator}{}",
            &self.text[..open],
            Value::String(key.to_owned()),
            value,
            &self.text[open + 1..]
        );
        Self::parse(text)
    }
}

impl Document {
    /// The value of the top-level member `key` as a document of its own, with its exact text
    /// (the last one when the object repeats the key, as JSON readers take it).
    #[must_use]
    pub fn member(&self, key: &str) -> Option<Self> {
        let target = [(vec![PathStep::Key(key.to_owned())], Value::Null)];
        let mut spans = Vec::new();
        let mut scanner = Scanner {
            text: &self.text,
            pos: 0,
        };
        scanner.value(&mut Vec::new(), &target, &mut spans).ok()?;
        let (start, end, _) = spans.last()?;
        Self::parse(&self.text[*start..*end]).ok()
    }
}

/// The edits that turn `old` into `new` where they differ in strings (and other leaves):
/// with [`Document::edited`], a change computed on parsed values lands in the text without
/// touching the rest.
#[must_use]
pub fn changes(old: &Value, new: &Value) -> Vec<(JsonPath, Value)> {
    fn walk(old: &Value, new: &Value, path: &mut JsonPath, out: &mut Vec<(JsonPath, Value)>) {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
                for (key, x) in a {
                    let Some(y) = b.get(key) else {
                        out.push((path.clone(), new.clone()));
                        return;
                    };
                    path.push(PathStep::Key(key.clone()));
                    walk(x, y, path, out);
                    path.pop();
                }
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (index, (x, y)) in a.iter().zip(b).enumerate() {
                    path.push(PathStep::Index(index));
                    walk(x, y, path, out);
                    path.pop();
                }
            }
            _ if old == new => {}
            _ => out.push((path.clone(), new.clone())),
        }
    }
    let mut out = Vec::new();
    walk(old, new, &mut Vec::new(), &mut out);
    out
}

/// Finds the byte spans of the values at the edit paths. The text is valid JSON (it was
/// parsed), so the scanner only needs to find where each value starts and ends.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl Scanner<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    fn malformed(&self) -> Error {
        Error::InvalidJson {
            problem: format!("unexpected input at byte {}", self.pos),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<()> {
        self.skip_whitespace();
        if self.bytes().get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.malformed())
        }
    }

    /// Scans one value at `path`, recording `(start, end, edit index)` for targeted values.
    fn value(
        &mut self,
        path: &mut JsonPath,
        edits: &[(JsonPath, Value)],
        spans: &mut Vec<(usize, usize, usize)>,
    ) -> Result<()> {
        self.skip_whitespace();
        let start = self.pos;
        if let Some(edit) = edits.iter().position(|(target, _)| target == path) {
            self.skip_value()?;
            spans.push((start, self.pos, edit));
            return Ok(());
        }
        let inside = edits
            .iter()
            .any(|(target, _)| target.len() > path.len() && target.starts_with(path));
        match self.bytes().get(self.pos) {
            Some(b'{') if inside => self.object(path, edits, spans),
            Some(b'[') if inside => self.array(path, edits, spans),
            _ => self.skip_value(),
        }
    }

    fn object(
        &mut self,
        path: &mut JsonPath,
        edits: &[(JsonPath, Value)],
        spans: &mut Vec<(usize, usize, usize)>,
    ) -> Result<()> {
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.bytes().get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let key_start = self.pos;
            self.skip_string()?;
            let key: String = serde_json::from_str(&self.text[key_start..self.pos])
                .map_err(|_| self.malformed())?;
            self.expect(b':')?;
            path.push(PathStep::Key(key));
            self.value(path, edits, spans)?;
            path.pop();
            self.skip_whitespace();
            match self.bytes().get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.malformed()),
            }
        }
    }

    fn array(
        &mut self,
        path: &mut JsonPath,
        edits: &[(JsonPath, Value)],
        spans: &mut Vec<(usize, usize, usize)>,
    ) -> Result<()> {
        self.expect(b'[')?;
        self.skip_whitespace();
        if self.bytes().get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            path.push(PathStep::Index(index));
            self.value(path, edits, spans)?;
            path.pop();
            index += 1;
            self.skip_whitespace();
            match self.bytes().get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.malformed()),
            }
        }
    }

    /// Moves past one value of any kind.
    fn skip_value(&mut self) -> Result<()> {
        self.skip_whitespace();
        match self.bytes().get(self.pos) {
            Some(b'"') => self.skip_string(),
            Some(open @ (b'{' | b'[')) => {
                let close = if *open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                self.skip_whitespace();
                if self.bytes().get(self.pos) == Some(&close) {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    if close == b'}' {
                        self.skip_whitespace();
                        self.skip_string()?;
                        self.expect(b':')?;
                    }
                    self.skip_value()?;
                    self.skip_whitespace();
                    match self.bytes().get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b) if *b == close => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.malformed()),
                    }
                }
            }
            Some(_) => {
                // Numbers and the literals true, false, null.
                let start = self.pos;
                while let Some(b) = self.bytes().get(self.pos) {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if self.pos == start {
                    return Err(self.malformed());
                }
                Ok(())
            }
            None => Err(self.malformed()),
        }
    }

    fn skip_string(&mut self) -> Result<()> {
        if self.bytes().get(self.pos) != Some(&b'"') {
            return Err(self.malformed());
        }
        self.pos += 1;
        while let Some(b) = self.bytes().get(self.pos) {
            match b {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => self.pos += 1,
            }
        }
        Err(self.malformed())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn edit(text: &str, edits: &[(JsonPath, Value)]) -> String {
        Document::parse(text)
            .unwrap()
            .edited(edits)
            .unwrap()
            .into_text()
    }

    fn at(keys: &[&str]) -> JsonPath {
        key_path(keys)
    }

    #[test]
    fn only_the_edited_value_changes_numbers_and_order_stay_digit_for_digit() {
        let text = r#"{"z": 123456789012345678901234567890, "a" : {"password":"old", "n": 18446744073709551617},
  "f": 0.10000000000000000001, "e": 1E+2}"#;
        let out = edit(text, &[(at(&["a", "password"]), json!("new"))]);
        assert_eq!(out, text.replace(r#""old""#, r#""new""#));
    }

    #[test]
    fn every_occurrence_of_a_repeated_key_and_array_elements_are_edited() {
        let text = r#"{"p":"a","x":[{"s":"fernet:1"},{"s":"k"}],"p":"b"}"#;
        let out = edit(
            text,
            &[
                (at(&["p"]), json!("c")),
                (
                    vec![
                        PathStep::Key("x".into()),
                        PathStep::Index(0),
                        PathStep::Key("s".into()),
                    ],
                    json!("fernet:2"),
                ),
            ],
        );
        assert_eq!(out, r#"{"p":"c","x":[{"s":"fernet:2"},{"s":"k"}],"p":"c"}"#);
    }

    #[test]
    fn escaped_keys_match_and_strings_with_quotes_are_skipped_whole() {
        let text = r#"{"d":"a \"quoted\" }] text\\","pass\u0077ord":null}"#;
        let out = edit(text, &[(at(&["password"]), json!("x\"y"))]);
        assert_eq!(
            out,
            r#"{"d":"a \"quoted\" }] text\\","pass\u0077ord":"x\"y"}"#
        );
    }

    #[test]
    fn missing_paths_are_skipped() {
        let text = r#"{"a":{"b":1}}"#;
        assert_eq!(edit(text, &[(at(&["a", "c"]), json!("x"))]), text);
        assert_eq!(edit(text, &[(at(&["a", "b", "c"]), json!("x"))]), text);
    }

    #[test]
    fn a_member_is_replaced_in_place_or_added_first() {
        let doc = Document::parse(r#"{ "name":"x", "n": 1.50}"#).unwrap();
        assert_eq!(
            doc.with_member("id", json!("42")).unwrap().text(),
            r#"{"id":"42", "name":"x", "n": 1.50}"#
        );
        let doc = Document::parse(r#"{"id":"1","n":1.50}"#).unwrap();
        assert_eq!(
            doc.with_member("id", json!("2")).unwrap().text(),
            r#"{"id":"2","n":1.50}"#
        );
        assert_eq!(
            Document::parse("{}")
                .unwrap()
                .with_member("id", json!("3"))
                .unwrap()
                .text(),
            r#"{"id":"3"}"#
        );
        assert!(
            Document::parse("[1]")
                .unwrap()
                .with_member("id", json!(1))
                .is_err()
        );
    }

    #[test]
    fn a_member_keeps_its_text_and_changes_land_in_the_text() {
        let line =
            Document::parse(r#"{"entityType":"x","entity": {"n": 1.10, "p": "a"} }"#).unwrap();
        let entity = line.member("entity").unwrap();
        assert_eq!(entity.text(), r#"{"n": 1.10, "p": "a"}"#);
        assert!(line.member("missing").is_none());
        let mut revealed = entity.value().clone();
        revealed["p"] = json!("b");
        let edits = changes(entity.value(), &revealed);
        assert_eq!(edits, [(at(&["p"]), json!("b"))]);
        assert_eq!(
            entity.edited(&edits).unwrap().text(),
            r#"{"n": 1.10, "p": "b"}"#
        );
    }

    #[test]
    fn numbers_no_reader_holds_are_an_error_without_content() {
        let err = Document::parse(r#"{"n": 1e400, "p": "hunter2"}"#).unwrap_err();
        assert!(err.to_string().contains("column"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }
}
