//! Project automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: everything CI checks, in the order a reader would: formatting, clippy with
//!   warnings denied, `cargo deny` (licenses, bans, duplicates, sources; installed once if
//!   missing), then every test of the workspace, with the Python virtualenv the interop tests
//!   need and the database URLs of the local servers, then `e2e` and `load` for 15 s.
//! - `cargo xtask modules [--check]`: no import loop between a crate's modules, no source file
//!   over 700 lines outside tests (see `modules.rs`); `ci` checks it after clippy.
//! - `cargo xtask crate-docs [--check]`, `examples`, `consumer`: the crates as a consumer sees
//!   them (see `libs.rs`); `ci` runs all three, and `cargo doc` with warnings denied.
//! - `cargo xtask venv`: only create or update that virtualenv (with openmetadata-ingestion's
//!   generated models unpacked under `.venv/openmetadata/<release>/`, see `om.rs`).
//! - `cargo xtask om-catalog`: regenerate the secret-field catalog from those models
//!   (`crates/core/catalog/openmetadata.json`) and its table in docs/compatibility.md.
//! - `cargo xtask venv-airflow`: create or update `.venv-airflow`, a separate virtualenv with
//!   Apache Airflow and its Microsoft Azure provider (pinned), for the side-by-side test of the
//!   Airflow backend (`VAULTREF_AIRFLOW_PYTHON`); about 80 s and 460 MB the first time.
//! - `cargo xtask e2e`: builds `vaultref` and runs the main job end to end through it against
//!   `vaultref emulator --tls` and SQLite in a temporary directory (see `e2e.rs`).
//! - `cargo xtask load [--seconds N] [--tasks N] [--budget N]`: the load test, 100 tasks
//!   resolving overlapping documents through one resolver against the emulator with faults on
//!   (60 s by hand, 15 s in `ci`; see `load.rs`).
//! - `cargo xtask walkthrough`: the README's walk-through as written (`cargo install` into a
//!   temporary root included) from a fresh clone, `CARGO_TARGET_DIR` elsewhere (see
//!   `walkthrough.rs`); `ci` runs it after `e2e`.
//! - `cargo xtask bench [--runs N]`: the cold-start benchmark, whole processes of vaultref and
//!   its peers against the emulator, which regenerates docs/benchmarks.md's generated section
//!   and plots (see `bench.rs`); `cargo xtask bench criterion [ARGS]`: the criterion
//!   benchmarks, `cargo bench -p vaultref-benches [ARGS]`.
//!
//! It needs nothing but cargo, rustc and a `python3` with `venv`; it builds what it needs itself.

// xtask is a developer tool whose output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::{
    env,
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use vaultref_testkit::{Engine, TestDatabase};

mod bench;
mod containers;
mod e2e;
mod engine;
mod images;
mod libs;
mod load;
mod modules;
mod om;
mod walkthrough;

/// Python packages the interop tests import: the reference Fernet implementation and the official
/// Azure SDKs that must accept the emulator.
/// pydantic and email-validator are all openmetadata-ingestion's generated models need
/// (`om.rs`: the secret-field catalog and its conformance test).
const PYTHON_PACKAGES: &[&str] = &[
    "cryptography",
    "azure-identity",
    "azure-keyvault-secrets",
    "pydantic",
    "email-validator",
];

/// Airflow and the provider whose `AzureKeyVaultBackend` vaultref's Airflow side must match,
/// pinned to the versions the project's facts were read from (docs/compatibility.md). Kept
/// apart from `.venv`: it is large, and Airflow pins many shared dependencies.
const AIRFLOW_PACKAGES: &[&str] = &[
    "apache-airflow==3.3.2",
    "apache-airflow-providers-microsoft-azure==15.2.1",
];

