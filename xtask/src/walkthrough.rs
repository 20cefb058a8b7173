//! `cargo xtask walkthrough`: the README's "Try it against the emulator" section, run as it is
//! written, from a fresh clone of the committed tree, with `CARGO_TARGET_DIR` and the install
//! root somewhere else (the walk-through must not assume `target/`), so that what a new user
//! types is what CI runs.

use std::{path::Path, process::Command};

use anyhow::{Context, Result, bail};

/// The section of README.md that is run.
const SECTION: &str = "## Try it against the emulator";

/// Runs the walk-through; fails on the first command that fails.
pub(crate) fn run(root: &Path) -> Result<()> {
    let readme = std::fs::read_to_string(root.join("README.md")).context("reading README.md")?;
    let script = script(&readme)?;
    let work = std::env::temp_dir().join(format!("vaultref-walkthrough-{}", std::process::id()));
    let clone = work.join("clone");
    let target = work.join("target");
    let install = work.join("install");
    std::fs::create_dir_all(&work)?;
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(&clone)
        .status()
        .context("running git clone")?;
    if !status.success() {
        bail!("git clone of {} failed", root.display());
    }
    let path = format!(
        "{}:{}",
        install.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    println!(
        "xtask walkthrough: README's walk-through in {} (CARGO_TARGET_DIR={}, install root {})",
        clone.display(),
        target.display(),
        install.display()
    );
    let status = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", &target)
        // `cargo install` puts the binary here instead of ~/.cargo/bin.
        .env("CARGO_INSTALL_ROOT", &install)
        .env("PATH", path)
        // The release build only has to run: CI's time goes to tests, not to optimisation.
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env_remove("VAULTREF_CONFIG")
        .env_remove("FERNET_KEY")
        .status()
        .context("running bash")?;
    let installed = install.join("bin").join("vaultref");
    let cleanup = || std::fs::remove_dir_all(&work);
    if !status.success() {
        bail!(
            "the README's walk-through failed (left in {} for a look)",
            work.display()
        );
    }
    if !installed.exists() {
        bail!(
            "`cargo install` did not put vaultref in {}",
            installed.display()
        );
    }
    cleanup().with_context(|| format!("removing {}", work.display()))?;
    println!("xtask walkthrough: PASS");
    Ok(())
}

/// The `sh` blocks of the section, in order, as one script.
fn script(readme: &str) -> Result<String> {
    let start = readme
        .find(SECTION)
        .with_context(|| format!("README.md has no `{SECTION}` section"))?;
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut script = String::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + "```sh\n".len()..];
        let Some(close) = body.find("\n```") else {
            bail!("README.md: an unclosed ```sh block");
        };
        script.push_str(&body[..=close]);
        rest = &body[close + 4..];
    }
    if script.is_empty() {
        bail!("README.md's `{SECTION}` has no ```sh block");
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sections_sh_blocks_are_the_script() {
        let readme = "# x\n## Try it against the emulator\ntext\n```sh\necho a\n```\nmore\n```sh\necho b\n```\n## Next\n```sh\necho c\n```\n";
        assert_eq!(script(readme).unwrap(), "echo a\necho b\n");
    }
}
