//! Airflow connections in the two forms its secrets backends store them: a URI
//! (`postgres://user:pass@host:5432/schema?key=value`) and a JSON object
//! (`{"conn_type": "postgres", "host": ..., "extra": {...}}`).
//!
//! Reading follows Airflow's Task SDK (`airflow.sdk.definitions.connection.Connection`:
//! `from_uri`, `from_json`) and `BaseSecretsBackend.deserialize_connection` (value stripped, JSON
//! when it starts with `{`); writing follows `Connection.get_uri` and `as_json`, byte for byte,
//! with one deliberate difference: extras are flattened into the query string only when every
//! reader of Airflow gets them back unchanged (see [`AirflowConnection::to_uri`]).
//! Facts and sources: docs/compatibility.md, "Airflow".

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::pyjson::{self, PyJson};
use crate::pyurl::{self, UrlError};

/// The query key under which Airflow stores extras that cannot be flattened.
const EXTRA_KEY: &str = "__extra__";

/// How a connection is stored in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionForm {
    /// Airflow's URI form, `Connection.get_uri()`.
    Uri,
    /// Airflow's JSON form, `Connection.as_json()`.
    Json,
}

impl ConnectionForm {
    /// The form of a stored value, as Airflow tells them apart: JSON when the value, stripped,
    /// starts with `{`.
    #[must_use]
    pub fn of(value: &str) -> Self {
        if value.trim_matches(is_python_space).starts_with('{') {
            Self::Json
        } else {
            Self::Uri
        }
    }
}

/// An Airflow connection's fields. `None` and an empty string are different, as in Airflow.
///
/// `Debug` shows the password and the extras as redacted: both often hold secrets.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct AirflowConnection {
    /// `conn_type`, normalised as Airflow does (`postgresql` → `postgres`, `-` → `_`).
    pub conn_type: Option<String>,
    /// `description` (the JSON form only: a URI has no place for it).
    pub description: Option<String>,
    /// `host`, which may carry a protocol (`https://example.com`).
    pub host: Option<String>,
    /// `schema`.
    pub schema: Option<String>,
    /// `login`.
    pub login: Option<String>,
    /// `password`.
    pub password: Option<SecretString>,
    /// `port` (any integer in the JSON form; 0 to 65535 in a URI).
    pub port: Option<i64>,
    /// `extra`: the text of a JSON object.
    extra: Option<SecretString>,
}

impl fmt::Debug for AirflowConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { Some("[REDACTED]") } else { None };
        f.debug_struct("AirflowConnection")
            .field("conn_type", &self.conn_type)
            .field("description", &self.description)
            .field("host", &self.host)
            .field("schema", &self.schema)
            .field("login", &self.login)
            .field("password", &redacted(self.password.is_some()))
            .field("port", &self.port)
            .field("extra", &redacted(self.extra.is_some()))
            .finish()
    }
}

impl PartialEq for AirflowConnection {
    fn eq(&self, other: &Self) -> bool {
        let secret = |s: &Option<SecretString>| s.as_ref().map(|v| v.expose_secret().to_owned());
        self.conn_type == other.conn_type
            && self.description == other.description
            && self.host == other.host
            && self.schema == other.schema
            && self.login == other.login
            && secret(&self.password) == secret(&other.password)
            && self.port == other.port
            && secret(&self.extra) == secret(&other.extra)
    }
}

/// Python's `str.isspace()` for the characters `str.strip()` removes.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn invalid(problem: impl Into<String>) -> Error {
    Error::InvalidConnection {
        problem: problem.into(),
    }
}

