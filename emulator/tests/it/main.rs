//! Integration tests of the emulator over real sockets on 127.0.0.1.

// Helpers outside #[test] functions panic on setup failures too, and print notes.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod admin;
mod entra;
mod faults;
mod log;
mod managed;
mod python_sdk;
mod support;
mod tls;
mod vault;
