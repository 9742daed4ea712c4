//! The simulator's authorization server: checks client assertions (signature against the
//! registered JWKs, iss, sub, aud, exp, iat, jti replay), DPoP proofs and nonces, and issues
//! expiring tokens limited to the granted scopes.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::okta::dpop::access_token_hash;
use crate::okta::keys::jwk_thumbprint;

/// An OAuth error answer from the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    /// Set on `use_dpop_nonce`.
    pub nonce: Option<String>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            nonce: None,
        }
    }

    fn client(description: &str) -> Self {
        Self::new(401, "invalid_client", description)
    }

    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// The registered service app.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub jwks: Vec<Jwk>,
    pub granted_scopes: Vec<String>,
    pub dpop_required: bool,
    /// The permissions of the custom admin role assigned to the app; `None` is a standard
    /// role that covers everything okta-agent does (super admin, as a new org's app often is).
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub scopes: Vec<String>,
    pub expires_at: u64,
    /// JWK thumbprint of the DPoP key the token is bound to.
    pub dpop_jkt: Option<String>,
}

/// Why an API request's credentials were refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiAuthError {
    /// 401 `invalid_token`.
    InvalidToken,
    /// 401 with a DPoP `WWW-Authenticate` challenge.
    InvalidDpop(String),
}

#[derive(Debug)]
pub struct AuthServer {
    pub client: Option<RegisteredClient>,
    pub token_lifetime_secs: u64,
    pub tokens: HashMap<String, IssuedToken>,
    pub used_assertion_jtis: HashSet<String>,
    pub used_proof_jtis: HashSet<String>,
    pub nonce: String,
    pub token_requests: u64,
    pub tokens_issued: u64,
}

