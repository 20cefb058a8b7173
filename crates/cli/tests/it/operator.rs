//! The operator's experience (issue 15): global options anywhere, JSON output checked against
//! the schemas docs/cli.md documents, progress on a terminal and piped, the warning for
//! variables the file does not read, every `check` case, an audit record per vault change from
//! the `secret` commands, hints that name commands, RFC 3339 dates and shell completions.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vaultref_emulator::Permissions;

use crate::support::{AUDIT_LOG, Run, audit_records, data, vaultref};
use crate::vault::{KEY, Vault, write};

/// The `json-schema` blocks of docs/cli.md, by title.
fn schemas() -> BTreeMap<String, Value> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md"))
            .unwrap();
    let mut schemas = BTreeMap::new();
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```json-schema\n") {
        let body = &rest[start + "```json-schema\n".len()..];
        let end = body.find("```").unwrap();
        let schema: Value = serde_json::from_str(&body[..end])
            .unwrap_or_else(|e| panic!("docs/cli.md: a json-schema block does not parse: {e}"));
        schemas.insert(schema["title"].as_str().unwrap().to_owned(), schema);
        rest = &body[end..];
    }
    schemas
}

/// Checks `value` against the subset of JSON Schema docs/cli.md uses: `type` (one or a list),
/// `enum`, `required`, `properties`, `additionalProperties` (a schema) and `items`.
fn validate(schema: &Value, value: &Value, at: &str) {
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::Array(list) => list.iter().map(|t| t.as_str().unwrap()).collect(),
            other => vec![other.as_str().unwrap()],
        };
        let fits = names.iter().any(|name| match *name {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            other => panic!("schema type {other} not supported"),
        });
        assert!(fits, "{at}: {value} is not {names:?}");
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(text) = value.as_str()
    {
        assert_rfc3339(text);
    }
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required {
            let key = key.as_str().unwrap();
            assert!(value.get(key).is_some(), "{at}: no `{key}` in {value}");
        }
    }
    if let (Some(Value::Object(properties)), Some(object)) =
        (schema.get("properties"), value.as_object())
    {
        for (key, sub) in properties {
            if let Some(member) = object.get(key) {
                validate(sub, member, &format!("{at}.{key}"));
            }
        }
        for key in object.keys() {
            assert!(
                properties.contains_key(key) || schema.get("additionalProperties").is_some(),
                "{at}: `{key}` is not documented in docs/cli.md"
            );
        }
    }
    if let (Some(sub), Some(object)) = (schema.get("additionalProperties"), value.as_object())
        && sub.is_object()
    {
        for (key, member) in object {
            validate(sub, member, &format!("{at}.{key}"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            validate(items, item, &format!("{at}[{index}]"));
        }
    }
}

/// `2027-03-02T06:13:36Z` or with an offset, fractions allowed.
fn assert_rfc3339(text: &str) {
    let bytes = text.as_bytes();
    let ok = text.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && (text.ends_with('Z') || text[19..].contains(['+', '-']));
    assert!(ok, "not RFC 3339: {text}");
}

/// Runs `args` with `--output json` and checks stdout against the schema titled `title`.
fn json_checked(title: &str, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend(args);
    let run = vaultref(&all, env, stdin);
    let text = String::from_utf8(run.stdout.clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one document: {text}\n{}",
        run.stderr
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    let schemas = schemas();
    let schema = schemas
        .get(title)
        .unwrap_or_else(|| panic!("docs/cli.md has no json-schema titled {title}"));
    validate(schema, &value, title);
    value
}

/// A managed configuration with a SQLite database.
fn store_config(vault: &Vault) -> PathBuf {
    let db = vault.dir.path().join("operator.db");
    vault.config_with(
        "operator.yaml",
        &vault.app(),
        true,
        &format!("database:\n  url: sqlite://{}\n", db.display()),
    )
}

fn text(run: &Run) -> String {
    String::from_utf8(run.stdout.clone()).unwrap()
}

#[test]
fn config_goes_anywhere_on_the_line_or_in_vaultref_config() {
    let vault = Vault::start();
    let config = vault.config("anywhere.yaml", &vault.app());
    let path = config.to_str().unwrap();
    for args in [
        vec!["--config", path, "check"],
        vec!["check", "--config", path],
        vec!["-q", "check", "--config", path, "--no-write-probe"],
    ] {
        let run = vaultref(&args, &[], b"");
        assert_eq!(run.code, Some(0), "{args:?}: {}{}", text(&run), run.stderr);
    }
    let run = vaultref(&["check"], &[("VAULTREF_CONFIG", path)], b"");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let missing = crate::support::vaultref_clean(&["secret", "list"], &[], b"");
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("--config FILE"),
        "{}",
        missing.stderr
    );
}

#[test]
fn every_command_prints_json_that_matches_its_documented_schema() {
    let vault = Vault::start();
    let config = store_config(&vault);
    let c = config.to_str().unwrap();
    let checked = json_checked("check", &["check", "--config", c], &[], b"");
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["database"]["layout"], "empty", "{checked}");
    for permission in ["list", "get", "set", "delete"] {
        assert_eq!(checked["permissions"][permission], "allowed", "{checked}");
    }
    let set = json_checked(
        "secret set",
        &["--config", c, "secret", "set", "op-one"],
        &[],
        b"v1",
    );
    assert_eq!(set["name"], "op-one");
    let got = json_checked(
        "secret get",
        &["--config", c, "secret", "get", "op-one"],
        &[],
        b"",
    );
    assert_eq!(got["value"], "v1");
    let listed = json_checked("secret list", &["--config", c, "secret", "list"], &[], b"");
    assert!(
        listed["names"]
            .as_array()
            .unwrap()
            .contains(&"op-one".into())
    );
    let deleted = json_checked(
        "secret delete",
        &["--config", c, "secret", "delete", "op-one"],
        &[],
        b"",
    );
    assert!(deleted["recoverable_until"].is_string(), "{deleted}");
    json_checked(
        "secret list",
        &["--config", c, "secret", "list", "--deleted"],
        &[],
        b"",
    );
    json_checked(
        "secret recover",
        &["--config", c, "secret", "recover", "op-one"],
        &[],
        b"",
    );
    vaultref(&["--config", c, "secret", "delete", "op-one"], &[], b"").assert_ok();
    json_checked(
        "secret purge",
        &["--config", c, "secret", "purge", "op-one"],
        &[],
        b"",
    );

    let sample = std::fs::read(data("entities.jsonl")).unwrap();
    let env = [("SECRET_MANAGER", "db")];
    let imported = json_checked(
        "entities import",
        &["--config", c, "entities", "import"],
        &env,
        &sample,
    );
    assert_eq!(imported["imported"], 3, "{imported}");
    let migrated = json_checked(
        "migrate-secrets",
        &["--config", c, "migrate-secrets"],
        &[],
        b"",
    );
    assert_eq!(migrated["updated"], 3, "{migrated}");
    let new_key = String::from_utf8(vaultref(&["fernet", "generate-key"], &[], b"").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let keys = format!("{new_key},{KEY}");
    let rotated = json_checked(
        "migrate-secrets",
        &["--config", c, "rotate-fernet-key"],
        &[("FERNET_KEY", &keys)],
        b"",
    );
    assert_eq!(rotated["operation"], "rotate-fernet-key");
    assert_eq!(rotated["secrets_written"], Value::Null);
    let rotated_env = [("FERNET_KEY", keys.as_str())];
    let delete = [
        "--config",
        c,
        "entities",
        "delete",
        "databaseService",
        "mysql-test",
    ];
    let dry = json_checked(
        "entities delete",
        &[&delete[..], &["--dry-run"]].concat(),
        &rotated_env,
        b"",
    );
    assert_eq!(dry["secrets_deleted"], 0, "{dry}");
    let deleted = json_checked("entities delete", &delete, &rotated_env, b"");
    assert_eq!(deleted["secrets_deleted"], 1, "{deleted}");
    let checked = json_checked("check", &["check", "--config", c], &[], b"");
    assert_eq!(checked["database"]["layout"], "vaultref", "{checked}");
    assert_eq!(checked["database"]["rows"], 2, "{checked}");
    let key = json_checked("fernet generate-key", &["fernet", "generate-key"], &[], b"");
    let key = key["key"].as_str().unwrap().to_owned();
    json_checked(
        "fernet encrypt",
        &["fernet", "encrypt", "--key", &key],
        &[],
        b"x",
    );
}

#[test]
fn progress_is_plain_lines_when_piped() {
    let vault = Vault::start();
    let config = store_config(&vault);
    let c = config.to_str().unwrap();
    let mut lines = String::new();
    for name in ["zeta", "alpha", "mid"] {
        lines.push_str(&format!(
            "{{\"entityType\":\"databaseService\",\"entity\":{{\"name\":\"{name}\",\"serviceType\":\"Mysql\",\"connection\":{{\"config\":{{\"type\":\"Mysql\",\"username\":\"u\",\"authType\":{{\"password\":\"p-{name}\"}},\"hostPort\":\"db:3306\"}}}}}}}}\n"
        ));
    }
    vaultref(
        &["--config", c, "entities", "import"],
        &[("SECRET_MANAGER", "db")],
        lines.as_bytes(),
    )
    .assert_ok();
    let run = vaultref(&["--config", c, "migrate-secrets"], &[], b"");
    run.assert_ok();
    assert!(
        run.stderr.contains("databaseService: 3 row(s)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("databaseService: 3 done in"),
        "{}",
        run.stderr
    );
    // One line per entity, by name within the table (imported as zeta, alpha, mid).
    let names: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  databaseService"))
        .map(|l| l.split('`').nth(1).unwrap())
        .collect();
    assert_eq!(names, ["alpha", "mid", "zeta"], "{}", run.stderr);
    // -q: nothing but the result.
    let quiet = vaultref(&["-q", "--config", c, "migrate-secrets"], &[], b"");
    quiet.assert_ok();
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[test]
fn progress_is_a_bar_with_rate_and_time_left_on_a_terminal() {
    let vault = Vault::start();
    let config = store_config(&vault);
    let c = config.to_str().unwrap();
    let sample = std::fs::read(data("entities.jsonl")).unwrap();
    vaultref(
        &["--config", c, "entities", "import"],
        &[("SECRET_MANAGER", "db")],
        &sample,
    )
    .assert_ok();
    // `script` runs the command in a pseudo-terminal (util-linux).
    let command = format!(
        "{} --config {c} migrate-secrets",
        env!("CARGO_BIN_EXE_vaultref")
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("FERNET_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("ETA"), "no bar on the terminal: {shown}");
    assert!(shown.contains("1/1"), "{shown}");
    assert!(
        !shown.contains("row(s)"),
        "plain lines on a terminal: {shown}"
    );
    assert!(shown.contains("migrate-secrets: 3 entities"), "{shown}");
}

#[test]
fn a_variable_the_file_does_not_read_is_named_once() {
    let vault = Vault::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "fixed.yaml",
        &format!(
            "fernetConfiguration:\n  fernetKey: {KEY}\nsecretsManagerConfiguration:\n  secretsManager: in-memory\n"
        ),
    );
    let c = config.to_str().unwrap();
    let env = [("SECRET_MANAGER", "db"), ("OM_SM_CLIENT_ID", "x")];
    let run = vaultref(&["--config", c, "migrate-secrets", "--dry-run"], &env, b"");
    for name in ["SECRET_MANAGER", "OM_SM_CLIENT_ID"] {
        let warning = format!("warning: {name} is set but");
        assert_eq!(run.stderr.matches(&warning).count(), 1, "{}", run.stderr);
    }
    // The refusal of in-memory names the key, not the variable the file ignores.
    let refused = vaultref(&["--config", c, "entities", "import"], &env, b"");
    assert_eq!(refused.code, Some(1));
    let error = refused.stderr.lines().last().unwrap();
    assert!(
        error.contains("set secretsManagerConfiguration.secretsManager"),
        "{error}"
    );
    assert!(!error.contains("SECRET_MANAGER to"), "{error}");
    // check lists them as findings.
    let checked = vaultref(&["--config", c, "check"], &env, b"");
    assert!(
        text(&checked).contains("warning: SECRET_MANAGER is set but the file does not read it")
    );
    drop(vault);
}

/// `check` on `extra` YAML under a managed configuration, with `env`.
fn check_with(vault: &Vault, file: &str, parameters: &str, env: &[(&str, &str)]) -> (Run, String) {
    let emu = &vault.emulator;
    let config = write(
        vault.dir.path(),
        file,
        &format!(
            "fernetConfiguration:\n  fernetKey: {KEY}\n\
             secretsManagerConfiguration:\n  secretsManager: managed-azure-kv\n  tags: [novalue, team:data]\n\
             \x20 parameters:\n    vaultUrl: {}\n    authorityHost: {}\n    caCertFile: {}\n{parameters}",
            emu.vault_url(),
            emu.authority_host(),
            emu.ca_cert_path().unwrap().display()
        ),
    );
    let run = vaultref(&["check", "--config", config.to_str().unwrap()], env, b"");
    let out = text(&run);
    (run, out)
}

#[test]
fn check_warns_about_what_parses_but_will_not_do_what_it_says() {
    let vault = Vault::start();
    let emu = &vault.emulator;
    let chain_env = [
        ("AZURE_TENANT_ID", emu.tenant_id()),
        ("AZURE_CLIENT_ID", emu.client_id()),
        ("AZURE_CLIENT_SECRET", emu.client_secret()),
    ];
    let (run, out) = check_with(
        &vault,
        "surprises.yaml",
        &format!(
            "    vaultName: other-vault\n    tenantId: \"\"\n    clientId: {}\n",
            emu.client_id()
        ),
        &chain_env,
    );
    assert_eq!(run.code, Some(0), "{out}{}", run.stderr);
    assert!(
        out.contains("warning: secretsManagerConfiguration.tags[0] is `novalue`"),
        "{out}"
    );
    assert!(
        out.contains("warning: secretsManagerConfiguration.parameters.vaultName is ignored"),
        "{out}"
    );
    assert!(
        out.contains("warning: secretsManagerConfiguration.parameters.tenantId is empty"),
        "{out}"
    );
    assert!(out.contains("note: credential: the default chain"), "{out}");
    assert!(
        out.contains("1. EnvironmentCredential") && out.contains("): used"),
        "{out}"
    );
    assert!(
        out.contains("3. ManagedIdentityCredential") && out.contains("not reached"),
        "{out}"
    );
    // The chain stopped at the environment credential: no managed-identity request.
    assert!(
        emu.requests_to(vaultref_emulator::Target::ManagedIdentity)
            .is_empty()
    );

    // A client secret: the note says so and why.
    let (run, out) = check_with(
        &vault,
        "secret.yaml",
        &format!(
            "    tenantId: {}\n    clientId: {}\n    clientSecret: {}\n",
            emu.tenant_id(),
            emu.client_id(),
            emu.client_secret()
        ),
        &[],
    );
    assert_eq!(run.code, Some(0), "{out}");
    assert!(
        out.contains("note: credential: client secret of application"),
        "{out}"
    );

    // An airflow loader with no airflow.cfg.
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "airflow.yaml",
        &format!(
            "fernetConfiguration:\n  fernetKey: {KEY}\n\
             pipelineServiceClientConfiguration:\n  secretsManagerLoader: airflow\n"
        ),
    );
    let home = dir.path().to_str().unwrap();
    let run = vaultref(
        &["check", "--config", config.to_str().unwrap()],
        &[("AIRFLOW_HOME", home)],
        b"",
    );
    assert!(
        text(&run).contains("is airflow, and there is no airflow.cfg at"),
        "{}",
        text(&run)
    );
}

#[test]
fn check_probes_each_permission_without_changing_the_vault() {
    let vault = Vault::start();
    let config = vault.config_for_app(
        "reader.yaml",
        "reader-id",
        "reader-secret-42",
        Permissions::read_only(),
    );
    let c = config.to_str().unwrap();
    let run = vaultref(&["-o", "json", "check", "--config", c], &[], b"");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["permissions"]["get"], "allowed", "{report}");
    assert_eq!(report["permissions"]["set"], "denied", "{report}");
    assert_eq!(report["permissions"]["delete"], "denied", "{report}");
    let problems: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "problem")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("may not set") && p.contains("Secrets Officer")),
        "{problems:?}"
    );
    // Nothing was written, deleted or left behind.
    assert!(vault.emulator.secret_names().is_empty());
    // --no-write-probe: only get is probed.
    let run = vaultref(
        &["-o", "json", "check", "--config", c, "--no-write-probe"],
        &[],
        b"",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(report["permissions"].get("set").is_none(), "{report}");
}

