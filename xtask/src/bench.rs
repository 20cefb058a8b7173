//! `cargo xtask bench [--runs N]`: the cold-start benchmark of issue 17, whole processes side
//! by side, and the regeneration of docs/benchmarks.md's generated section and plots from that
//! one run (`cargo xtask bench criterion [ARGS]` runs the criterion benchmarks instead).
//!
//! One `vaultref emulator --tls` (release build) serves every contender; 100 secrets are
//! seeded, and a JSON document with 0, 1, 10 or 100 `secret:` references is resolved by a
//! fresh process of each contender, cold (nothing cached anywhere), `--runs` times (7) each,
//! interleaved so that drift on this shared machine spreads over all of them; the median is
//! reported. Contenders:
//! - `vaultref resolve --config FILE DOCUMENT` (release build);
//! - the path OpenMetadata's ingestion takes (benches/peers/openmetadata_path.py: azure-identity
//!   and azure-keyvault-secrets, one `get_secret` per reference, sequential), in the `.venv`
//!   of `cargo xtask venv` or `VAULTREF_PYTHON`;
//! - a naive sequential loop over the official Rust SDK (benches/examples/sdk_loop.rs);
//! - Airflow's `AzureKeyVaultBackend` (benches/peers/airflow_path.py, `get_variable` per
//!   reference, App Service managed identity), when `VAULTREF_AIRFLOW_PYTHON` or
//!   `.venv-airflow` (`cargo xtask venv-airflow`) exists.
//!
//! Each runs with 0, 1 and 10 ms of latency injected into every emulator response (vault,
//! Entra and managed identity alike), and the emulator's request log gives the number of
//! vault and token requests of every run. The vault is addressed as
//! `https://default.localhost:PORT/` (challenge-resource checks on, as against Azure).

mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vaultref_core::{Config, Environment, SecretAttributes, SecretName, consumer_backend};

use crate::load::Emulator;

/// References per document.
pub(crate) const REFERENCES: [usize; 4] = [0, 1, 10, 100];
/// Latency injected into every emulator response, in milliseconds.
pub(crate) const LATENCIES_MS: [u64; 3] = [0, 1, 10];
/// Secrets seeded (the largest document's references).
const SECRETS: usize = 100;

fn secret_name(i: usize) -> String {
    format!("bench-ref-{i:03}")
}

fn secret_value(i: usize) -> String {
    format!("bench-value-{i:03}-correct-horse-battery-staple")
}

/// One contender: how to start it on a document.
pub(crate) struct Contender {
    pub(crate) label: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// The measurements of one (contender, latency, references) cell.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub(crate) contender: &'static str,
    pub(crate) latency_ms: u64,
    pub(crate) references: usize,
    /// Wall time of each run, milliseconds.
    pub(crate) times_ms: Vec<f64>,
    /// Vault, Entra and managed-identity requests of each run, and the client connections
    /// they came over.
    pub(crate) requests: Vec<[usize; 4]>,
}

impl Cell {
    pub(crate) fn median_ms(&self) -> f64 {
        median(&self.times_ms)
    }
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

/// Where one cold `vaultref resolve` of one reference spends its time, from the emulator's
/// request log (times since the process was spawned, medians over the runs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Profile {
    /// `vaultref --version`: process start and exit alone.
    pub(crate) version_ms: f64,
    /// `vaultref resolve` of a document without references: process, configuration, HTTP
    /// client (root store) and runtime, no request.
    pub(crate) no_reference_ms: f64,
    /// Each request of a one-reference run: (what, received at, answered at), ms since spawn.
    pub(crate) requests: Vec<(String, f64, f64)>,
    /// Process exit, ms since spawn.
    pub(crate) exit_ms: f64,
}

/// Everything one run of `cargo xtask bench` measured.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) runs: usize,
    pub(crate) cells: Vec<Cell>,
    /// One warm, sequential vault GET (in this process) per latency: a round trip.
    pub(crate) round_trip_ms: BTreeMap<u64, f64>,
    pub(crate) profile: Profile,
    pub(crate) missing: Vec<String>,
    pub(crate) started: String,
    pub(crate) machine: String,
}

