//! Fernet tokens for vaultref (work in progress).
