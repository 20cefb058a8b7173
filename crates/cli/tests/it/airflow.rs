//! `vaultref airflow ...` configured only as Airflow's Key Vault backend is: backend kwargs,
//! Azure variables, `REQUESTS_CA_BUNDLE`, airflow.cfg; no vaultref configuration file.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::support::{Run, vaultref_clean};
use crate::vault::{Vault, write};

/// An Airflow deployment's environment against `vault`: client-secret kwargs plus `extra`
/// (null for a credential key removes it; a null prefix stays, it turns lookups off), the CA through `REQUESTS_CA_BUNDLE` as Python's requests
/// reads it, an empty AIRFLOW_HOME.
pub(crate) fn airflow_env(vault: &Vault, extra: &Value) -> Vec<(String, String)> {
    let emu = &vault.emulator;
    let mut kwargs = json!({
        "vault_url": emu.vault_url().as_str(),
        "tenant_id": emu.tenant_id(),
        "client_id": emu.client_id(),
        "client_secret": emu.client_secret(),
    });
    for (key, value) in extra.as_object().unwrap() {
        let credential = matches!(key.as_str(), "tenant_id" | "client_id" | "client_secret");
        if credential && value.is_null() {
            kwargs.as_object_mut().unwrap().remove(key);
        } else {
            kwargs[key] = value.clone();
        }
    }
    vec![
        (
            "AIRFLOW__SECRETS__BACKEND_KWARGS".into(),
            kwargs.to_string(),
        ),
        (
            "AIRFLOW_HOME".into(),
            vault.dir.path().join("airflow-home").display().to_string(),
        ),
        (
            "AZURE_AUTHORITY_HOST".into(),
            emu.authority_host().to_string(),
        ),
        (
            "REQUESTS_CA_BUNDLE".into(),
            emu.ca_cert_path().unwrap().display().to_string(),
        ),
        // Nothing may reach the real IMDS address.
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            emu.imds_endpoint().to_string(),
        ),
    ]
}

fn airflow(env: &[(String, String)], args: &[&str], stdin: &[u8]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut full = vec!["airflow"];
    full.extend_from_slice(args);
    vaultref_clean(&full, &env, stdin)
}

#[test]
fn variables_and_config_round_trip_byte_for_byte() {
    let vault = Vault::start();
    // SDK keyword arguments vaultref has no use for are never an error.
    let env = airflow_env(
        &vault,
        &json!({"logging_enable": true, "retry_total": 3, "headers": {"x": "y"}}),
    );
    let set = airflow(&env, &["set-variable", "greeting_key"], b"hello\nworld\n");
    assert_eq!(
        set.ok_text(),
        "set variable `greeting_key` as airflow-variables-greeting-key\n"
    );
    vault.assert_secret("airflow-variables-greeting-key", "hello\nworld\n");
    let get = airflow(&env, &["get-variable", "greeting_key"], b"");
    get.assert_ok();
    assert_eq!(
        get.stdout, b"hello\nworld\n",
        "the value alone, nothing added"
    );
    let json_out = airflow(
        &env,
        &["get-variable", "greeting-key", "--output", "json"],
        b"",
    );
    let doc: Value = serde_json::from_str(&json_out.ok_text()).unwrap();
    assert_eq!(
        doc,
        json!({"key": "greeting-key", "value": "hello\nworld\n"})
    );

    vault
        .emulator
        .set_secret("airflow-config-sql-alchemy-conn", "postgresql://af");
    let config = airflow(&env, &["get-config", "sql_alchemy_conn"], b"");
    config.assert_ok();
    assert_eq!(config.stdout, b"postgresql://af");
}

#[test]
fn absent_values_exit_1_saying_why() {
    let vault = Vault::start();
    let env = airflow_env(&vault, &json!({"connections_prefix": null}));
    for (args, why) in [
        (
            vec!["get-variable", "missing_key"],
            "airflow-variables-missing-key (not in the vault)",
        ),
        (
            vec!["get-variable", "my.key"],
            "airflow-variables-my.key (not a valid Key Vault name",
        ),
        (
            vec!["get-config", "absent"],
            "airflow-config-absent (not in the vault)",
        ),
        (
            vec!["get-connection", "smtp_default"],
            "connection lookups are off (connections_prefix is null",
        ),
    ] {
        let run = airflow(&env, &args, b"");
        run.assert_one_line_failure();
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    }
    let run = airflow(&env, &["get-variable", "k", "--team", "team_a"], b"");
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("looked up airflow-variables-team-a--k (not in the vault), then airflow-variables-k (not in the vault)"),
        "{}",
        run.stderr
    );
}

