//! `cargo xtask e2e`: the main job end to end, through the `vaultref` binary only, against the
//! TLS emulator and a fresh database: SQLite in a temporary directory by default, or PostgreSQL
//! and MariaDB/MySQL from vaultref-testkit (`VAULTREF_TEST_*_URL`, else a container).
//!
//! 1. build `vaultref`, start `vaultref emulator --tls`, read its ready line;
//! 2. write a configuration pointing at it (`managed-azure-kv`, `${SECRET_MANAGER}` and
//!    `${FERNET_KEY}` overridable) and `vaultref check` it;
//! 3. import the sample entities in `db` mode: rows hold `fernet:` tokens of the plaintexts,
//!    the vault is empty;
//! 4. `migrate-secrets --dry-run` writes nothing; `migrate-secrets` moves every secret to the
//!    vault: rows hold `fernet:` tokens of `secret:<name>`, `secret get <name>` gives the
//!    value; a second run changes nothing;
//! 5. `resolve` a YAML document with those references;
//! 6. `rotate-fernet-key` to a new key: only the new key opens the rows, the revealed export
//!    still gives every value;
//! 7. stop the emulator and print a PASS summary. Any mismatch fails with what differed.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::Value;

/// OpenMetadata's default Fernet key, which the configuration falls back to.
const DEFAULT_KEY: &str = "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=";

/// The secrets of `crates/cli/tests/data/entities.jsonl`: entity type, entity name, JSON
/// pointer of the secret field, Key Vault name OpenMetadata gives it, value.
const SECRETS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "databaseService",
        "mysql-test",
        "/connection/config/authType/password",
        "openmetadata-database-mysql-test-authtype-password",
        "s3cret",
    ),
    (
        "user",
        "ingestion-bot",
        "/authenticationMechanism/config/JWTToken",
        "openmetadata-bot-ingestion-bot-config-jwttoken",
        "eyJhbGciOiJSUzI1NiJ9.bot.token",
    ),
    (
        "ingestionPipeline",
        "my-pipeline",
        "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
        "openmetadata-pipeline-my-pipeline-sourceconfig-config-dbtconfigsource-dbtsecurityconfig-awssecretaccesskey",
        "aws-s3cret",
    ),
];

/// The running emulator; closing its stdin stops it.
struct Emulator {
    child: Child,
    ready: Value,
}