/// `cargo xtask bench [--runs N]`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let mut runs = 7;
    let mut rust_sdk = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .context("--runs needs a value")?
                    .parse()
                    .context("--runs takes a whole number")?;
            }
            "--no-rust-sdk" => rust_sdk = false,
            other => {
                bail!("unknown option {other}; use --runs N, --no-rust-sdk (or `criterion [ARGS]`)")
            }
        }
    }
    ensure!(runs >= 1, "--runs must be at least 1");
    let root = crate::workspace_root();
    let vaultref = crate::build_vaultref_with("release")?;
    let release = crate::target_dir(&root).join("release");
    let mut results = Results {
        runs,
        started: OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        machine: machine(),
        ..Results::default()
    };
    if rust_sdk {
        crate::cargo(
            &root,
            [
                "build",
                "--release",
                "-p",
                "vaultref-benches",
                "--example",
                "sdk_loop",
            ],
            &[],
        )?;
    } else {
        results
            .missing
            .push("Rust SDK loop: not run (`--no-rust-sdk`)".to_owned());
    }
    let emulator = Emulator::start(&vaultref)?;
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let setup = Setup::new(&emulator, dir.path())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let backend = runtime.block_on(setup.seed())?;
    let contenders = setup.contenders(
        &root,
        &vaultref,
        rust_sdk.then_some(release.as_path()),
        &mut results.missing,
    )?;
    emulator.admin(
        "POST",
        "faults",
        &json!({"kind": "latency", "duration": "0ms"}),
    )?;
    results.profile = profile(&emulator, &setup, &contenders[0], runs)?;
    for latency in LATENCIES_MS {
        emulator.admin("DELETE", "faults", &Value::Null)?;
        if latency > 0 {
            emulator.inject(
                &json!({"kind": "latency", "target": "any", "duration": format!("{latency}ms")}),
            )?;
        }
        let round_trip = runtime.block_on(round_trip(backend.as_ref()))?;
        results.round_trip_ms.insert(latency, round_trip);
        for references in REFERENCES {
            let mut cells: Vec<Cell> = contenders
                .iter()
                .map(|c| Cell {
                    contender: c.label,
                    latency_ms: latency,
                    references,
                    times_ms: Vec::new(),
                    requests: Vec::new(),
                })
                .collect();
            for _ in 0..runs {
                for (contender, cell) in contenders.iter().zip(&mut cells) {
                    let (elapsed, requests) = setup.run(&emulator, contender, references)?;
                    cell.times_ms.push(elapsed);
                    cell.requests.push(requests);
                }
            }
            for cell in &cells {
                println!(
                    "xtask bench: {} ms injected, {references} references, {}: {:.1} ms (vault, entra, managed identity requests, connections {:?})",
                    latency,
                    cell.contender,
                    cell.median_ms(),
                    cell.requests.last().unwrap_or(&[0; 4])
                );
            }
            results.cells.extend(cells);
        }
    }
    drop(emulator);
    report::write(&root, &results)
}

/// The documents, the configuration and the environment of the contenders.
struct Setup {
    dir: PathBuf,
    config: PathBuf,
    vault_url: String,
    port: String,
    ready: Value,
}

