//! The store suite, run against both backends: every test below runs once on a SQLite file and
//! once on a fresh PostgreSQL database (skipped, and said so, when no server is configured;
//! mandatory under `.ci/run`). Several `Store` handles on one database stand for several
//! replicas: races are run on real threads, each with a handle of its own.

use std::sync::{Arc, Barrier};

use okta_agent::audit::{self, AuditKeys, AuditRecord};
use okta_agent::store::{HelpAnswerRow, ProposalRow, ReactionRow, Store, StoreError, Transition};

use crate::common::services::TestDatabase;

/// Declares each test twice: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use crate::common::services::TestDatabase;
            $( #[test] fn $name() { super::$name(TestDatabase::sqlite()) } )*
        }
        mod postgres {
            use crate::common::services::TestDatabase;
            $( #[test] fn $name() { if let Some(db) = TestDatabase::postgres() { super::$name(db) } } )*
        }
    };
}

on_both_backends!(
    a_proposal_is_decided_once_and_expires,
    racing_replicas_decide_a_proposal_exactly_once,
    a_delivery_is_remembered_once_across_replicas,
    only_a_lapsed_lease_s_work_is_taken_over_and_by_one_replica,
    finished_inbound_is_purged_and_failed_work_is_never_resumed,
    concurrent_audit_appends_from_replicas_make_one_chain,
    help_answers_are_decided_once,
    jobs_are_claimed_once_and_a_lapsed_lease_is_taken_over,
    reactions_and_cards_are_recorded_once,
    a_schema_newer_than_the_binary_is_refused,
    every_column_round_trips_including_nulls_and_unicode,
    check_describes_the_database_without_changing_it,
    replicas_starting_together_migrate_once,
);

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
        state: "pending".into(),
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

