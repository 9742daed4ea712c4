//! The simulator's `/oauth2/v1/token` endpoint and its `/api/v1` handlers: routing, scope
//! checks, fault injection, the user state machine's answers, pagination and the mutation log.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::auth::TokenForm;
use super::filter::{matches, parse_expression, user_attribute, USER_ATTRIBUTES};
use super::org::{ApiError, Done, Org, SimUser};
use super::state::{
    base_url, error_response, header, insert, now_iso, now_secs, okta_headers, request_id,
    unauthorized, Fault, FaultKind, Inner, Mutation, RequestRecord, SandboxState,
};
use crate::okta::UserStatus;

// ----- token endpoint --------------------------------------------------------------------

pub(super) async fn token(
    State(state): State<Arc<SandboxState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: TokenForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let token_url = format!("{}/oauth2/v1/token", base_url(&headers));
    let mut inner = state.lock();
    let result = inner
        .auth
        .token(&form, header(&headers, "dpop"), &token_url, now_secs());
    let nonce = inner.auth.nonce.clone();
    let (limit, remaining, reset) = (150, 149, now_secs() + 60);
    drop(inner);
    let mut response = match result {
        Ok(body) => {
            let mut r = (StatusCode::OK, Json(body)).into_response();
            if header(&headers, "dpop").is_some() {
                insert(&mut r, "dpop-nonce", &nonce);
            }
            r
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut r = (status, Json(e.body())).into_response();
            if let Some(n) = &e.nonce {
                insert(&mut r, "dpop-nonce", n);
            }
            r
        }
    };
    okta_headers(&mut response, &request_id(), limit, remaining, reset);
    insert(&mut response, "cache-control", "no-cache, no-store");
    response
}

// ----- the API ---------------------------------------------------------------------------

/// One routed `/api/v1` operation.
#[derive(Debug)]
pub(super) enum Route {
    GetUser(String),
    ListUsers,
    UserGroups(String),
    AppLinks(String),
    Roles(String),
    Factors(String),
    /// `POST /users/{id}/factors/{factorId}/verify`.
    VerifyFactor(String, String),
    /// `GET /users/{id}/factors/{factorId}/transactions/{transactionId}`.
    FactorTransaction(String, String, String),
    Lifecycle(String, String),
    ClearSessions(String),
    ListGroups,
    GetGroup(String),
    GroupUsers(String),
    GroupRoles(String),
    Logs,
    Membership {
        group: String,
        user: String,
        add: bool,
    },
}

impl Route {
    pub(super) fn parse(method: &Method, path: &str) -> Result<Self, ApiError> {
        let decoded: Vec<String> = path
            .trim_start_matches("/api/v1/")
            .trim_end_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let wrong_method = || {
            ApiError::new(
                405,
                "E0000022",
                "The endpoint does not support the provided HTTP method",
            )
        };
        let route = match segs.as_slice() {
            ["users"] => (Method::GET, Route::ListUsers),
            ["users", id] => (Method::GET, Route::GetUser(id.to_string())),
            ["users", id, "groups"] => (Method::GET, Route::UserGroups(id.to_string())),
            ["users", id, "appLinks"] => (Method::GET, Route::AppLinks(id.to_string())),
            ["users", id, "roles"] => (Method::GET, Route::Roles(id.to_string())),
            ["users", id, "factors"] => (Method::GET, Route::Factors(id.to_string())),
            ["users", id, "factors", factor, "verify"] => (
                Method::POST,
                Route::VerifyFactor(id.to_string(), factor.to_string()),
            ),
            ["users", id, "factors", factor, "transactions", transaction] => (
                Method::GET,
                Route::FactorTransaction(
                    id.to_string(),
                    factor.to_string(),
                    transaction.to_string(),
                ),
            ),
            ["users", id, "sessions"] => (Method::DELETE, Route::ClearSessions(id.to_string())),
            ["users", id, "lifecycle", op] => (
                Method::POST,
                Route::Lifecycle(id.to_string(), op.to_string()),
            ),
            ["groups"] => (Method::GET, Route::ListGroups),
            ["groups", id] => (Method::GET, Route::GetGroup(id.to_string())),
            ["groups", id, "users"] => (Method::GET, Route::GroupUsers(id.to_string())),
            ["groups", id, "roles"] => (Method::GET, Route::GroupRoles(id.to_string())),
            ["logs"] => (Method::GET, Route::Logs),
            ["groups", g, "users", u] => {
                let add = match *method {
                    Method::PUT => true,
                    Method::DELETE => false,
                    _ => return Err(wrong_method()),
                };
                return Ok(Route::Membership {
                    group: g.to_string(),
                    user: u.to_string(),
                    add,
                });
            }
            _ => {
                return Err(ApiError::new(
                    404,
                    "E0000007",
                    format!("Not found: Resource not found: {path} (ApiPath)"),
                ))
            }
        };
        if route.0 != *method {
            return Err(wrong_method());
        }
        Ok(route.1)
    }

