//! The Kubernetes manifests of docs/deploy/kubernetes/ (docs/deploy-kubernetes.md) parse, and
//! hold what each way of signing in needs: for workload identity, the pod label the webhook
//! selects on (a string "true"), a service account that exists and carries the client-id
//! annotation, and no credential of its own; for a client secret, every credential from a
//! Secret that exists; for a user-assigned managed identity, its client id. Every vaultref and
//! Airflow configuration in them is one vaultref accepts.

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize as _;
use serde_yaml_ng::Value;
use vaultref_airflow::AirflowSettings;
use vaultref_core::{Config, Environment};

const USE_LABEL: &str = "azure.workload.identity/use";
const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
/// What the webhook sets; a pod that sets them itself fights it.
const WEBHOOK_VARIABLES: [&str; 4] = [
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

fn manifests() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            docs.push((name.clone(), value));
        }
    }
    docs
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(*key))?.as_str()
}

/// `(namespace, name)`.
type Key = (String, String);

fn key(doc: &Value) -> Key {
    (
        text(doc, &["metadata", "namespace"])
            .unwrap_or("default")
            .to_owned(),
        text(doc, &["metadata", "name"]).unwrap().to_owned(),
    )
}

/// The pod template of a workload, if it is one.
fn pod_template(doc: &Value) -> Option<&Value> {
    match text(doc, &["kind"])? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => doc["spec"].get("template"),
        "CronJob" => doc["spec"]["jobTemplate"]["spec"].get("template"),
        _ => None,
    }
}

fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| pod["spec"].get(*k).and_then(Value::as_sequence))
        .flatten()
        .collect()
}

#[test]
fn manifests_carry_what_each_sign_in_needs() {
    let docs = manifests();
    let mut service_accounts: BTreeMap<Key, &Value> = BTreeMap::new();
    let mut secrets: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    let mut config_maps: BTreeMap<Key, &Value> = BTreeMap::new();
    for (file, doc) in &docs {
        for field in ["apiVersion", "kind"] {
            assert!(text(doc, &[field]).is_some(), "{file}: {field}");
        }
        assert!(
            text(doc, &["metadata", "name"]).is_some(),
            "{file}: metadata.name"
        );
        match text(doc, &["kind"]).unwrap() {
            "ServiceAccount" => {
                service_accounts.insert(key(doc), doc);
            }
            "Secret" => {
                let keys = ["stringData", "data"]
                    .iter()
                    .filter_map(|k| doc.get(*k).and_then(Value::as_mapping))
                    .flat_map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)))
                    .collect();
                secrets.insert(key(doc), keys);
            }
            "ConfigMap" => {
                config_maps.insert(key(doc), &doc["data"]);
            }
            _ => {}
        }
    }

    let mut sign_ins = BTreeSet::new();
    for (file, doc) in &docs {
        let Some(pod) = pod_template(doc) else {
            continue;
        };
        let (namespace, workload) = key(doc);
        let at = format!("{file}: {workload}");
        let env: Vec<&Value> = containers(pod)
            .iter()
            .filter_map(|c| c.get("env").and_then(Value::as_sequence))
            .flatten()
            .collect();
        let env_names: BTreeSet<&str> = env.iter().filter_map(|e| text(e, &["name"])).collect();

        // Every reference resolves within the manifests.
        for var in &env {
            if let Some(secret) = var.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
                let name = (
                    namespace.clone(),
                    text(secret, &["name"]).unwrap().to_owned(),
                );
                let wanted = text(secret, &["key"]).unwrap();
                let keys = secrets
                    .get(&name)
                    .unwrap_or_else(|| panic!("{at}: no Secret {name:?}"));
                assert!(
                    keys.contains(wanted),
                    "{at}: Secret {name:?} has no key {wanted}"
                );
            }
            let name = text(var, &["name"]).unwrap();
            if name.contains("CLIENT_SECRET") {
                assert!(
                    var.get("value").is_none(),
                    "{at}: {name} must come from a Secret"
                );
            }
        }
        for container in containers(pod) {
            for from in container
                .get("envFrom")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(name) = text(from, &["configMapRef", "name"]) {
                    assert!(
                        config_maps.contains_key(&(namespace.clone(), name.to_owned())),
                        "{at}: no ConfigMap {name}"
                    );
                }
            }
        }
        for volume in pod["spec"]
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(name) = text(volume, &["configMap", "name"]) {
                assert!(
                    config_maps.contains_key(&(namespace.clone(), name.to_owned())),
                    "{at}: no ConfigMap {name}"
                );
            }
        }

        match pod["metadata"]["labels"].get(USE_LABEL) {
            Some(label) => {
                assert_eq!(
                    label,
                    &Value::String("true".into()),
                    "{at}: the label must be the string \"true\""
                );
                let account = text(pod, &["spec", "serviceAccountName"])
                    .unwrap_or_else(|| panic!("{at}: workload identity needs serviceAccountName"));
                let sa = service_accounts
                    .get(&(namespace.clone(), account.to_owned()))
                    .unwrap_or_else(|| panic!("{at}: no ServiceAccount {account}"));
                let client_id = text(sa, &["metadata", "annotations", CLIENT_ID_ANNOTATION]);
                assert!(
                    client_id.is_some_and(|id| !id.is_empty()),
                    "{at}: {account} lacks {CLIENT_ID_ANNOTATION}"
                );
                for var in WEBHOOK_VARIABLES.iter().chain(&["AZURE_CLIENT_SECRET"]) {
                    assert!(
                        !env_names.contains(var),
                        "{at}: sets {var}, which the webhook (or nothing) should"
                    );
                }
                sign_ins.insert("workload identity");
            }
            None if env_names.iter().any(|n| n.ends_with("CLIENT_SECRET")) => {
                sign_ins.insert("client secret");
            }
            None if env_names.contains("AZURE_CLIENT_ID") => {
                sign_ins.insert("user-assigned managed identity");
            }
            None => {}
        }
    }
    assert_eq!(
        sign_ins,
        BTreeSet::from([
            "client secret",
            "user-assigned managed identity",
            "workload identity"
        ])
    );

    // The configurations in the ConfigMaps are ones vaultref accepts.
    let env = Environment::from_pairs([
        ("FERNET_KEY", "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA="),
        ("VAULTREF_DATABASE_URL", "postgres://u@db/om"),
        ("OM_SM_TENANT_ID", "t"),
        ("OM_SM_CLIENT_ID", "c"),
        ("OM_SM_CLIENT_SECRET", "s"),
    ]);
    let mut checked = 0;
    for ((_, name), data) in &config_maps {
        if let Some(config) = text(data, &["vaultref.yaml"]) {
            Config::parse(config, &env).unwrap_or_else(|e| panic!("ConfigMap {name}: {e}"));
            checked += 1;
        }
        if data.get("AIRFLOW__SECRETS__BACKEND_KWARGS").is_some() {
            let vars = data.as_mapping().unwrap().iter().map(|(k, v)| {
                (
                    k.as_str().unwrap().to_owned(),
                    v.as_str().unwrap().to_owned(),
                )
            });
            let settings = AirflowSettings::load(&Environment::from_pairs(vars), None)
                .unwrap_or_else(|e| panic!("ConfigMap {name}: {e}"));
            assert!(settings.notes.is_empty(), "{:?}", settings.notes);
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}
