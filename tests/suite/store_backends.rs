//! The store suite, run against both backends: every test below runs once on a SQLite file and
//! once on a fresh PostgreSQL database (skipped, and said so, when no server is configured;
//! mandatory under `.ci/run`). Several `Store` handles on one database stand for several
//! replicas: races are run on real threads, each with a runtime and a handle of its own.

use std::future::Future;
use std::sync::{Arc, Barrier};

use okta_agent::audit::{self, AuditKeys, AuditRecord};
use okta_agent::store::{
    HelpAnswerRow, HelpAnswerState, InboundState, JobKind, JobState, LearnedPhrasingRow,
    LockoutRow, LockoutState, ProposalRow, ProposalState, ReactionRole, ReactionRow, Store,
    StoreError, Transition, VerificationRow, VerificationState,
};

use crate::common::services::{on_a_thread_of_its_own, TestDatabase};

/// Declares each test twice: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use crate::common::services::TestDatabase;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(TestDatabase::sqlite()).await
                }
            )*
        }
        mod postgres {
            use crate::common::services::TestDatabase;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = TestDatabase::postgres() {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    a_proposal_is_decided_once_and_expires,
    racing_replicas_decide_a_proposal_exactly_once,
    a_delivery_is_remembered_once_across_replicas,
    deliveries_arriving_together_are_committed_together,
    only_a_lapsed_lease_s_work_is_taken_over_and_by_one_replica,
    finished_inbound_is_purged_and_failed_work_is_never_resumed,
    concurrent_audit_appends_from_replicas_make_one_chain,
    help_answers_are_decided_once,
    a_phrasing_is_learned_once_and_forgotten_once,
    jobs_are_claimed_once_and_a_lapsed_lease_is_taken_over,
    reactions_and_cards_are_recorded_once,
    a_schema_newer_than_the_binary_is_refused,
    a_store_from_before_the_migrator_is_adopted,
    every_column_round_trips_including_nulls_and_unicode,
    an_unknown_state_is_a_named_error,
    check_describes_the_database_without_changing_it,
    replicas_starting_together_migrate_once,
    a_proposal_waiting_for_verification_cannot_be_claimed,
    racing_replicas_send_one_push_and_tell_one_lockout,
    a_delivery_waiting_for_its_record_is_small,
    deliveries_finished_at_their_ack_are_done_at_once_and_never_resumed,
    an_ack_never_waits_for_a_work_task_that_stopped_running,
);

/// Work is marked done from the work runtime's lower-priority threads, which a busy machine
/// may leave unscheduled for a while. Here the marking task is polled once and then never
/// again, as if its thread were never scheduled: the next delivery's record is still written
/// and answered (its ack does not wait), and the mark is written too. When the marking task
/// wrote the journal itself, it held the writer and the record waited for good.
async fn an_ack_never_waits_for_a_work_task_that_stopped_running(db: TestDatabase) {
    let store = db.open().await;
    assert!(store.remember_inbound("ev-a", "{}", 1).await.unwrap());
    let mut marking = Box::pin(store.finish_inbound("ev-a"));
    // Polled once: the journal may answer it on that first poll, and a finished future must
    // not be polled again.
    let mut marked = None;
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(result) = marking.as_mut().poll(cx) {
            marked = Some(result);
        }
        std::task::Poll::Ready(())
    })
    .await;
    // Only a guard against hanging the suite: the record is answered at once or never.
    let recorded = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store.remember_inbound("ev-b", "{}", 2),
    )
    .await;
    assert!(
        matches!(recorded, Ok(Ok(true))),
        "the next delivery's record waited for the stalled task: {recorded:?}"
    );
    match marked {
        Some(result) => result.unwrap(),
        None => marking.await.unwrap(),
    }
    assert_eq!(
        store.inbound_state("ev-a").await.unwrap(),
        Some(InboundState::Done)
    );
    assert_eq!(
        store.inbound_state("ev-b").await.unwrap(),
        Some(InboundState::Received)
    );
}

/// Every envelope in hand waits in this future, hundreds at once in a burst: the batch write's
/// state (about 13 KB in a release build) belongs to the one caller that writes, not to each.
async fn a_delivery_waiting_for_its_record_is_small(db: TestDatabase) {
    let store = db.open().await;
    let waiting = store.remember_inbound("ev-size", "{}", 1);
    let size = std::mem::size_of_val(&waiting);
    assert!(size < 2048, "a waiting delivery takes {size} bytes");
    assert!(waiting.await.unwrap());
}

fn verification(proposal_id: &str, state: VerificationState) -> VerificationRow {
    VerificationRow {
        proposal_id: proposal_id.into(),
        okta_user: "00u1".into(),
        login: "ana@example.com".into(),
        person: Some("U1".into()),
        factor_id: Some("opf1".into()),
        state,
        poll_link: None,
        started_by: None,
        started_at: None,
        deadline: None,
        finished_at: None,
        needs_second: i64::from(state == VerificationState::NoFactor),
        first_approver: None,
        overridden_by: None,
        reason: None,
        manager: None,
    }
}

