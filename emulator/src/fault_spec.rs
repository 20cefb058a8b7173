//! Faults written as data, for `vaultref emulator --fault` and the admin endpoint: one JSON
//! object per fault (`{"kind": "throttle", "requests": 2, "retry_after": 1}`), or the same
//! keys in a short form for the command line (`throttle:requests=2,retry_after=1`). The
//! format is documented in docs/emulator.md ("Faults from any language").

use std::str::FromStr;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fault::{Fault, RateClass, Target};

/// A fault, or a change of the timing of tokens and long-running operations, as the admin
/// endpoint and `vaultref emulator --fault` take it. Parse with [`FaultSpec::parse`] (or
/// `str::parse`); apply with `Emulator::apply` or `EmulatorConfig::apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultSpec {
    /// A fault on requests (throttling, statuses, latency, drops, rate limits, policy denials).
    Fault(Fault),
    /// A recovered secret stays invisible this long (`Emulator::set_recover_delay`).
    RecoverDelay(Duration),
    /// A deleted secret is "being deleted" this long (`Emulator::set_delete_delay`).
    DeleteDelay(Duration),
    /// Lifetime of the tokens issued from now on (`Emulator::set_token_lifetime`).
    TokenLifetime(Duration),
}

/// Every kind, with the keys it takes besides `kind`, for messages and the docs.
const KINDS: [(&str, &[&str]); 10] = [
    ("throttle", &["target", "requests", "retry_after"]),
    ("status", &["target", "requests", "status"]),
    ("status_for", &["target", "duration", "status"]),
    ("latency", &["target", "duration"]),
    ("drop", &["target", "requests"]),
    ("rate_limit", &["target", "per_10s", "operation", "window"]),
    ("forbidden_by_policy", &["target", "requests"]),
    ("recover_delay", &["duration"]),
    ("delete_delay", &["duration"]),
    ("token_lifetime", &["duration"]),
];

impl FaultSpec {
    /// Parses one spec: a JSON object (`{"kind": "status", "status": 503, "requests": 3}`) or
    /// the short form `KIND[:KEY=VALUE,...]` (`status:status=503,requests=3`).
    ///
    /// # Errors
    /// [`Error::InvalidFault`] saying what to fix: an unknown kind or key, a missing or
    /// out-of-range value, text that is neither form.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with('{') {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| invalid(format!("the fault is not valid JSON ({e})")))?;
            Self::from_json(&value)
        } else {
            Self::from_json(&Value::Object(short_form(text)?))
        }
    }

    /// Parses a JSON object, or an array of them (the admin endpoint's body); nothing is
    /// returned unless every element is valid.
    ///
    /// # Errors
    /// As [`FaultSpec::parse`], naming the element at fault.
    pub fn parse_list(json: &[u8]) -> Result<Vec<Self>> {
        let value: Value = serde_json::from_slice(json).map_err(|e| {
            invalid(format!(
                "the body is not valid JSON ({e}); send a fault object or an array of them"
            ))
        })?;
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Self::from_json(item).map_err(|e| match e {
                        Error::InvalidFault(why) => invalid(format!("element {i}: {why}")),
                        other => other,
                    })
                })
                .collect(),
            other => Ok(vec![Self::from_json(&other)?]),
        }
    }

    fn from_json(value: &Value) -> Result<Self> {
        let Value::Object(fields) = value else {
            return Err(invalid(
                "a fault is a JSON object with a \"kind\", e.g. {\"kind\": \"throttle\"}".into(),
            ));
        };
        let kind = match fields.get("kind") {
            Some(Value::String(kind)) => kind.as_str(),
            _ => return Err(invalid(format!("\"kind\" is missing; {}", kinds_hint()))),
        };
        let Some((kind, keys)) = KINDS.iter().find(|(k, _)| *k == kind) else {
            return Err(invalid(format!("unknown kind {kind:?}; {}", kinds_hint())));
        };
        if let Some(key) = fields
            .keys()
            .find(|k| *k != "kind" && !keys.contains(&k.as_str()))
        {
            return Err(invalid(format!(
                "{kind} takes no {key:?}; its keys are {}",
                keys.join(", ")
            )));
        }
        let fields = Fields(fields);
        let target = fields.target()?;
        let spec = match *kind {
            "throttle" => Self::Fault(Fault::throttle(
                target,
                fields.requests()?,
                fields.whole_seconds("retry_after", 1)?,
            )),
            "status" => Self::Fault(Fault::status(target, fields.requests()?, fields.status()?)),
            "status_for" => Self::Fault(Fault::status_for(
                target,
                fields.duration()?,
                fields.status()?,
            )),
            "latency" => Self::Fault(Fault::latency(target, fields.duration()?)),
            "drop" => Self::Fault(Fault::drop_connections(target, fields.requests()?)),
            "rate_limit" => Self::Fault(Fault::rate_limit_for(
                target,
                fields.rate_class()?,
                fields.count("per_10s", None)?,
                fields
                    .optional_duration("window")?
                    .unwrap_or(Duration::from_secs(10)),
            )),
            "forbidden_by_policy" => {
                if !matches!(target, Target::Vault | Target::Any) {
                    return Err(invalid(
                        "forbidden_by_policy only applies to vault requests: use \"target\": \"vault\" (the default)".into(),
                    ));
                }
                Self::Fault(Fault::forbidden_by_policy(target, fields.requests()?))
            }
            "recover_delay" => Self::RecoverDelay(fields.duration()?),
            "delete_delay" => Self::DeleteDelay(fields.duration()?),
            _ => Self::TokenLifetime(fields.duration()?),
        };
        Ok(spec)
    }
}

