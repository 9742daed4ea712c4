//! Rate limits, server errors, timeouts and pagination. The simulator's mutation log and
//! request log prove that no mutation is ever sent twice unless it provably was not applied.

use std::sync::Arc;
use std::time::Duration;

use okta_agent::okta::{ClientOptions, OktaError, UserStatus};
use okta_agent::sandbox::seed::{Seed, SeedUser};
use serde_json::json;

use crate::common::{fast_options, Harness};

#[tokio::test]
async fn a_429_storm_on_a_mutation_waits_and_applies_once() {
    let h = Harness::demo().await;
    let okta = h.client();
    let ana = okta.get_user("ana.lopez@example.com").await.unwrap().value;
    h.inject(json!({"kind": "rate_limit", "count": 2, "reset_in_secs": 0, "path_contains": "/lifecycle/suspend"})).await;
    okta.suspend(&ana.id)
        .await
        .expect("succeeds after the rate limit resets");
    let mutations = h.mutations().await;
    assert_eq!(mutations.len(), 1, "applied exactly once: {mutations:?}");
    let attempts: Vec<_> = h
        .requests()
        .await
        .into_iter()
        .filter(|r| r.path.contains("suspend"))
        .collect();
    assert_eq!(
        attempts.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 429, 200]
    );
    assert_eq!(
        attempts[2].retry_count.as_deref(),
        Some("2"),
        "retries say so"
    );
    assert_eq!(okta.rate_limit().map(|r| r.limit), Some(600));
}

#[tokio::test]
async fn a_rate_limit_longer_than_allowed_is_reported_not_waited() {
    let h = Harness::demo().await;
    let okta = h.client();
    h.inject(json!({"kind": "rate_limit", "count": 1, "reset_in_secs": 120}))
        .await;
    let err = okta.get_user("ana.lopez").await.unwrap_err();
    assert!(
        matches!(err, OktaError::RateLimited { retry_after_secs, .. } if retry_after_secs >= 100),
        "{err}"
    );
    assert!(err.to_string().contains("rate limit"));
}

#[tokio::test]
async fn a_5xx_on_a_mutation_is_never_resent() {
    let h = Harness::demo().await;
    let okta = h.client();
    h.inject(json!({"kind": "server_error", "status": 502, "count": 1, "path_contains": "/lifecycle/unlock"})).await;
    let err = okta.unlock("bob.smith@example.com").await.unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    assert!(
        err.to_string().contains("may or may not have been applied"),
        "{err}"
    );
    let sent = h
        .requests()
        .await
        .into_iter()
        .filter(|r| r.path.contains("unlock"))
        .count();
    assert_eq!(sent, 1, "a mutation whose outcome is unknown is sent once");
    assert!(h.mutations().await.is_empty());
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried() {
    let h = Harness::demo().await;
    let okta = h.client();
    h.inject(json!({"kind": "server_error", "count": 2, "path_contains": "/api/v1/users/"}))
        .await;
    let user = okta
        .get_user("ana.lopez")
        .await
        .expect("third attempt succeeds");
    assert_eq!(user.value.status, UserStatus::Active);
    let statuses: Vec<u16> = h.requests().await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![500, 500, 200]);
}

#[tokio::test]
async fn persistent_5xx_on_a_read_gives_up_as_transient() {
    let h = Harness::demo().await;
    let okta = h.client();
    h.inject(json!({"kind": "server_error", "count": 10})).await;
    let err = okta.get_user("ana.lopez").await.unwrap_err();
    assert!(matches!(err, OktaError::Transient { .. }), "{err}");
    assert_eq!(h.requests().await.len(), 3, "first try plus two retries");
}

#[tokio::test]
async fn a_timed_out_mutation_is_reported_unknown_and_applied_once() {
    let h = Harness::demo().await;
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..fast_options()
    };
    let okta = h.client_with(Arc::new(h.tokens()), options);
    let ana = okta.get_user("ana.lopez@example.com").await.unwrap().value;
    h.inject(json!({"kind": "latency", "latency_ms": 1200, "count": 1, "path_contains": "/lifecycle/suspend"})).await;
    let err = okta.suspend(&ana.id).await.unwrap_err();
    assert!(matches!(err, OktaError::OutcomeUnknown { .. }), "{err}");
    // The simulator applied the change before its answer was lost; the client must not resend.
    let settled = h.client().get_user(&ana.id).await.unwrap().value.status;
    assert_eq!(settled, UserStatus::Suspended, "the change did happen");
    assert_eq!(h.mutations().await.len(), 1);
    assert_eq!(
        h.requests()
            .await
            .iter()
            .filter(|r| r.path.contains("suspend"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_timed_out_read_is_retried() {
    let h = Harness::demo().await;
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..fast_options()
    };
    let okta = h.client_with(Arc::new(h.tokens()), options);
    okta.tokens().token().await.unwrap();
    h.inject(json!({"kind": "latency", "latency_ms": 1000, "count": 1}))
        .await;
    okta.get_user("ana.lopez")
        .await
        .expect("the retry succeeds");
}

#[tokio::test]
async fn search_follows_next_links_across_pages() {
    let mut seed = Seed::demo().unwrap();
    for i in 0..450 {
        seed.users.push(SeedUser {
            login: format!("bulk{i:03}@example.com"),
            email: None,
            first_name: "Bulk".into(),
            last_name: format!("User{i:03}"),
            status: "ACTIVE".into(),
            password_expired: false,
            groups: vec![],
            apps: vec![],
            roles: vec![],
            factors: vec![],
            last_login: None,
            password_changed: None,
            manager_id: None,
        });
    }
    let h = Harness::with_seed(seed).await;
    let okta = h.client();
    let found = okta
        .search_users("profile.firstName eq \"Bulk\"")
        .await
        .unwrap()
        .value;
    assert_eq!(found.len(), 450);
    let mut ids: Vec<&str> = found.iter().map(|u| u.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 450, "no page repeated");
    let pages: Vec<_> = h
        .requests()
        .await
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/users?"))
        .collect();
    assert_eq!(pages.len(), 3, "200 + 200 + 50");
    assert!(pages[1].path.contains("after="));
}

/// A next-page link carries the access token with it, so the client follows one only back to
/// the configured org.
#[tokio::test]
async fn next_links_to_another_origin_are_not_followed() {
    let h = Harness::demo().await;
    h.inject(serde_json::json!({"kind": "foreign_next_link", "path_contains": "/api/v1/groups"}))
        .await;
    let okta = h.client();
    let err = okta.find_group("Zoom").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("pointed away from the org (to http://attacker.example:9)"),
        "{err}"
    );
    // Without the fault, the same call works.
    assert!(okta.find_group("Zoom").await.is_ok());
}
