//! Client secret credential against the emulator's Entra endpoint.

use vaultref_emulator::{Identity, Permissions, Target};
use vaultref_entra::{
    ClientSecretCredential, CredentialOptions, Error, TokenCredential, TokenRequestOptions,
};

use crate::support::{
    emulator, emulator_options, only_request, secret_credential, vault_accepts, vault_scope,
    vault_token,
};

fn credential(
    tenant: &str,
    client: &str,
    secret: &str,
    options: CredentialOptions,
) -> ClientSecretCredential {
    ClientSecretCredential::new(tenant, client, secret.into(), options).unwrap()
}

#[tokio::test]
async fn gets_a_token_the_vault_accepts_and_caches_it() {
    let emu = emulator().await;
    let cred = secret_credential(&emu, emulator_options(&emu));
    let scope = vault_scope(&emu);
    let token = cred
        .get_token(&[&scope], &TokenRequestOptions::default())
        .await
        .unwrap();
    assert!(vault_accepts(&emu, token.secret()).await);
    assert!(token.expires_on() > time::OffsetDateTime::now_utc());

    let request = only_request(&emu, Target::Entra);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/{}/oauth2/v2.0/token", emu.tenant_id())
    );
    assert_eq!(request.status, 200);
    assert_eq!(
        request.form_field("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        request.form_field("client_id").as_deref(),
        Some(emu.client_id())
    );
    assert_eq!(
        request.form_field("client_secret").as_deref(),
        Some(emu.client_secret())
    );
    assert_eq!(request.form_field("scope"), Some(scope.clone()));

    // Served from the cache: still one request.
    let again = cred
        .get_token(&[&scope], &TokenRequestOptions::default())
        .await
        .unwrap();
    assert_eq!(again.secret(), token.secret());
    assert_eq!(emu.requests_to(Target::Entra).len(), 1);
}

/// Runs one failing request and returns the error, checking it never shows the secret.
async fn failure(
    tenant: &str,
    client: &str,
    secret: &str,
    emu: &vaultref_emulator::Emulator,
) -> Error {
    let cred = credential(tenant, client, secret, emulator_options(emu));
    let err = vault_token(emu, &cred).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(secret),
        "the secret leaked into the error: {shown}"
    );
    assert!(!err.is_unavailable());
    err
}

#[tokio::test]
async fn wrong_secret_says_the_secret_is_wrong() {
    let emu = emulator().await;
    let err = failure(
        emu.tenant_id(),
        emu.client_id(),
        "Wrong~Secret~Value-123",
        &emu,
    )
    .await;
    assert_eq!(err.aadsts_code(), Some(7_000_215));
    let details = err.entra_error().unwrap();
    assert_eq!(details.status, 401);
    assert_eq!(details.error, "invalid_client");
    assert!(
        details.trace_id.is_some() && details.correlation_id.is_some(),
        "{details:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("the client secret is wrong"), "{shown}");
    assert!(
        shown.starts_with("ClientSecretCredential authentication failed"),
        "{shown}"
    );
    assert!(
        shown.contains(details.trace_id.as_deref().unwrap()),
        "{shown}"
    );
    // Not retried: a wrong secret does not get better.
    assert_eq!(emu.requests_to(Target::Entra).len(), 1);
}

#[tokio::test]
async fn unknown_client_says_which_setting_to_check() {
    let emu = emulator().await;
    let err = failure(
        emu.tenant_id(),
        "00000000-1111-2222-3333-444444444444",
        "some-secret-value",
        &emu,
    )
    .await;
    assert_eq!(err.aadsts_code(), Some(700_016));
    assert!(
        err.to_string()
            .contains("no application with this client id"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_tenant_says_the_tenant_does_not_exist() {
    let emu = emulator().await;
    let err = failure(
        "contoso-missing.onmicrosoft.com",
        emu.client_id(),
        emu.client_secret(),
        &emu,
    )
    .await;
    assert_eq!(err.aadsts_code(), Some(90_002));
    assert!(
        err.to_string().contains("the tenant does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn additional_app_registrations_work() {
    let emu = emulator().await;
    emu.add_app(
        Identity::app("reader-app", "reader-secret-value"),
        Permissions::read_only(),
    );
    let cred = credential(
        emu.tenant_id(),
        "reader-app",
        "reader-secret-value",
        emulator_options(&emu),
    );
    let token = vault_token(&emu, &cred).await.unwrap();
    assert!(vault_accepts(&emu, &token).await);
}

#[tokio::test]
async fn challenge_tenant_must_be_allowed() {
    let emu = emulator().await;
    let scope = vault_scope(&emu);
    let other = TokenRequestOptions::for_tenant("other-tenant.example");

    let cred = secret_credential(&emu, emulator_options(&emu));
    let err = cred.get_token(&[&scope], &other).await.unwrap_err();
    assert!(matches!(err, Error::TenantNotAllowed { .. }), "{err}");
    assert!(
        emu.requests_to(Target::Entra).is_empty(),
        "refused before any request"
    );

    // The same tenant as configured is fine, whatever its case.
    let same = TokenRequestOptions::for_tenant(emu.tenant_id().to_uppercase());
    cred.get_token(&[&scope], &same).await.unwrap();

    // Allowed: the request goes to that tenant (which the emulator does not know).
    let options = CredentialOptions {
        additionally_allowed_tenants: vec!["*".into()],
        ..emulator_options(&emu)
    };
    let cred = secret_credential(&emu, options);
    let err = cred.get_token(&[&scope], &other).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(90_002));
    let last = emu.requests_to(Target::Entra).pop().unwrap();
    assert_eq!(last.path, "/other-tenant.example/oauth2/v2.0/token");
}
