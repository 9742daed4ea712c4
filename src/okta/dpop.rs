//! DPoP proofs (RFC 9449) as Okta wants them: an ephemeral ES256 key, `htm`, `htu`, `iat`,
//! `jti`, the server nonce on token requests, and `ath` on API calls.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::keys::{KeyError, SigningKey};

/// The proof key for one process. Tokens are bound to it, so it lives as long as the token source.
#[derive(Debug)]
pub struct DpopKey {
    key: SigningKey,
    jwk: Jwk,
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
}

impl DpopKey {
    pub fn generate() -> Result<Self, KeyError> {
        let (key, _pem) = SigningKey::generate_ec()?;
        let jwk: Jwk = serde_json::from_value(key.public_members().clone())
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Ok(Self { key, jwk })
    }

    /// A proof for one request. `htu` is the URL without query and fragment.
    pub fn proof(
        &self,
        method: &str,
        url: &url::Url,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let htu = htu(url);
        let claims = ProofClaims {
            htm: method,
            htu: &htu,
            iat: crate::okta::unix_now(),
            jti: uuid::Uuid::new_v4().to_string(),
            nonce,
            ath: access_token.map(access_token_hash),
        };
        self.key.sign_with_header(&header, &claims)
    }
}

/// `htu`: scheme, host, port and path of the request URL, without query or fragment.
pub fn htu(url: &url::Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare.to_string()
}

/// `ath`: base64url(SHA-256(access token)).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_carries_jwk_and_claims() {
        let key = DpopKey::generate().unwrap();
        let url = url::Url::parse("http://127.0.0.1:1/api/v1/users?limit=1").unwrap();
        let proof = key.proof("GET", &url, None, Some("tok")).unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert!(header.jwk.is_some());
        let payload = proof.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["htu"], "http://127.0.0.1:1/api/v1/users");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["ath"], access_token_hash("tok"));
        assert!(claims.get("nonce").is_none());
    }
}
