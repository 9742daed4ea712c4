//! The retrying transport under every Okta call: a permit per request in flight, the access
//! token (Bearer or DPoP-bound), `X-Rate-Limit-*` bookkeeping, 429 waits measured against
//! Okta's clock, and the rule that keeps mutations exactly-once: a mutation is resent only when
//! it provably was not applied (429, 401, a refused connection). Pagination follows
//! `Link: rel="next"` only within the configured org.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use super::error::{ErrorBody, OktaError};
use super::headers::{header_str, next_link, rate_limit_wait};
use super::token::{AccessToken, TokenKind, TokenSource};
use crate::http::describe_transport_error;

/// Pages followed at most for one listing; a guard against a server that loops `next` links.
pub(super) const MAX_PAGES: usize = 200;

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

/// The connection to one org: its URL, the HTTP client, the token source, the limits, and
/// what the rate-limit headers said last.
#[derive(Debug)]
pub(super) struct Transport {
    pub(super) org: Url,
    http: reqwest::Client,
    pub(super) tokens: Arc<TokenSource>,
    options: ClientOptions,
    in_flight: Semaphore,
    rate_limit: std::sync::Mutex<Option<RateLimitStatus>>,
}

#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) headers: HeaderMap,
    pub(super) body: bytes::Bytes,
    pub(super) request_id: Option<String>,
}

/// Whether a request may be resent after a failure whose effect is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    Read,
    Mutation,
}

impl Transport {
    pub(super) fn new(
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

    /// The most recent rate-limit headers Okta sent.
    pub(super) fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.rate_limit.lock().ok().and_then(|g| *g)
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Reply<T>, OktaError> {
        let raw = self.send(Method::GET, url, Effect::Read, None).await?;
        Ok(Reply {
            value: decode(&raw.body)?,
            request_id: raw.request_id,
        })
    }

    /// GETs a collection and follows `Link: rel="next"` to the end.
    pub(super) async fn get_all<T: DeserializeOwned>(
        &self,
        first: Url,
    ) -> Result<Reply<Vec<T>>, OktaError> {
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
            let (mut page, link) = self.get_page::<T>(url).await?;
            items.append(&mut page.value);
            request_id = page.request_id.or(request_id);
            next = link;
        }
        Ok(Reply {
            value: items,
            request_id,
        })
    }

    /// One page and the link to the next (`Link: rel="next"`). Polling reads one page at a
    /// time: the System Log always links a next page, so following them all would never end.
    /// The access token goes with every page, so a page may only come from the configured org.
    pub(super) async fn get_page<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<(Reply<Vec<T>>, Option<Url>), OktaError> {
        if url.origin() != self.org.origin() {
            return Err(OktaError::Unexpected(format!(
                "a next-page link pointed away from the org (to {}); it was not followed",
                url.origin().ascii_serialization()
            )));
        }
        let raw = self.send(Method::GET, url, Effect::Read, None).await?;
        let items: Vec<T> = decode(&raw.body)?;
        let next = next_link(&raw.headers)
            .map(|href| Url::parse(&href))
            .transpose()
            .map_err(|e| OktaError::Unexpected(format!("bad Link header: {e}")))?;
        Ok((
            Reply {
                value: items,
                request_id: raw.request_id,
            },
            next,
        ))
    }

    pub(super) async fn mutate(&self, method: Method, url: Url) -> Result<RawResponse, OktaError> {
        self.send(method, url, Effect::Mutation, None).await
    }

    /// A mutation with a JSON body.
    pub(super) async fn mutate_with(
        &self,
        method: Method,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<RawResponse, OktaError> {
        self.send(method, url, Effect::Mutation, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        effect: Effect,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse, OktaError> {
        let span = tracing::info_span!(
            "okta.call",
            method = %method,
            path = %url.path(),
            okta_request_id = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.send_with_retries(method, url, effect, body)
            .instrument(span)
            .await
    }

    async fn send_with_retries(
        &self,
        method: Method,
        url: Url,
        effect: Effect,
        body: Option<&serde_json::Value>,
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
            let mut request =
                self.build_request(&method, &url, &token, attempt, retry_for.as_deref())?;
            if let Some(body) = body {
                request = request.body(body.to_string());
            }
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
            crate::metrics::metrics()
                .okta_calls
                .get_or_create(&vec![
                    (
                        "endpoint",
                        crate::metrics::okta_endpoint(method.as_str(), url.path()),
                    ),
                    ("status", status.to_string()),
                ])
                .inc();
            if let Some(remaining) = header_str(&headers, "x-rate-limit-remaining")
                .and_then(|v| v.trim().parse::<i64>().ok())
            {
                crate::metrics::metrics()
                    .okta_rate_limit_remaining
                    .set(remaining);
            }
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

pub(super) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, OktaError> {
    // Lifecycle calls answer 200 with `{}` or with no body at all; both mean "done".
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| OktaError::Unexpected(e.to_string()))
}

fn jitter() -> Duration {
    Duration::from_millis(rand::random::<u64>() % 250)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lifecycle_bodies_decode_as_unit() {
        let unit: () = decode(b"").unwrap();
        assert_eq!(unit, ());
        let _: serde_json::Value = decode(b"{}").unwrap();
    }
}