/// The claim itself reads the verification: no approval goes through before the push
/// succeeds, or before a second admin when there is no push factor.
async fn a_proposal_waiting_for_verification_cannot_be_claimed(db: TestDatabase) {
    let store = db.open().await;
    store
        .insert_proposal(&proposal("p-push", 1_000))
        .await
        .unwrap();
    store
        .insert_verification(&verification("p-push", VerificationState::Ready))
        .await
        .unwrap();
    assert!(store
        .start_verification("p-push", "U9", 10, 130)
        .await
        .unwrap());
    assert!(
        !store
            .start_verification("p-push", "U9", 11, 131)
            .await
            .unwrap(),
        "one push"
    );
    assert_eq!(
        store
            .decide("p-push", ProposalState::Executing, "U2", 20)
            .await
            .unwrap(),
        Transition::Unverified
    );
    // Cancelling never waits for a verification.
    store
        .insert_proposal(&proposal("p-cancel", 1_000))
        .await
        .unwrap();
    store
        .insert_verification(&verification("p-cancel", VerificationState::Waiting))
        .await
        .unwrap();
    assert_eq!(
        store
            .decide("p-cancel", ProposalState::Rejected, "U2", 20)
            .await
            .unwrap(),
        Transition::Done
    );
    assert!(store
        .settle_verification(
            "p-push",
            VerificationState::Waiting,
            VerificationState::Success,
            30
        )
        .await
        .unwrap());
    assert!(
        !store
            .settle_verification(
                "p-push",
                VerificationState::Waiting,
                VerificationState::Rejected,
                31
            )
            .await
            .unwrap(),
        "settled once"
    );
    assert_eq!(
        store
            .decide("p-push", ProposalState::Executing, "U2", 40)
            .await
            .unwrap(),
        Transition::Done
    );

    // No push factor: the first admin's approval is recorded, and only another admin claims.
    store
        .insert_proposal(&proposal("p-two", 1_000))
        .await
        .unwrap();
    store
        .insert_verification(&verification("p-two", VerificationState::NoFactor))
        .await
        .unwrap();
    assert_eq!(
        store
            .decide("p-two", ProposalState::Executing, "U2", 50)
            .await
            .unwrap(),
        Transition::Unverified
    );
    assert!(store.first_approval("p-two", "U2").await.unwrap());
    assert!(!store.first_approval("p-two", "U3").await.unwrap());
    assert_eq!(
        store
            .decide("p-two", ProposalState::Executing, "U2", 51)
            .await
            .unwrap(),
        Transition::Unverified,
        "the same admin twice is one admin"
    );
    assert_eq!(
        store
            .decide("p-two", ProposalState::Executing, "U3", 52)
            .await
            .unwrap(),
        Transition::Done
    );

    // An override is recorded once, with its reason, and only over a verification not passed.
    store
        .insert_proposal(&proposal("p-over", 1_000))
        .await
        .unwrap();
    store
        .insert_verification(&verification("p-over", VerificationState::Rejected))
        .await
        .unwrap();
    assert!(store
        .override_verification("p-over", "U4", "on a video call", 60)
        .await
        .unwrap());
    assert!(!store
        .override_verification("p-over", "U5", "again", 61)
        .await
        .unwrap());
    let row = store.verification("p-over").await.unwrap().unwrap();
    assert_eq!(row.state, VerificationState::Overridden);
    assert_eq!(row.reason.as_deref(), Some("on a video call"));
    assert_eq!(
        store
            .decide("p-over", ProposalState::Executing, "U5", 62)
            .await
            .unwrap(),
        Transition::Done
    );
}

