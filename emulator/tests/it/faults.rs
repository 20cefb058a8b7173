//! Fault injection over the wire.

use std::time::Duration;

use vaultref_emulator::{Emulator, EmulatorConfig, Fault, RateClass, Target};

use crate::support::{
    client, default_token, json, list, list_secrets, plain, vault_path, vault_statuses,
};

#[tokio::test]
async fn throttle_answers_429_with_retry_after_for_exactly_n_requests() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    emu.inject(Fault::throttle(Target::Vault, 2, 7));
    for _ in 0..2 {
        let response = list_secrets(&emu, &client(), &token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        let (_, body) = json(response).await;
        assert_eq!(body["error"]["code"], "Throttled");
    }
    let response = list_secrets(&emu, &client(), &token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(vault_statuses(&emu), vec![429, 429, 200]);
}

#[tokio::test]
async fn status_bursts_hit_only_their_target() {
    let emu = Emulator::start(EmulatorConfig {
        faults: vec![Fault::status(Target::Entra, 1, 503)],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let url = format!(
        "{}{}/v2.0/.well-known/openid-configuration",
        emu.authority_host(),
        emu.tenant_id()
    );
    assert_eq!(
        client().get(&url).send().await.unwrap().status().as_u16(),
        503
    );
    assert_eq!(
        client().get(&url).send().await.unwrap().status().as_u16(),
        200
    );

    emu.inject(Fault::status_for(
        Target::Vault,
        Duration::from_secs(3600),
        500,
    ));
    let token = default_token(&emu).await;
    assert_eq!(list(&emu, &client(), &token).await, 500);
    emu.clear_faults();
    assert_eq!(list(&emu, &client(), &token).await, 200);
}

#[tokio::test]
async fn dropped_connections_close_without_a_response_and_are_logged() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    emu.inject(Fault::drop_connections(Target::Vault, 1));
    let error = list_secrets(&emu, &client(), &token)
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_status(), "{error}");
    assert_eq!(list(&emu, &client(), &token).await, 200);
    assert_eq!(vault_statuses(&emu), vec![0, 200]);
}

#[tokio::test]
async fn rate_limit_throttles_past_the_window_budget() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    emu.set_rate_limit(Target::Vault, 3);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = list_secrets(&emu, &client(), &token).send().await.unwrap();
        if response.status().as_u16() == 429 {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=10).contains(&retry));
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn compressed_rate_limits_count_sets_apart_and_ask_for_exact_waits() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    let window = Duration::from_secs(5);
    emu.inject(Fault::rate_limit_for(
        Target::Vault,
        RateClass::SetSecret,
        1,
        window,
    ));
    emu.inject(Fault::rate_limit_for(
        Target::Vault,
        RateClass::Other,
        2,
        window,
    ));
    let set = || {
        client()
            .put(vault_path(&emu, "secrets/db-pass"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"value": "s3cret"}))
            .send()
    };
    let get = || {
        client()
            .get(vault_path(&emu, "secrets/db-pass"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(set().await.unwrap().status().as_u16(), 200);
    let throttled = set().await.unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    // Under 5 s left in the window: whole seconds rounded up, and the exact wait in ms.
    let headers = throttled.headers();
    let seconds: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    let millis: u64 = headers["retry-after-ms"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&seconds), "{seconds}");
    assert!(millis > 4000 && millis <= 5000, "{millis}");
    assert_eq!(seconds, millis.div_ceil(1000));
    // Reads have their own budget.
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    assert_eq!(get().await.unwrap().status().as_u16(), 429);
    // The log says what each 429 asked for.
    let log = emu.requests_to(Target::Vault);
    let asked: Vec<Option<Duration>> = log.iter().map(|r| r.retry_after).collect();
    assert_eq!(asked[0], None);
    assert_eq!(asked[1], Some(Duration::from_millis(millis)));
    assert!(asked[4].is_some_and(|d| d > Duration::from_secs(4)));
}