impl AirflowConnection {
    /// Reads a stored value as Airflow's secrets backends do: stripped, then JSON when it
    /// starts with `{`, else a URI.
    ///
    /// # Errors
    /// [`Error::InvalidConnection`] when Airflow could not read it either; the message
    /// says what is wrong and never quotes the value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let value = value.trim_matches(is_python_space);
        match ConnectionForm::of(value) {
            ConnectionForm::Json => Self::from_json(value),
            ConnectionForm::Uri => Self::from_uri(value),
        }
    }

    /// The extras, as the text of a JSON object.
    #[must_use]
    pub fn extra(&self) -> Option<&SecretString> {
        self.extra.as_ref()
    }

    /// Sets the extras from the text of a JSON object (`None` or `""` for none).
    ///
    /// # Errors
    /// [`Error::InvalidConnection`] when the text is not a JSON object.
    pub fn set_extra(&mut self, extra: Option<&str>) -> Result<(), Error> {
        self.extra = match extra.filter(|text| !text.is_empty()) {
            Some(text) => {
                extra_dict(text)?;
                Some(SecretString::from(text))
            }
            None => None,
        };
        Ok(())
    }

    /// Reads Airflow's URI form (`Connection.from_uri`).
    ///
    /// # Errors
    /// [`Error::InvalidConnection`] where Airflow raises: more than two `://`, a host
    /// protocol after user info, an invalid `[IPv6]` host, a port that is not a number from 0
    /// to 65535, `__extra__` that is not a JSON object.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        let separators = uri.matches("://").count();
        if separators > 2 {
            return Err(invalid(
                "the URI has more than two `://`: write it as conn-type://[protocol://]login:password@host:port/schema?extras",
            ));
        }
        let host_with_protocol = separators == 2;
        let conn_type = urlsplit(uri)?.scheme;
        let rest = uri.replace(
            &format!("{conn_type}://"),
            if host_with_protocol { "" } else { "//" },
        );
        if host_with_protocol {
            let protocol = rest.split("://").next().unwrap_or("");
            if protocol.contains(['@', ':']) {
                return Err(invalid(
                    "the URI has user info or a port before the host's protocol: put the protocol right after conn-type://",
                ));
            }
        }
        let parts = urlsplit(&rest)?;
        let protocol = Some(parts.scheme.as_str()).filter(|p| host_with_protocol && !p.is_empty());
        let host = netloc_hostname(&parts);
        let host = match protocol {
            Some(protocol) if !host.is_empty() => format!("{protocol}://{host}"),
            _ => host,
        };
        let (login, password) = parts.userinfo();
        let unquote_set = |s: Option<&str>| {
            s.map(|s| {
                if s.is_empty() {
                    String::new()
                } else {
                    pyurl::unquote(s)
                }
            })
        };
        let schema = parts.path.get(1..).unwrap_or("");
        let port = parts.port().map_err(url_problem)?;
        let extra = if parts.query.is_empty() {
            None
        } else {
            let query = pyurl::parse_qs_dict(&parts.query);
            match query.iter().find(|(k, _)| k == EXTRA_KEY) {
                Some((_, raw)) => Some(raw.clone()),
                None => Some(pyjson::dumps(&PyJson::Dict(
                    query
                        .into_iter()
                        .map(|(k, v)| (k, PyJson::Str(v)))
                        .collect(),
                ))),
            }
        };
        let mut connection = Self {
            conn_type: Some(normalize_conn_type(&conn_type)),
            description: None,
            host: Some(host),
            schema: Some(pyurl::unquote(schema)),
            login: unquote_set(login),
            password: unquote_set(password).map(SecretString::from),
            port: port.map(i64::from),
            extra: None,
        };
        connection.set_extra(extra.as_deref())?;
        Ok(connection)
    }

    /// Reads Airflow's JSON form (`Connection.from_json`): an object whose keys are among
    /// `conn_type`, `description`, `host`, `schema`, `login`, `password`, `port` and `extra`
    /// (an object, or a string holding one).
    ///
    /// # Errors
    /// [`Error::InvalidConnection`] for text that is not a JSON object, another key, a
    /// field that is not a string, a port that is not an integer, extras that are not an object.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let value = pyjson::loads(text)
            .map_err(|e| invalid(format!("the connection is not valid JSON ({e})")))?;
        let PyJson::Dict(entries) = value else {
            return Err(invalid(
                "the JSON connection is not an object: write {\"conn_type\": ..., \"host\": ...}",
            ));
        };
        let mut connection = Self::default();
        for (key, value) in entries {
            let text = || -> Result<Option<String>, Error> {
                match &value {
                    PyJson::Null => Ok(None),
                    PyJson::Str(s) => Ok(Some(s.clone())),
                    _ => Err(invalid(format!("`{key}` must be a string or null"))),
                }
            };
            match key.as_str() {
                "conn_type" => {
                    // Airflow normalises only a truthy conn_type and keeps no falsy one.
                    connection.conn_type = text()?
                        .filter(|t| !t.is_empty())
                        .map(|t| normalize_conn_type(&t));
                }
                "description" => connection.description = text()?,
                "host" => connection.host = text()?,
                "schema" => connection.schema = text()?,
                "login" => connection.login = text()?,
                "password" => connection.password = text()?.map(SecretString::from),
                "port" => connection.port = json_port(&value)?,
                "extra" => {
                    let extra = match &value {
                        _ if !value.is_truthy() => None,
                        PyJson::Str(s) => Some(s.clone()),
                        PyJson::Dict(_) => Some(pyjson::dumps(&value)),
                        _ => {
                            return Err(invalid(
                                "`extra` must be a JSON object (or a string holding one)",
                            ));
                        }
                    };
                    connection.set_extra(extra.as_deref())?;
                }
                "conn_id" => {
                    return Err(invalid(
                        "the JSON connection has a `conn_id` key, which Airflow refuses: the id is the secret's name; remove the key",
                    ));
                }
                other => {
                    return Err(invalid(format!(
                        "the JSON connection has an unknown key `{other}`: Airflow accepts conn_type, description, host, schema, login, password, port and extra"
                    )));
                }
            }
        }
        Ok(connection)
    }

    /// Airflow's URI form, as `Connection.get_uri()` writes it, byte for byte, except that
    /// extras are flattened into `?key=value` only when every value is a string that no Airflow
    /// reader would change (Airflow's core model JSON-decodes flattened values, so `"123"`
    /// would come back as the number 123) and no key is `__extra__`; otherwise they are stored
    /// whole under `__extra__`, which Airflow also writes and reads.
    ///
    /// # Errors
    /// [`Error::InvalidConnection`] for a port outside 0 to 65535 (Airflow could not
    /// read the URI back).
    pub fn to_uri(&self) -> Result<String, Error> {
        let mut uri = match self.conn_type.as_deref().filter(|t| !t.is_empty()) {
            Some(conn_type) => format!("{}://", conn_type.to_lowercase().replace('_', "-")),
            None => "//".to_owned(),
        };
        let host = self.host.as_deref().filter(|h| !h.is_empty());
        let (host_to_use, protocol) = match host.and_then(|h| h.split_once("://")) {
            Some((protocol, _)) if Some(protocol) == self.conn_type.as_deref() => (host, None),
            Some((protocol, rest)) => (Some(rest), Some(protocol)),
            None => (host, None),
        };
        if let Some(protocol) = protocol.filter(|p| !p.is_empty()) {
            uri.push_str(protocol);
            uri.push_str("://");
        }
        let mut authority = String::new();
        if let Some(login) = &self.login {
            authority.push_str(&pyurl::quote(login));
        }
        if let Some(password) = &self.password {
            authority.push(':');
            authority.push_str(&pyurl::quote(password.expose_secret()));
        }
        if !authority.is_empty() {
            authority.push('@');
            uri.push_str(&authority);
        }
        let mut host_block = host_to_use
            .filter(|h| !h.is_empty())
            .map(pyurl::quote)
            .unwrap_or_default();
        if let Some(port) = self.port.filter(|p| *p != 0) {
            if !(0..=65_535).contains(&port) {
                return Err(invalid(format!(
                    "the port {port} is outside 0 to 65535, which a URI cannot hold: fix the port or store the connection as JSON"
                )));
            }
            if host_block.is_empty() && authority.is_empty() {
                host_block.push('@');
            }
            host_block.push_str(&format!(":{port}"));
        }
        let schema = self.schema.as_deref().filter(|s| !s.is_empty());
        if let Some(schema) = schema {
            host_block.push('/');
            host_block.push_str(&pyurl::quote(schema));
        }
        uri.push_str(&host_block);
        if let Some(extra) = self.extra.as_ref().map(ExposeSecret::expose_secret) {
            uri.push_str(if schema.is_some() { "?" } else { "/?" });
            let dict = extra_dict(extra)?;
            match flattened(&dict) {
                Some(query) => uri.push_str(&query),
                None => uri.push_str(&pyurl::urlencode([(EXTRA_KEY, extra)])),
            }
        }
        Ok(uri)
    }

    /// Airflow's JSON form, as `Connection.as_json()` writes it: the fields that are set, in
    /// Airflow's order, then `extra` as an object when it has members.
    #[must_use]
    pub fn to_json(&self) -> String {
        pyjson::dumps(&PyJson::Dict(self.entries(false)))
    }

    /// Every field as Airflow's `Connection.to_dict()` gives it (`conn_id` first, unset fields
    /// as null, `extra` as an object): what `--output json` prints.
    #[must_use]
    pub fn to_dict_json(&self, conn_id: &str) -> String {
        let mut entries = vec![("conn_id".to_owned(), PyJson::Str(conn_id.to_owned()))];
        entries.extend(self.entries(true));
        pyjson::dumps(&PyJson::Dict(entries))
    }

    fn entries(&self, with_unset: bool) -> Vec<(String, PyJson)> {
        let text = |v: Option<&str>| v.map_or(PyJson::Null, |s| PyJson::Str(s.to_owned()));
        let fields = [
            ("conn_type", text(self.conn_type.as_deref())),
            ("description", text(self.description.as_deref())),
            ("host", text(self.host.as_deref())),
            ("login", text(self.login.as_deref())),
            (
                "password",
                text(self.password.as_ref().map(ExposeSecret::expose_secret)),
            ),
            ("schema", text(self.schema.as_deref())),
            (
                "port",
                self.port
                    .map_or(PyJson::Null, |p| PyJson::Int(p.to_string())),
            ),
        ];
        let mut entries: Vec<(String, PyJson)> = fields
            .into_iter()
            .filter(|(_, v)| with_unset || *v != PyJson::Null)
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        // `extra_dejson`: the parsed object ({} without extras); only a non-empty one in as_json.
        let extra = self
            .extra
            .as_ref()
            .and_then(|e| pyjson::loads(e.expose_secret()).ok())
            .filter(|e| e.as_dict().is_some())
            .unwrap_or(PyJson::Dict(Vec::new()));
        if with_unset || extra.is_truthy() {
            entries.push(("extra".to_owned(), extra));
        }
        entries
    }

    /// The fields that would not come back the same from the URI form (compared as Airflow
    /// reads them, an empty text and none alike): `description` (a URI has no place for it),
    /// `host` (read lower-cased), and any other field the URI cannot carry.
    ///
    /// # Errors
    /// As [`AirflowConnection::to_uri`].
    pub fn uri_losses(&self) -> Result<Vec<&'static str>, Error> {
        let back = Self::from_uri(&self.to_uri()?)?;
        let same = |a: Option<&str>, b: Option<&str>| a.unwrap_or("") == b.unwrap_or("");
        let secret = |s: &Option<SecretString>| s.as_ref().map(|v| v.expose_secret().to_owned());
        let extras = |s: &Option<SecretString>| {
            s.as_ref()
                .and_then(|v| pyjson::loads(v.expose_secret()).ok())
                .filter(PyJson::is_truthy)
        };
        let mut losses = Vec::new();
        let checks = [
            (
                "conn_type",
                same(self.conn_type.as_deref(), back.conn_type.as_deref()),
            ),
            (
                "description",
                self.description.as_deref().unwrap_or("").is_empty(),
            ),
            ("host", same(self.host.as_deref(), back.host.as_deref())),
            (
                "schema",
                same(self.schema.as_deref(), back.schema.as_deref()),
            ),
            ("login", same(self.login.as_deref(), back.login.as_deref())),
            (
                "password",
                same(
                    secret(&self.password).as_deref(),
                    secret(&back.password).as_deref(),
                ),
            ),
            (
                "port",
                self.port.filter(|p| *p != 0) == back.port.filter(|p| *p != 0),
            ),
            ("extra", extras(&self.extra) == extras(&back.extra)),
        ];
        for (field, kept) in checks {
            if !kept {
                losses.push(field);
            }
        }
        Ok(losses)
    }
}

