//! Integration tests of the `vaultref` binary: each test runs the built executable.

mod check;
mod databases;
mod emulator;
mod entities;
mod fernet;
mod integrity;
mod property;
mod python_interop;
mod resolve;
mod secret;
mod support;
mod vault;