/// Runs `work(i, handle)` on `n` threads at once, each with its own handle on `db`.
fn race<T: Send + 'static>(
    db: &TestDatabase,
    n: usize,
    work: impl Fn(usize, &Store) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let handles: Vec<Store> = (0..n).map(|_| db.open()).collect();
    let start = Arc::new(Barrier::new(n));
    let work = Arc::new(work);
    let threads: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(i, store)| {
            let (start, work) = (start.clone(), work.clone());
            std::thread::spawn(move || {
                start.wait();
                work(i, &store)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn a_proposal_is_decided_once_and_expires(db: TestDatabase) {
    let store = db.open();
    store.insert_proposal(&proposal("p1", 200)).unwrap();
    assert_eq!(
        store.decide("p1", "executing", "U2", 150).unwrap(),
        Transition::Done
    );
    assert_eq!(
        store.decide("p1", "executing", "U3", 151).unwrap(),
        Transition::WrongState("executing".into())
    );
    assert_eq!(
        store.finish("p1", "executed", r#"{"ok":true}"#).unwrap(),
        Transition::Done
    );
    assert_eq!(
        store.finish("p1", "failed", "{}").unwrap(),
        Transition::WrongState("executed".into()),
        "an outcome is written once"
    );
    let p1 = store.proposal("p1").unwrap().unwrap();
    assert_eq!(
        (p1.state.as_str(), p1.approver.as_deref(), p1.decided_at),
        ("executed", Some("U2"), Some(150))
    );
    store.insert_proposal(&proposal("p2", 200)).unwrap();
    assert_eq!(
        store.decide("p2", "executing", "U2", 200).unwrap(),
        Transition::Expired
    );
    assert_eq!(store.proposal("p2").unwrap().unwrap().state, "expired");
    assert_eq!(
        store.decide("nope", "executing", "U2", 1).unwrap(),
        Transition::Missing
    );
    assert_eq!(store.proposals_about_since("00u1", 0).unwrap(), 1);
    assert_eq!(store.proposals_by_requester_since("U1", 100).unwrap(), 2);
    assert!(store.mark_undo("p1", 300).unwrap());
    assert!(
        !store.mark_undo("p1", 301).unwrap(),
        "an undo is offered once"
    );
    assert!(
        store.insert_proposal(&proposal("p1", 200)).is_err(),
        "a proposal id is never reused"
    );
}

fn racing_replicas_decide_a_proposal_exactly_once(db: TestDatabase) {
    db.open()
        .insert_proposal(&proposal("p-race", 10_000))
        .unwrap();
    let results = race(&db, 8, |i, store| {
        store
            .decide("p-race", "executing", &format!("U{i}"), 500)
            .unwrap()
    });
    let winners = results.iter().filter(|r| **r == Transition::Done).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| *r == Transition::Done || *r == Transition::WrongState("executing".into())));
    let results = race(&db, 8, |_, store| {
        store.finish("p-race", "executed", "{}").unwrap()
    });
    assert_eq!(
        results.iter().filter(|r| **r == Transition::Done).count(),
        1
    );
}

fn a_delivery_is_remembered_once_across_replicas(db: TestDatabase) {
    let results = race(&db, 6, |_, store| {
        store.remember_inbound("Ev-1", "{}", 100).unwrap()
    });
    assert_eq!(results.iter().filter(|first| **first).count(), 1);
    // It survives reopening, as a redelivery after a restart finds it.
    let store = db.open();
    assert!(!store.remember_inbound("Ev-1", "{}", 200).unwrap());
    assert_eq!(
        store.inbound_state("Ev-1").unwrap().as_deref(),
        Some("received")
    );
    store.finish_inbound("Ev-1").unwrap();
    assert_eq!(
        store.inbound_state("Ev-1").unwrap().as_deref(),
        Some("done")
    );
    store.forget_inbound("Ev-1").unwrap();
    assert!(store.remember_inbound("Ev-1", "{}", 300).unwrap());
}

fn only_a_lapsed_lease_s_work_is_taken_over_and_by_one_replica(db: TestDatabase) {
    let (a, b, c) = (db.open(), db.open(), db.open());
    for store in [&a, &b, &c] {
        store.heartbeat(100).unwrap();
    }
    a.remember_inbound("ev-a", "{\"n\":1}", 100).unwrap();
    a.insert_proposal(&proposal("pa", 10_000)).unwrap();
    a.decide("pa", "executing", "U2", 100).unwrap();
    // A is alive: nobody touches its work, and it does not take its own either.
    assert!(b.unfinished_inbound(110).unwrap().is_empty());
    assert!(b.orphaned_executing(110).unwrap().is_empty());
    assert!(a.unfinished_inbound(110).unwrap().is_empty());
    assert!(a.orphaned_executing(110).unwrap().is_empty());
    // A stops heartbeating: after the lease, exactly one of B and C takes its delivery.
    b.heartbeat(200).unwrap();
    c.heartbeat(200).unwrap();
    assert_eq!(b.orphaned_executing(200).unwrap(), vec!["pa".to_string()]);
    let taken_b = b.unfinished_inbound(200).unwrap();
    let taken_c = c.unfinished_inbound(200).unwrap();
    assert_eq!(taken_b.len() + taken_c.len(), 1);
    assert_eq!(
        taken_b.iter().chain(&taken_c).next().unwrap(),
        &("ev-a".to_string(), "{\"n\":1}".to_string())
    );
    // A clean stop gives the lease up at once.
    b.remember_inbound("ev-b", "{}", 200).unwrap();
    b.retire().unwrap();
    let taken = c.unfinished_inbound(201).unwrap();
    assert!(taken.iter().any(|(key, _)| key == "ev-b"), "{taken:?}");
    assert_eq!(
        c.live_instances(201).unwrap(),
        vec![c.instance().to_string()]
    );
}

fn finished_inbound_is_purged_and_failed_work_is_never_resumed(db: TestDatabase) {
    let store = db.open();
    store
        .remember_inbound("old-done", "{\"text\":\"reset my pw\"}", 100)
        .unwrap();
    store.finish_inbound("old-done").unwrap();
    store.remember_inbound("old-pending", "{}", 100).unwrap();
    store.remember_inbound("old-failed", "{}", 100).unwrap();
    store.fail_inbound("old-failed").unwrap();
    store.remember_inbound("new-done", "{}", 10_000).unwrap();
    store.finish_inbound("new-done").unwrap();
    assert_eq!(store.purge_inbound(1_000).unwrap(), 2);
    assert_eq!(store.inbound_state("old-done").unwrap(), None);
    assert_eq!(store.inbound_state("old-failed").unwrap(), None);
    assert_eq!(
        store.inbound_state("new-done").unwrap().as_deref(),
        Some("done")
    );
    store.remember_inbound("crashed", "{}", 10_000).unwrap();
    store.fail_inbound("crashed").unwrap();
    let other = db.open();
    let unfinished: Vec<String> = other
        .unfinished_inbound(10_001)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(unfinished, vec!["old-pending".to_string()]);
}

/// Four replicas append 25 records each at once: one chain of 100, no fork, no gap, and
/// `audit verify` passes; then a record is edited behind the store's back and verify names it.
fn concurrent_audit_appends_from_replicas_make_one_chain(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("audit-key");
    let keys = Arc::new(AuditKeys::add_key(&key_path).unwrap());
    let appended = {
        let keys = keys.clone();
        race(&db, 4, move |replica, store| {
            (0..25)
                .map(|n| {
                    let record = AuditRecord {
                        time: 1_795_874_709,
                        event: "requested".into(),
                        requester: Some(format!("U{replica}")),
                        detail: format!("replica {replica} record {n}"),
                        ..AuditRecord::default()
                    };
                    audit::append(store, &keys, &record).unwrap().seq
                })
                .collect::<Vec<i64>>()
        })
    };
    let mut seqs: Vec<i64> = appended.into_iter().flatten().collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=100).collect::<Vec<i64>>(),
        "one sequence, no gaps"
    );
    let store = db.open();
    let head = audit::verify(&store, &keys).unwrap();
    assert_eq!((head.count, head.unsigned), (100, 0));
    let rows = store.audit_rows().unwrap();
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "record {}", pair[1].seq);
    }
    db.sql("UPDATE audit SET record = replace(record, 'replica', 'REPLICA') WHERE seq = 50");
    let err = audit::verify(&store, &keys).unwrap_err().to_string();
    assert!(err.contains("record 50"), "{err}");
}

