//! The test kit against real servers: the URL variables' or containers' (docs/testing.md).

mod harness;
