//! The Okta side: a client for the Management API authenticated as an OAuth 2.0 service app
//! (`private_key_jwt`, optional DPoP), with typed calls, error mapping and rate-limit handling.
//!
//! The files form a line, each using only those above it:
//!
//! * [`types`], [`error`]: what the calls return; `headers`: reading rate-limit and `Link`
//!   headers;
//! * [`keys`]: load and generate signing keys; public JWKs; [`dpop`]: DPoP proofs;
//! * [`token`]: the cached, single-flight access-token source;
//! * `transport`: one org's connection: retries, rate limits, pagination;
//! * [`client`]: the typed calls, over the transport.

pub mod client;
pub mod dpop;
pub mod error;
mod headers;
pub mod keys;
pub mod token;
mod transport;
pub mod types;

pub use client::{GroupMatch, LogPoll, NamedGroup, OktaClient};
pub use error::{OktaError, TokenError};
pub use headers::next_link;
pub use keys::SigningKey;
pub use token::TokenSource;
pub use transport::{ClientOptions, RateLimitStatus, Reply};
pub use types::{
    AppLink, FactorResult, Group, GroupType, LogClient, LogEvent, LogGeography, LogTarget,
    PasswordReset, PushTransaction, RoleAssignment, User, UserStatus,
};

/// Seconds since the Unix epoch. A clock before 1970 reads as 0, which Okta then rejects with
/// a clear "issued in the future/expired" error rather than a panic here.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
