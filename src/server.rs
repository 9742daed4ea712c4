//! The operations endpoints (`[server] listen`, off by default): `/healthz` (the process is
//! alive), `/readyz` (Socket Mode connected, the store answering, an Okta token obtainable) and
//! Prometheus `/metrics`. Bind it to loopback or a management network: it has no
//! authentication and tells nothing secret.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::engine::Engine;
use crate::okta::OktaClient;

#[derive(Clone)]
struct Probes {
    engine: Arc<Engine>,
    okta: Arc<OktaClient>,
}

/// Serves until the task is aborted; returns once the socket is bound (or why it could not be).
pub async fn serve(
    listen: SocketAddr,
    engine: Arc<Engine>,
    okta: Arc<OktaClient>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(Probes { engine, okta });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the operations endpoint stopped");
        }
    });
    Ok((bound, task))
}

async fn ready(State(probes): State<Probes>) -> impl IntoResponse {
    let connected = crate::metrics::metrics().socket_connections.get() > 0;
    let store = probes.engine.store_answers().await;
    let okta = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        probes.okta.tokens().token(),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the token endpoint did not answer in 5 s".to_string()),
    };
    let ready = connected && store && okta.is_ok();
    let body = json!({
        "ready": ready,
        "slack_socket_mode": if connected { "connected" } else { "not connected" },
        "store": if store { "ok" } else { "not answering" },
        "okta_token": okta.err().unwrap_or_else(|| "ok".into()),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render(),
    )
}
