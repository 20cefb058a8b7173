//! Shared helpers for the vaultref benchmarks.
