//! Integration tests of vaultref-entra against the emulator, over real sockets.
