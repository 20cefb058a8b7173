//! Integration tests of the `vaultref` binary: each test runs the built executable.

mod emulator;
mod fernet;
mod python_interop;
mod support;
