//! The parts of Python's `urllib.parse` (CPython 3.11) that Airflow's connection URIs go
//! through: `quote`, `quote_plus`, `unquote`, `urlencode`, `parse_qsl` and `urlsplit` with its
//! `username` / `password` / `hostname` / `port` properties. Matching them, quirks included, is
//! what makes a URI written here read back in Airflow field for field.

use std::net::Ipv6Addr;

/// `quote(s, safe="")`: every byte but `A-Z a-z 0-9 _ . - ~` as `%XX`.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// `quote_plus(s, safe="")`: as [`quote`], with spaces as `+`.
pub(crate) fn quote_plus(s: &str) -> String {
    quote_with(s, true)
}

fn quote_with(s: &str, plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b));
            }
            b' ' if plus => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// `unquote(s)`: `%XX` escapes decoded in runs of ASCII, the bytes read as UTF-8 with U+FFFD
/// for invalid sequences; a `%` not followed by two hex digits stays as it is.
pub(crate) fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut pending: Vec<u8> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            pending.push(hi << 4 | lo);
            i += 3;
        } else if b.is_ascii() {
            pending.push(b);
            i += 1;
        } else {
            // A non-ASCII character ends the ASCII run; it is copied as it is.
            out.push_str(&String::from_utf8_lossy(&pending));
            pending.clear();
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `unquote_plus(s)`.
fn unquote_plus(s: &str) -> String {
    unquote(&s.replace('+', " "))
}

/// `urlencode(pairs)` (`quote_plus` on keys and values, joined by `&`).
pub(crate) fn urlencode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `parse_qsl(qs, keep_blank_values=True)`.
pub(crate) fn parse_qsl(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect()
}

/// `dict(parse_qsl(qs, keep_blank_values=True))`: a repeated name keeps its first place and
/// its last value.
pub(crate) fn parse_qs_dict(qs: &str) -> Vec<(String, String)> {
    let mut dict: Vec<(String, String)> = Vec::new();
    for (name, value) in parse_qsl(qs) {
        match dict.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => dict.push((name, value)),
        }
    }
    dict
}

/// What `urlsplit` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitUrl {
    pub(crate) scheme: String,
    pub(crate) netloc: String,
    pub(crate) path: String,
    pub(crate) query: String,
}

/// Why `urlsplit` or one of its properties raised `ValueError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// Unbalanced or invalid `[...]` host.
    InvalidIpv6,
    /// The port is not digits (the text is not kept: it sits next to the password).
    PortNotANumber,
    /// The port is over 65535.
    PortOutOfRange,
}

/// `urlsplit(url)`.
pub(crate) fn urlsplit(url: &str) -> Result<SplitUrl, UrlError> {
    let mut url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut scheme = String::new();
    if let Some(i) = url.find(':')
        && i > 0
        && url.as_bytes()[0].is_ascii_alphabetic()
        && url[..i]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        scheme = url[..i].to_ascii_lowercase();
        url = url[i + 1..].to_owned();
    }
    let mut netloc = String::new();
    if let Some(rest) = url.strip_prefix("//") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        netloc = rest[..end].to_owned();
        url = rest[end..].to_owned();
        if netloc.contains('[') != netloc.contains(']') {
            return Err(UrlError::InvalidIpv6);
        }
        if netloc.contains('[') {
            let bracketed = netloc
                .split_once('[')
                .map_or("", |(_, b)| b)
                .split(']')
                .next()
                .unwrap_or("");
            check_bracketed_host(bracketed)?;
        }
    }
    if let Some(hash) = url.find('#') {
        url.truncate(hash);
    }
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (url, String::new()),
    };
    Ok(SplitUrl {
        scheme,
        netloc,
        path,
        query,
    })
}

/// `_check_bracketed_host`: an IPv6 address (zone allowed) or an `vX.…` IPvFuture literal.
fn check_bracketed_host(host: &str) -> Result<(), UrlError> {
    let valid = if let Some(future) = host.strip_prefix('v') {
        future.split_once('.').is_some_and(|(version, rest)| {
            !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_hexdigit())
                && !rest.is_empty()
        })
    } else {
        let address = host.split('%').next().unwrap_or("");
        address.parse::<Ipv6Addr>().is_ok()
    };
    if valid {
        Ok(())
    } else {
        Err(UrlError::InvalidIpv6)
    }
}

