//! `migrate-secrets` under vault and Entra faults: Key Vault's rate limits, 5xx bursts,
//! dropped connections, a token the vault stops accepting, Entra down, `kill -9`.

use std::hash::{BuildHasher as _, RandomState};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vaultref_emulator::{EmulatorConfig, Fault, ManualClock, RateClass, RecordedRequest, Target};

use super::harness::{Database, Running, Site, baseline, fleet, summary};

/// Key Vault's windows (10 s) compressed five times: the real counts, 300 sets and 4,000 other
/// requests per window, at five times the real rate.
const WINDOW: Duration = Duration::from_secs(2);

/// The vault requests of `site`, in the order they arrived.
fn vault_log(site: &Site) -> Vec<RecordedRequest> {
    let mut log = site.vault.emulator.requests_to(Target::Vault);
    log.sort_by_key(|r| r.received_at);
    log
}

/// `migrate-secrets` sends one vault request at a time, and each request that follows a 429
/// arrives no earlier than the wait the 429 asked for. Returns how many 429s there were.
fn assert_every_retry_after_honoured(log: &[RecordedRequest]) -> usize {
    assert_eq!(
        RecordedRequest::peak_in_flight(log),
        1,
        "migrate-secrets sends one vault request at a time"
    );
    let mut throttled = 0;
    for pair in log.windows(2) {
        let (answer, next) = (&pair[0], &pair[1]);
        if answer.status != 429 {
            continue;
        }
        throttled += 1;
        let asked = answer.retry_after.expect("every 429 asks for a wait");
        let waited = next
            .received_at
            .duration_since(answer.responded_at)
            .unwrap_or_default();
        assert!(
            waited >= asked,
            "a request came {waited:?} after a 429 that asked for {asked:?}"
        );
    }
    throttled
}

/// How many answers of `log` had `status`.
fn count(log: &[RecordedRequest], status: u16) -> usize {
    log.iter().filter(|r| r.status == status).count()
}

/// Starts `migrate-secrets` on `site` and, when `at` entities are done, injects `fault`; runs
/// to the end.
fn migrate_injecting(site: &Site, faults: &[(usize, Fault)]) -> crate::support::Run {
    let mut running = site.start_migrate();
    for (at, fault) in faults {
        running.wait_for_entities(*at);
        site.vault.emulator.inject(*fault);
    }
    running.wait()
}

#[test]
fn five_thousand_entities_migrate_under_key_vaults_rate_limits_honouring_every_retry_after() {
    let fleet = fleet(5000);
    let site = Site::new(
        fleet,
        EmulatorConfig {
            faults: vec![
                Fault::rate_limit_for(Target::Vault, RateClass::SetSecret, 300, WINDOW),
                Fault::rate_limit_for(Target::Vault, RateClass::Other, 4000, WINDOW),
                // However fast this machine is, the run meets 429s: the first three requests.
                Fault::throttle(Target::Vault, 3, 1),
            ],
            ..EmulatorConfig::default()
        },
        Database::Sqlite,
    );
    let run = site.migrate();
    assert_eq!(run.ok_text(), summary(fleet.len()));

    let log = vault_log(&site);
    let throttled = assert_every_retry_after_honoured(&log);
    assert!(throttled >= 3);
    // Never past the budget: each set the vault accepted was needed once, and the client
    // asked at most once per window before waiting (a client retrying early piles up 429s).
    let accepted_sets = log
        .iter()
        .filter(|r| r.method == "PUT" && r.status == 200)
        .count();
    assert_eq!(accepted_sets, fleet.len());
    let span = log
        .last()
        .unwrap()
        .responded_at
        .duration_since(log[0].received_at)
        .unwrap();
    let windows = usize::try_from(span.as_millis() / WINDOW.as_millis()).unwrap() + 1;
    assert!(
        throttled <= windows + 3,
        "{throttled} 429s in {windows} windows of {WINDOW:?}"
    );
    println!(
        "5,000-entity migration under Key Vault's limits in {WINDOW:?} windows: {span:?}, {} vault requests, {throttled} answered 429",
        log.len()
    );

    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&run]);
}

#[test]
fn bursts_of_5xx_are_retried_and_nothing_is_lost() {
    let fleet = fleet(500);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    let bursts: Vec<(usize, Fault)> = [100, 200, 300, 400]
        .into_iter()
        .zip([503, 500, 502, 504])
        .map(|(at, status)| (at, Fault::status(Target::Vault, 2, status)))
        .collect();
    let run = migrate_injecting(&site, &bursts);
    assert_eq!(run.ok_text(), summary(fleet.len()));
    let log = vault_log(&site);
    let failed: usize = [500, 502, 503, 504].iter().map(|s| count(&log, *s)).sum();
    assert_eq!(failed, 8, "every injected 5xx was met");
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&run]);
}

