//! What every fault case shares: the entities and their secrets, a site (emulator, database,
//! configuration), the binary running or killed, end states, the undisturbed baseline, and the
//! plaintext scan.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher as _, RandomState};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;

use serde_json::{Value, json};
use vaultref_emulator::EmulatorConfig;
use vaultref_fernet::KeyRing;

use crate::support::{Run, Secrets, vaultref};
use crate::vault::{KEY, Vault};

/// Text in every planted secret value, unique to this test process: seen anywhere but in the
/// vault, it is a plaintext leak.
pub(crate) fn marker() -> &'static str {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| {
        format!(
            "vrleak{:016x}",
            RandomState::new().hash_one(std::process::id())
        )
    })
}

/// One secret planted in one entity.
pub(crate) struct Planted {
    pub(crate) entity_type: &'static str,
    pub(crate) name: String,
    pub(crate) pointer: &'static str,
    pub(crate) value: String,
}

/// The entities of a run, each holding one secret: services of two kinds, bot users and
/// ingestion pipelines, in turn.
pub(crate) struct Fleet {
    pub(crate) jsonl: Vec<u8>,
    pub(crate) secrets: Vec<Planted>,
}

impl Fleet {
    pub(crate) fn len(&self) -> usize {
        self.secrets.len()
    }
}

/// The fleet of `count` entities (the same for every test of this process).
pub(crate) fn fleet(count: usize) -> &'static Fleet {
    static FLEETS: OnceLock<Mutex<HashMap<usize, &'static Fleet>>> = OnceLock::new();
    let mut fleets = FLEETS.get_or_init(Mutex::default).lock().unwrap();
    fleets
        .entry(count)
        .or_insert_with(|| Box::leak(Box::new(make_fleet(count))))
}

fn make_fleet(count: usize) -> Fleet {
    let mut jsonl = Vec::new();
    let mut secrets = Vec::with_capacity(count);
    for i in 0..count {
        let value = format!("{}-{i:05}-{}", marker(), ["my", "pg", "bot", "aws"][i % 4]);
        let (entity_type, pointer, entity) = match i % 4 {
            0 => (
                "databaseService",
                "/connection/config/authType/password",
                json!({"name": format!("mysql-{i:05}"), "serviceType": "Mysql",
                       "connection": {"config": {"type": "Mysql", "username": "etl",
                       "authType": {"password": value}, "hostPort": "db:3306"}}}),
            ),
            1 => (
                "databaseService",
                "/connection/config/authType/password",
                json!({"name": format!("pg-{i:05}"), "serviceType": "Postgres",
                       "connection": {"config": {"type": "Postgres", "username": "etl",
                       "authType": {"password": value}, "hostPort": "db:5432", "database": "sales"}}}),
            ),
            2 => (
                "user",
                "/authenticationMechanism/config/JWTToken",
                json!({"name": format!("bot-{i:05}"), "isBot": true,
                       "email": format!("bot-{i:05}@example.org"),
                       "authenticationMechanism": {"authType": "JWT",
                       "config": {"JWTToken": value, "JWTTokenExpiry": "Unlimited"}}}),
            ),
            _ => (
                "ingestionPipeline",
                "/sourceConfig/config/dbtConfigSource/dbtSecurityConfig/awsSecretAccessKey",
                json!({"name": format!("dbt-{i:05}"), "pipelineType": "dbt",
                       "service": {"type": "databaseService", "name": "mysql-00000"},
                       "sourceConfig": {"config": {"type": "DBT", "dbtConfigSource": {
                           "dbtConfigType": "s3",
                           "dbtSecurityConfig": {"awsAccessKeyId": "AKIAEXAMPLE",
                               "awsSecretAccessKey": value, "awsRegion": "eu-west-1"},
                           "dbtPrefixConfig": {"dbtBucketName": "dbt"}}}}}),
            ),
        };
        let name = entity["name"].as_str().unwrap().to_owned();
        serde_json::to_writer(
            &mut jsonl,
            &json!({"entityType": entity_type, "entity": entity}),
        )
        .unwrap();
        jsonl.push(b'\n');
        secrets.push(Planted {
            entity_type,
            name,
            pointer,
            value,
        });
    }
    Fleet { jsonl, secrets }
}

/// Where a site keeps its entities.
pub(crate) enum Database {
    /// A SQLite file in a directory of its own (tmpfs when the machine has `/dev/shm`).
    Sqlite,
    /// A server database at this URL (made and dropped by the caller).
    Url(String),
}

/// An emulator, a database holding the fleet in `db` mode (every secret a `fernet:` token of
/// its plaintext), and a managed-azure-kv configuration pointing at both.
pub(crate) struct Site {
    pub(crate) vault: Vault,
    pub(crate) config: PathBuf,
    /// The SQLite file's directory (every file in it is scanned for plaintext).
    sqlite_dir: Option<tempfile::TempDir>,
    /// The id import gave each row: a migration updates rows, it never replaces them.
    ids: BTreeMap<(String, String), Value>,
    /// What the import printed (scanned with the other outputs).
    import: Option<Run>,
}

