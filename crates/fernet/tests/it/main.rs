//! Integration tests of `vaultref-fernet`: the official vectors and property tests.

mod properties;
mod support;
mod vectors;
