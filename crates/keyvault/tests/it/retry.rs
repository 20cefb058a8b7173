//! The retry policy against injected faults: 429 storms, 5xx bursts, dropped connections.

use std::{sync::Arc, time::Duration};

use vaultref_emulator::{Fault, Target};
use vaultref_keyvault::{Error, RetryOptions, SetSecretOptions, TokioTimer};

use crate::support::{VAULT, name, read_value, start};

#[tokio::test]
async fn a_429_storm_is_ridden_out_with_exactly_the_requested_delays() {
    let kv = start().await;
    kv.challenge_done("hot", "value").await;

    kv.emu.inject(Fault::throttle(Target::Vault, 4, 3));
    let secret = kv.client.get_secret(&name("hot")).await.unwrap();
    assert_eq!(secret.value.expose(), "value");
    assert_eq!(kv.vault_statuses(), [429, 429, 429, 429, 200]);
    assert_eq!(kv.timer.sleeps(), [Duration::from_secs(3); 4]);
    // Every retry is the same authenticated request.
    assert!(
        kv.vault_requests()
            .iter()
            .all(vaultref_emulator::RecordedRequest::has_authorization)
    );

    // A write is retried with its body.
    kv.emu.clear_requests();
    kv.emu.inject(Fault::throttle(Target::Vault, 2, 1));
    kv.client
        .set_secret(
            &name("hot"),
            &"value-2".into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(kv.vault_statuses(), [429, 429, 200]);
    assert!(kv.vault_requests().iter().all(|r| !r.body.is_empty()));
    assert_eq!(
        kv.emu.vault(VAULT).secret_value("hot").as_deref(),
        Some("value-2")
    );
}

#[tokio::test]
async fn the_probe_itself_is_retried_when_throttled() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    kv.emu.inject(Fault::throttle(Target::Vault, 2, 2));
    assert_eq!(read_value(&kv.client, "s").await, "v");
    assert_eq!(kv.vault_statuses(), [429, 429, 401, 200]);
    assert_eq!(kv.timer.sleeps(), [Duration::from_secs(2); 2]);
}

#[tokio::test]
async fn server_errors_back_off_exponentially_with_jitter() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    kv.client.get_secret(&name("s")).await.unwrap();
    // Each retryable status is retried. (Faults injected together all count down on the
    // same request, so they are injected one per call.)
    for status in [500, 502, 503, 504, 408] {
        kv.emu.clear_requests();
        kv.emu.inject(Fault::status(Target::Vault, 1, status));
        kv.client.get_secret(&name("s")).await.unwrap();
        assert_eq!(kv.vault_statuses(), [status, 200]);
    }
    // Consecutive failures: each wait doubles, within the jitter.
    kv.emu.clear_requests();
    let earlier = kv.timer.sleeps().len();
    kv.emu.inject(Fault::status(Target::Vault, 4, 503));
    kv.client.get_secret(&name("s")).await.unwrap();
    assert_eq!(kv.vault_statuses(), [503, 503, 503, 503, 200]);
    let retry = RetryOptions::default();
    let sleeps = kv.timer.sleeps()[earlier..].to_vec();
    assert_eq!(sleeps.len(), 4);
    for (n, sleep) in sleeps.iter().enumerate() {
        let base = retry.initial_delay * 2_u32.pow(u32::try_from(n).unwrap());
        let (low, high) = (
            base.mul_f64(1.0 - retry.jitter),
            base.mul_f64(1.0 + retry.jitter),
        );
        assert!(
            low <= *sleep && *sleep <= high,
            "retry {n}: {sleep:?} not in {low:?}..{high:?}"
        );
    }
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let kv = start().await;
    kv.challenge_done("s", "v").await;
    kv.emu.inject(Fault::drop_connections(Target::Vault, 2));
    assert_eq!(read_value(&kv.client, "s").await, "v");
    assert_eq!(kv.vault_statuses(), [0, 0, 200]);
    assert_eq!(kv.timer.sleeps().len(), 2);
}

#[tokio::test]
async fn a_delay_beyond_the_budget_fails_at_once() {
    let kv = start().await;
    kv.challenge_done("s", "v").await;
    kv.emu.inject(Fault::throttle(Target::Vault, 1, 120));
    let err = kv.client.get_secret(&name("s")).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { attempts: 1, retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{err}"
    );
    assert!(kv.timer.sleeps().is_empty(), "no pointless wait");
}

/// With the real timer the client really waits: in the emulator's log, each retry arrives at
/// least the `Retry-After` second after the 429 was sent (a lower bound only).
#[tokio::test]
async fn the_real_timer_really_waits() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    let client = kv.client_with(kv.credential(), |o| o.timer = Arc::new(TokioTimer));
    client.get_secret(&name("s")).await.unwrap();
    kv.emu.clear_requests();
    kv.emu.inject(Fault::throttle(Target::Vault, 2, 1));
    client.get_secret(&name("s")).await.unwrap();
    let requests = kv.vault_requests();
    assert_eq!(kv.vault_statuses(), [429, 429, 200]);
    for pair in requests.windows(2) {
        let gap = pair[1]
            .received_at
            .duration_since(pair[0].responded_at)
            .unwrap_or_default();
        assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    }
}
