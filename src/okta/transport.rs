//! The retrying transport under every Okta call: a permit per request in flight, the access
//! token (Bearer or DPoP-bound), `X-Rate-Limit-*` bookkeeping, 429 waits measured against
//! Okta's clock, and the rule that keeps mutations exactly-once: a mutation is resent only when
//! it provably was not applied (429, 401, a refused connection). Pagination follows
//! `Link: rel="next"` only within the configured org.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use super::client::{OktaClient, RateLimitStatus, Reply, MAX_PAGES};
use super::error::{ErrorBody, OktaError};
use super::token::{AccessToken, TokenKind};
use crate::http::describe_transport_error;

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

impl OktaClient {
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Reply<T>, OktaError> {
        let raw = self.send(Method::GET, url, Effect::Read).await?;
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
            let raw = self.send(Method::GET, url, Effect::Read).await?;
            let mut page: Vec<T> = decode(&raw.body)?;
            items.append(&mut page);
            request_id = raw.request_id.or(request_id);
            next = next_link(&raw.headers)
                .map(|href| Url::parse(&href))
                .transpose()
                .map_err(|e| OktaError::Unexpected(format!("bad Link header: {e}")))?;
            // The access token goes with every page, so a next link may only lead back to the
            // configured org.
            if let Some(url) = &next {
                if url.origin() != self.org.origin() {
                    return Err(OktaError::Unexpected(format!(
                        "a next-page link pointed away from the org (to {}); it was not followed",
                        url.origin().ascii_serialization()
                    )));
                }
            }
        }
        Ok(Reply {
            value: items,
            request_id,
        })
    }

    pub(super) async fn mutate(&self, method: Method, url: Url) -> Result<RawResponse, OktaError> {
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

pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
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
    fn empty_lifecycle_bodies_decode_as_unit() {
        let unit: () = decode(b"").unwrap();
        assert_eq!(unit, ());
        let _: serde_json::Value = decode(b"{}").unwrap();
    }
}
