//! Side by side with Airflow itself: the provider's `AzureKeyVaultBackend` (run by
//! `tests/data/airflow_backend.py` under `VAULTREF_AIRFLOW_PYTHON`) and `vaultref airflow` against
//! one emulator, both signing in as the App Service managed identity and configured by the same
//! backend kwargs. Checked: Airflow reads what vaultref writes, under the same names; both ask
//! the vault for the same names in the same order (null prefixes, empty prefixes, custom
//! separators, invalid ids, multi-team); connections vaultref writes are the bytes Airflow's
//! `get_uri` / `as_json` write (except extras Airflow's own readers would read differently), and
//! each side reads the other's connections field for field.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use vaultref_testkit::secret_reads;

use crate::support::{Run, airflow_python, data, run_clean, vaultref_clean};
use crate::vault::Vault;

/// One backend configuration: the kwargs (besides `vault_url`) and `[core] multi_team`.
struct Setup {
    kwargs: Value,
    multi_team: bool,
}

impl Setup {
    fn new(extra: &Value, multi_team: bool) -> Self {
        Self {
            kwargs: extra.clone(),
            multi_team,
        }
    }

    /// The full kwargs for `vault`: its default vault by IP, whose challenge cannot name it, so
    /// the SDK keyword argument turns the resource check off (vaultref honours it too), plus one
    /// the SDK takes and vaultref ignores.
    fn kwargs(&self, vault: &Vault) -> Value {
        let mut kwargs = json!({
            "vault_url": vault.emulator.vault_url().as_str(),
            "verify_challenge_resource": false,
            "logging_enable": false,
        });
        for (key, value) in self.kwargs.as_object().unwrap() {
            kwargs[key] = value.clone();
        }
        kwargs
    }
}

/// What both sides share: the managed identity (App Service endpoint), the CA, IMDS pointed at
/// the emulator, no proxy.
fn azure_env(vault: &Vault) -> Vec<(String, String)> {
    let emu = &vault.emulator;
    vec![
        (
            "IDENTITY_ENDPOINT".into(),
            emu.identity_endpoint().to_string(),
        ),
        ("IDENTITY_HEADER".into(), emu.identity_header().into()),
        (
            "AZURE_TOKEN_CREDENTIALS".into(),
            "ManagedIdentityCredential".into(),
        ),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            emu.imds_endpoint().to_string(),
        ),
        (
            "REQUESTS_CA_BUNDLE".into(),
            emu.ca_cert_path().unwrap().display().to_string(),
        ),
        ("HOME".into(), vault.dir.path().display().to_string()),
        (
            "AIRFLOW_HOME".into(),
            vault.dir.path().join("airflow-home").display().to_string(),
        ),
    ]
}

fn vaultref(vault: &Vault, setup: &Setup, args: &[&str], stdin: &[u8]) -> Run {
    let mut env = azure_env(vault);
    env.push((
        "AIRFLOW__SECRETS__BACKEND_KWARGS".into(),
        setup.kwargs(vault).to_string(),
    ));
    env.push((
        "AIRFLOW__CORE__MULTI_TEAM".into(),
        setup.multi_team.to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut full = vec!["airflow"];
    full.extend_from_slice(args);
    vaultref_clean(&full, &env, stdin)
}

/// A lookup both sides make: (Python op, vaultref subcommand).
struct Lookup<'a> {
    setup: &'a Setup,
    op: &'static str,
    id: &'a str,
    team: Option<&'a str>,
}

impl Lookup<'_> {
    fn request(&self, vault: &Vault) -> Value {
        json!({"op": self.op, "id": self.id, "team": self.team,
               "kwargs": self.setup.kwargs(vault), "multi_team": self.setup.multi_team})
    }

    /// vaultref's answer in the Python script's terms: the value, the fields, or null.
    fn vaultref(&self, vault: &Vault) -> Value {
        let command = match self.op {
            "get_variable" => "get-variable",
            "get_config" => "get-config",
            _ => "get-connection",
        };
        let mut args = vec![command, self.id];
        if let Some(team) = self.team {
            args.extend(["--team", team]);
        }
        if self.op == "get_connection" {
            args.extend(["--output", "json"]);
        }
        let run = vaultref(vault, self.setup, &args, b"");
        match run.code {
            Some(0) if self.op == "get_connection" => serde_json::from_slice(&run.stdout).unwrap(),
            Some(0) => Value::String(String::from_utf8(run.stdout).unwrap()),
            _ => {
                assert!(
                    run.stderr.starts_with("error: no "),
                    "{}: {}",
                    self.id,
                    run.stderr
                );
                Value::Null
            }
        }
    }
}

