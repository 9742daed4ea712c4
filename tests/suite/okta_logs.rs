//! The System Log, as okta-agent polls it, against the simulator: Okta's polling contract (a
//! `since` first, then the `next` link, which comes even on an empty page and never repeats
//! nor skips an event), the `eventType` filter, the event's shape, and the scope it needs.

use okta_agent::okta::{LogPoll, OktaError};

use crate::common::{fast_options, Harness};

#[tokio::test]
async fn lockouts_are_polled_from_the_system_log_without_gaps_or_repeats() {
    let harness = Harness::demo().await;
    let scopes = okta_agent::config::DEFAULT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .chain(["okta.logs.read".to_string()])
        .collect();
    let tokens = Harness::token_source(
        &harness.url(),
        &harness.client_id,
        harness.key.clone(),
        scopes,
    );
    let client = harness.client_with(std::sync::Arc::new(tokens), fast_options());
    let users = harness.users().await;
    let id_of = |login: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let control = reqwest::Client::new();
    let lock = |id: String, ip: &'static str| {
        let url = format!(
            "{}/__sandbox/users/{id}/failed-sign-ins",
            harness.sandbox.url()
        );
        let control = control.clone();
        async move {
            let r = control
                .post(url)
                .json(&serde_json::json!({"count": 10, "ip": ip, "country": "Netherlands"}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    };
    let first = LogPoll::Since {
        since: "2026-01-01T00:00:00.000Z",
        event_type: "user.account.lock",
    };
    // Nothing yet: an empty page, and still a link to poll next.
    let (page, next) = client.system_log(first).await.unwrap();
    assert!(page.value.is_empty());
    let next = next.expect("a polling request always links the next page");
    // Nine failed sign-ins lock nothing; the tenth does, as the default lockout policy says.
    let url = format!(
        "{}/__sandbox/users/{}/failed-sign-ins",
        harness.sandbox.url(),
        id_of("jamal.reed@example.com")
    );
    let written: Vec<serde_json::Value> = control
        .post(&url)
        .json(&serde_json::json!({"count": 9}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(written.is_empty(), "{written:?}");
    let (page, next) = client.system_log(LogPoll::Next(&next)).await.unwrap();
    assert!(page.value.is_empty(), "no lockout under the threshold");
    let next = next.unwrap();
    lock(id_of("jamal.reed@example.com"), "198.51.100.4").await;
    let (page, next) = client.system_log(LogPoll::Next(&next)).await.unwrap();
    assert_eq!(page.value.len(), 1);
    let event = &page.value[0];
    assert_eq!(event.event_type, "user.account.lock");
    let user = event.target.iter().find(|t| t.kind == "User").unwrap();
    assert_eq!(user.alternate_id.as_deref(), Some("jamal.reed@example.com"));
    let client_info = event.client.as_ref().unwrap();
    assert_eq!(client_info.ip_address.as_deref(), Some("198.51.100.4"));
    assert_eq!(
        client_info
            .geographical_context
            .as_ref()
            .and_then(|g| g.country.as_deref()),
        Some("Netherlands")
    );
    // The next poll returns only what is new.
    let next = next.unwrap();
    let (page, again) = client.system_log(LogPoll::Next(&next)).await.unwrap();
    assert!(page.value.is_empty(), "no event is read twice");
    lock(id_of("ana.lopez@example.com"), "198.51.100.5").await;
    lock(id_of("grace.kim@example.com"), "198.51.100.5").await;
    let (page, _) = client
        .system_log(LogPoll::Next(&again.unwrap()))
        .await
        .unwrap();
    let logins: Vec<&str> = page
        .value
        .iter()
        .flat_map(|e| e.target.iter().filter_map(|t| t.alternate_id.as_deref()))
        .collect();
    assert_eq!(logins, ["ana.lopez@example.com", "grace.kim@example.com"]);
    let users = harness.users().await;
    let ana = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "ana.lopez@example.com")
        .unwrap();
    assert_eq!(
        ana["status"], "LOCKED_OUT",
        "the lockout is real, not only logged"
    );

    // A stored link that leads away from the org is not followed: the token would go with it.
    let away = client
        .system_log(LogPoll::Next(
            "http://attacker.example:9/api/v1/logs?after=0",
        ))
        .await
        .unwrap_err();
    assert!(
        away.to_string().contains("pointed away from the org"),
        "{away}"
    );

    // Without okta.logs.read, Okta says which scope is missing.
    match harness.client().system_log(first).await {
        Err(OktaError::MissingScope { scope, .. }) => assert_eq!(scope, "okta.logs.read"),
        other => panic!("expected the missing scope, got {other:?}"),
    }
}

/// The lockout poller reads Okta's rate-limit headers: with little of the limit left it waits
/// for the reset rather than spend what people's requests need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_poller_waits_when_little_of_the_rate_limit_is_left() {
    let stack = crate::common::Stack::new().await;
    let settings = okta_agent::config::LockoutSettings::default();
    let okta = &stack.runtime.okta;
    let polls = |requests: &[okta_agent::sandbox::RequestRecord]| {
        requests
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/logs"))
            .count()
    };
    // Okta's limit, nearly spent this minute.
    okta.get_user("ana.lopez@example.com").await.unwrap();
    let used = 600 - okta.rate_limit().unwrap().remaining;
    stack
        .harness
        .update_client(serde_json::json!({"rate_limit_per_minute": used + 1}))
        .await;
    okta.get_user("ana.lopez@example.com").await.unwrap();
    assert_eq!(okta.rate_limit().unwrap().remaining, 0);
    assert!(stack
        .engine()
        .poll_lockouts("replica-1", &settings)
        .await
        .is_empty());
    assert_eq!(polls(&stack.harness.requests().await), 0, "no poll");
    let cursor = stack
        .engine()
        .store()
        .log_cursor("lockouts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cursor.polled_at, None);

    // With headroom again it polls (and this client, without okta.logs.read, is refused).
    stack
        .harness
        .update_client(serde_json::json!({"rate_limit_per_minute": 600}))
        .await;
    okta.get_user("ana.lopez@example.com").await.unwrap();
    stack.engine().poll_lockouts("replica-1", &settings).await;
    assert_eq!(polls(&stack.harness.requests().await), 1);
}
