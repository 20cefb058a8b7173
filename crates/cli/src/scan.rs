//! `vaultref scan [--catalog FILE]` (global `--config FILE`, `-o json`): every row of every entity table,
//! reporting each secret field readable at rest (a plaintext; in managed mode also a `fernet:`
//! token of a plaintext), each field that looks secret and that the catalog does not classify,
//! and each row whose secrets cannot be told (an unknown connection type): entity, field path
//! and table, never a value. Findings go to stdout (text, or one JSON object with `--json`),
//! the summary to stderr; the exit status is 1 when anything is found.

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use crate::context::Context;
use crate::setup;
use crate::setup::{CatalogArg, NO_TABLES, manager, store_with_tables};

/// Options of `vaultref scan`.
#[derive(clap::Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    catalog: CatalogArg,
    /// The same as the global `-o json`: one JSON object on stdout, `rows` and `findings`
    /// (table, entityType, id, name, path, problem, description) and `missing_tables`.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &ScanArgs, ctx: &Context) -> Result<()> {
    let env = &ctx.env;
    let config = ctx.load_config()?;
    let runtime = setup::runtime()?;
    let report = runtime.block_on(async {
        let store = store_with_tables(&config).await?;
        let manager = manager(&config, env, &store, args.catalog.path.as_deref())?;
        let report = vaultref_store::scan(&store, &manager)
            .await
            .context(NO_TABLES)?;
        store.close().await;
        anyhow::Ok(report)
    })?;
    if args.json || ctx.json() {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                json!({"table": f.table, "entityType": f.entity_type.as_str(), "id": f.id,
                       "name": f.name, "version": f.version, "path": f.path,
                       "problem": f.problem.code(), "description": f.problem.describe()})
            })
            .collect();
        setup::print_line(
            &json!({"rows": report.rows, "findings": findings,
                    "missing_tables": report.missing_tables})
            .to_string(),
        )?;
    } else {
        for f in &report.findings {
            let version = f
                .version
                .as_ref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default();
            setup::print_line(&format!(
                "{} {} `{}`{version} {}: {}",
                f.table,
                f.entity_type,
                f.name,
                if f.path.is_empty() { "(row)" } else { &f.path },
                f.problem.describe()
            ))?;
        }
    }
    for table in &report.missing_tables {
        ctx.note(&format!(
            "note: no table {table}: this release has no such entities"
        ));
    }
    ctx.note(&format!(
        "scan: {} row(s), {} finding(s)",
        report.rows,
        report.findings.len()
    ));
    let in_history = report
        .findings
        .iter()
        .filter(|f| f.version.is_some())
        .count();
    if in_history > 0 {
        ctx.note(&format!(
            "note: {in_history} finding(s) in OpenMetadata's version history (entity_extension): \
             vaultref does not rewrite history, and those values have been readable in the \
             database; rotate those credentials where they are issued"
        ));
    }
    if !report.findings.is_empty() {
        bail!(
            "{} secret field(s) readable at rest or that cannot be checked (see above): run \
             `vaultref migrate-secrets`, and teach vaultref unknown fields with a custom catalog",
            report.findings.len()
        );
    }
    Ok(())
}
