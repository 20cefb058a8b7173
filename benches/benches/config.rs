//! `${VAR}` substitution of configuration files: vaultref's linear `substitute_variables` side
//! by side with the algorithm it replaced (kept here as the baseline only), which searched
//! the rest of the text for `}` after every unclosed `${` and so took quadratic time. See
//! docs/benchmarks.md ("Configuration substitution").
//!
//! - `substitute/<input>/vaultref` and `/.../before`: an OpenMetadata-like configuration of
//!   many `${VAR:-default}` references (`typical`), and text full of `${` that never close
//!   (`unclosed`, the hostile case of issue 14), at 25 KB, 100 KB and 800 KB. The baseline
//!   runs the unclosed case up to 100 KB only (800 KB takes seconds per run).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vaultref_core::{Environment, substitute_variables};

const SIZES: [usize; 3] = [25_000, 100_000, 800_000];

/// The substitution vaultref used before: correct, but every `${` without a `}` after it
/// scanned the whole rest of the text.
fn substitute_before(text: &str, env: &Environment) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if let Some(body_and_more) = tail.strip_prefix("${")
            && let Some(end) = body_and_more.find('}')
        {
            let body = &body_and_more[..end];
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (body, None),
            };
            match (env.get(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => out.push_str(&tail[..end + 3]),
            }
            rest = &body_and_more[end + 1..];
            continue;
        }
        out.push('$');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

fn typical(size: usize) -> String {
    let block = "secretsManagerConfiguration:\n  secretsManager: ${SECRET_MANAGER:-managed-azure-kv}\n  prefix: ${SECRET_MANAGER_PREFIX:-\"\"}\n  parameters:\n    vaultName: ${OM_SM_VAULT_NAME:-vault1}\n    clientSecret: ${OM_SM_CLIENT_SECRET:-\"\"}\n";
    block.repeat(size / block.len() + 1)[..size].to_owned()
}

fn unclosed(size: usize) -> String {
    "${a ".repeat(size / 4)
}

fn bench(c: &mut Criterion) {
    let env = Environment::from_pairs([("SECRET_MANAGER", "db"), ("OM_SM_VAULT_NAME", "kv")]);
    let mut group = c.benchmark_group("substitute");
    for (input, make) in [
        ("typical", typical as fn(usize) -> String),
        ("unclosed", unclosed),
    ] {
        for size in SIZES {
            let text = make(size);
            assert_eq!(
                substitute_variables(&text, &env),
                substitute_before(&text, &env)
            );
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("{input}/vaultref"), size),
                &text,
                |b, text| {
                    b.iter(|| substitute_variables(black_box(text), &env));
                },
            );
            if input == "typical" || size <= 100_000 {
                group.bench_with_input(
                    BenchmarkId::new(format!("{input}/before"), size),
                    &text,
                    |b, text| {
                        b.iter(|| substitute_before(black_box(text), &env));
                    },
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