    fn scope(&self) -> &'static str {
        match self {
            Route::GetUser(_)
            | Route::ListUsers
            | Route::UserGroups(_)
            | Route::AppLinks(_)
            | Route::Factors(_)
            | Route::FactorTransaction(..) => "okta.users.read",
            Route::Roles(_) | Route::GroupRoles(_) => "okta.roles.read",
            Route::Lifecycle(..) | Route::ClearSessions(_) | Route::VerifyFactor(..) => {
                "okta.users.manage"
            }
            Route::ListGroups | Route::GetGroup(_) | Route::GroupUsers(_) => "okta.groups.read",
            Route::Membership { .. } => "okta.groups.manage",
            Route::Logs => "okta.logs.read",
        }
    }
}

impl Route {
    /// The admin-role permissions this operation needs (all of them), from Okta's
    /// permission catalog: what a custom role must hold for the call to be allowed.
    fn permissions(&self) -> Vec<&'static str> {
        match self {
            Route::GetUser(_)
            | Route::ListUsers
            | Route::UserGroups(_)
            | Route::AppLinks(_)
            | Route::Factors(_)
            | Route::FactorTransaction(..) => vec!["okta.users.read"],
            Route::VerifyFactor(..) => vec!["okta.users.read"],
            Route::Roles(_) | Route::GroupRoles(_) => vec!["okta.iam.read"],
            Route::ListGroups | Route::GetGroup(_) | Route::GroupUsers(_) => {
                vec!["okta.groups.read"]
            }
            Route::Lifecycle(_, op) => vec![match op.as_str() {
                "unlock" => "okta.users.lifecycle.unlock",
                "suspend" => "okta.users.lifecycle.suspend",
                "unsuspend" => "okta.users.lifecycle.unsuspend",
                "deactivate" => "okta.users.lifecycle.deactivate",
                "activate" | "reactivate" => "okta.users.lifecycle.activate",
                "reset_password" => "okta.users.credentials.resetPassword",
                "reset_factors" => "okta.users.credentials.resetFactors",
                "expire_password" | "expire_password_with_temp_password" => {
                    "okta.users.credentials.expirePassword"
                }
                _ => "okta.users.lifecycle.manage",
            }],
            Route::ClearSessions(_) => vec!["okta.users.lifecycle.clearSessions"],
            Route::Logs => vec!["okta.logs.read"],
            Route::Membership { .. } => vec![
                "okta.groups.members.manage",
                "okta.users.groupMembership.manage",
            ],
        }
    }
}

