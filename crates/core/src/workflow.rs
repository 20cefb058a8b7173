//! What an OpenMetadata workflow file (the YAML or JSON the `metadata` CLI and Airflow run)
//! says about secrets: `workflowConfig.openMetadataServerConfig.secretsManagerProvider` and
//! `.secretsManagerLoader`, read as the ingestion reads them (openmetadata-ingestion's
//! `SecretsManagerFactory`: a missing provider is `db`, a missing loader `noop`).

use std::fmt;

use serde_yaml_ng::Value;

use crate::config::LoaderKind;
use crate::error::{Error, Result};

const SERVER_CONFIG: &str = "workflowConfig.openMetadataServerConfig";

/// The secrets manager a workflow's ingestion uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkflowProvider {
    /// `db` (or none): the ingestion's `DBSecretsManager`, which returns a reference's name as
    /// its value (`secret:x` becomes `x`).
    Db,
    /// `azure-kv` or `managed-azure-kv`: Azure Key Vault, found through the loader.
    AzureKeyVault,
}

impl fmt::Display for WorkflowProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Db => "db",
            Self::AzureKeyVault => "azure-kv",
        })
    }
}

/// `workflowConfig.openMetadataServerConfig`'s secrets settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowSecrets {
    /// `secretsManagerProvider`.
    pub provider: WorkflowProvider,
    /// `secretsManagerLoader`.
    pub loader: LoaderKind,
}

impl WorkflowSecrets {
    /// The settings of the workflow document `doc`; `None` when it has no
    /// `workflowConfig.openMetadataServerConfig` (it is not a workflow file).
    ///
    /// # Errors
    /// [`Error::Config`] naming the key for a provider vaultref does not implement, an unknown
    /// provider or loader, or a value that is not a string.
    pub fn from_document(doc: &Value) -> Result<Option<Self>> {
        let Some(server) = doc
            .get("workflowConfig")
            .and_then(|w| w.get("openMetadataServerConfig"))
            .filter(|s| s.is_mapping())
        else {
            return Ok(None);
        };
        let text = |key: &str| -> Result<Option<&str>> {
            match server.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::config(
                    format!("{SERVER_CONFIG}.{key}"),
                    "must be a string",
                )),
            }
        };
        let provider = match text("secretsManagerProvider")? {
            None | Some("db") => WorkflowProvider::Db,
            Some("azure-kv" | "managed-azure-kv") => WorkflowProvider::AzureKeyVault,
            Some(
                other @ ("aws" | "managed-aws" | "aws-ssm" | "managed-aws-ssm" | "gcp"
                | "kubernetes" | "openbao" | "managed-openbao" | "in-memory"),
            ) => {
                return Err(Error::config(
                    format!("{SERVER_CONFIG}.secretsManagerProvider"),
                    format!(
                        "is `{other}`, a secrets manager vaultref does not read: vaultref resolves azure-kv, managed-azure-kv and db"
                    ),
                ));
            }
            Some(other) => {
                return Err(Error::config(
                    format!("{SERVER_CONFIG}.secretsManagerProvider"),
                    format!(
                        "is `{other}`, which is not a secrets manager: use azure-kv, managed-azure-kv or db"
                    ),
                ));
            }
        };
        let loader = match text("secretsManagerLoader")? {
            None | Some("noop") => LoaderKind::Noop,
            Some("env") => LoaderKind::Env,
            Some("airflow") => LoaderKind::Airflow,
            Some(other) => {
                return Err(Error::config(
                    format!("{SERVER_CONFIG}.secretsManagerLoader"),
                    format!("is `{other}`: use noop, env or airflow"),
                ));
            }
        };
        Ok(Some(Self { provider, loader }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<Option<WorkflowSecrets>> {
        WorkflowSecrets::from_document(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    #[test]
    fn settings_are_read_as_the_ingestion_reads_them() {
        assert_eq!(read("source: {}").unwrap(), None);
        assert_eq!(
            read("workflowConfig:\n  openMetadataServerConfig:\n    hostPort: x\n").unwrap(),
            Some(WorkflowSecrets {
                provider: WorkflowProvider::Db,
                loader: LoaderKind::Noop
            })
        );
        assert_eq!(
            read("workflowConfig:\n  openMetadataServerConfig:\n    secretsManagerProvider: managed-azure-kv\n    secretsManagerLoader: env\n").unwrap(),
            Some(WorkflowSecrets {
                provider: WorkflowProvider::AzureKeyVault,
                loader: LoaderKind::Env
            })
        );
        for (yaml, key, hint) in [
            (
                "secretsManagerProvider: aws",
                "secretsManagerProvider",
                "does not read",
            ),
            (
                "secretsManagerProvider: vault",
                "secretsManagerProvider",
                "not a secrets manager",
            ),
            (
                "secretsManagerLoader: file",
                "secretsManagerLoader",
                "noop, env or airflow",
            ),
            (
                "secretsManagerLoader: [env]",
                "secretsManagerLoader",
                "string",
            ),
        ] {
            let doc = format!("workflowConfig:\n  openMetadataServerConfig:\n    {yaml}\n");
            match read(&doc) {
                Err(Error::Config { key: k, problem }) => {
                    assert_eq!(k, format!("{SERVER_CONFIG}.{key}"));
                    assert!(problem.contains(hint), "{problem}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
