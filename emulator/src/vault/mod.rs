//! The Key Vault secrets data plane, for several vaults routed by host.
//!
//! - `model`: what a vault stores (secrets, versions, soft-deleted secrets) and the vaults.
//! - `snapshot`: the vaults as persisted in the state directory.
//! - `routes`: which vault (from `Host`) and which operation (from method and path).
//! - `auth`: the challenge, bearer-token validation and the 403s of each access model.
//! - `replies`: Key Vault's error bodies.
//! - `operations`, `paging`, `bundles`: the operations, listing with `nextLink`, and the
//!   secret bundles they answer with.
//! - `handle`: one request from start to end.

mod auth;
mod bundles;
mod handle;
mod model;
mod operations;
mod paging;
mod replies;
mod routes;
mod snapshot;

pub(crate) use self::auth::challenge;
pub(crate) use self::handle::handle;
#[cfg(test)]
pub(crate) use self::model::Version;
pub(crate) use self::model::{Secret, Vaults, seeded_version, valid_vault_name};
pub(crate) use self::replies::{injected_status, throttled};
pub(crate) use self::snapshot::{Snapshot, load_snapshot, save_snapshot};