/// Replicas racing: one starts the push; one holds the System Log poller; one tells each
/// lockout.
async fn racing_replicas_send_one_push_and_tell_one_lockout(db: TestDatabase) {
    let store = db.open().await;
    store
        .insert_proposal(&proposal("p-race-push", 1_000))
        .await
        .unwrap();
    store
        .insert_verification(&verification("p-race-push", VerificationState::Ready))
        .await
        .unwrap();
    let started = race(&db, 8, |i, store| async move {
        store
            .start_verification("p-race-push", &format!("U{i}"), 10, 130)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(started.iter().filter(|s| **s).count(), 1, "{started:?}");

    let pollers = race(&db, 8, |i, store| async move {
        store
            .claim_log_cursor("lockouts", &format!("replica-{i}"), 100, 190)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(pollers.iter().filter(|p| **p).count(), 1, "{pollers:?}");
    // A lapsed lease is taken over; a live one is not.
    assert!(store
        .claim_log_cursor("lockouts", "late", 150, 240)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .claim_log_cursor("lockouts", "late", 191, 280)
        .await
        .unwrap()
        .is_some());
    assert!(
        !store
            .advance_log_cursor("lockouts", "replica-0", "http://x/after=1", 192)
            .await
            .unwrap(),
        "a process that lost the lease moves nothing"
    );
    assert!(store
        .advance_log_cursor("lockouts", "late", "http://x/after=1", 192)
        .await
        .unwrap());

    let row = LockoutRow {
        event_id: "ev-1".into(),
        okta_user: "00u1".into(),
        login: "ana@example.com".into(),
        locked_at: 100,
        ip: None,
        country: None,
        state: LockoutState::New,
        person: None,
    };
    assert!(store.record_lockout(&row, 100).await.unwrap());
    assert!(
        !store.record_lockout(&row, 101).await.unwrap(),
        "an event is recorded once"
    );
    let told = race(&db, 8, |_, store| async move {
        store
            .move_lockout("ev-1", LockoutState::New, LockoutState::Sending, None)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(told.iter().filter(|t| **t).count(), 1, "{told:?}");
}

fn proposal(id: &str, expires_at: i64) -> ProposalRow {
    ProposalRow {
        id: id.into(),
        created_at: 100,
        expires_at,
        requester: "U1".into(),
        tool: "unlock_user".into(),
        call: "{}".into(),
        target: r#"{"id":"00u1"}"#.into(),
        policy_version: "v".into(),
        binding_hash: "h".into(),
        state: ProposalState::Pending,
        approver: None,
        decided_at: None,
        outcome: None,
        conversation: "chat".into(),
        undo_of: None,
        worded_by: None,
        as_written: None,
        access_seconds: None,
        reason: None,
        trigger: None,
    }
}

/// Runs `work(i, handle)` for `n` replicas at once: each on a thread and a runtime of its own,
/// with its own handle on `db`, started together once all are open.
async fn race<T, F>(
    db: &TestDatabase,
    n: usize,
    work: impl Fn(usize, Arc<Store>) -> F + Send + Sync + 'static,
) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let url = db.url();
    let start = Arc::new(Barrier::new(n));
    let work = Arc::new(work);
    let replicas: Vec<_> = (0..n)
        .map(|i| {
            let (start, work, url) = (start.clone(), work.clone(), url.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let store = Arc::new(runtime.block_on(Store::open_url(&url)).unwrap());
                start.wait();
                let done = runtime.block_on(work(i, store.clone()));
                runtime.block_on(store.close());
                done
            })
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        replicas
            .into_iter()
            .map(|replica| replica.join().unwrap())
            .collect()
    })
    .await
    .unwrap()
}

async fn a_proposal_is_decided_once_and_expires(db: TestDatabase) {
    let store = db.open().await;
    store.insert_proposal(&proposal("p1", 200)).await.unwrap();
    assert_eq!(
        store
            .decide("p1", ProposalState::Executing, "U2", 150)
            .await
            .unwrap(),
        Transition::Done
    );
    assert_eq!(
        store
            .decide("p1", ProposalState::Executing, "U3", 151)
            .await
            .unwrap(),
        Transition::WrongState(ProposalState::Executing)
    );
    assert_eq!(
        store
            .finish("p1", ProposalState::Executed, r#"{"ok":true}"#)
            .await
            .unwrap(),
        Transition::Done
    );
    assert_eq!(
        store
            .finish("p1", ProposalState::Failed, "{}")
            .await
            .unwrap(),
        Transition::WrongState(ProposalState::Executed),
        "an outcome is written once"
    );
    let p1 = store.proposal("p1").await.unwrap().unwrap();
    assert_eq!(
        (p1.state, p1.approver.as_deref(), p1.decided_at),
        (ProposalState::Executed, Some("U2"), Some(150))
    );
    store.insert_proposal(&proposal("p2", 200)).await.unwrap();
    assert_eq!(
        store
            .decide("p2", ProposalState::Executing, "U2", 200)
            .await
            .unwrap(),
        Transition::Expired
    );
    assert_eq!(
        store.proposal("p2").await.unwrap().unwrap().state,
        ProposalState::Expired
    );
    assert_eq!(
        store
            .decide("nope", ProposalState::Executing, "U2", 1)
            .await
            .unwrap(),
        Transition::Missing
    );
    assert_eq!(store.proposals_about_since("00u1", 0).await.unwrap(), 1);
    assert_eq!(
        store.proposals_by_requester_since("U1", 100).await.unwrap(),
        2
    );
    assert!(store.mark_undo("p1", 300).await.unwrap());
    assert!(
        !store.mark_undo("p1", 301).await.unwrap(),
        "an undo is offered once"
    );
    assert!(
        store.insert_proposal(&proposal("p1", 200)).await.is_err(),
        "a proposal id is never reused"
    );
}

async fn racing_replicas_decide_a_proposal_exactly_once(db: TestDatabase) {
    db.open()
        .await
        .insert_proposal(&proposal("p-race", 10_000))
        .await
        .unwrap();
    let results = race(&db, 8, |i, store| async move {
        store
            .decide("p-race", ProposalState::Executing, &format!("U{i}"), 500)
            .await
            .unwrap()
    })
    .await;
    let winners = results.iter().filter(|r| **r == Transition::Done).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| *r == Transition::Done || *r == Transition::WrongState(ProposalState::Executing)));
    let results = race(&db, 8, |_, store| async move {
        store
            .finish("p-race", ProposalState::Executed, "{}")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| **r == Transition::Done).count(),
        1
    );
}

async fn a_delivery_is_remembered_once_across_replicas(db: TestDatabase) {
    let results = race(&db, 6, |_, store| async move {
        store.remember_inbound("Ev-1", "{}", 100).await.unwrap()
    })
    .await;
    assert_eq!(results.iter().filter(|first| **first).count(), 1);
    // It survives reopening, as a redelivery after a restart finds it.
    let store = db.open().await;
    assert!(!store.remember_inbound("Ev-1", "{}", 200).await.unwrap());
    assert_eq!(
        store.inbound_state("Ev-1").await.unwrap(),
        Some(InboundState::Received)
    );
    store.finish_inbound("Ev-1").await.unwrap();
    assert_eq!(
        store.inbound_state("Ev-1").await.unwrap(),
        Some(InboundState::Done)
    );
    store.forget_inbound("Ev-1").await.unwrap();
    assert!(store.remember_inbound("Ev-1", "{}", 300).await.unwrap());
}

/// Group commit: 500 deliveries recorded at once from one handle (some keys twice, some
/// already known) are each answered after their commit, new exactly once per key; marks and
/// forgets that arrive together are applied in order.
async fn deliveries_arriving_together_are_committed_together(db: TestDatabase) {
    let store = Arc::new(db.open().await);
    assert!(store.remember_inbound("ev-old", "{}", 1).await.unwrap());
    let recorded = futures_util::future::join_all((0..500).map(|i| {
        let store = store.clone();
        // Keys repeat every 200, and "ev-old" is among them: 200 new keys in all.
        let key = if i == 7 {
            "ev-old".to_string()
        } else {
            format!("ev-{}", i % 200)
        };
        async move {
            let fresh = store
                .remember_inbound(&key, &format!("{{\"n\":{i}}}"), 2)
                .await;
            (key, fresh.unwrap())
        }
    }))
    .await;
    let mut new_keys: Vec<&str> = recorded
        .iter()
        .filter(|(_, fresh)| *fresh)
        .map(|(key, _)| key.as_str())
        .collect();
    new_keys.sort_unstable();
    let before = new_keys.len();
    new_keys.dedup();
    assert_eq!(before, new_keys.len(), "each key is new once");
    assert_eq!(
        new_keys.len(),
        200,
        "ev-0 to ev-199 are new once each; ev-old was known"
    );
    assert!(!new_keys.contains(&"ev-old"));
    let other = db.open().await;
    for key in ["ev-0", "ev-199", "ev-old"] {
        assert_eq!(
            other.inbound_state(key).await.unwrap(),
            Some(InboundState::Received),
            "{key} is durable for another handle once answered"
        );
    }
    // Marks together: done, failed and forgotten, each as asked.
    let marks = futures_util::future::join_all((0..60).map(|i| {
        let store = store.clone();
        async move {
            let key = format!("ev-{i}");
            match i % 3 {
                0 => store.finish_inbound(&key).await,
                1 => store.fail_inbound(&key).await,
                _ => store.forget_inbound(&key).await,
            }
        }
    }))
    .await;
    assert!(marks.iter().all(Result::is_ok), "{marks:?}");
    assert_eq!(
        other.inbound_state("ev-3").await.unwrap(),
        Some(InboundState::Done)
    );
    assert_eq!(
        other.inbound_state("ev-4").await.unwrap(),
        Some(InboundState::Failed)
    );
    assert_eq!(other.inbound_state("ev-5").await.unwrap(), None);
    assert!(store.remember_inbound("ev-5", "{}", 3).await.unwrap());
}

/// A throttled request whose person was told already is recorded done at its ack. Mixed with
/// ordinary deliveries in one group commit, each row gets its own state; a redelivery of
/// either kind is a duplicate, and only the ordinary ones are ever resumed.
async fn deliveries_finished_at_their_ack_are_done_at_once_and_never_resumed(db: TestDatabase) {
    let store = Arc::new(db.open().await);
    let recorded = futures_util::future::join_all((0..100).map(|i| {
        let store = store.clone();
        async move {
            let key = format!("ev-{i}");
            if i % 2 == 0 {
                store.remember_inbound(&key, "{}", 5).await
            } else {
                store.remember_finished_inbound(&key, "{}", 5).await
            }
        }
    }))
    .await;
    assert!(
        recorded.iter().all(|r| matches!(r, Ok(true))),
        "{recorded:?}"
    );
    let other = db.open().await;
    for (key, state) in [
        ("ev-0", InboundState::Received),
        ("ev-1", InboundState::Done),
        ("ev-98", InboundState::Received),
        ("ev-99", InboundState::Done),
    ] {
        assert_eq!(
            other.inbound_state(key).await.unwrap(),
            Some(state),
            "{key}"
        );
    }
    assert!(!store
        .remember_finished_inbound("ev-0", "{}", 6)
        .await
        .unwrap());
    assert!(!store.remember_inbound("ev-1", "{}", 6).await.unwrap());
    assert!(!store
        .remember_finished_inbound("ev-1", "{}", 6)
        .await
        .unwrap());
    // The store's owner stops without a clean retire: another takes over the ordinary ones.
    drop(store);
    let resumed: Vec<String> = other
        .unfinished_inbound(10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(resumed.len(), 50, "{resumed:?}");
    assert!(resumed.iter().all(|key| {
        key.trim_start_matches("ev-")
            .parse::<u32>()
            .is_ok_and(|n| n % 2 == 0)
    }));
}

async fn only_a_lapsed_lease_s_work_is_taken_over_and_by_one_replica(db: TestDatabase) {
    let (a, b, c) = (db.open().await, db.open().await, db.open().await);
    for store in [&a, &b, &c] {
        store.heartbeat(100).await.unwrap();
    }
    a.remember_inbound("ev-a", "{\"n\":1}", 100).await.unwrap();
    a.insert_proposal(&proposal("pa", 10_000)).await.unwrap();
    a.decide("pa", ProposalState::Executing, "U2", 100)
        .await
        .unwrap();
    // A is alive: nobody touches its work, and it does not take its own either.
    assert!(b.unfinished_inbound(110).await.unwrap().is_empty());
    assert!(b.orphaned_executing(110).await.unwrap().is_empty());
    assert!(a.unfinished_inbound(110).await.unwrap().is_empty());
    assert!(a.orphaned_executing(110).await.unwrap().is_empty());
    // A stops heartbeating: after the lease, exactly one of B and C takes its delivery.
    b.heartbeat(200).await.unwrap();
    c.heartbeat(200).await.unwrap();
    assert_eq!(
        b.orphaned_executing(200).await.unwrap(),
        vec!["pa".to_string()]
    );
    let taken_b = b.unfinished_inbound(200).await.unwrap();
    let taken_c = c.unfinished_inbound(200).await.unwrap();
    assert_eq!(taken_b.len() + taken_c.len(), 1);
    assert_eq!(
        taken_b.iter().chain(&taken_c).next().unwrap(),
        &("ev-a".to_string(), "{\"n\":1}".to_string())
    );
    // A clean stop gives the lease up at once.
    b.remember_inbound("ev-b", "{}", 200).await.unwrap();
    b.retire().await.unwrap();
    let taken = c.unfinished_inbound(201).await.unwrap();
    assert!(taken.iter().any(|(key, _)| key == "ev-b"), "{taken:?}");
    assert_eq!(
        c.live_instances(201).await.unwrap(),
        vec![c.instance().to_string()]
    );
}

async fn finished_inbound_is_purged_and_failed_work_is_never_resumed(db: TestDatabase) {
    let store = db.open().await;
    store
        .remember_inbound("old-done", "{\"text\":\"reset my pw\"}", 100)
        .await
        .unwrap();
    store.finish_inbound("old-done").await.unwrap();
    store
        .remember_inbound("old-pending", "{}", 100)
        .await
        .unwrap();
    store
        .remember_inbound("old-failed", "{}", 100)
        .await
        .unwrap();
    store.fail_inbound("old-failed").await.unwrap();
    store
        .remember_inbound("new-done", "{}", 10_000)
        .await
        .unwrap();
    store.finish_inbound("new-done").await.unwrap();
    assert_eq!(store.purge_inbound(1_000).await.unwrap(), 2);
    assert_eq!(store.inbound_state("old-done").await.unwrap(), None);
    assert_eq!(store.inbound_state("old-failed").await.unwrap(), None);
    assert_eq!(
        store.inbound_state("new-done").await.unwrap(),
        Some(InboundState::Done)
    );
    store
        .remember_inbound("crashed", "{}", 10_000)
        .await
        .unwrap();
    store.fail_inbound("crashed").await.unwrap();
    let other = db.open().await;
    let unfinished: Vec<String> = other
        .unfinished_inbound(10_001)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(unfinished, vec!["old-pending".to_string()]);
}

/// Four replicas append 25 records each at once: one chain of 100, no fork, no gap, and
/// `audit verify` passes; then a record is edited behind the store's back and verify names it.
async fn concurrent_audit_appends_from_replicas_make_one_chain(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("audit-key");
    let keys = Arc::new(AuditKeys::add_key(&key_path).unwrap());
    let appended = {
        let keys = keys.clone();
        race(&db, 4, move |replica, store| {
            let keys = keys.clone();
            async move {
                let mut seqs = Vec::new();
                for n in 0..25 {
                    let record = AuditRecord {
                        time: 1_795_874_709,
                        event: "requested".into(),
                        requester: Some(format!("U{replica}")),
                        detail: format!("replica {replica} record {n}"),
                        ..AuditRecord::default()
                    };
                    seqs.push(audit::append(&store, &keys, &record).await.unwrap().seq);
                }
                seqs
            }
        })
        .await
    };
    let mut seqs: Vec<i64> = appended.into_iter().flatten().collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=100).collect::<Vec<i64>>(),
        "one sequence, no gaps"
    );
    let store = db.open().await;
    let head = audit::verify(&store, &keys).await.unwrap();
    assert_eq!((head.count, head.unsigned), (100, 0));
    let rows = store.audit_rows().await.unwrap();
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "record {}", pair[1].seq);
    }
    db.sql("UPDATE audit SET record = replace(record, 'replica', 'REPLICA') WHERE seq = 50");
    let err = audit::verify(&store, &keys).await.unwrap_err().to_string();
    assert!(err.contains("record 50"), "{err}");
}

