//! The Okta simulator: a faithful fake org served over real HTTP on loopback, for tests, demos
//! and trying okta-agent without an Okta tenant.
//!
//! * [`seed`]: the seed file format and the built-in demo org.
//! * [`org`]: users, groups, apps and Okta's user state machine with its real errors.
//! * [`auth`]: the token endpoint (client assertions, DPoP, scopes) and API token checks.
//! * [`server`]: shared state, routing and Okta's response headers; `handlers` (the token
//!   endpoint and `/api/v1`), `filter` (the search/filter language) and `control` (the
//!   `/__sandbox/` API) do the work.

pub mod auth;
mod control;
mod filter;
mod handlers;
pub mod org;
pub mod seed;
pub mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;

pub use auth::RegisteredClient;
pub use seed::Seed;
pub use state::{Fault, FaultKind, Mutation, RequestRecord, SandboxState};

use crate::okta::SigningKey;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("JWKS: {0}")]
    Jwks(String),
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    #[error(transparent)]
    Key(#[from] crate::okta::keys::KeyError),
}

/// A simulator serving in the background; dropped or [`RunningSandbox::stop`]ped, it shuts down.
#[derive(Debug)]
pub struct RunningSandbox {
    pub addr: SocketAddr,
    pub state: Arc<SandboxState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT`, the value for `OKTA_ORG_URL`.
    pub fn url(&self) -> String {
        server::url_for(self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the simulator on `listen` (port 0 picks a free one).
pub async fn start(
    listen: SocketAddr,
    seed: &Seed,
    client: Option<RegisteredClient>,
) -> Result<RunningSandbox, SandboxError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: listen,
        source,
    })?;
    let org = org::Org::from_seed(seed, &server::url_for(addr));
    let client = client.or(match &seed.client {
        Some(c) => Some(RegisteredClient {
            permissions: c.permissions.clone(),
            ..registered_client(
                c.client_id.clone(),
                parse_jwks(&serde_json::Value::Array(c.jwks.clone()))?,
                c.scopes.clone(),
                c.dpop_required,
            )
        }),
        None => None,
    });
    let state = Arc::new(SandboxState::new(org, auth::AuthServer::new(client)));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Ok(RunningSandbox {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// A registered client; `scopes` defaults to every scope okta-agent may request, and the System
/// Log's (`okta.logs.read`), which it requests only when configured to.
pub fn registered_client(
    client_id: String,
    jwks: Vec<Jwk>,
    scopes: Option<Vec<String>>,
    dpop_required: bool,
) -> RegisteredClient {
    RegisteredClient {
        client_id,
        jwks,
        granted_scopes: scopes.unwrap_or_else(|| {
            crate::config::DEFAULT_SCOPES
                .iter()
                .copied()
                .chain(["okta.logs.read"])
                .map(str::to_string)
                .collect()
        }),
        dpop_required,
        permissions: None,
    }
}

/// Reads a JWKS document (`{"keys": [...]}`), a single JWK, or an array of JWKs.
pub fn parse_jwks(value: &serde_json::Value) -> Result<Vec<Jwk>, SandboxError> {
    let keys = match value {
        serde_json::Value::Object(map) if map.contains_key("keys") => map["keys"].clone(),
        serde_json::Value::Array(_) => value.clone(),
        other => serde_json::Value::Array(vec![other.clone()]),
    };
    serde_json::from_value(keys).map_err(|e| SandboxError::Jwks(format!("not a JWK set: {e}")))
}

/// A client id and a fresh EC key registered for it: what `chat` and a bare `sandbox` use.
pub fn generated_client(
    client_id: &str,
) -> Result<(RegisteredClient, SigningKey, Secret<String>), SandboxError> {
    let (key, pem) = SigningKey::generate_ec()?;
    let jwks = parse_jwks(&key.public_jwk())?;
    Ok((
        registered_client(client_id.to_string(), jwks, None, false),
        key,
        pem,
    ))
}
