//! The Okta side: a client for the Management API authenticated as an OAuth 2.0 service app
//! (`private_key_jwt`, optional DPoP), with typed calls, error mapping and rate-limit handling.
//!
//! * [`keys`]: load and generate signing keys; public JWKs.
//! * [`token`]: the cached, single-flight access-token source.
//! * [`dpop`]: DPoP proofs.
//! * [`client`]: typed calls; `transport` underneath it: retries, rate limits, pagination.
//! * [`types`], [`error`]: what those calls return.

pub mod client;
pub mod dpop;
pub mod error;
pub mod keys;
pub mod token;
mod transport;
pub mod types;

pub use client::{ClientOptions, GroupMatch, OktaClient, Reply};
pub use error::{OktaError, TokenError};
pub use keys::SigningKey;
pub use token::TokenSource;
pub use types::{AppLink, Group, GroupType, PasswordReset, RoleAssignment, User, UserStatus};

/// Seconds since the Unix epoch. A clock before 1970 reads as 0, which Okta then rejects with
/// a clear "issued in the future/expired" error rather than a panic here.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
