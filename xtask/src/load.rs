//! `cargo xtask load [--seconds N] [--tasks N] [--budget N]`: the load test of issue 14.
//!
//! `--tasks` (100) tokio tasks share one vaultref `Resolver` and resolve overlapping documents
//! (each 20 `secret:` references out of 200 names) in a loop for `--seconds` (60 by hand, 15
//! in CI), against `vaultref emulator --tls` in its own process with faults on all along: Key
//! Vault's real read limit (4,000 per 10 s), bursts of 503 and 500, dropped connections, 429s
//! with `Retry-After`, 2 ms of latency on every vault answer. It checks, and prints the numbers
//! behind:
//! - every resolved document holds exactly the seeded values (nothing lost or mixed up);
//! - the vault never received more than `--budget` requests in any second (400 by default:
//!   Key Vault's 4,000 per 10 s), while the tasks looked names up thousands of times a second;
//! - memory is bounded: the resident set of this process in the second half of the run stays
//!   within 16 MiB of its peak in the first half.
//!
//! The resolver caches values for 2 s here (5 minutes by default), so that the vault sees
//! steady traffic: at most 200 names / 2 s = 100 reads a second plus retries.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vaultref_core::{
    Config, Environment, Resolver, ResolverOptions, SecretAttributes, SecretName, consumer_backend,
};

/// How the load test runs (command-line options).
pub(crate) struct LoadOptions {
    pub(crate) seconds: u64,
    pub(crate) tasks: usize,
    pub(crate) budget: usize,
}

impl LoadOptions {
    /// `--seconds N`, `--tasks N`, `--budget N`, each optional.
    pub(crate) fn parse(args: &[String], default_seconds: u64) -> Result<Self> {
        let mut options = Self {
            seconds: default_seconds,
            tasks: 100,
            budget: 400,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = || -> Result<u64> {
                value
                    .parse()
                    .with_context(|| format!("{flag} takes a whole number, not {value:?}"))
            };
            match flag.as_str() {
                "--seconds" => options.seconds = number()?,
                "--tasks" => options.tasks = usize::try_from(number()?)?,
                "--budget" => options.budget = usize::try_from(number()?)?,
                other => bail!("unknown option {other}; use --seconds, --tasks or --budget"),
            }
        }
        ensure!(options.seconds >= 4, "--seconds must be at least 4");
        Ok(options)
    }
}

/// Distinct secret names in the vault.
const NAMES: usize = 200;
/// References per document.
const REFERENCES: usize = 20;

/// `vaultref emulator --tls` in its own process (so that this process's memory is the
/// client's alone); closing its stdin stops it.
pub(crate) struct Emulator {
    child: Child,
    ready: Value,
}

impl Emulator {
    pub(crate) fn start(bin: &Path) -> Result<Self> {
        let mut child = Command::new(bin)
            .args(["emulator", "--tls", "--request-log-capacity", "1000000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting vaultref emulator")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("emulator stdout")?)
            .read_line(&mut line)
            .context("reading the emulator's ready line")?;
        let ready = serde_json::from_str(&line).context("the ready line is not JSON")?;
        Ok(Self { child, ready })
    }

    pub(crate) fn get(&self, key: &str) -> Result<&str> {
        self.ready[key]
            .as_str()
            .with_context(|| format!("the ready line has no {key}"))
    }

