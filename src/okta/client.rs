//! Typed calls to the Okta Management API with the retry rules that keep mutations exactly-once.
//!
//! * Every call has a timeout and records `X-Okta-Request-Id` in its span and its result.
//! * `X-Rate-Limit-*` is read on every response; a 429 waits until the reset (measured against
//!   the server's `Date`) and retries, because a 429 was not executed.
//! * Reads also retry on 5xx and timeouts with backoff. A mutation is retried only when it
//!   provably was not applied (429, 401, connection refused); a timeout or 5xx on a mutation
//!   is reported as [`OktaError::OutcomeUnknown`] and never resent.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use super::error::{ErrorBody, OktaError};
use super::token::{AccessToken, TokenKind, TokenSource};
use super::types::{
    AppLink, Factor, Group, GroupType, PasswordReset, Reactivation, RoleAssignment, User,
    UserStatus,
};
use crate::secret::Secret;

/// Pages followed at most for one listing; a guard against a server that loops `next` links.
const MAX_PAGES: usize = 200;

/// A successful result and the request id of the response that carried it.
#[derive(Debug)]
pub struct Reply<T> {
    pub value: T,
    pub request_id: Option<String>,
}

/// Limits for one client.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Per-request timeout, connect included.
    pub timeout: Duration,
    /// Retries after the first attempt, for reads and for provably unapplied mutations.
    pub max_retries: u32,
    /// A 429 that asks for a longer wait is reported instead of waited out.
    pub max_rate_limit_wait: Duration,
    /// Requests in flight at once; Okta's concurrency limit is 35 to 75 per org.
    pub max_in_flight: usize,
    /// First backoff step for retried reads.
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_retries: 2,
            max_rate_limit_wait: Duration::from_secs(30),
            max_in_flight: 5,
            backoff: Duration::from_millis(250),
        }
    }
}

/// The latest `X-Rate-Limit-*` values seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitStatus {
    pub limit: u64,
    pub remaining: u64,
    pub reset_epoch: u64,
}

/// Outcome of looking a group up by name.
#[derive(Debug)]
pub enum GroupMatch {
    /// One group whose name equals the query (case-insensitively), or the only candidate.
    Found(Group),
    /// Several candidates and no exact match: ask which.
    Ambiguous(Vec<Group>),
    NotFound,
}

#[derive(Debug)]
struct RawResponse {
    headers: HeaderMap,
    body: bytes::Bytes,
    request_id: Option<String>,
}

/// Whether a request may be resent after a failure whose effect is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Read,
    Mutation,
}

/// A client for one Okta org.
#[derive(Debug)]
pub struct OktaClient {
    org: Url,
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    options: ClientOptions,
    in_flight: Semaphore,
    rate_limit: std::sync::Mutex<Option<RateLimitStatus>>,
}