impl Site {
    /// A site for `fleet` with the emulator started from `emulator`, its entities imported.
    pub(crate) fn new(fleet: &Fleet, emulator: EmulatorConfig, database: Database) -> Self {
        let vault = Vault::start_with(EmulatorConfig {
            // A 5,000-entity run under throttling sends more than the default 10,000 requests.
            request_log_capacity: 100_000,
            ..emulator
        });
        let (url, sqlite_dir) = match database {
            Database::Sqlite => {
                let shm = Path::new("/dev/shm");
                let dir = if shm.is_dir() {
                    tempfile::tempdir_in(shm).unwrap()
                } else {
                    tempfile::tempdir().unwrap()
                };
                let url = format!("sqlite://{}", dir.path().join("vaultref.db").display());
                (url, Some(dir))
            }
            Database::Url(url) => (url, None),
        };
        // The client's own write limit (10/s by default, as OpenMetadata's) would make these
        // runs take minutes; the vault's limits are the emulator's to enforce here.
        let extra = format!("    rateLimitPermitsPerSecond: 1000000\ndatabase:\n  url: {url}\n");
        let config = vault.config_with("faults.yaml", &vault.app(), true, &extra);
        let mut site = Self {
            vault,
            config,
            sqlite_dir,
            ids: BTreeMap::new(),
            import: None,
        };
        let import = site.run(
            &["entities", "import", "-"],
            &[("SECRET_MANAGER", "db")],
            &fleet.jsonl,
        );
        import.assert_ok();
        site.import = Some(import);
        assert!(site.vault.emulator.secret_names().is_empty());
        site.ids = site
            .rows()
            .into_iter()
            .map(|(key, row)| (key, row["id"].clone()))
            .collect();
        assert_eq!(site.ids.len(), fleet.len());
        site
    }

    /// Every row as exported (stored form), by entity type and name.
    fn rows(&self) -> BTreeMap<(String, String), Value> {
        let export = self.run(&["entities", "export"], &[], b"");
        let text = export.ok_text();
        assert!(
            !text.contains(marker()),
            "a plaintext secret is stored in a row"
        );
        text.lines()
            .map(|line| {
                let mut row: Value = serde_json::from_str(line).unwrap();
                let key = (
                    row["entityType"].as_str().unwrap().to_owned(),
                    row["entity"]["name"].as_str().unwrap().to_owned(),
                );
                (key, row["entity"].take())
            })
            .collect()
    }

    /// `vaultref WORDS --config CONFIG` with `env` and `stdin`, to the end, logging at trace
    /// level (every line is scanned for secrets).
    pub(crate) fn run(&self, words: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
        let mut args = words.to_vec();
        args.extend(["--config", self.config.to_str().unwrap()]);
        let mut env = env.to_vec();
        env.insert(0, TRACE);
        vaultref(&args, &env, stdin)
    }

    /// `vaultref migrate-secrets`, to the end.
    pub(crate) fn migrate(&self) -> Run {
        self.run(&["migrate-secrets"], &[], b"")
    }

    /// `vaultref migrate-secrets` started, its progress readable as it goes.
    pub(crate) fn start_migrate(&self) -> Running {
        Running::start(&self.config, &[TRACE])
    }

    /// The rows as read back (`fernet:` values opened; ids, which import draws at random,
    /// checked unchanged and left out) and every vault secret with its value.
    pub(crate) fn end_state(&self) -> EndState {
        let keys = KeyRing::parse(KEY).unwrap();
        let mut rows = self.rows();
        for (key, row) in &mut rows {
            let id = row.as_object_mut().unwrap().remove("id");
            assert_eq!(
                id.as_ref(),
                self.ids.get(key),
                "the row of {key:?} was replaced"
            );
            open_tokens(row, &keys);
        }
        let emulator = &self.vault.emulator;
        let vault = emulator
            .secret_names()
            .into_iter()
            .map(|name| {
                let value = emulator.secret_value(&name).unwrap();
                (name, value)
            })
            .collect();
        EndState { rows, vault }
    }

