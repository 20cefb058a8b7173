//! The Airflow backend against the emulator over TLS, configured as Airflow is: only
//! `AIRFLOW__SECRETS__BACKEND_KWARGS` and the variables Azure's credentials read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use vaultref_airflow::{
    AirflowBackend, AirflowConnection, AirflowKind, AirflowSettings, ConnectionForm, Error, TAG_ID,
    TAG_KIND,
};
use vaultref_core::{Environment, ResolverOptions};
use vaultref_emulator::{Emulator, Fault, Target};

use vaultref_testkit::{secret_reads as reads, tls_emulator as emulator};

/// The environment of an Airflow deployment whose backend kwargs are the client-secret ones
/// for `emu` plus `extra` (a JSON object; a null value removes a key).
fn airflow_env(emu: &Emulator, extra: &Value, more: &[(&str, &str)]) -> Environment {
    let mut kwargs = json!({
        "vault_url": emu.vault_url().as_str(),
        "tenant_id": emu.tenant_id(),
        "client_id": emu.client_id(),
        "client_secret": emu.client_secret(),
    });
    for (key, value) in extra.as_object().unwrap() {
        kwargs[key] = value.clone();
    }
    let mut pairs = vec![
        (
            "AIRFLOW__SECRETS__BACKEND_KWARGS".to_owned(),
            kwargs.to_string(),
        ),
        (
            "AZURE_AUTHORITY_HOST".to_owned(),
            emu.authority_host().to_string(),
        ),
        (
            "SSL_CERT_FILE".to_owned(),
            emu.ca_cert_path().unwrap().to_string_lossy().into_owned(),
        ),
        // Nothing may reach the real IMDS address.
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(),
            emu.imds_endpoint().to_string(),
        ),
    ];
    pairs.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Environment::from_pairs(pairs)
}

fn backend_with(emu: &Emulator, extra: &Value, more: &[(&str, &str)]) -> AirflowBackend {
    let env = airflow_env(emu, extra, more);
    let settings = AirflowSettings::load(&env, None).unwrap();
    AirflowBackend::connect(&settings, &env, ResolverOptions::default()).unwrap()
}

fn backend(emu: &Emulator) -> AirflowBackend {
    backend_with(emu, &json!({}), &[])
}

fn text(value: Option<SecretString>) -> Option<String> {
    value.map(|v| v.expose_secret().to_owned())
}

#[tokio::test]
async fn five_hundred_concurrent_lookups_of_fifty_connections_cost_fifty_reads() {
    let emu = emulator().await;
    for i in 0..50 {
        emu.set_secret(
            &format!("airflow-connections-conn-{i:02}"),
            &format!("postgres://etl:p%40ss{i}@db{i}.example:5432/warehouse"),
        );
    }
    // Answers take a while, so the lookups really overlap.
    emu.inject(Fault::latency(Target::Vault, Duration::from_millis(200)));
    let backend = Arc::new(backend(&emu));
    let lookups = |ids: Vec<String>| {
        let backend = backend.clone();
        async move {
            let tasks: Vec<_> = ids
                .into_iter()
                .map(|id| {
                    let backend = backend.clone();
                    tokio::spawn(
                        async move { (id.clone(), backend.get_connection(&id, None).await) },
                    )
                })
                .collect();
            let mut out = Vec::new();
            for task in tasks {
                out.push(task.await.unwrap());
            }
            out
        }
    };
    let ids: Vec<String> = (0..500).map(|i| format!("conn_{:02}", i % 50)).collect();
    for (id, result) in lookups(ids.clone()).await {
        let connection = result.unwrap().unwrap();
        let i: usize = id.trim_start_matches("conn_").parse().unwrap();
        assert_eq!(
            connection.host.as_deref(),
            Some(format!("db{i}.example").as_str())
        );
        assert_eq!(
            connection.password.as_ref().unwrap().expose_secret(),
            format!("p@ss{i}")
        );
    }
    let first = reads(&emu);
    assert_eq!(first.len(), 50, "one vault read per distinct id: {first:?}");
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), 50);

    // Warm: served from the cache.
    for (_, result) in lookups(ids).await {
        assert!(result.unwrap().is_some());
    }
    assert_eq!(reads(&emu).len(), 50, "no read while the values are fresh");

    // Misses are read once each too, then remembered.
    let missing: Vec<String> = (0..500).map(|i| format!("absent_{:02}", i % 50)).collect();
    for (_, result) in lookups(missing.clone()).await {
        assert!(result.unwrap().is_none());
    }
    assert_eq!(reads(&emu).len(), 100);
    for (_, result) in lookups(missing).await {
        assert!(result.unwrap().is_none());
    }
    assert_eq!(reads(&emu).len(), 100, "misses are cached too");
}

