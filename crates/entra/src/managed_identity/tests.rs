use crate::Env;

use super::*;

fn credential(
    vars: &[(&str, &str)],
    identity: Option<UserAssignedId>,
) -> Result<ManagedIdentityCredential> {
    ManagedIdentityCredential::new(
        ManagedIdentityOptions {
            user_assigned_id: identity,
            ..ManagedIdentityOptions::default()
        },
        CredentialOptions {
            env: Env::from_vars(vars.iter().copied()),
            ..CredentialOptions::default()
        },
    )
}

/// Issue 14: managed-identity endpoints are plain http by Azure's design, so they must stay
/// on the machine (loopback or link-local) unless they use TLS.
#[test]
fn plain_http_endpoints_stay_on_loopback_or_link_local() {
    for (vars, ok) in [
        (
            &[
                (IDENTITY_ENDPOINT, "http://127.0.0.1:41566/MSI/token/"),
                (IDENTITY_HEADER, "h"),
            ][..],
            true,
        ),
        (
            &[
                (IDENTITY_ENDPOINT, "https://identity.example/token"),
                (IDENTITY_HEADER, "h"),
            ][..],
            true,
        ),
        (
            &[
                (IDENTITY_ENDPOINT, "http://10.1.2.3:8081/msi/token"),
                (IDENTITY_HEADER, "h"),
            ][..],
            false,
        ),
        (
            &[(AZURE_POD_IDENTITY_AUTHORITY_HOST, "http://169.254.169.254")][..],
            true,
        ),
        (
            &[(AZURE_POD_IDENTITY_AUTHORITY_HOST, "http://nmi.example:2579")][..],
            false,
        ),
        (
            &[(
                AZURE_POD_IDENTITY_AUTHORITY_HOST,
                "http://u:s3cr3t@127.0.0.1:9",
            )][..],
            false,
        ),
    ] {
        match credential(vars, None) {
            Ok(_) => assert!(ok, "{vars:?} must be refused"),
            Err(e) => {
                assert!(!ok, "{vars:?}: {e}");
                let shown = e.to_string();
                assert!(matches!(e, Error::Configuration(_)), "{shown}");
                assert!(!shown.contains("s3cr3t"), "{shown}");
            }
        }
    }
}

#[test]
fn endpoint_selection_follows_python() {
    let imds = credential(&[], None).unwrap();
    assert_eq!(
        imds.source.url().as_str(),
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );
    let pod = credential(
        &[(AZURE_POD_IDENTITY_AUTHORITY_HOST, "http://127.0.0.1:9/base")],
        None,
    )
    .unwrap();
    assert_eq!(
        pod.source.url().as_str(),
        "http://127.0.0.1:9/base/metadata/identity/oauth2/token"
    );
    let app = credential(
        &[
            (IDENTITY_ENDPOINT, "http://127.0.0.1:9/msi/token"),
            (IDENTITY_HEADER, "h"),
        ],
        None,
    )
    .unwrap();
    assert!(!app.source.is_imds());
    let fabric = credential(
        &[
            (IDENTITY_ENDPOINT, "https://x"),
            (IDENTITY_HEADER, "h"),
            (IDENTITY_SERVER_THUMBPRINT, "ab"),
        ],
        None,
    )
    .unwrap_err();
    assert!(
        fabric.is_unavailable() && fabric.to_string().contains("Service Fabric"),
        "{fabric}"
    );
    let bad = credential(
        &[(IDENTITY_ENDPOINT, "not a url"), (IDENTITY_HEADER, "h")],
        None,
    )
    .unwrap_err();
    assert!(bad.to_string().contains("IDENTITY_ENDPOINT"), "{bad}");
}