#[derive(Deserialize)]
struct AssertionClaims {
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

#[derive(Deserialize)]
struct ProofClaims {
    htm: String,
    htu: String,
    iat: i64,
    jti: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    ath: Option<String>,
}

/// The form fields of `POST /oauth2/v1/token`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub client_assertion_type: Option<String>,
    #[serde(default)]
    pub client_assertion: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl AuthServer {
    pub fn new(client: Option<RegisteredClient>) -> Self {
        Self {
            client,
            token_lifetime_secs: 3600,
            tokens: HashMap::new(),
            used_assertion_jtis: HashSet::new(),
            used_proof_jtis: HashSet::new(),
            nonce: super::org::random_id(24),
            token_requests: 0,
            tokens_issued: 0,
        }
    }

    /// Handles one token request; `token_url` is the exact URL the request was sent to.
    pub fn token(
        &mut self,
        form: &TokenForm,
        dpop: Option<&str>,
        token_url: &str,
        now: u64,
    ) -> Result<Value, OAuthError> {
        self.token_requests += 1;
        let Some(client) = self.client.clone() else {
            return Err(OAuthError::client("No client credentials found."));
        };
        if form.client_secret.is_some()
            || (form.client_id.is_some() && form.client_assertion.is_some())
        {
            return Err(OAuthError::new(400, "invalid_request", "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body."));
        }
        if form.grant_type.as_deref() != Some("client_credentials") {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
        let Some(assertion) = form.client_assertion.as_deref() else {
            return Err(OAuthError::client("No client credentials found."));
        };
        if form.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                "The client_assertion_type is invalid.",
            ));
        }
        let requested: Vec<String> = form
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if requested.is_empty() {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                "No scopes were requested.",
            ));
        }
        let dpop_jkt = match dpop {
            Some(proof) => Some(self.check_token_proof(proof, token_url, now)?),
            None if client.dpop_required => {
                return Err(OAuthError::new(
                    400,
                    "invalid_dpop_proof",
                    "The DPoP proof JWT header is missing.",
                ))
            }
            None => None,
        };
        self.check_assertion(&client, assertion, token_url, now)?;
        let granted: Vec<String> = requested
            .into_iter()
            .filter(|s| client.granted_scopes.contains(s))
            .collect();
        if granted.is_empty() {
            return Err(OAuthError::new(
                400,
                "consent_required",
                "You are not allowed any of the requested scopes.",
            ));
        }
        let access_token = format!("sim.{}", super::org::random_id(40));
        self.tokens.insert(
            access_token.clone(),
            IssuedToken {
                scopes: granted.clone(),
                expires_at: now + self.token_lifetime_secs,
                dpop_jkt: dpop_jkt.clone(),
            },
        );
        self.tokens_issued += 1;
        Ok(json!({
            "token_type": if dpop_jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": self.token_lifetime_secs,
            "access_token": access_token,
            "scope": granted.join(" "),
        }))
    }

    fn check_assertion(
        &mut self,
        client: &RegisteredClient,
        assertion: &str,
        token_url: &str,
        now: u64,
    ) -> Result<(), OAuthError> {
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| OAuthError::client("The parsing of the client_assertion failed."))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES256
                | Algorithm::ES384
        ) {
            return Err(OAuthError::client(
                "The client_assertion JWT signature algorithm is invalid.",
            ));
        }
        if client.jwks.is_empty() {
            return Err(OAuthError::client("The client does not have a JWKSet configured, but the client_assertion requires one."));
        }
        let jwk = match &header.kid {
            Some(kid) => client
                .jwks
                .iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid.as_str())),
            None if client.jwks.len() == 1 => client.jwks.first(),
            None => None,
        }
        .ok_or_else(|| OAuthError::client("The client_assertion JWT kid is invalid."))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|_| OAuthError::client("The client_assertion signature is invalid."))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[token_url]);
        validation.set_issuer(&[&client.client_id]);
        validation.sub = Some(client.client_id.clone());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            OAuthError::client(match e.kind() {
                ErrorKind::ExpiredSignature => "The client_assertion token is expired.",
                ErrorKind::InvalidAudience => "The audience claim for client_assertion must be the endpoint invoked for the request.",
                ErrorKind::InvalidIssuer => "The issuer claim for client_assertion is not a valid client_id.",
                ErrorKind::InvalidSubject => "The subject claim for client_assertion is not a valid client_id.",
                ErrorKind::MissingRequiredClaim(c) if c == "exp" => "The client_assertion token must contain the 'exp' claim as seconds since epoch.",
                ErrorKind::InvalidSignature => "The client_assertion signature is invalid.",
                _ => "The parsing of the client_assertion failed.",
            })
        })?;
        let claims = data.claims;
        if claims.exp > now as i64 + 3600 {
            return Err(OAuthError::client(
                "The client_assertion token has an expiration too far into the future.",
            ));
        }
        if claims.iat.is_some_and(|iat| iat > now as i64 + 5) {
            return Err(OAuthError::client(
                "The client_assertion token must be issued before the current time.",
            ));
        }
        if let Some(jti) = claims.jti {
            if !self.used_assertion_jtis.insert(jti) {
                return Err(OAuthError::client(
                    "The client_assertion token has already been used.",
                ));
            }
        }
        Ok(())
    }

    /// Verifies a DPoP proof's signature, `typ`, `htm`, `htu`, `iat` and `jti`; returns the
    /// proof claims and the key thumbprint.
    fn verify_proof(
        &mut self,
        proof: &str,
        method: &str,
        url: &str,
        now: u64,
    ) -> Result<(ProofClaims, String), String> {
        let header = jsonwebtoken::decode_header(proof)
            .map_err(|_| "The DPoP proof JWT could not be parsed.".to_string())?;
        if header.typ.as_deref() != Some("dpop+jwt") {
            return Err("'typ' must be 'dpop+jwt' in the DPoP proof JWT.".into());
        }
        let jwk = header
            .jwk
            .ok_or("The DPoP proof JWT must contain a 'jwk' header.")?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| "The DPoP proof JWT 'jwk' is invalid.".to_string())?;
        let mut validation = Validation::new(header.alg);
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|_| "The DPoP proof JWT signature is invalid.".to_string())?
            .claims;
        if !claims.htm.eq_ignore_ascii_case(method) {
            return Err("'htm' claim in the DPoP proof JWT is invalid.".into());
        }
        if !same_resource(&claims.htu, url) {
            return Err("'htu' claim in the DPoP proof JWT is invalid.".into());
        }
        if claims.iat < now as i64 - 300 {
            return Err("The DPoP proof JWT is issued more than five minutes in the past.".into());
        }
        if claims.iat > now as i64 + 5 {
            return Err("The DPoP proof JWT is issued in the future.".into());
        }
        if !self.used_proof_jtis.insert(claims.jti.clone()) {
            return Err("The DPoP proof JWT has already been used.".into());
        }
        let jwk_value = serde_json::to_value(&jwk).map_err(|e| e.to_string())?;
        Ok((claims, jwk_thumbprint(&jwk_value)))
    }

    fn check_token_proof(
        &mut self,
        proof: &str,
        token_url: &str,
        now: u64,
    ) -> Result<String, OAuthError> {
        let (claims, jkt) = self
            .verify_proof(proof, "POST", token_url, now)
            .map_err(|d| OAuthError::new(400, "invalid_dpop_proof", d))?;
        if claims.nonce.as_deref() != Some(self.nonce.as_str()) {
            let mut err = OAuthError::new(
                400,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            );
            err.nonce = Some(self.nonce.clone());
            return Err(err);
        }
        Ok(jkt)
    }

    /// Checks an API request's `Authorization` (and `DPoP`) headers; returns the token's scopes.
    pub fn authorize_api(
        &mut self,
        authorization: Option<&str>,
        dpop: Option<&str>,
        method: &str,
        htu: &str,
        now: u64,
    ) -> Result<Vec<String>, ApiAuthError> {
        let (scheme, token) = authorization
            .and_then(|a| a.split_once(' '))
            .ok_or(ApiAuthError::InvalidToken)?;
        let issued = self
            .tokens
            .get(token)
            .cloned()
            .ok_or(ApiAuthError::InvalidToken)?;
        if issued.expires_at <= now {
            return Err(ApiAuthError::InvalidToken);
        }
        match (&issued.dpop_jkt, scheme) {
            (None, s) if s.eq_ignore_ascii_case("bearer") => Ok(issued.scopes),
            (Some(jkt), s) if s.eq_ignore_ascii_case("dpop") => {
                let proof = dpop.ok_or_else(|| ApiAuthError::InvalidDpop("The resource request requires a DPoP proof.".into()))?;
                let (claims, proof_jkt) = self.verify_proof(proof, method, htu, now).map_err(ApiAuthError::InvalidDpop)?;
                if claims.ath.as_deref() != Some(access_token_hash(token).as_str()) {
                    return Err(ApiAuthError::InvalidDpop("'ath' claim in the DPoP proof does not match the presented access_token.".into()));
                }
                if &proof_jkt != jkt {
                    return Err(ApiAuthError::InvalidDpop("The access_token is not bound to the provided DPoP proof.".into()));
                }
                Ok(issued.scopes)
            }
            (Some(_), _) => Err(ApiAuthError::InvalidDpop("The resource request must use the DPoP authentication scheme when using a DPoP bound token.".into())),
            (None, _) => Err(ApiAuthError::InvalidToken),
        }
    }
}

