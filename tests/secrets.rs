//! Captured log output, at the most verbose level, never contains a secret: the private key,
//! the client assertion, access tokens, DPoP proofs, a reset link or the database password.
//!
//! A test binary of its own: it installs a global subscriber, which a thread-local one in the
//! shared binary cannot reliably replace while other tests run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use okta_agent::okta::PasswordReset;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use common::{card, Harness, Stack};
use okta_agent::engine::{Choice, Output};
use okta_agent::policy::{Policy, ResetDelivery};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_carry_no_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    // As `main` does: `log` records (the PostgreSQL driver's, rustls') are captured too.
    tracing_subscriber::util::SubscriberInitExt::try_init(subscriber).unwrap();

    let h = Harness::demo().await;
    h.update_client(json!({"dpop_required": true})).await;
    let okta = h.client();
    let token = okta.tokens().token().await.unwrap();
    okta.get_user("ana.lopez@example.com").await.unwrap();
    let link = match okta
        .reset_password("ana.lopez@example.com", false)
        .await
        .unwrap()
        .value
    {
        PasswordReset::Link(url) => url,
        PasswordReset::Emailed => panic!("expected a link"),
    };
    h.revoke_tokens().await;
    okta.get_user("ana.lopez@example.com").await.unwrap();
    let _ = okta.unlock("ana.lopez@example.com").await;

    // The whole engine, with reset links going by DM to the approver.
    let mut config = Policy::demo().config().unwrap().clone();
    config.reset_password_delivery = ResetDelivery::DmApprover;
    let stack = Stack::with_policy(Policy::new(config).unwrap()).await;
    let outputs = stack.ask("U0LEO", "reset password for <@U0BOB>").await;
    let id = card(&outputs).unwrap().proposal_id;
    let done = stack.click("U0GRACE", &id, Choice::Approve).await;
    let dm = done
        .iter()
        .find_map(|o| match o {
            Output::DirectMessage { text, .. } => Some(text.expose().clone()),
            _ => None,
        })
        .expect("the approver gets the link by DM");
    assert!(dm.contains("/reset_password/"));

    // A PostgreSQL store: connecting (with TLS when the server offers it), statements, and a
    // refused password, all at the most verbose level.
    let postgres = common::services::TestDatabase::postgres();
    if let Some(db) = &postgres {
        let store = db.open().await;
        assert!(store.remember_inbound("ev-secret", "{}", 1).await.unwrap());
        store.heartbeat(1).await.unwrap();
        let wrong = db
            .url()
            .replace("ci-only-not-a-secret", "wrong-pw-for-secrets-test");
        assert!(okta_agent::store::Store::open_url(&wrong).await.is_err());
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("event=executed"),
        "the engine's audit lines were captured"
    );
    assert!(
        logs.contains("okta.call"),
        "the capture saw the client's spans:\n{logs}"
    );
    assert!(logs.contains("okta_request_id"), "request ids are logged");
    let access = token.secret.expose().as_str();
    assert!(!logs.contains(access), "access token leaked");
    assert!(
        !logs.contains(&access[4..20]),
        "part of the access token leaked"
    );
    assert!(!logs.contains(link.expose().as_str()), "reset link leaked");
    assert!(!logs.contains("/reset_password/"), "reset link path leaked");
    assert!(!logs.contains("client_assertion="), "assertion leaked");
    assert!(
        !logs.contains("eyJ"),
        "a JWT (assertion or DPoP proof) leaked"
    );
    assert!(!logs.contains("PRIVATE KEY"), "key material leaked");
    if postgres.is_some() {
        assert!(
            logs.contains("sqlx::query") && logs.contains("INSERT INTO inbound"),
            "the capture saw the PostgreSQL driver's records:\n{logs}"
        );
        assert!(
            !logs.contains("ci-only-not-a-secret"),
            "the database password leaked"
        );
        assert!(
            !logs.contains("wrong-pw-for-secrets-test"),
            "a refused database password leaked"
        );
    }
}
