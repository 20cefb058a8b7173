//! Entra ID: discovery, client secret and assertion tokens, and the error bodies.

use std::time::Duration;

use crate::support::{client, json, plain, token_request};
use vaultref_emulator::{Identity, Permissions, Target};

#[tokio::test]
async fn openid_configuration_points_at_the_token_endpoint_of_the_host_used() {
    let emu = plain().await;
    let url = format!(
        "http://localhost:{}/{}/v2.0/.well-known/openid-configuration",
        emu.port(),
        emu.tenant_id()
    );
    let (status, body) = json(client().get(url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["token_endpoint"],
        format!(
            "http://localhost:{}/{}/oauth2/v2.0/token",
            emu.port(),
            emu.tenant_id()
        )
    );
    assert!(
        body["authorization_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/authorize")
    );
    assert!(body["issuer"].as_str().unwrap().ends_with("/v2.0"));
}

#[tokio::test]
async fn client_secret_gets_a_bearer_token_with_numeric_lifetimes() {
    let emu = plain().await;
    let scope = format!("{}/.default", emu.vault_resource());
    let (status, body) = token_request(&emu, emu.client_id(), emu.client_secret(), &scope).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    let logged = emu.requests_to(Target::Entra);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, 200);
    assert_eq!(
        logged[0].form_field("grant_type").as_deref(),
        Some("client_credentials")
    );
}

#[tokio::test]
async fn wrong_secret_is_401_invalid_client_7000215_with_entra_trailer() {
    let emu = plain().await;
    let scope = format!("{}/.default", emu.vault_resource());
    let (status, body) = token_request(&emu, emu.client_id(), "not-the-secret", &scope).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], serde_json::json!([7_000_215]));
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
    assert!(description.contains("\r\nTrace ID: "));
    assert!(description.contains("\r\nCorrelation ID: "));
    assert!(description.contains("\r\nTimestamp: "));
    assert!(!description.contains("not-the-secret"));
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field}");
    }
}

#[tokio::test]
async fn unknown_client_and_unknown_tenant_are_400_with_their_codes() {
    let emu = plain().await;
    let scope = format!("{}/.default", emu.vault_resource());
    let (status, body) = token_request(&emu, "no-such-app", "x", &scope).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(body["error_codes"][0], 700_016);

    let url = format!("{}nope/oauth2/v2.0/token", emu.authority_host());
    let (status, body) = json(
        client()
            .post(url)
            .form(&[
                ("client_id", emu.client_id()),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_tenant"))
    );
    assert_eq!(body["error_codes"][0], 90_002);
    let discovery = format!(
        "{}nope/v2.0/.well-known/openid-configuration",
        emu.authority_host()
    );
    let (status, body) = json(client().get(discovery).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(90_002))
    );
}

#[tokio::test]
async fn scope_without_default_suffix_is_invalid_scope() {
    let emu = plain().await;
    let (status, body) = token_request(
        &emu,
        emu.client_id(),
        emu.client_secret(),
        "https://vault.azure.net/read",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

async fn assertion_request(
    emu: &vaultref_emulator::Emulator,
    client_id: &str,
    assertion: &str,
) -> (u16, serde_json::Value) {
    let url = format!(
        "{}{}/oauth2/v2.0/token",
        emu.authority_host(),
        emu.tenant_id()
    );
    json(
        client()
            .post(url)
            .form(&[
                ("client_assertion", assertion),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_id", client_id),
                ("grant_type", "client_credentials"),
                ("scope", &format!("{}/.default", emu.vault_resource())),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn federated_token_file_works_verbatim_including_its_trailing_newline() {
    let emu = plain().await;
    let file = std::fs::read_to_string(emu.federated_token_file()).unwrap();
    assert!(file.ends_with('\n'));
    let (status, body) = assertion_request(&emu, emu.workload_client_id(), &file).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].is_u64());
}

#[tokio::test]
async fn expired_foreign_or_mismatched_assertions_are_refused() {
    let emu = plain().await;
    let expired = emu.issue_federated_token(Duration::ZERO);
    let (status, body) = assertion_request(&emu, emu.workload_client_id(), &expired).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(700_024))
    );
    assert_eq!(body["error"], "invalid_client");

    let other = plain().await;
    let foreign = other.issue_federated_token(Duration::from_secs(600));
    let (status, body) = assertion_request(&emu, emu.workload_client_id(), &foreign).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );

    // A valid assertion for one workload does not authenticate another.
    emu.add_app(Identity::workload("wi-2"), Permissions::all());
    let for_first = emu.issue_federated_token(Duration::from_secs(600));
    let (status, body) = assertion_request(&emu, "wi-2", &for_first).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(70_021))
    );
    let for_second = emu.issue_federated_token_for("wi-2", Duration::from_secs(600));
    let (status, _) = assertion_request(&emu, "wi-2", &for_second).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn missing_credential_is_7000218() {
    let emu = plain().await;
    let url = format!(
        "{}{}/oauth2/v2.0/token",
        emu.authority_host(),
        emu.tenant_id()
    );
    let (status, body) = json(
        client()
            .post(url)
            .form(&[
                ("client_id", emu.client_id()),
                ("grant_type", "client_credentials"),
                ("scope", "https://vault.azure.net/.default"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(7_000_218))
    );
}
