//! Integration tests of the `vaultref` binary: each test runs the built executable.

mod check;
mod emulator;
mod entities;
mod fernet;
mod hardening;
mod python_interop;
mod resolve;
mod secret;
mod support;
mod unreachable;
mod vault;
