//! The `vaultref` command line (work in progress).

fn main() {}
