//! The resolver and the consumer loaders against the emulator over TLS.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use vaultref_core::{
    ConsumerVault, Environment, KeyVaultBackend, LoaderKind, Resolver, ResolverOptions,
};
use vaultref_emulator::{Fault, RecordedRequest, Target};

use crate::support::{deployment, emulator, environment};

/// The longest chain of requests each received after the previous one was answered, from the
/// emulator's log: the number of sequential round trips ("waves") they took. Nothing is asserted
/// about durations.
fn waves(requests: &[&RecordedRequest]) -> usize {
    let mut spans: Vec<(SystemTime, SystemTime)> = requests
        .iter()
        .map(|r| (r.received_at, r.responded_at))
        .collect();
    spans.sort();
    let mut chain = vec![1; spans.len()];
    for i in 0..spans.len() {
        for j in 0..i {
            if spans[j].1 <= spans[i].0 {
                chain[i] = chain[i].max(chain[j] + 1);
            }
        }
    }
    chain.into_iter().max().unwrap_or(0)
}

#[tokio::test]
async fn a_hundred_references_cost_a_hundred_reads_cold_in_at_most_three_waves_and_none_warm() {
    let emu = emulator().await;
    let names: Vec<String> = (0..100).map(|i| format!("ref-{i:03}")).collect();
    for name in &names {
        emu.set_secret(name, &format!("value-{name}"));
    }
    // Each vault answer takes a while (long against the CPU time of a TLS request on a loaded
    // machine), so reads that overlap really were concurrent.
    emu.inject(Fault::latency(Target::Vault, Duration::from_millis(400)));
    let d = deployment(&environment(&emu, emu.client_id(), emu.client_secret()));
    let resolver = Resolver::new(d.backend.clone(), ResolverOptions::default());
    // 100 distinct references, some of them twice, spread over a nested document.
    let doc: Value = json!({
        "services": names.iter().map(|n| json!({"name": n, "password": format!("secret:{n}")})).collect::<Vec<_>>(),
        "again": names.iter().step_by(10).map(|n| format!("secret:{n}")).collect::<Vec<_>>(),
    });

    let mut cold = doc.clone();
    let report = resolver.resolve_references(&mut cold).await.unwrap();
    assert_eq!(
        (report.resolved, report.distinct, report.vault_reads),
        (110, 100, 100)
    );
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            cold["services"][i]["password"],
            json!(format!("value-{name}"))
        );
    }
    let vault = emu.requests_to(Target::Vault);
    let reads: Vec<_> = vault
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/secrets/") && r.has_authorization())
        .collect();
    assert_eq!(reads.len(), 100, "one authenticated GET per distinct name");
    assert!(reads.iter().all(|r| r.status == 200));
    // Besides them, the fresh client's one challenge probe (unauthenticated, answered 401).
    let probes: Vec<_> = vault.iter().filter(|r| !r.has_authorization()).collect();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].status, 401);
    assert_eq!(vault.len(), 101);
    // Concurrency, from the log's receive and answer times: never more reads in flight than the
    // bound, and the 100 reads took at most three sequential round trips.
    let owned: Vec<RecordedRequest> = reads.iter().map(|r| (*r).clone()).collect();
    let in_flight = RecordedRequest::peak_in_flight(&owned);
    assert!(
        in_flight <= resolver.options().max_concurrency,
        "{in_flight} in flight"
    );
    let waves = waves(&reads);
    assert!(waves <= 3, "{waves} waves");
    eprintln!(
        "cold: {} authenticated GETs, {} challenge probe, {in_flight} reads in flight at most, {waves} waves",
        reads.len(),
        probes.len(),
    );

    emu.clear_requests();
    let mut warm = doc.clone();
    let report = resolver.resolve_references(&mut warm).await.unwrap();
    assert_eq!((report.resolved, report.vault_reads), (110, 0));
    assert_eq!(warm, cold);
    assert!(
        emu.requests().is_empty(),
        "warm resolution makes no request"
    );
}

