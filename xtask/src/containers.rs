//! The second database pass of `cargo xtask ci`: the store's and the test kit's database tests
//! and the end-to-end job on PostgreSQL and MariaDB again, with no server URL, so the test kit
//! starts containers (testcontainers) from the local images `cargo xtask images` built.

use std::{env, path::Path};

use anyhow::{Result, bail};

use crate::{cargo_without, engine, images};

/// Runs the pass when a container engine answers; with `CI` set, a missing engine or image
/// fails it (`.ci/run` starts the engine and builds the images first).
pub(crate) fn ci_pass(root: &Path, envs: &[(&str, &str)]) -> Result<()> {
    let ci = env::var_os("CI").is_some();
    let host = env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    if !engine::answers(&host) {
        let problem = format!(
            "no container engine answers at {host}: start one with `cargo xtask engine start`, \
             export the DOCKER_HOST it prints, and build the images with `cargo xtask images`"
        );
        if ci {
            bail!("{problem} (CI runs the database tests through containers too)");
        }
        eprintln!("xtask ci: SKIPPED the container pass: {problem}");
        return Ok(());
    }
    let mut images_env: Vec<(&str, String)> = Vec::new();
    for (var, local) in [
        ("VAULTREF_TEST_POSTGRES_IMAGE", images::postgres_image()?),
        ("VAULTREF_TEST_MYSQL_IMAGE", images::mariadb_image()?),
    ] {
        if let Ok(image) = env::var(var)
            && !image.is_empty()
        {
            images_env.push((var, image));
        } else if images::image_exists(&local) {
            images_env.push((var, local));
        } else if ci {
            // No registry is reachable on CI's machines: the official image cannot be pulled.
            bail!("the image {local} is missing: build it with `cargo xtask images`");
        }
    }
    let mut all_env: Vec<(&str, &str)> = envs.to_vec();
    all_env.extend(images_env.iter().map(|(k, v)| (*k, v.as_str())));
    let unset = ["VAULTREF_TEST_POSTGRES_URL", "VAULTREF_TEST_MYSQL_URL"];
    eprintln!("xtask ci: the database tests again, through containers (engine {host})");
    cargo_without(
        root,
        [
            "test",
            "-p",
            "vaultref-store",
            "-p",
            "vaultref-testkit",
            "--test",
            "it",
            "--no-fail-fast",
        ],
        &all_env,
        &unset,
    )?;
    cargo_without(
        root,
        [
            "xtask",
            "e2e",
            "--database",
            "postgres",
            "--database",
            "mysql",
        ],
        &all_env,
        &unset,
    )
}
