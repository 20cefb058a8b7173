//! What reaches stderr besides progress and the error line: the retry warnings always, every
//! other log record only when `VAULTREF_LOG` asks for it.

use std::{fmt, io::Write as _};

use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter,
    filter::{LevelFilter, Targets},
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    prelude::*,
    registry::LookupSpan,
};
use vaultref_transport::RETRY_LOG_TARGET;

use crate::context::Verbosity;

/// The environment variable that turns diagnostics on: a `tracing` filter such as `info` or
/// `vaultref::audit=info` (the audit trail of vault writes, deletes and recoveries).
pub(crate) const LOG_VAR: &str = "VAULTREF_LOG";

/// Crates below ours whose debug and trace records can carry request details (hyper's
/// connection pool names the host it pools, h2 traces frames): kept at INFO unless
/// `VAULTREF_LOG` names them. Our own URL rules already keep user info and queries away from
/// them; this is the second wall.
const THIRD_PARTY: [&str; 6] = ["hyper", "hyper_util", "h2", "reqwest", "rustls", "tower"];

/// Without `VAULTREF_LOG`: each retry as one human line on stderr (`warning: <what>: <why>;
/// retrying in <wait> (retry n of m)`), nothing else. With it: JSON lines on stderr for what
/// the filter selects, the retry warnings included.
///
/// `-q` drops the retry warnings too; `-v` adds vaultref's INFO records (the audit trail among
/// them) and `-vv` its DEBUG records, as plain lines, when `VAULTREF_LOG` does not choose.
pub(crate) fn init(verbosity: Verbosity) {
    let filter = std::env::var(LOG_VAR)
        .ok()
        .filter(|filter| !filter.trim().is_empty());
    let Some(filter) = filter else {
        if verbosity == Verbosity::Quiet {
            return;
        }
        let only_retries = Targets::new().with_target(RETRY_LOG_TARGET, Level::WARN);
        let ours = match verbosity {
            Verbosity::Verbose => Some(Level::INFO),
            Verbosity::Debug => Some(Level::DEBUG),
            _ => None,
        }
        .map(|level| {
            Targets::new()
                .with_target("vaultref", level)
                .with_target(RETRY_LOG_TARGET, LevelFilter::OFF)
        });
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(WarningLine)
                    .with_writer(std::io::stderr)
                    .with_filter(only_retries),
            )
            .with(ours.map(|targets| {
                tracing_subscriber::fmt::layer()
                    .without_time()
                    .with_writer(std::io::stderr)
                    .with_filter(targets)
            }))
            .init();
        return;
    };
    let mut directives = filter.clone();
    if !filter.contains(RETRY_LOG_TARGET) {
        directives.push_str(&format!(",{RETRY_LOG_TARGET}=warn"));
    }
    let selected = match EnvFilter::try_new(&directives) {
        Ok(selected) => selected,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: {LOG_VAR} is not a valid filter ({err}); logging stays off (example: {LOG_VAR}=vaultref::audit=info)"
            );
            return;
        }
    };
    // A cap, not a selection: it only lowers what `selected` lets through.
    let mut capped = Targets::new().with_default(Level::TRACE);
    for target in THIRD_PARTY {
        if !filter.split(',').any(|d| d.trim().starts_with(target)) {
            capped = capped.with_target(target, Level::INFO);
        }
    }
    // Both as global filters (a record must pass each), not one combined per-layer filter:
    // tracing-subscriber's per-layer filter state dropped some records (the audit trail of a
    // delete on PostgreSQL) when sqlx's own records were filtered out around them.
    tracing_subscriber::registry()
        .with(selected)
        .with(capped)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr),
        )
        .init();
}

/// `warning: <message>`: the event's message alone, as people read it.
struct WarningLine;

impl<S, N> FormatEvent<S, N> for WarningLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = Message(String::new());
        event.record(&mut message);
        writeln!(writer, "warning: {}", message.0)
    }
}

/// Collects the `message` field of an event.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
