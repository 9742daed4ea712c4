//! The simulator's shared state (the org, the auth server, faults, the request and mutation
//! logs) and the pieces of Okta's responses every handler adds: `X-Okta-Request-Id`,
//! `X-Rate-Limit-*`, `Date`, error bodies and `WWW-Authenticate`. The handlers
//! ([`super::handlers`], [`super::control`]) use it; the router ([`super::server`]) wires them.

use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{ApiAuthError, AuthServer};
use super::org::{ApiError, Org};

/// A fault to inject into the next matching API requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// How many matching requests it affects.
    #[serde(default = "one")]
    pub count: u32,
    /// `server_error`: the status to send (default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// `rate_limit`: seconds until the advertised reset (default 1).
    #[serde(default)]
    pub reset_in_secs: Option<u64>,
    /// `latency`: delay before the answer is sent (the request is applied first).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Only requests whose path contains this.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Only requests with this method.
    #[serde(default)]
    pub method: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 E0000047 with `X-Rate-Limit-Remaining: 0`; the request is not executed.
    RateLimit,
    /// A 5xx before the request is executed.
    ServerError,
    /// The request is executed at once, but the answer is delayed.
    Latency,
    /// A listing answers with a `Link: rel="next"` to another origin (a hostile or misrouted
    /// page link that would carry the access token away).
    ForeignNextLink,
}

/// One applied change to the org.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mutation {
    pub seq: u64,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub user_id: String,
    #[serde(default)]
    pub group_id: Option<String>,
    pub status_before: String,
    pub status_after: String,
}

/// One API request as it reached the simulator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: String,
    #[serde(default)]
    pub retry_count: Option<String>,
}

/// Client settings the control API can change at run time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub dpop_required: Option<bool>,
    #[serde(default)]
    pub token_lifetime_secs: Option<u64>,
    #[serde(default)]
    pub rate_limit_per_minute: Option<u64>,
    /// The custom admin role's permissions (Okta's catalog names); `[]` is a role with none.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct Inner {
    pub org: Org,
    pub auth: AuthServer,
    pub faults: Vec<Fault>,
    pub mutations: Vec<Mutation>,
    pub requests: Vec<RequestRecord>,
    pub rate_limit_per_minute: u64,
    pub(super) window_start: u64,
    pub(super) window_used: u64,
}

/// Shared simulator state.
#[derive(Debug)]
pub struct SandboxState {
    inner: Mutex<Inner>,
}

impl SandboxState {
    pub fn new(org: Org, auth: AuthServer) -> Self {
        Self {
            inner: Mutex::new(Inner {
                org,
                auth,
                faults: Vec::new(),
                mutations: Vec::new(),
                requests: Vec::new(),
                rate_limit_per_minute: 600,
                window_start: 0,
                window_used: 0,
            }),
        }
    }

    /// The state, even if a handler panicked while holding the lock (the data stays usable
    /// for a test double, and a poisoned fake should not hide the original panic).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(super) fn now_iso() -> String {
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    iso_from_unix(secs)
}

/// `2026-11-28T10:00:00.000Z` from Unix seconds.
pub fn iso_from_unix(secs: u64) -> String {
    let (year, month, day, hour, minute, second) =
        crate::clock::civil(i64::try_from(secs).unwrap_or(i64::MAX));
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000Z")
}

pub(super) fn request_id() -> String {
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rand::random::<u8>() as usize % 16]))
        .collect()
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn base_url(headers: &HeaderMap) -> String {
    format!("http://{}", header(headers, "host").unwrap_or("127.0.0.1"))
}

pub(super) fn unauthorized(base: &str, error: &ApiAuthError) -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    let value = match error {
        ApiAuthError::InvalidToken => format!(
            "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", error=\"invalid_token\", error_description=\"The access token is invalid.\""
        ),
        ApiAuthError::InvalidDpop(d) => format!(
            "DPoP algs=\"RS256 RS384 RS512 ES256 ES384 ES512\", authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", error=\"invalid_dpop_proof\", error_description=\"{d}\""
        ),
    };
    insert(&mut r, "www-authenticate", &value);
    r
}

pub(super) fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(e.body())).into_response()
}

pub(super) fn insert(r: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

pub(super) fn okta_headers(r: &mut Response, rid: &str, limit: u64, remaining: u64, reset: u64) {
    insert(r, "x-okta-request-id", rid);
    insert(r, "x-rate-limit-limit", &limit.to_string());
    insert(r, "x-rate-limit-remaining", &remaining.to_string());
    insert(r, "x-rate-limit-reset", &reset.to_string());
    insert(
        r,
        "date",
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_correct() {
        assert_eq!(iso_from_unix(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_unix(1_757_607_758), "2025-09-11T16:22:38.000Z");
        assert_eq!(iso_from_unix(951_782_400), "2000-02-29T00:00:00.000Z");
    }
}
