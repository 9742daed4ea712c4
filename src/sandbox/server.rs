//! The simulator's router: which path goes to the token endpoint, the `/api/v1` handlers or
//! the `/__sandbox/` control API, and serving it. The state is [`super::state`], the handlers
//! [`super::handlers`] (with the search/filter parser in [`super::filter`]), the control API
//! [`super::control`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;

use super::control::{
    add_fault, add_user, answer_push, clear_faults, delete_user, fail_sign_ins, list_mutations,
    list_requests, list_users_compact, revoke_tokens, set_status, stats, update_client,
    update_group,
};
use super::handlers::{api, token};
use super::state::SandboxState;

pub fn router(state: Arc<SandboxState>) -> Router {
    Router::new()
        .route("/oauth2/v1/token", post(token))
        .route("/__sandbox/mutations", get(list_mutations))
        .route("/__sandbox/requests", get(list_requests))
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/users", get(list_users_compact).post(add_user))
        .route("/__sandbox/faults", post(add_fault).delete(clear_faults))
        .route("/__sandbox/users/{id}/status", put(set_status))
        .route("/__sandbox/users/{id}/failed-sign-ins", post(fail_sign_ins))
        .route("/__sandbox/users/{id}/push", post(answer_push))
        .route("/__sandbox/users/{id}", axum::routing::delete(delete_user))
        .route("/__sandbox/client", put(update_client))
        .route("/__sandbox/groups/{id}", put(update_group))
        .route("/__sandbox/tokens/revoke", post(revoke_tokens))
        .fallback(api)
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<SandboxState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The socket address as a base URL.
pub fn url_for(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
