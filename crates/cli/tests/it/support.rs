//! Running the built `vaultref` binary and the Python interpreter named by `VAULTREF_PYTHON`.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// What a finished process left behind.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    /// Stdout as text, panicking with stderr if the process failed.
    pub(crate) fn ok_text(&self) -> String {
        self.assert_ok();
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    pub(crate) fn assert_ok(&self) {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
    }

    /// The contract for a refused input: status 1, nothing on stdout, exactly one stderr line.
    pub(crate) fn assert_one_line_failure(&self) {
        assert_eq!(self.code, Some(1), "stderr: {}", self.stderr);
        assert!(self.stdout.is_empty(), "stdout: {:?}", self.stdout);
        assert_eq!(self.stderr.lines().count(), 1, "stderr: {:?}", self.stderr);
        assert!(self.stderr.ends_with('\n'));
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
    }
}

/// Runs `program args…` with `stdin`, a clean `FERNET_KEY` and the extra `env`.
pub(crate) fn run(program: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut command = Command::new(program);
    command.env_remove("FERNET_KEY").envs(env.iter().copied());
    run_command(command, args, stdin)
}

/// Runs `program args…` with `stdin` and only `env` (plus `NO_PROXY=*`): nothing of the test's
/// own environment (`AZURE_*`, `AIRFLOW_*`, `HOME`, proxies) reaches it.
pub(crate) fn run_clean(program: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("NO_PROXY", "*")
        .envs(env.iter().copied());
    run_command(command, args, stdin)
}

/// The `vaultref` binary with only `env`, as [`run_clean`].
pub(crate) fn vaultref_clean(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    run_clean(Path::new(env!("CARGO_BIN_EXE_vaultref")), args, env, stdin)
}

fn run_command(mut command: Command, args: &[&str], stdin: &[u8]) -> Run {
    let program = PathBuf::from(command.get_program());
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // A separate thread, so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        // The process may exit early without reading (e.g. on a bad key).
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("process runs");
    writer.join().expect("stdin writer");
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the `vaultref` binary built for these tests.
pub(crate) fn vaultref(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    run(Path::new(env!("CARGO_BIN_EXE_vaultref")), args, env, stdin)
}

/// The Python interpreter from `VAULTREF_PYTHON`, checked to import `modules`.
///
/// Without it: under CI (env `CI` set) the test fails; elsewhere it prints a note and the
/// caller returns early.
pub(crate) fn python(modules: &[&str]) -> Option<PathBuf> {
    interpreter("VAULTREF_PYTHON", "cargo xtask venv", modules)
}

/// The Python interpreter from `VAULTREF_AIRFLOW_PYTHON` (the virtualenv with Airflow and its
/// Azure provider, `cargo xtask venv-airflow`), checked to import the provider's Key Vault
/// backend; missing under CI, the test fails, as for [`python`].
pub(crate) fn airflow_python() -> Option<PathBuf> {
    interpreter(
        "VAULTREF_AIRFLOW_PYTHON",
        "cargo xtask venv-airflow",
        &["airflow.providers.microsoft.azure.secrets.key_vault"],
    )
}

fn interpreter(var: &str, task: &str, modules: &[&str]) -> Option<PathBuf> {
    let problem = match std::env::var_os(var) {
        None => format!("{var} is not set (`{task}` prints the interpreter to use)"),
        Some(path) => {
            let path = PathBuf::from(path);
            let imports = format!("import {}", modules.join(", "));
            match Command::new(&path).args(["-c", &imports]).output() {
                Ok(out) if out.status.success() => return Some(path),
                Ok(out) => format!(
                    "{} cannot `{imports}`: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(err) => format!("cannot run {}: {err}", path.display()),
            }
        }
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{problem}; CI must run the Python interop tests (see `cargo xtask ci`)"
    );
    // Not inside a #[test] function, so clippy's allow-print-in-tests does not reach here.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("note: skipping a Python interop test: {problem}");
    }
    None
}

/// Path of a file in `tests/data/`.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
