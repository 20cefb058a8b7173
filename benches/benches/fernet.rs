//! Fernet codec: vaultref-fernet side by side with the `fernet` crate (fernet-rs), both its
//! backends, in the same run. See docs/benchmarks.md for method and results.
//!
//! - `encrypt/<size>`: production path of each library (OS random IV, system clock).
//!   `vaultref (fixed IV)` isolates the crypto from the `getrandom` call.
//! - `decrypt/<size>`: one token per size, made by vaultref (all three read it), no TTL.
//! - `keyring-decrypt/64`: a ring of 3 keys, the matching key last.

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vaultref_fernet::{IvSource, Key, KeyRing};

const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];
const RUSTCRYPTO: &str = "fernet 0.2.2 rustcrypto";
const OPENSSL: &str = "fernet 0.1.4 openssl";

struct FixedIv;

impl IvSource for FixedIv {
    fn fill_iv(&self, iv: &mut [u8; 16]) {
        *iv = [7; 16];
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..=250u8).cycle().take(size).collect()
}

struct Contenders {
    ours: KeyRing,
    ours_fixed_iv: KeyRing,
    rustcrypto: fernet::Fernet,
    openssl: fernet_openssl::Fernet,
}

impl Contenders {
    fn with_key(key: &str) -> Contenders {
        let ours = KeyRing::parse(key).expect("valid key");
        Contenders {
            ours_fixed_iv: ours.clone().with_iv_source(FixedIv),
            ours,
            rustcrypto: fernet::Fernet::new(key).expect("valid key"),
            openssl: fernet_openssl::Fernet::new(key).expect("valid key"),
        }
    }
}

fn encrypt(c: &mut Criterion) {
    let key = Key::generate().to_base64();
    let contenders = Contenders::with_key(&key);
    let mut group = c.benchmark_group("encrypt");
    for size in SIZES {
        let data = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("vaultref", size), &data, |b, data| {
            b.iter(|| contenders.ours.encrypt(black_box(data)));
        });
        group.bench_with_input(
            BenchmarkId::new("vaultref (fixed IV)", size),
            &data,
            |b, data| {
                b.iter(|| contenders.ours_fixed_iv.encrypt(black_box(data)));
            },
        );
        group.bench_with_input(BenchmarkId::new(RUSTCRYPTO, size), &data, |b, data| {
            b.iter(|| contenders.rustcrypto.encrypt(black_box(data)));
        });
        group.bench_with_input(BenchmarkId::new(OPENSSL, size), &data, |b, data| {
            b.iter(|| contenders.openssl.encrypt(black_box(data)));
        });
    }
    group.finish();
}

fn decrypt(c: &mut Criterion) {
    let key = Key::generate().to_base64();
    let contenders = Contenders::with_key(&key);
    let mut group = c.benchmark_group("decrypt");
    for size in SIZES {
        let data = payload(size);
        let token = contenders.ours.encrypt(&data);
        // Every contender must read the token before its speed means anything.
        assert_eq!(
            contenders
                .ours
                .decrypt(&token)
                .expect("vaultref")
                .as_slice(),
            data
        );
        assert_eq!(
            contenders.rustcrypto.decrypt(&token).expect("rustcrypto"),
            data
        );
        assert_eq!(contenders.openssl.decrypt(&token).expect("openssl"), data);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("vaultref", size), &token, |b, token| {
            b.iter(|| contenders.ours.decrypt(black_box(token)));
        });
        group.bench_with_input(BenchmarkId::new(RUSTCRYPTO, size), &token, |b, token| {
            b.iter(|| contenders.rustcrypto.decrypt(black_box(token)));
        });
        group.bench_with_input(BenchmarkId::new(OPENSSL, size), &token, |b, token| {
            b.iter(|| contenders.openssl.decrypt(black_box(token)));
        });
    }
    group.finish();
}

fn keyring_decrypt(c: &mut Criterion) {
    let keys: Vec<_> = (0..3).map(|_| Key::generate().to_base64()).collect();
    let list = keys
        .iter()
        .map(|key| key.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let ours = KeyRing::parse(&list).expect("valid keys");
    let rustcrypto = fernet::MultiFernet::new(
        keys.iter()
            .map(|key| fernet::Fernet::new(key).expect("valid key"))
            .collect(),
    );
    let openssl = fernet_openssl::MultiFernet::new(
        keys.iter()
            .map(|key| fernet_openssl::Fernet::new(key).expect("valid key"))
            .collect(),
    );
    let size = 64;
    let data = payload(size);
    // Made with the last key of the ring.
    let token = KeyRing::parse(&keys[2]).expect("valid key").encrypt(&data);
    assert_eq!(ours.decrypt(&token).expect("vaultref").as_slice(), data);
    assert_eq!(rustcrypto.decrypt(&token).expect("rustcrypto"), data);
    assert_eq!(openssl.decrypt(&token).expect("openssl"), data);

    let mut group = c.benchmark_group("keyring-decrypt-3-keys-last-matches");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_with_input(BenchmarkId::new("vaultref", size), &token, |b, token| {
        b.iter(|| ours.decrypt(black_box(token)));
    });
    group.bench_with_input(BenchmarkId::new(RUSTCRYPTO, size), &token, |b, token| {
        b.iter(|| rustcrypto.decrypt(black_box(token)));
    });
    group.bench_with_input(BenchmarkId::new(OPENSSL, size), &token, |b, token| {
        b.iter(|| openssl.decrypt(black_box(token)));
    });
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the machine is shared; pass `--measurement-time` to override.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = encrypt, decrypt, keyring_decrypt
}
criterion_main!(benches);
