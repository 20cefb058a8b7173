//! The one place results are rendered: text for people, or JSON for scripts (`--output json`).
//!
//! Every command's JSON result is one document on stdout (streams, such as `entities export`,
//! are JSON Lines); the schema of each is a `json-schema` block in docs/cli.md, which the CLI
//! tests check real output against. Times are RFC 3339 in both forms.

use anyhow::Result;
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use vaultref_fernet::Zeroizing;

use crate::context::Context;

/// Prints a command's result: `text` (one or more lines) or the JSON document `json`.
pub(crate) fn result(ctx: &Context, text: &str, json: &Value) -> Result<()> {
    if ctx.json() {
        json_line(json)
    } else {
        crate::setup::print_line(text)
    }
}

/// One JSON document on one line of stdout. The text is wiped after writing: some results
/// (`secret get --output json`) hold a value.
pub(crate) fn json_line(json: &Value) -> Result<()> {
    let mut line = Zeroizing::new(json.to_string());
    line.push('\n');
    crate::setup::write_stdout(line.as_bytes())
}

/// A time as RFC 3339 (`2027-03-02T06:13:36Z`), as every command prints times.
pub(crate) fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339)
        .unwrap_or_else(|_| time.unix_timestamp().to_string())
}
