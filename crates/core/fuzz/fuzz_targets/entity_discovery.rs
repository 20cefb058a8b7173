//! Fuzzes secret discovery and the store path on hostile entity JSON: an `entities import`
//! line (`{"entityType": ..., "entity": {...}}`) goes through `plan_store` and `apply` in
//! managed mode (in-memory vault), then back through `reveal_entity`.
//!
//! Properties: no panic or hang; a stored entity holds no plaintext it wrote to the vault (each
//! such value occurs fewer times as a JSON string than before); when the input holds no
//! `secret:` or `fernet:` text, revealing the stored entity gives back the original exactly
//! (nothing lost, nothing altered).
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vaultref_core::{
    EntityType, InMemoryBackend, ProviderKind, Resolver, ResolverOptions, SecretBackend,
    SecretsManager,
};
use vaultref_fernet::KeyRing;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime starts")
});

static KEYS: LazyLock<KeyRing> = LazyLock::new(|| {
    KeyRing::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=").expect("a valid key")
});

/// How many times `needle` is a whole string value in `value`.
fn occurrences(value: &Value, needle: &str) -> usize {
    match value {
        Value::String(s) => usize::from(s == needle),
        Value::Array(items) => items.iter().map(|v| occurrences(v, needle)).sum(),
        Value::Object(map) => map.values().map(|v| occurrences(v, needle)).sum(),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(entity_type) = line
        .get("entityType")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<EntityType>().ok())
    else {
        return;
    };
    let Some(original) = line.get("entity").cloned() else {
        return;
    };
    let vault = Arc::new(InMemoryBackend::new());
    let manager = SecretsManager::builder(ProviderKind::InMemory, KEYS.clone(), "openmetadata")
        .backend(vault.clone())
        .build()
        .expect("an in-memory manager builds");
    let mut stored = original.clone();
    RUNTIME.block_on(async {
        if manager.store_entity(entity_type, &mut stored).await.is_err() {
            assert_eq!(stored, original, "a failed store changed the entity");
            return;
        }
        for name in vault.names() {
            let value = vault
                .get_secret(&name)
                .await
                .expect("a written secret reads back");
            let plain = secrecy::ExposeSecret::expose_secret(&value).to_owned();
            assert!(
                occurrences(&stored, &plain) < occurrences(&original, &plain),
                "a value written to the vault is still in the stored entity"
            );
        }
        let text = String::from_utf8_lossy(data);
        if text.contains("secret:") || text.contains("fernet:") {
            return;
        }
        let resolver = Resolver::new(vault.clone(), ResolverOptions::default());
        let mut revealed = stored.clone();
        manager
            .reveal_entity(entity_type, &mut revealed, &resolver)
            .await
            .expect("a stored entity reveals");
        assert_eq!(revealed, original, "store then reveal lost or altered data");
    });
});
