//! The request log's timestamps over real sockets: arrival, response after latency faults,
//! overlap of concurrent requests, dropped connections, and a standing-still test clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vaultref_emulator::{
    Clock, Emulator, EmulatorConfig, Fault, ManualClock, RecordedRequest, Target,
};

use crate::support::{client, default_token, list, list_secrets, plain, vault_path};

#[tokio::test]
async fn sequential_requests_never_overlap_and_each_is_stamped_in_order() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    emu.clear_requests();
    let before = SystemTime::now();
    for _ in 0..3 {
        assert_eq!(list(&emu, &client(), &token).await, 200);
    }
    let log = emu.requests_to(Target::Vault);
    assert_eq!(log.len(), 3);
    for pair in log.windows(2) {
        // The client sent the next request only after it had the previous response.
        assert!(pair[1].received_at >= pair[0].responded_at, "{pair:?}");
    }
    for r in &log {
        assert!(r.responded_at >= r.received_at, "{r:?}");
        // The front's internal headers are not part of what the client sent.
        assert_eq!(r.header("x-vaultref-seq"), None);
        assert_eq!(r.header("x-vaultref-forwarded-proto"), None);
    }
    // Real time: at or after the moment the test started sending (one second of slack for
    // the anchor taken at emulator start, which predates `before`).
    assert!(log[0].received_at + Duration::from_secs(1) >= before);
    assert_eq!(RecordedRequest::peak_in_flight(&log), 1);
}

#[tokio::test]
async fn responses_are_stamped_after_the_latency_fault_and_concurrent_ones_overlap() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    let latency = Duration::from_millis(400);
    emu.inject(Fault::latency(Target::Vault, latency));
    emu.clear_requests();
    // Four requests on four connections at once; each is held for the latency, so all four
    // are inside the emulator together (they arrive within microseconds of each other).
    let statuses = concurrent_lists(&emu, &token, 4).await;
    assert_eq!(statuses, vec![200; 4]);
    let log = emu.requests_to(Target::Vault);
    assert_eq!(log.len(), 4);
    for r in &log {
        assert!(r.elapsed() >= latency, "{r:?}");
    }
    assert_eq!(RecordedRequest::peak_in_flight(&log), 4);
}

async fn concurrent_lists(emu: &Emulator, token: &str, n: usize) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let url = vault_path(emu, "secrets");
        let token = token.to_owned();
        // A client per request: one connection each.
        tasks.spawn(async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses
}

#[tokio::test]
async fn dropped_connections_are_stamped_when_closed() {
    let emu = plain().await;
    let token = default_token(&emu).await;
    emu.inject(Fault::drop_connections(Target::Vault, 1));
    emu.clear_requests();
    assert!(list_secrets(&emu, &client(), &token).send().await.is_err());
    assert_eq!(list(&emu, &client(), &token).await, 200);
    let log = emu.requests_to(Target::Vault);
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![0, 200]
    );
    assert!(log[0].responded_at >= log[0].received_at);
    assert!(log[1].received_at >= log[0].responded_at);
}

#[tokio::test]
async fn a_standing_still_test_clock_does_not_freeze_the_log_times() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let emu = Emulator::start(EmulatorConfig {
        clock: clock.clone(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let token = default_token(&emu).await;
    let latency = Duration::from_millis(50);
    emu.inject(Fault::latency(Target::Vault, latency));
    emu.clear_requests();
    assert_eq!(list(&emu, &client(), &token).await, 200);
    assert_eq!(list(&emu, &client(), &token).await, 200);
    let log = emu.requests_to(Target::Vault);
    // The test clock never moved, yet each request took at least the latency in log time,
    // and the second arrived after the first was answered.
    assert!(log.iter().all(|r| r.elapsed() >= latency), "{log:?}");
    assert!(log[1].received_at >= log[0].responded_at);
    assert!(log[1].received_at > clock.now());
}
