//! The simulator's `/__sandbox/` control API (loopback only, no auth: it is a test double):
//! the mutation and request logs, stats, users, fault injection, status changes, client
//! settings and token revocation.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{error_response, ClientUpdate, Fault, Mutation, RequestRecord, SandboxState};
use crate::okta::UserStatus;

pub(super) async fn list_mutations(State(state): State<Arc<SandboxState>>) -> Json<Vec<Mutation>> {
    Json(state.lock().mutations.clone())
}

pub(super) async fn list_requests(
    State(state): State<Arc<SandboxState>>,
) -> Json<Vec<RequestRecord>> {
    Json(state.lock().requests.clone())
}

pub(super) async fn stats(State(state): State<Arc<SandboxState>>) -> Json<Value> {
    let inner = state.lock();
    Json(json!({
        "token_requests": inner.auth.token_requests,
        "tokens_issued": inner.auth.tokens_issued,
        "api_requests": inner.requests.len(),
        "mutations": inner.mutations.len(),
    }))
}

pub(super) async fn list_users_compact(State(state): State<Arc<SandboxState>>) -> Json<Value> {
    let inner = state.lock();
    Json(Value::Array(
        inner
            .org
            .users
            .iter()
            .map(|u| json!({"id": u.id, "login": u.login, "status": u.status.as_str(), "roles": u.roles}))
            .collect(),
    ))
}

pub(super) async fn add_fault(
    State(state): State<Arc<SandboxState>>,
    Json(fault): Json<Fault>,
) -> StatusCode {
    state.lock().faults.push(fault);
    StatusCode::NO_CONTENT
}

pub(super) async fn clear_faults(State(state): State<Arc<SandboxState>>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub(super) struct StatusUpdate {
    status: String,
}

pub(super) async fn set_status(
    State(state): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    Json(update): Json<StatusUpdate>,
) -> Response {
    let Some(status) = UserStatus::parse(&update.status) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("unknown status '{}'", update.status)})),
        )
            .into_response();
    };
    let mut inner = state.lock();
    match inner.org.user_index(&id) {
        Ok(i) => {
            let user = &mut inner.org.users[i];
            user.status = status;
            user.password_expired = status == UserStatus::PasswordExpired;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewUser {
    login: String,
    first_name: String,
    last_name: String,
}

/// Adds an active user to the org.
pub(super) async fn add_user(
    State(state): State<Arc<SandboxState>>,
    Json(user): Json<NewUser>,
) -> Response {
    let mut inner = state.lock();
    let now = super::state::now_iso();
    match inner
        .org
        .add_user(&user.login, &user.first_name, &user.last_name, &now)
    {
        Ok(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct PushAnswer {
    /// `approve`, `reject` or `timeout`.
    answer: String,
}

/// The person answers their newest waiting Okta Verify push (or lets it time out). Returns
/// the transaction id, the number it asked for (with number matching) and its result.
pub(super) async fn answer_push(
    State(state): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    Json(answer): Json<PushAnswer>,
) -> Response {
    use super::org::PushResult;
    let result = match answer.answer.as_str() {
        "approve" => PushResult::Success,
        "reject" => PushResult::Rejected,
        "timeout" => PushResult::Timeout,
        other => {
            return (
                StatusCode::BAD_REQUEST,
                format!("answer must be approve, reject or timeout, not {other:?}"),
            )
                .into_response()
        }
    };
    let mut inner = state.lock();
    match inner.org.answer_push(&id, result) {
        Ok(push) => Json(serde_json::json!({
            "transaction": push.transaction,
            "correctAnswer": push.correct_answer,
            "factorResult": push.result.as_str(),
        }))
        .into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct FailedSignIns {
    count: u32,
    ip: Option<String>,
    country: Option<String>,
}

/// Fails `count` sign-ins for a user, as a person mistyping (or an attacker guessing) would:
/// at the lockout threshold the account locks and the System Log event is written. Returns
/// the events written.
pub(super) async fn fail_sign_ins(
    State(state): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    Json(failed): Json<FailedSignIns>,
) -> Response {
    let mut inner = state.lock();
    match inner.org.user_index(&id) {
        Ok(i) => {
            let published = super::state::now_iso();
            let events = inner.org.fail_sign_ins(
                i,
                failed.count,
                failed.ip.as_deref().unwrap_or("203.0.113.7"),
                failed.country.as_deref().unwrap_or("United States"),
                &published,
            );
            Json(events).into_response()
        }
        Err(e) => error_response(&e),
    }
}

pub(super) async fn update_client(
    State(state): State<Arc<SandboxState>>,
    Json(update): Json<ClientUpdate>,
) -> Response {
    let mut inner = state.lock();
    if let Some(limit) = update.rate_limit_per_minute {
        inner.rate_limit_per_minute = limit;
    }
    if let Some(lifetime) = update.token_lifetime_secs {
        inner.auth.token_lifetime_secs = lifetime;
    }
    let Some(client) = inner.auth.client.as_mut() else {
        return (StatusCode::CONFLICT, Json(json!({"error": "no client is registered; start the sandbox with --client-id and --jwks"}))).into_response();
    };
    if let Some(scopes) = update.scopes {
        client.granted_scopes = scopes;
    }
    if let Some(dpop) = update.dpop_required {
        client.dpop_required = dpop;
    }
    if let Some(permissions) = update.permissions {
        client.permissions = Some(permissions);
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn revoke_tokens(State(state): State<Arc<SandboxState>>) -> StatusCode {
    state.lock().auth.tokens.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub(super) struct GroupUpdate {
    name: String,
}

/// Renames a group (tests: a protected group renamed in Okta stays protected).
pub(super) async fn update_group(
    State(state): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    Json(update): Json<GroupUpdate>,
) -> Response {
    let mut inner = state.lock();
    match inner.org.group_index(&id) {
        Ok(g) => {
            inner.org.groups[g].name = update.name;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(&e),
    }
}

/// Deletes a user outright (tests: a proposal whose target no longer exists in Okta).
pub(super) async fn delete_user(
    State(state): State<Arc<SandboxState>>,
    Path(id): Path<String>,
) -> Response {
    let mut inner = state.lock();
    match inner.org.user_index(&id) {
        Ok(i) => {
            let uid = inner.org.users[i].id.clone();
            inner.org.users.remove(i);
            for group in &mut inner.org.groups {
                group.members.remove(&uid);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(&e),
    }
}
