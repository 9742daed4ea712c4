//! The access-token source: client credentials with `private_key_jwt`, cached until shortly
//! before expiry, one refresh shared by concurrent callers, and DPoP when the org demands it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::dpop::DpopKey;
use super::error::{ErrorBody, TokenError};
use super::keys::SigningKey;
use crate::secret::Secret;

/// Refresh this long before the token's stated expiry, so a call never carries a token that
/// expires in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime of a client assertion. Okta allows up to an hour; short limits replay value.
const ASSERTION_LIFETIME_SECS: u64 = 300;

/// Monotonic time for the token cache, injectable so tests can expire a token without waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset_secs: AtomicU64,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            offset_secs: AtomicU64::new(0),
        }
    }
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        self.offset_secs.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + Duration::from_secs(self.offset_secs.load(Ordering::SeqCst))
    }
}

/// How an access token is presented on API calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Bearer,
    Dpop,
}

/// A usable access token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub secret: Secret<String>,
    pub kind: TokenKind,
    pub granted_scopes: Vec<String>,
}

#[derive(Debug)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    token_type: String,
    expires_in: u64,
    access_token: String,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Issues and caches access tokens for one Okta service app.
#[derive(Debug)]
pub struct TokenSource {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    key: SigningKey,
    scopes: Vec<String>,
    clock: Arc<dyn Clock>,
    cache: Mutex<Option<Cached>>,
    /// Switched on for good once the token endpoint says the app requires DPoP.
    dpop_required: AtomicBool,
    dpop_key: std::sync::OnceLock<DpopKey>,
    dpop_nonce: std::sync::Mutex<Option<String>>,
    token_requests: AtomicU64,
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        org_url: &Url,
        client_id: String,
        key: SigningKey,
        scopes: Vec<String>,
    ) -> Result<Self, url::ParseError> {
        Ok(Self {
            http,
            token_url: org_url.join("oauth2/v1/token")?,
            client_id,
            key,
            scopes,
            clock: Arc::new(SystemClock),
            cache: Mutex::new(None),
            dpop_required: AtomicBool::new(false),
            dpop_key: std::sync::OnceLock::new(),
            dpop_nonce: std::sync::Mutex::new(None),
            token_requests: AtomicU64::new(0),
        })
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    pub fn requested_scopes(&self) -> &[String] {
        &self.scopes
    }

    /// How many token requests this source has sent (each retry counts).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// A valid token, from the cache when it has one. Concurrent callers queue on the cache
    /// lock, so only the first of them fetches and the rest reuse its result.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref() {
            if self.clock.now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let (token, lifetime) = self.fetch().await?;
        let refresh_in = lifetime.saturating_sub(REFRESH_MARGIN).max(lifetime / 2);
        *cache = Some(Cached {
            token: token.clone(),
            refresh_at: self.clock.now() + refresh_in,
        });
        Ok(token)
    }

    /// Drops the cached token if it is still `rejected`, after Okta answered 401 to it.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.secret == rejected.secret)
        {
            *cache = None;
        }
    }

    /// The DPoP key, when tokens are DPoP-bound.
    pub fn dpop_key(&self) -> Option<&DpopKey> {
        self.dpop_key.get()
    }

    fn assertion(&self) -> Result<String, TokenError> {
        let now = super::unix_now();
        let claims = AssertionClaims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: self.token_url.as_str(),
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        self.key
            .sign(&claims)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    fn ensure_dpop_key(&self) -> Result<&DpopKey, TokenError> {
        if let Some(key) = self.dpop_key.get() {
            return Ok(key);
        }
        let key = DpopKey::generate().map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(self.dpop_key.get_or_init(|| key))
    }

    fn current_nonce(&self) -> Option<String> {
        self.dpop_nonce.lock().ok().and_then(|n| n.clone())
    }

    fn remember_nonce(&self, headers: &reqwest::header::HeaderMap) {
        if let Some(nonce) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            if let Ok(mut slot) = self.dpop_nonce.lock() {
                *slot = Some(nonce.to_string());
            }
        }
    }

    #[tracing::instrument(name = "okta.token", skip(self), fields(client_id = %self.client_id))]
    async fn fetch(&self) -> Result<(AccessToken, Duration), TokenError> {
        // Two DPoP steps can each cost one extra round trip: learning that DPoP is required,
        // then learning the nonce. A third failure is a real error.
        let mut dpop_steps = 0;
        loop {
            let scope = self.scopes.join(" ");
            let assertion = self.assertion()?;
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", scope.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ];
            let mut request = self
                .http
                .post(self.token_url.clone())
                .header("Accept", "application/json")
                .form(&form);
            let use_dpop = self.dpop_required.load(Ordering::SeqCst);
            if use_dpop {
                let nonce = self.current_nonce();
                let proof = self
                    .ensure_dpop_key()?
                    .proof("POST", &self.token_url, nonce.as_deref(), None)
                    .map_err(|e| TokenError::Signing(e.to_string()))?;
                request = request.header("DPoP", proof);
            }
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            let response = request.send().await.map_err(|e| TokenError::Unreachable {
                url: self.token_url.to_string(),
                detail: crate::http::describe_transport_error(&e),
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            self.remember_nonce(&headers);
            let body = response
                .bytes()
                .await
                .map_err(|e| TokenError::Unreachable {
                    url: self.token_url.to_string(),
                    detail: e.to_string(),
                })?;
            if status == 200 {
                return self.accept(&body, use_dpop);
            }
            if status == 429 {
                let wait = super::headers::rate_limit_wait(&headers).as_secs();
                return Err(TokenError::RateLimited {
                    retry_after_secs: wait,
                });
            }
            let err: OAuthErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            match err.error.as_str() {
                "invalid_dpop_proof" if !use_dpop && dpop_steps < 2 => {
                    tracing::info!(
                        "Okta requires DPoP for this app; switching to DPoP-bound tokens"
                    );
                    self.dpop_required.store(true, Ordering::SeqCst);
                    dpop_steps += 1;
                }
                "use_dpop_nonce" if dpop_steps < 2 => {
                    self.dpop_required.store(true, Ordering::SeqCst);
                    dpop_steps += 1;
                }
                "invalid_dpop_proof" | "use_dpop_nonce" => {
                    return Err(TokenError::Dpop {
                        description: err.error_description,
                    })
                }
                "invalid_client" => return Err(TokenError::invalid_client(err.error_description)),
                "invalid_scope" | "consent_required" => {
                    return Err(TokenError::Scopes {
                        description: err.error_description,
                    })
                }
                _ => {
                    let okta: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    return Err(TokenError::Other {
                        status,
                        error: if err.error.is_empty() {
                            okta.error_code.clone().unwrap_or_else(|| "unknown".into())
                        } else {
                            err.error
                        },
                        description: if err.error_description.is_empty() {
                            okta.describe()
                        } else {
                            err.error_description
                        },
                    });
                }
            }
        }
    }

    fn accept(&self, body: &[u8], used_dpop: bool) -> Result<(AccessToken, Duration), TokenError> {
        let parsed: TokenResponse =
            serde_json::from_slice(body).map_err(|e| TokenError::Other {
                status: 200,
                error: "unreadable_token_response".into(),
                description: e.to_string(),
            })?;
        let kind = if parsed.token_type.eq_ignore_ascii_case("dpop") {
            TokenKind::Dpop
        } else {
            TokenKind::Bearer
        };
        if kind == TokenKind::Dpop && !used_dpop {
            return Err(TokenError::Dpop {
                description: "Okta issued a DPoP-bound token to a request without a proof".into(),
            });
        }
        let granted: Vec<String> = parsed
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let missing: Vec<&str> = self
            .scopes
            .iter()
            .filter(|s| !granted.contains(s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                missing = %missing.join(" "),
                "Okta granted fewer scopes than requested; actions needing the missing scopes will be refused"
            );
        }
        tracing::debug!(kind = ?kind, expires_in = parsed.expires_in, "fetched Okta access token");
        Ok((
            AccessToken {
                secret: Secret::new(parsed.access_token),
                kind,
                granted_scopes: granted,
            },
            Duration::from_secs(parsed.expires_in),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn assertion_has_the_claims_okta_checks() {
        crate::install_crypto_provider();
        let (key, _) = SigningKey::generate_ec().unwrap();
        let kid = key.kid().to_string();
        let org = Url::parse("https://acme.okta.com").unwrap();
        let source = TokenSource::new(
            reqwest::Client::new(),
            &org,
            "0oa1".into(),
            key,
            vec!["okta.users.read".into()],
        )
        .unwrap();
        let first = source.assertion().unwrap();
        let second = source.assertion().unwrap();
        let header = jsonwebtoken::decode_header(&first).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let claims = |jwt: &str| -> serde_json::Value {
            serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(jwt.split('.').nth(1).unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        let (a, b) = (claims(&first), claims(&second));
        assert_eq!(a["iss"], "0oa1");
        assert_eq!(a["sub"], "0oa1");
        assert_eq!(a["aud"], "https://acme.okta.com/oauth2/v1/token");
        let lifetime = a["exp"].as_u64().unwrap() - a["iat"].as_u64().unwrap();
        assert_eq!(lifetime, ASSERTION_LIFETIME_SECS);
        assert_ne!(a["jti"], b["jti"], "every assertion has a fresh jti");
    }
}