/// Whether a role holding `held` may do what `needed` allows: the permission itself, or one
/// that includes it (`okta.users.manage` includes every `okta.users.*`; a `….manage` includes
/// its family's reads and operations).
fn permission_covers(held: &str, needed: &str) -> bool {
    if held == needed {
        return true;
    }
    match held {
        "okta.users.manage" => needed.starts_with("okta.users."),
        "okta.users.lifecycle.manage" => needed.starts_with("okta.users.lifecycle."),
        "okta.users.credentials.manage" => needed.starts_with("okta.users.credentials."),
        "okta.groups.manage" => needed.starts_with("okta.groups."),
        _ => false,
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// What a handled request produces before headers are added.
struct Answer {
    status: u16,
    body: Option<Value>,
    links: Vec<String>,
}

impl Answer {
    fn json(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            links: Vec::new(),
        }
    }
    fn error(e: &ApiError) -> Self {
        Self {
            status: e.status,
            body: Some(e.body()),
            links: Vec::new(),
        }
    }
}

pub(super) async fn api(
    State(state): State<Arc<SandboxState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = take_fault(&state, &method, uri.path());
    let response = answer(&state, &method, &uri, &headers, &body, fault.as_ref());
    // Latency delays the answer, not the work: the request has already been applied, so a
    // client that times out meanwhile faces a change whose outcome it cannot see.
    if let Some(f) = fault.filter(|f| f.kind == FaultKind::Latency) {
        tokio::time::sleep(Duration::from_millis(f.latency_ms.unwrap_or(1000))).await;
    }
    response
}

fn answer(
    state: &SandboxState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    fault: Option<&Fault>,
) -> Response {
    let rid = request_id();
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();

    let mut inner = state.lock();
    let now = now_secs();
    if now >= inner.window_start + 60 {
        inner.window_start = now;
        inner.window_used = 0;
    }
    inner.window_used += 1;
    let limit = inner.rate_limit_per_minute;
    let reset = inner.window_start + 60;
    let mut remaining = limit.saturating_sub(inner.window_used);

    let base = base_url(headers);
    let htu = format!("{base}{path}");
    // A finished response (auth failures, injected 429s) short-circuits as `Err`.
    #[allow(clippy::result_large_err)]
    let answer: Result<Answer, Response> = (|| {
        if let Some(f) = fault {
            match f.kind {
                FaultKind::RateLimit => {
                    remaining = 0;
                    let reset = now + f.reset_in_secs.unwrap_or(1);
                    let mut r = error_response(&ApiError::new(
                        429,
                        "E0000047",
                        "API call exceeded rate limit due to too many requests.",
                    ));
                    okta_headers(&mut r, &rid, limit, 0, reset);
                    return Err(r);
                }
                FaultKind::ServerError => {
                    let status = f.status.unwrap_or(500);
                    return Ok(Answer::error(&ApiError::new(
                        status,
                        "E0000009",
                        "Internal Server Error",
                    )));
                }
                FaultKind::Latency | FaultKind::ForeignNextLink => {}
            }
        }
        if inner.window_used > limit {
            remaining = 0;
            return Ok(Answer::error(&ApiError::new(
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
            )));
        }
        let granted = match inner.auth.authorize_api(
            header(headers, "authorization"),
            header(headers, "dpop"),
            method.as_str(),
            &htu,
            now,
        ) {
            Ok(scopes) => scopes,
            Err(e) => return Err(unauthorized(&base, &e)),
        };
        let route = match Route::parse(method, &path) {
            Ok(route) => route,
            Err(e) => return Ok(Answer::error(&e)),
        };
        if !granted
            .iter()
            .any(|s| s == route.scope() || manage_covers_read(s, route.scope()))
        {
            let mut r = StatusCode::FORBIDDEN.into_response();
            insert(
                &mut r,
                "www-authenticate",
                &format!(
                    "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", scope=\"{}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{path}\"",
                    route.scope()
                ),
            );
            return Err(r);
        }
        // Scopes let the token ask; the app's admin role decides what it may do.
        let permissions = inner
            .auth
            .client
            .as_ref()
            .and_then(|c| c.permissions.clone());
        if let Some(held) = permissions {
            let missing = route
                .permissions()
                .into_iter()
                .any(|needed| !held.iter().any(|h| permission_covers(h, needed)));
            if missing {
                return Ok(Answer::error(&ApiError::new(
                    403,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                )));
            }
        }
        let request = Request {
            query: &query,
            method,
            path: &path,
            rid: &rid,
            body,
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        };
        let mut handled = handle(&mut inner, route, &request);
        if fault.is_some_and(|f| f.kind == FaultKind::ForeignNextLink) {
            handled.links.push(format!(
                "<http://attacker.example:9/api/v1{}?after=x>; rel=\"next\"",
                path.trim_start_matches("/api/v1")
            ));
        }
        Ok(handled)
    })();
    let status_for_log = match &answer {
        Ok(a) => a.status,
        Err(r) => r.status().as_u16(),
    };
    inner.requests.push(RequestRecord {
        method: method.to_string(),
        path: match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        },
        status: status_for_log,
        request_id: rid.clone(),
        retry_count: header(headers, "x-okta-retry-count").map(str::to_string),
    });
    drop(inner);
    let mut response = match answer {
        Err(r) => r,
        Ok(a) => {
            let status =
                StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = match a.body {
                Some(body) => (status, Json(body)).into_response(),
                None => status.into_response(),
            };
            for link in a.links {
                if let Ok(v) = HeaderValue::from_str(&link) {
                    r.headers_mut().append("link", v);
                }
            }
            r
        }
    };
    if !response.headers().contains_key("x-okta-request-id") {
        okta_headers(&mut response, &rid, limit, remaining, reset);
    }
    response
}

