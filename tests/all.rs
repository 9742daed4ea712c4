//! One integration-test binary (fewer links on 2 cores). Everything runs over real HTTP on
//! loopback against the Okta simulator.

mod common;
mod suite;
