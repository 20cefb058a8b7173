//! The audit trail: one structured event per vault write, delete and recovery made by the
//! store and delete paths. Events name the entity, the field, the secret and its version,
//! never the value.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::error::EntityRef;
use crate::naming::SecretName;

/// The `tracing` target of [`TracingAuditSink`]'s events, to route them to an audit log.
pub const AUDIT_TARGET: &str = "vaultref::audit";

/// What was done to the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// A secret version was written.
    Write,
    /// A secret was (soft-)deleted.
    Delete,
    /// A soft-deleted secret was recovered so that its name could be written again.
    Recover,
    /// A secret got its previous value back: the operation that wrote it failed.
    Restore,
    /// A soft-deleted secret was purged (only the operator's `secret purge` does this).
    Purge,
}

impl AuditAction {
    /// `write`, `delete`, `recover`, `restore` or `purge`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Delete => "delete",
            Self::Recover => "recover",
            Self::Restore => "restore",
            Self::Purge => "purge",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to the vault, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// What was done.
    pub action: AuditAction,
    /// The entity whose field the secret belongs to.
    pub entity: EntityRef,
    /// The field, as dot-separated JSON keys from the entity root.
    pub field: String,
    /// The secret.
    pub secret: SecretName,
    /// The version the vault gave a write, when it reports one.
    pub version: Option<String>,
}

/// Where audit events go. The default is [`TracingAuditSink`].
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event (called after the vault confirmed the change).
    fn record(&self, event: &AuditEvent);
}

/// Emits every event as an INFO `tracing` event with target [`AUDIT_TARGET`] and the fields
/// `action`, `entity_type`, `entity`, `field`, `secret` and `version`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAuditSink;

impl AuditSink for TracingAuditSink {
    fn record(&self, event: &AuditEvent) {
        emit(
            event.action,
            &event.entity.entity_type,
            &event.entity.name,
            &event.field,
            &event.secret,
            event.version.as_deref(),
        );
    }
}

/// Records a change to `secret` that no entity is behind (an operator's `vaultref secret`
/// command), in the same audit trail as [`TracingAuditSink`], with `-` for the entity type,
/// the entity and the field.
pub fn audit_secret_change(action: AuditAction, secret: &SecretName, version: Option<&str>) {
    emit(action, "-", "-", "-", secret, version);
}

/// The one place an audit record is written.
fn emit(
    action: AuditAction,
    entity_type: &str,
    entity: &str,
    field: &str,
    secret: &SecretName,
    version: Option<&str>,
) {
    tracing::info!(
        target: AUDIT_TARGET,
        action = action.as_str(),
        entity_type = %entity_type,
        entity = %entity,
        field = %field,
        secret = %secret,
        version = version.unwrap_or("-"),
        "vault {action}"
    );
}

/// Keeps events in memory, for tests and for callers that forward them elsewhere in batches.
#[derive(Debug, Default)]
pub struct RecordingAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl RecordingAuditSink {
    /// An empty recorder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The events recorded so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl AuditSink for RecordingAuditSink {
    fn record(&self, event: &AuditEvent) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_tracing_sink_emits_one_structured_event_per_change() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let event = AuditEvent {
            action: AuditAction::Write,
            entity: EntityRef {
                entity_type: "databaseService".into(),
                name: "mysql-test".into(),
            },
            field: "connection.config.authType.password".into(),
            secret: SecretName::new("openmetadata-database-mysql-test-authtype-password").unwrap(),
            version: Some("0123456789abcdef0123456789abcdef".into()),
        };
        tracing::subscriber::with_default(subscriber, || TracingAuditSink.record(&event));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        for expected in [
            AUDIT_TARGET,
            "action=\"write\"",
            "entity_type=databaseService",
            "entity=mysql-test",
            "field=connection.config.authType.password",
            "secret=openmetadata-database-mysql-test-authtype-password",
            "version=\"0123456789abcdef0123456789abcdef\"",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