/// Connections given as fields, written by both sides: `(id, fields, whether vaultref's URI is
/// Airflow's byte for byte)`.
fn connections() -> Vec<(&'static str, Value, bool)> {
    vec![
        (
            "reserved",
            json!({"conn_type": "postgres", "host": "db.example", "login": "etl user@corp",
                   "password": "p@ss:w/rd?#&=+% \u{e9}\"'", "schema": "ware/house", "port": 5432,
                   "extra": {"sslmode": "verify-full", "options": "-c search_path=a&b", "q": "x=y#z"}}),
            true,
        ),
        (
            "gcp",
            json!({"conn_type": "google_cloud_platform", "extra": {"key_path": "/k.json", "scope": "a b+c"}}),
            true,
        ),
        (
            "protocol",
            json!({"conn_type": "http", "host": "https://api.example", "login": "", "password": "", "port": 443}),
            true,
        ),
        (
            "nested",
            json!({"conn_type": "aws", "extra": {"region_name": "eu-west-1", "retries": 3,
                   "config_kwargs": {"signature_version": "s3v4"}, "flag": true, "ratio": 0.00001}}),
            true,
        ),
        (
            "looks_like_json",
            json!({"conn_type": "generic", "host": "h", "extra": {"n": "123", "b": "true"}}),
            false,
        ),
        (
            "described",
            json!({"conn_type": "mysql", "host": "db", "description": "prod db", "port": 3306}),
            true,
        ),
        (
            "path_host",
            json!({"conn_type": "sqlite", "host": "/tmp/x.db"}),
            true,
        ),
    ]
}

