//! One integration-test binary (fewer links on 2 cores). Everything runs over real HTTP on
//! loopback against the Okta simulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;