fn urlsplit(url: &str) -> Result<pyurl::SplitUrl, Error> {
    pyurl::urlsplit(url).map_err(url_problem)
}

fn url_problem(e: UrlError) -> Error {
    invalid(match e {
        UrlError::InvalidIpv6 => {
            "the URI's host has unbalanced or invalid [brackets]: percent-encode the host"
        }
        UrlError::PortNotANumber => "the URI's port is not a number",
        UrlError::PortOutOfRange => "the URI's port is outside 0 to 65535",
    })
}

/// `_parse_netloc_to_hostname`: the hostname, unless unquoting it gives a `/`, in which case
/// the raw text between the user info and the first `:` (so the case is kept).
fn netloc_hostname(parts: &pyurl::SplitUrl) -> String {
    let host = pyurl::unquote(&parts.hostname().unwrap_or_default());
    if !host.contains('/') {
        return host;
    }
    let netloc = parts
        .netloc
        .rsplit_once('@')
        .map_or(&*parts.netloc, |(_, h)| h);
    pyurl::unquote(netloc.split(':').next().unwrap_or(""))
}

/// `_normalize_conn_type`.
fn normalize_conn_type(conn_type: &str) -> String {
    if conn_type == "postgresql" {
        "postgres".to_owned()
    } else {
        conn_type.replace('-', "_")
    }
}