impl Setup {
    fn new(emulator: &Emulator, dir: &Path) -> Result<Self> {
        let port = emulator.get("vault_url")?;
        let port = port
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .context("the vault URL names its port")?
            .to_owned();
        let vault_url = format!("https://default.localhost:{port}/");
        let ready: Value = json!({
            "tenant_id": emulator.get("tenant_id")?,
            "client_id": emulator.get("client_id")?,
            "client_secret": emulator.get("client_secret")?,
            "authority_host": emulator.get("authority_host")?,
            "ca_cert": emulator.get("ca_cert")?,
            "identity_endpoint": emulator.get("identity_endpoint")?,
            "identity_header": emulator.get("identity_header")?,
        });
        let config = dir.join("openmetadata.yaml");
        std::fs::write(
            &config,
            format!(
                "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\nsecretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultUrl: {vault_url}\n    tenantId: {}\n    clientId: {}\n    clientSecret: {}\n    authorityHost: {}\n    caCertFile: {}\n",
                ready["tenant_id"].as_str().unwrap_or_default(),
                ready["client_id"].as_str().unwrap_or_default(),
                ready["client_secret"].as_str().unwrap_or_default(),
                ready["authority_host"].as_str().unwrap_or_default(),
                ready["ca_cert"].as_str().unwrap_or_default(),
            ),
        )?;
        for references in REFERENCES {
            // An ingestion workflow's shape: one connection per reference.
            let connections: Vec<Value> = (0..references)
                .map(|i| json!({"name": format!("service-{i}"), "password": format!("secret:{}", secret_name(i))}))
                .collect();
            let document = json!({"source": {"type": "postgres", "connections": connections}});
            std::fs::write(
                dir.join(format!("document-{references}.json")),
                serde_json::to_vec_pretty(&document)?,
            )?;
            let variables: Vec<String> = (0..references)
                .map(|i| secret_name(i).trim_start_matches("bench-").to_owned())
                .collect();
            std::fs::write(
                dir.join(format!("variables-{references}.json")),
                serde_json::to_vec(&variables)?,
            )?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            config,
            vault_url,
            port,
            ready,
        })
    }

    fn ready(&self, key: &str) -> String {
        self.ready[key].as_str().unwrap_or_default().to_owned()
    }

    /// Seeds the secrets through vaultref's own backend; returns it for the round trips.
    async fn seed(&self) -> Result<std::sync::Arc<dyn vaultref_core::SecretBackend>> {
        let env = Environment::default();
        let config = Config::load(&self.config, &env)?;
        let backend = consumer_backend(&config, &env)?;
        for i in 0..SECRETS {
            backend
                .set_secret(
                    &SecretName::new(secret_name(i))?,
                    &secret_value(i).into(),
                    &SecretAttributes::default(),
                )
                .await?;
        }
        Ok(backend)
    }

    fn contenders(
        &self,
        root: &Path,
        vaultref: &Path,
        release: Option<&Path>,
        missing: &mut Vec<String>,
    ) -> Result<Vec<Contender>> {
        let bench_env = |extra: &[(&str, String)]| {
            let mut env: Vec<(String, String)> = vec![
                ("VAULTREF_BENCH_VAULT_URL".into(), self.vault_url.clone()),
                ("VAULTREF_BENCH_TENANT_ID".into(), self.ready("tenant_id")),
                ("VAULTREF_BENCH_CLIENT_ID".into(), self.ready("client_id")),
                (
                    "VAULTREF_BENCH_CLIENT_SECRET".into(),
                    self.ready("client_secret"),
                ),
                (
                    "VAULTREF_BENCH_AUTHORITY_HOST".into(),
                    self.ready("authority_host"),
                ),
                ("VAULTREF_BENCH_CA_CERT".into(), self.ready("ca_cert")),
                ("VAULTREF_BENCH_PORT".into(), self.port.clone()),
            ];
            env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            env
        };
        let mut contenders = vec![Contender {
            label: "vaultref",
            program: vaultref.to_owned(),
            args: vec![
                "resolve".into(),
                "--config".into(),
                self.config.display().to_string(),
            ],
            env: Vec::new(),
        }];
        let python = match std::env::var_os("VAULTREF_PYTHON") {
            Some(python) => PathBuf::from(python),
            None => crate::venv()?,
        };
        contenders.push(Contender {
            label: "Python SDK (OpenMetadata path)",
            program: python,
            args: vec![
                root.join("benches/peers/openmetadata_path.py")
                    .display()
                    .to_string(),
            ],
            env: bench_env(&[("REQUESTS_CA_BUNDLE", self.ready("ca_cert"))]),
        });
        if let Some(release) = release {
            contenders.push(Contender {
                label: "Rust SDK loop",
                program: release.join("examples").join("sdk_loop"),
                args: Vec::new(),
                env: bench_env(&[]),
            });
        }
        let airflow = std::env::var_os("VAULTREF_AIRFLOW_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv-airflow/bin/python"));
        if airflow.exists() {
            let home = self.dir.join("airflow-home");
            std::fs::create_dir_all(&home)?;
            contenders.push(Contender {
                label: "Airflow backend",
                program: airflow,
                args: vec![
                    root.join("benches/peers/airflow_path.py")
                        .display()
                        .to_string(),
                ],
                env: bench_env(&[
                    ("REQUESTS_CA_BUNDLE", self.ready("ca_cert")),
                    ("IDENTITY_ENDPOINT", self.ready("identity_endpoint")),
                    ("IDENTITY_HEADER", self.ready("identity_header")),
                    ("AIRFLOW_HOME", home.display().to_string()),
                ]),
            });
        } else {
            missing.push(format!(
                "Airflow backend: not run, {} does not exist (`cargo xtask venv-airflow`, or set VAULTREF_AIRFLOW_PYTHON)",
                airflow.display()
            ));
        }
        Ok(contenders)
    }

    /// One cold run of `contender` on the document with `references` references: its wall
    /// time (ms), the vault, Entra and managed-identity requests it made and the number of
    /// connections they came over.
    fn run(
        &self,
        emulator: &Emulator,
        contender: &Contender,
        references: usize,
    ) -> Result<(f64, [usize; 4])> {
        emulator.admin("DELETE", "requests", &Value::Null)?;
        let (elapsed, _) = self.spawn(contender, references)?;
        let log = emulator.admin("GET", "requests", &Value::Null)?;
        let mut counts = [0; 4];
        let mut connections = std::collections::BTreeSet::new();
        for request in log["requests"].as_array().into_iter().flatten() {
            match request["target"].as_str() {
                Some("vault") => counts[0] += 1,
                Some("entra") => counts[1] += 1,
                Some("managed_identity") => counts[2] += 1,
                _ => continue,
            }
            connections.insert(request["connection"].as_u64().unwrap_or(0));
        }
        counts[3] = connections.len();
        Ok((elapsed.as_secs_f64() * 1000.0, counts))
    }

    /// Runs `contender` on a document and checks its output; the wall time and the spawn time.
    fn spawn(&self, contender: &Contender, references: usize) -> Result<(Duration, SystemTime)> {
        let input = if contender.label == "Airflow backend" {
            format!("variables-{references}.json")
        } else {
            format!("document-{references}.json")
        };
        let mut command = Command::new(&contender.program);
        command
            .args(&contender.args)
            .arg(self.dir.join(input))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .envs(contender.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        let spawned_at = SystemTime::now();
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("starting {}", contender.label))?;
        let elapsed = started.elapsed();
        ensure!(
            output.status.success(),
            "{} failed on {references} references: {}",
            contender.label,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        for i in 0..references {
            ensure!(
                stdout.contains(&secret_value(i)),
                "{} did not print the value of {}",
                contender.label,
                secret_name(i)
            );
        }
        Ok((elapsed, spawned_at))
    }
}