/// Whether a proof's `htu` names the requested resource, compared as RFC 9449 §4.3 asks: scheme
/// and host case-insensitively, query and fragment ignored, the path after percent-decoding.
/// Okta accepts its own Python SDK's proofs, whose `htu` spells `@` in a login as `%40` while
/// the request line carries `@`; so does the simulator.
pub fn same_resource(htu: &str, request_url: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(request_url)) else {
        return false;
    };
    let decoded = |u: &url::Url| percent_encoding_decode(u.path());
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && decoded(&a) == decoded(&b)
}

fn percent_encoding_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod htu_tests {
    use super::same_resource;

    #[test]
    fn htu_spellings_of_the_same_path_are_equal() {
        let request = "http://127.0.0.1:9/api/v1/users/jane@acme.com";
        assert!(same_resource(
            "http://127.0.0.1:9/api/v1/users/jane%40acme.com",
            request
        ));
        assert!(same_resource(
            "HTTP://127.0.0.1:9/api/v1/users/jane@acme.com?x=1",
            request
        ));
        assert!(!same_resource(
            "http://127.0.0.1:9/api/v1/users/john%40acme.com",
            request
        ));
        assert!(!same_resource(
            "http://127.0.0.1:10/api/v1/users/jane@acme.com",
            request
        ));
        assert!(!same_resource("not a url", request));
    }
}
