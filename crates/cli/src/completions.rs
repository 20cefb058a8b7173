//! `vaultref completions bash|zsh|fish|elvish|powershell`: the shell completion script, from
//! the same clap definition that parses the command line.

use anyhow::Result;

/// Options of `vaultref completions`.
#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: &CompletionsArgs, mut command: clap::Command) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "vaultref", &mut script);
    crate::setup::write_stdout(&script)
}