fn help_answers_are_decided_once(db: TestDatabase) {
    let store = db.open();
    let row = HelpAnswerRow {
        channel: "C1".into(),
        answer_ts: "2.0".into(),
        question_ts: "1.0".into(),
        asker: "U1".into(),
        state: okta_agent::store::HelpAnswerState::Open,
        decided_by: None,
    };
    store.insert_help_answer(&row).unwrap();
    store.insert_help_answer(&row).unwrap();
    assert!(store.help_question_answered("C1", "1.0").unwrap());
    assert!(!store.help_question_answered("C1", "9.0").unwrap());
    let results = race(&db, 4, |i, store| {
        store
            .decide_help_answer(
                "C1",
                "2.0",
                okta_agent::store::HelpAnswerState::Open,
                okta_agent::store::HelpAnswerState::Solved,
                &format!("U{i}"),
            )
            .unwrap()
    });
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
    let stored = store.help_answer("C1", "2.0").unwrap().unwrap();
    assert_eq!(stored.state, okta_agent::store::HelpAnswerState::Solved);
    assert!(stored.decided_by.is_some());
    assert_eq!(store.help_answer("C1", "3.0").unwrap(), None);
}

fn jobs_are_claimed_once_and_a_lapsed_lease_is_taken_over(db: TestDatabase) {
    let store = db.open();
    let id = store.add_job("end_access", "p-1", 100, "{}").unwrap();
    let later = store.add_job("end_access", "p-2", 100, "{}").unwrap();
    assert!(store.due_jobs(99, 10).unwrap().is_empty(), "not due yet");
    let due: Vec<String> = store
        .due_jobs(100, 10)
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(due, vec![id.clone(), later.clone()], "in the order added");
    let claimed = race(&db, 5, {
        let id = id.clone();
        move |i, store| store.claim_job(&id, &format!("r{i}"), 100).unwrap()
    });
    assert_eq!(claimed.iter().filter(|won| **won).count(), 1);
    let holder = format!("r{}", claimed.iter().position(|won| *won).unwrap());
    assert!(!store.claim_job(&id, "b", 100).unwrap(), "held");
    let lapsed = 100 + okta_agent::store::JOB_LEASE_SECS + 1;
    assert!(store.claim_job(&id, "b", lapsed).unwrap());
    assert!(
        !store.settle_job(&id, &holder, "done", None, None).unwrap(),
        "the first holder no longer holds it"
    );
    assert!(store
        .settle_job(&id, "b", "pending", Some(500), Some("HTTP 503"))
        .unwrap());
    assert!(store.claim_job(&id, "b", 500).unwrap());
    assert!(store.settle_job(&id, "b", "done", None, None).unwrap());
    let job = &store.jobs_of("p-1").unwrap()[0];
    assert_eq!((job.state.as_str(), job.attempts), ("done", 3));
    assert!(
        !store.cancel_job(&id).unwrap(),
        "a finished job stays finished"
    );
    assert!(store.run_job_now(&later, 50).unwrap());
    assert!(store.cancel_job(&later).unwrap());
    assert!(store.due_jobs(10_000, 10).unwrap().is_empty());
}

