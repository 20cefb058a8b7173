//! The Key Vault data plane: challenge, token validation, permissions and every operation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use vaultref_emulator::{
    AccessModel, Emulator, EmulatorConfig, Fault, Identity, ManualClock, Permissions, Target,
    TokenClaims,
};

use crate::support::{
    app_token, client, default_token, json as read, list_secrets, plain, token_request, vault_path,
    vault_statuses,
};

/// A tiny authenticated client of one emulator vault.
struct Kv<'a> {
    emu: &'a Emulator,
    token: String,
}

impl<'a> Kv<'a> {
    async fn new(emu: &'a Emulator) -> Self {
        Self {
            emu,
            token: default_token(emu).await,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client()
            .request(method, vault_path(self.emu, path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    async fn set(&self, name: &str, value: &str) -> Value {
        let (status, body) = self
            .call(
                "PUT",
                &format!("secrets/{name}"),
                Some(json!({"value": value})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn version_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn body_less_unauthenticated_request_gets_the_challenge_before_any_parsing() {
    let emu = plain().await;
    // Not JSON at all: the challenge must come before body validation.
    let response = client()
        .put(vault_path(&emu, "secrets/x"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization=\"http://127.0.0.1:{}/{}\", resource=\"{}\"",
            emu.port(),
            emu.tenant_id(),
            emu.vault_resource()
        )
    );
    assert_eq!(challenge, emu.challenge());
    assert!(response.headers().get("retry-after").is_none());
    let (_, body) = read(response).await;
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert_eq!(
        body["error"]["message"],
        "AKV10000: Request is missing a Bearer or PoP token."
    );
    assert_eq!(emu.requests_to(Target::Vault)[0].status, 401);
}

#[tokio::test]
async fn secret_lifecycle_with_versions_update_soft_delete_recover_purge_backup_restore() {
    let emu = plain().await;
    let kv = Kv::new(&emu).await;

    let first = kv.set("Db-Pass", "one").await;
    let id = first["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("http://127.0.0.1:{}/secrets/Db-Pass/", emu.port())),
        "{id}"
    );
    let v1 = version_of(id).to_owned();
    assert_eq!(v1.len(), 32);
    assert!(
        v1.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(first["attributes"]["enabled"], true);
    assert_eq!(
        first["attributes"]["recoveryLevel"],
        "Recoverable+Purgeable"
    );
    assert_eq!(first["attributes"]["recoverableDays"], 90);
    assert!(first["attributes"]["created"].is_i64());

    let (status, second) = kv
        .call(
            "PUT",
            "secrets/db-pass",
            Some(json!({"value": "two", "contentType": "text/plain", "tags": {"a": "b"},
                        "attributes": {"enabled": true, "exp": 1_893_456_000, "nbf": 1_700_000_000}})),
        )
        .await;
    assert_eq!(status, 200);
    let v2 = version_of(second["id"].as_str().unwrap()).to_owned();
    assert_ne!(v1, v2);
    assert_eq!(second["attributes"]["exp"], 1_893_456_000);
    assert_eq!(emu.version_count("DB-PASS"), 2);

    // Latest with and without the trailing slash, by version, case-insensitively.
    for path in ["secrets/db-pass", "secrets/db-pass/", "secrets/DB-PASS/"] {
        let (status, body) = kv.call("GET", path, None).await;
        assert_eq!(
            (status, body["value"].as_str()),
            (200, Some("two")),
            "{path}"
        );
        assert_eq!(body["contentType"], "text/plain");
        assert_eq!(body["tags"]["a"], "b");
    }
    let (status, body) = kv.call("GET", &format!("secrets/db-pass/{v1}"), None).await;
    assert_eq!((status, body["value"].as_str()), (200, Some("one")));
    let (status, body) = kv
        .call("GET", &format!("secrets/db-pass/{}", "0".repeat(32)), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );

    // Update attributes of the latest version; the reply has no value.
    let (status, body) = kv
        .call(
            "PATCH",
            "secrets/db-pass/",
            Some(json!({"contentType": "x", "tags": {"t": "1"}, "attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.get("value").is_none());
    assert_eq!(body["contentType"], "x");
    assert_eq!(body["attributes"]["enabled"], false);
    let (status, body) = kv.call("GET", "secrets/db-pass/", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("Forbidden"))
    );
    let (status, _) = kv.call("GET", &format!("secrets/db-pass/{v1}"), None).await;
    assert_eq!(status, 200, "older enabled version stays readable");
    kv.call(
        "PATCH",
        &format!("secrets/db-pass/{v2}"),
        Some(json!({"attributes": {"enabled": true}})),
    )
    .await;

    // Backup before deleting.
    let (status, backup) = kv.call("POST", "secrets/db-pass/backup", None).await;
    assert_eq!(status, 200);
    let blob = backup["value"].as_str().unwrap().to_owned();
    assert!(!blob.contains('+') && !blob.contains('/'), "base64url");

    // Soft delete: all versions go, the name is blocked.
    let (status, deleted) = kv.call("DELETE", "secrets/db-pass", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted["recoveryId"],
        format!("http://127.0.0.1:{}/deletedsecrets/Db-Pass", emu.port())
    );
    assert!(deleted.get("value").is_none());
    assert_eq!(
        deleted["scheduledPurgeDate"].as_i64().unwrap() - deleted["deletedDate"].as_i64().unwrap(),
        90 * 86_400
    );
    let (status, body) = kv.call("GET", "secrets/db-pass/", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );
    let (status, body) = kv
        .call("PUT", "secrets/db-pass", Some(json!({"value": "three"})))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "Conflict");
    assert_eq!(
        body["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    let (status, body) = kv.call("GET", "deletedsecrets/db-pass", None).await;
    assert_eq!((status, body["recoveryId"].is_string()), (200, true));
    let (status, body) = kv.call("GET", "deletedsecrets", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    assert_eq!(emu.deleted_secret_names(), vec!["Db-Pass".to_owned()]);

    // Recover: both versions come back.
    let (status, body) = kv
        .call("POST", "deletedsecrets/db-pass/recover", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(version_of(body["id"].as_str().unwrap()), v2);
    assert_eq!(emu.secret_value("db-pass").as_deref(), Some("two"));
    assert_eq!(emu.version_count("db-pass"), 2);

    // Delete and purge; the name is free again; restore brings every version back.
    kv.call("DELETE", "secrets/db-pass", None).await;
    let (status, body) = kv.call("DELETE", "deletedsecrets/db-pass", None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = kv.call("GET", "deletedsecrets/db-pass", None).await;
    assert_eq!(status, 404);
    let (status, body) = kv
        .call("POST", "secrets/restore", Some(json!({"value": blob})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emu.version_count("db-pass"), 2);
    let (status, body) = kv
        .call("POST", "secrets/restore", Some(json!({"value": blob})))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("Conflict"))
    );
    let (status, body) = kv
        .call(
            "POST",
            "secrets/restore",
            Some(json!({"value": "bm90LWEtYmFja3Vw"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
}

#[tokio::test]
async fn lists_page_with_maxresults_and_absolute_next_links() {
    let emu = plain().await;
    let kv = Kv::new(&emu).await;
    for name in ["c", "a", "b"] {
        kv.set(name, name).await;
    }
    kv.set("a", "a2").await;
    let mut url = vault_path(&emu, "secrets?maxresults=2");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = read(
            client()
                .get(&url)
                .bearer_auth(&kv.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for item in body["value"].as_array().unwrap() {
            assert!(item.get("value").is_none(), "lists carry no values");
            seen.push(
                item["id"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
            );
        }
        match body["nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("http://127.0.0.1:{}/secrets?", emu.port())),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(
        (seen, pages),
        (vec!["a".to_owned(), "b".into(), "c".into()], 2)
    );

    let (status, body) = read(
        client()
            .get(vault_path(&emu, "secrets/a/versions?maxresults=1"))
            .bearer_auth(&kv.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    assert!(
        body["nextLink"]
            .as_str()
            .unwrap()
            .contains("/secrets/a/versions?")
    );

    let (status, body) = kv.call("GET", "secrets?maxresults=26", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
}

#[tokio::test]
async fn names_values_and_api_version_are_validated() {
    let emu = plain().await;
    let kv = Kv::new(&emu).await;
    let (status, body) = kv
        .call("PUT", "secrets/bad_name", Some(json!({"value": "v"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadParameter");
    assert_eq!(
        body["error"]["message"],
        "The request URI contains an invalid name: bad_name"
    );
    let (status, _) = kv
        .call(
            "PUT",
            &format!("secrets/{}", "n".repeat(128)),
            Some(json!({"value": "v"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = kv
        .call(
            "PUT",
            "secrets/big",
            Some(json!({"value": "x".repeat(25 * 1024 + 1)})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = kv
        .call("PUT", "secrets/novalue", Some(json!({"contentType": "x"})))
        .await;
    assert_eq!(status, 400);
    let (status, body) = read(
        client()
            .get(format!("{}secrets", emu.vault_url()))
            .bearer_auth(&kv.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    // Any api-version string the SDKs send is accepted.
    for version in ["7.0", "7.6", "2025-07-01", "2026-04-01"] {
        let url = format!("{}secrets?api-version={version}", emu.vault_url());
        let (status, _) = read(
            client()
                .get(url)
                .bearer_auth(&kv.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{version}");
    }
}

async fn vault_status_with(emu: &Emulator, token: &str) -> (u16, Value, Option<String>) {
    let response = client()
        .get(vault_path(emu, "secrets"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = read(response).await;
    (status, body, challenge)
}

#[tokio::test]
async fn expired_foreign_audience_tenant_and_signature_tokens_are_401_like_the_service() {
    let emu = plain().await;

    emu.set_token_lifetime(Duration::ZERO);
    let expired = default_token(&emu).await;
    emu.set_token_lifetime(Duration::from_secs(3599));
    let (status, body, challenge) = vault_status_with(&emu, &expired).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert_eq!(
        body["error"]["message"],
        "[TokenExpired] Error validating token: 'S2S12086'."
    );
    assert_eq!(challenge.as_deref(), Some(emu.challenge().as_str()));

    let (status, token_body) = token_request(
        &emu,
        emu.client_id(),
        emu.client_secret(),
        "https://storage.azure.com/.default",
    )
    .await;
    assert_eq!(status, 200);
    let storage = token_body["access_token"].as_str().unwrap();
    let (status, body, _) = vault_status_with(&emu, storage).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        format!(
            "AKV10022: Invalid audience. Expected {}, found: https://storage.azure.com.",
            emu.vault_resource()
        )
    );

    let other_tenant = emu.issue_custom_token(&TokenClaims {
        tenant_id: Some("11111111-2222-3333-4444-555555555555".into()),
        lifetime_secs: 600,
        ..TokenClaims::default()
    });
    let (status, body, _) = vault_status_with(&emu, &other_tenant).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("AKV10032: Invalid issuer.")
    );

    let stranger = plain().await;
    let forged = stranger.issue_custom_token(&TokenClaims {
        audience: Some(emu.vault_resource().to_owned()),
        tenant_id: Some(emu.tenant_id().to_owned()),
        client_id: Some(emu.client_id().to_owned()),
        lifetime_secs: 600,
        ..TokenClaims::default()
    });
    let (status, body, _) = vault_status_with(&emu, &forged).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("AKV10046")
    );

    let (status, _, _) = vault_status_with(&emu, "not-a-jwt").await;
    assert_eq!(status, 401);
    let valid = default_token(&emu).await;
    assert_eq!(vault_status_with(&emu, &valid).await.0, 200);
}

/// Issue 14: AKV10032 must name the claim that did not match. A token from the right issuer
/// with another `tid` used to be answered "found <the right issuer>".
#[tokio::test]
async fn akv10032_names_the_claim_that_does_not_match() {
    let emu = plain().await;
    let stranger = "11111111-2222-3333-4444-555555555555";
    let expected = format!("https://sts.windows.net/{}/", emu.tenant_id());

    let wrong_tid = emu.issue_custom_token(&TokenClaims {
        tenant_id: Some(stranger.into()),
        issuer: Some(expected.clone()),
        lifetime_secs: 600,
        ..TokenClaims::default()
    });
    let (status, body, _) = vault_status_with(&emu, &wrong_tid).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        format!("AKV10032: Invalid issuer. Expected one of {expected}, found tid {stranger}.")
    );

    let wrong_issuer = emu.issue_custom_token(&TokenClaims {
        issuer: Some(format!("https://sts.windows.net/{stranger}/")),
        lifetime_secs: 600,
        ..TokenClaims::default()
    });
    let (status, body, _) = vault_status_with(&emu, &wrong_issuer).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        format!(
            "AKV10032: Invalid issuer. Expected one of {expected}, found https://sts.windows.net/{stranger}/."
        )
    );
}

#[tokio::test]
async fn a_reader_may_get_and_list_but_setting_is_403_access_denied() {
    let emu = plain().await;
    emu.set_secret("shared", "v");
    emu.add_app(
        Identity::app("reader", "reader-secret"),
        Permissions::read_only(),
    );
    let token = app_token(&emu, "reader", "reader-secret").await;
    let reader = Kv { emu: &emu, token };
    let (status, body) = reader.call("GET", "secrets/shared/", None).await;
    assert_eq!((status, body["value"].as_str()), (200, Some("v")));
    assert_eq!(reader.call("GET", "secrets", None).await.0, 200);
    let (status, body) = reader
        .call("PUT", "secrets/shared", Some(json!({"value": "w"})))
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "AccessDenied");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("appid=reader;"), "{message}");
    assert!(
        message.contains("does not have secrets set permission"),
        "{message}"
    );
    assert_eq!(reader.call("DELETE", "secrets/shared", None).await.0, 403);
    assert_eq!(emu.secret_value("shared").as_deref(), Some("v"));

    // Permissions change at run time; a removed identity's tokens carry none.
    emu.set_permissions("reader", Permissions::read_only().with_set());
    assert_eq!(
        reader
            .call("PUT", "secrets/shared", Some(json!({"value": "w"})))
            .await
            .0,
        200
    );
    emu.remove_identity("reader");
    assert_eq!(reader.call("GET", "secrets/shared/", None).await.0, 403);
}

#[tokio::test]
async fn purge_protection_makes_purge_403() {
    let emu = Emulator::start(EmulatorConfig {
        purge_protection: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let kv = Kv::new(&emu).await;
    let set = kv.set("p", "v").await;
    assert_eq!(set["attributes"]["recoveryLevel"], "Recoverable");
    kv.call("DELETE", "secrets/p", None).await;
    let (status, body) = kv.call("DELETE", "deletedsecrets/p", None).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("purge protection is enabled")
    );
    emu.set_purge_protection(false);
    assert_eq!(kv.call("DELETE", "deletedsecrets/p", None).await.0, 204);
}

#[tokio::test]
async fn recover_and_delete_stay_in_progress_for_their_delays() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let emu = Emulator::start(EmulatorConfig {
        clock: clock.clone(),
        recover_delay: Duration::from_secs(30),
        delete_delay: Duration::from_secs(5),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let kv = Kv::new(&emu).await;
    kv.set("slow", "v").await;
    assert_eq!(kv.call("DELETE", "secrets/slow", None).await.0, 200);
    assert_eq!(kv.call("GET", "deletedsecrets/slow", None).await.0, 404);
    let (status, body) = kv
        .call("PUT", "secrets/slow", Some(json!({"value": "w"})))
        .await;
    assert_eq!(
        (status, body["error"]["innererror"]["code"].as_str()),
        (409, Some("ObjectIsBeingDeleted"))
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(kv.call("GET", "deletedsecrets/slow", None).await.0, 200);

    assert_eq!(
        kv.call("POST", "deletedsecrets/slow/recover", None).await.0,
        200
    );
    assert_eq!(kv.call("GET", "secrets/slow/", None).await.0, 404);
    let (status, body) = kv
        .call("PUT", "secrets/slow", Some(json!({"value": "w"})))
        .await;
    assert_eq!(
        (status, body["error"]["innererror"]["code"].as_str()),
        (409, Some("ObjectIsBeingRecovered"))
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(kv.call("GET", "secrets/slow/", None).await.0, 200);
}

#[tokio::test]
async fn vaults_are_routed_by_host_name() {
    let emu = plain().await;
    let team = emu.vault_url_for("team-a");
    let token = default_token(&emu).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], emu.port()));
    let http = reqwest::Client::builder()
        .no_proxy()
        .resolve("team-a.localhost", addr)
        .resolve("ghost.localhost", addr)
        .build()
        .unwrap();
    let (status, body) = read(
        http.put(format!("{team}secrets/only-here?api-version=7.6"))
            .bearer_auth(&token)
            .json(&json!({"value": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["id"].as_str().unwrap().starts_with(&format!(
        "http://team-a.localhost:{}/secrets/only-here/",
        emu.port()
    )));
    assert_eq!(
        emu.vault("team-a").secret_value("only-here").as_deref(),
        Some("x")
    );
    assert_eq!(emu.secret_value("only-here"), None);
    let ghost = format!(
        "http://ghost.localhost:{}/secrets?api-version=7.6",
        emu.port()
    );
    let (status, body) = read(http.get(ghost).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("VaultNotFound"))
    );
}

#[tokio::test]
async fn state_dir_keeps_secrets_and_credentials_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig {
        state_dir: Some(dir.path().to_owned()),
        ..EmulatorConfig::default()
    };
    let first = Emulator::start(config()).await.unwrap();
    let kv = Kv::new(&first).await;
    kv.set("kept", "value-1").await;
    kv.set("gone", "x").await;
    kv.call("DELETE", "secrets/gone", None).await;
    let (client_id, secret) = (
        first.client_id().to_owned(),
        first.client_secret().to_owned(),
    );
    first.shutdown().await;

    let second = Emulator::start(config()).await.unwrap();
    assert_eq!(second.secret_value("kept").as_deref(), Some("value-1"));
    assert_eq!(second.deleted_secret_names(), vec!["gone".to_owned()]);
    assert_eq!(
        (second.client_id(), second.client_secret()),
        (client_id.as_str(), secret.as_str())
    );
    let kv = Kv::new(&second).await;
    let (status, body) = kv.call("GET", "secrets/kept/", None).await;
    assert_eq!((status, body["value"].as_str()), (200, Some("value-1")));
}

#[tokio::test]
async fn state_api_reports_tags_and_expiry_of_the_latest_version() {
    let emu = plain().await;
    let kv = Kv::new(&emu).await;
    assert_eq!(emu.secret_tags("db"), None);
    assert_eq!(emu.secret_properties("db"), None);
    let (status, body) = kv
        .call(
            "PUT",
            "secrets/db",
            Some(
                json!({"value": "one", "tags": {"owner": "core", "env": "test"},
                        "attributes": {"exp": 1_893_456_000}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tags = emu.secret_tags("DB").unwrap();
    assert_eq!(
        tags.iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        vec![("env", "test"), ("owner", "core")]
    );
    assert_eq!(emu.secret_expires_on("db"), Some(1_893_456_000));

    // A new version without tags or expiry: the state API follows the latest version.
    kv.set("db", "two").await;
    assert_eq!(emu.secret_tags("db").map(|t| t.len()), Some(0));
    assert_eq!(emu.secret_expires_on("db"), None);
    let properties = emu.secret_properties("db").unwrap();
    assert_eq!((properties.version_count, properties.enabled), (2, true));

    // PATCH changes tags, expiry and content type in place.
    let (status, body) = kv
        .call(
            "PATCH",
            "secrets/db/",
            Some(
                json!({"contentType": "text/plain", "tags": {"rotated": "yes"},
                        "attributes": {"exp": 1_900_000_000, "enabled": false}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let properties = emu.secret_properties("db").unwrap();
    assert_eq!(
        properties.tags.get("rotated").map(String::as_str),
        Some("yes")
    );
    assert_eq!(properties.expires_on, Some(1_900_000_000));
    assert_eq!(properties.content_type.as_deref(), Some("text/plain"));
    assert!(!properties.enabled);
    assert_eq!(properties.version, version_of(body["id"].as_str().unwrap()));

    // Deleted secrets have no properties; other vaults are reached with the `_in` forms.
    assert_eq!(kv.call("DELETE", "secrets/db", None).await.0, 200);
    assert_eq!(emu.secret_tags("db"), None);
    assert_eq!(emu.secret_expires_on("db"), None);
    emu.vault("team-b").set_secret("elsewhere", "v");
    assert_eq!(
        emu.vault("team-b")
            .secret_tags("elsewhere")
            .map(|t| t.len()),
        Some(0)
    );
    assert_eq!(emu.vault("team-b").secret_expires_on("elsewhere"), None);
    assert_eq!(emu.vault("no-such-vault").secret_tags("elsewhere"), None);
    assert!(emu.vault("team-b").secret_properties("elsewhere").is_some());
}

/// `(status, code, innererror, message)` of a vault call.
async fn denial(
    kv: &Kv<'_>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String, String, String) {
    let (status, body) = kv.call(method, path, body).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        status,
        text(&body["error"]["code"]),
        text(&body["error"]["innererror"]["code"]),
        text(&body["error"]["message"]),
    )
}

#[tokio::test]
async fn an_rbac_vault_answers_forbidden_by_rbac_with_the_services_message() {
    let emu = plain().await;
    emu.set_secret("Db-Pass", "v");
    emu.add_app(
        Identity::app("reader", "reader-secret").with_object_id("reader-oid"),
        Permissions::read_only(),
    );
    let reader = Kv {
        emu: &emu,
        token: app_token(&emu, "reader", "reader-secret").await,
    };
    // Access policies by default.
    let (status, code, inner, _) = denial(
        &reader,
        "PUT",
        "secrets/Db-Pass",
        Some(json!({"value": "w"})),
    )
    .await;
    assert_eq!(
        (status, code.as_str(), inner.as_str()),
        (403, "Forbidden", "AccessDenied")
    );

    emu.set_access_model(AccessModel::Rbac);
    let (status, code, inner, message) = denial(
        &reader,
        "PUT",
        "secrets/Db-Pass",
        Some(json!({"value": "w"})),
    )
    .await;
    assert_eq!(
        (status, code.as_str(), inner.as_str()),
        (403, "Forbidden", "ForbiddenByRbac")
    );
    let tenant = emu.tenant_id();
    assert_eq!(
        message,
        format!(
            "Caller is not authorized to perform action on resource.\r\n\
             If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n\
             Caller: appid=reader;oid=reader-oid;iss=https://sts.windows.net/{tenant}/\r\n\
             Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\n\
             Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/vaultref-emulator/providers/microsoft.keyvault/vaults/default/secrets/db-pass'\r\n\
             Assignment: (not found)\r\n\
             DenyAssignmentId: null\r\n\
             DecisionReason: 'DeniedWithNoValidRBAC' \r\n\
             Vault: default;location=eastus\r\n"
        )
    );
    // Reads the reader is granted still work; nothing was written.
    assert_eq!(reader.call("GET", "secrets/db-pass/", None).await.0, 200);
    assert_eq!(emu.secret_value("db-pass").as_deref(), Some("v"));

    // A caller with no permission at all: listing is a metadata read naming the vault only.
    emu.set_permissions("reader", Permissions::none());
    let (status, _, inner, message) = denial(&reader, "GET", "secrets", None).await;
    assert_eq!((status, inner.as_str()), (403, "ForbiddenByRbac"));
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'\r\n"),
        "{message}"
    );
    assert!(
        message.contains("/microsoft.keyvault/vaults/default'\r\n"),
        "{message}"
    );
    let (_, _, _, message) = denial(&reader, "GET", "secrets/db-pass/", None).await;
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"),
        "{message}"
    );
    let (_, _, _, message) = denial(&reader, "DELETE", "secrets/db-pass", None).await;
    assert!(
        message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/delete'\r\n"),
        "{message}"
    );
    // No Retry-After on a 403 (the SDKs would retry it).
    let response = list_secrets(&emu, &client(), &reader.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers().get("retry-after").is_none());

    // And back.
    emu.set_access_model(AccessModel::AccessPolicy);
    let (_, _, inner, _) = denial(&reader, "GET", "secrets", None).await;
    assert_eq!(inner, "AccessDenied");
}

#[tokio::test]
async fn access_models_are_per_vault_and_settable_at_start() {
    let emu = Emulator::start(EmulatorConfig {
        access_model: AccessModel::Rbac,
        vaults: vec!["team-p".into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emu.add_app(
        Identity::app("nobody", "nobody-secret"),
        Permissions::none(),
    );
    let token = app_token(&emu, "nobody", "nobody-secret").await;
    let nobody = Kv {
        emu: &emu,
        token: token.clone(),
    };
    assert_eq!(
        denial(&nobody, "GET", "secrets", None).await.2,
        "ForbiddenByRbac"
    );

    // One vault back to access policies; the default vault stays RBAC.
    emu.vault("team-p")
        .set_access_model(AccessModel::AccessPolicy);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], emu.port()));
    let http = reqwest::Client::builder()
        .no_proxy()
        .resolve("team-p.localhost", addr)
        .build()
        .unwrap();
    let (status, body) = read(
        http.get(format!(
            "{}secrets?api-version=7.6",
            emu.vault_url_for("team-p")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["innererror"]["code"], "AccessDenied");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("on key vault 'team-p;location=eastus'"),
        "{message}"
    );
    assert_eq!(
        denial(&nobody, "GET", "secrets", None).await.2,
        "ForbiddenByRbac"
    );
}

#[tokio::test]
async fn a_policy_denial_fault_forbids_the_next_authenticated_requests_whatever_the_permissions() {
    let emu = plain().await;
    emu.set_secret("s", "v");
    emu.add_app(
        Identity::app("ops", "ops-secret").with_object_id("ops-oid"),
        Permissions::all(),
    );
    let kv = Kv {
        emu: &emu,
        token: app_token(&emu, "ops", "ops-secret").await,
    };
    emu.inject(Fault::forbidden_by_policy(Target::Vault, 2));
    // The challenge probe comes first and does not use up a denial.
    let probe = client()
        .get(vault_path(&emu, "secrets/s/"))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status().as_u16(), 401);
    let (status, code, inner, message) = denial(&kv, "GET", "secrets/s/", None).await;
    assert_eq!(
        (status, code.as_str(), inner.as_str()),
        (403, "Forbidden", "ForbiddenByPolicy")
    );
    assert_eq!(
        message,
        format!(
            "The policy requires the caller 'appid=ops;oid=ops-oid;iss=https://sts.windows.net/{}/' to use on-behalf-of (OBO) flow. For more information on OBO, please see https://go.microsoft.com/fwlink/?linkid=2152310",
            emu.tenant_id()
        )
    );
    assert_eq!(
        denial(&kv, "PUT", "secrets/s", Some(json!({"value": "w"})))
            .await
            .2,
        "ForbiddenByPolicy"
    );
    assert_eq!(emu.secret_value("s").as_deref(), Some("v"));
    // Exactly two: the third goes through.
    let (status, body) = kv.call("GET", "secrets/s/", None).await;
    assert_eq!((status, body["value"].as_str()), (200, Some("v")));
    let statuses = vault_statuses(&emu);
    assert_eq!(&statuses[statuses.len() - 4..], &[401, 403, 403, 200]);
}
