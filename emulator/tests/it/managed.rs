//! Managed identity: IMDS and App Service endpoints.

use crate::support::{client, json, plain};
use vaultref_emulator::{Identity, Permissions};

const STRING_FIELDS: [&str; 8] = [
    "access_token",
    "client_id",
    "expires_in",
    "expires_on",
    "ext_expires_in",
    "not_before",
    "resource",
    "token_type",
];

#[tokio::test]
async fn imds_requires_the_metadata_header_and_answers_with_string_fields() {
    let emu = plain().await;
    let url = format!(
        "{}metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        emu.imds_endpoint()
    );
    let (status, body) = json(client().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = json(
        client()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for field in STRING_FIELDS {
        assert!(body[field].is_string(), "{field} must be a string: {body}");
    }
    assert_eq!(body["resource"], "https://vault.azure.net");
    assert_eq!(body["client_id"], emu.managed_identity_client_id());
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3599);
}

#[tokio::test]
async fn user_assigned_identities_are_selected_by_client_id() {
    let emu = plain().await;
    emu.add_managed_identity(
        Identity::managed("uami-1").with_object_id("oid-1"),
        Permissions::read_only(),
    );
    let base = format!(
        "{}metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        emu.imds_endpoint()
    );
    let get = |query: &str| {
        client()
            .get(format!("{base}&{query}"))
            .header("Metadata", "true")
            .send()
    };
    let (status, body) = json(get("client_id=uami-1").await.unwrap()).await;
    assert_eq!((status, body["client_id"].as_str()), (200, Some("uami-1")));
    let (status, body) = json(get("object_id=oid-1").await.unwrap()).await;
    assert_eq!((status, body["client_id"].as_str()), (200, Some("uami-1")));
    let (status, body) = json(get("client_id=nobody").await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Identity not found");
    // An app registration is not a managed identity.
    let (status, _) = json(
        get(&format!("client_id={}", emu.client_id()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn app_service_checks_the_identity_header() {
    let emu = plain().await;
    let url = format!(
        "{}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net",
        emu.identity_endpoint()
    );
    let (status, _) = json(client().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let (status, _) = json(
        client()
            .get(&url)
            .header("X-IDENTITY-HEADER", "wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = json(
        client()
            .get(&url)
            .header("X-IDENTITY-HEADER", emu.identity_header())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for field in STRING_FIELDS {
        assert!(body[field].is_string(), "{field}");
    }
    // The request log never shows the identity header in Debug output.
    let logged = format!("{:?}", emu.requests());
    assert!(!logged.contains(emu.identity_header()));
}
