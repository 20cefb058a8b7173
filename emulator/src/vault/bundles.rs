//! The secret bundles the vault answers with: a secret's id, value (where the operation
//! returns it), attributes, content type and tags, and the deleted-secret fields.

use serde_json::{Value, json};

use super::model::{Deleted, Secret, Vault, Version};
use super::operations::SecretsRequest;

impl SecretsRequest<'_, '_> {
    fn attributes(&self, vault: &Vault, version: &Version) -> Value {
        let mut attrs = json!({
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": vault.recovery_level(),
            "recoverableDays": vault.retention_days,
        });
        if let Some(nbf) = version.nbf {
            attrs["nbf"] = json!(nbf);
        }
        if let Some(exp) = version.exp {
            attrs["exp"] = json!(exp);
        }
        attrs
    }

    pub(super) fn decorate(&self, vault: &Vault, out: &mut Value, version: &Version) {
        out["attributes"] = self.attributes(vault, version);
        if let Some(content_type) = &version.content_type {
            out["contentType"] = json!(content_type);
        }
        if let Some(tags) = &version.tags {
            out["tags"] = json!(tags);
        }
    }

    pub(super) fn bundle(
        &self,
        vault: &Vault,
        secret: &Secret,
        version: &Version,
        with_value: bool,
    ) -> Value {
        let mut out =
            json!({"id": format!("{}/secrets/{}/{}", self.origin, secret.name, version.id)});
        if with_value {
            out["value"] = json!(version.value);
        }
        self.decorate(vault, &mut out, version);
        out
    }

    pub(super) fn deleted_fields(&self, out: &mut Value, deleted: &Deleted) {
        out["recoveryId"] = json!(format!(
            "{}/deletedsecrets/{}",
            self.origin, deleted.secret.name
        ));
        out["deletedDate"] = json!(deleted.deleted_date);
        out["scheduledPurgeDate"] = json!(deleted.scheduled_purge_date);
    }

    pub(super) fn deleted_bundle(&self, vault: &Vault, deleted: &Deleted) -> Value {
        let Some(latest) = deleted.secret.latest() else {
            return json!({});
        };
        let mut out = self.bundle(vault, &deleted.secret, latest, false);
        self.deleted_fields(&mut out, deleted);
        out
    }
}