/// `okta.users.manage` implies read access in Okta; the same for groups.
fn manage_covers_read(granted: &str, needed: &str) -> bool {
    matches!(
        (granted, needed),
        ("okta.users.manage", "okta.users.read") | ("okta.groups.manage", "okta.groups.read")
    )
}

fn take_fault(state: &SandboxState, method: &Method, path: &str) -> Option<Fault> {
    let mut inner = state.lock();
    let i = inner.faults.iter().position(|f| {
        f.count > 0
            && f.path_contains.as_deref().is_none_or(|p| path.contains(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let fault = inner.faults[i].clone();
    inner.faults[i].count -= 1;
    if inner.faults[i].count == 0 {
        inner.faults.remove(i);
    }
    Some(fault)
}

/// `GET /api/v1/logs`, as Okta polls it: `since` (or `after`, the cursor a previous page
/// linked), an `eventType eq "…"` filter, `limit`. Without `until` it is a polling request,
/// whose answer always links the next page, even when empty: the cursor moves past every
/// event read, so a poll never repeats one nor skips one.
fn list_logs(
    org: &Org,
    since: Option<&str>,
    until: Option<&str>,
    after: Option<&str>,
    filter: Option<&str>,
    limit: Option<&str>,
) -> Result<Answer, ApiError> {
    let invalid =
        |what: &str| ApiError::new(400, "E0000001", format!("Api validation failed: {what}"));
    let limit: usize = match limit {
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| invalid("limit"))?,
        None => 100,
    };
    let event_type = match filter {
        Some(f) => {
            let (field, value) = f.split_once(" eq ").ok_or_else(|| invalid("filter"))?;
            if field.trim() != "eventType" {
                return Err(invalid("filter"));
            }
            Some(value.trim().trim_matches('"').to_string())
        }
        None => None,
    };
    let start = match after {
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|c| *c <= org.log.len())
            .ok_or_else(|| invalid("after"))?,
        None => 0,
    };
    let mut events = Vec::new();
    let mut cursor = start;
    for (i, event) in org.log.iter().enumerate().skip(start) {
        if events.len() == limit {
            break;
        }
        cursor = i + 1;
        let published = event["published"].as_str().unwrap_or_default();
        let in_time = since.is_none_or(|s| published >= s) && until.is_none_or(|u| published < u);
        let of_type = event_type
            .as_deref()
            .is_none_or(|t| event["eventType"] == t);
        if in_time && of_type {
            events.push(event.clone());
        }
    }
    if events.len() < limit {
        cursor = org.log.len();
    }
    let mut links = Vec::new();
    if until.is_none() {
        let mut next = url::Url::parse(&format!("{}/api/v1/logs", org.base))
            .map_err(|e| invalid(&e.to_string()))?;
        {
            let mut pairs = next.query_pairs_mut();
            pairs.append_pair("limit", &limit.to_string());
            if let Some(f) = filter {
                pairs.append_pair("filter", f);
            }
            pairs.append_pair("after", &cursor.to_string());
        }
        links.push(format!("<{next}>; rel=\"next\""));
    }
    Ok(Answer {
        status: 200,
        body: Some(Value::Array(events)),
        links,
    })
}

/// What a routed operation reads from its request.
struct Request<'a> {
    query: &'a [(String, String)],
    method: &'a Method,
    path: &'a str,
    rid: &'a str,
    body: &'a [u8],
    user_agent: Option<&'a str>,
}

fn handle(inner: &mut Inner, route: Route, request: &Request<'_>) -> Answer {
    let Request {
        query,
        method,
        path,
        rid,
        ..
    } = *request;
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let org = &mut inner.org;
    let result: Result<Answer, ApiError> = (|| match route {
        Route::GetUser(id) => {
            let i = org.user_index(&id)?;
            Ok(Answer::json(org.user_json(&org.users[i], true)))
        }
        Route::ListUsers => list_users(
            org,
            q("q"),
            q("filter"),
            q("search"),
            q("limit"),
            q("after"),
        ),
        Route::UserGroups(id) => {
            let i = org.user_index(&id)?;
            let uid = org.users[i].id.clone();
            let groups: Vec<Value> = org
                .groups
                .iter()
                .filter(|g| g.members.contains(&uid))
                .map(|g| org.group_json(g))
                .collect();
            Ok(Answer {
                status: 200,
                body: Some(Value::Array(groups)),
                links: vec![format!(
                    "<{}/api/v1/users/{uid}/groups?limit=200>; rel=\"self\"",
                    org.base
                )],
            })
        }
        Route::AppLinks(id) => {
            let i = org.user_index(&id)?;
            Ok(Answer::json(org.app_links_json(&org.users[i])))
        }
        Route::Roles(id) => {
            let i = org.user_index(&id)?;
            Ok(Answer::json(org.roles_json(&org.users[i])))
        }
        Route::Factors(id) => {
            let i = org.user_index(&id)?;
            Ok(Answer::json(org.factors_json(&org.users[i])))
        }
        Route::VerifyFactor(id, factor) => {
            let asked: Value = if request.body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(request.body).map_err(|_| {
                    ApiError::new(400, "E0000003", "The request body was not well-formed.")
                })?
            };
            let number_matching = asked["useNumberMatchingChallenge"] == true;
            let body = org.verify_push(
                &id,
                &factor,
                number_matching,
                request.user_agent,
                now_secs(),
            )?;
            Ok(Answer {
                status: 201,
                body: Some(body),
                links: Vec::new(),
            })
        }
        Route::FactorTransaction(id, factor, transaction) => Ok(Answer::json(
            org.push_transaction(&id, &factor, &transaction, now_secs())?,
        )),
        Route::GroupRoles(id) => {
            let g = org.group_index(&id)?;
            Ok(Answer::json(org.group_roles_json(&org.groups[g])))
        }
        Route::Logs => list_logs(
            org,
            q("since"),
            q("until"),
            q("after"),
            q("filter"),
            q("limit"),
        ),
        Route::ListGroups => list_groups(org, q("q"), q("search"), q("filter")),
        Route::GetGroup(id) => {
            let g = org.group_index(&id)?;
            Ok(Answer::json(org.group_json(&org.groups[g])))
        }
        Route::GroupUsers(id) => {
            let g = org.group_index(&id)?;
            let members: Vec<Value> = org
                .users
                .iter()
                .filter(|u| org.groups[g].members.contains(&u.id))
                .map(|u| org.user_json(u, false))
                .collect();
            Ok(Answer {
                status: 200,
                body: Some(Value::Array(members)),
                links: vec![format!(
                    "<{}/api/v1/groups/{id}/users?limit=1000>; rel=\"self\"",
                    org.base
                )],
            })
        }
        Route::Lifecycle(id, op) => {
            let send_email = q("sendEmail").map(|v| v.eq_ignore_ascii_case("true"));
            let before = org.user_index(&id).map(|i| org.users[i].status);
            let done = org.lifecycle(&id, &op, send_email, &now_iso())?;
            let i = org.user_index(&id)?;
            let user = org.users[i].clone();
            log_mutation(
                &mut inner.mutations,
                rid,
                method,
                path,
                &user,
                None,
                before.unwrap_or(user.status),
            );
            Ok(done_answer(done))
        }
        Route::ClearSessions(id) => {
            let done = org.clear_sessions(&id)?;
            let i = org.user_index(&id)?;
            let user = org.users[i].clone();
            log_mutation(
                &mut inner.mutations,
                rid,
                method,
                path,
                &user,
                None,
                user.status,
            );
            Ok(done_answer(done))
        }
        Route::Membership { group, user, add } => {
            let done = org.change_membership(&group, &user, add)?;
            let i = org.user_index(&user)?;
            let u = org.users[i].clone();
            log_mutation(
                &mut inner.mutations,
                rid,
                method,
                path,
                &u,
                Some(group),
                u.status,
            );
            Ok(done_answer(done))
        }
    })();
    result.unwrap_or_else(|e| Answer::error(&e))
}

