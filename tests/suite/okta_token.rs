//! The token source against the simulator's authorization server: claims and signature,
//! caching, one refresh under concurrency, refresh on expiry, 401 recovery, DPoP.

use std::sync::Arc;
use std::time::Duration;

use okta_agent::okta::token::{ManualClock, TokenKind};
use okta_agent::okta::{OktaError, SigningKey, TokenError};
use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn ec_and_rsa_assertions_are_accepted_and_claims_are_right() {
    let h = Harness::demo().await;
    let token = h.tokens().token().await.expect("EC key gets a token");
    assert_eq!(token.kind, TokenKind::Bearer);
    assert_eq!(token.granted_scopes.len(), 6);

    // RSA: a PKCS#1 PEM, as older Okta docs produce, registered under an explicit kid.
    let (rsa, pem) = SigningKey::generate_rsa().unwrap();
    let pkcs1 = {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::PrivateKey::from_pkcs8_pem(pem.expose()).unwrap();
        key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    };
    let loaded = SigningKey::from_pem(&pkcs1, Some("rsa-kid")).unwrap();
    assert_eq!(loaded.public_jwk()["n"], rsa.public_jwk()["n"]);
    let mut jwk = loaded.public_jwk();
    jwk["kid"] = json!("rsa-kid");
    h.sandbox
        .state
        .lock()
        .auth
        .client
        .as_mut()
        .unwrap()
        .jwks
        .push(serde_json::from_value(jwk).unwrap());
    let tokens = h.tokens_with_key(loaded);
    assert!(tokens.token().await.is_ok(), "RS256 with PKCS#1 key works");
}

