//! The token cache seen from outside: single flight and riding out an Entra outage.

use std::{sync::Arc, time::Duration};

use vaultref_emulator::{Fault, Target};
use vaultref_entra::{TokenCredential, TokenRequestOptions};

use crate::support::{
    ManualClock, emulator, emulator_options, secret_credential, statuses, vault_scope, with_clock,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_callers_on_a_cold_cache_make_one_request() {
    let emu = emulator().await;
    // Keep the one request in flight long enough for every caller to queue behind it.
    emu.inject(Fault::latency(Target::Entra, Duration::from_millis(300)));
    let cred = Arc::new(secret_credential(&emu, emulator_options(&emu)));
    let scope = vault_scope(&emu);
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let cred = cred.clone();
            let scope = scope.clone();
            tokio::spawn(async move {
                cred.get_token(&[&scope], &TokenRequestOptions::default())
                    .await
                    .map(|t| t.secret().to_owned())
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap());
    }
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller got the same token"
    );
    let log = emu.requests_to(Target::Entra);
    assert_eq!(log.len(), 1, "exactly one token request");
    assert_eq!(log[0].status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_down_for_30_seconds_while_the_token_is_valid_fails_no_call() {
    let emu = emulator().await;
    let clock = ManualClock::new();
    let cred = secret_credential(&emu, with_clock(emulator_options(&emu), clock.clone()));
    let scope = vault_scope(&emu);
    let get = || async {
        cred.get_token(&[&scope], &TokenRequestOptions::default())
            .await
    };
    let first = get().await.unwrap();
    let lifetime = first.expires_on() - clock.now_utc();

    // Four minutes before expiry: inside the refresh window, still valid.
    clock.advance((lifetime - time::Duration::minutes(4)).unsigned_abs());
    // Entra answers 503 until the faults are cleared: the outage spans the 60 calls below
    // however slow the machine is (a wall-clock outage would not).
    emu.inject(Fault::status(Target::Entra, u32::MAX, 503));
    for _ in 0..60 {
        let token = get()
            .await
            .expect("no call fails while the cached token is valid");
        assert_eq!(token.secret(), first.secret());
        // 2 s of cache time per 0.5 s of real time: background refreshes are attempted
        // (once per 30 s of cache time) while Entra is down, and the token stays valid.
        clock.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let during = statuses(&emu, Target::Entra);
    let failed = during.iter().filter(|s| **s == 503).count();
    assert!(
        failed >= 2,
        "refreshes were attempted during the outage: {during:?}"
    );
    // One refresh (1 try + 2 retries) per 30 s of cache time, not one per call.
    assert!(during.len() <= 1 + 6 * 3, "no request storm: {during:?}");

    // After the outage (and any refresh still in flight), the next request succeeds.
    emu.clear_faults();
    tokio::time::sleep(Duration::from_secs(1)).await;
    clock.advance(Duration::from_secs(240));
    let fresh = get().await.unwrap();
    assert_ne!(fresh.secret(), first.secret());
    assert_eq!(statuses(&emu, Target::Entra).last(), Some(&200));
}

#[tokio::test]
async fn force_refresh_bypasses_the_cache_for_one_call() {
    let emu = emulator().await;
    let cred = secret_credential(&emu, emulator_options(&emu));
    let scope = vault_scope(&emu);
    let first = cred
        .get_token(&[&scope], &TokenRequestOptions::default())
        .await
        .unwrap();
    let second = cred
        .get_token(&[&scope], &TokenRequestOptions::default())
        .await
        .unwrap();
    assert_eq!(second.secret(), first.secret());
    assert_eq!(
        emu.requests_to(Target::Entra).len(),
        1,
        "two calls, one request"
    );

    // The emulator's tokens carry no nonce: a new lifetime makes the next one differ even
    // within the same second.
    emu.set_token_lifetime(Duration::from_secs(2 * 3600));
    let forced = cred
        .get_token(
            &[&scope],
            &TokenRequestOptions::default().with_force_refresh(),
        )
        .await
        .unwrap();
    assert_ne!(
        forced.secret(),
        first.secret(),
        "a forced call gets a new token"
    );
    let log = emu.requests_to(Target::Entra);
    assert_eq!(log.len(), 2, "the forced call made one token request");
    assert_eq!(log[1].status, 200);
    let after = cred
        .get_token(&[&scope], &TokenRequestOptions::default())
        .await
        .unwrap();
    assert_eq!(
        after.secret(),
        forced.secret(),
        "the new token replaced the old one"
    );
    assert_eq!(emu.requests_to(Target::Entra).len(), 2);
}
