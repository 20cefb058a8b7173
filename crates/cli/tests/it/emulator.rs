//! `vaultref emulator`: the ready line, plain HTTP beside TLS on one port, the challenge,
//! `--state-dir` keeping secrets and credentials across restarts, `--fault`, and the admin
//! endpoint driven from Python; stops when stdin closes.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const READY_KEYS: [&str; 10] = [
    "vault_url",
    "authority_host",
    "tenant_id",
    "client_id",
    "client_secret",
    "ca_cert",
    "imds_endpoint",
    "identity_endpoint",
    "identity_header",
    "federated_token_file",
];

fn start(state_dir: &Path) -> (Child, Value) {
    let state_dir = state_dir.to_str().unwrap();
    start_with(&["--tls", "--vault", "team-a", "--state-dir", state_dir])
}

/// Starts `vaultref emulator ARGS` and reads its ready line.
fn start_with(args: &[&str]) -> (Child, Value) {
    start_with_stdin(args, Stdio::piped())
}

/// Starts `vaultref emulator ARGS` with `stdin` and reads its ready line.
fn start_with_stdin(args: &[&str], stdin: Stdio) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultref"))
        .arg("emulator")
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    (child, ready)
}

/// Stops the emulator by closing its stdin, as the contract says.
fn stop(mut child: Child) {
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// One plain-HTTP request on the emulator's port (it serves HTTP beside TLS).
fn http(
    port: u64,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", u16::try_from(port).unwrap())).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_owned(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn token(ready: &Value) -> String {
    let port = ready["port"].as_u64().unwrap();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Flocalhost%3A{port}%2F.default",
        ready["client_id"].as_str().unwrap(),
        ready["client_secret"].as_str().unwrap(),
    );
    let path = format!(
        "/{}/oauth2/v2.0/token",
        ready["tenant_id"].as_str().unwrap()
    );
    let (status, _, body) = http(
        port,
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn emulator_prints_the_ready_line_serves_and_keeps_state_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (child, ready) = start(dir.path());
    for key in READY_KEYS {
        assert!(
            ready.get(key).is_some_and(|v| !v.is_null()),
            "ready line lacks {key}: {ready}"
        );
    }
    let port = ready["port"].as_u64().unwrap();
    assert_eq!(ready["vault_url"], format!("https://127.0.0.1:{port}/"));
    assert_eq!(ready["authority_host"], format!("https://127.0.0.1:{port}"));
    assert_eq!(ready["imds_endpoint"], format!("http://127.0.0.1:{port}"));
    assert_eq!(
        ready["vaults"]["team-a"],
        format!("https://team-a.localhost:{port}/")
    );
    let ca = std::fs::read_to_string(ready["ca_cert"].as_str().unwrap()).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let federated =
        std::fs::read_to_string(ready["federated_token_file"].as_str().unwrap()).unwrap();
    assert_eq!(federated.trim_end().split('.').count(), 3);

    // The challenge, before any body is read.
    let (status, head, body) = http(port, "PUT", "/secrets/kept?api-version=7.6", &[], "");
    assert_eq!(status, 401);
    assert!(head.to_ascii_lowercase().contains(&format!(
        "www-authenticate: bearer authorization=\"https://127.0.0.1:{port}/{}\"",
        ready["tenant_id"].as_str().unwrap()
    )));
    assert_eq!(body["error"]["code"], "Unauthorized");

    let bearer = format!("Bearer {}", token(&ready));
    let (status, _, body) = http(
        port,
        "PUT",
        "/secrets/kept?api-version=7.6",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        r#"{"value":"survives restarts"}"#,
    );
    assert_eq!(status, 200, "{body}");
    stop(child);

    let (child, again) = start(dir.path());
    assert_eq!(again["client_id"], ready["client_id"]);
    assert_eq!(again["client_secret"], ready["client_secret"]);
    assert_eq!(again["tenant_id"], ready["tenant_id"]);
    let port = again["port"].as_u64().unwrap();
    let bearer = format!("Bearer {}", token(&again));
    let (status, _, body) = http(
        port,
        "GET",
        "/secrets/kept/?api-version=7.6",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(
        (status, body["value"].as_str()),
        (200, Some("survives restarts"))
    );
    stop(child);
}

/// With stdin at its end from the start (/dev/null: a container without `-i`, a job in the
/// background) the emulator keeps serving until SIGTERM.
#[test]
fn emulator_with_stdin_from_dev_null_serves_until_sigterm() {
    let (mut child, ready) = start_with_stdin(&[], Stdio::null());
    token(&ready);
    assert!(child.try_wait().unwrap().is_none(), "the emulator stopped");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// The emulator's Python SDK script, run against `vaultref emulator --tls` with nothing but
/// the ready line's values, for every credential kind.
#[test]
fn python_sdks_accept_the_cli_emulator_configured_from_its_ready_line() {
    let Some(python) = crate::support::python(&["azure.identity", "azure.keyvault.secrets"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (child, ready) = start(dir.path());
    assert_python_sdk_passes(
        &python,
        &ready,
        &["client-secret", "workload", "mi-appservice", "mi-imds"],
        "`vaultref emulator --tls`",
    );
    stop(child);
}

/// Runs `emulator/tests/data/python_sdk.py` in each of `modes` against the emulator whose
/// ready line is `ready`, configured from that line alone as a user would.
pub(crate) fn assert_python_sdk_passes(
    python: &Path,
    ready: &Value,
    modes: &[&str],
    emulator: &str,
) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../emulator/tests/data/python_sdk.py");
    let text = |key: &str| ready[key].as_str().unwrap().to_owned();
    // A named vault when the emulator serves one (its `*.localhost` name and SNI path).
    let named_vault = ready["vaults"]["team-a"]
        .as_str()
        .map_or_else(|| text("vault_url"), str::to_owned);
    let common = [
        ("REQUESTS_CA_BUNDLE", text("ca_cert")),
        ("NO_PROXY", "*".to_owned()),
    ];
    for &mode in modes {
        let vars: Vec<(&str, String)> = match mode {
            "client-secret" => vec![
                ("VAULT_URL", named_vault.clone()),
                ("AZURE_TENANT_ID", text("tenant_id")),
                ("AZURE_CLIENT_ID", text("client_id")),
                ("AZURE_CLIENT_SECRET", text("client_secret")),
                ("AZURE_AUTHORITY_HOST", text("authority_host")),
            ],
            "workload" => vec![
                ("VAULT_URL", text("vault_url")),
                ("AZURE_TENANT_ID", text("tenant_id")),
                ("AZURE_CLIENT_ID", text("workload_client_id")),
                ("AZURE_FEDERATED_TOKEN_FILE", text("federated_token_file")),
                ("AZURE_AUTHORITY_HOST", text("authority_host")),
            ],
            "mi-appservice" => vec![
                ("VAULT_URL", named_vault.clone()),
                ("IDENTITY_ENDPOINT", text("identity_endpoint")),
                ("IDENTITY_HEADER", text("identity_header")),
            ],
            "mi-imds" => vec![
                ("VAULT_URL", text("vault_url")),
                ("AZURE_POD_IDENTITY_AUTHORITY_HOST", text("imds_endpoint")),
            ],
            other => panic!("no Python SDK mode {other}"),
        };
        let mut command = Command::new(python);
        command.arg(&script).arg(mode);
        for (name, _) in std::env::vars() {
            if name.starts_with("AZURE_")
                || name.starts_with("IDENTITY_")
                || name.starts_with("EMU_")
            {
                command.env_remove(name);
            }
        }
        command.envs(common.iter().cloned().chain(vars));
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("ALL PASSED"),
            "python {mode} against {emulator}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The admin endpoint's port and token, from the ready line.
fn admin_of(ready: &Value) -> (u64, String) {
    let url = ready["admin_url"].as_str().unwrap();
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("admin_url {url} is http://127.0.0.1:PORT/"))
        .parse()
        .unwrap();
    (port, ready["admin_token"].as_str().unwrap().to_owned())
}

#[test]
fn fault_flags_start_the_emulator_with_faults_that_the_admin_endpoint_resets() {
    let (child, ready) = start_with(&[
        "--fault",
        "status:target=entra,requests=1",
        "--fault",
        r#"{"kind": "throttle", "retry_after": 2}"#,
    ]);
    let port = ready["port"].as_u64().unwrap();
    let discovery = format!(
        "/{}/v2.0/.well-known/openid-configuration",
        ready["tenant_id"].as_str().unwrap()
    );
    assert_eq!(http(port, "GET", &discovery, &[], "").0, 503);
    assert_eq!(http(port, "GET", &discovery, &[], "").0, 200);
    let (status, head, body) = http(port, "GET", "/secrets?api-version=7.6", &[], "");
    assert_eq!(status, 429, "{body}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 2"),
        "{head}"
    );
    assert_eq!(body["error"]["code"], "Throttled");
    assert_eq!(
        http(port, "GET", "/secrets?api-version=7.6", &[], "").0,
        401
    );

    let (admin_port, admin_token) = admin_of(&ready);
    assert_ne!(admin_port, port);
    let inject = r#"{"kind": "status", "requests": 5}"#;
    let (status, _, body) = http(admin_port, "POST", "/faults", &[], inject);
    assert_eq!(status, 401, "no token: {body}");
    let with_token = [("X-Vaultref-Admin-Token", admin_token.as_str())];
    let (status, _, body) = http(admin_port, "POST", "/faults", &with_token, inject);
    assert_eq!((status, &body), (200, &serde_json::json!({"applied": 1})));
    assert_eq!(
        http(port, "GET", "/secrets?api-version=7.6", &[], "").0,
        503
    );
    let (status, _, _) = http(admin_port, "DELETE", "/faults", &with_token, "");
    assert_eq!(status, 204);
    assert_eq!(
        http(port, "GET", "/secrets?api-version=7.6", &[], "").0,
        401
    );
    let (status, _, log) = http(admin_port, "GET", "/requests?target=entra", &with_token, "");
    assert_eq!(status, 200);
    let statuses: Vec<u64> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 200]);
    stop(child);
}

#[test]
fn a_bad_fault_flag_is_refused_with_what_to_fix() {
    let output = Command::new(env!("CARGO_BIN_EXE_vaultref"))
        .args(["emulator", "--fault", "status:status=200"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no ready line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid fault: \"status\" must be an HTTP error status from 400 to 599"),
        "{stderr}"
    );
}

/// Issue 15: a Python test suite drives the faults of `vaultref emulator --tls` through the
/// admin endpoint, with the official azure-keyvault-secrets SDK meeting them.
#[test]
fn python_drives_the_emulators_faults_through_the_admin_endpoint() {
    let Some(python) = crate::support::python(&["azure.identity", "azure.keyvault.secrets"]) else {
        return;
    };
    let (child, ready) = start_with(&["--tls"]);
    let mut command = Command::new(&python);
    command.arg(crate::support::data("emulator_faults.py"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name.starts_with("IDENTITY_") {
            command.env_remove(name);
        }
    }
    let output = command
        .env("VAULTREF_EMULATOR_READY", ready.to_string())
        .env("NO_PROXY", "*")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("ALL PASSED"),
        "python against `vaultref emulator --tls`:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "PASS the SDK honoured Retry-After through a 429 throttle",
        "PASS the SDK retried a 503 burst",
        "PASS the SDK retried a dropped connection",
        "PASS latency slowed the vault down",
        "PASS the SDK surfaced a standing 503 once its retries ran out",
        "PASS DELETE /faults cleared the faults",
        "PASS the request log names the SDK's requests without credentials",
        "PASS DELETE /requests emptied the log",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    // What Python left behind, seen from here: no fault stands, and the log it emptied holds
    // only what came after.
    let port = ready["port"].as_u64().unwrap();
    assert_eq!(
        http(port, "GET", "/secrets?api-version=7.6", &[], "").0,
        401
    );
    let (admin_port, admin_token) = admin_of(&ready);
    let with_token = [("X-Vaultref-Admin-Token", admin_token.as_str())];
    let (_, _, log) = http(admin_port, "GET", "/requests", &with_token, "");
    let paths: Vec<&str> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/secrets"], "{log}");
    stop(child);
}