    /// One request to the admin endpoint; the JSON answer (null when empty).
    pub(crate) fn admin(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        let url = self.get("admin_url")?;
        let authority = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .context("admin_url is http://127.0.0.1:PORT/")?;
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut stream =
            TcpStream::connect(authority).context("connecting to the admin endpoint")?;
        write!(
            stream,
            "{method} /{path} HTTP/1.1\r\nHost: {authority}\r\nX-Vaultref-Admin-Token: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.get("admin_token")?,
            body.len()
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("an HTTP answer")?;
        let head = String::from_utf8_lossy(&response[..split]);
        ensure!(
            head.starts_with("HTTP/1.1 2"),
            "the admin endpoint answered {head}"
        );
        let body = &response[split + 4..];
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(body).context("the admin endpoint's answer is not JSON")
    }

    pub(crate) fn inject(&self, fault: &Value) -> Result<()> {
        self.admin("POST", "faults", fault).map(drop)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// This process's resident set, in KiB.
fn resident_kib() -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/self/status")
}

fn name(i: usize) -> String {
    format!("load-secret-{i:03}")
}

fn value(i: usize) -> String {
    format!("value-of-load-secret-{i:03}")
}

/// The load test with `bin` (the built `vaultref`).
pub(crate) fn run(bin: &Path, options: &LoadOptions) -> Result<()> {
    let emulator = Emulator::start(bin)?;
    let config = format!(
        "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\nsecretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  parameters:\n    vaultUrl: {}\n    tenantId: {}\n    clientId: {}\n    clientSecret: {}\n    authorityHost: {}\n    caCertFile: {}\n",
        emulator.get("vault_url")?,
        emulator.get("tenant_id")?,
        emulator.get("client_id")?,
        emulator.get("client_secret")?,
        emulator.get("authority_host")?,
        emulator.get("ca_cert")?,
    );
    // Nothing from this process's environment: the managed-identity endpoints stay unset.
    let env = Environment::default();
    let config = Config::parse(&config, &env)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(load(&emulator, &config, &env, options))
}

/// What the tasks counted.
#[derive(Default)]
struct Counts {
    resolves: AtomicU64,
    lookups: AtomicU64,
    failures: AtomicU64,
}

async fn load(
    emulator: &Emulator,
    config: &Config,
    env: &Environment,
    options: &LoadOptions,
) -> Result<()> {
    let backend = consumer_backend(config, env)?;
    for i in 0..NAMES {
        backend
            .set_secret(
                &SecretName::new(name(i))?,
                &value(i).into(),
                &SecretAttributes::default(),
            )
            .await?;
    }
    emulator.admin("DELETE", "requests", &Value::Null)?;
    // Standing faults: Key Vault's real read limit and a little latency on every answer.
    emulator.inject(&json!([
        {"kind": "rate_limit", "operation": "other", "per_10s": 4000},
        {"kind": "latency", "duration": "2ms"},
    ]))?;
    let mut resolver_options = ResolverOptions::default();
    resolver_options.ttl_seconds = 2;
    let resolver = Arc::new(Resolver::new(backend, resolver_options));
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut tasks = Vec::with_capacity(options.tasks);
    for task in 0..options.tasks {
        let resolver = Arc::clone(&resolver);
        let counts = Arc::clone(&counts);
        tasks.push(tokio::spawn(async move {
            // Task `task` reads names task*7 .. task*7+20 (mod 200): neighbours overlap.
            let picks: Vec<usize> = (0..REFERENCES).map(|k| (task * 7 + k) % NAMES).collect();
            let document: serde_json::Map<String, Value> = picks
                .iter()
                .map(|i| {
                    (
                        format!("field{i}"),
                        Value::String(format!("secret:{}", name(*i))),
                    )
                })
                .collect();
            while Instant::now() < deadline {
                let mut doc = Value::Object(document.clone());
                match resolver.resolve_references(&mut doc).await {
                    Ok(_)
                        if picks
                            .iter()
                            .all(|i| doc[format!("field{i}")] == value(*i).as_str()) =>
                    {
                        counts.resolves.fetch_add(1, Ordering::Relaxed);
                        counts
                            .lookups
                            .fetch_add(REFERENCES as u64, Ordering::Relaxed);
                    }
                    _ => {
                        counts.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // Each task asks again every 10 ms: a service resolving its configuration
                // on every request, not a busy loop that would starve the machine.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    // Transient faults, one kind a second, and the resident set twice a second.
    let transient = [
        json!({"kind": "status", "status": 503, "requests": 3}),
        json!({"kind": "drop", "requests": 2}),
        json!({"kind": "throttle", "requests": 2, "retry_after": 1}),
        json!({"kind": "status", "status": 500, "requests": 1}),
    ];
    let mut memory: Vec<(Duration, u64)> = Vec::new();
    let mut tick = 0usize;
    while Instant::now() < deadline {
        if tick.is_multiple_of(2) {
            emulator.inject(&transient[(tick / 2) % transient.len()])?;
        }
        memory.push((started.elapsed(), resident_kib()?));
        tick += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    report(emulator, &counts, &memory, elapsed, options)
}

fn report(
    emulator: &Emulator,
    counts: &Counts,
    memory: &[(Duration, u64)],
    elapsed: Duration,
    options: &LoadOptions,
) -> Result<()> {
    let log = emulator.admin("GET", "requests?target=vault", &Value::Null)?;
    let requests = log["requests"].as_array().context("a request log")?;
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<u64, usize> = BTreeMap::new();
    for request in requests {
        let at = request["received_at"].as_str().context("received_at")?;
        let at = OffsetDateTime::parse(at, &Rfc3339).context("received_at is RFC 3339")?;
        *per_second.entry(at.unix_timestamp()).or_default() += 1;
        *statuses
            .entry(request["status"].as_u64().unwrap_or_default())
            .or_default() += 1;
    }
    let busiest = per_second.values().copied().max().unwrap_or(0);
    let busiest_10s = per_second
        .keys()
        .map(|start| {
            per_second
                .range(start..&(start + 10))
                .map(|(_, n)| n)
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0);
    let resolves = counts.resolves.load(Ordering::Relaxed);
    let lookups = counts.lookups.load(Ordering::Relaxed);
    let failures = counts.failures.load(Ordering::Relaxed);
    let half = elapsed / 2;
    // The first two seconds warm up (TLS, the first reads, the runtime's threads).
    let warm = |(at, _): &&(Duration, u64)| *at >= Duration::from_secs(2);
    let first: Vec<u64> = memory
        .iter()
        .filter(warm)
        .filter(|(at, _)| *at < half)
        .map(|(_, k)| *k)
        .collect();
    let second: Vec<u64> = memory
        .iter()
        .filter(|(at, _)| *at >= half)
        .map(|(_, k)| *k)
        .collect();
    let first_peak = first.iter().copied().max().unwrap_or(0);
    let second_peak = second.iter().copied().max().unwrap_or(0);
    let seconds = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rate = |n: u64| n as f64 / seconds;
    println!("xtask load: {} tasks for {seconds:.1} s", options.tasks);
    println!(
        "  resolves: {resolves} ({:.0}/s), references looked up: {lookups} ({:.0}/s), failed: {failures}",
        rate(resolves),
        rate(lookups)
    );
    println!(
        "  vault requests: {} ({:.1}/s), busiest second {busiest} (budget {}), busiest 10 s {busiest_10s}; answers by status {statuses:?}",
        requests.len(),
        rate(requests.len() as u64),
        options.budget
    );
    println!(
        "  resident set: first half peak {first_peak} KiB, second half peak {second_peak} KiB, last {} KiB",
        memory.last().map_or(0, |(_, k)| *k)
    );
    ensure!(
        failures == 0,
        "{failures} resolves failed or gave wrong values"
    );
    ensure!(resolves > 0, "no document was resolved");
    ensure!(
        busiest <= options.budget,
        "the vault received {busiest} requests in one second, over the budget of {}",
        options.budget
    );
    ensure!(
        busiest_10s <= 4000,
        "the vault received {busiest_10s} requests in 10 s, over Key Vault's 4,000"
    );
    ensure!(
        second_peak <= first_peak + 16 * 1024,
        "memory grew: {first_peak} KiB at most in the first half, {second_peak} KiB in the second"
    );
    println!("xtask load: PASS");
    Ok(())
}
