//! Integration tests of the `vaultref` binary: each test runs the built executable.

mod check;
mod container;
mod emulator;
mod entities;
mod fernet;
mod python_interop;
mod resolve;
mod secret;
mod support;
mod vault;