/// `int(port)` for a truthy JSON port; a falsy one is no port.
fn json_port(value: &PyJson) -> Result<Option<i64>, Error> {
    let problem = || invalid("`port` must be an integer (or a string of digits)");
    if !value.is_truthy() {
        return Ok(None);
    }
    let port = match value {
        PyJson::Int(text) => text.parse().map_err(|_| problem())?,
        PyJson::Bool(_) => 1,
        #[allow(clippy::cast_possible_truncation)]
        PyJson::Float(x) if x.is_finite() && x.abs() < 9.0e18 => x.trunc() as i64,
        PyJson::Str(s) => {
            // Python's int(str): surrounding spaces, a sign, digits with single underscores.
            let t = s.trim_matches(is_python_space);
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            let well_formed = !digits.is_empty()
                && !digits.starts_with('_')
                && !digits.ends_with('_')
                && !digits.contains("__")
                && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
            if !well_formed {
                return Err(problem());
            }
            t.replace('_', "").parse().map_err(|_| problem())?
        }
        _ => return Err(problem()),
    };
    Ok(Some(port))
}

/// The extras as a dict; Airflow's core model refuses anything else.
fn extra_dict(text: &str) -> Result<Vec<(String, PyJson)>, Error> {
    match pyjson::loads(text) {
        Ok(PyJson::Dict(entries)) => Ok(entries),
        Ok(_) => Err(invalid(
            "the extras are not a JSON object: write them as {\"key\": value, ...}",
        )),
        Err(e) => Err(invalid(format!("the extras are not valid JSON ({e})"))),
    }
}

/// The extras as `key=value&...` when every Airflow reader gets the same dict back from it.
fn flattened(dict: &[(String, PyJson)]) -> Option<String> {
    if dict.is_empty() {
        return None;
    }
    let mut pairs = Vec::with_capacity(dict.len());
    for (key, value) in dict {
        let PyJson::Str(text) = value else {
            return None;
        };
        if key == EXTRA_KEY || core_model_would_decode(text) {
            return None;
        }
        pairs.push((key.as_str(), text.as_str()));
    }
    Some(pyurl::urlencode(pairs))
}

/// Whether Airflow's core `Connection._parse_from_uri` would turn this flattened value into
/// something else (it applies `json.loads` to every non-empty value and keeps what parses).
fn core_model_would_decode(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let bare = value.trim_matches([' ', '\t', '\n', '\r']);
    pyjson::loads(value).is_ok() || matches!(bare, "NaN" | "Infinity" | "-Infinity")
}

#[cfg(test)]
mod tests;
