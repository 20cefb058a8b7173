//! The vaultref emulator as other projects run it: the `vaultref` image (`cargo xtask images`)
//! started through testcontainers, configured from the ready line it prints.

use std::{fmt, net::TcpListener, path::Path};

use testcontainers::{
    ContainerAsync, GenericImage, ImageExt as _,
    core::{IntoContainerPort as _, Mount, WaitFor},
    runners::AsyncRunner as _,
};

use crate::{
    Error, Result,
    container::{self, announce},
};

/// The variable naming the emulator image; `vaultref:latest` when unset.
pub const EMULATOR_IMAGE_VAR: &str = "VAULTREF_TEST_EMULATOR_IMAGE";
const DEFAULT_EMULATOR_IMAGE: &str = "vaultref:latest";

/// Where the image keeps the emulator's state; the CA lands there as `ca.pem`.
const STATE_DIR: &str = "/vaultref";

/// A `vaultref emulator --tls` container for one test, with its state folder (and so its CA)
/// mounted from a temporary folder. Removed on drop.
pub struct EmulatorContainer {
    container: Option<ContainerAsync<GenericImage>>,
    ready: serde_json::Value,
    dir: tempfile::TempDir,
}

impl EmulatorContainer {
    /// Starts the image `VAULTREF_TEST_EMULATOR_IMAGE` names (else `vaultref:latest`),
    /// serving `vaults` beside the default one (`--vault`), on a free port published under the
    /// same number, so the URLs of its ready line work from here, and waits for the ready
    /// line.
    ///
    /// # Errors
    /// [`Error::NoEmulator`] when the container cannot be started or prints no ready line.
    pub async fn start(vaults: &[&str]) -> Result<Self> {
        let image = std::env::var(EMULATOR_IMAGE_VAR)
            .ok()
            .filter(|image| !image.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_EMULATOR_IMAGE.to_owned());
        let failed = |reason: String| Error::NoEmulator {
            image_var: EMULATOR_IMAGE_VAR,
            image: image.clone(),
            reason,
        };
        let dir = tempfile::tempdir().map_err(|e| failed(e.to_string()))?;
        let port = free_port().map_err(|e| failed(e.to_string()))?;
        let (name, tag) = container::split_image(&image);
        let request = GenericImage::new(name, tag)
            .with_wait_for(WaitFor::message_on_stdout("\"vault_url\""))
            .with_mapped_port(port, port.tcp())
            .with_mount(Mount::bind_mount(
                dir.path().display().to_string(),
                STATE_DIR,
            ))
            .with_label(container::CONTAINER_LABEL, "emulator")
            .with_cmd(
                [
                    "emulator".to_owned(),
                    "--tls".to_owned(),
                    "--port".to_owned(),
                    port.to_string(),
                    "--state-dir".to_owned(),
                    STATE_DIR.to_owned(),
                ]
                .into_iter()
                .chain(
                    vaults
                        .iter()
                        .flat_map(|name| ["--vault".to_owned(), (*name).to_owned()]),
                ),
            );
        let started = container::on_runtime(async move {
            let container = request.start().await.map_err(|e| e.to_string())?;
            let stdout = container.stdout_to_vec().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((container, stdout))
        })
        .await
        .and_then(|result| result)
        .map_err(failed)?;
        let (container, stdout) = started;
        container::remove_at_exit(container.id(), "emulator");
        let line = String::from_utf8_lossy(&stdout);
        let line = line.lines().next().unwrap_or_default();
        let mut ready: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| failed(format!("the first line is not the ready line: {e}")))?;
        // The ready line names the CA inside the container; it is in the mounted folder here.
        ready["ca_cert"] = dir.path().join("ca.pem").display().to_string().into();
        announce(&format!(
            "started the emulator container {} from {image} on 127.0.0.1:{port}",
            container.id().get(..12).unwrap_or_default()
        ));
        Ok(Self {
            container: Some(container),
            ready,
            dir,
        })
    }

    /// The ready line, as `vaultref emulator` prints it (docs/emulator.md), with `ca_cert`
    /// the path of the CA on this machine.
    #[must_use]
    pub fn ready(&self) -> &serde_json::Value {
        &self.ready
    }

    /// The mounted state folder (`ca.pem`, `identity.json`, `secrets.json`).
    #[must_use]
    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for EmulatorContainer {
    fn drop(&mut self) {
        if let Some(container) = self.container.take() {
            // Removed on the runtime it was started on; this thread may be in a runtime of
            // its own, or in none.
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            container::spawn_on_runtime(async move {
                let id = container.id().get(..12).unwrap_or_default().to_owned();
                if container.rm().await.is_ok() {
                    announce(&format!("removed the emulator container {id}"));
                }
                let _ = done_tx.send(());
            });
            let _ = done_rx.recv();
        }
    }
}

impl fmt::Debug for EmulatorContainer {
    /// Not the ready line: it holds the client secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorContainer")
            .field("vault_url", &self.ready["vault_url"])
            .finish_non_exhaustive()
    }
}

/// A port free on this machine now: the published port must be the one the emulator listens
/// on inside, as its URLs name it.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