    /// No secret value is in a file of the SQLite database, and no line the binary printed
    /// (the import's and `runs`') holds a secret value, the client secret, the Fernet key or
    /// an access token the vault was sent.
    pub(crate) fn assert_nothing_secret_in(&self, runs: &[&Run]) {
        if let Some(dir) = &self.sqlite_dir {
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let path = file.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !contains(&bytes, marker().as_bytes()),
                    "plaintext in {}",
                    path.display()
                );
            }
        }
        let mut secrets = Secrets::default();
        secrets.add("a secret value", marker());
        secrets.add("the client secret", self.vault.emulator.client_secret());
        secrets.add_fernet_key(KEY);
        assert!(secrets.add_credentials_seen_by(&self.vault.emulator) > 0);
        for (i, run) in self.import.iter().chain(runs.iter().copied()).enumerate() {
            secrets.assert_absent_from(&format!("run {i}"), run);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Replaces every `fernet:` string in `value` by what it decrypts to.
fn open_tokens(value: &mut Value, keys: &KeyRing) {
    match value {
        Value::String(s) if s.starts_with("fernet:") => {
            *s = keys.decrypt_if_tokenized(s).unwrap().as_str().to_owned();
        }
        Value::Array(items) => items.iter_mut().for_each(|v| open_tokens(v, keys)),
        Value::Object(map) => map.values_mut().for_each(|v| open_tokens(v, keys)),
        _ => {}
    }
}

/// What a migration leaves: every row read back, every vault secret with its value.
#[derive(PartialEq)]
pub(crate) struct EndState {
    rows: BTreeMap<(String, String), Value>,
    vault: BTreeMap<String, String>,
}

impl EndState {
    /// Panics with the first differences (names only) unless `self` equals `expected`.
    pub(crate) fn assert_same_as(&self, expected: &Self) {
        if self == expected {
            return;
        }
        let mut differences = Vec::new();
        for (key, row) in &expected.rows {
            match self.rows.get(key) {
                None => differences.push(format!("row {key:?} missing")),
                Some(actual) if actual != row => differences.push(format!("row {key:?} differs")),
                Some(_) => {}
            }
        }
        differences.extend(
            self.rows
                .keys()
                .filter(|key| !expected.rows.contains_key(*key))
                .map(|key| format!("row {key:?} unexpected")),
        );
        for (name, value) in &expected.vault {
            match self.vault.get(name) {
                None => differences.push(format!("secret {name} missing")),
                Some(actual) if actual != value => {
                    differences.push(format!("secret {name} has another value"));
                }
                Some(_) => {}
            }
        }
        differences.extend(
            self.vault
                .keys()
                .filter(|name| !expected.vault.contains_key(*name))
                .map(|name| format!("secret {name} unexpected")),
        );
        panic!(
            "the end state differs from an undisturbed run in {} place(s), first: {:#?}",
            differences.len(),
            &differences[..differences.len().min(8)]
        );
    }
}

/// The end state of an undisturbed migration of `fleet` (made once per fleet size), checked
/// to hold every planted value in the vault under the name its row references.
pub(crate) fn baseline(fleet: &'static Fleet) -> &'static EndState {
    static BASELINES: OnceLock<Mutex<HashMap<usize, &'static EndState>>> = OnceLock::new();
    let mut baselines = BASELINES.get_or_init(Mutex::default).lock().unwrap();
    baselines.entry(fleet.len()).or_insert_with(|| {
        let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
        let run = site.migrate();
        assert_eq!(run.ok_text(), summary(fleet.len()));
        let state = site.end_state();
        assert_eq!(state.rows.len(), fleet.len());
        assert_eq!(state.vault.len(), fleet.len());
        for planted in &fleet.secrets {
            let row = &state.rows[&(planted.entity_type.to_owned(), planted.name.clone())];
            let reference = row
                .pointer(planted.pointer)
                .and_then(Value::as_str)
                .unwrap();
            let name = reference.strip_prefix("secret:").unwrap();
            assert_eq!(state.vault[name], planted.value, "{}", planted.name);
        }
        site.assert_nothing_secret_in(&[&run]);
        Box::leak(Box::new(state))
    })
}

/// The summary line of a complete migration of `count` entities, each with one secret.
pub(crate) fn summary(count: usize) -> String {
    format!(
        "migrate-secrets: {count} entities, updated {count}, unchanged 0, failed 0, {count} secret(s) written to the vault\n"
    )
}

/// Diagnostics on, all of them: the scan for secrets reads every line.
const TRACE: (&str, &str) = ("VAULTREF_LOG", "trace");

/// A `vaultref migrate-secrets` that is running: its stderr is read line by line as it comes.
pub(crate) struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: JoinHandle<Vec<u8>>,
    entities_done: usize,
}

impl Running {
    fn start(config: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vaultref"))
            .args(["migrate-secrets", "--config"])
            .arg(config)
            .env_remove("FERNET_KEY")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            stderr: Vec::new(),
            stdout,
            entities_done: 0,
        }
    }

    /// Waits until `count` entities in all are done (one progress line each) or the process
    /// has ended; returns how many are done.
    pub(crate) fn wait_for_entities(&mut self, count: usize) -> usize {
        while self.entities_done < count {
            let Ok(line) = self.lines.recv() else { break };
            // Per-entity progress lines are indented; type headers and errors are not.
            if line.starts_with("  ") {
                self.entities_done += 1;
            }
            self.stderr.push(line);
        }
        self.entities_done
    }

    /// SIGKILL, then what it printed.
    pub(crate) fn kill(mut self) -> Run {
        self.child.kill().unwrap();
        self.finish()
    }

    /// Waits for the end.
    pub(crate) fn wait(self) -> Run {
        self.finish()
    }

    fn finish(mut self) -> Run {
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        let mut stderr = self.stderr.join("\n");
        stderr.push('\n');
        Run {
            code: status.code(),
            stdout: self.stdout.join().unwrap(),
            stderr,
        }
    }
}