fn main() -> Result<()> {
    let task = env::args().nth(1);
    match task.as_deref() {
        Some("ci") => ci(),
        Some("venv") => venv().map(|python| println!("{}", python.display())),
        Some("om-catalog") => om::om_catalog(&venv()?),
        Some("venv-airflow") => venv_airflow().map(|python| println!("{}", python.display())),
        Some("e2e") => e2e(&env::args().skip(2).collect::<Vec<_>>()),
        Some("load") => {
            let options = load::LoadOptions::parse(&env::args().skip(2).collect::<Vec<_>>(), 60)?;
            load::run(&build_vaultref()?, &options)
        }
        Some("bench") => bench(&env::args().skip(2).collect::<Vec<_>>()),
        Some("walkthrough") => walkthrough::run(&workspace_root()),
        Some("engine") => engine::main(&env::args().skip(2).collect::<Vec<_>>()),
        Some("images") => images::main(&env::args().skip(2).collect::<Vec<_>>()),
        Some("crate-docs") => {
            libs::crate_docs(&workspace_root(), &env::args().skip(2).collect::<Vec<_>>())
        }
        Some("examples") => libs::examples(&workspace_root()),
        Some("consumer") => libs::consumer(&workspace_root()),
        Some("modules") => {
            modules::main(&workspace_root(), &env::args().skip(2).collect::<Vec<_>>())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\ntasks:\n  ci     fmt check, clippy -D warnings, cargo deny, all tests, e2e, load, the container pass (what CI runs)\n  venv   create the Python virtualenv the interop tests use (with OpenMetadata's models)\n  om-catalog  regenerate crates/core/catalog/openmetadata.json and its docs table from openmetadata-ingestion\n  venv-airflow  create the virtualenv with Airflow and its Azure provider\n  e2e [--database sqlite|postgres|mysql|all]...  build vaultref and run the main job end to end (emulator; SQLite by default)\n  load   the load test: 100 tasks resolving through one resolver, faults on (--seconds 60)\n  walkthrough  the README's walk-through as written, from a fresh clone, installed with cargo install\n  bench  criterion benchmarks (vaultref-benches); extra arguments go to cargo bench\n  engine start|stop  a container engine for the container tests (prints DOCKER_HOST=...)\n  images [postgres] [mariadb] [vaultref]  build the container images from Debian packages\n  crate-docs [--check]  measure each library's dependency tree into its README\n  examples  run every crate example (each starts its own emulator)\n  consumer  build and run tests/consumer, a project outside the workspace using the crates\n  modules [--check]  import loops between modules and files over 700 lines"
            );
            bail!("unknown task {task:?}")
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one folder below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf()
}

fn ci() -> Result<()> {
    let root = workspace_root();
    let python = venv()?;
    let airflow_python = venv_airflow()?;

    cargo(&root, ["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &root,
        [
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;

    // The source's shape: no import loop between modules, no file over 700 lines.
    modules::main(&root, &["--check".to_owned()])?;

    // Licenses, bans (duplicates included) and sources of every dependency (deny.toml).
    // Advisories are left out: their database is fetched from GitHub, not a package registry.
    ensure_cargo_deny(&root)?;
    cargo(
        &root,
        [
            "deny",
            "--workspace",
            "check",
            "licenses",
            "bans",
            "sources",
        ],
        &[],
    )?;

    // The database tests read these; defaults are the servers this project's machines run.
    let mut test_env: Vec<(&str, String)> = vec![
        ("VAULTREF_PYTHON", python.display().to_string()),
        (
            "VAULTREF_AIRFLOW_PYTHON",
            airflow_python.display().to_string(),
        ),
    ];
    for (var, default) in [
        (
            "VAULTREF_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        (
            "VAULTREF_TEST_MYSQL_URL",
            "mysql://root@127.0.0.1:3306/test",
        ),
    ] {
        test_env.push((var, env::var(var).unwrap_or_else(|_| default.to_owned())));
    }
    let test_env: Vec<(&str, &str)> = test_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cargo(
        &root,
        ["test", "--workspace", "--all-targets", "--no-fail-fast"],
        &test_env,
    )?;
    // Doc tests are not part of --all-targets.
    cargo(&root, ["test", "--workspace", "--doc"], &test_env)?;
    // The crates as consumers see them: documentation without a warning, the READMEs'
    // measured dependency numbers current, every example run, a project outside the
    // workspace built on the public API alone.
    cargo(
        &root,
        ["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    libs::crate_docs(&root, &["--check".to_owned()])?;
    libs::examples(&root)?;
    libs::consumer(&root)?;
    // The end-to-end job takes seconds once the binary is built; a child process, so that it
    // reads the database URLs above.
    cargo(&root, ["xtask", "e2e", "--database", "all"], &test_env)?;
    // The README's walk-through as a new user types it, `cargo install` included.
    walkthrough::run(&root)?;
    // The load test's claims (budget, memory) hold from the first seconds; 15 s shows them
    // over several cache lifetimes and fault cycles. The full 60 s: `cargo xtask load`.
    load::run(&build_vaultref()?, &load::LoadOptions::parse(&[], 15)?)?;
    // The same database tests and end-to-end job again, through containers.
    containers::ci_pass(&root, &test_env[..1])?;
    println!("xtask ci: all checks passed");
    Ok(())
}

/// Installs cargo-deny from crates.io unless it is there (cargo keeps it in `~/.cargo/bin`, so
/// later runs find it).
fn ensure_cargo_deny(root: &Path) -> Result<()> {
    let cargo_bin = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let installed = Command::new(&cargo_bin)
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if installed {
        return Ok(());
    }
    cargo(root, ["install", "cargo-deny", "--locked"], &[])
        .context("installing cargo-deny (cargo install cargo-deny --locked)")
}

/// `cargo xtask bench criterion [ARGS]` runs the criterion benchmarks of `benches/` (see
/// docs/benchmarks.md), passing `ARGS` on to `cargo bench` (e.g. `--bench fernet`, or
/// `-- --measurement-time 2`); anything else is the cold-start benchmark (`bench.rs`).
fn bench(extra: &[String]) -> Result<()> {
    let Some((_, extra)) = extra
        .split_first()
        .filter(|(first, _)| *first == "criterion")
    else {
        return bench::main(extra);
    };
    let root = workspace_root();
    let mut args = vec![
        "bench".to_owned(),
        "-p".to_owned(),
        "vaultref-benches".to_owned(),
    ];
    args.extend(extra.iter().cloned());
    cargo(&root, args, &[])
}

/// Builds the `vaultref` binary and runs the end-to-end job with it, once per database asked
/// for with `--database` (SQLite when none is): each run gets a fresh database from
/// vaultref-testkit, so PostgreSQL and MariaDB come from `VAULTREF_TEST_*_URL` or containers.
fn e2e(args: &[String]) -> Result<()> {
    let engines = e2e_engines(args)?;
    let bin = build_vaultref()?;
    let data = workspace_root().join("crates/cli/tests/data/entities.jsonl");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting an async runtime")?;
    for engine in engines {
        let database = runtime.block_on(TestDatabase::create(engine))?;
        println!("xtask e2e: on {engine}");
        e2e::run(&bin, &data, database.url())?;
        runtime.block_on(database.drop_database());
    }
    Ok(())
}

/// Builds the `vaultref` binary (debug); returns its path.
fn build_vaultref() -> Result<PathBuf> {
    build_vaultref_with("dev")
}

/// Builds the `vaultref` binary with the cargo profile `profile` (`dev`, `release`) and
/// returns its path.
pub(crate) fn build_vaultref_with(profile: &str) -> Result<PathBuf> {
    let root = workspace_root();
    cargo(
        &root,
        [
            "build",
            "--profile",
            profile,
            "-p",
            "vaultref-cli",
            "--bin",
            "vaultref",
        ],
        &[],
    )?;
    let folder = if profile == "dev" { "debug" } else { profile };
    Ok(target_dir(&root).join(folder).join("vaultref"))
}

fn e2e_engines(args: &[String]) -> Result<Vec<Engine>> {
    let mut engines = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--database=") {
            Some(value) => value,
            None if arg == "--database" => args.next().map_or("", String::as_str),
            None => bail!(
                "usage: cargo xtask e2e [--database sqlite|postgres|mysql|all]... (got {arg:?})"
            ),
        };
        match value {
            "all" => engines.extend(Engine::ALL),
            other => engines.push(
                Engine::ALL
                    .into_iter()
                    .find(|engine| engine.label() == other)
                    .with_context(|| {
                        format!("--database {other:?}: sqlite, postgres, mysql or all")
                    })?,
            ),
        }
    }
    if engines.is_empty() {
        engines.push(Engine::Sqlite);
    }
    Ok(engines)
}

/// Cargo's target folder: `CARGO_TARGET_DIR`, else `target/` in the workspace.
fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Creates `.venv` at the workspace root (once) and installs the interop packages into it.
/// Returns the path of its interpreter.
fn venv() -> Result<PathBuf> {
    let python = ensure_venv(".venv", PYTHON_PACKAGES)
        .context("installing the interop test packages into .venv")?;
    om::ensure_models(&python).context("unpacking openmetadata-ingestion's models into .venv")?;
    Ok(python)
}

/// Creates `.venv-airflow` (once) with Airflow and its Azure provider. Returns its interpreter.
fn venv_airflow() -> Result<PathBuf> {
    ensure_venv(".venv-airflow", AIRFLOW_PACKAGES)
        .context("installing Apache Airflow and its Azure provider into .venv-airflow")
}

/// A virtualenv `dir` at the workspace root holding `requirements` (`name` or `name==version`);
/// pip runs only when one is missing or at another version.
fn ensure_venv(dir: &str, requirements: &[&str]) -> Result<PathBuf> {
    let dir = workspace_root().join(dir);
    let python = dir.join("bin").join("python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir))
            .context("creating a Python virtualenv (is python3 with venv installed?)")?;
    }
    // One interpreter start for every package (pip itself starts slowly).
    let names: Vec<&str> = requirements
        .iter()
        .map(|r| r.split_once("==").map_or(*r, |(name, _)| name))
        .collect();
    let script = "import sys\nfrom importlib.metadata import version, PackageNotFoundError\nfor name in sys.argv[1:]:\n    try:\n        print(version(name))\n    except PackageNotFoundError:\n        print('-')\n";
    let installed: Vec<String> = Command::new(&python)
        .args(["-c", script])
        .args(&names)
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let satisfied = |(i, requirement): (usize, &&str)| {
        let wanted = requirement.split_once("==").map(|(_, v)| v);
        installed
            .get(i)
            .is_some_and(|v| v != "-" && wanted.is_none_or(|w| w == v))
    };
    if !requirements.iter().enumerate().all(satisfied) {
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(requirements))?;
    }
    Ok(python)
}

fn cargo<I, S>(root: &Path, args: I, envs: &[(&str, &str)]) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cargo_without(root, args, envs, &[])
}

/// Like `cargo`, with the variables `removed` taken out of its environment.
fn cargo_without<I, S>(root: &Path, args: I, envs: &[(&str, &str)], removed: &[&str]) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(args);
    for key in removed {
        command.env_remove(key);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    run(&mut command)
}

fn run(command: &mut Command) -> Result<()> {
    // Not `{command:?}`: that also prints the environment set on the command, and the test
    // database URLs may embed a password.
    let shown = shown(command);
    eprintln!("$ {shown}");
    let status = command
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// The program and its arguments, without the environment given to it.
fn shown(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| format!("{part:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_command_leaves_out_its_environment() {
        let mut command = Command::new("cargo");
        command
            .arg("test")
            .env("VAULTREF_TEST_POSTGRES_URL", "postgres://u:hunter2@db/test");
        assert_eq!(shown(&command), "\"cargo\" \"test\"");
    }
}