/// The median of 21 warm GETs from this process: one round trip at the current latency.
async fn round_trip(backend: &dyn vaultref_core::SecretBackend) -> Result<f64> {
    let name = SecretName::new(secret_name(0))?;
    backend.get_secret(&name).await?;
    let mut times = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        backend.get_secret(&name).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&times))
}

/// The profile of `vaultref` (the first contender), with no latency injected.
fn profile(
    emulator: &Emulator,
    setup: &Setup,
    vaultref: &Contender,
    runs: usize,
) -> Result<Profile> {
    let mut version = Vec::new();
    let mut none = Vec::new();
    let mut exits = Vec::new();
    let mut phases: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(&vaultref.program)
            .arg("--version")
            .stdout(Stdio::null())
            .status()?;
        ensure!(status.success(), "vaultref --version failed");
        version.push(started.elapsed().as_secs_f64() * 1000.0);
        none.push(setup.spawn(vaultref, 0)?.0.as_secs_f64() * 1000.0);
        emulator.admin("DELETE", "requests", &Value::Null)?;
        let (elapsed, spawned_at) = setup.spawn(vaultref, 1)?;
        exits.push(elapsed.as_secs_f64() * 1000.0);
        let spawned_at = OffsetDateTime::from(spawned_at);
        let log = emulator.admin("GET", "requests", &Value::Null)?;
        let since = |at: &Value| -> Result<f64> {
            let at = OffsetDateTime::parse(at.as_str().context("a timestamp")?, &Rfc3339)?;
            Ok((at - spawned_at).as_seconds_f64() * 1000.0)
        };
        for request in log["requests"].as_array().into_iter().flatten() {
            let what = match (request["target"].as_str(), request["status"].as_u64()) {
                (Some("vault"), Some(401)) => "vault: challenge probe (401)".to_owned(),
                (Some("vault"), Some(status)) => format!("vault: GET secret ({status})"),
                (Some(target), _) => format!("{target}: token"),
                _ => "?".to_owned(),
            };
            let entry = phases.entry(what).or_default();
            entry.0.push(since(&request["received_at"])?);
            entry.1.push(since(&request["responded_at"])?);
        }
    }
    let mut requests: Vec<(String, f64, f64)> = phases
        .into_iter()
        .map(|(what, (received, responded))| (what, median(&received), median(&responded)))
        .collect();
    requests.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(Profile {
        version_ms: median(&version),
        no_reference_ms: median(&none),
        requests,
        exit_ms: median(&exits),
    })
}

/// The CPU and core count, for the report.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    format!("{model}, {cores} cores, load average {load} at the start")
}
