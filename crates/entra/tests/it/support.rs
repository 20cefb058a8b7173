//! Shared fixtures: emulator start-up, a manual clock, options, and request-log helpers.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use time::OffsetDateTime;
use vaultref_emulator::{Emulator, EmulatorConfig, RecordedRequest, Target};
use vaultref_entra::{
    ClientSecretCredential, Clock, CredentialOptions, Env, Error, RetryOptions, TokenCredential,
    TokenRequestOptions,
};

/// A plain-http emulator on 127.0.0.1:0.
pub(crate) async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts")
}

/// An https emulator with its own CA.
pub(crate) use vaultref_testkit::tls_emulator;

/// A clock that only moves when told to; starts at the real time so that the emulator's
/// absolute `expires_on` values make sense.
#[derive(Debug)]
pub(crate) struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(OffsetDateTime::now_utc())))
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    pub(crate) fn now_utc(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Fast retries, so failure tests do not wait for production back-off.
pub(crate) fn fast_retry(max_retries: u32) -> RetryOptions {
    RetryOptions {
        max_retries,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        ..RetryOptions::default()
    }
}

/// Options reading `vars` instead of the process environment.
pub(crate) fn options(vars: &[(&str, &str)]) -> CredentialOptions {
    CredentialOptions {
        env: Env::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))),
        retry: fast_retry(2),
        ..CredentialOptions::default()
    }
}

/// Options with the emulator as authority host.
pub(crate) fn emulator_options(emu: &Emulator) -> CredentialOptions {
    CredentialOptions {
        authority_host: Some(emu.authority_host()),
        ..options(&[])
    }
}

/// The same options driven by `clock`.
pub(crate) fn with_clock(options: CredentialOptions, clock: Arc<ManualClock>) -> CredentialOptions {
    CredentialOptions { clock, ..options }
}

/// `<vault resource>/.default`.
pub(crate) fn vault_scope(emu: &Emulator) -> String {
    format!("{}/.default", emu.vault_resource())
}

/// The emulator's default app as a client secret credential with `options`.
pub(crate) fn secret_credential(
    emu: &Emulator,
    options: CredentialOptions,
) -> ClientSecretCredential {
    ClientSecretCredential::new(
        emu.tenant_id(),
        emu.client_id(),
        emu.client_secret().into(),
        options,
    )
    .unwrap()
}

/// A token from `cred` for `emu`'s vault scope, as its secret string.
pub(crate) async fn vault_token(
    emu: &Emulator,
    cred: &dyn TokenCredential,
) -> Result<String, Error> {
    cred.get_token(&[&vault_scope(emu)], &TokenRequestOptions::default())
        .await
        .map(|t| t.secret().to_owned())
}

/// Statuses of the requests the emulator received for `target`, in order.
pub(crate) fn statuses(emu: &Emulator, target: Target) -> Vec<u16> {
    emu.requests_to(target).iter().map(|r| r.status).collect()
}

/// The only request to `target`.
pub(crate) fn only_request(emu: &Emulator, target: Target) -> RecordedRequest {
    let mut requests = emu.requests_to(target);
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request to {target:?}: {requests:?}"
    );
    requests.remove(0)
}

/// Whether the vault accepts `token`: a real request with the bearer token gets past
/// authentication (the secret does not exist, so 404 means "authenticated").
pub(crate) async fn vault_accepts(emu: &Emulator, token: &str) -> bool {
    let url = emu
        .vault_url()
        .join("secrets/entra-probe?api-version=7.6")
        .unwrap();
    let client = match emu.ca_cert_path() {
        Some(ca) => vaultref_entra::build_http_client(
            &vaultref_entra::HttpClientOptions {
                ca_cert_file: Some(ca.to_path_buf()),
                ..vaultref_entra::HttpClientOptions::default()
            },
            &Env::from_vars([("UNUSED", "1")]),
        )
        .unwrap(),
        None => reqwest::Client::new(),
    };
    let status = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    status != reqwest::StatusCode::UNAUTHORIZED && status != reqwest::StatusCode::FORBIDDEN
}
