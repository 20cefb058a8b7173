//! The challenge protocol: first request unauthenticated and body-less, resource verification,
//! token for the challenge's scope and tenant, one replay, the challenge cached.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use vaultref_emulator::{EmulatorConfig, Fault, Target, TokenClaims};
use vaultref_entra::{AccessToken, TokenCredential, TokenRequestOptions};
use vaultref_keyvault::{Error, SecretClient, SecretClientOptions, SetSecretOptions};

use crate::support::{VAULT, name, read_value, start, start_with};

#[tokio::test]
async fn first_request_is_a_bodyless_probe_then_the_replay_carries_token_and_body() {
    let kv = start().await;
    let set = kv
        .client
        .set_secret(
            &name("db-pass"),
            &"s3cr3t-value".into(),
            &SetSecretOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(set.value.expose(), "s3cr3t-value");
    assert_eq!(
        kv.emu.vault(VAULT).secret_value("db-pass").as_deref(),
        Some("s3cr3t-value")
    );

    let requests = kv.vault_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (probe, replay) = (&requests[0], &requests[1]);
    assert_eq!((probe.method.as_str(), probe.status), ("PUT", 401));
    assert!(!probe.has_authorization());
    assert!(
        probe.body.is_empty(),
        "the probe must not carry the secret value"
    );
    assert!(probe.header("content-type").is_none());
    assert_eq!((replay.method.as_str(), replay.status), ("PUT", 200));
    assert!(replay.has_authorization());
    assert!(replay.tls && probe.tls);
    assert_eq!(
        probe.header("x-ms-client-request-id"),
        replay.header("x-ms-client-request-id"),
        "one operation, one client request id"
    );
    assert_eq!(
        replay.query_param("api-version").as_deref(),
        Some("2025-07-01")
    );

    // The token was asked for the challenge's scope, from the challenge's tenant.
    let token_requests = kv.emu.requests_to(Target::Entra);
    assert_eq!(token_requests.len(), 1);
    assert!(
        token_requests[0]
            .path
            .starts_with(&format!("/{}/", kv.emu.tenant_id()))
    );
    assert_eq!(
        token_requests[0].form_field("scope"),
        Some(format!("{}/.default", kv.emu.vault_resource()))
    );

    // The challenge is cached: the next operation is one authenticated request.
    kv.emu.clear_requests();
    let got = kv.client.get_secret(&name("db-pass")).await.unwrap();
    assert_eq!(got.value.expose(), "s3cr3t-value");
    let requests = kv.emu.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].has_authorization());
    assert_eq!(requests[0].path, "/secrets/db-pass/");

    // Clones share the cached challenge.
    kv.emu.clear_requests();
    kv.client
        .clone()
        .get_secret(&name("db-pass"))
        .await
        .unwrap();
    assert_eq!(kv.emu.requests().len(), 1);
}

#[tokio::test]
async fn a_challenge_for_another_domain_is_refused_before_any_token_for_it() {
    let kv = start_with(EmulatorConfig {
        vault_resource: Some("https://vault.azure.net".into()),
        ..EmulatorConfig::default()
    })
    .await;
    let err = kv.client.get_secret(&name("x")).await.unwrap_err();
    assert!(
        matches!(&err, Error::ChallengeResourceMismatch { resource, vault_host }
        if resource == "https://vault.azure.net" && vault_host == "kvtest.localhost"),
        "{err}"
    );
    assert!(
        err.to_string().contains("verify_challenge_resource"),
        "{err}"
    );
    // The only token asked for is the prefetched one, for the vault's own parent domain
    // (`SecretClientOptions::prefetch_token`): never one for the resource the challenge named.
    let entra = kv.emu.requests_to(Target::Entra);
    assert!(entra.len() <= 1, "{}", entra.len());
    for request in &entra {
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            body.contains("localhost") && !body.contains("vault.azure.net"),
            "{body}"
        );
    }

    // Switched off, the same vault works (the emulator issues tokens for that resource).
    kv.emu.vault(VAULT).set_secret("x", "value-x");
    let relaxed = kv.client_with(kv.credential(), |o| o.verify_challenge_resource = false);
    assert_eq!(read_value(&relaxed, "x").await, "value-x");
}

#[tokio::test]
async fn the_token_for_the_likely_scope_travels_with_the_probe() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    // Every answer waits 300 ms: one request after the other would not overlap.
    kv.emu.inject(Fault::latency(
        Target::Any,
        std::time::Duration::from_millis(300),
    ));
    kv.client.get_secret(&name("s")).await.unwrap();
    let probe = kv
        .emu
        .requests_to(Target::Vault)
        .into_iter()
        .find(|r| r.status == 401)
        .expect("a probe");
    let tokens = kv.emu.requests_to(Target::Entra);
    assert_eq!(
        tokens.len(),
        1,
        "one token request, reused after the challenge"
    );
    assert!(
        tokens[0].received_at < probe.responded_at,
        "the token was asked for while the probe was in flight"
    );
    assert_eq!(kv.vault_statuses(), vec![401, 200]);
}

#[tokio::test]
async fn the_default_vault_on_an_ip_address_needs_verification_off() {
    let kv = start().await;
    kv.emu.set_secret("ip-secret", "value-ip");
    let make = |verify: bool| {
        SecretClient::new(
            kv.emu.vault_url().as_str(),
            kv.credential(),
            SecretClientOptions {
                http_client: Some(kv.http.clone()),
                verify_challenge_resource: verify,
                ..SecretClientOptions::default()
            },
        )
        .unwrap()
    };
    let err = make(true).get_secret(&name("ip-secret")).await.unwrap_err();
    assert!(
        matches!(err, Error::ChallengeResourceMismatch { .. }),
        "{err}"
    );
    let secret = make(false).get_secret(&name("ip-secret")).await.unwrap();
    assert_eq!(secret.value.expose(), "value-ip");
}