fn reactions_and_cards_are_recorded_once(db: TestDatabase) {
    let mut row = ReactionRow {
        channel: "C1".into(),
        message_ts: "1.1".into(),
        emoji: "lock".into(),
        reactor: "U1".into(),
        added_at: 10,
        role: okta_agent::store::ReactionRole::Requester,
        proposal_id: None,
        job_id: None,
    };
    let first = race(&db, 4, {
        let row = row.clone();
        move |_, store| store.remember_reaction(&row).unwrap()
    });
    assert_eq!(first.iter().filter(|won| **won).count(), 1);
    let store = db.open();
    row.proposal_id = Some("p-1".into());
    store.set_reaction_role(&row).unwrap();
    assert_eq!(store.reactions_on("C1", "1.1", "lock").unwrap(), vec![row]);
    assert_eq!(store.card_of("p-1").unwrap(), None);
    store.remember_card("p-1", "C9", "5.5").unwrap();
    assert_eq!(
        store.card_of("p-1").unwrap(),
        Some(("C9".to_string(), "5.5".to_string()))
    );
}

/// Marks the database's schema as version 999, as a future okta-agent would leave it.
fn as_if_written_by_a_newer_build(db: &TestDatabase) {
    if db.is_postgres() {
        db.sql("INSERT INTO okta_agent_schema (version) VALUES (999)");
    } else {
        db.sql("PRAGMA user_version = 999");
    }
}

fn a_schema_newer_than_the_binary_is_refused(db: TestDatabase) {
    drop(db.open());
    as_if_written_by_a_newer_build(&db);
    let err = Store::open_url(&db.url()).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 999, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("newer okta-agent"), "{message}");
    assert!(message.contains("upgrade okta-agent"), "{message}");
    assert!(!message.contains("ci-only-not-a-secret"), "{message}");
}

