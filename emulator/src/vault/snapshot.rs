//! The vaults as persisted in the state directory (`secrets.json`), written whole after every
//! change through a temporary file, so a crash leaves the previous snapshot or the new one.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{Vault, Vaults};
use crate::error::Error;
use crate::files::write_private;

/// What is persisted in the state directory.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct Snapshot {
    pub(crate) vaults: Vec<Vault>,
}

impl Vaults {
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            vaults: self.vaults.values().cloned().collect(),
        }
    }

    pub(crate) fn restore_snapshot(&mut self, snapshot: Snapshot) {
        for vault in snapshot.vaults {
            self.vaults.insert(vault.name.to_ascii_lowercase(), vault);
        }
    }
}

pub(crate) fn save_snapshot(path: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    write_private(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)
}

pub(crate) fn load_snapshot(path: &Path) -> Result<Option<Snapshot>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::State {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::State {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}