impl FromStr for FaultSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

fn invalid(why: String) -> Error {
    Error::InvalidFault(why)
}

fn kinds_hint() -> String {
    let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    format!("use one of {}", kinds.join(", "))
}

/// `KIND[:KEY=VALUE,...]` as the JSON object it stands for; values that are numbers become
/// JSON numbers, the others strings.
fn short_form(text: &str) -> Result<Map<String, Value>> {
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    if kind.is_empty() {
        return Err(invalid(format!(
            "write a fault as KIND[:KEY=VALUE,...] or as a JSON object; {}",
            kinds_hint()
        )));
    }
    let mut fields = Map::new();
    fields.insert("kind".into(), Value::String(kind.trim().to_owned()));
    for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(invalid(format!(
                "{pair:?} is not KEY=VALUE (e.g. requests=2)"
            )));
        };
        let (key, value) = (key.trim(), value.trim());
        let value = serde_json::from_str::<serde_json::Number>(value)
            .map_or_else(|_| Value::String(value.to_owned()), Value::Number);
        if fields.insert(key.to_owned(), value).is_some() {
            return Err(invalid(format!("{key:?} is given twice")));
        }
    }
    Ok(fields)
}

/// The keys of one fault object, read with their defaults and checks.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn target(&self) -> Result<Target> {
        match self.0.get("target") {
            None => Ok(Target::Vault),
            Some(Value::String(t)) => match t.as_str() {
                "vault" => Ok(Target::Vault),
                "entra" => Ok(Target::Entra),
                "managed_identity" => Ok(Target::ManagedIdentity),
                "any" => Ok(Target::Any),
                _ => Err(invalid(format!(
                    "unknown target {t:?}; use vault (the default), entra, managed_identity or any"
                ))),
            },
            Some(other) => Err(invalid(format!(
                "\"target\" must be a string (vault, entra, managed_identity or any), not {other}"
            ))),
        }
    }

    /// A whole number of at least 1, `default` when absent (required when `None`).
    fn count(&self, key: &str, default: Option<u32>) -> Result<u32> {
        match (self.0.get(key), default) {
            (None, Some(default)) => Ok(default),
            (None, None) => Err(invalid(format!(
                "\"{key}\" is required (a whole number, at least 1)"
            ))),
            (Some(value), _) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    invalid(format!(
                        "\"{key}\" must be a whole number from 1 to {}, not {value}",
                        u32::MAX
                    ))
                }),
        }
    }

    /// `operation`: which requests a rate limit counts.
    fn rate_class(&self) -> Result<RateClass> {
        match self.0.get("operation") {
            None => Ok(RateClass::All),
            Some(Value::String(op)) if op == "all" => Ok(RateClass::All),
            Some(Value::String(op)) if op == "set_secret" => Ok(RateClass::SetSecret),
            Some(Value::String(op)) if op == "other" => Ok(RateClass::Other),
            Some(other) => Err(invalid(format!(
                "\"operation\" is all (the default), set_secret (PUT /secrets/NAME) or other (every other request), not {other}"
            ))),
        }
    }

    fn optional_duration(&self, key: &str) -> Result<Option<Duration>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(value) => {
                let duration = parse_duration(key, value)?;
                if duration.is_zero() {
                    return Err(invalid(format!("\"{key}\" must be longer than 0")));
                }
                Ok(Some(duration))
            }
        }
    }

    fn requests(&self) -> Result<u32> {
        self.count("requests", Some(1))
    }

    fn status(&self) -> Result<u16> {
        match self.0.get("status") {
            None => Ok(503),
            Some(value) => value
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| (400..=599).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "\"status\" must be an HTTP error status from 400 to 599, not {value}"
                    ))
                }),
        }
    }

    fn duration(&self) -> Result<Duration> {
        let value = self.0.get("duration").ok_or_else(|| {
            invalid(
                "\"duration\" is required, e.g. \"250ms\", \"2s\", \"1m\" or a number of seconds"
                    .into(),
            )
        })?;
        parse_duration("duration", value)
    }

    fn whole_seconds(&self, key: &str, default: u64) -> Result<u64> {
        let Some(value) = self.0.get(key) else {
            return Ok(default);
        };
        let duration = parse_duration(key, value)?;
        if duration.subsec_nanos() != 0 {
            return Err(invalid(format!(
                "\"{key}\" must be whole seconds (Retry-After has no fractions), not {value}"
            )));
        }
        Ok(duration.as_secs())
    }
}