async fn help_answers_are_decided_once(db: TestDatabase) {
    let store = db.open().await;
    let row = HelpAnswerRow {
        channel: "C1".into(),
        answer_ts: "2.0".into(),
        question_ts: "1.0".into(),
        asker: "U1".into(),
        state: HelpAnswerState::Open,
        decided_by: None,
    };
    store.insert_help_answer(&row).await.unwrap();
    store.insert_help_answer(&row).await.unwrap();
    assert!(store.help_question_answered("C1", "1.0").await.unwrap());
    assert!(!store.help_question_answered("C1", "9.0").await.unwrap());
    let results = race(&db, 4, |i, store| async move {
        store
            .decide_help_answer(
                "C1",
                "2.0",
                HelpAnswerState::Open,
                HelpAnswerState::Solved,
                &format!("U{i}"),
            )
            .await
            .unwrap()
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
    let stored = store.help_answer("C1", "2.0").await.unwrap().unwrap();
    assert_eq!(stored.state, HelpAnswerState::Solved);
    assert!(stored.decided_by.is_some());
    assert_eq!(store.help_answer("C1", "3.0").await.unwrap(), None);
}

async fn a_phrasing_is_learned_once_and_forgotten_once(db: TestDatabase) {
    let store = db.open().await;
    let row = |taught_by: &str| LearnedPhrasingRow {
        id: 0,
        doc: "vpn.md".into(),
        phrasing: "the wiki times out at the hotel — “again”".into(),
        taught_by: taught_by.into(),
        taught_at: 1_700_000_000,
        channel: "C0HELP".into(),
        question_ts: "1.0".into(),
    };
    // Two admins teach the same at once: one row, the first.
    let ids = race(&db, 4, move |i, store| async move {
        store
            .insert_learned_phrasing(&row(&format!("U{i}")))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(ids.iter().filter(|id| id.is_some()).count(), 1);
    let learned = store.learned_phrasings().await.unwrap();
    assert_eq!(learned.len(), 1);
    assert_eq!(
        learned[0].phrasing,
        "the wiki times out at the hotel — “again”"
    );
    let id = learned[0].id;
    assert_eq!(Some(id), ids.into_iter().flatten().next());
    // Another document may have the same phrasing.
    let other = LearnedPhrasingRow {
        doc: "wifi.md".into(),
        ..row("U0LEO")
    };
    assert!(store
        .insert_learned_phrasing(&other)
        .await
        .unwrap()
        .is_some());
    let forgotten = race(&db, 3, move |_, store| async move {
        store.forget_learned_phrasing(id).await.unwrap()
    })
    .await;
    assert_eq!(forgotten.iter().filter(|f| f.is_some()).count(), 1);
    let left = store.learned_phrasings().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].doc, "wifi.md");
}

async fn jobs_are_claimed_once_and_a_lapsed_lease_is_taken_over(db: TestDatabase) {
    let store = db.open().await;
    let id = store
        .add_job(JobKind::EndAccess, "p-1", 100, "{}")
        .await
        .unwrap();
    let later = store
        .add_job(JobKind::EndAccess, "p-2", 100, "{}")
        .await
        .unwrap();
    assert!(
        store.due_jobs(99, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    let due: Vec<String> = store
        .due_jobs(100, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(due, vec![id.clone(), later.clone()], "in the order added");
    let claimed = race(&db, 5, {
        let id = id.clone();
        move |i, store| {
            let id = id.clone();
            async move { store.claim_job(&id, &format!("r{i}"), 100).await.unwrap() }
        }
    })
    .await;
    assert_eq!(claimed.iter().filter(|won| **won).count(), 1);
    let holder = format!("r{}", claimed.iter().position(|won| *won).unwrap());
    assert!(!store.claim_job(&id, "b", 100).await.unwrap(), "held");
    let lapsed = 100 + okta_agent::store::JOB_LEASE_SECS + 1;
    assert!(store.claim_job(&id, "b", lapsed).await.unwrap());
    assert!(
        !store
            .settle_job(&id, &holder, JobState::Done, None, None)
            .await
            .unwrap(),
        "the first holder no longer holds it"
    );
    assert!(store
        .settle_job(&id, "b", JobState::Pending, Some(500), Some("HTTP 503"))
        .await
        .unwrap());
    assert!(store.claim_job(&id, "b", 500).await.unwrap());
    assert!(store
        .settle_job(&id, "b", JobState::Done, None, None)
        .await
        .unwrap());
    let job = &store.jobs_of("p-1").await.unwrap()[0];
    assert_eq!(
        (job.kind, job.state, job.attempts),
        (JobKind::EndAccess, JobState::Done, 3)
    );
    assert!(
        !store.cancel_job(&id).await.unwrap(),
        "a finished job stays finished"
    );
    assert!(store.run_job_now(&later, 50).await.unwrap());
    assert!(store.cancel_job(&later).await.unwrap());
    assert!(store.due_jobs(10_000, 10).await.unwrap().is_empty());
}

async fn reactions_and_cards_are_recorded_once(db: TestDatabase) {
    let mut row = ReactionRow {
        channel: "C1".into(),
        message_ts: "1.1".into(),
        emoji: "lock".into(),
        reactor: "U1".into(),
        added_at: 10,
        role: ReactionRole::Requester,
        proposal_id: None,
        job_id: None,
    };
    let first = race(&db, 4, {
        let row = row.clone();
        move |_, store| {
            let row = row.clone();
            async move { store.remember_reaction(&row).await.unwrap() }
        }
    })
    .await;
    assert_eq!(first.iter().filter(|won| **won).count(), 1);
    let store = db.open().await;
    row.proposal_id = Some("p-1".into());
    store.set_reaction_role(&row).await.unwrap();
    assert_eq!(
        store.reactions_on("C1", "1.1", "lock").await.unwrap(),
        vec![row]
    );
    assert_eq!(store.card_of("p-1").await.unwrap(), None);
    store.remember_card("p-1", "C9", "5.5").await.unwrap();
    assert_eq!(
        store.card_of("p-1").await.unwrap(),
        Some(("C9".to_string(), "5.5".to_string()))
    );
}

/// Records a migration 999 in the driver's table, as a future okta-agent would leave it.
fn as_if_written_by_a_newer_build(db: &TestDatabase) {
    let checksum = if db.is_postgres() {
        "'\\x00'::bytea"
    } else {
        "x'00'"
    };
    db.sql(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (999, 'from the future', true, {checksum}, 0)"
    ));
}

async fn a_schema_newer_than_the_binary_is_refused(db: TestDatabase) {
    db.open().await.close().await;
    as_if_written_by_a_newer_build(&db);
    let err = Store::open_url(&db.url()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 999, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("newer okta-agent"), "{message}");
    assert!(message.contains("upgrade okta-agent"), "{message}");
    assert!(!message.contains("ci-only-not-a-secret"), "{message}");
}

/// A database okta-agent made before it used the driver's migrator (SQLite at schema 6,
/// marked by `PRAGMA user_version`; PostgreSQL at schema 1, marked by `okta_agent_schema`) is
/// taken over where it stands: its rows kept, only the missing migrations run, and the old
/// marker advanced too, so an older okta-agent refuses the newer schema.
async fn a_store_from_before_the_migrator_is_adopted(db: TestDatabase) {
    let old_schema = if db.is_postgres() {
        format!(
            "{}\nCREATE TABLE okta_agent_schema (version BIGINT NOT NULL); INSERT INTO okta_agent_schema VALUES (1);\nINSERT INTO inbound (key, received_at, payload, state) VALUES ('ev-old', 5, '{{}}', 'received');",
            include_str!("../../src/store/migrations/postgres/0001_initial.sql")
        )
    } else {
        let steps: String = [
            include_str!("../../src/store/migrations/sqlite/0001_initial.sql"),
            include_str!("../../src/store/migrations/sqlite/0002_trust_boundary.sql"),
            include_str!("../../src/store/migrations/sqlite/0003_as_written.sql"),
            include_str!("../../src/store/migrations/sqlite/0004_help_questions.sql"),
            include_str!("../../src/store/migrations/sqlite/0005_automations.sql"),
            include_str!("../../src/store/migrations/sqlite/0006_instances.sql"),
        ]
        .join("\n");
        format!("{steps}\nPRAGMA user_version = 6;\nINSERT INTO inbound (key, received_at, payload, state) VALUES ('ev-old', 5, '{{}}', 'received');")
    };
    let url = db.url();
    if db.is_postgres() {
        db.sql(&old_schema);
    } else {
        // Straight into the file, as the build before the migrator left it.
        let path = okta_agent::store::sqlite_path(&url).unwrap();
        on_a_thread_of_its_own(async move {
            use sqlx::{ConnectOptions, Connection};
            let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(old_schema))
                .execute(&mut raw)
                .await
                .unwrap();
            raw.close().await.unwrap();
        });
    }
    let store = db.open().await;
    assert_eq!(
        store.inbound_state("ev-old").await.unwrap(),
        Some(InboundState::Received),
        "rows from before are kept (on SQLite, moved to the journal file)"
    );
    assert_eq!(
        store.unfinished_inbound(100).await.unwrap(),
        vec![("ev-old".to_string(), "{}".to_string())],
        "work from before the upgrade is resumed"
    );
    store.insert_proposal(&proposal("p1", 200)).await.unwrap();
    store.close().await;
    let said = okta_agent::store::describe(&url).await.unwrap();
    assert!(said.ends_with("(current)"), "{said}");
    let reopened = db.open().await;
    let migrations = reopened
        .execute_raw("UPDATE _sqlx_migrations SET success = success")
        .await
        .unwrap();
    assert_eq!(
        migrations,
        if db.is_postgres() { 5 } else { 11 },
        "one row per migration, the adopted ones included"
    );
    if !db.is_postgres() {
        assert_eq!(
            reopened
                .session_setting("user_version", false)
                .await
                .unwrap(),
            "11",
            "the old marker is advanced: an older okta-agent refuses this file"
        );
    }
}

async fn every_column_round_trips_including_nulls_and_unicode(db: TestDatabase) {
    let store = db.open().await;
    let full = ProposalRow {
        approver: Some("U2".into()),
        decided_at: Some(i64::MAX - 1),
        outcome: Some(r#"{"note":"déjà vu ✅ 'quoted' ?1 $1"}"#.into()),
        undo_of: Some("p0".into()),
        worded_by: Some("U3".into()),
        as_written: Some("unlok".into()),
        access_seconds: Some(28_800),
        reason: Some("on call — tonight".into()),
        trigger: Some(r#"{"kind":"reaction","emoji":"unlock"}"#.into()),
        ..proposal("p-full", -5)
    };
    store.insert_proposal(&full).await.unwrap();
    assert_eq!(store.proposal("p-full").await.unwrap().unwrap(), full);
    store.insert_proposal(&proposal("p-bare", 1)).await.unwrap();
    assert_eq!(
        store.proposal("p-bare").await.unwrap().unwrap(),
        proposal("p-bare", 1)
    );
}

/// A state written by something other than okta-agent is an error that names it, never a
/// guess.
async fn an_unknown_state_is_a_named_error(db: TestDatabase) {
    let store = db.open().await;
    store
        .insert_proposal(&proposal("p-odd", 200))
        .await
        .unwrap();
    db.sql("UPDATE proposals SET state = 'approved-ish' WHERE id = 'p-odd'");
    let err = store.proposal("p-odd").await.unwrap_err().to_string();
    assert!(err.contains("approved-ish"), "{err}");
    assert!(err.contains("proposal state"), "{err}");
}

async fn check_describes_the_database_without_changing_it(db: TestDatabase) {
    let before = okta_agent::store::describe(&db.url()).await.unwrap();
    if db.is_postgres() {
        assert!(before.contains("schema 0; migrated to"), "{before}");
    } else {
        assert!(before.contains("will be made on first start"), "{before}");
    }
    assert!(!before.contains("ci-only-not-a-secret"), "{before}");
    db.open().await.close().await;
    let after = okta_agent::store::describe(&db.url()).await.unwrap();
    assert!(after.ends_with("(current)"), "{after}");
    as_if_written_by_a_newer_build(&db);
    let err = okta_agent::store::describe(&db.url())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer okta-agent"), "{err}");
}

/// Four replicas start at once on an empty database: every one opens, the schema is built
/// once, and they all work on it.
async fn replicas_starting_together_migrate_once(db: TestDatabase) {
    let recorded = race(&db, 4, |i, store| async move {
        store
            .remember_inbound(&format!("ev-{i}"), "{}", 1)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(recorded, vec![true; 4]);
    let said = okta_agent::store::describe(&db.url()).await.unwrap();
    assert!(said.ends_with("(current)"), "{said}");
    let store = db.open().await;
    let migrations = if db.is_postgres() { 5 } else { 11 };
    assert_eq!(
        store
            .execute_raw("UPDATE _sqlx_migrations SET success = success")
            .await
            .unwrap(),
        migrations,
        "one row per migration"
    );
}

/// The migrations are never edited once released: the driver refuses a database whose
/// applied migration changed, so an edit would stop every installation at its next start.
/// Their SHA-256 sums are pinned here; add a migration instead.
#[test]
fn released_migrations_are_never_edited() {
    use sha2::{Digest, Sha256};
    let pinned: &[(&str, &str)] = &[
        (
            "sqlite/0001_initial.sql",
            "d222ab46731fc06978b79ef880a2acc6649fb22a492302f4c8641fd41ce7bfc5",
        ),
        (
            "sqlite/0002_trust_boundary.sql",
            "3a56369aaa128e0165eb534fe51bade446f52e217b507e9eb54a0d0055648208",
        ),
        (
            "sqlite/0003_as_written.sql",
            "af21e89ac82635e7a36475c3b3bc991ed174848c6e66053696ec5568e0c9c2b5",
        ),
        (
            "sqlite/0004_help_questions.sql",
            "742cbf92770faf39a87b02b74cd2c8c60cf127ba6f45a5c4e2717e06b729497d",
        ),
        (
            "sqlite/0005_automations.sql",
            "9115334b8e4899f7ae927102ecf76219840d25cc5bcbc3b9414e4cfde6018eae",
        ),
        (
            "sqlite/0006_instances.sql",
            "fb8fc7890ae44a9a91e0599512b4861e9315105becfd73c14ea2de08d42f3754",
        ),
        (
            "sqlite/0007_inbound_journal.sql",
            "2fb2ffb157bd46a9b7f380f3045467510cb1585122c172897e81514b6ec98051",
        ),
        (
            "sqlite/0008_learned_phrasings.sql",
            "56b88f37c8aa3352f3b555d04a0d141ac2821b45f61abe027af12e43c2ecf007",
        ),
        (
            "sqlite/0009_notices.sql",
            "5582c57072bde91a4519f0e701ba3bb6968e6240cac1dbc79f28703e46be2446",
        ),
        (
            "sqlite/0010_lockouts.sql",
            "cce724a6de0ed98944b666ceb13f93edb9fb0fab54bd46f3310384490b9243e9",
        ),
        (
            "sqlite/0011_verifications.sql",
            "8c556693f5a7b576978348f9956557e50a671516ac916a96d327708f48aa7cd7",
        ),
        (
            "postgres/0001_initial.sql",
            "7cd668b784ebb6f39cc95b4cb4561c18b97e25ee4d5531d576796d739de014bf",
        ),
        (
            "postgres/0002_learned_phrasings.sql",
            "2e3907e243f15d81654a1def0b2efa66a4e84d9302be60c5da2f110458060e9f",
        ),
        (
            "postgres/0003_notices.sql",
            "34d2e9ef5f0c707e2469a72fe0309cfc7758d9a52143b40151595ebcdccafe06",
        ),
        (
            "postgres/0004_lockouts.sql",
            "4115aca338342cf7f16d6b8d0fb129230e18a4ea5af639ceec68fce6b7eb09e0",
        ),
        (
            "postgres/0005_verifications.sql",
            "b21cd4aeba1fc0098519ed0442df58119a4f43a31b72fda6cb5439ca79ce5e0d",
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations");
    let mut found = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(backend))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let sum = Sha256::digest(std::fs::read(&file).unwrap())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            found.push((
                format!("{backend}/{}", file.file_name().unwrap().to_string_lossy()),
                sum,
            ));
        }
    }
    for (name, sum) in pinned {
        let now = found.iter().find(|(n, _)| n == name);
        assert_eq!(
            now.map(|(_, s)| s.as_str()),
            Some(*sum),
            "{name} was released; never edit it, add the next migration"
        );
    }
    assert_eq!(
        found.len(),
        pinned.len(),
        "pin new migrations here: {found:#?}"
    );
}

/// SQLite alone: every write to the main file reaches the disk before it returns
/// (`synchronous=FULL`), while the ack path's journal commits at `NORMAL`.
#[tokio::test]
async fn sqlite_writes_are_full_and_the_journal_is_normal() {
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    store
        .execute_raw("CREATE TABLE sync_log (what TEXT, level INTEGER)")
        .await
        .unwrap();
    store
        .execute_raw("CREATE TRIGGER log_sync AFTER UPDATE OF state ON proposals BEGIN INSERT INTO sync_log SELECT NEW.state, synchronous FROM pragma_synchronous; END")
        .await
        .unwrap();
    store.insert_proposal(&proposal("p1", 200)).await.unwrap();
    store
        .decide("p1", ProposalState::Executing, "U2", 150)
        .await
        .unwrap();
    store
        .finish("p1", ProposalState::Executed, "{}")
        .await
        .unwrap();
    let levels = store
        .execute_raw("UPDATE sync_log SET level = level WHERE level = 2")
        .await
        .unwrap();
    assert_eq!(levels, 2, "the claim and the outcome at FULL (2)");
    assert_eq!(
        store.session_setting("synchronous", true).await.unwrap(),
        "1",
        "the journal at NORMAL"
    );
    assert_eq!(
        store
            .session_setting("journal.synchronous", false)
            .await
            .unwrap(),
        "1",
        "the journal at NORMAL from the main pool too"
    );
}

/// Replicas on one host share the recovery file: lines appended while another process
/// merges are neither lost nor merged twice; a merge that fails leaves every line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_file_is_merged_whole_while_others_append() {
    let db = TestDatabase::sqlite();
    let merger = db.open().await;
    let writers = race(&db, 3, |w, store| async move {
        for n in 0..100 {
            store.append_recovery(&format!("{w}-{n}")).await.unwrap();
        }
    });
    let mut merged = Vec::new();
    let merging = async {
        for _ in 0..50 {
            if let Some(lines) = merger.take_recovery().await.unwrap() {
                merged.extend_from_slice(lines.lines());
                lines.merged().await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let ((), ()) = tokio::join!(
        async {
            writers.await;
        },
        merging
    );
    if let Some(lines) = merger.take_recovery().await.unwrap() {
        merged.extend_from_slice(lines.lines());
        lines.merged().await.unwrap();
    }
    merged.sort();
    let mut expected: Vec<String> = (0..3)
        .flat_map(|w| (0..100).map(move |n| format!("{w}-{n}")))
        .collect();
    expected.sort();
    assert_eq!(merged, expected);
    // A merge that fails (the lines are dropped unmerged) leaves every line for the next start.
    merger.append_recovery("kept").await.unwrap();
    drop(merger.take_recovery().await.unwrap());
    let kept = merger.take_recovery().await.unwrap().unwrap();
    assert_eq!(kept.lines(), ["kept".to_string()]);
    assert_eq!(kept.merged().await.unwrap(), 1);
    assert!(merger.take_recovery().await.unwrap().is_none());
}

/// PostgreSQL alone: the server drops the connections (a failover, a restart, an idle
/// timeout). A connection that sat idle is checked before use, so the next call reconnects
/// instead of failing; the ack path's connection too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reconnects_after_the_server_drops_the_connection() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let store = db.open().await;
    store.heartbeat(1).await.unwrap();
    assert!(store.remember_inbound("ev-before", "{}", 1).await.unwrap());
    let TestDatabase::Postgres { admin, name } = &db else {
        unreachable!()
    };
    crate::common::services::admin_sql(
        admin,
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
    );
    // Idle for longer than a connection goes unchecked.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    store.heartbeat(2).await.unwrap();
    assert!(store.remember_inbound("ev-after", "{}", 2).await.unwrap());
    assert_eq!(store.live_instances(2).await.unwrap().len(), 1);
}

#[tokio::test]
async fn postgres_errors_name_the_database_and_never_the_password() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let url = db.url().replace("ci-only-not-a-secret", "wrong-password-x");
    let err = Store::open_url(&url).await.unwrap_err().to_string();
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains("check the user and password in DATABASE_URL"),
        "{err}"
    );
    assert!(err.contains("@127.0.0.1:"), "{err}");
    assert!(!err.contains("wrong-password-x"), "{err}");
    let store = db.open().await;
    assert!(store
        .location()
        .starts_with("postgres://okta_agent@127.0.0.1:"));
    assert!(!store.location().contains("ci-only-not-a-secret"));
    let missing = db.url().rsplit_once('/').unwrap().0.to_string() + "/no_such_database";
    let err = Store::open_url(&missing).await.unwrap_err().to_string();
    assert!(err.contains("no_such_database"), "{err}");
    assert!(err.contains("create the database first"), "{err}");
    // Nothing listens there: said plainly, within the connect timeout the URL gives.
    let closed = "postgres://okta_agent@127.0.0.1:9/okta?connect_timeout=2";
    let err = Store::open_url(closed).await.unwrap_err().to_string();
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert!(err.contains("reachable from this host"), "{err}");
}

/// PostgreSQL alone: `sslmode` means what it means to libpq, against a server with TLS on and
/// a certificate from a CA of its own (`.ci/postgres`), naming 127.0.0.1 only.
#[tokio::test]
async fn postgres_tls_follows_libpq_sslmode() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let Some(ca) = crate::common::services::postgres_ca() else {
        return;
    };
    let url = db.url();
    let by_name = url.replace("@127.0.0.1:", "@localhost:");
    let describe = |url: &str, query: &str| {
        let url = if query.is_empty() {
            url.to_string()
        } else {
            format!("{url}?{query}")
        };
        async move {
            okta_agent::store::describe(&url)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let said = describe(&url, "").await.unwrap();
    assert!(
        said.contains("(TLS, certificate not verified (sslmode=prefer)"),
        "the default encrypts when the server offers TLS: {said}"
    );
    let said = describe(&url, "sslmode=disable").await.unwrap();
    assert!(said.contains("(not encrypted (sslmode=disable))"), "{said}");
    let said = describe(&url, "sslmode=require").await.unwrap();
    assert!(
        said.contains("TLS, certificate not verified (sslmode=require)"),
        "{said}"
    );
    let trusted = format!("sslmode=verify-full&sslrootcert={ca}");
    let said = describe(&url, &trusted).await.unwrap();
    assert!(
        said.contains("TLS, certificate and host name verified (sslmode=verify-full)"),
        "{said}"
    );
    // The system's roots do not know the test CA.
    let err = describe(&url, "sslmode=verify-full").await.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(
        err.contains("sslrootcert=/path/to/ca.pem"),
        "what to do about it: {err}"
    );
    assert!(!err.contains("ci-only-not-a-secret"), "{err}");
    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca accepts.
    let err = describe(&by_name, &trusted).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    let said = describe(&by_name, &format!("sslmode=verify-ca&sslrootcert={ca}"))
        .await
        .unwrap();
    assert!(
        said.contains("certificate verified but not the host name"),
        "{said}"
    );
    // And the store works over the verified connection.
    let store = Store::open_url(&format!("{url}?{trusted}")).await.unwrap();
    assert!(store.remember_inbound("ev-tls", "{}", 1).await.unwrap());
    let err = Store::open_url(&format!(
        "{url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

/// PostgreSQL alone: a replica that stops in the middle of an audit append (frozen, or cut off
/// by the network) holds the audit table's lock. The server ends its session after 10 s idle in
/// the transaction, so another replica's append waits at most that long and then goes through,
/// and the stalled one's record is never half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_replica_stalled_mid_append_does_not_stall_the_others() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let other = db.open().await;
    for ack_path in [false, true] {
        assert_eq!(
            other
                .session_setting("idle_in_transaction_session_timeout", ack_path)
                .await
                .unwrap(),
            "10s"
        );
    }
    // Claims, outcomes and audit records wait for the WAL flush; recording a delivery does not.
    assert_eq!(
        other
            .session_setting("synchronous_commit", false)
            .await
            .unwrap(),
        "on"
    );
    assert_eq!(
        other
            .session_setting("synchronous_commit", true)
            .await
            .unwrap(),
        "off"
    );
    let (locked, holding) = std::sync::mpsc::channel();
    // The stalled replica: a process of its own, frozen while it holds the lock, longer than
    // the server allows.
    let url = db.url();
    let frozen = std::thread::spawn(move || {
        on_a_thread_of_its_own(async move {
            let stalled = Store::open_url(&url).await.unwrap();
            stalled
                .append_audit(None, move |seq, prev| {
                    locked.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_secs(12));
                    (format!("{{\"stalled\":{seq}}}"), format!("{prev}-x"))
                })
                .await
                .map(|row| row.seq)
        })
    });
    tokio::task::spawn_blocking(move || holding.recv().unwrap())
        .await
        .unwrap();
    let appended = other
        .append_audit(None, |seq, prev| {
            (format!("{{\"n\":{seq}}}"), format!("{prev}-y"))
        })
        .await
        .unwrap();
    assert_eq!(appended.seq, 1, "the stalled append never committed");
    let stalled = tokio::task::spawn_blocking(move || frozen.join().unwrap())
        .await
        .unwrap();
    assert!(stalled.is_err(), "the stalled append fails");
    let rows = other.audit_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record, "{\"n\":1}");
}