#[test]
fn vaultref_and_airflow_s_backend_agree_on_names_values_and_connections() {
    let Some(python) = airflow_python() else {
        return;
    };
    let vault = Vault::start();
    let default = Setup::new(&json!({}), false);
    let nulls = Setup::new(
        &json!({"connections_prefix": null, "variables_prefix": "vars--", "config_prefix": ""}),
        false,
    );
    let custom_sep = Setup::new(
        &json!({"sep": "x", "connections_prefix": "airflow_conns", "variables_prefix": "vars"}),
        false,
    );
    let underscore_sep = Setup::new(&json!({"sep": "_"}), false);
    let teams = Setup::new(&json!({}), true);

    // vaultref writes ...
    let write = |setup: &Setup, args: &[&str], stdin: &str| {
        vaultref(&vault, setup, args, stdin.as_bytes()).assert_ok();
    };
    write(&default, &["set-variable", "hello"], "world");
    write(
        &default,
        &["set-variable", "snake_case_key"],
        "line1\nline2\n",
    );
    write(
        &default,
        &["set-variable", "unicode_key"],
        "\u{e9} \u{2713} null",
    );
    write(
        &default,
        &["set-connection", "pg_uri"],
        "postgres://etl:p%40ss@db.example:5432/wh?sslmode=require\n",
    );
    write(&nulls, &["set-variable", "my_key"], "from-vars");
    write(&custom_sep, &["set-variable", "a_b"], "custom");
    write(
        &custom_sep,
        &["set-connection", "my_conn", "--form", "json"],
        r#"{"conn_type": "http", "host": "h"}"#,
    );
    write(
        &teams,
        &["set-variable", "db_host", "--team", "team_a"],
        "team-value",
    );
    write(&teams, &["set-variable", "db_host"], "global-value");
    for (id, fields, _) in connections() {
        write(
            &default,
            &["set-connection", &format!("{id}_uri"), "--form", "uri"],
            &fields.to_string(),
        );
        write(
            &default,
            &["set-connection", &format!("{id}_json"), "--form", "json"],
            &fields.to_string(),
        );
    }
    // ... a refused write is refused by both (Airflow would never read it).
    vaultref(&vault, &underscore_sep, &["set-variable", "k"], b"v").assert_one_line_failure();
    vault
        .emulator
        .set_secret("airflow-config-sql-alchemy-conn", "postgresql://af");
    vault.emulator.set_secret("my-key", "bare-config");
    let mut names = vault.emulator.secret_names();
    names.sort();
    let expected_names = [
        "airflow-config-sql-alchemy-conn",
        "airflow-variables-db-host",
        "airflow-variables-hello",
        "airflow-variables-snake-case-key",
        "airflow-variables-team-a--db-host",
        "airflow-variables-unicode-key",
        "airflowxconnsxmyxconn",
        "my-key",
        "vars-my-key",
        "varsxaxb",
    ];
    for name in expected_names {
        assert!(names.contains(&name.to_owned()), "{name} in {names:?}");
    }

    // The lookups both sides make, in this order.
    let ids: Vec<String> = connections()
        .iter()
        .flat_map(|(id, _, _)| [format!("{id}_uri"), format!("{id}_json")])
        .collect();
    let mut lookups = vec![
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "hello",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "snake_case_key",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "snake-case-key",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "unicode_key",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "missing_key",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_variable",
            id: "my.key",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_config",
            id: "sql_alchemy_conn",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_conn_value",
            id: "pg_uri",
            team: None,
        },
        Lookup {
            setup: &default,
            op: "get_connection",
            id: "pg_uri",
            team: None,
        },
        Lookup {
            setup: &nulls,
            op: "get_variable",
            id: "my_key",
            team: None,
        },
        Lookup {
            setup: &nulls,
            op: "get_conn_value",
            id: "pg_uri",
            team: None,
        },
        Lookup {
            setup: &nulls,
            op: "get_config",
            id: "my_key",
            team: None,
        },
        Lookup {
            setup: &custom_sep,
            op: "get_variable",
            id: "a_b",
            team: None,
        },
        Lookup {
            setup: &custom_sep,
            op: "get_connection",
            id: "my_conn",
            team: None,
        },
        Lookup {
            setup: &underscore_sep,
            op: "get_variable",
            id: "hello",
            team: None,
        },
        Lookup {
            setup: &teams,
            op: "get_variable",
            id: "db_host",
            team: Some("team_a"),
        },
        Lookup {
            setup: &teams,
            op: "get_variable",
            id: "db_host",
            team: Some("team_b"),
        },
        Lookup {
            setup: &teams,
            op: "get_variable",
            id: "db_host",
            team: None,
        },
        Lookup {
            setup: &teams,
            op: "get_variable",
            id: "x__y",
            team: Some("team_a"),
        },
        Lookup {
            setup: &teams,
            op: "get_conn_value",
            id: "b--c",
            team: None,
        },
        Lookup {
            setup: &teams,
            op: "get_config",
            id: "sql_alchemy_conn",
            team: None,
        },
    ];
    for id in &ids {
        lookups.push(Lookup {
            setup: &default,
            op: "get_connection",
            id,
            team: None,
        });
    }
    let mut requests: Vec<Value> = lookups.iter().map(|l| l.request(&vault)).collect();
    let written = connections().len();
    for (_, fields, _) in connections() {
        requests.push(json!({"op": "write", "fields": fields}));
    }

    // Airflow, in one process.
    vault.emulator.clear_requests();
    let results = vault.dir.path().join("airflow-results.json");
    let mut env = azure_env(&vault);
    env.push(("AIRFLOW__CORE__LOAD_EXAMPLES".into(), "False".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let script = data("airflow_backend.py");
    let run = run_clean(
        &python,
        &[script.to_str().unwrap(), results.to_str().unwrap()],
        &env,
        Value::Array(requests).to_string().as_bytes(),
    );
    assert_eq!(
        run.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&run.stdout),
        run.stderr
    );
    let answers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let airflow_names = secret_reads(&vault.emulator);

    // vaultref, lookup by lookup.
    vault.emulator.clear_requests();
    for (lookup, airflow) in lookups.iter().zip(&answers) {
        let ours = lookup.vaultref(&vault);
        let airflow = if lookup.op == "get_connection" && !airflow.is_null() {
            // Both of Airflow's readers agree on every connection vaultref wrote, but for one
            // difference of Airflow's own: its core model drops an empty password (its Fernet
            // mixin ignores falsy values), the Task SDK keeps "".
            let mut core = airflow["core"].clone();
            if airflow["sdk"]["password"] == "" {
                core["password"] = json!("");
            }
            assert_eq!(core, airflow["sdk"], "{}", lookup.id);
            airflow["sdk"].clone()
        } else {
            airflow.clone()
        };
        assert_eq!(
            ours, airflow,
            "{} {} {:?}",
            lookup.op, lookup.id, lookup.team
        );
    }
    assert_eq!(
        secret_reads(&vault.emulator),
        airflow_names,
        "the same names asked, in the same order"
    );
    assert!(airflow_names.contains(&"airflow-variables-team-b--db-host".to_owned()));
    assert!(
        !airflow_names
            .iter()
            .any(|n| n.contains("x--y") || n.contains("b--c"))
    );

    // Connections: vaultref's bytes are Airflow's, and each reads the other's.
    let written_answers = &answers[answers.len() - written..];
    for ((id, fields, same_uri), airflow) in connections().iter().zip(written_answers) {
        let stored = |suffix: &str| {
            vault
                .emulator
                .secret_value(&format!(
                    "airflow-connections-{}-{suffix}",
                    id.replace('_', "-")
                ))
                .unwrap()
        };
        assert_eq!(
            stored("json"),
            airflow["json"].as_str().unwrap(),
            "{id}: as_json"
        );
        // Airflow's two writers agree, but for an empty password, which its core model drops.
        if fields["password"] != "" {
            assert_eq!(airflow["uri"], airflow["core_uri"], "{id}");
        }
        assert_eq!(
            stored("uri") == airflow["uri"].as_str().unwrap(),
            *same_uri,
            "{id}: get_uri {} vs ours {}",
            airflow["uri"],
            stored("uri")
        );
        // Airflow's own URI, read by vaultref.
        let py_id = format!("py_{id}");
        vault.emulator.set_secret(
            &format!("airflow-connections-py-{}", id.replace('_', "-")),
            airflow["uri"].as_str().unwrap(),
        );
        let run = vaultref(
            &vault,
            &default,
            &["get-connection", &py_id, "--output", "json"],
            b"",
        );
        let ours: Value = serde_json::from_str(&run.ok_text()).unwrap();
        let mut expected = expected_fields(fields);
        expected["conn_id"] = json!(py_id);
        if *id == "described" {
            expected["description"] = Value::Null; // a URI has no description
        }
        for text in ["host", "schema"] {
            if expected[text].is_null() {
                expected[text] = json!(""); // a URI reads an absent host or schema as ""
            }
        }
        assert_eq!(ours, expected, "{id}");
    }
    // The case vaultref writes differently: Airflow's own URI for it is read back differently by
    // Airflow's two readers (the core model JSON-decodes flattened values), which is why
    // vaultref stores such extras whole under `__extra__`.
    let reads = &written_answers[4]["reads"];
    assert_eq!(reads["core"]["extra"], json!({"n": 123, "b": true}));
    assert_eq!(reads["sdk"]["extra"], json!({"n": "123", "b": "true"}));
}

/// `to_dict()` of a connection made from `fields`.
fn expected_fields(fields: &Value) -> Value {
    let get = |k: &str| fields.get(k).cloned().unwrap_or(Value::Null);
    json!({"conn_id": null, "conn_type": get("conn_type"), "description": get("description"),
           "host": get("host"), "login": get("login"), "password": get("password"),
           "schema": get("schema"), "port": get("port"),
           "extra": fields.get("extra").cloned().unwrap_or_else(|| json!({}))})
}
