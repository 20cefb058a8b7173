//! Servers in containers, started through testcontainers: one per engine per process, shared
//! by its tests, removed when the process ends.
//!
//! Tests run on many short-lived runtimes (one per `#[tokio::test]`), while a container and
//! testcontainers' engine client must outlive them all; so every container call runs on one
//! runtime that lives as long as the process. The container is never dropped by Rust: a
//! watcher process removes it once this process has exited, however it exits (see
//! [`remove_at_exit`]).

use std::{
    io::Write as _,
    os::unix::process::CommandExt as _,
    process::{ChildStdin, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use sqlx::Connection as _;
use testcontainers::{
    GenericImage, ImageExt as _, core::IntoContainerPort as _, runners::AsyncRunner as _,
};

use crate::Engine;

/// Label on every container the test kit starts, so that leftovers can be found
/// (`docker ps -a --filter label=org.vaultref.testkit`).
pub const CONTAINER_LABEL: &str = "org.vaultref.testkit";

/// How long a server may take to accept connections after its container started. The images
/// `cargo xtask images` builds take a few seconds; the official ones initialise a data folder
/// first.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a starting server is asked whether it accepts connections yet. Neither image kind
/// prints one readiness line that means "ready on the TCP port" (the official images print it
/// for a temporary socket-only server first), so the signal is a connection that succeeds.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vaultref-testkit-containers")
            .enable_all()
            .build()
            .expect("the test kit's container runtime could not start")
    })
}

/// The image to start for `engine`: its image variable, else the official image.
pub(crate) fn image(engine: Engine) -> String {
    engine
        .image_var()
        .and_then(|var| std::env::var(var).ok())
        .filter(|image| !image.trim().is_empty())
        .or_else(|| engine.default_image().map(str::to_owned))
        .unwrap_or_default()
}

/// Starts a container of `image` for `engine` and returns the admin URL of its server once
/// it accepts connections. The error is the reason, for [`crate::Error::NoServer`].
pub(crate) async fn start(engine: Engine, image: String) -> Result<String, String> {
    on_runtime(start_on_runtime(engine, image)).await?
}

/// Runs `task` on the container runtime and waits for it from any runtime.
pub(crate) async fn on_runtime<T: Send + 'static>(
    task: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    runtime()
        .spawn(task)
        .await
        .map_err(|e| format!("the container task failed: {e}"))
}

/// Starts `task` on the container runtime without waiting.
pub(crate) fn spawn_on_runtime(task: impl Future<Output = ()> + Send + 'static) {
    drop(runtime().spawn(task));
}

