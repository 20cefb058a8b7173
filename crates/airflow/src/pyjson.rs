//! JSON as Python's `json` module reads and writes it, which is how Airflow serialises
//! connections: `json.loads` keeps key order and arbitrary-size integers, a repeated key keeps
//! its first position and its last value; `json.dumps` with its defaults writes `", "` and
//! `": "` separators, escapes every non-ASCII character (`ensure_ascii`), and prints floats as
//! Python's `repr` does (`1e+16`, `1e-05`, `100000.0`).
//!
//! Parsing goes through serde_json (validation, nesting limit) and its `RawValue`, so numbers
//! keep their source text. NaN and Infinity literals, which Python accepts, are refused.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt::{self, Write as _};

/// A JSON value with Python's semantics.
#[derive(Clone, PartialEq)]
pub(crate) enum PyJson {
    Null,
    Bool(bool),
    /// An integer, as its decimal text (any size).
    Int(String),
    Float(f64),
    Str(String),
    List(Vec<PyJson>),
    /// A dict: keys in insertion order, no duplicates.
    Dict(Vec<(String, PyJson)>),
}

impl fmt::Debug for PyJson {
    /// The shape only: JSON here may be a connection's extras, which hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(_) => f.write_str("bool"),
            Self::Int(_) | Self::Float(_) => f.write_str("number"),
            Self::Str(_) => f.write_str("string"),
            Self::List(items) => write!(f, "list[{}]", items.len()),
            Self::Dict(entries) => write!(f, "dict[{}]", entries.len()),
        }
    }
}

/// Why a text is not JSON: the category and the position, never the text (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.what, self.line, self.column
        )
    }
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Eof => "the JSON ends too early",
            Category::Syntax => "invalid JSON syntax",
            Category::Data => "unexpected JSON data",
            Category::Io => "cannot read the JSON",
        };
        Self {
            line: e.line(),
            column: e.column(),
            what,
        }
    }
}

impl PyJson {
    /// The dict's entries, when this is a dict.
    pub(crate) fn as_dict(&self) -> Option<&[(String, PyJson)]> {
        match self {
            Self::Dict(entries) => Some(entries),
            _ => None,
        }
    }

    /// Python's truth value: empty containers and strings, zero, `None` and `False` are false.
    pub(crate) fn is_truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Int(text) => text != "0",
            Self::Float(x) => *x != 0.0,
            Self::Str(s) => !s.is_empty(),
            Self::List(items) => !items.is_empty(),
            Self::Dict(entries) => !entries.is_empty(),
        }
    }

    /// Inserts as a Python dict does: a key already present keeps its place, takes the value.
    pub(crate) fn dict_insert(entries: &mut Vec<(String, PyJson)>, key: String, value: PyJson) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key, value)),
        }
    }
}

/// `json.loads(text)`.
pub(crate) fn loads(text: &str) -> Result<PyJson, JsonError> {
    // One pass of serde_json validates the whole text (and bounds the nesting depth) first.
    let raw: &RawValue = serde_json::from_str(text)?;
    from_raw(raw)
}

fn from_raw(raw: &RawValue) -> Result<PyJson, JsonError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'{') => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let entries = deserializer.deserialize_map(OrderedEntries)?;
            let mut dict = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                PyJson::dict_insert(&mut dict, key, from_raw(value)?);
            }
            PyJson::Dict(dict)
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            PyJson::List(items.into_iter().map(from_raw).collect::<Result<_, _>>()?)
        }
        Some(b'"') => PyJson::Str(serde_json::from_str(text)?),
        Some(b't') => PyJson::Bool(true),
        Some(b'f') => PyJson::Bool(false),
        Some(b'n') => PyJson::Null,
        _ if text.contains(['.', 'e', 'E']) => {
            // Python's float(): out-of-range values become infinities.
            PyJson::Float(text.parse().map_err(|_| JsonError {
                line: 1,
                column: 1,
                what: "invalid JSON number",
            })?)
        }
        _ if text.trim_start_matches('-').bytes().all(|b| b == b'0') => PyJson::Int("0".into()),
        _ => PyJson::Int(text.to_owned()),
    })
}

/// A JSON object's members in source order, repeated keys included.
struct OrderedEntries;

impl<'de> Visitor<'de> for OrderedEntries {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            entries.push((key, value));
        }
        Ok(entries)
    }
}

/// `json.dumps(value)` with Python's defaults.
pub(crate) fn dumps(value: &PyJson) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &PyJson) {
    match value {
        PyJson::Null => out.push_str("null"),
        PyJson::Bool(true) => out.push_str("true"),
        PyJson::Bool(false) => out.push_str("false"),
        PyJson::Int(text) => out.push_str(text),
        PyJson::Float(x) => out.push_str(&float_repr(*x)),
        PyJson::Str(s) => write_string(out, s),
        PyJson::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        PyJson::Dict(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A string as `json.dumps` writes it with `ensure_ascii=True`.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `float.__repr__` (and `json.dumps` for non-finite values): the shortest digits that
/// read back as the same float, in positional notation when the decimal exponent is in
/// -5 < e < 16, else as `d.ddde+XX`.
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: `1.2345e-5`, `-0e0`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            let zeros = usize::try_from(-point).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        } else {
            let point = usize::try_from(point).unwrap_or(0);
            if digits.len() > point {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            }
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json.dumps(json.loads(input))` as CPython 3.11 prints it.
    fn check(input: &str, expected: &str) {
        assert_eq!(dumps(&loads(input).unwrap()), expected, "{input}");
    }

    #[test]
    fn round_trips_like_python() {
        check(
            r#"{"b":1,"a":[true,false,null]}"#,
            r#"{"b": 1, "a": [true, false, null]}"#,
        );
        check(r#"{"a":1,"b":2,"a":3}"#, r#"{"a": 3, "b": 2}"#);
        check(
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        );
        check("-0", "0");
        check("-0.0", "-0.0");
        check("1E5", "100000.0");
        check("1e16", "1e+16");
        check("1e15", "1000000000000000.0");
        check("0.0001", "0.0001");
        check("0.00001", "1e-05");
        check("1.5e-7", "1.5e-07");
        check("0.1", "0.1");
        check("123.456", "123.456");
        check("1e400", "Infinity");
        check("-1e400", "-Infinity");
        check("1.7976931348623157e308", "1.7976931348623157e+308");
        check(
            r#""é ✓ 😀 \u0001 \u007f""#,
            r#""\u00e9 \u2713 \ud83d\ude00 \u0001 \u007f""#,
        );
        check(r#""\"\\\/\b\f\n\r\t""#, r#""\"\\/\b\f\n\r\t""#);
        check("{}", "{}");
        check("[]", "[]");
        check(" [ {} , [ ] ] ", "[{}, []]");
    }

    #[test]
    fn errors_give_the_position_and_never_the_text() {
        for bad in [
            "{\"password\": s3cret}",
            "[1,",
            "NaN",
            "{\"a\" 1}",
            "\"\\ud800\"",
        ] {
            let err = loads(bad).unwrap_err();
            assert!(!err.to_string().contains("s3cret"), "{err}");
            assert!(err.line >= 1, "{bad}");
        }
    }

    #[test]
    fn truthiness_is_python_s() {
        for (text, truthy) in [
            ("0", false),
            ("0.0", false),
            ("\"\"", false),
            ("[]", false),
            ("{}", false),
            ("null", false),
            ("false", false),
            ("1", true),
            ("\"0\"", true),
            ("[0]", true),
        ] {
            assert_eq!(loads(text).unwrap().is_truthy(), truthy, "{text}");
        }
    }
}
