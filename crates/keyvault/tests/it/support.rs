//! Shared setup: an emulator with TLS, a client for `https://kvtest.localhost:PORT/` with
//! challenge-resource verification on, and a timer that records waits instead of sleeping.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use time::OffsetDateTime;
use vaultref_emulator::{Emulator, EmulatorConfig, Identity, Permissions, RecordedRequest, Target};
use vaultref_entra::{
    ClientSecretCredential, CredentialOptions, Env, HttpClientOptions, TokenCredential,
    http_client_builder,
};
use vaultref_keyvault::{
    Error, ForbiddenReason, Jitter, SecretClient, SecretClientOptions, SecretName, Timer,
};

/// The vault the tests talk to, served at `https://kvtest.localhost:PORT/`.
pub(crate) const VAULT: &str = "kvtest";

/// A timer whose `sleep` records the wait and moves a virtual clock instead of sleeping.
#[derive(Debug)]
pub(crate) struct RecordingTimer {
    start: Instant,
    elapsed: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl RecordingTimer {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    /// Every wait requested so far.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Timer for RecordingTimer {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap()
    }

    fn wall_clock(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.elapsed.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleeps.lock().unwrap().push(duration);
        *self.elapsed.lock().unwrap() += duration;
        Box::pin(async {})
    }
}

/// Jitter that always samples the same number (0.5: back-offs exactly as computed).
#[derive(Debug)]
pub(crate) struct FixedJitter(pub(crate) f64);

impl Jitter for FixedJitter {
    fn sample(&self) -> f64 {
        self.0
    }
}

/// An emulator, an HTTP client that trusts it, and a client for its `kvtest` vault.
pub(crate) struct Kv {
    pub(crate) emu: Emulator,
    pub(crate) http: reqwest::Client,
    pub(crate) client: SecretClient,
    pub(crate) timer: Arc<RecordingTimer>,
}

impl Kv {
    /// Requests the vault received (the Entra ones left out).
    pub(crate) fn vault_requests(&self) -> Vec<RecordedRequest> {
        self.emu.requests_to(Target::Vault)
    }

    /// The statuses of the vault requests, in order.
    pub(crate) fn vault_statuses(&self) -> Vec<u16> {
        self.vault_requests().iter().map(|r| r.status).collect()
    }

    /// Another client of the same vault with other options.
    pub(crate) fn client_with(
        &self,
        credential: Arc<dyn TokenCredential>,
        tweak: impl FnOnce(&mut SecretClientOptions),
    ) -> SecretClient {
        let mut options = options(&self.http, &self.timer);
        tweak(&mut options);
        SecretClient::new(self.emu.vault_url_for(VAULT).as_str(), credential, options).unwrap()
    }

    /// A client of the same vault signing in as a new app that may only read secrets.
    pub(crate) fn read_only_client(&self, client_id: &str, client_secret: &str) -> SecretClient {
        self.emu.add_app(
            Identity::app(client_id, client_secret),
            Permissions::read_only(),
        );
        self.client_with(
            credential(&self.emu, &self.http, client_id, client_secret),
            |_| {},
        )
    }

    /// Stores `secret` and reads it once, so the challenge is done, then clears the request log.
    pub(crate) async fn challenge_done(&self, secret: &str, value: &str) {
        self.emu.vault(VAULT).set_secret(secret, value);
        self.client.get_secret(&name(secret)).await.unwrap();
        self.emu.clear_requests();
    }

    /// The default app's credential, sharing the HTTP client.
    pub(crate) fn credential(&self) -> Arc<dyn TokenCredential> {
        credential(
            &self.emu,
            &self.http,
            self.emu.client_id(),
            self.emu.client_secret(),
        )
    }
}

fn no_env() -> Env {
    Env::from_vars::<[(&str, &str); 0], &str, &str>([])
}

/// The shared reqwest client: vaultref-entra's builder with the emulator CA, and
/// `kvtest.localhost` mapped to 127.0.0.1 (glibc does not resolve `*.localhost`).
pub(crate) fn http_client(emu: &Emulator) -> reqwest::Client {
    let options = HttpClientOptions {
        ca_cert_file: emu.ca_cert_path().map(ToOwned::to_owned),
        ..HttpClientOptions::default()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], emu.port()));
    http_client_builder(&options, &no_env())
        .unwrap()
        .no_proxy()
        .resolve(&format!("{VAULT}.localhost"), addr)
        .build()
        .unwrap()
}

pub(crate) fn credential(
    emu: &Emulator,
    http: &reqwest::Client,
    client_id: &str,
    client_secret: &str,
) -> Arc<dyn TokenCredential> {
    Arc::new(
        ClientSecretCredential::new(
            emu.tenant_id(),
            client_id,
            client_secret.into(),
            CredentialOptions {
                env: no_env(),
                authority_host: Some(emu.authority_host()),
                http_client: Some(http.clone()),
                ..CredentialOptions::default()
            },
        )
        .unwrap(),
    )
}

fn options(http: &reqwest::Client, timer: &Arc<RecordingTimer>) -> SecretClientOptions {
    SecretClientOptions {
        http_client: Some(http.clone()),
        timer: timer.clone(),
        env: no_env(),
        ..SecretClientOptions::default()
    }
}

pub(crate) async fn start() -> Kv {
    start_with(EmulatorConfig::default()).await
}

/// Starts an emulator with `config` (TLS forced on) and a client of its `kvtest` vault.
pub(crate) async fn start_with(config: EmulatorConfig) -> Kv {
    let emu = vaultref_testkit::tls_emulator_with(config).await;
    let vault_url = emu.vault_url_for(VAULT);
    assert_eq!(vault_url.scheme(), "https");
    let http = http_client(&emu);
    let timer = RecordingTimer::new();
    let credential = credential(&emu, &http, emu.client_id(), emu.client_secret());
    let client = SecretClient::new(vault_url.as_str(), credential, options(&http, &timer)).unwrap();
    Kv {
        emu,
        http,
        client,
        timer,
    }
}

pub(crate) fn name(name: &str) -> SecretName {
    SecretName::new(name).unwrap()
}

/// The value `client` reads for `secret`; panics naming the secret when the read fails.
pub(crate) async fn read_value(client: &SecretClient, secret: &str) -> String {
    client
        .get_secret(&name(secret))
        .await
        .unwrap_or_else(|e| panic!("reading {secret}: {e}"))
        .value
        .expose()
        .to_owned()
}

/// Asserts that `err` is a 403 for `reason` whose service message contains `says`.
pub(crate) fn assert_forbidden(err: &Error, reason: ForbiddenReason, says: &str) {
    match err {
        Error::Forbidden {
            reason: got,
            message,
            ..
        } if *got == reason => assert!(message.contains(says), "{message}"),
        other => panic!("expected Forbidden ({reason:?}): {other}"),
    }
}