async fn start_on_runtime(engine: Engine, image: String) -> Result<String, String> {
    let (name, tag) = split_image(&image);
    let port = engine.container_port();
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(port.tcp())
        .with_label(CONTAINER_LABEL, engine.label())
        .with_label(
            format!("{CONTAINER_LABEL}.pid"),
            std::process::id().to_string(),
        );
    for (key, value) in engine.container_env() {
        request = request.with_env_var(*key, *value);
    }
    let container = request.start().await.map_err(|e| e.to_string())?;
    let id = container.id().to_owned();
    remove_at_exit(&id, engine.label());

    let host_port = container
        .get_host_port_ipv4(port)
        .await
        .map_err(|e| e.to_string())?;
    let host = published_host();
    let url = engine.container_url(&host, host_port);

    let started = Instant::now();
    loop {
        match sqlx::AnyConnection::connect(&url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                break;
            }
            Err(e) => {
                if !container.is_running().await.unwrap_or(false) {
                    let log = container.stderr_to_vec().await.unwrap_or_default();
                    let log = String::from_utf8_lossy(&log);
                    let tail: Vec<&str> = log.lines().rev().take(5).collect();
                    return Err(format!(
                        "the {engine} container {} exited before accepting connections; its last \
                         lines: {}",
                        short(&id),
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ));
                }
                if started.elapsed() > STARTUP_TIMEOUT {
                    return Err(format!(
                        "the {engine} server in container {} did not accept connections within \
                         {}s: {e}",
                        short(&id),
                        STARTUP_TIMEOUT.as_secs()
                    ));
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }
    announce(&format!(
        "started the {engine} container {} from {image} on {host}:{host_port} ({:.1}s); it is \
         removed when this process exits",
        short(&id),
        started.elapsed().as_secs_f64()
    ));
    // Shared by every test of the process: not removed on drop, but by the watcher.
    std::mem::forget(container);
    Ok(url)
}

/// Where a published port is reached: the engine's host for a TCP engine, else 127.0.0.1 (or
/// `TESTCONTAINERS_HOST_OVERRIDE`). Not testcontainers' own guess: inside a container (this
/// project's machines are) it answers the bridge's gateway, a private address tests must not
/// send to; the port is published on every address of this machine, loopback included.
fn published_host() -> String {
    if let Ok(host) = std::env::var("TESTCONTAINERS_HOST_OVERRIDE")
        && !host.trim().is_empty()
    {
        return host;
    }
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|docker_host| url::Url::parse(&docker_host).ok())
        .filter(|url| matches!(url.scheme(), "tcp" | "http" | "https"))
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// `NAME[:TAG]` split as Docker does: a `:` after the last `/` starts the tag (a registry
/// may have a port, `localhost:5000/postgres`); no tag means `latest`.
pub(crate) fn split_image(image: &str) -> (&str, &str) {
    let after_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[after_slash..].rfind(':') {
        Some(i) => (&image[..after_slash + i], &image[after_slash + i + 1..]),
        None => (image, "latest"),
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Removes the container `id` once this process has exited, whether it returned, panicked or
/// was killed: a shell in its own process group waits for end-of-file on a pipe only this
/// process holds open, then runs `docker rm`. (A test binary has no hook that runs at exit,
/// and statics are never dropped.) Without a `docker` command the container stays, and this
/// says how to remove it.
pub(crate) fn remove_at_exit(id: &str, what: &str) {
    static WATCHERS: Mutex<Vec<ChildStdin>> = Mutex::new(Vec::new());
    // `docker rm --force` succeeds on a missing container too: ask first, so the line says
    // what happened (a per-test container is usually gone already).
    const SCRIPT: &str = "read -r _ignored; \
        docker container inspect \"$1\" >/dev/null 2>&1 && \
        docker rm --force --volumes \"$1\" >/dev/null 2>&1 && \
        printf 'vaultref-testkit: removed the %s container %.12s\\n' \"$2\" \"$1\" >&2";
    let stdin = docker_command_exists()
        .then(|| {
            Command::new("sh")
                .args(["-c", SCRIPT, "vaultref-testkit-watcher", id, what])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                // Not in the test's process group: a Ctrl-C must not stop the watcher first.
                .process_group(0)
                .spawn()
                .ok()
        })
        .flatten()
        .and_then(|mut watcher| watcher.stdin.take());
    match stdin {
        Some(stdin) => WATCHERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(stdin),
        None => announce(&format!(
            "WARNING: no `docker` command to remove the {what} container {} at exit; remove \
             it with `docker rm -f {id}`",
            short(id)
        )),
    }
}

fn docker_command_exists() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("docker").is_file()))
}

/// Writes one line to the process's stderr as it is, past the test harness's output capture:
/// containers started and databases skipped must show in every test log.
pub(crate) fn announce(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "vaultref-testkit: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_reference_splits_into_name_and_tag() {
        assert_eq!(split_image("postgres:17"), ("postgres", "17"));
        assert_eq!(split_image("mariadb"), ("mariadb", "latest"));
        assert_eq!(
            split_image("localhost:5000/team/postgres"),
            ("localhost:5000/team/postgres", "latest")
        );
        assert_eq!(
            split_image("localhost:5000/postgres:15-bookworm"),
            ("localhost:5000/postgres", "15-bookworm")
        );
    }
}
