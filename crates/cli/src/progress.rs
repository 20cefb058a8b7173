//! Progress of long work (import, migrate-secrets, rotate-fernet-key) on stderr.
//!
//! On a terminal: a bar per stage with the count, the rate and the time left (indicatif);
//! per-item lines only with `-v`, failures always. Piped (a log, CI): plain lines instead, the
//! stage's size when it starts, a counter line at most every [`PLAIN_EVERY`] and one when it
//! ends (for stages of known size), and each item's line. `-q`: nothing but failures.

use std::io::IsTerminal as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::context::{Context, Verbosity};

/// How often a plain counter line is printed while a stage runs.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// One long operation's progress.
pub(crate) struct Tracker {
    bar: Option<ProgressBar>,
    verbosity: Verbosity,
    stage: Mutex<Stage>,
}

struct Stage {
    name: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_plain: Instant,
}

impl Tracker {
    pub(crate) fn new(ctx: &Context) -> Self {
        let terminal = std::io::stderr().is_terminal() && ctx.verbosity > Verbosity::Quiet;
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>18} [{bar:30}] {pos}/{len} {per_sec:>10} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            verbosity: ctx.verbosity,
            stage: Mutex::new(Stage {
                name: String::new(),
                total: None,
                done: 0,
                started: now,
                last_plain: now,
            }),
        }
    }

    fn stage(&self) -> std::sync::MutexGuard<'_, Stage> {
        self.stage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new stage (`databaseService`, `import`) of `total` items when known.
    pub(crate) fn start(&self, name: &str, total: Option<u64>) {
        let now = Instant::now();
        *self.stage() = Stage {
            name: name.to_owned(),
            total,
            done: 0,
            started: now,
            last_plain: now,
        };
        match &self.bar {
            Some(bar) => {
                bar.reset();
                bar.set_prefix(name.to_owned());
                bar.set_length(total.unwrap_or(0));
                bar.set_position(0);
            }
            None => {
                if let Some(total) = total {
                    self.plain(&format!("{name}: {total} row(s)"));
                }
            }
        }
    }

    /// One item done.
    pub(crate) fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            return;
        }
        let mut stage = self.stage();
        stage.done += 1;
        if stage.last_plain.elapsed() >= PLAIN_EVERY {
            stage.last_plain = Instant::now();
            let line = counter(&stage);
            drop(stage);
            self.plain(&line);
        }
    }

    /// An item's own line: always for a failure, else piped or with `-v`.
    pub(crate) fn item(&self, line: &str, failed: bool) {
        match &self.bar {
            Some(bar) if failed || self.verbosity >= Verbosity::Verbose => bar.println(line),
            Some(_) => {}
            None if failed => crate::setup::note(line),
            None => self.plain(line),
        }
    }

    /// The stage is over: the bar stays at its final count; piped, one closing counter line.
    pub(crate) fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish(),
            None => {
                let mut stage = self.stage();
                // Once: a later table without rows does not start a stage of its own.
                let done = std::mem::take(&mut stage.done);
                // A stream of unknown size (import) has its own line per item: no summary.
                if done > 0 && stage.total.is_some() {
                    let seconds = stage.started.elapsed().as_secs_f64();
                    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
                    let rate = done as f64 / seconds.max(1e-3);
                    let line = format!(
                        "{}: {done} done in {seconds:.1} s ({rate:.1}/s)",
                        stage.name
                    );
                    drop(stage);
                    self.plain(&line);
                }
            }
        }
    }

    /// A line on stderr, unless `-q`.
    pub(crate) fn plain(&self, line: &str) {
        if self.verbosity > Verbosity::Quiet {
            match &self.bar {
                Some(bar) => bar.println(line),
                None => crate::setup::note(line),
            }
        }
    }
}

fn rate(stage: &Stage) -> f64 {
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let done = stage.done as f64;
    done / stage.started.elapsed().as_secs_f64().max(1e-3)
}

/// `databaseService: 150/200 (12.3/s, about 4 s left)`.
fn counter(stage: &Stage) -> String {
    let rate = rate(stage);
    match stage.total {
        Some(total) => {
            #[allow(clippy::cast_precision_loss)]
            let left = total.saturating_sub(stage.done) as f64 / rate.max(1e-3);
            format!(
                "{}: {}/{total} ({rate:.1}/s, about {left:.0} s left)",
                stage.name, stage.done
            )
        }
        None => format!("{}: {} ({rate:.1}/s)", stage.name, stage.done),
    }
}