/// A duration: a number of seconds (fractions allowed) or a string with a unit: `250ms`,
/// `1.5s`, `2m`, `1h` (a bare number in a string counts as seconds).
fn parse_duration(key: &str, value: &Value) -> Result<Duration> {
    let bad = || {
        invalid(format!(
            "\"{key}\" must be a duration such as \"250ms\", \"2s\", \"1m\", \"1h\" or a number of seconds, not {value}"
        ))
    };
    let (number, unit_secs) = match value {
        Value::Number(n) => (n.as_f64().ok_or_else(bad)?, 1.0),
        Value::String(s) => {
            let s = s.trim();
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let (digits, unit) = s.split_at(split);
            let unit_secs = match unit.trim() {
                "ms" => 0.001,
                "" | "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
            (digits.parse::<f64>().map_err(|_| bad())?, unit_secs)
        }
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(number * unit_secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> FaultSpec {
        FaultSpec::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match FaultSpec::parse(text) {
            Ok(spec) => panic!("{text} parsed as {spec:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_kind_parses_in_both_forms_to_the_same_fault() {
        let cases: [(&str, &str, FaultSpec); 11] = [
            (
                r#"{"kind": "throttle", "requests": 2, "retry_after": 3}"#,
                "throttle:requests=2,retry_after=3s",
                FaultSpec::Fault(Fault::throttle(Target::Vault, 2, 3)),
            ),
            (
                r#"{"kind": "status", "target": "entra", "requests": 3, "status": 500}"#,
                "status:target=entra,requests=3,status=500",
                FaultSpec::Fault(Fault::status(Target::Entra, 3, 500)),
            ),
            (
                r#"{"kind": "status_for", "duration": "1m", "target": "any"}"#,
                "status_for:duration=60,target=any",
                FaultSpec::Fault(Fault::status_for(Target::Any, Duration::from_secs(60), 503)),
            ),
            (
                r#"{"kind": "latency", "duration": 0.25, "target": "managed_identity"}"#,
                "latency:duration=250ms,target=managed_identity",
                FaultSpec::Fault(Fault::latency(
                    Target::ManagedIdentity,
                    Duration::from_millis(250),
                )),
            ),
            (
                r#"{"kind": "drop"}"#,
                "drop",
                FaultSpec::Fault(Fault::drop_connections(Target::Vault, 1)),
            ),
            (
                r#"{"kind": "rate_limit", "per_10s": 100}"#,
                "rate_limit:per_10s=100",
                FaultSpec::Fault(Fault::rate_limit(Target::Vault, 100)),
            ),
            (
                r#"{"kind": "rate_limit", "per_10s": 300, "operation": "set_secret", "window": "1s"}"#,
                "rate_limit:per_10s=300,operation=set_secret,window=1000ms",
                FaultSpec::Fault(Fault::rate_limit_for(
                    Target::Vault,
                    RateClass::SetSecret,
                    300,
                    Duration::from_secs(1),
                )),
            ),
            (
                r#"{"kind": "forbidden_by_policy", "requests": 2}"#,
                "forbidden_by_policy:requests=2",
                FaultSpec::Fault(Fault::forbidden_by_policy(Target::Vault, 2)),
            ),
            (
                r#"{"kind": "recover_delay", "duration": "2s"}"#,
                "recover_delay:duration=2",
                FaultSpec::RecoverDelay(Duration::from_secs(2)),
            ),
            (
                r#"{"kind": "delete_delay", "duration": "1.5s"}"#,
                "delete_delay:duration=1500ms",
                FaultSpec::DeleteDelay(Duration::from_millis(1500)),
            ),
            (
                r#"{"kind": "token_lifetime", "duration": 0}"#,
                "token_lifetime:duration=0s",
                FaultSpec::TokenLifetime(Duration::ZERO),
            ),
        ];
        for (json, short, expected) in cases {
            assert_eq!(ok(json), expected, "{json}");
            assert_eq!(ok(short), expected, "{short}");
        }
        assert_eq!(
            ok("throttle"),
            FaultSpec::Fault(Fault::throttle(Target::Vault, 1, 1))
        );
    }

    #[test]
    fn bad_specs_say_what_to_fix() {
        for (text, says) in [
            (
                "slow",
                "unknown kind \"slow\"; use one of throttle, status,",
            ),
            (r#"{"requests": 1}"#, "\"kind\" is missing"),
            (
                "throttle:status=503",
                "throttle takes no \"status\"; its keys are target, requests, retry_after",
            ),
            (
                "status:requests=0",
                "\"requests\" must be a whole number from 1",
            ),
            ("status:status=200", "from 400 to 599, not 200"),
            ("latency", "\"duration\" is required"),
            ("latency:duration=fast", "must be a duration such as"),
            ("latency:duration=-1", "must be a duration such as"),
            ("throttle:retry_after=1.5", "must be whole seconds"),
            ("rate_limit", "\"per_10s\" is required"),
            (
                "rate_limit:per_10s=1,operation=get",
                "\"operation\" is all (the default), set_secret",
            ),
            (
                "rate_limit:per_10s=1,window=0",
                "\"window\" must be longer than 0",
            ),
            ("drop:target=keyvault", "unknown target \"keyvault\""),
            (
                "forbidden_by_policy:target=entra",
                "only applies to vault requests",
            ),
            ("throttle:requests", "\"requests\" is not KEY=VALUE"),
            (
                "throttle:requests=1,requests=2",
                "\"requests\" is given twice",
            ),
            ("{not json", "not valid JSON"),
            (":requests=1", "write a fault as KIND[:KEY=VALUE,...]"),
        ] {
            let message = err(text);
            assert!(message.contains(says), "{text}: {message}");
            assert!(message.starts_with("invalid fault: "), "{message}");
        }
    }

    #[test]
    fn lists_take_one_object_or_an_array_and_name_the_bad_element() {
        assert_eq!(
            FaultSpec::parse_list(br#"{"kind": "drop"}"#).unwrap(),
            vec![FaultSpec::Fault(Fault::drop_connections(Target::Vault, 1))]
        );
        assert_eq!(
            FaultSpec::parse_list(br#"[{"kind": "drop"}, {"kind": "throttle"}]"#)
                .unwrap()
                .len(),
            2
        );
        let message = FaultSpec::parse_list(br#"[{"kind": "drop"}, {"kind": "nope"}]"#)
            .unwrap_err()
            .to_string();
        assert!(message.contains("element 1: unknown kind"), "{message}");
        assert!(FaultSpec::parse_list(b"[1]").is_err());
    }
}
