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

/// The environment that turns on the audit trail (`vaultref::audit` records on stderr).
pub(crate) const AUDIT_LOG: [(&str, &str); 1] = [("VAULTREF_LOG", "vaultref::audit=info")];

/// The `vaultref::audit` records among the JSON log lines of `stderr`, in order.
pub(crate) fn audit_records(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| record["target"] == "vaultref::audit")
        .collect()
}

/// Path of a file in `tests/data/`.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// What must never appear in anything vaultref prints: secret values, client secrets, Fernet
/// keys, access tokens. Each is kept with a label, which failures name instead of the value.
#[derive(Default)]
pub(crate) struct Secrets {
    known: Vec<(String, String)>,
}

impl Secrets {
    /// Adds `value` (under `label`); values under 8 characters could match by chance and are
    /// left out.
    pub(crate) fn add(&mut self, label: &str, value: &str) {
        if value.len() >= 8 && !self.known.iter().any(|(_, v)| v == value) {
            self.known.push((label.to_owned(), value.to_owned()));
        }
    }

    /// Adds a Fernet key in every spelling a log could show (standard and URL-safe base64,
    /// with and without padding).
    pub(crate) fn add_fernet_key(&mut self, key: &str) {
        let bare = key.trim_end_matches('=');
        let url_safe = bare.replace('+', "-").replace('/', "_");
        let standard = bare.replace('-', "+").replace('_', "/");
        for spelling in [bare, url_safe.as_str(), standard.as_str()] {
            self.add("a Fernet key", spelling);
        }
    }

    /// Adds every access token `emulator` was sent (`Authorization: Bearer ...`) and the
    /// client secrets of its token requests, each JWT also by its payload and signature, so
    /// that part of a token shows too. Returns how many requests carried a token.
    pub(crate) fn add_credentials_seen_by(
        &mut self,
        emulator: &vaultref_emulator::Emulator,
    ) -> usize {
        let mut with_token = 0;
        for request in emulator.requests() {
            if let Some(token) = request
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
            {
                with_token += 1;
                self.add("an access token", token);
                for segment in token.split('.').skip(1) {
                    self.add("part of an access token", segment);
                }
            }
            for field in ["client_secret", "client_assertion"] {
                if let Some(value) = request.form_field(field) {
                    self.add(field, &value);
                }
            }
        }
        with_token
    }

    /// The first secret in `output`, as its label and the line number (never the value).
    pub(crate) fn first_in(&self, output: &[u8]) -> Option<(String, usize)> {
        let text = String::from_utf8_lossy(output);
        text.lines().enumerate().find_map(|(number, line)| {
            self.known
                .iter()
                .find(|(_, value)| line.contains(value.as_str()))
                .map(|(label, _)| (label.clone(), number + 1))
        })
    }

    /// Panics, naming the secret's label and the line (not the value), if any line of
    /// `output` holds a known secret. `what` says which output it is.
    pub(crate) fn assert_absent(&self, what: &str, output: &[u8]) {
        if let Some((label, line)) = self.first_in(output) {
            panic!("{label} in line {line} of {what}");
        }
    }

    /// [`Secrets::assert_absent`] on the stdout and stderr of `run`.
    pub(crate) fn assert_absent_from(&self, what: &str, run: &Run) {
        self.assert_absent(&format!("the stdout of {what}"), &run.stdout);
        self.assert_absent(&format!("the stderr of {what}"), run.stderr.as_bytes());
    }
}