fn done_answer(done: Done) -> Answer {
    match done {
        Done::Json(body) => Answer::json(body),
        Done::NoContent => Answer {
            status: 204,
            body: None,
            links: Vec::new(),
        },
    }
}

fn log_mutation(
    log: &mut Vec<Mutation>,
    rid: &str,
    method: &Method,
    path: &str,
    user: &SimUser,
    group_id: Option<String>,
    before: UserStatus,
) {
    let seq = log.len() as u64 + 1;
    log.push(Mutation {
        seq,
        request_id: rid.to_string(),
        method: method.to_string(),
        path: path.to_string(),
        user_id: user.id.clone(),
        group_id,
        status_before: before.to_string(),
        status_after: user.status.to_string(),
    });
}

fn list_users(
    org: &Org,
    q: Option<&str>,
    filter: Option<&str>,
    search: Option<&str>,
    limit: Option<&str>,
    after: Option<&str>,
) -> Result<Answer, ApiError> {
    if filter.is_some() && search.is_some() {
        return Err(ApiError::new(
            400,
            "E0000033",
            "Bad request. Can't specify a search query and filter in the same request.",
        ));
    }
    let invalid = || ApiError::new(400, "E0000031", "Invalid search criteria.");
    if let Some(text) = q {
        let t = text.to_lowercase();
        let limit: usize = limit.and_then(|l| l.parse().ok()).unwrap_or(10).min(200);
        let found: Vec<Value> = org
            .users
            .iter()
            .filter(|u| u.status != UserStatus::Deprovisioned)
            .filter(|u| {
                [&u.first_name, &u.last_name, &u.email]
                    .iter()
                    .any(|f| f.to_lowercase().starts_with(&t))
            })
            .take(limit)
            .map(|u| org.user_json(u, false))
            .collect();
        return Ok(Answer::json(Value::Array(found)));
    }
    let (expression, case_sensitive, param) = match (filter, search) {
        (Some(f), _) => (
            Some(parse_expression(f).ok_or_else(invalid)?),
            true,
            ("filter", f),
        ),
        (_, Some(s)) => (
            Some(parse_expression(s).ok_or_else(invalid)?),
            false,
            ("search", s),
        ),
        _ => (None, false, ("", "")),
    };
    if let Some(alternatives) = &expression {
        let known = alternatives
            .iter()
            .flatten()
            .all(|c| USER_ATTRIBUTES.contains(&c.attribute.as_str()));
        if !known || (case_sensitive && alternatives.iter().flatten().any(|c| c.op != "eq")) {
            return Err(invalid());
        }
    }
    let limit: usize = limit
        .and_then(|l| l.parse().ok())
        .unwrap_or(200)
        .clamp(1, 200);
    let mut matching: Vec<&SimUser> = org
        .users
        .iter()
        .filter(|u| match &expression {
            None => u.status != UserStatus::Deprovisioned,
            Some(alts) => alts.iter().any(|all| {
                all.iter().all(|c| {
                    user_attribute(u, &c.attribute).is_some_and(|a| matches(&a, c, case_sensitive))
                })
            }),
        })
        .collect();
    matching.sort_by(|a, b| a.id.cmp(&b.id));
    let start = after
        .map(|cursor| {
            matching
                .iter()
                .position(|u| u.id.as_str() > cursor)
                .unwrap_or(matching.len())
        })
        .unwrap_or(0);
    let page: Vec<&SimUser> = matching.iter().skip(start).take(limit).copied().collect();
    let mut extra = String::new();
    if !param.0.is_empty() {
        extra = format!(
            "&{}={}",
            param.0,
            url::form_urlencoded::byte_serialize(param.1.as_bytes()).collect::<String>()
        );
    }
    let mut links = vec![format!(
        "<{}/api/v1/users?limit={limit}{extra}>; rel=\"self\"",
        org.base
    )];
    if start + page.len() < matching.len() {
        if let Some(last) = page.last() {
            links.push(format!(
                "<{}/api/v1/users?after={}&limit={limit}{extra}>; rel=\"next\"",
                org.base, last.id
            ));
        }
    }
    Ok(Answer {
        status: 200,
        body: Some(Value::Array(
            page.iter().map(|u| org.user_json(u, false)).collect(),
        )),
        links,
    })
}

