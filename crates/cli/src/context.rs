//! The options every command takes (`--config`, `--output`, `-q`, `-v`), parsed once in `main`
//! and handed to each command as a [`Context`] instead of per-command flags.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use vaultref_core::{
    Config, Environment, ProviderKind, ignored_variables, read_config_file, referenced_variables,
};

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Lines for people.
    Text,
    /// One JSON document (or JSON Lines for streams).
    Json,
}

/// The options accepted anywhere on the command line.
#[derive(clap::Args, Debug)]
pub(crate) struct GlobalArgs {
    /// The configuration file (OpenMetadata's `openmetadata.yaml` shape, `${VAR}` substituted
    /// from the environment).
    #[arg(
        long = "config",
        value_name = "FILE",
        env = "VAULTREF_CONFIG",
        global = true
    )]
    config: Option<PathBuf>,
    /// `text` for people; `json` for scripts: one JSON document per command (JSON Lines for
    /// streams), with the schema docs/cli.md gives.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text, global = true)]
    output: Format,
    /// Only results and errors: no progress, notes or retry warnings on stderr.
    #[arg(short = 'q', long = "quiet", global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More on stderr: `-v` one line per entity and INFO logs, `-vv` DEBUG logs.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

/// How much goes to stderr besides errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    /// `-q`: results and errors only.
    Quiet,
    /// Progress, notes, warnings.
    Normal,
    /// `-v`: per-entity lines and INFO logs.
    Verbose,
    /// `-vv`: DEBUG logs.
    Debug,
}

/// What every command gets from `main`.
#[derive(Debug)]
pub(crate) struct Context {
    config: Option<PathBuf>,
    /// The output format (`--output`).
    pub(crate) output: Format,
    /// How much goes to stderr (`-q`, `-v`).
    pub(crate) verbosity: Verbosity,
    /// The process environment, read once.
    pub(crate) env: Environment,
}

impl Context {
    pub(crate) fn new(args: GlobalArgs) -> Self {
        let verbosity = match (args.quiet, args.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        };
        Self {
            config: args.config,
            output: args.output,
            verbosity,
            env: Environment::from_process(),
        }
    }

    /// `--config` (or `VAULTREF_CONFIG`), when given.
    pub(crate) fn config_path(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// `--config`, required by this command.
    pub(crate) fn required_config_path(&self) -> Result<&Path> {
        self.config_path().ok_or_else(|| {
            anyhow!(
                "no configuration: give --config FILE (anywhere on the command line) or set \
                 VAULTREF_CONFIG"
            )
        })
    }

    /// The checked configuration; the error names the file and the command that lists every
    /// problem. OpenMetadata variables that are set but that the file does not read are named
    /// on stderr first (once).
    pub(crate) fn load_config(&self) -> Result<Config> {
        let path = self.required_config_path()?;
        self.warn_ignored_variables(path);
        Config::load(path, &self.env).with_context(|| {
            format!(
                "invalid configuration {} (`vaultref check --config {}` lists every problem)",
                path.display(),
                path.display()
            )
        })
    }

    /// One warning per OpenMetadata (or unknown `VAULTREF_*`) variable that is set but that
    /// the file at `path` never reads: setting it changes nothing, which users rarely expect.
    pub(crate) fn warn_ignored_variables(&self, path: &Path) {
        let Ok(text) = read_config_file(path) else {
            return;
        };
        for name in ignored_variables(&text, &self.env) {
            self.warn(&format!(
                "{name} is set but {} does not read it (no ${{{name}}} in the file): it has no \
                 effect",
                path.display()
            ));
        }
    }

    /// What a hint tells the user to set: `var` when the configuration file reads it (as
    /// OpenMetadata's does), else the file's `key`. No hint names a variable the file ignores.
    pub(crate) fn setting(&self, var: &str, key: &str) -> String {
        let reads = self
            .config_path()
            .and_then(|path| read_config_file(path).ok())
            .is_some_and(|text| referenced_variables(&text).contains(var));
        if reads { var } else { key }.to_owned()
    }

    /// Refuses the `in-memory` provider for `command`: its vault ends with the command, so a
    /// command that writes rows referencing it would leave references to values that exist
    /// nowhere. `alternative` ends the message (e.g. ", or use --dry-run").
    pub(crate) fn refuse_in_memory(
        &self,
        config: &Config,
        command: &str,
        alternative: &str,
    ) -> Result<()> {
        if config.secrets_manager.provider == ProviderKind::InMemory {
            bail!(
                "secretsManagerConfiguration.secretsManager is in-memory, whose vault lives only \
                 as long as this command: {command} would store references to secrets that \
                 vanish with it; set {} to managed-azure-kv (or db){alternative}",
                self.setting(
                    "SECRET_MANAGER",
                    "secretsManagerConfiguration.secretsManager"
                )
            );
        }
        Ok(())
    }

    /// Whether `--output json` was asked for.
    pub(crate) fn json(&self) -> bool {
        self.output == Format::Json
    }

    /// A progress line or note on stderr, unless `-q`.
    pub(crate) fn note(&self, text: &str) {
        if self.verbosity > Verbosity::Quiet {
            crate::setup::note(text);
        }
    }

    /// `warning: <text>` on stderr, unless `-q`.
    pub(crate) fn warn(&self, text: &str) {
        self.note(&format!("warning: {text}"));
    }
}