fn every_column_round_trips_including_nulls_and_unicode(db: TestDatabase) {
    let store = db.open();
    let full = ProposalRow {
        approver: Some("U2".into()),
        decided_at: Some(i64::MAX - 1),
        outcome: Some(r#"{"note":"déjà vu ✅ 'quoted' ?1"}"#.into()),
        undo_of: Some("p0".into()),
        worded_by: Some("U3".into()),
        as_written: Some("unlok".into()),
        access_seconds: Some(28_800),
        reason: Some("on call — tonight".into()),
        trigger: Some(r#"{"kind":"reaction","emoji":"unlock"}"#.into()),
        ..proposal("p-full", -5)
    };
    store.insert_proposal(&full).unwrap();
    assert_eq!(store.proposal("p-full").unwrap().unwrap(), full);
    store.insert_proposal(&proposal("p-bare", 1)).unwrap();
    assert_eq!(
        store.proposal("p-bare").unwrap().unwrap(),
        proposal("p-bare", 1)
    );
}

fn check_describes_the_database_without_changing_it(db: TestDatabase) {
    let before = okta_agent::store::describe(&db.url()).unwrap();
    if db.is_postgres() {
        assert!(before.contains("schema 0; migrated to"), "{before}");
    } else {
        assert!(before.contains("will be made on first start"), "{before}");
    }
    assert!(!before.contains("ci-only-not-a-secret"), "{before}");
    drop(db.open());
    let after = okta_agent::store::describe(&db.url()).unwrap();
    assert!(after.ends_with("(current)"), "{after}");
    as_if_written_by_a_newer_build(&db);
    let err = okta_agent::store::describe(&db.url())
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer okta-agent"), "{err}");
}

/// PostgreSQL alone: the server drops the connections (a failover, a restart, an idle
/// timeout). A connection that sat idle is checked before use, so the next call reconnects
/// instead of failing; the ack path's connection too.
#[test]
fn postgres_reconnects_after_the_server_drops_the_connection() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let store = db.open();
    store.heartbeat(1).unwrap();
    assert!(store.remember_inbound("ev-before", "{}", 1).unwrap());
    let TestDatabase::Postgres { admin, name } = &db else {
        unreachable!()
    };
    crate::common::services::admin_sql(
        admin,
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
    );
    // Idle for longer than a connection goes unchecked.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    store.heartbeat(2).unwrap();
    assert!(store.remember_inbound("ev-after", "{}", 2).unwrap());
    assert_eq!(store.live_instances(2).unwrap().len(), 1);
}

#[test]
fn postgres_errors_name_the_database_and_never_the_password() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let url = db.url().replace("ci-only-not-a-secret", "wrong-password-x");
    let err = Store::open_url(&url).unwrap_err().to_string();
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains("check the user and password in DATABASE_URL"),
        "{err}"
    );
    assert!(err.contains("@127.0.0.1:"), "{err}");
    assert!(!err.contains("wrong-password-x"), "{err}");
    let store = db.open();
    assert!(store
        .location()
        .starts_with("postgres://okta_agent@127.0.0.1:"));
    assert!(!store.location().contains("ci-only-not-a-secret"));
    let missing = db.url().rsplit_once('/').unwrap().0.to_string() + "/no_such_database";
    let err = Store::open_url(&missing).unwrap_err().to_string();
    assert!(err.contains("no_such_database"), "{err}");
    assert!(err.contains("create the database first"), "{err}");
}