#[test]
fn request_query_and_headers() {
    let check = |vars: &[(&str, &str)], id: Option<UserAssignedId>, expected_query: &str| {
        let credential = credential(vars, id).unwrap();
        let request = credential.source.request("https://vault.azure.net");
        assert_eq!(request.url().query(), Some(expected_query));
        assert_eq!(request.headers()["Metadata"], "true");
        request
    };
    check(
        &[],
        None,
        "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
    );
    check(
        &[],
        Some(UserAssignedId::ClientId("c1".into())),
        "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=c1",
    );
    check(
        &[],
        Some(UserAssignedId::ObjectId("o1".into())),
        "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&object_id=o1",
    );
    check(
        &[],
        Some(UserAssignedId::ResourceId("/r".into())),
        "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&msi_res_id=%2Fr",
    );
    let app = [
        (IDENTITY_ENDPOINT, "http://127.0.0.1:9/msi/token"),
        (IDENTITY_HEADER, "hdr-secret"),
    ];
    let request = check(
        &app,
        Some(UserAssignedId::ResourceId("/r".into())),
        "api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&mi_res_id=%2Fr",
    );
    assert_eq!(request.headers()["X-IDENTITY-HEADER"], "hdr-secret");
    assert!(
        !format!("{:?}", request.headers()).contains("hdr-secret"),
        "sensitive header is redacted in Debug"
    );
}

#[test]
fn scopes_to_resource() {
    assert_eq!(
        scope_to_resource(&["https://vault.azure.net/.default".into()]).unwrap(),
        "https://vault.azure.net"
    );
    assert_eq!(
        scope_to_resource(&["https://vault.azure.net".into()]).unwrap(),
        "https://vault.azure.net"
    );
    assert!(scope_to_resource(&["a/.default".into(), "b/.default".into()]).is_err());
}

#[test]
fn token_bodies_with_strings_or_numbers() {
    let source = credential(&[], None).unwrap().source.clone();
    let at = time::macros::datetime!(2026-11-23 08:00 UTC);
    let reply = |status: u16, body: &str| Reply {
        status: reqwest::StatusCode::from_u16(status).unwrap(),
        headers: reqwest::header::HeaderMap::new(),
        body: body.as_bytes().to_vec(),
        attempts: 1,
        retry_after: None,
    };
    let strings = r#"{"access_token":"tok","client_id":"c","expires_in":"86399","expires_on":"1795502739","ext_expires_in":"86399","not_before":"1795416340","resource":"https://vault.azure.net","token_type":"Bearer"}"#;
    let token = source.interpret(&reply(200, strings), at).unwrap();
    assert_eq!(token.expires_on().unix_timestamp(), 1_795_502_739);
    assert_eq!(
        token.refresh_on(),
        Some(at + Duration::from_millis(43_199_500))
    );
    let numbers =
        r#"{"access_token":"tok","expires_in":3600,"expires_on":1795419940,"token_type":"Bearer"}"#;
    assert_eq!(
        source
            .interpret(&reply(200, numbers), at)
            .unwrap()
            .expires_on()
            .unix_timestamp(),
        1_795_419_940
    );
    let huge = format!(r#"{{"access_token":"tok","expires_in":"{}"}}"#, u64::MAX);
    let err = source.interpret(&reply(200, &huge), at).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    let only_in = r#"{"access_token":"tok","expires_in":"600"}"#;
    assert_eq!(
        source
            .interpret(&reply(200, only_in), at)
            .unwrap()
            .expires_on(),
        at + Duration::from_secs(600)
    );

    let leaked = source
        .interpret(&reply(200, r#"{"access_token":"SECRET-TOKEN"}"#), at)
        .unwrap_err()
        .to_string();
    assert!(!leaked.contains("SECRET-TOKEN"), "{leaked}");

    let not_assigned = source
        .interpret(
            &reply(
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            ),
            at,
        )
        .unwrap_err();
    assert!(not_assigned.is_unavailable());
    assert!(
        not_assigned
            .to_string()
            .contains("no managed identity is assigned"),
        "{not_assigned}"
    );
    let no_header = source
        .interpret(&reply(400, r#"{"error":"invalid_request","error_description":"Required metadata header not specified"}"#), at)
        .unwrap_err();
    assert!(!no_header.is_unavailable());
    assert!(
        no_header.to_string().contains("Metadata: true"),
        "{no_header}"
    );
}
