//! `cargo xtask engine start|stop`: a container engine for the container tests.
//!
//! `start` prints `DOCKER_HOST=...` on stdout: the engine already reachable (`DOCKER_HOST`,
//! else the default socket, else the private engine below), or, when none is, Debian's
//! `dockerd` (package docker.io) started on a private socket with its own data folder, so it
//! never touches a system engine. `stop` stops that private engine only. Both are idempotent.
//! Needs root, as `dockerd` does. See docs/testing.md.

use std::{
    fs,
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::run;

/// The private engine's socket, runtime files and log; its data (images) lives in
/// [`DATA_ROOT`] so the images survive a restart.
const RUN_DIR: &str = "/run/vaultref-engine";
const SOCKET: &str = "/run/vaultref-engine/docker.sock";
const PIDFILE: &str = "/run/vaultref-engine/dockerd.pid";
const LOG: &str = "/run/vaultref-engine/dockerd.log";
const EXEC_ROOT: &str = "/run/vaultref-engine/exec";
const DATA_ROOT: &str = "/var/lib/vaultref-engine";

/// The default socket of a system engine.
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// `dockerd` takes about 5 s to answer; this is the limit before `start` gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// There is no notification for "the engine answers" or "that process exited" that a
/// non-parent can wait on; these are the polling intervals.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The label of the test kit's containers (`vaultref_testkit::CONTAINER_LABEL`).
const TESTKIT_LABEL: &str = vaultref_testkit::CONTAINER_LABEL;

pub(crate) fn main(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("start") => {
            let host = start()?;
            println!("DOCKER_HOST={host}");
            Ok(())
        }
        Some("stop") => stop(),
        other => bail!("usage: cargo xtask engine start|stop (got {other:?})"),
    }
}

/// The `DOCKER_HOST` of a reachable engine, starting the private one when none is.
pub(crate) fn start() -> Result<String> {
    if let Some(host) = reachable_engine() {
        eprintln!("xtask engine: an engine is reachable at {host}");
        return Ok(host);
    }
    if Command::new("dockerd").arg("--version").output().is_err() {
        bail!(
            "no container engine is reachable and `dockerd` is not installed: install Debian's \
             docker.io (`apt-get install docker.io`), or set DOCKER_HOST to a running engine"
        );
    }
    let private = format!("unix://{SOCKET}");
    // A dockerd killed without cleaning up leaves its pidfile and socket: they would stop
    // the new one.
    if let Some(pid) = private_engine_pid() {
        bail!(
            "the private engine (pid {pid}) runs but does not answer at {private}; see {LOG}, or \
             `cargo xtask engine stop` first"
        );
    }
    let _ = fs::remove_file(PIDFILE);
    let _ = fs::remove_file(SOCKET);
    fs::create_dir_all(RUN_DIR).with_context(|| format!("creating {RUN_DIR} (root needed)"))?;
    fs::create_dir_all(DATA_ROOT).with_context(|| format!("creating {DATA_ROOT}"))?;
    let log = fs::File::create(LOG).with_context(|| format!("creating {LOG}"))?;
    eprintln!("xtask engine: starting dockerd on {private} (data in {DATA_ROOT}, log in {LOG})");
    let started = Instant::now();
    let mut dockerd = Command::new("dockerd")
        .arg("--host")
        .arg(&private)
        .args(["--data-root", DATA_ROOT, "--exec-root", EXEC_ROOT])
        .args(["--pidfile", PIDFILE])
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("opening the engine log")?)
        .stderr(log)
        // Its own process group: it outlives this command and ignores the caller's Ctrl-C.
        .process_group(0)
        .spawn()
        .context("starting dockerd")?;
    loop {
        if answers(&private) {
            break;
        }
        if let Some(status) = dockerd.try_wait().context("watching dockerd")? {
            bail!("dockerd exited with {status}: {}", log_tail());
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "dockerd did not answer within {}s: {}",
                START_TIMEOUT.as_secs(),
                log_tail()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    eprintln!(
        "xtask engine: dockerd answers at {private} after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // Containers of test processes that died with the last engine: nothing uses them now.
    remove_testkit_containers(&private)?;
    Ok(private)
}

/// Stops the private engine, if it runs; never an engine `start` did not start.
fn stop() -> Result<()> {
    let Some(pid) = private_engine_pid() else {
        eprintln!("xtask engine: the private engine is not running; nothing to stop");
        return Ok(());
    };
    let private = format!("unix://{SOCKET}");
    if answers(&private) {
        remove_testkit_containers(&private)?;
    }
    eprintln!("xtask engine: stopping dockerd (pid {pid})");
    run(Command::new("kill").args(["-TERM", &pid.to_string()]))?;
    let asked = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        if asked.elapsed() > STOP_TIMEOUT {
            bail!(
                "dockerd (pid {pid}) did not stop within {}s",
                STOP_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    eprintln!(
        "xtask engine: stopped after {:.1}s",
        asked.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The first engine that answers: `DOCKER_HOST`, the default socket, the private one.
fn reachable_engine() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(host) = std::env::var("DOCKER_HOST")
        && !host.is_empty()
    {
        candidates.push(host);
    }
    candidates.push(DEFAULT_SOCKET.to_owned());
    candidates.push(format!("unix://{SOCKET}"));
    candidates.into_iter().find(|host| answers(host))
}

/// Whether the engine at `host` answers an API call.
pub(crate) fn answers(host: &str) -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .env("DOCKER_HOST", host)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The pid of the private dockerd, when it runs.
fn private_engine_pid() -> Option<u32> {
    let pid: u32 = fs::read_to_string(PIDFILE).ok()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "dockerd").then_some(pid)
}

/// Removes the test kit's containers left on the engine at `host`.
///
/// A test process's own reaper may be removing the same containers at this moment (it runs
/// when the process exits, and the CI job stops the engine right after): a container already
/// gone or already being removed is not an error; the function waits until none is listed.
fn remove_testkit_containers(host: &str) -> Result<()> {
    let ids = testkit_containers(host)?;
    if ids.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask engine: removing {} leftover test container(s)",
        ids.len()
    );
    for id in &ids {
        let out = Command::new("docker")
            .args(["rm", "--force", "--volumes", id])
            .env("DOCKER_HOST", host)
            .output()
            .context("removing a test kit container")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let raced = stderr.contains("already in progress") || stderr.contains("No such container");
        if !out.status.success() && !raced {
            bail!("docker rm {id} failed: {}", stderr.trim());
        }
    }
    let asked = Instant::now();
    loop {
        let left = testkit_containers(host)?;
        if left.is_empty() {
            return Ok(());
        }
        if asked.elapsed() > STOP_TIMEOUT {
            bail!(
                "test kit container(s) {} still listed {}s after their removal was asked",
                left.join(", "),
                STOP_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The ids of every container (running or not) that carries the test kit's label.
fn testkit_containers(host: &str) -> Result<Vec<String>> {
    let out = Command::new("docker")
        .args(["ps", "--all", "--quiet", "--filter"])
        .arg(format!("label={TESTKIT_LABEL}"))
        .env("DOCKER_HOST", host)
        .output()
        .context("listing the test kit's containers")?;
    if !out.status.success() {
        bail!(
            "listing the test kit's containers failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

fn log_tail() -> String {
    let log = fs::read_to_string(LOG).unwrap_or_default();
    let lines: Vec<&str> = log.lines().rev().take(8).collect();
    format!(
        "last lines of {LOG}:\n{}",
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}
