//! The admin endpoint over the wire: who may call it, every fault kind injected as JSON and
//! seen by a vault client, the request log as JSON, and clearing both.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use vaultref_emulator::{Emulator, EmulatorConfig};

use crate::support::{client, default_token, json as read, vault_path};

async fn with_admin() -> Emulator {
    Emulator::start(EmulatorConfig {
        admin_port: Some(0),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// An authorised admin request.
async fn admin(emu: &Emulator, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = emu.admin_url().unwrap().join(path).unwrap();
    let mut request = client()
        .request(method, url)
        .header("X-Vaultref-Admin-Token", emu.admin_token().unwrap());
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

async fn inject(emu: &Emulator, faults: Value) {
    let (status, body) = admin(emu, Method::POST, "faults", Some(faults)).await;
    assert_eq!(status, 200, "{body}");
}

async fn list_secrets(emu: &Emulator, token: &str) -> Result<Response, reqwest::Error> {
    client()
        .get(vault_path(emu, "secrets"))
        .bearer_auth(token)
        .send()
        .await
}

async fn status_of_list(emu: &Emulator, token: &str) -> u16 {
    vault_status(emu, Method::GET, "secrets", token).await
}

/// The status of an authenticated vault request without a body.
async fn vault_status(emu: &Emulator, method: Method, path: &str, token: &str) -> u16 {
    client()
        .request(method, vault_path(emu, path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_admin_endpoint_is_off_unless_asked_for() {
    let emu = crate::support::plain().await;
    assert!(emu.admin_url().is_none() && emu.admin_token().is_none());
    let ready: Value = serde_json::from_str(&emu.ready_line()).unwrap();
    assert_eq!(ready["admin_url"], Value::Null);
    assert_eq!(ready["admin_token"], Value::Null);
}

#[tokio::test]
async fn only_loopback_requests_with_the_token_reach_it_on_its_own_port() {
    let emu = with_admin().await;
    let url = emu.admin_url().unwrap().clone();
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_ne!(
        url.port(),
        Some(emu.port()),
        "its own port, not the vault's"
    );
    let ready: Value = serde_json::from_str(&emu.ready_line()).unwrap();
    assert_eq!(ready["admin_url"], url.as_str());
    assert_eq!(ready["admin_token"], emu.admin_token().unwrap());

    let faults = url.join("faults").unwrap();
    let body = json!({"kind": "status", "requests": 5});
    let no_token = client()
        .post(faults.clone())
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = read(no_token).await;
    assert_eq!(status, 401);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("X-Vaultref-Admin-Token")
    );
    let wrong_token = client()
        .post(faults.clone())
        .header("X-Vaultref-Admin-Token", "guess")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status().as_u16(), 401);
    // A page on another host that resolves to 127.0.0.1 (DNS rebinding) names its own host.
    let rebound = client()
        .post(faults)
        .header("X-Vaultref-Admin-Token", emu.admin_token().unwrap())
        .header("Host", format!("attacker.example:{}", url.port().unwrap()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    // None of them injected anything; the vault port has no admin resources.
    let token = default_token(&emu).await;
    assert_eq!(status_of_list(&emu, &token).await, 200);
    let on_vault_port = client()
        .post(format!("{}faults", emu.vault_url()))
        .header("X-Vaultref-Admin-Token", emu.admin_token().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(on_vault_port.status().as_u16(), 401, "a vault request");
    assert_eq!(status_of_list(&emu, &token).await, 200);

    let (status, index) = admin(&emu, Method::GET, "", None).await;
    assert_eq!(status, 200);
    assert!(index["endpoints"]["POST /faults"].is_string());
    let (status, _) = admin(&emu, Method::PUT, "faults", None).await;
    assert_eq!(status, 405);
    let (status, _) = admin(&emu, Method::GET, "nothing", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn counted_faults_act_on_the_next_requests_then_stop() {
    let emu = with_admin().await;
    let token = default_token(&emu).await;
    inject(
        &emu,
        json!([
            {"kind": "throttle", "requests": 1, "retry_after": 7},
            {"kind": "status", "status": 500, "requests": 2},
            {"kind": "forbidden_by_policy"},
        ]),
    )
    .await;
    let throttled = list_secrets(&emu, &token).await.unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");
    assert_eq!(status_of_list(&emu, &token).await, 500);
    assert_eq!(status_of_list(&emu, &token).await, 500);
    let (status, body) = read(list_secrets(&emu, &token).await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByPolicy");
    assert_eq!(status_of_list(&emu, &token).await, 200);

    inject(&emu, json!({"kind": "drop"})).await;
    assert!(list_secrets(&emu, &token).await.is_err(), "dropped");
    assert_eq!(status_of_list(&emu, &token).await, 200);

    // Other targets are left alone.
    inject(&emu, json!({"kind": "status", "target": "entra"})).await;
    assert_eq!(status_of_list(&emu, &token).await, 200);
    let discovery = format!(
        "{}{}/v2.0/.well-known/openid-configuration",
        emu.authority_host(),
        emu.tenant_id()
    );
    let entra = client().get(&discovery).send().await.unwrap();
    assert_eq!(entra.status().as_u16(), 503);
}

#[tokio::test]
async fn standing_faults_last_until_delete_resets_them() {
    let emu = with_admin().await;
    let token = default_token(&emu).await;
    inject(&emu, json!({"kind": "rate_limit", "per_10s": 2})).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(status_of_list(&emu, &token).await);
    }
    assert_eq!(statuses, [200, 200, 429]);
    let (_, log) = admin(&emu, Method::GET, "requests?target=vault", None).await;
    let asked: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["retry_after_ms"])
        .collect();
    // A 10-s window: whole seconds, to its end.
    assert_eq!(asked[..2], [&Value::Null, &Value::Null]);
    assert!(
        asked[2]
            .as_u64()
            .is_some_and(|ms| ms % 1000 == 0 && (1000..=10_000).contains(&ms)),
        "{asked:?}"
    );
    let (status, _) = admin(&emu, Method::DELETE, "faults", None).await;
    assert_eq!(status, 204);
    assert_eq!(status_of_list(&emu, &token).await, 200);

    inject(
        &emu,
        json!([{"kind": "status_for", "duration": "1h"}, {"kind": "latency", "duration": "150ms"}]),
    )
    .await;
    assert_eq!(status_of_list(&emu, &token).await, 503);
    assert_eq!(status_of_list(&emu, &token).await, 503);
    admin(&emu, Method::DELETE, "requests", None).await;
    let (status, log) = admin(&emu, Method::GET, "requests", None).await;
    assert_eq!(status, 200);
    assert_eq!(log["requests"], json!([]));
    assert_eq!(status_of_list(&emu, &token).await, 503);
    let (_, log) = admin(&emu, Method::GET, "requests?target=vault", None).await;
    let elapsed = log["requests"][0]["elapsed_ms"].as_f64().unwrap();
    assert!(elapsed >= 150.0, "latency applied: {elapsed} ms");
    admin(&emu, Method::DELETE, "faults", None).await;
    assert_eq!(status_of_list(&emu, &token).await, 200);
}

#[tokio::test]
async fn timing_specs_change_tokens_and_deletes_until_reset() {
    let emu = with_admin().await;
    let kv_token = default_token(&emu).await;
    emu.set_secret("going", "v");
    inject(
        &emu,
        json!([{"kind": "token_lifetime", "duration": 0}, {"kind": "delete_delay", "duration": "1h"}]),
    )
    .await;
    let born_expired = default_token(&emu).await;
    assert_eq!(status_of_list(&emu, &born_expired).await, 401);

    assert_eq!(
        vault_status(&emu, Method::DELETE, "secrets/going", &kv_token).await,
        200
    );
    assert_eq!(
        vault_status(&emu, Method::GET, "deletedsecrets/going", &kv_token).await,
        404,
        "delete in progress"
    );

    admin(&emu, Method::DELETE, "faults", None).await;
    let fresh = default_token(&emu).await;
    assert_eq!(status_of_list(&emu, &fresh).await, 200, "lifetime reset");
    emu.set_secret("next", "v");
    assert_eq!(
        vault_status(&emu, Method::DELETE, "secrets/next", &fresh).await,
        200
    );
    assert_eq!(
        vault_status(&emu, Method::GET, "deletedsecrets/next", &fresh).await,
        200,
        "delete delay reset"
    );

    inject(&emu, json!({"kind": "recover_delay", "duration": "1h"})).await;
    assert_eq!(
        vault_status(&emu, Method::POST, "deletedsecrets/next/recover", &fresh).await,
        200
    );
    let still_recovering = client()
        .get(vault_path(&emu, "secrets/next"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still_recovering.status().as_u16(),
        404,
        "recovery in progress"
    );
}

#[tokio::test]
async fn bad_faults_are_400_with_what_to_fix_and_inject_nothing() {
    let emu = with_admin().await;
    let token = default_token(&emu).await;
    let (status, body) = admin(
        &emu,
        Method::POST,
        "faults",
        Some(json!([{"kind": "status"}, {"kind": "status", "status": 200}])),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("element 1") && message.contains("from 400 to 599"),
        "{message}"
    );
    assert_eq!(status_of_list(&emu, &token).await, 200, "nothing injected");
    let (status, body) = admin(&emu, Method::GET, "requests?target=keyvault", None).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown target"));
}

#[tokio::test]
async fn the_request_log_is_json_without_credentials_or_bodies() {
    let emu = with_admin().await;
    let token = default_token(&emu).await;
    client()
        .put(vault_path(&emu, "secrets/logged"))
        .bearer_auth(&token)
        .json(&json!({"value": "never-in-the-log"}))
        .send()
        .await
        .unwrap();
    let (status, log) = admin(&emu, Method::GET, "requests", None).await;
    assert_eq!(status, 200);
    let shown = log.to_string();
    for secret in [token.as_str(), "never-in-the-log", emu.client_secret()] {
        assert!(!shown.contains(secret), "a credential or value in the log");
    }
    let requests = log["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{log}");
    assert_eq!(requests[0]["target"], "entra");
    let put = &requests[1];
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["path"], "/secrets/logged");
    assert_eq!(put["query"], "api-version=7.6");
    assert_eq!(put["status"], 200);
    assert_eq!(put["tls"], false);
    assert_eq!(put["has_authorization"], true);
    assert_eq!(put["headers"]["authorization"], "<redacted>");
    assert_eq!(put["body_bytes"], 28);
    assert_eq!(put["retry_after_ms"], Value::Null);
    let received = put["received_at"].as_str().unwrap();
    assert!(
        received.ends_with('Z') && received.len() == 27,
        "{received}"
    );
    let (_, entra_only) = admin(&emu, Method::GET, "requests?target=entra", None).await;
    assert_eq!(entra_only["requests"].as_array().unwrap().len(), 1);
}
