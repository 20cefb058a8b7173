//! A local emulator of Azure Key Vault (secrets), Microsoft Entra ID and the managed-identity
//! endpoints, faithful enough for the official Azure SDKs and strict about authentication.
//!
//! - [`Emulator`]: start one with [`Emulator::start`] and an [`EmulatorConfig`]; it serves
//!   plain HTTP and (with `tls: true`) HTTPS on one `127.0.0.1` port, and hands out its
//!   endpoints, credentials and handles on its state (secrets, the request log, faults).
//! - [`VaultHandle`]: one vault by name (`emu.vault("team-a")`): seed and read its secrets,
//!   its URL, its access model. The same methods on `Emulator` act on the default vault.
//! - [`Identity`] and [`Permissions`]: app registrations, workload identities and managed
//!   identities, each with its secret permissions, so that 401 and 403 paths can be tested.
//! - [`AccessModel`]: whether a vault answers a missing permission like an access-policy vault
//!   (`AccessDenied`) or an RBAC one (`ForbiddenByRbac`).
//! - [`Fault`] and [`Target`]: throttling, 5xx bursts, latency, dropped connections, rate
//!   limits (per [`RateClass`], in Key Vault's 10-s windows or compressed time), policy
//!   denials (`ForbiddenByPolicy`).
//! - [`FaultSpec`]: a fault (or a delay, or the token lifetime) written as data, as
//!   `vaultref emulator --fault` and the admin endpoint take it. The admin endpoint
//!   (`EmulatorConfig::admin_port`) injects and clears faults and serves the request log over
//!   HTTP, for test suites in any language.
//! - [`RecordedRequest`]: one entry of the request log (`Debug` redacts credentials).
//! - [`SecretProperties`]: a stored secret's tags and attributes, read through the state API.
//! - [`Clock`], [`SystemClock`], [`ManualClock`]: the injected time source.
//! - [`Error`]: why the emulator could not start.
//!
//! Wiremock serves the requests (one catch-all mock, the router, dispatching to the stateful
//! handlers); a small front on the public port adds TLS and dropped connections. Wire
//! behaviour, client settings for each SDK and the module map are in `docs/emulator.md`.

mod access;
mod admin;
mod clock;
mod config;
mod directory;
mod emulator;
mod entra;
mod error;
mod fault;
mod fault_spec;
mod files;
mod front;
mod headers;
mod identity;
mod log;
mod managed;
mod properties;
mod random;
mod router;
mod service;
mod state;
mod sync;
mod tenant;
mod tls;
mod token;
mod vault;
mod wire;

pub use crate::access::AccessModel;
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::config::EmulatorConfig;
pub use crate::emulator::{Emulator, TokenClaims, VaultHandle};
pub use crate::error::{Error, Result};
pub use crate::fault::{Fault, RateClass, Target};
pub use crate::fault_spec::FaultSpec;
pub use crate::identity::{Identity, Permissions, SecretPermission};
pub use crate::log::RecordedRequest;
pub use crate::properties::SecretProperties;

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