/// A credential handing out one fixed token, to present tokens the vault must reject.
#[derive(Debug)]
struct FixedToken(String);

#[async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: &TokenRequestOptions,
    ) -> vaultref_entra::Result<AccessToken> {
        Ok(AccessToken::new(
            self.0.clone(),
            OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test]
async fn a_rejected_token_is_retried_once_after_the_challenge_then_reported() {
    let kv = start().await;
    let wrong_audience = kv.emu.issue_custom_token(&TokenClaims {
        audience: Some("https://storage.azure.com".into()),
        lifetime_secs: 3600,
        ..TokenClaims::default()
    });
    let client = kv.client_with(Arc::new(FixedToken(wrong_audience)), |_| {});
    let err = client.get_secret(&name("any")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message, .. } if message.contains("AKV10022")),
        "{err}"
    );
    assert_eq!(err.status(), Some(401));
    // Probe, replay with the token, and no further attempt.
    assert_eq!(kv.vault_statuses(), [401, 401]);
    assert!(
        !err.to_string().contains("eyJ"),
        "no token in messages: {err}"
    );
    assert!(
        kv.timer.sleeps().is_empty(),
        "401 is not retried with back-off"
    );
}

#[tokio::test]
async fn an_expired_cached_token_gets_a_fresh_challenge_round() {
    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    let expired = kv.emu.issue_custom_token(&TokenClaims {
        lifetime_secs: -10,
        ..TokenClaims::default()
    });
    let client = kv.client_with(Arc::new(FixedToken(expired)), |_| {});
    let err = client.get_secret(&name("s")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message, .. } if message.contains("TokenExpired")),
        "{err}"
    );
}

#[tokio::test]
async fn credential_failures_are_typed() {
    let kv = start().await;
    let bad_secret = crate::support::credential(&kv.emu, &kv.http, kv.emu.client_id(), "wrong");
    let client = kv.client_with(bad_secret, |_| {});
    let err = client.get_secret(&name("s")).await.unwrap_err();
    assert!(matches!(err, Error::Credential(_)), "{err}");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
}

/// Counts `get_token` calls of the credential it wraps.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn TokenCredential>,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl TokenCredential for Counting {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> vaultref_entra::Result<AccessToken> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get_token(scopes, options).await
    }
}

#[tokio::test]
async fn the_bearer_header_is_reused_until_the_credential_would_refresh() {
    use vaultref_keyvault::Timer as _;

    let kv = start().await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    let counting = Arc::new(Counting {
        inner: kv.credential(),
        calls: 0.into(),
    });
    let client = kv.client_with(counting.clone(), |_| {});
    for _ in 0..3 {
        client.get_secret(&name("s")).await.unwrap();
    }
    let calls = || counting.calls.load(std::sync::atomic::Ordering::SeqCst);
    // The prefetch beside the probe, then the bearer (from the credential's cache); none after.
    assert_eq!(calls(), 2);
    // The emulator's tokens live 3599 s; 56 minutes on, the 5-minute refresh window has begun.
    kv.timer
        .sleep(std::time::Duration::from_secs(56 * 60))
        .await;
    client.get_secret(&name("s")).await.unwrap();
    assert_eq!(
        calls(),
        3,
        "the credential is asked again in its refresh window"
    );
}

#[tokio::test]
async fn concurrent_first_requests_share_one_probe() {
    let kv = start().await;
    for i in 0..20 {
        kv.emu.vault(VAULT).set_secret(&format!("c{i}"), "v");
    }
    let names: Vec<_> = (0..20).map(|i| name(&format!("c{i}"))).collect();
    let results = futures::future::join_all(names.iter().map(|n| kv.client.get_secret(n))).await;
    assert!(results.iter().all(Result::is_ok));
    let statuses = kv.vault_statuses();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(kv.emu.requests_to(Target::Entra).len(), 1);
}

#[tokio::test]
async fn a_refused_token_that_is_still_valid_is_replaced_on_the_replay() {
    // Only the emulator's clock moves: to the vault the cached token has expired (as if it
    // were revoked), while the credential and the pipeline still hold it for valid.
    let clock = Arc::new(vaultref_emulator::ManualClock::new(
        std::time::SystemTime::now(),
    ));
    let kv = start_with(EmulatorConfig {
        clock: clock.clone(),
        ..EmulatorConfig::default()
    })
    .await;
    kv.emu.vault(VAULT).set_secret("s", "v");
    assert_eq!(read_value(&kv.client, "s").await, "v");
    assert_eq!(kv.emu.requests_to(Target::Entra).len(), 1);
    assert_eq!(kv.vault_statuses(), [401, 200]);

    clock.advance(std::time::Duration::from_secs(2 * 3600));
    assert_eq!(read_value(&kv.client, "s").await, "v");
    // The cached header was refused, the replay carried a token fetched past the cache.
    assert_eq!(kv.vault_statuses(), [401, 200, 401, 200]);
    let entra = kv.emu.requests_to(Target::Entra);
    assert_eq!(entra.len(), 2, "one extra token request");
    assert_eq!(entra[1].status, 200);
    let bearers: Vec<_> = kv.vault_requests()[2..]
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert!(bearers[0].is_some() && bearers[1].is_some());
    // Compared without Debug: the values are tokens.
    assert!(bearers[0] != bearers[1], "the replay sent another token");

    // The new token is cached: the next call needs neither a challenge nor Entra.
    kv.client.get_secret(&name("s")).await.unwrap();
    assert_eq!(kv.vault_statuses(), [401, 200, 401, 200, 200]);
    assert_eq!(kv.emu.requests_to(Target::Entra).len(), 2);
}
