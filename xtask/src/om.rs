//! `cargo xtask om-catalog`: regenerates vaultref's secret-field catalog
//! (`crates/core/catalog/openmetadata.json`) from the `openmetadata-ingestion` wheels of the
//! supported OpenMetadata releases, and the coverage table of `docs/compatibility.md` from it.
//!
//! The wheels are downloaded once (`pip download --no-deps`, into the gitignored `.cache/`);
//! only their generated models (`metadata/generated/`) and the two files those import
//! (`metadata/ingestion/models/custom_*.py`) are unpacked, into `.venv/openmetadata/<release>/`,
//! where the conformance test also finds them. Nothing else of the package is installed: the
//! models need pydantic and email-validator alone (`PYTHON_PACKAGES`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{run, workspace_root};

/// The OpenMetadata releases the catalog covers: the newest 1.x and 2.x that PyPI has
/// (checked with `pip index versions openmetadata-ingestion`, docs/facts-checked.md).
pub(crate) const RELEASES: &[&str] = &["1.13.6.3", "2.0.7.0"];

/// Where a release's models are unpacked, beside the virtualenv's interpreter.
pub(crate) fn models_dir(venv_python: &Path, release: &str) -> PathBuf {
    // .venv/bin/python -> .venv/openmetadata/<release>
    venv_python
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."))
        .join("openmetadata")
        .join(release)
}

/// Downloads and unpacks the models of every release not unpacked yet.
pub(crate) fn ensure_models(python: &Path) -> Result<()> {
    let cache = workspace_root().join(".cache").join("openmetadata");
    for release in RELEASES {
        let dir = models_dir(python, release);
        if dir.join("metadata").join("generated").exists() {
            continue;
        }
        std::fs::create_dir_all(&cache)?;
        let wheel = cache.join(format!("openmetadata_ingestion-{release}-py3-none-any.whl"));
        if !wheel.exists() {
            run(Command::new(python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "-d",
                ])
                .arg(&cache)
                .arg(format!("openmetadata-ingestion=={release}")))
            .with_context(|| format!("downloading openmetadata-ingestion {release}"))?;
        }
        if !wheel.exists() {
            bail!("pip did not leave {}", wheel.display());
        }
        // Python's zipfile: no archive crate for one job. Empty package files, so that
        // `metadata/__init__.py` (which imports the whole package) is not the wheel's.
        let unpack = "import sys, zipfile, pathlib\nwheel, out = sys.argv[1], pathlib.Path(sys.argv[2])\nwanted = ('metadata/generated/', 'metadata/ingestion/models/custom_pydantic.py', 'metadata/ingestion/models/custom_basemodel_validation.py')\nwith zipfile.ZipFile(wheel) as z:\n    for name in z.namelist():\n        if name.startswith(wanted):\n            z.extract(name, out)\nfor pkg in ('metadata', 'metadata/ingestion', 'metadata/ingestion/models'):\n    (out / pkg / '__init__.py').write_text('')\n";
        let partial = dir.with_file_name(format!("{release}.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        run(Command::new(python)
            .args(["-c", unpack])
            .arg(&wheel)
            .arg(&partial))
        .with_context(|| format!("unpacking the models of {release}"))?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&partial, &dir)?;
    }
    Ok(())
}

/// The task: the catalog, then the docs table.
pub(crate) fn om_catalog(python: &Path) -> Result<()> {
    ensure_models(python)?;
    let root = workspace_root();
    let out = root.join("crates/core/catalog/openmetadata.json");
    let mut command = Command::new(python);
    command
        .arg(root.join("xtask/openmetadata/om_catalog.py"))
        .arg(&out);
    for release in RELEASES {
        command.arg(format!(
            "{release}={}",
            models_dir(python, release).display()
        ));
    }
    run(&mut command)?;
    let text = std::fs::read_to_string(&out)?;
    let catalog =
        vaultref_core::Catalog::from_json(&text).context("the generated catalog does not load")?;
    let doc = root.join("docs/compatibility.md");
    let current = std::fs::read_to_string(&doc)?;
    let updated = vaultref_core::replace_coverage_table(&current, &catalog.coverage_table())
        .context("docs/compatibility.md has no coverage table markers")?;
    std::fs::write(&doc, updated)?;
    eprintln!("updated {} and {}", out.display(), doc.display());
    Ok(())
}