fn list_groups(
    org: &Org,
    q: Option<&str>,
    search: Option<&str>,
    filter: Option<&str>,
) -> Result<Answer, ApiError> {
    if let Some(text) = q {
        let t = text.to_lowercase();
        let found: Vec<Value> = org
            .groups
            .iter()
            .filter(|g| g.name.to_lowercase().starts_with(&t))
            .take(300)
            .map(|g| org.group_json(g))
            .collect();
        return Ok(Answer::json(Value::Array(found)));
    }
    let expr = search.or(filter);
    let Some(expr) = expr else {
        let all = org.groups.iter().map(|g| org.group_json(g)).collect();
        return Ok(Answer {
            status: 200,
            body: Some(Value::Array(all)),
            links: vec![format!(
                "<{}/api/v1/groups?limit=10000>; rel=\"self\"",
                org.base
            )],
        });
    };
    let alternatives = parse_expression(expr)
        .ok_or_else(|| ApiError::new(400, "E0000031", "Invalid search criteria."))?;
    let found: Vec<Value> = org
        .groups
        .iter()
        .filter(|g| {
            alternatives.iter().any(|all| {
                all.iter().all(|c| {
                    let actual = match c.attribute.as_str() {
                        "profile.name" => g.name.clone(),
                        "type" => serde_json::to_value(g.group_type)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        "id" => g.id.clone(),
                        _ => return false,
                    };
                    matches(&actual, c, false)
                })
            })
        })
        .map(|g| org.group_json(g))
        .collect();
    Ok(Answer {
        status: 200,
        body: Some(Value::Array(found)),
        links: vec![format!(
            "<{}/api/v1/groups?limit=200>; rel=\"self\"",
            org.base
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        assert!(matches!(
            Route::parse(&Method::POST, "/api/v1/users/abc/lifecycle/unlock"),
            Ok(Route::Lifecycle(..))
        ));
        assert_eq!(
            Route::parse(&Method::GET, "/api/v1/users/abc/lifecycle/unlock")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(
            Route::parse(&Method::GET, "/api/v1/nothing")
                .unwrap_err()
                .status,
            404
        );
        assert!(
            matches!(Route::parse(&Method::GET, "/api/v1/users/a%40b.com"), Ok(Route::GetUser(ref s)) if s == "a@b.com")
        );
    }
}
