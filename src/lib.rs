//! # okta-agent
//!
//! A self-hosted Slack app that lets IT teams manage Okta identities from Slack. The model (or
//! the deterministic command engine) only proposes; policy decides; a human approves the exact
//! action; code executes it once and audits it.
//!
//! # Layout
//!
//! | module | job |
//! |---|---|
//! | [`config`] | settings from env and TOML, one clear line per problem, secrets redacted |
//! | [`secret`] | the `Secret` wrapper that keeps keys, tokens and reset links out of logs |
//! | [`okta`] | the Okta client: `private_key_jwt` + DPoP tokens, typed calls, errors, rate limits |
//! | [`sandbox`] | the Okta simulator: a faithful fake org on loopback, with a control API |
//! | [`check`] | `okta-agent check`: one ✓/✗ line per setup fact |

pub mod check;
pub mod config;
pub mod okta;
pub mod sandbox;
pub mod secret;

/// Installs ring as the process-wide rustls provider. Call it first in `main` and in every test
/// that builds a TLS client: reqwest built without a provider panics otherwise.
pub fn install_crypto_provider() {
    // An Err means a provider is already installed, which is the state we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