#[test]
fn dropped_connections_are_retried_and_nothing_is_lost() {
    let fleet = fleet(500);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    let drops: Vec<(usize, Fault)> = [50, 150, 250, 350, 450]
        .into_iter()
        .map(|at| (at, Fault::drop_connections(Target::Vault, 1)))
        .collect();
    let run = migrate_injecting(&site, &drops);
    assert_eq!(run.ok_text(), summary(fleet.len()));
    assert_eq!(count(&vault_log(&site), 0), 5, "every drop was met");
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&run]);
}

#[test]
fn a_token_that_expires_mid_run_is_renewed_and_nothing_is_lost() {
    // The emulator's clock jumps two hours mid-run: the token the client holds (valid for an
    // hour by the client's clock) is expired for the vault, which answers 401.
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let fleet = fleet(500);
    let site = Site::new(
        fleet,
        EmulatorConfig {
            clock: clock.clone(),
            ..EmulatorConfig::default()
        },
        Database::Sqlite,
    );
    let mut running = site.start_migrate();
    running.wait_for_entities(200);
    clock.advance(Duration::from_secs(2 * 3600));
    let run = running.wait();
    assert_eq!(run.ok_text(), summary(fleet.len()));
    let log = vault_log(&site);
    let refused = log
        .iter()
        .filter(|r| r.status == 401 && r.has_authorization())
        .count();
    assert_eq!(
        refused, 1,
        "the expired token was refused once, then renewed"
    );
    let tokens = site
        .vault
        .emulator
        .requests_to(Target::Entra)
        .iter()
        .filter(|r| r.status == 200)
        .count();
    assert_eq!(tokens, 2);
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&run]);
}

#[test]
fn entra_down_while_the_cached_token_is_valid_changes_nothing() {
    // Once the run holds a token, Entra ID answers nothing but 503 for the rest of it: a
    // client that asked Entra for each call, or lost its cached token, would fail here.
    let fleet = fleet(500);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    let mut running = site.start_migrate();
    running.wait_for_entities(50);
    site.vault.emulator.inject(Fault::status_for(
        Target::Entra,
        Duration::from_secs(3600),
        503,
    ));
    let down_since = SystemTime::now();
    let run = running.wait();
    assert_eq!(run.ok_text(), summary(fleet.len()));
    let entra = site.vault.emulator.requests_to(Target::Entra);
    assert_eq!(
        entra.iter().filter(|r| r.status == 200).count(),
        1,
        "one token for the whole run"
    );
    assert!(
        entra
            .iter()
            .filter(|r| r.received_at > down_since)
            .all(|r| r.status == 503),
        "Entra answered while down"
    );
    site.end_state().assert_same_as(baseline(fleet));
    site.assert_nothing_secret_in(&[&run]);
}

/// The seed of the random kill points: `VAULTREF_FAULT_SEED` to replay a run, else random
/// (the test prints it, so that a failure can be replayed).
fn seed() -> u64 {
    std::env::var("VAULTREF_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| RandomState::new().hash_one(SystemTime::now()))
}

#[test]
fn kill_9_at_random_points_then_a_full_run_loses_nothing() {
    let fleet = fleet(500);
    let site = Site::new(fleet, EmulatorConfig::default(), Database::Sqlite);
    let mut state = seed();
    println!("kill -9 points from VAULTREF_FAULT_SEED={state}");
    let mut next = || {
        // xorshift64*: reproducible points from the seed.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut runs = Vec::new();
    for _ in 0..3 {
        // Within the first four fifths, so that the process is still working when the signal
        // lands (entities no earlier run reached are still to write).
        let at = usize::try_from(next() % u64::try_from(fleet.len() * 4 / 5).unwrap()).unwrap();
        let mut running: Running = site.start_migrate();
        running.wait_for_entities(at.max(1));
        // Somewhere inside the next entity's work, not only between two.
        std::thread::sleep(Duration::from_micros(next() % 3000));
        let killed = running.kill();
        assert_eq!(killed.code, None, "killed by a signal");
        runs.push(killed);
    }
    let last = site.migrate();
    last.assert_ok();
    assert!(
        String::from_utf8_lossy(&last.stdout).contains("failed 0"),
        "{}",
        last.stderr
    );
    site.end_state().assert_same_as(baseline(fleet));
    runs.push(last);
    site.assert_nothing_secret_in(&runs.iter().collect::<Vec<_>>());
}