/// The HTTP client okta-agent uses for Okta: rustls, timeouts, proxies from the environment.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("okta-agent/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl OktaClient {
    pub fn new(
        org: Url,
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        options: ClientOptions,
    ) -> Self {
        let permits = options.max_in_flight.max(1);
        Self {
            org,
            http,
            tokens,
            options,
            in_flight: Semaphore::new(permits),
            rate_limit: std::sync::Mutex::new(None),
        }
    }

    pub fn org_url(&self) -> &Url {
        &self.org
    }

    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// The most recent rate-limit headers Okta sent.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.rate_limit.lock().ok().and_then(|g| *g)
    }

    fn api(&self, segments: &[&str]) -> Result<Url, OktaError> {
        let mut url = self.org.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| OktaError::Refused("OKTA_ORG_URL cannot be a base URL".into()))?;
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        Ok(url)
    }

    // ----- users -------------------------------------------------------------------------

    /// A user by id, login or unambiguous login shortname.
    pub async fn get_user(&self, id_or_login: &str) -> Result<Reply<User>, OktaError> {
        let url = self.api(&["users", id_or_login])?;
        self.get_json(url).await
    }

    /// Users whose `profile.email` equals `email` (case-insensitive in Okta's `search`).
    pub async fn users_with_email(&self, email: &str) -> Result<Reply<Vec<User>>, OktaError> {
        self.search_users(&format!(
            "profile.email eq \"{}\"",
            escape_search_value(email)
        ))
        .await
    }

    /// Users matching an Okta `search` expression, all pages.
    pub async fn search_users(&self, expression: &str) -> Result<Reply<Vec<User>>, OktaError> {
        let mut url = self.api(&["users"])?;
        url.query_pairs_mut()
            .append_pair("search", expression)
            .append_pair("limit", "200");
        self.get_all(url).await
    }

    /// People whose first name, last name, email or login starts with `text`.
    pub async fn find_users(&self, text: &str) -> Result<Reply<Vec<User>>, OktaError> {
        let v = escape_search_value(text.trim());
        let expr = format!(
            "profile.login sw \"{v}\" or profile.email sw \"{v}\" or profile.firstName sw \"{v}\" or profile.lastName sw \"{v}\""
        );
        self.search_users(&expr).await
    }

    pub async fn user_groups(&self, user_id: &str) -> Result<Reply<Vec<Group>>, OktaError> {
        self.get_all(self.api(&["users", user_id, "groups"])?).await
    }

    pub async fn user_app_links(&self, user_id: &str) -> Result<Reply<Vec<AppLink>>, OktaError> {
        self.get_all(self.api(&["users", user_id, "appLinks"])?)
            .await
    }

    /// Admin roles held by the user (needs `okta.roles.read`).
    pub async fn user_roles(&self, user_id: &str) -> Result<Reply<Vec<RoleAssignment>>, OktaError> {
        self.get_all(self.api(&["users", user_id, "roles"])?).await
    }

    pub async fn user_factors(&self, user_id: &str) -> Result<Reply<Vec<Factor>>, OktaError> {
        self.get_all(self.api(&["users", user_id, "factors"])?)
            .await
    }

    // ----- groups ------------------------------------------------------------------------

    pub async fn get_group(&self, group_id: &str) -> Result<Reply<Group>, OktaError> {
        self.get_json(self.api(&["groups", group_id])?).await
    }

    /// Finds a group by name: an exact (case-insensitive) match wins; otherwise one candidate
    /// is taken, and several are returned as ambiguous.
    pub async fn find_group(&self, name: &str) -> Result<Reply<GroupMatch>, OktaError> {
        let name = name.trim();
        let mut url = self.api(&["groups"])?;
        url.query_pairs_mut().append_pair("q", name);
        let reply: Reply<Vec<Group>> = self.get_all(url).await?;
        let exact: Vec<&Group> = reply
            .value
            .iter()
            .filter(|g| g.name().eq_ignore_ascii_case(name))
            .collect();
        let found = match (exact.as_slice(), reply.value.len()) {
            ([one], _) => GroupMatch::Found((*one).clone()),
            ([], 0) => GroupMatch::NotFound,
            ([], 1) => GroupMatch::Found(reply.value[0].clone()),
            ([], _) => GroupMatch::Ambiguous(reply.value.clone()),
            (many, _) => GroupMatch::Ambiguous(many.iter().map(|g| (*g).clone()).collect()),
        };
        Ok(Reply {
            value: found,
            request_id: reply.request_id,
        })
    }

    pub async fn add_user_to_group(
        &self,
        group: &Group,
        user_id: &str,
    ) -> Result<Reply<()>, OktaError> {
        Self::ensure_okta_group(group)?;
        let url = self.api(&["groups", &group.id, "users", user_id])?;
        self.mutate(Method::PUT, url).await.map(Self::discard)
    }

    pub async fn remove_user_from_group(
        &self,
        group: &Group,
        user_id: &str,
    ) -> Result<Reply<()>, OktaError> {
        Self::ensure_okta_group(group)?;
        let url = self.api(&["groups", &group.id, "users", user_id])?;
        self.mutate(Method::DELETE, url).await.map(Self::discard)
    }

    fn ensure_okta_group(group: &Group) -> Result<(), OktaError> {
        match group.group_type {
            GroupType::OktaGroup => Ok(()),
            GroupType::AppGroup => Err(OktaError::Refused(format!(
                "'{}' is imported from an app or directory (APP_GROUP); change its membership in the source directory, not in Okta",
                group.name()
            ))),
            GroupType::BuiltIn => Err(OktaError::Refused(format!(
                "'{}' is a built-in Okta group whose membership Okta manages itself",
                group.name()
            ))),
            GroupType::Unknown => Err(OktaError::Refused(format!(
                "'{}' is not an Okta-mastered group, so its membership cannot be changed here",
                group.name()
            ))),
        }
    }

    // ----- lifecycle ---------------------------------------------------------------------

    /// Starts a password reset. With `send_email` Okta emails the user; without, the one-time
    /// link comes back as a [`Secret`].
    pub async fn reset_password(
        &self,
        user_id: &str,
        send_email: bool,
    ) -> Result<Reply<PasswordReset>, OktaError> {
        let mut url = self.lifecycle(user_id, "reset_password")?;
        url.query_pairs_mut()
            .append_pair("sendEmail", if send_email { "true" } else { "false" });
        let raw = self.mutate(Method::POST, url).await?;
        if send_email {
            return Ok(Reply {
                value: PasswordReset::Emailed,
                request_id: raw.request_id,
            });
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            reset_password_url: String,
        }
        let body: Body = decode(&raw.body)?;
        Ok(Reply {
            value: PasswordReset::Link(Secret::new(body.reset_password_url)),
            request_id: raw.request_id,
        })
    }

    pub async fn unlock(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "unlock").await
    }

    pub async fn suspend(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "suspend").await
    }

    pub async fn unsuspend(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "unsuspend").await
    }

    /// Deactivates the user (destructive: app assignments are deprovisioned). The admin
    /// notification email is not sent.
    pub async fn deactivate(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        let mut url = self.lifecycle(user_id, "deactivate")?;
        url.query_pairs_mut().append_pair("sendEmail", "false");
        self.mutate(Method::POST, url).await.map(Self::discard)
    }

    pub async fn reset_factors(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "reset_factors").await
    }

    /// Expires the password; the user must choose a new one at next sign-in.
    pub async fn expire_password(&self, user_id: &str) -> Result<Reply<User>, OktaError> {
        let raw = self
            .mutate(Method::POST, self.lifecycle(user_id, "expire_password")?)
            .await?;
        Ok(Reply {
            value: decode(&raw.body)?,
            request_id: raw.request_id,
        })
    }

    /// Ends all of the user's Okta sessions.
    pub async fn clear_sessions(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        let url = self.api(&["users", user_id, "sessions"])?;
        self.mutate(Method::DELETE, url).await.map(Self::discard)
    }

    /// DEPROVISIONED → activate; PROVISIONED or RECOVERY → reactivate (resend activation).
    /// Okta emails the user either way, so no activation link is returned.
    pub async fn activate_or_reactivate(
        &self,
        user_id: &str,
    ) -> Result<Reply<Reactivation>, OktaError> {
        let user = self.get_user(user_id).await?.value;
        let (operation, result) = match user.status {
            UserStatus::Deprovisioned | UserStatus::Staged => ("activate", Reactivation::Activated),
            UserStatus::Provisioned | UserStatus::Recovery => ("reactivate", Reactivation::ActivationResent),
            other => {
                return Err(OktaError::WrongStatus {
                    code: "E0000038".into(),
                    summary: format!(
                        "{} is {other}; only deactivated, staged or not-yet-activated users can be reactivated",
                        user.profile.login
                    ),
                    request_id: None,
                })
            }
        };
        let mut url = self.lifecycle(&user.id, operation)?;
        url.query_pairs_mut().append_pair("sendEmail", "true");
        let raw = self.mutate(Method::POST, url).await?;
        Ok(Reply {
            value: result,
            request_id: raw.request_id,
        })
    }

    fn lifecycle(&self, user_id: &str, operation: &str) -> Result<Url, OktaError> {
        self.api(&["users", user_id, "lifecycle", operation])
    }

    async fn lifecycle_call(&self, user_id: &str, operation: &str) -> Result<Reply<()>, OktaError> {
        let url = self.lifecycle(user_id, operation)?;
        self.mutate(Method::POST, url).await.map(Self::discard)
    }

    fn discard(raw: RawResponse) -> Reply<()> {
        Reply {
            value: (),
            request_id: raw.request_id,
        }
    }

    // ----- transport ---------------------------------------------------------------------

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<Reply<T>, OktaError> {
        let raw = self.send(Method::GET, url, Effect::Read).await?;
        Ok(Reply {
            value: decode(&raw.body)?,
            request_id: raw.request_id,
        })
    }

    /// GETs a collection and follows `Link: rel="next"` to the end.
    async fn get_all<T: DeserializeOwned>(&self, first: Url) -> Result<Reply<Vec<T>>, OktaError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut request_id = None;
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(OktaError::Unexpected(format!(
                    "more than {MAX_PAGES} pages; narrow the query"
                )));
            }
            let raw = self.send(Method::GET, url, Effect::Read).await?;
            let mut page: Vec<T> = decode(&raw.body)?;
            items.append(&mut page);
            request_id = raw.request_id.or(request_id);
            next = next_link(&raw.headers)
                .map(|href| Url::parse(&href))
                .transpose()
                .map_err(|e| OktaError::Unexpected(format!("bad Link header: {e}")))?;
        }
        Ok(Reply {
            value: items,
            request_id,
        })
    }

    async fn mutate(&self, method: Method, url: Url) -> Result<RawResponse, OktaError> {
        self.send(method, url, Effect::Mutation).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        effect: Effect,
    ) -> Result<RawResponse, OktaError> {
        let span = tracing::info_span!(
            "okta.call",
            method = %method,
            path = %url.path(),
            okta_request_id = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.send_with_retries(method, url, effect)
            .instrument(span)
            .await
    }

    async fn send_with_retries(
        &self,
        method: Method,
        url: Url,
        effect: Effect,
    ) -> Result<RawResponse, OktaError> {
        let mut attempt: u32 = 0;
        let mut refreshed_token = false;
        let mut retry_for: Option<String> = None;
        loop {
            let token = self.tokens.token().await?;
            let permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| OktaError::Refused("the Okta client is shutting down".into()))?;
            let request =
                self.build_request(&method, &url, &token, attempt, retry_for.as_deref())?;
            let result = request.send().await;
            let retries_left = attempt < self.options.max_retries;
            let response = match result {
                Ok(response) => response,
                Err(e) => {
                    drop(permit);
                    let detail = describe_transport_error(&e);
                    // A refused connection never reached Okta, so even a mutation is safe to resend.
                    let provably_unsent = e.is_connect() && !e.is_timeout();
                    if retries_left && (effect == Effect::Read || provably_unsent) {
                        tracing::warn!(%detail, attempt, "Okta request failed; retrying");
                        self.backoff(attempt).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(if effect == Effect::Mutation && !provably_unsent {
                        OktaError::OutcomeUnknown {
                            detail,
                            request_id: None,
                        }
                    } else {
                        OktaError::Transient {
                            detail,
                            request_id: None,
                        }
                    });
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let request_id = header_str(&headers, "x-okta-request-id");
            let span = tracing::Span::current();
            if let Some(id) = &request_id {
                span.record("okta_request_id", id.as_str());
            }
            span.record("status", status);
            self.note_rate_limit(&headers);
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    if effect == Effect::Mutation && (200..300).contains(&status) {
                        // Okta said yes before the body broke off: the change happened.
                        return Ok(RawResponse {
                            headers,
                            body: bytes::Bytes::new(),
                            request_id,
                        });
                    }
                    let detail =
                        format!("the response was cut off: {}", describe_transport_error(&e));
                    if effect == Effect::Read && retries_left {
                        attempt += 1;
                        continue;
                    }
                    return Err(if effect == Effect::Mutation {
                        OktaError::OutcomeUnknown { detail, request_id }
                    } else {
                        OktaError::Transient { detail, request_id }
                    });
                }
            };
            drop(permit);
            match status {
                200..=299 => {
                    return Ok(RawResponse {
                        headers,
                        body,
                        request_id,
                    })
                }
                401 if !refreshed_token => {
                    // Authentication is checked before anything runs, so the call had no effect.
                    tracing::info!("Okta refused the access token; fetching a new one");
                    self.tokens.invalidate(&token).await;
                    refreshed_token = true;
                    continue;
                }
                401 => return Err(OktaError::Unauthorized { request_id }),
                429 => {
                    let wait = rate_limit_wait(&headers);
                    if retries_left && wait <= self.options.max_rate_limit_wait {
                        tracing::warn!(
                            wait_secs = wait.as_secs(),
                            attempt,
                            "Okta rate limit reached; waiting for the reset"
                        );
                        tokio::time::sleep(wait + jitter()).await;
                        retry_for = request_id;
                        attempt += 1;
                        continue;
                    }
                    return Err(OktaError::RateLimited {
                        retry_after_secs: wait.as_secs(),
                        request_id,
                    });
                }
                500..=599 => {
                    let err_body: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    let detail = format!("HTTP {status}: {}", err_body.describe());
                    if effect == Effect::Read && retries_left {
                        tracing::warn!(%detail, attempt, "Okta server error on a read; retrying");
                        self.backoff(attempt).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(if effect == Effect::Mutation {
                        OktaError::OutcomeUnknown { detail, request_id }
                    } else {
                        OktaError::Transient { detail, request_id }
                    });
                }
                _ => {
                    let err_body: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    let www = header_str(&headers, "www-authenticate");
                    return Err(OktaError::from_response(
                        status,
                        &err_body,
                        www.as_deref(),
                        request_id,
                    ));
                }
            }
        }
    }

    fn build_request(
        &self,
        method: &Method,
        url: &Url,
        token: &AccessToken,
        attempt: u32,
        retry_for: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, OktaError> {
        let secret = token.secret.expose();
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("Accept", "application/json");
        request = match token.kind {
            TokenKind::Bearer => request.header("Authorization", format!("Bearer {secret}")),
            TokenKind::Dpop => {
                let key = self.tokens.dpop_key().ok_or_else(|| {
                    OktaError::Unexpected("a DPoP token without a DPoP key".into())
                })?;
                let proof = key
                    .proof(method.as_str(), url, None, Some(secret))
                    .map_err(|e| OktaError::Unexpected(e.to_string()))?;
                request
                    .header("Authorization", format!("DPoP {secret}"))
                    .header("DPoP", proof)
            }
        };
        if matches!(*method, Method::POST | Method::PUT) {
            request = request.header("Content-Type", "application/json");
        }
        if attempt > 0 {
            request = request.header("X-Okta-Retry-Count", attempt.to_string());
            if let Some(id) = retry_for {
                request = request.header("X-Okta-Retry-For", id);
            }
        }
        Ok(request)
    }

    fn note_rate_limit(&self, headers: &HeaderMap) {
        let read =
            |name: &str| header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
        let (Some(limit), Some(remaining), Some(reset_epoch)) = (
            read("x-rate-limit-limit"),
            read("x-rate-limit-remaining"),
            read("x-rate-limit-reset"),
        ) else {
            return;
        };
        let status = RateLimitStatus {
            limit,
            remaining,
            reset_epoch,
        };
        if limit > 0 && remaining < limit / 10 {
            tracing::warn!(
                limit,
                remaining,
                reset_epoch,
                "Okta rate limit nearly used up"
            );
        } else {
            tracing::trace!(limit, remaining, reset_epoch, "Okta rate limit");
        }
        if let Ok(mut slot) = self.rate_limit.lock() {
            *slot = Some(status);
        }
    }

    async fn backoff(&self, attempt: u32) {
        let step = self.options.backoff * 2u32.saturating_pow(attempt);
        tokio::time::sleep(step + jitter()).await;
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, OktaError> {
    // Lifecycle calls answer 200 with `{}` or with no body at all; both mean "done".
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| OktaError::Unexpected(e.to_string()))
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How long to wait after a 429: `X-Rate-Limit-Reset − Date + 1` seconds, using the server's
/// clock so local skew does not matter; at least one second.
pub fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let reset =
        header_str(headers, "x-rate-limit-reset").and_then(|v| v.trim().parse::<u64>().ok());
    let server_now = header_str(headers, "date")
        .and_then(|d| httpdate::parse_http_date(&d).ok())
        .unwrap_or_else(SystemTime::now)
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match reset {
        Some(reset) => Duration::from_secs(reset.saturating_sub(server_now) + 1),
        None => Duration::from_secs(2),
    }
}

/// The `rel="next"` target among all `Link` headers (repeated or comma-joined).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("link") {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(",") {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
    }
    None
}

/// Escapes a value for use inside double quotes in an Okta `search` expression.
pub fn escape_search_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A short description of a transport failure, without the request URL's query.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        let mut text = e.to_string();
        if let Some(url) = e.url() {
            text = text.replace(url.as_str(), url.path());
        }
        text
    }
}

