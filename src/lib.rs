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
//! | [`config`] | settings from env and TOML: the config file in force, each secret from one place, one clear line per problem |
//! | [`secret`] | the `Secret` wrapper that keeps keys, tokens and reset links out of logs |
//! | [`okta`] | the Okta client: `private_key_jwt` + DPoP tokens, typed calls, errors, rate limits |
//! | [`sandbox`] | the Okta simulator: a faithful fake org on loopback, with a control API (the `sandbox` feature, on by default) |
//! | [`check`] | `okta-agent check`: one ✓/✗ line per setup fact |
//! | [`init`] | `okta-agent init`: a new host's config, keys and env file, under the deploy files' names |
//! | [`tools`] | every tool declared once (`catalogue`): arguments, risk, scopes, gate, Okta calls, strict schemas (`tools/`) |
//! | [`agent`] | one turn: the model loop or the command engine, read tools, frozen proposals |
//! | [`identity`] | Slack people → Okta users; targets resolved to exactly one, or a question |
//! | [`policy`] | the one `authorize` function, deny by default |
//! | [`approvals`] | proposal lifecycle: create, single atomic claim, cancel, expire, binding hash |
//! | `executor` | carries out a claimed proposal, reads the user back, settles unknown outcomes |
//! | [`engine`] | the orchestrator: request → policy → (Okta Verify push) → card; click → claim → execute → audit; jobs due later; lockouts from the System Log; admins by group; each person's App Home |
//! | [`automations`] | emoji reaction rules and the `/okta` form's views |
//! | [`store`] | the async store on sqlx, SQLite or PostgreSQL: proposals, verifications, the delivery journal, jobs, leases, the System Log cursor, the audit chain |
//! | [`audit`] | hash-chained audit records, verify, export (filtered, streamed) |
//! | [`pending`] | `okta-agent pending`: open proposals and scheduled jobs |
//! | [`knowledge`] | the virtual assistant's help documents: sources, sections, BM25 with synonyms, embeddings, reloads |
//! | [`chat`] | `okta-agent chat`: the terminal front end over the same engine |
//! | [`slack`] | `okta-agent run`: Socket Mode listener, Web API, Slack directory, Block Kit |
//! | [`runtime`] | assembles the engine: the real org, or the built-in demo org |
//! | [`clock`] | injectable wall-clock time |
//! | `llm` | where an OpenAI-compatible server lives, for the chat model and embeddings |
//! | [`http`] | the HTTP client settings everything shares, and transport errors in plain words |
//! | `metrics` | the Prometheus metrics `/metrics` serves |
//! | `server` | the operations endpoint: `/healthz`, `/readyz`, `/metrics` |
//! | `fuzzy` | edit distance, for typos in commands and help questions |

pub mod agent;
pub mod approvals;
pub mod audit;
pub mod automations;
pub mod chat;
pub mod check;
pub mod clock;
pub mod config;
pub mod engine;
pub(crate) mod executor;
pub(crate) mod fuzzy;
pub mod http;
pub mod identity;
pub mod init;
pub mod knowledge;
pub(crate) mod llm;
pub(crate) mod metrics;
pub mod okta;
pub mod pending;
pub mod policy;
pub mod runtime;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub(crate) mod server;
pub mod slack;
pub mod store;
pub mod tools;

/// Installs ring as the process-wide rustls provider. Call it first in `main` and in every test
/// that builds a TLS client: reqwest built without a provider panics otherwise.
pub fn install_crypto_provider() {
    // An Err means a provider is already installed, which is the state we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