#[tokio::test]
async fn names_and_values_are_the_backend_s() {
    let emu = emulator().await;
    let backend = backend(&emu);
    // Written by vaultref under the backend's names, with the id in a tag.
    let value = SecretString::from("hello\nworld null");
    let name = backend
        .set_variable("greeting_text", None, &value)
        .await
        .unwrap();
    assert_eq!(name.as_str(), "airflow-variables-greeting-text");
    assert_eq!(
        emu.secret_value(name.as_str()).as_deref(),
        Some("hello\nworld null")
    );
    let tags = emu.secret_tags(name.as_str()).unwrap();
    assert_eq!(tags.get(TAG_KIND).map(String::as_str), Some("variable"));
    assert_eq!(tags.get(TAG_ID).map(String::as_str), Some("greeting_text"));
    // Read back byte for byte, under the id and under its dashed twin (Airflow's mapping).
    assert_eq!(
        text(backend.get_variable("greeting_text", None).await.unwrap()).as_deref(),
        Some("hello\nworld null")
    );
    assert_eq!(
        text(backend.get_variable("greeting-text", None).await.unwrap()).as_deref(),
        Some("hello\nworld null")
    );
    // "null" is a value for Airflow.
    emu.set_secret("airflow-variables-nothing", "null");
    assert_eq!(
        text(backend.get_variable("nothing", None).await.unwrap()).as_deref(),
        Some("null")
    );
    emu.set_secret("airflow-config-sql-alchemy-conn", "sqlite://");
    assert_eq!(
        text(backend.get_config("sql_alchemy_conn").await.unwrap()).as_deref(),
        Some("sqlite://")
    );

    // Invalid ids are "no value" and cost no request.
    emu.clear_requests();
    for id in ["my.conn", "a/b", "ü", &"x".repeat(110)] {
        assert!(
            backend.get_conn_value(id, None).await.unwrap().is_none(),
            "{id}"
        );
        let err = backend
            .set_variable(id, None, &SecretString::from("v"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{err}");
    }
    assert!(emu.requests_to(Target::Vault).is_empty());
    // A missing secret is "no value", not an error.
    assert!(
        backend
            .get_variable("absent", None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn null_prefixes_custom_separators_and_empty_prefixes() {
    let emu = emulator().await;
    emu.set_secret("vars-my-key", "from-vars");
    emu.set_secret("my-key", "bare");
    emu.set_secret("airflow-connections-smtp-default", "smtp://mail");
    let custom = backend_with(
        &emu,
        &json!({"connections_prefix": null, "variables_prefix": "vars---", "config_prefix": ""}),
        &[],
    );
    assert_eq!(
        text(custom.get_variable("my_key", None).await.unwrap()).as_deref(),
        Some("from-vars")
    );
    assert_eq!(
        text(custom.get_config("my_key").await.unwrap()).as_deref(),
        Some("bare")
    );
    emu.clear_requests();
    assert!(
        custom
            .get_conn_value("smtp_default", None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        emu.requests_to(Target::Vault).is_empty(),
        "a null prefix sends nothing"
    );
    let err = custom
        .set_connection(
            "smtp_default",
            None,
            &AirflowConnection::default(),
            ConnectionForm::Uri,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::KindDisabled {
                kind: AirflowKind::Connection
            }
        ),
        "{err}"
    );

    let x = backend_with(
        &emu,
        &json!({"sep": "x", "variables_prefix": "airflow_vars"}),
        &[],
    );
    let name = x
        .set_variable("a_b", None, &SecretString::from("1"))
        .await
        .unwrap();
    assert_eq!(name.as_str(), "airflowxvarsxaxb");
    assert_eq!(
        text(x.get_variable("a_b", None).await.unwrap()).as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn multi_team_lookups_try_the_team_first_and_refuse_ambiguous_ids() {
    let emu = emulator().await;
    let teams = backend_with(&emu, &json!({}), &[("AIRFLOW__CORE__MULTI_TEAM", "True")]);
    emu.set_secret("airflow-variables-team-a--db-host", "team-value");
    emu.set_secret("airflow-variables-db-host", "global-value");
    assert_eq!(
        text(teams.get_variable("db_host", Some("team_a")).await.unwrap()).as_deref(),
        Some("team-value")
    );
    assert_eq!(
        text(teams.get_variable("db_host", Some("team_b")).await.unwrap()).as_deref(),
        Some("global-value")
    );
    assert_eq!(
        text(teams.get_variable("db_host", None).await.unwrap()).as_deref(),
        Some("global-value")
    );
    assert_eq!(
        reads(&emu),
        [
            "airflow-variables-team-a--db-host",
            "airflow-variables-team-b--db-host",
            "airflow-variables-db-host"
        ],
        "team-scoped name first, the global one only when it is missing"
    );
    emu.clear_requests();
    emu.set_secret("airflow-variables-x--y", "smuggled");
    assert!(teams.get_variable("x--y", None).await.unwrap().is_none());
    assert!(
        teams
            .get_variable("x__y", Some("team_a"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(emu.requests_to(Target::Vault).is_empty());
    let err = teams
        .set_variable("x__y", None, &SecretString::from("v"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AmbiguousTeamId { .. }), "{err}");
    let name = teams
        .set_variable("token", Some("team_a"), &SecretString::from("t"))
        .await
        .unwrap();
    assert_eq!(name.as_str(), "airflow-variables-team-a--token");
}

#[tokio::test]
async fn writes_report_the_collisions_airflow_allows() {
    let emu = emulator().await;
    let backend = backend(&emu);
    backend
        .set_variable("a_b", None, &SecretString::from("first"))
        .await
        .unwrap();
    // The same id again is an update.
    backend
        .set_variable("a_b", None, &SecretString::from("second"))
        .await
        .unwrap();
    for twin in ["a-b", "A_B"] {
        let err = backend
            .set_variable(twin, None, &SecretString::from("third"))
            .await
            .unwrap_err();
        match err {
            Error::NameCollision { name, existing, .. } => {
                // Key Vault names ignore case: `A-B` is the same secret.
                assert!(name.eq_ignore_ascii_case("airflow-variables-a-b"), "{name}");
                assert_eq!(existing, "variable `a_b`");
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        emu.secret_value("airflow-variables-a-b").as_deref(),
        Some("second")
    );
    assert_eq!(
        emu.version_count("airflow-variables-a-b"),
        2,
        "nothing written on a collision"
    );
    // An untagged secret (written by someone else) is updated: nothing tells whose it is.
    emu.set_secret("airflow-variables-plain", "x");
    backend
        .set_variable("plain", None, &SecretString::from("y"))
        .await
        .unwrap();
}

#[tokio::test]
async fn connections_read_back_field_for_field_in_both_forms() {
    let emu = emulator().await;
    let backend = backend(&emu);
    let mut connection = AirflowConnection::default();
    connection.conn_type = Some("postgres".into());
    connection.host = Some("db.example".into());
    connection.login = Some("etl user@corp".into());
    connection.password = Some(SecretString::from("p@ss:w/rd?#&=+% é\"'"));
    connection.port = Some(5432);
    connection.schema = Some("ware/house".into());
    for extra in [
        r#"{"sslmode": "verify-full", "options": "-c search_path=a&b", "q": "x=y#z"}"#,
        r#"{"token": "t0k?&=", "retries": 3, "nested": {"k": [1, "two"]}, "big": 12345678901234567890}"#,
        r#"{"port_as_text": "5432", "flag": "true"}"#,
    ] {
        connection.set_extra(Some(extra)).unwrap();
        for (form, id) in [
            (ConnectionForm::Uri, "pg_uri"),
            (ConnectionForm::Json, "pg_json"),
        ] {
            backend
                .set_connection(id, None, &connection, form)
                .await
                .unwrap();
            let stored = text(backend.get_conn_value(id, None).await.unwrap()).unwrap();
            assert_eq!(ConnectionForm::of(&stored), form);
            let back = backend.get_connection(id, None).await.unwrap().unwrap();
            assert_eq!(back.host, connection.host, "{form:?} {extra}");
            assert_eq!(back.login, connection.login);
            assert_eq!(
                back.password.as_ref().map(|p| p.expose_secret().to_owned()),
                connection
                    .password
                    .as_ref()
                    .map(|p| p.expose_secret().to_owned())
            );
            assert_eq!(back.port, connection.port);
            assert_eq!(back.schema, connection.schema);
            assert_eq!(back.conn_type, connection.conn_type);
            let parsed = |c: &AirflowConnection| -> Value {
                serde_json::from_str(c.extra().unwrap().expose_secret()).unwrap()
            };
            assert_eq!(parsed(&back), parsed(&connection), "{form:?} {extra}");
        }
    }
}