#[tokio::test]
async fn the_env_loader_reads_the_vault_with_the_default_chain() {
    let emu = emulator().await;
    emu.set_secret(
        "openmetadata-database-mysql-test-authtype-password",
        "s3cret",
    );
    // What an ingestion container would have: the vault, the environment credential's
    // variables, the emulator's authority and CA.
    let env = Environment::from_pairs([
        ("AZURE_KEY_VAULT_URL", emu.vault_url().to_string()),
        ("AZURE_TENANT_ID", emu.tenant_id().to_owned()),
        ("AZURE_CLIENT_ID", emu.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", emu.client_secret().to_owned()),
        ("AZURE_AUTHORITY_HOST", emu.authority_host().to_string()),
        (
            "SSL_CERT_FILE",
            emu.ca_cert_path().unwrap().to_string_lossy().into_owned(),
        ),
    ]);
    let vault = ConsumerVault::load(LoaderKind::Env, &env, None).unwrap();
    let backend = Arc::new(KeyVaultBackend::from_consumer(&vault, &env).unwrap());
    let resolver = Resolver::new(backend, ResolverOptions::default());
    let mut doc = json!({"authType": {"password": "secret:openmetadata-database-mysql-test-authtype-password"}});
    resolver.resolve_references(&mut doc).await.unwrap();
    assert_eq!(doc, json!({"authType": {"password": "s3cret"}}));
    let token_requests = emu.requests_to(Target::Entra);
    assert!(
        token_requests
            .iter()
            .any(|r| r.form_field("grant_type").as_deref() == Some("client_credentials")),
        "the environment credential signed in with the client secret"
    );
}

#[tokio::test]
async fn the_airflow_loader_reads_its_section_and_a_named_vault_under_localhost() {
    let emu = emulator().await;
    let url = emu.vault_url_for("kvairflow");
    emu.vault("kvairflow").set_secret("bot-token", "t0k");
    let cfg = format!(
        "[openmetadata_secrets_manager]\nazure_key_vault_url = {url}\nazure_tenant_id = {}\nazure_client_id = {}\nazure_client_secret = {}\n",
        emu.tenant_id(),
        emu.client_id(),
        emu.client_secret()
    );
    let env = Environment::from_pairs([
        ("AZURE_AUTHORITY_HOST", emu.authority_host().to_string()),
        (
            "SSL_CERT_FILE",
            emu.ca_cert_path().unwrap().to_string_lossy().into_owned(),
        ),
    ]);
    let vault = ConsumerVault::load(LoaderKind::Airflow, &env, Some(&cfg)).unwrap();
    let backend = Arc::new(KeyVaultBackend::from_consumer(&vault, &env).unwrap());
    let value = Resolver::new(backend, ResolverOptions::default())
        .secret_value("bot-token")
        .await
        .unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&value), "t0k");
    // The challenge-resource check stayed on for the named vault and passed.
    assert!(
        emu.requests_to(Target::Vault)
            .iter()
            .all(|r| r.host.starts_with("kvairflow.localhost"))
    );
}

#[tokio::test]
async fn consumers_find_the_vault_from_the_parameters_else_from_the_loader() {
    let emu = emulator().await;
    emu.set_secret("db-password", "s3cret");
    let base = "fernetConfiguration:\n  fernetKey: jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=\n\
                secretsManagerConfiguration:\n  secretsManager: db\n\
                pipelineServiceClientConfiguration:\n  secretsManagerLoader: ${LOADER:-noop}\n";
    let mut env = vec![
        ("AZURE_KEY_VAULT_URL", emu.vault_url().to_string()),
        ("AZURE_TENANT_ID", emu.tenant_id().to_owned()),
        ("AZURE_CLIENT_ID", emu.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", emu.client_secret().to_owned()),
        ("AZURE_AUTHORITY_HOST", emu.authority_host().to_string()),
        (
            "SSL_CERT_FILE",
            emu.ca_cert_path().unwrap().to_string_lossy().into_owned(),
        ),
    ];
    let noop = Environment::from_pairs(env.clone());
    let config = vaultref_core::Config::parse(base, &noop).unwrap();
    let err = vaultref_core::consumer_backend(&config, &noop).unwrap_err();
    assert!(err.to_string().contains("env or airflow"), "{err}");

    env.push(("LOADER", "env".to_owned()));
    let with_env = Environment::from_pairs(env);
    let config = vaultref_core::Config::parse(base, &with_env).unwrap();
    let backend = vaultref_core::consumer_backend(&config, &with_env).unwrap();
    let mut doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("source:\n  password: secret:db-password\n").unwrap();
    Resolver::new(backend, ResolverOptions::default())
        .resolve_yaml_references(&mut doc)
        .await
        .unwrap();
    assert_eq!(
        serde_yaml_ng::to_string(&doc).unwrap(),
        "source:\n  password: s3cret\n"
    );
}
