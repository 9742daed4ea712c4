//! Signing keys for `private_key_jwt`: load the PEM Okta gives (RSA PKCS#8 or PKCS#1, EC PKCS#8 or SEC1),
//! generate new ones for `keygen`, and publish the public half as a JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the private key is not PEM text (expected a line like '-----BEGIN PRIVATE KEY-----')"
    )]
    NotPem,
    #[error(
        "the private key is encrypted; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)"
    )]
    Encrypted,
    #[error("this is a public key; the setting needs the private key that belongs to it")]
    PublicKeyGiven,
    #[error("the PEM block '{0}' is not an RSA or P-256 EC private key")]
    Unsupported(String),
    #[error("the RSA key is {0} bits; Okta needs at least 2048")]
    RsaTooShort(usize),
    #[error("the private key could not be parsed: {0}")]
    Malformed(String),
    #[error("could not generate a key: {0}")]
    Generate(String),
    #[error("could not sign a JWT: {0}")]
    Sign(String),
}

/// The private key the service app signs its client assertions with.
#[derive(Clone)]
pub struct SigningKey {
    algorithm: Algorithm,
    encoding: EncodingKey,
    /// Public JWK members without `kid` (`kty`, `n`/`e` or `crv`/`x`/`y`).
    public_members: Value,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a PEM private key. `kid` is the key id registered in Okta; without one the RFC 7638
    /// thumbprint is used, which is what `keygen` registers.
    pub fn from_pem(pem: &str, kid: Option<&str>) -> Result<Self, KeyError> {
        let label = pem_label(pem).ok_or(KeyError::NotPem)?;
        let key = match label.as_str() {
            "PRIVATE KEY" => match rsa::PrivateKey::from_pkcs8_pem(pem) {
                Ok(rsa_key) => Self::from_rsa(rsa_key)?,
                Err(_) => {
                    let ec = p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| {
                        KeyError::Unsupported("PRIVATE KEY (neither RSA nor P-256)".into())
                    })?;
                    Self::from_ec(ec)?
                }
            },
            "RSA PRIVATE KEY" => Self::from_rsa(
                rsa::PrivateKey::from_pkcs1_pem(pem)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?,
            )?,
            "EC PRIVATE KEY" => Self::from_ec(
                p256::SecretKey::from_sec1_pem(pem)
                    .map_err(|e| KeyError::Malformed(format!("not a P-256 key: {e}")))?,
            )?,
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
            "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => {
                return Err(KeyError::PublicKeyGiven)
            }
            other => return Err(KeyError::Unsupported(other.to_string())),
        };
        Ok(match kid {
            Some(kid) if !kid.trim().is_empty() => key.with_kid(kid.trim()),
            _ => key,
        })
    }

    /// A new RSA 2048 key, with its PKCS#8 PEM (the format Okta's "Generate New Key" gives).
    pub fn generate_rsa() -> Result<(Self, Secret<String>), KeyError> {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = Secret::new(pem.to_string());
        Ok((Self::from_rsa(key)?, pem))
    }

    /// A new P-256 key (ES256), with its PKCS#8 PEM.
    pub fn generate_ec() -> Result<(Self, Secret<String>), KeyError> {
        let key = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = Secret::new(pem.to_string());
        Ok((Self::from_ec(key)?, pem))
    }

    fn from_rsa(key: rsa::PrivateKey) -> Result<Self, KeyError> {
        let bits = key.size() * 8;
        if bits < 2048 {
            return Err(KeyError::RsaTooShort(bits));
        }
        // jsonwebtoken's RustCrypto backend reads RSA signing keys as PKCS#1 DER.
        let der = key
            .to_pkcs1_der()
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let public_members = json!({
            "kty": "RSA",
            "e": URL_SAFE_NO_PAD.encode(key.e_bytes()),
            "n": URL_SAFE_NO_PAD.encode(key.n_bytes()),
        });
        Ok(Self::assemble(
            Algorithm::RS256,
            EncodingKey::from_rsa_der(der.as_bytes()),
            public_members,
        ))
    }

    fn from_ec(key: p256::SecretKey) -> Result<Self, KeyError> {
        // jsonwebtoken's RustCrypto backend reads EC signing keys as PKCS#8 DER.
        let der = key
            .to_pkcs8_der()
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let point = key.public_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        // An uncompressed SEC1 point is 0x04 || x (32 bytes) || y (32 bytes).
        if bytes.len() != 65 {
            return Err(KeyError::Malformed("unexpected EC point encoding".into()));
        }
        let public_members = json!({
            "crv": "P-256",
            "kty": "EC",
            "x": URL_SAFE_NO_PAD.encode(&bytes[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&bytes[33..65]),
        });
        Ok(Self::assemble(
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
            public_members,
        ))
    }

    fn assemble(algorithm: Algorithm, encoding: EncodingKey, public_members: Value) -> Self {
        let kid = jwk_thumbprint(&public_members);
        Self {
            algorithm,
            encoding,
            public_members,
            kid,
        }
    }

    fn with_kid(mut self, kid: &str) -> Self {
        self.kid = kid.to_string();
        self
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK to paste into Okta ("Add key"), with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public_members.clone();
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".into(), Value::String(self.kid.clone()));
            map.insert("alg".into(), json!(format!("{:?}", self.algorithm)));
            map.insert("use".into(), json!("sig"));
        }
        jwk
    }

    /// The public JWK without `kid`/`alg`/`use`, as a DPoP proof header carries it.
    pub fn public_members(&self) -> &Value {
        &self.public_members
    }

    /// Signs `claims` with this key, putting `kid` in the header.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        self.sign_with_header(&header, claims)
    }

    /// Signs with a caller-built header (the DPoP proof needs `typ` and `jwk` instead of `kid`).
    pub fn sign_with_header<C: Serialize>(
        &self,
        header: &Header,
        claims: &C,
    ) -> Result<String, KeyError> {
        jsonwebtoken::encode(header, claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// The label of the first PEM block, e.g. `PRIVATE KEY`.
fn pem_label(pem: &str) -> Option<String> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &pem[start..];
    let end = rest.find("-----")?;
    Some(rest[..end].trim().to_string())
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
pub fn jwk_thumbprint(public_members: &Value) -> String {
    let canonical = match public_members.get("kty").and_then(Value::as_str) {
        Some("RSA") => json!({"e": public_members["e"], "kty": "RSA", "n": public_members["n"]}),
        _ => json!({
            "crv": public_members["crv"],
            "kty": "EC",
            "x": public_members["x"],
            "y": public_members["y"],
        }),
    };
    // The literals above list members in lexicographic order, so the output is canonical whether
    // or not serde_json preserves insertion order.
    let text = canonical.to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_key_round_trips_through_pem_and_keeps_its_thumbprint() {
        let (key, pem) = SigningKey::generate_ec().unwrap();
        let loaded = SigningKey::from_pem(pem.expose(), None).unwrap();
        assert_eq!(loaded.kid(), key.kid());
        assert_eq!(loaded.algorithm(), Algorithm::ES256);
        assert_eq!(loaded.public_jwk()["kty"], "EC");
        assert_eq!(loaded.public_jwk()["alg"], "ES256");
    }

    #[test]
    fn configured_kid_wins_over_thumbprint() {
        let (_, pem) = SigningKey::generate_ec().unwrap();
        let loaded = SigningKey::from_pem(pem.expose(), Some("kid-1")).unwrap();
        assert_eq!(loaded.kid(), "kid-1");
    }

    #[test]
    fn bad_pem_inputs_are_named() {
        assert!(matches!(
            SigningKey::from_pem("hello", None),
            Err(KeyError::NotPem)
        ));
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            SigningKey::from_pem(public, None),
            Err(KeyError::PublicKeyGiven)
        ));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            SigningKey::from_pem(enc, None),
            Err(KeyError::Encrypted)
        ));
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(SigningKey::from_pem(junk, None).is_err());
    }

    #[test]
    fn debug_does_not_print_key_material() {
        let (key, _) = SigningKey::generate_ec().unwrap();
        let text = format!("{key:?}");
        assert!(text.contains("ES256") && !text.contains("encoding"));
    }
}