/// PostgreSQL alone: `sslmode` means what it means to libpq, against a server with TLS on and
/// a certificate from a CA of its own (`.ci/postgres`), naming 127.0.0.1 only.
#[test]
fn postgres_tls_follows_libpq_sslmode() {
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
        okta_agent::store::describe(&url).map_err(|e| e.to_string())
    };
    let said = describe(&url, "").unwrap();
    assert!(
        said.contains("(TLS, certificate not verified (sslmode=prefer)"),
        "the default encrypts when the server offers TLS: {said}"
    );
    let said = describe(&url, "sslmode=disable").unwrap();
    assert!(said.contains("(not encrypted (sslmode=disable))"), "{said}");
    let said = describe(&url, "sslmode=require").unwrap();
    assert!(
        said.contains("TLS, certificate not verified (sslmode=require)"),
        "{said}"
    );
    let trusted = format!("sslmode=verify-full&sslrootcert={ca}");
    let said = describe(&url, &trusted).unwrap();
    assert!(
        said.contains("TLS, certificate and host name verified (sslmode=verify-full)"),
        "{said}"
    );
    // The system's roots do not know the test CA.
    let err = describe(&url, "sslmode=verify-full").unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(
        err.contains("sslrootcert=/path/to/ca.pem"),
        "what to do about it: {err}"
    );
    assert!(!err.contains("ci-only-not-a-secret"), "{err}");
    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca accepts.
    let err = describe(&by_name, &trusted).unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    let said = describe(&by_name, &format!("sslmode=verify-ca&sslrootcert={ca}")).unwrap();
    assert!(
        said.contains("certificate verified but not the host name"),
        "{said}"
    );
    // And the store works over the verified connection.
    let store = Store::open_url(&format!("{url}?{trusted}")).unwrap();
    assert!(store.remember_inbound("ev-tls", "{}", 1).unwrap());
    let err = Store::open_url(&format!(
        "{url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

/// PostgreSQL alone: a replica that stops in the middle of an audit append (frozen, or cut off
/// by the network) holds the audit table's lock. The server ends its session after 10 s idle in
/// the transaction, so another replica's append waits at most that long and then goes through,
/// and the stalled one's record is never half-written.
#[test]
fn postgres_a_replica_stalled_mid_append_does_not_stall_the_others() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let stalled = db.open();
    let other = db.open();
    for ack_path in [false, true] {
        assert_eq!(
            stalled
                .session_setting("idle_in_transaction_session_timeout", ack_path)
                .unwrap(),
            "10s"
        );
    }
    // Claims, outcomes and audit records wait for the WAL flush; recording a delivery does not.
    assert_eq!(
        stalled
            .session_setting("synchronous_commit", false)
            .unwrap(),
        "on"
    );
    assert_eq!(
        stalled.session_setting("synchronous_commit", true).unwrap(),
        "off"
    );
    let (locked, holding) = std::sync::mpsc::channel();
    let frozen = std::thread::spawn(move || {
        stalled.append_audit(None, move |seq, prev| {
            locked.send(()).unwrap();
            // Frozen while holding the lock, longer than the server allows.
            std::thread::sleep(std::time::Duration::from_secs(12));
            (format!("{{\"stalled\":{seq}}}"), format!("{prev}-x"))
        })
    });
    holding.recv().unwrap();
    let appended = other
        .append_audit(None, |seq, prev| {
            (format!("{{\"n\":{seq}}}"), format!("{prev}-y"))
        })
        .unwrap();
    assert_eq!(appended.seq, 1, "the stalled append never committed");
    assert!(frozen.join().unwrap().is_err(), "the stalled append fails");
    let rows = other.audit_rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record, "{\"n\":1}");
}

/// Four replicas start at once on an empty database: every one opens, the schema is built
/// once, and they all work on it.
fn replicas_starting_together_migrate_once(db: TestDatabase) {
    let opened = std::sync::Arc::new(Barrier::new(4));
    let url = db.url();
    let starts: Vec<_> = (0..4)
        .map(|i| {
            let (opened, url) = (opened.clone(), url.clone());
            std::thread::spawn(move || {
                opened.wait();
                let store = Store::open_url(&url)?;
                store.remember_inbound(&format!("ev-{i}"), "{}", 1)?;
                Ok::<Store, StoreError>(store)
            })
        })
        .collect();
    let stores: Vec<Store> = starts
        .into_iter()
        .map(|s| s.join().unwrap().unwrap())
        .collect();
    assert_eq!(stores.len(), 4);
    let said = okta_agent::store::describe(&url).unwrap();
    assert!(said.ends_with("(current)"), "{said}");
    if db.is_postgres() {
        let store = db.open();
        assert_eq!(
            store
                .execute_raw("UPDATE okta_agent_schema SET version = version")
                .unwrap(),
            okta_agent::store::postgres::SCHEMA_VERSION as usize,
            "one row per version"
        );
    }
}