#[test]
fn connections_are_stored_as_given_or_in_the_form_asked() {
    let vault = Vault::start();
    let env = airflow_env(&vault, &json!({}));
    let uri = "postgres://etl:p%40ss%3Aw%2Frd@db.example:5432/warehouse?sslmode=require";
    let set = airflow(
        &env,
        &["set-connection", "warehouse_db"],
        format!("{uri}\n").as_bytes(),
    );
    assert_eq!(
        set.ok_text(),
        "set connection `warehouse_db` as airflow-connections-warehouse-db (uri form)\n"
    );
    vault.assert_secret("airflow-connections-warehouse-db", uri);
    let get = airflow(&env, &["get-connection", "warehouse_db"], b"");
    get.assert_ok();
    assert_eq!(get.stdout, uri.as_bytes());
    let fields: Value = serde_json::from_str(
        &airflow(
            &env,
            &["get-connection", "warehouse_db", "--output", "json"],
            b"",
        )
        .ok_text(),
    )
    .unwrap();
    assert_eq!(
        fields,
        json!({"conn_id": "warehouse_db", "conn_type": "postgres", "description": null, "host": "db.example",
               "login": "etl", "password": "p@ss:w/rd", "schema": "warehouse", "port": 5432,
               "extra": {"sslmode": "require"}})
    );

    // The same connection, re-written as JSON.
    let set = airflow(
        &env,
        &[
            "set-connection",
            "warehouse_db",
            "--form",
            "json",
            "--output",
            "json",
        ],
        uri.as_bytes(),
    );
    let report: Value = serde_json::from_str(&set.ok_text()).unwrap();
    assert_eq!(report["form"], "json");
    vault.assert_secret(
        "airflow-connections-warehouse-db",
        r#"{"conn_type": "postgres", "host": "db.example", "login": "etl", "password": "p@ss:w/rd", "schema": "warehouse", "port": 5432, "extra": {"sslmode": "require"}}"#,
    );

    // What the URI form loses is a warning; the write goes ahead.
    let with_description =
        r#"{"conn_type": "http", "host": "API.example", "description": "the API"}"#;
    let set = airflow(
        &env,
        &["set-connection", "api", "--form", "uri"],
        with_description.as_bytes(),
    );
    set.assert_ok();
    assert!(
        set.stderr.contains("warning:") && set.stderr.contains("description, host"),
        "{}",
        set.stderr
    );
    vault.assert_secret("airflow-connections-api", "http://API.example");

    // Input Airflow could not read is refused, without echoing it.
    let bad = airflow(
        &env,
        &["set-connection", "bad"],
        br#"{"password": "s3cret", "conn_id": "x"}"#,
    );
    bad.assert_one_line_failure();
    assert!(
        bad.stderr.contains("conn_id") && !bad.stderr.contains("s3cret"),
        "{}",
        bad.stderr
    );
    assert_eq!(vault.emulator.secret_value("airflow-connections-bad"), None);
}

#[test]
fn colliding_ids_are_refused_and_list_shows_the_ids() {
    let vault = Vault::start();
    let env = airflow_env(&vault, &json!({}));
    airflow(&env, &["set-variable", "a_b"], b"first").assert_ok();
    let run = airflow(&env, &["set-variable", "a-b"], b"second");
    run.assert_one_line_failure();
    assert!(
        run.stderr.contains("holds variable `a_b`"),
        "{}",
        run.stderr
    );
    vault.assert_secret("airflow-variables-a-b", "first");

    vault
        .emulator
        .set_secret("airflow-connections-smtp-default", "smtp://mail");
    vault.emulator.set_secret("unrelated", "x");
    let list = airflow(&env, &["list"], b"");
    assert_eq!(
        list.ok_text(),
        "connection\tairflow-connections-smtp-default\t-\nvariable\tairflow-variables-a-b\ta_b\n"
    );
    let listed: Value =
        serde_json::from_str(&airflow(&env, &["list", "--output", "json"], b"").ok_text()).unwrap();
    assert_eq!(
        listed[1],
        json!({"kind": "variable", "name": "airflow-variables-a-b", "id": "a_b", "team": null})
    );
}

#[test]
fn settings_come_from_airflow_cfg_and_bad_ones_say_what_to_fix() {
    let vault = Vault::start();
    let mut env = airflow_env(&vault, &json!({"variables_prefix": "cfg-vars"}));
    let kwargs = env.remove(0).1;
    let home = vault.dir.path().join("airflow-home");
    std::fs::create_dir_all(&home).unwrap();
    write(
        &home,
        "airflow.cfg",
        &format!(
            "[secrets]\nbackend = airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend\nbackend_kwargs = {kwargs}\n"
        ),
    );
    airflow(&env, &["set-variable", "k"], b"v").assert_ok();
    vault.assert_secret("cfg-vars-k", "v");

    for (kwargs, hint) in [
        (
            "{\"vault_url\": ",
            "AIRFLOW__SECRETS__BACKEND_KWARGS is not valid JSON",
        ),
        ("[]", "not a JSON object"),
        ("{}", "vault_url is not set"),
    ] {
        let mut bad = env.clone();
        bad.push(("AIRFLOW__SECRETS__BACKEND_KWARGS".into(), kwargs.into()));
        let run = airflow(&bad, &["get-variable", "k"], b"");
        run.assert_one_line_failure();
        assert!(run.stderr.contains(hint), "{kwargs}: {}", run.stderr);
    }
}
