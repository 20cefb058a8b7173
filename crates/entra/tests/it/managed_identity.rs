//! Managed identity (IMDS and App Service) against the emulator.

use vaultref_emulator::{Emulator, Identity, Permissions, Target};
use vaultref_entra::{
    Error, ManagedIdentityCredential, ManagedIdentityOptions, TokenCredential, TokenRequestOptions,
    UserAssignedId,
};

use crate::support::{emulator, only_request, options, vault_accepts, vault_scope, vault_token};

fn imds(emu: &Emulator, identity: Option<UserAssignedId>) -> ManagedIdentityCredential {
    let host = emu.imds_endpoint().to_string();
    ManagedIdentityCredential::new(
        ManagedIdentityOptions {
            user_assigned_id: identity,
            ..ManagedIdentityOptions::default()
        },
        options(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)]),
    )
    .unwrap()
}

fn app_service(
    emu: &Emulator,
    header: &str,
    identity: Option<UserAssignedId>,
) -> ManagedIdentityCredential {
    let endpoint = emu.identity_endpoint().to_string();
    ManagedIdentityCredential::new(
        ManagedIdentityOptions {
            user_assigned_id: identity,
            ..ManagedIdentityOptions::default()
        },
        options(&[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", header),
        ]),
    )
    .unwrap()
}

#[tokio::test]
async fn imds_system_assigned_identity() {
    let emu = emulator().await;
    let token = imds(&emu, None)
        .get_token(&[&vault_scope(&emu)], &TokenRequestOptions::default())
        .await
        .unwrap();
    assert!(vault_accepts(&emu, token.secret()).await);
    let request = only_request(&emu, Target::ManagedIdentity);
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/metadata/identity/oauth2/token");
    assert_eq!(request.header("metadata"), Some("true"));
    assert_eq!(
        request.query_param("api-version").as_deref(),
        Some("2018-02-01")
    );
    assert_eq!(
        request.query_param("resource").as_deref(),
        Some(emu.vault_resource())
    );
    assert_eq!(request.query_param("client_id"), None);
    // The emulator sends every field as a string; expires_on was understood.
    assert!(token.expires_on() > time::OffsetDateTime::now_utc());
}

#[tokio::test]
async fn imds_user_assigned_identity_by_each_kind_of_id() {
    let emu = emulator().await;
    let resource_id = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-1";
    emu.add_managed_identity(
        Identity::managed("uami-client-1")
            .with_object_id("uami-object-1")
            .with_resource_id(resource_id),
        Permissions::all(),
    );
    let cases = [
        (
            UserAssignedId::ClientId("uami-client-1".into()),
            "client_id",
            "uami-client-1",
        ),
        (
            UserAssignedId::ObjectId("uami-object-1".into()),
            "object_id",
            "uami-object-1",
        ),
        (
            UserAssignedId::ResourceId(resource_id.into()),
            "msi_res_id",
            resource_id,
        ),
    ];
    for (id, param, value) in cases {
        emu.clear_requests();
        let token = vault_token(&emu, &imds(&emu, Some(id.clone())))
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        assert!(vault_accepts(&emu, &token).await, "{id:?}");
        let request = only_request(&emu, Target::ManagedIdentity);
        assert_eq!(request.query_param(param).as_deref(), Some(value), "{id:?}");
    }
}

#[tokio::test]
async fn unassigned_identity_is_unavailable_and_says_so() {
    let emu = emulator().await;
    let not_assigned = imds(
        &emu,
        Some(UserAssignedId::ClientId("not-assigned-here".into())),
    );
    let err = vault_token(&emu, &not_assigned).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("user-assigned identity with client id not-assigned-here is not assigned"),
        "{shown}"
    );
}

#[tokio::test]
async fn app_service_endpoint_with_the_identity_header() {
    let emu = emulator().await;
    let cred = app_service(&emu, emu.identity_header(), None);
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
    let request = only_request(&emu, Target::ManagedIdentity);
    assert_eq!(request.path, emu.identity_endpoint().path());
    assert_eq!(
        request.header("x-identity-header"),
        Some(emu.identity_header())
    );
    assert_eq!(
        request.query_param("api-version").as_deref(),
        Some("2019-08-01")
    );
}

#[tokio::test]
async fn app_service_user_assigned_by_resource_id_uses_mi_res_id() {
    let emu = emulator().await;
    let resource_id = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";
    emu.add_managed_identity(
        Identity::managed("web-client").with_resource_id(resource_id),
        Permissions::all(),
    );
    let cred = app_service(
        &emu,
        emu.identity_header(),
        Some(UserAssignedId::ResourceId(resource_id.into())),
    );
    vault_token(&emu, &cred).await.unwrap();
    let request = only_request(&emu, Target::ManagedIdentity);
    assert_eq!(
        request.query_param("mi_res_id").as_deref(),
        Some(resource_id)
    );
}

#[tokio::test]
async fn wrong_identity_header_is_a_failure_that_names_identity_header() {
    let emu = emulator().await;
    let cred = app_service(&emu, "stale-header-value", None);
    let err = vault_token(&emu, &cred).await.unwrap_err();
    assert!(
        matches!(err, Error::ManagedIdentity { status: 401, .. }),
        "{err}"
    );
    assert!(!err.is_unavailable());
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("IDENTITY_HEADER is wrong or stale"),
        "{shown}"
    );
    assert!(
        !shown.contains("stale-header-value") && !shown.contains(emu.identity_header()),
        "{shown}"
    );
}

#[tokio::test]
async fn more_than_one_scope_is_refused_before_any_request() {
    let emu = emulator().await;
    let err = imds(&emu, None)
        .get_token(
            &["https://a.example/.default", "https://b.example/.default"],
            &TokenRequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Configuration(_)), "{err}");
    assert!(emu.requests_to(Target::ManagedIdentity).is_empty());
}
