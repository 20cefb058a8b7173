//! From an `openmetadata.yaml` to stored entities.

use std::sync::Arc;

use serde_json::json;
use vaultref_core::{
    Catalog, Config, EntityType, Environment, InMemoryBackend, ProviderKind, SecretName,
    SecretsManager,
};

fn config(env: &[(&str, &str)]) -> Config {
    let path = format!(
        "{}/tests/data/openmetadata.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    Config::load(path.as_ref(), &Environment::from_pairs(env.iter().copied())).unwrap()
}

#[tokio::test]
async fn an_in_memory_configuration_stores_with_its_cluster_prefix_and_tags() {
    let config = config(&[
        ("SECRET_MANAGER", "in-memory"),
        ("OPENMETADATA_CLUSTER_NAME", "prod"),
        ("SECRET_MANAGER_PREFIX", "eu"),
        ("SECRET_MANAGER_TAGS", "[owner:data-platform]"),
    ]);
    assert_eq!(config.secrets_manager.provider, ProviderKind::InMemory);
    let vault = Arc::new(InMemoryBackend::new());
    let manager =
        SecretsManager::from_config(&config, Some(vault.clone()), Arc::new(Catalog::builtin()))
            .unwrap();
    let mut service = json!({"name": "kafka-prod", "serviceType": "Kafka",
        "connection": {"config": {"type": "Kafka", "bootstrapServers": "k:9092", "saslPassword": "p"}}});
    manager
        .store_entity(EntityType::MessagingService, &mut service)
        .await
        .unwrap();
    let name = SecretName::new("euprod-messaging-kafka-prod-saslpassword").unwrap();
    assert_eq!(vault.names(), std::slice::from_ref(&name));
    let tags = vault.attributes(&name).unwrap().tags;
    assert_eq!(tags.get("owner").map(String::as_str), Some("data-platform"));
}

#[tokio::test]
async fn a_missing_file_names_the_path() {
    let err = Config::load(
        "/nonexistent/openmetadata.yaml".as_ref(),
        &Environment::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/openmetadata.yaml"),
        "{err}"
    );
}

#[test]
fn managed_azure_without_a_backend_is_refused() {
    let config = config(&[]);
    assert_eq!(
        config.secrets_manager.provider,
        ProviderKind::ManagedAzureKeyVault
    );
    let err = SecretsManager::from_config(&config, None, Arc::new(Catalog::builtin())).unwrap_err();
    assert!(err.to_string().contains("managed-azure-kv"), "{err}");
}

#[tokio::test]
async fn long_secret_names_can_be_shortened_from_the_configuration() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/openmetadata.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "    caCertFile:",
        "    longSecretNames: ${LONG_NAMES:-refuse}\n    caCertFile:",
    );
    let long_pipeline = json!({"name": "a-pipeline-name-well-over-forty-characters-so-it-cannot-fit-in-key-vault",
        "sourceConfig": {"config": {"type": "DBT", "dbtConfigSource": {"dbtConfigType": "cloud",
            "dbtCloudAuthToken": "t", "dbtCloudAccountId": "1"}}}});
    for (policy, stored) in [("refuse", false), ("shorten", true)] {
        let env =
            Environment::from_pairs([("SECRET_MANAGER", "in-memory"), ("LONG_NAMES", policy)]);
        let config = Config::parse(&text, &env).unwrap();
        let manager =
            SecretsManager::from_config(&config, None, Arc::new(Catalog::builtin())).unwrap();
        let mut doc = long_pipeline.clone();
        let result = manager
            .store_entity(EntityType::IngestionPipeline, &mut doc)
            .await;
        assert_eq!(result.is_ok(), stored, "{policy}: {result:?}");
    }
}