impl Emulator {
    fn start(bin: &Path) -> Result<Self> {
        let mut child = Command::new(bin)
            .args(["emulator", "--tls"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {} emulator", bin.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().context("emulator stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the emulator's ready line")?;
        let ready: Value = serde_json::from_str(&line)
            .with_context(|| format!("the emulator's ready line is not JSON: {line:?}"))?;
        Ok(Self { child, ready })
    }

    fn get(&self, key: &str) -> Result<&str> {
        self.ready[key]
            .as_str()
            .with_context(|| format!("the ready line has no {key}"))
    }

    fn stop(mut self) -> Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait().context("waiting for the emulator")?;
        ensure!(status.success(), "the emulator exited with {status}");
        Ok(())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // On an early error: stop it anyway.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs the `vaultref` binary.
struct Vaultref {
    bin: PathBuf,
    config: PathBuf,
}

impl Vaultref {
    /// Runs `vaultref WORDS --config FILE ARGS` with `env` and `stdin`.
    fn run(
        &self,
        words: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &[u8],
    ) -> Result<Output> {
        let mut command = Command::new(&self.bin);
        command
            .args(words)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("FERNET_KEY")
            .env_remove("SECRET_MANAGER")
            .env_remove("SSL_CERT_FILE")
            .envs(env.iter().copied());
        pipe(&mut command, stdin)
    }

    /// Like `run`, requiring success; stdout as text.
    fn ok(
        &self,
        words: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &[u8],
    ) -> Result<String> {
        let out = self.run(words, args, env, stdin)?;
        if !out.status.success() {
            bail!(
                "`vaultref {} {}` failed ({}): {}{}",
                words.join(" "),
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        String::from_utf8(out.stdout).context("stdout is not UTF-8")
    }

    /// The exported rows, as stored or revealed: (entity type, name) → document.
    fn export(&self, env: &[(&str, &str)], reveal: bool) -> Result<Vec<Value>> {
        let args: &[&str] = if reveal { &["--reveal"] } else { &[] };
        let text = self.ok(&["entities", "export"], args, env, b"")?;
        text.lines()
            .map(|line| serde_json::from_str(line).context("an exported line is not JSON"))
            .collect()
    }

    /// `vaultref fernet decrypt` with `key`.
    fn decrypt(&self, key: &str, token: &str) -> Result<Output> {
        let mut command = Command::new(&self.bin);
        command.args(["fernet", "decrypt", "--key", key]);
        pipe(&mut command, token.as_bytes())
    }
}

/// Runs `command` with `stdin`, collecting its output.
fn pipe(command: &mut Command, stdin: &[u8]) -> Result<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    if let Some(mut pipe) = child.stdin.take() {
        // The process may exit without reading; its status says why.
        let _ = pipe.write_all(stdin);
    }
    child.wait_with_output().context("waiting for vaultref")
}

/// The stored value of one sample secret in `rows`.
fn field<'a>(rows: &'a [Value], entity_type: &str, name: &str, pointer: &str) -> Result<&'a str> {
    let row = rows
        .iter()
        .find(|r| r["entityType"] == entity_type && r["entity"]["name"] == name)
        .with_context(|| format!("no exported {entity_type} `{name}`"))?;
    row["entity"]
        .pointer(pointer)
        .and_then(Value::as_str)
        .with_context(|| format!("{entity_type} `{name}` has no string at {pointer}"))
}

/// Every sample secret field is a `fernet:` token that `key` opens to `expected(value, name)`.
fn check_rows(
    vaultref: &Vaultref,
    rows: &[Value],
    key: &str,
    expected: impl Fn(&str, &str) -> String,
) -> Result<()> {
    for (entity_type, name, pointer, secret, value) in SECRETS {
        let stored = field(rows, entity_type, name, pointer)?;
        ensure!(
            stored.starts_with("fernet:"),
            "{entity_type} `{name}` {pointer} is not a fernet: token"
        );
        let out = vaultref.decrypt(key, stored)?;
        ensure!(
            out.status.success(),
            "the key does not open {entity_type} `{name}` {pointer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(
            out.stdout == expected(value, secret).as_bytes(),
            "{entity_type} `{name}` {pointer} does not hold what was expected"
        );
    }
    Ok(())
}

fn config_text(ready: &Emulator, database_url: &str) -> Result<String> {
    Ok(format!(
        "clusterName: ${{OPENMETADATA_CLUSTER_NAME:-openmetadata}}\n\
         database:\n  url: {db}\n\
         fernetConfiguration:\n  fernetKey: ${{FERNET_KEY:-{DEFAULT_KEY}}}\n\
         secretsManagerConfiguration:\n  secretsManager: ${{SECRET_MANAGER:-managed-azure-kv}}\n  prefix: \"\"\n  tags: [owner:e2e]\n\
         \x20 parameters:\n    vaultUrl: {vault}\n    tenantId: {tenant}\n    clientId: {client}\n    clientSecret: {secret}\n    authorityHost: {authority}\n    caCertFile: {ca}\n\
         pipelineServiceClientConfiguration:\n  secretsManagerLoader: noop\n",
        // A JSON string is a YAML string too: the URL needs no escaping rules of its own.
        db = serde_json::Value::from(database_url),
        vault = ready.get("vault_url")?,
        tenant = ready.get("tenant_id")?,
        client = ready.get("client_id")?,
        secret = ready.get("client_secret")?,
        authority = ready.get("authority_host")?,
        ca = ready.get("ca_cert")?,
    ))
}

/// Runs the whole job; `bin` is the built `vaultref`, `data` the sample entities,
/// `database_url` a fresh, empty database.
pub(crate) fn run(bin: &Path, data: &Path, database_url: &str) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let emulator = Emulator::start(bin)?;
    let config = dir.path().join("openmetadata.yaml");
    std::fs::write(&config, config_text(&emulator, database_url)?)
        .context("writing the configuration")?;
    let vaultref = Vaultref {
        bin: bin.to_owned(),
        config,
    };
    let mut steps: Vec<String> = Vec::new();

    let report = vaultref.ok(&["check"], &[], &[], b"")?;
    ensure!(
        report.contains("ok: got a token"),
        "check did not reach the vault: {report}"
    );
    steps.push("check: configuration valid, token and vault call work".into());

    // db mode: plaintexts Fernet-encrypted in the rows, nothing in the vault.
    let db = [("SECRET_MANAGER", "db")];
    let entities = std::fs::read(data).with_context(|| format!("reading {}", data.display()))?;
    vaultref.ok(&["entities", "import"], &["-"], &db, &entities)?;
    let rows = vaultref.export(&[], false)?;
    ensure!(
        rows.len() == 3,
        "expected 3 stored entities, found {}",
        rows.len()
    );
    check_rows(&vaultref, &rows, DEFAULT_KEY, |value, _| value.to_owned())?;
    ensure!(
        vaultref.ok(&["secret", "list"], &[], &[], b"")?.is_empty(),
        "db mode wrote to the vault"
    );
    steps.push("import (db mode): 3 entities, rows hold fernet:<plaintext>, vault empty".into());

    let dry = vaultref.ok(&["migrate-secrets"], &["--dry-run"], &[], b"")?;
    ensure!(dry.contains("would update 3"), "dry run: {dry}");
    ensure!(
        vaultref.ok(&["secret", "list"], &[], &[], b"")?.is_empty(),
        "the dry run wrote to the vault"
    );
    let migrated = vaultref.ok(&["migrate-secrets"], &[], &[], b"")?;
    ensure!(
        migrated.contains("updated 3") && migrated.contains("3 secret(s) written"),
        "migrate-secrets: {migrated}"
    );
    let rows = vaultref.export(&[], false)?;
    check_rows(&vaultref, &rows, DEFAULT_KEY, |_, name| {
        format!("secret:{name}")
    })?;
    for (_, _, _, secret, value) in SECRETS {
        let got = vaultref.ok(&["secret", "get"], &[secret], &[], b"")?;
        ensure!(
            got == value,
            "the vault does not hold the value of {secret}"
        );
    }
    let again = vaultref.ok(&["migrate-secrets"], &[], &[], b"")?;
    ensure!(
        again.contains("updated 0"),
        "a second migrate-secrets changed rows: {again}"
    );
    steps.push(
        "migrate-secrets (managed-azure-kv): 3 secrets in the vault, rows hold fernet:secret:<name>, second run a no-op"
            .into(),
    );

    let document = SECRETS
        .iter()
        .enumerate()
        .map(|(i, (_, _, _, secret, _))| format!("field{i}: secret:{secret}\n"))
        .collect::<String>();
    let resolved = vaultref.ok(&["resolve"], &["-"], &[], document.as_bytes())?;
    let expected = SECRETS
        .iter()
        .enumerate()
        .map(|(i, (_, _, _, _, value))| format!("field{i}: {value}\n"))
        .collect::<String>();
    ensure!(
        resolved == expected,
        "resolve printed something else than the values"
    );
    steps.push("resolve: a YAML document with 3 references resolved".into());

    let new_key = vaultref_generate_key(&vaultref)?;
    let both = format!("{new_key},{DEFAULT_KEY}");
    let rotated = vaultref.ok(&["rotate-fernet-key"], &[], &[("FERNET_KEY", &both)], b"")?;
    ensure!(
        rotated.contains("updated 3"),
        "rotate-fernet-key: {rotated}"
    );
    let rows = vaultref.export(&[], false)?;
    check_rows(&vaultref, &rows, &new_key, |_, name| {
        format!("secret:{name}")
    })?;
    let (_, name, pointer, _, _) = SECRETS[0];
    ensure!(
        !vaultref
            .decrypt(DEFAULT_KEY, field(&rows, SECRETS[0].0, name, pointer)?)?
            .status
            .success(),
        "the old key still opens a rotated row"
    );
    let revealed = vaultref.export(&[("FERNET_KEY", &new_key)], true)?;
    for (entity_type, name, pointer, _, value) in SECRETS {
        ensure!(
            field(&revealed, entity_type, name, pointer)? == value,
            "export --reveal after rotation: wrong value for {entity_type} `{name}`"
        );
    }
    steps.push("rotate-fernet-key: rows re-encrypted under the new key, old key refused, reveal gives every value".into());

    emulator.stop()?;
    println!("xtask e2e: PASS");
    for step in steps {
        println!("  ok  {step}");
    }
    Ok(())
}

fn vaultref_generate_key(vaultref: &Vaultref) -> Result<String> {
    let out = Command::new(&vaultref.bin)
        .args(["fernet", "generate-key"])
        .output()
        .context("running vaultref fernet generate-key")?;
    ensure!(out.status.success(), "vaultref fernet generate-key failed");
    Ok(String::from_utf8(out.stdout)
        .context("the key is not UTF-8")?
        .trim()
        .to_owned())
}
