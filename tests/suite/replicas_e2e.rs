//! Three `okta-agent run` processes on one store (a SQLite file, and PostgreSQL) and one Slack
//! app, as Slack really delivers: every envelope on two connections of different processes,
//! then redelivered; double clicks spread over the processes; one process killed with SIGKILL
//! in the middle of an approval. Every approved action reaches Okta exactly once, no request gets two cards, the killed
//! process's claim is settled by another once its lease lapses, and the audit chain verifies.

use okta_agent::store::ProposalState;
use serde_json::{json, Value};

use crate::common::fake_slack::{click, envelope_id, event_envelope, mention, wait_until};
use crate::common::rig::{cards, proposal_of, Rig, CHANNEL};
use crate::common::services::TestDatabase;

fn card_in(rig: &Rig, thread_ts: &str) -> Vec<Value> {
    cards(&rig.fake)
        .into_iter()
        .filter(|m| m["thread_ts"] == thread_ts)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_sqlite_execute_every_approval_exactly_once() {
    three_replicas_execute_every_approval_exactly_once(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_postgres_execute_every_approval_exactly_once() {
    if let Some(database) = TestDatabase::postgres() {
        three_replicas_execute_every_approval_exactly_once(database).await;
    }
}

async fn three_replicas_execute_every_approval_exactly_once(database: TestDatabase) {
    let mut rig = Rig::with_automations_on("[store]\nlease_seconds = 3\n", database).await;
    rig.start_replica().await;
    rig.start_replica().await;
    let fake = rig.fake.clone();
    wait_until("three connections", || fake.open_sockets() == 3).await;

    let requests = [
        ("U0LEO", "unlock <@U0BOB>", "1700005000.000100"),
        ("U0LEO", "suspend <@U0JAMAL>", "1700005000.000200"),
        ("U0GRACE", "suspend <@U0ANA>", "1700005000.000300"),
    ];
    for (i, (user, text, ts)) in requests.iter().enumerate() {
        let event = format!("EvReplica{i}");
        // Two connections of different processes, then a redelivery on the third.
        rig.fake
            .send_on(
                0,
                event_envelope(&envelope_id(), &event, 0, mention(user, text, CHANNEL, ts)),
            )
            .await;
        rig.fake
            .send_on(
                1,
                event_envelope(&envelope_id(), &event, 0, mention(user, text, CHANNEL, ts)),
            )
            .await;
        rig.fake
            .send_on(
                2,
                event_envelope(&envelope_id(), &event, 1, mention(user, text, CHANNEL, ts)),
            )
            .await;
    }
    for i in 0..requests.len() {
        rig.until_done(&format!("EvReplica{i}")).await;
    }
    for (_, _, ts) in &requests {
        assert_eq!(
            card_in(&rig, ts).len(),
            1,
            "one card for the request in thread {ts}"
        );
    }
    // Approvals, each clicked twice on two processes.
    for (user, _, ts) in &requests {
        let card = card_in(&rig, ts).remove(0);
        let id = proposal_of(&card);
        let approver = if *user == "U0LEO" { "U0GRACE" } else { "U0LEO" };
        rig.fake
            .send_on(1, click(&envelope_id(), approver, "approve", &id, &card))
            .await;
        rig.fake
            .send_on(2, click(&envelope_id(), approver, "approve", &id, &card))
            .await;
    }
    rig.until_mutations(3).await;
    // Give the second clicks time to be handled (they are refused: already decided).
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        rig.harness.mutations().await.len(),
        3,
        "each approved action once"
    );

    // SIGKILL in the middle of an approval: Okta applies the change, the answer is slow, and
    // the process that claimed it dies before it can record the outcome.
    let ts = "1700005000.000400";
    rig.post(
        "EvUnsuspend",
        mention("U0LEO", "unsuspend <@U0JAMAL>", CHANNEL, ts),
    )
    .await;
    rig.until_done("EvUnsuspend").await;
    let card = card_in(&rig, ts).remove(0);
    let id = proposal_of(&card);
    rig.harness
        .inject(
            json!({"kind": "latency", "latency_ms": 5000, "path_contains": "/lifecycle/unsuspend"}),
        )
        .await;
    // Socket 1 belongs to the first replica.
    rig.fake
        .send_on(1, click(&envelope_id(), "U0GRACE", "approve", &id, &card))
        .await;
    rig.until_mutations(4).await;
    rig.kill_replica(0).await;
    // Its lease lapses (3 s) and a live process settles the claim as unknown: never retried.
    let db = rig.store().await;
    let mut state = None;
    for _ in 0..300 {
        state = db.proposal(&id).await.unwrap().map(|p| p.state);
        if state == Some(ProposalState::Unknown) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, Some(ProposalState::Unknown), "{}", rig.logs());
    // And its card says so, where it is.
    let fake = rig.fake.clone();
    wait_until("the card to say the outcome is unknown", || {
        fake.card_for(&id)
            .is_some_and(|m| m["blocks"].to_string().contains("Outcome unknown"))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let unsuspends = rig
        .harness
        .mutations()
        .await
        .iter()
        .filter(|m| m.path.contains("unsuspend"))
        .count();
    assert_eq!(unsuspends, 1, "exactly once, not retried");

    // One chain, whoever appended.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
        .args(["audit", "verify"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", rig.database_url())
        .envs(rig.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Starting on a schema that is already there is quiet.
    assert!(!rig.logs().contains("NOTICE"), "{}", rig.logs());
    let records = rig.store().await.audit_rows().await.unwrap().len();
    assert!(records >= 12, "requests, approvals and outcomes: {records}");
    assert!(
        stdout.contains(&format!("audit chain intact: {records} record(s)")),
        "{stdout}"
    );
}