impl SplitUrl {
    /// `(username, password)`: from the user info before the last `@`, split at its first `:`.
    pub(crate) fn userinfo(&self) -> (Option<&str>, Option<&str>) {
        match self.netloc.rsplit_once('@') {
            Some((info, _)) => match info.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(info), None),
            },
            None => (None, None),
        }
    }

    /// `(hostname, port)` as `_hostinfo` splits them, before any lower-casing.
    fn hostinfo(&self) -> (&str, Option<&str>) {
        let info = self
            .netloc
            .rsplit_once('@')
            .map_or(&*self.netloc, |(_, h)| h);
        let (host, port) = match info.split_once('[') {
            Some((_, bracketed)) => {
                let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (host, after.split_once(':').map_or("", |(_, p)| p))
            }
            None => info.split_once(':').unwrap_or((info, "")),
        };
        (host, (!port.is_empty()).then_some(port))
    }

    /// `.hostname`: lower-cased up to a `%` (an IPv6 zone keeps its case), `None` when empty.
    pub(crate) fn hostname(&self) -> Option<String> {
        let (host, _) = self.hostinfo();
        if host.is_empty() {
            return None;
        }
        Some(match host.split_once('%') {
            Some((head, zone)) => format!("{}%{zone}", head.to_lowercase()),
            None => host.to_lowercase(),
        })
    }

    /// `.port`.
    pub(crate) fn port(&self) -> Result<Option<u16>, UrlError> {
        let Some(port) = self.hostinfo().1 else {
            return Ok(None);
        };
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UrlError::PortNotANumber);
        }
        let digits = port.trim_start_matches('0');
        if digits.len() > 5 {
            return Err(UrlError::PortOutOfRange);
        }
        let value: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| UrlError::PortNotANumber)?
        };
        u16::try_from(value)
            .map(Some)
            .map_err(|_| UrlError::PortOutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_python() {
        // urllib.parse.quote(s, safe="") and quote_plus(s, safe="").
        assert_eq!(
            quote("p@ss:w/rd?#&= +~._-é"),
            "p%40ss%3Aw%2Frd%3F%23%26%3D%20%2B~._-%C3%A9"
        );
        assert_eq!(quote_plus("a b+c"), "a+b%2Bc");
        assert_eq!(urlencode([("k ey", "v&=1"), ("x", "")]), "k+ey=v%26%3D1&x=");
    }

    #[test]
    fn unquoting_matches_python() {
        for (input, expected) in [
            ("plain", "plain"),
            ("%41%2f%2F", "A//"),
            ("%zz%4", "%zz%4"),
            ("%C3%A9", "é"),
            ("%C3", "\u{fffd}"),
            ("%C3x", "\u{fffd}x"),
            ("%C3é", "\u{fffd}é"),
            ("100%", "100%"),
        ] {
            assert_eq!(unquote(input), expected, "{input}");
        }
    }

    #[test]
    fn query_strings_parse_like_python() {
        assert_eq!(
            parse_qsl("a=1&&b&c=x+y%2B&=v&a=2"),
            [("a", "1"), ("b", ""), ("c", "x y+"), ("", "v"), ("a", "2")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            parse_qs_dict("a=1&b=2&a=3"),
            [("a", "3"), ("b", "2")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn urls_split_like_python() {
        let u = urlsplit("  Postgres://User:P%40ss@Db.Example:05432/my%2Fdb?x=1#frag").unwrap();
        assert_eq!(u.scheme, "postgres");
        assert_eq!(u.netloc, "User:P%40ss@Db.Example:05432");
        assert_eq!(u.path, "/my%2Fdb");
        assert_eq!(u.query, "x=1");
        assert_eq!(u.userinfo(), (Some("User"), Some("P%40ss")));
        assert_eq!(u.hostname().as_deref(), Some("db.example"));
        assert_eq!(u.port(), Ok(Some(5432)));

        let u = urlsplit("//@h").unwrap();
        assert_eq!(u.userinfo(), (Some(""), None));
        let u = urlsplit("//u:@%41B%2FcD:").unwrap();
        assert_eq!(u.userinfo(), (Some("u"), Some("")));
        assert_eq!(u.hostname().as_deref(), Some("%41B%2FcD"));
        assert_eq!(u.port(), Ok(None));
        let u = urlsplit("//[::1]:80/x").unwrap();
        assert_eq!(u.hostname().as_deref(), Some("::1"));
        assert_eq!(u.port(), Ok(Some(80)));
        assert_eq!(urlsplit("//[::1/x"), Err(UrlError::InvalidIpv6));
        assert_eq!(urlsplit("//[1.2.3.4]/x"), Err(UrlError::InvalidIpv6));
        assert_eq!(
            urlsplit("//h:x1").unwrap().port(),
            Err(UrlError::PortNotANumber)
        );
        assert_eq!(
            urlsplit("//h:65536").unwrap().port(),
            Err(UrlError::PortOutOfRange)
        );
        assert_eq!(urlsplit("1a://x").unwrap().scheme, "");
        assert_eq!(urlsplit("a\tb://x").unwrap().scheme, "ab");
    }
}
