//! `vaultref resolve --config FILE INPUT`: INPUT (a JSON or YAML file, `-` for stdin) with
//! every `secret:` reference replaced by its value, printed in the format it came in.
//!
//! Input that parses as JSON is JSON (printed pretty, keys in their original order); anything
//! else is read as YAML. Values are read through vaultref-core's `Resolver` (each distinct name
//! once, concurrently) from the vault consumers use (`consumer_backend`). A reference that does
//! not resolve fails the whole command, naming the reference and where it is, and nothing is
//! printed.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use vaultref_core::{Environment, Resolver, ResolverOptions, consumer_backend};
use vaultref_fernet::Zeroizing;

use crate::input::{MAX_DOCUMENT_BYTES, read_all};
use crate::setup::{self, ConfigArg};

/// Options of `vaultref resolve`.
#[derive(clap::Args)]
pub(crate) struct ResolveArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The JSON or YAML document to resolve; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
}

pub(crate) fn run(args: &ResolveArgs) -> Result<()> {
    let env = Environment::from_process();
    let config = args.config.load(&env)?;
    let input = read_all(&args.input, MAX_DOCUMENT_BYTES, "a document to resolve")?;
    let text = std::str::from_utf8(&input).with_context(|| {
        format!(
            "{} is not UTF-8 text: give a JSON or YAML document",
            args.input.display()
        )
    })?;
    // JSON is read into the YAML value type, whose mappings keep their key order.
    let (mut doc, json) = match serde_json::from_str::<serde_yaml_ng::Value>(text) {
        Ok(doc) => (doc, true),
        Err(_) => (
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).with_context(|| {
                format!(
                    "{} is neither JSON nor YAML: fix its syntax",
                    args.input.display()
                )
            })?,
            false,
        ),
    };
    let backend = consumer_backend(&config, &env)?;
    let resolver = Resolver::new(backend, ResolverOptions::default());
    setup::runtime()?.block_on(resolver.resolve_yaml_references(&mut doc))?;
    let output = Zeroizing::new(if json {
        let mut out = serde_json::to_string_pretty(&doc).context("cannot print the JSON")?;
        out.push('\n');
        out
    } else {
        serde_yaml_ng::to_string(&doc).context("cannot print the YAML")?
    });
    setup::write_stdout(output.as_bytes())
}