#[test]
fn every_secret_command_leaves_an_audit_record() {
    let vault = Vault::start();
    let config = vault.config("audit.yaml", &vault.app());
    let c = config.to_str().unwrap();
    let mut actions = Vec::new();
    for (words, stdin) in [
        (&["secret", "set", "audited"][..], &b"v"[..]),
        (&["secret", "delete", "audited"][..], b""),
        (&["secret", "recover", "audited"][..], b""),
        (&["secret", "delete", "audited"][..], b""),
        (&["secret", "purge", "audited"][..], b""),
    ] {
        let mut args = words.to_vec();
        args.extend(["--config", c]);
        let run = vaultref(&args, &AUDIT_LOG, stdin);
        run.assert_ok();
        let records = audit_records(&run.stderr);
        assert_eq!(records.len(), 1, "{words:?}: {}", run.stderr);
        assert_eq!(records[0]["fields"]["secret"], "audited");
        assert!(!run.stderr.contains("\"v\""));
        actions.push(records[0]["fields"]["action"].as_str().unwrap().to_owned());
    }
    assert_eq!(actions, ["write", "delete", "recover", "delete", "purge"]);
}

#[test]
fn a_soft_deleted_name_is_recovered_by_set_recover_or_named_in_the_hint() {
    let vault = Vault::start();
    let config = vault.config("recover.yaml", &vault.app());
    let c = config.to_str().unwrap();
    vaultref(&["--config", c, "secret", "set", "gone"], &[], b"old").assert_ok();
    let deleted = vaultref(&["--config", c, "secret", "delete", "gone"], &[], b"");
    let line = deleted.ok_text();
    let date = line.trim().rsplit(' ').next().unwrap();
    assert_rfc3339(date);
    let refused = vaultref(&["--config", c, "secret", "set", "gone"], &[], b"new");
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("`vaultref secret recover gone`"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--recover"), "{}", refused.stderr);
    assert!(
        !refused.stderr.contains("recover_deleted_secret"),
        "{}",
        refused.stderr
    );
    let set = vaultref(
        &["--config", c, "secret", "set", "--recover", "gone"],
        &[],
        b"new",
    );
    set.assert_ok();
    assert!(set.stderr.contains("recovered gone"), "{}", set.stderr);
    let got = vaultref(&["--config", c, "secret", "get", "gone"], &[], b"");
    assert_eq!(got.stdout, b"new");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete"),
        ("zsh", "#compdef vaultref"),
        ("fish", "complete -c vaultref"),
    ] {
        let run = vaultref(&["completions", shell], &[], b"");
        let script = run.ok_text();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("migrate-secrets"), "{shell}");
    }
}
