//! Key Vault, Entra ID and managed-identity emulator (work in progress).