#[tokio::test]
async fn assertion_faults_are_named() {
    let h = Harness::demo().await;
    // A key the app does not know, with the registered kid: signature mismatch.
    let (other, _) = SigningKey::generate_ec().unwrap();
    let pem_other = other.clone();
    let impostor = {
        let (_, pem) = SigningKey::generate_ec().unwrap();
        SigningKey::from_pem(pem.expose(), Some(h.key.kid())).unwrap()
    };
    let err = h.tokens_with_key(impostor).token().await.unwrap_err();
    assert!(matches!(err, TokenError::InvalidClient { .. }), "{err}");
    assert!(err.to_string().contains("signature is invalid"), "{err}");
    assert!(
        err.to_string().contains("private key does not match"),
        "{err}"
    );

    // An unknown kid.
    let err = h.tokens_with_key(pem_other).token().await.unwrap_err();
    assert!(
        err.to_string().contains("kid is invalid") && err.to_string().contains("OKTA_KEY_ID"),
        "{err}"
    );

    // A wrong client id.
    let scopes = h.tokens().requested_scopes().to_vec();
    let tokens = Harness::token_source(&h.url(), "0oawrongclient000000", h.key.clone(), scopes);
    let err = tokens.token().await.unwrap_err();
    assert!(
        err.to_string().contains("not a valid client_id")
            && err.to_string().contains("OKTA_CLIENT_ID"),
        "{err}"
    );
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let h = Harness::demo().await;
    let okta = h.client();
    for _ in 0..50 {
        okta.get_user("ana.lopez@example.com").await.unwrap();
    }
    assert_eq!(okta.tokens().token_requests(), 1);
    assert_eq!(h.stats().await["tokens_issued"], 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let h = Harness::demo().await;
    let okta = Arc::new(h.client());
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let okta = okta.clone();
            tokio::spawn(async move {
                okta.get_user("bob.smith@example.com")
                    .await
                    .map(|r| r.value.id)
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        okta.tokens().token_requests(),
        1,
        "20 concurrent first calls fetched one token"
    );
}

#[tokio::test]
async fn token_is_refreshed_shortly_before_expiry() {
    let h = Harness::demo().await;
    let clock = Arc::new(ManualClock::default());
    let (okta, tokens) = h.client_with_clock(clock.clone());
    okta.get_user("ana.lopez").await.unwrap();
    clock.advance(Duration::from_secs(3000));
    okta.get_user("ana.lopez").await.unwrap();
    assert_eq!(tokens.token_requests(), 1, "still fresh 50 minutes in");
    clock.advance(Duration::from_secs(541));
    okta.get_user("ana.lopez").await.unwrap();
    assert_eq!(
        tokens.token_requests(),
        2,
        "refreshed within the last minute of the hour"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let h = Harness::demo().await;
    let okta = h.client();
    okta.get_user("ana.lopez").await.unwrap();
    h.revoke_tokens().await;
    okta.get_user("ana.lopez")
        .await
        .expect("recovers with a new token");
    assert_eq!(okta.tokens().token_requests(), 2);
    let statuses: Vec<u16> = h.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 401, 200]);
}

#[tokio::test]
async fn dpop_nonce_dance_then_bound_api_calls() {
    let h = Harness::demo().await;
    h.update_client(json!({"dpop_required": true})).await;
    let okta = h.client();
    let user = okta
        .get_user("ana.lopez@example.com")
        .await
        .expect("DPoP-bound call works");
    assert_eq!(user.value.profile.login, "ana.lopez@example.com");
    // 1: no proof → invalid_dpop_proof; 2: proof without nonce → use_dpop_nonce; 3: success.
    assert_eq!(okta.tokens().token_requests(), 3);
    let token = okta.tokens().token().await.unwrap();
    assert_eq!(token.kind, TokenKind::Dpop);
    // Every later call carries a fresh proof (the simulator refuses replayed jti and wrong ath).
    for _ in 0..5 {
        okta.user_groups(&user.value.id).await.unwrap();
    }
    okta.suspend(&user.value.id)
        .await
        .expect("a DPoP-bound mutation works");
    assert_eq!(okta.tokens().token_requests(), 3);
}

/// Okta's Python SDK quotes path parameters in its proofs (`%40` for `@`) while its HTTP
/// library sends `@` on the request line; Okta accepts that, so the simulator must too.
#[tokio::test]
async fn dpop_proofs_with_a_percent_encoded_path_are_accepted() {
    let h = Harness::demo().await;
    h.update_client(json!({"dpop_required": true})).await;
    let okta = h.client();
    okta.get_user("ana.lopez@example.com").await.unwrap();
    let token = okta.tokens().token().await.unwrap();
    let key = okta.tokens().dpop_key().unwrap();
    let request_url = format!("{}/api/v1/users/ana.lopez@example.com", h.sandbox.url());
    let send = |htu: String| {
        let proof = key
            .proof(
                "GET",
                &url::Url::parse(&htu).unwrap(),
                None,
                Some(token.secret.expose()),
            )
            .unwrap();
        reqwest::Client::new()
            .get(&request_url)
            .header("Authorization", format!("DPoP {}", token.secret.expose()))
            .header("DPoP", proof)
            .send()
    };
    let sdk_style = format!("{}/api/v1/users/ana.lopez%40example.com", h.sandbox.url());
    assert_eq!(send(sdk_style).await.unwrap().status(), 200);
    let other_user = format!("{}/api/v1/users/bob.smith%40example.com", h.sandbox.url());
    assert_eq!(
        send(other_user).await.unwrap().status(),
        401,
        "a different path is still refused"
    );
}

#[tokio::test]
async fn missing_scopes_are_named_by_the_api_error() {
    let h = Harness::demo().await;
    h.update_client(json!({"scopes": ["okta.users.read"]}))
        .await;
    let okta = h.client();
    let token = okta.tokens().token().await.unwrap();
    assert_eq!(token.granted_scopes, vec!["okta.users.read".to_string()]);
    let err = okta.find_group("Zoom").await.unwrap_err();
    assert!(
        matches!(err, OktaError::MissingScope { ref scope, .. } if scope == "okta.groups.read"),
        "{err}"
    );
    assert!(err.to_string().contains("okta.groups.read"));

    h.update_client(json!({"scopes": ["okta.apps.manage"]}))
        .await;
    let err = h.tokens().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Scopes { .. }), "{err}");
}
