//! Secret material: values and backup blobs, zeroized on drop and redacted in `Debug`.

use std::fmt;

use zeroize::Zeroizing;

/// A secret value. The memory is zeroed when it is dropped and `Debug` prints `<redacted>`.
///
/// ```
/// use vaultref_keyvault::SecretValue;
///
/// let value = SecretValue::from("hunter2");
/// assert_eq!(value.expose(), "hunter2");
/// assert_eq!(format!("{value:?}"), "SecretValue(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The value. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The length in bytes (Key Vault accepts at most 25,600).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretValue {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl From<Zeroizing<String>> for SecretValue {
    fn from(value: Zeroizing<String>) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A backup of every version of one secret, as returned by
/// [`SecretClient::backup_secret`](crate::SecretClient::backup_secret): an opaque base64url
/// string that only [`SecretClient::restore_secret`](crate::SecretClient::restore_secret) can
/// use. It is treated as secret material (zeroized on drop, redacted in `Debug`).
///
/// ```
/// use vaultref_keyvault::SecretBackup;
///
/// let backup = SecretBackup::from_base64url("AAEC".to_owned());
/// assert_eq!(backup.as_base64url(), "AAEC");
/// assert!(!format!("{backup:?}").contains("AAEC"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBackup(Zeroizing<String>);

impl SecretBackup {
    /// A backup read back from storage (the string [`SecretBackup::as_base64url`] gave).
    #[must_use]
    pub fn from_base64url(blob: String) -> Self {
        Self(Zeroizing::new(blob))
    }

    pub(crate) fn from_zeroizing(blob: Zeroizing<String>) -> Self {
        Self(blob)
    }

    /// The blob, to store somewhere safe.
    #[must_use]
    pub fn as_base64url(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretBackup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBackup(<{} bytes, redacted>)", self.0.len())
    }
}