fn jitter() -> Duration {
    Duration::from_millis(rand::random::<u64>() % 250)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_link_reads_repeated_and_joined_headers() {
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static("<https://o/api/v1/users?limit=2>; rel=\"self\""),
        );
        h.append(
            "link",
            HeaderValue::from_static("<https://o/api/v1/users?after=x&limit=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o/api/v1/users?after=x&limit=2")
        );
        let mut joined = HeaderMap::new();
        joined.insert(
            "link",
            HeaderValue::from_static("<https://o/a>; rel=\"self\", <https://o/b>; rel=\"next\""),
        );
        assert_eq!(next_link(&joined).as_deref(), Some("https://o/b"));
        let mut only_self = HeaderMap::new();
        only_self.insert(
            "link",
            HeaderValue::from_static("<https://o/a>; rel=\"self\""),
        );
        assert_eq!(next_link(&only_self), None);
    }

    #[test]
    fn rate_limit_wait_uses_the_server_clock() {
        let mut h = HeaderMap::new();
        // Recorded: 429 at 16:21:50 with reset 16:22:38 (1757607758).
        h.insert(
            "date",
            HeaderValue::from_static("Thu, 11 Sep 2025 16:21:50 GMT"),
        );
        h.insert("x-rate-limit-reset", HeaderValue::from_static("1757607758"));
        assert_eq!(rate_limit_wait(&h), Duration::from_secs(49));
    }

    #[test]
    fn search_values_are_escaped() {
        assert_eq!(escape_search_value(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    #[test]
    fn empty_lifecycle_bodies_decode_as_unit() {
        let unit: () = decode(b"").unwrap();
        assert_eq!(unit, ());
        let _: serde_json::Value = decode(b"{}").unwrap();
    }
}
