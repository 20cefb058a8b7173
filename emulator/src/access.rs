//! How a vault authorizes data-plane calls, and the 403 bodies each model answers with:
//! access policies (`AccessDenied`), Azure RBAC (`ForbiddenByRbac`) and a policy denial
//! (`ForbiddenByPolicy`). Facts: docs/facts-checked.md 1.20 and 1.21, spec B7.

use serde::{Deserialize, Serialize};

use crate::identity::SecretPermission;

/// The region every emulated vault claims to be in (403 messages name it).
pub(crate) const LOCATION: &str = "eastus";
/// The subscription in the resource ids of RBAC 403 messages.
pub(crate) const SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The resource group in the resource ids of RBAC 403 messages.
pub(crate) const RESOURCE_GROUP: &str = "vaultref-emulator";

/// How a vault authorizes data-plane calls; it decides the shape of the 403 a caller without
/// the needed permission gets. Which operations an identity may do is the same in both: its
/// [`Permissions`](crate::Permissions) stand for its access policy or its role assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AccessModel {
    /// Vault access policies (the default): 403 `Forbidden` / innererror `AccessDenied`,
    /// "The user, group or application '…' does not have secrets get permission on key vault '…'".
    #[default]
    AccessPolicy,
    /// Azure RBAC (`enableRbacAuthorization`): 403 `Forbidden` / innererror `ForbiddenByRbac`,
    /// the `\r\n`-joined "Caller is not authorized to perform action on resource." message
    /// naming the caller, the data action and the resource id.
    Rbac,
}

/// Who a 403 is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) object_id: &'a str,
    pub(crate) tenant_id: &'a str,
}

impl Caller<'_> {
    /// `appid=…;oid=…;iss=https://sts.windows.net/{tenant}/`, as every 403 names the caller.
    fn describe(&self) -> String {
        format!(
            "appid={};oid={};iss=https://sts.windows.net/{}/",
            self.client_id, self.object_id, self.tenant_id
        )
    }
}

/// The RBAC data action a secret operation needs (Key Vault's built-in role definitions).
/// Reading a deleted secret is taken to need `readMetadata` (not confirmed on the wire).
pub(crate) fn data_action(permission: SecretPermission, reads_value: bool) -> &'static str {
    match permission {
        SecretPermission::Get if reads_value => {
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        }
        SecretPermission::Get | SecretPermission::List => {
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
        }
        SecretPermission::Set => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
        SecretPermission::Delete => "Microsoft.KeyVault/vaults/secrets/delete",
        SecretPermission::Recover => "Microsoft.KeyVault/vaults/secrets/recover/action",
        SecretPermission::Purge => "Microsoft.KeyVault/vaults/secrets/purge/action",
        SecretPermission::Backup => "Microsoft.KeyVault/vaults/secrets/backup/action",
        SecretPermission::Restore => "Microsoft.KeyVault/vaults/secrets/restore/action",
    }
}

/// The access-policy vault's message (facts-checked 1.20).
pub(crate) fn access_denied_message(
    caller: Caller<'_>,
    permission: SecretPermission,
    vault: &str,
) -> String {
    format!(
        "The user, group or application '{}' does not have secrets {} permission on key vault '{vault};location={LOCATION}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
        caller.describe(),
        permission.as_str()
    )
}

/// The RBAC vault's message (facts-checked 1.21): lines joined by `\r\n` and ended by one, the
/// resource id in lower case, ending at the vault for list and restore (no secret named).
pub(crate) fn rbac_message(
    caller: Caller<'_>,
    action: &str,
    vault: &str,
    secret: Option<&str>,
) -> String {
    let mut resource = format!(
        "/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers/microsoft.keyvault/vaults/{vault}"
    );
    if let Some(secret) = secret {
        resource.push_str("/secrets/");
        resource.push_str(secret);
    }
    let resource = resource.to_ascii_lowercase();
    [
        "Caller is not authorized to perform action on resource.".to_owned(),
        "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.".to_owned(),
        format!("Caller: {}", caller.describe()),
        format!("Action: '{action}'"),
        format!("Resource: '{resource}'"),
        "Assignment: (not found)".to_owned(),
        "DenyAssignmentId: null".to_owned(),
        // The trailing space before the line break is the service's.
        "DecisionReason: 'DeniedWithNoValidRBAC' ".to_owned(),
        format!("Vault: {vault};location={LOCATION}"),
        String::new(),
    ]
    .join("\r\n")
}

/// A policy denial's message: the on-behalf-of form seen from the service
/// (SparebankenVest/azure-key-vault-to-kubernetes#232, spec B7).
pub(crate) fn policy_message(caller: Caller<'_>) -> String {
    format!(
        "The policy requires the caller '{}' to use on-behalf-of (OBO) flow. For more information on OBO, please see https://go.microsoft.com/fwlink/?linkid=2152310",
        caller.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: Caller<'static> = Caller {
        client_id: "app-1",
        object_id: "oid-1",
        tenant_id: "tid-1",
    };

    #[test]
    fn rbac_message_is_the_services_crlf_joined_text() {
        let message = rbac_message(
            CALLER,
            data_action(SecretPermission::Get, true),
            "team-a",
            Some("Db-Pass"),
        );
        let expected = "Caller is not authorized to perform action on resource.\r\n\
            If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n\
            Caller: appid=app-1;oid=oid-1;iss=https://sts.windows.net/tid-1/\r\n\
            Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n\
            Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/vaultref-emulator/providers/microsoft.keyvault/vaults/team-a/secrets/db-pass'\r\n\
            Assignment: (not found)\r\n\
            DenyAssignmentId: null\r\n\
            DecisionReason: 'DeniedWithNoValidRBAC' \r\n\
            Vault: team-a;location=eastus\r\n";
        assert_eq!(message, expected);
    }

    #[test]
    fn list_actions_name_the_vault_only() {
        let message = rbac_message(
            CALLER,
            data_action(SecretPermission::List, false),
            "team-a",
            None,
        );
        assert!(
            message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'\r\n")
        );
        assert!(message.contains("/providers/microsoft.keyvault/vaults/team-a'\r\n"));
    }

    #[test]
    fn every_permission_has_a_data_action() {
        assert_eq!(
            data_action(SecretPermission::Get, false),
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
        );
        for (permission, suffix) in [
            (SecretPermission::Set, "setSecret/action"),
            (SecretPermission::Delete, "delete"),
            (SecretPermission::Recover, "recover/action"),
            (SecretPermission::Purge, "purge/action"),
            (SecretPermission::Backup, "backup/action"),
            (SecretPermission::Restore, "restore/action"),
        ] {
            assert_eq!(
                data_action(permission, false),
                format!("Microsoft.KeyVault/vaults/secrets/{suffix}")
            );
        }
    }

    #[test]
    fn access_policy_and_policy_messages_name_the_caller() {
        assert_eq!(
            access_denied_message(CALLER, SecretPermission::Set, "kv"),
            "The user, group or application 'appid=app-1;oid=oid-1;iss=https://sts.windows.net/tid-1/' does not have secrets set permission on key vault 'kv;location=eastus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
        );
        assert!(
            policy_message(CALLER)
                .starts_with("The policy requires the caller 'appid=app-1;oid=oid-1;iss=https://sts.windows.net/tid-1/' to use on-behalf-of (OBO) flow.")
        );
    }
}
