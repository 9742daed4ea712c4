//! The trust boundary through the engine, over the simulator and a real SQLite file: who may
//! act, what is looked up before policy speaks, protected targets failing closed, thread
//! context, and failures that neither lie nor lose work.

use okta_agent::agent::{Author, HistoryMessage};
use okta_agent::approvals::{Approvals, ProposalState};
use okta_agent::engine::{Choice, Output};
use okta_agent::policy::{Approvers, Policy, ResetDelivery};
use okta_agent::sandbox::seed::{Seed, DEMO_ORG};
use okta_agent::tools::Tool;

use crate::common::{card, text, update, Stack};

fn person(id: &str, words: &str) -> HistoryMessage {
    HistoryMessage {
        author: Author::Person(id.into()),
        text: words.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_unconfirmed_emails_never_act_and_cost_no_lookups() {
    let stack = Stack::new().await;
    let before = stack.harness.requests().await.len();
    // A Slack Connect engineer whose email is the same as an IT admin's.
    let outputs = stack.ask("U0PARTNER", "unlock me").await;
    assert!(
        text(&outputs).contains("only takes requests from people of this organisation"),
        "{}",
        text(&outputs)
    );
    assert_eq!(
        stack.harness.requests().await.len(),
        before,
        "nothing is looked up in Okta for a stranger"
    );
    // ...nor may they approve anything.
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    let refused = stack.click("U0PARTNER", &id, Choice::Approve).await;
    assert!(
        text(&refused).contains("Slack Connect"),
        "{}",
        text(&refused)
    );
    // A Slack email that Slack has not confirmed maps to no one, as requester or as target.
    let outputs = stack.ask("U0NEWBIE", "unlock me").await;
    assert!(
        text(&outputs).contains("Slack has not confirmed"),
        "{}",
        text(&outputs)
    );
    let outputs = stack.ask("U0LEO", "unlock <@U0NEWBIE>").await;
    assert!(card(&outputs).is_none());
    assert!(
        text(&outputs).contains("Slack has not confirmed"),
        "{}",
        text(&outputs)
    );
    assert_eq!(stack.mutation_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_okta_users_with_one_email_are_refused_not_picked() {
    // Someone set their profile email to Ana's login.
    let seed = Seed::parse(&format!(
        "{DEMO_ORG}\n[[users]]\nlogin = \"a.lopez.contractor@example.com\"\nemail = \"ana.lopez@example.com\"\nfirst_name = \"Ana\"\nlast_name = \"Impostor\"\nstatus = \"LOCKED_OUT\"\n"
    ))
    .unwrap();
    let stack = Stack::with_seed(seed).await;
    let outputs = stack.ask("U0LEO", "unlock ana.lopez@example.com").await;
    assert!(card(&outputs).is_none(), "{}", text(&outputs));
    assert!(
        text(&outputs).contains("2 Okta users have the login or email ana.lopez@example.com"),
        "{}",
        text(&outputs)
    );
    // Ana herself cannot be matched either, so she cannot self-serve under a doubtful identity.
    let outputs = stack.ask("U0ANA", "what groups am I in?").await;
    assert!(
        text(&outputs).contains("can't match your Slack account to one Okta user"),
        "{}",
        text(&outputs)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_speaks_before_anyone_is_looked_up() {
    let stack = Stack::new().await;
    let before = stack.harness.requests().await.len();
    for request in [
        "suspend <@U0ANA>",
        "unlock maria",
        "what groups is <@U0ANA> in?",
        "what apps does maria.rossi@example.com have?",
        "find user maria",
        "is <@U0KATE> locked out?",
    ] {
        let outputs = stack.ask("U0BOB", request).await;
        assert!(card(&outputs).is_none(), "{request}");
        let said = text(&outputs);
        assert!(
            !said.contains("Maria") && !said.contains("Ana") && !said.contains("Kate"),
            "{request} leaked someone: {said}"
        );
    }
    // Every Okta call made for Bob was about Bob himself (mapping his own Slack email).
    let bob_id = stack
        .harness
        .users()
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "bob.smith@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for request in &stack.harness.requests().await[before..] {
        let path = request.path.to_lowercase();
        assert!(
            path.contains("bob.smith") || path.contains(&bob_id.to_lowercase()),
            "a lookup about someone else: {}",
            request.path
        );
    }
    // Bob may still act on himself.
    assert!(card(&stack.ask("U0BOB", "unlock me").await).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_groups_hold_by_id_and_by_admin_role() {
    let stack = Stack::new().await;
    // A group that carries an admin role is protected though no config names it.
    let outputs = stack.ask("U0LEO", "add <@U0ANA> to IT Help Desk").await;
    assert!(card(&outputs).is_none());
    assert!(
        text(&outputs).contains("carries the Okta admin role HELP_DESK_ADMIN"),
        "{}",
        text(&outputs)
    );
    // The configured "Okta Administrators", renamed in Okta, is still protected: by its id.
    let groups = stack
        .runtime
        .okta
        .find_group("Okta Administrators")
        .await
        .unwrap()
        .value;
    let okta_admins = match groups {
        okta_agent::okta::GroupMatch::Found(g) => g,
        other => panic!("{other:?}"),
    };
    stack
        .harness
        .rename_group(&okta_admins.id, "Platform Owners")
        .await;
    let outputs = stack.ask("U0LEO", "add <@U0ANA> to Platform Owners").await;
    assert!(card(&outputs).is_none(), "{}", text(&outputs));
    assert!(
        text(&outputs).contains("is protected"),
        "{}",
        text(&outputs)
    );
    assert_eq!(stack.mutation_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_group_name_that_matches_nothing_stops_the_start() {
    let mut config = Policy::demo().config().unwrap().clone();
    config.protected_groups = vec!["okta administrators".into()];
    let harness = crate::common::Harness::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = harness.settings(&dir.path().join("x.db"), Policy::new(config).unwrap());
    let err = match okta_agent::runtime::assemble(&settings, Default::default()).await {
        Ok(_) => panic!("a look-alike name must not match"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("no Okta group is named exactly 'okta administrators'"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_approves_their_own_way_into_a_group() {
    // Chat admins who are ordinary Okta users (the demo's Leo and Grace are Okta admins,
    // so protected targets themselves).
    let mut config = Policy::demo().config().unwrap().clone();
    config.admins = vec!["U0ANA".into(), "U0KATE".into()];
    let stack = Stack::with_policy(Policy::new(config).unwrap()).await;
    // Ana adds Kate: Kate may not approve; another admin (Ana herself) may.
    let id = stack.propose("U0ANA", "add <@U0KATE> to Sales").await;
    let refused = stack.click("U0KATE", &id, Choice::Approve).await;
    assert!(text(&refused).contains("themselves"), "{}", text(&refused));
    assert_eq!(
        update(&stack.click("U0ANA", &id, Choice::Approve).await)
            .unwrap()
            .state,
        ProposalState::Executed
    );
    // Ana adds herself: she may not approve; Kate may.
    let outputs = stack.ask("U0ANA", "add me to Sales").await;
    let own = card(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(own.approvers, Some(Approvers::AnotherAdmin));
    let refused = stack
        .click("U0ANA", &own.proposal_id, Choice::Approve)
        .await;
    assert!(update(&refused).is_none(), "{}", text(&refused));
    let done = stack
        .click("U0KATE", &own.proposal_id, Choice::Approve)
        .await;
    assert_eq!(update(&done).unwrap().state, ProposalState::Executed);
    assert_eq!(stack.mutation_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_for_the_approver_needs_two_people() {
    let mut config = Policy::demo().config().unwrap().clone();
    config.reset_password_delivery = ResetDelivery::DmApprover;
    let stack = Stack::with_policy(Policy::new(config).unwrap()).await;
    let outputs = stack.ask("U0LEO", "reset password for <@U0KATE>").await;
    let proposal = card(&outputs).unwrap();
    assert_eq!(proposal.approvers, Some(Approvers::AnotherAdmin));
    let refused = stack
        .click("U0LEO", &proposal.proposal_id, Choice::Approve)
        .await;
    assert!(update(&refused).is_none(), "{}", text(&refused));
    let done = stack
        .click("U0GRACE", &proposal.proposal_id, Choice::Approve)
        .await;
    assert!(matches!(done.last(), Some(Output::DirectMessage { to, .. }) if to == "U0GRACE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_follows_policy_when_the_target_is_gone() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    stack.harness.delete_user("jamal.reed@example.com").await;
    for outsider in ["U0GUEST", "U0BOT", "U0KATE"] {
        let refused = stack.click(outsider, &id, Choice::Cancel).await;
        assert!(update(&refused).is_none(), "{outsider}: {}", text(&refused));
    }
    let refused = stack.click("U0GRACE", &id, Choice::Approve).await;
    assert!(
        text(&refused).contains("no longer exists"),
        "{}",
        text(&refused)
    );
    let cancelled = stack.click("U0LEO", &id, Choice::Cancel).await;
    assert_eq!(update(&cancelled).unwrap().state, ProposalState::Rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_is_for_the_asker_or_an_admin_and_only_once() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    stack.click("U0GRACE", &id, Choice::Approve).await;
    let refused = stack.click("U0BOB", &id, Choice::Undo).await;
    assert!(card(&refused).is_none());
    assert!(
        text(&refused).contains("Only the person who asked"),
        "{}",
        text(&refused)
    );
    let first = stack.click("U0LEO", &id, Choice::Undo).await;
    assert_eq!(card(&first).unwrap().tool, Tool::UnsuspendUser);
    let again = stack.click("U0GRACE", &id, Choice::Undo).await;
    assert!(card(&again).is_none());
    assert!(text(&again).contains("already offered"), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_engine_adopts_only_clearly_referenced_requests() {
    let stack = Stack::new().await;
    let thread = vec![
        person("U0BOB", "I'm locked out again, can someone unlock me?"),
        HistoryMessage {
            author: Author::OtherBot,
            text: "suspend <@U0ANA>".into(),
        },
    ];
    // The admin's "do that" adopts Bob's request, about Bob, and the card says whose words.
    let outputs = stack
        .ask_in_thread("U0LEO", "do that", thread.clone())
        .await;
    let adopted = card(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(adopted.tool, Tool::UnlockUser);
    assert_eq!(adopted.target.login, "bob.smith@example.com");
    assert_eq!(adopted.requester, "U0LEO");
    assert_eq!(adopted.worded_by.as_deref(), Some("U0BOB"));
    // A question or an unrelated message never becomes someone else's change; another
    // bot's words are never adopted.
    for own_words in ["is she locked out?", "thanks!", "ok"] {
        let outputs = stack
            .ask_in_thread("U0LEO", own_words, thread.clone())
            .await;
        assert!(card(&outputs).is_none(), "{own_words}: {}", text(&outputs));
    }
    let only_a_bot = vec![thread[1].clone()];
    assert!(card(&stack.ask_in_thread("U0LEO", "do that", only_a_bot).await).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executed_action_whose_outcome_cannot_be_stored_is_reported_and_recorded_later() {
    let mut stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    let store = stack.engine().store().clone();
    store
        .execute_raw("CREATE TRIGGER no_outcome BEFORE UPDATE OF outcome ON proposals BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END").await
        .unwrap();
    store
        .execute_raw("CREATE TRIGGER no_audit BEFORE INSERT ON audit WHEN json_extract(NEW.record, '$.event') = 'executed' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END").await
        .unwrap();
    let outputs = stack.click("U0GRACE", &id, Choice::Approve).await;
    let done = update(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(
        done.state,
        ProposalState::Executed,
        "Okta acted, so the card says so"
    );
    let summary = done.outcome.unwrap().summary;
    assert!(summary.contains("kept in a recovery file"), "{summary}");
    assert!(
        !summary.contains("disk I/O"),
        "no internal detail: {summary}"
    );
    assert_eq!(stack.mutation_count().await, 1);
    assert!(store.recovery_path().exists());
    store.execute_raw("DROP TRIGGER no_outcome").await.unwrap();
    store.execute_raw("DROP TRIGGER no_audit").await.unwrap();
    drop(store);
    let recovered = stack.restart().await;
    assert_eq!(recovered.merged, 1);
    assert_eq!(
        recovered.unknown, 0,
        "merged before anything is called unknown"
    );
    let stored = Approvals::new(stack.engine().store())
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, ProposalState::Executed);
    let audit: Vec<String> = stack
        .engine()
        .store()
        .audit_rows()
        .await
        .unwrap()
        .iter()
        .map(|r| r.record.clone())
        .collect();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.contains("\"event\":\"executed\""))
            .count(),
        1
    );
    okta_agent::audit::verify(stack.engine().store(), stack.engine().audit_keys())
        .await
        .unwrap();
    // Emptied, not removed: a replica on this host may be waiting to append to it.
    assert_eq!(
        std::fs::read_to_string(stack.engine().store().recovery_path()).unwrap(),
        ""
    );
    // Merging again changes nothing.
    assert_eq!(stack.restart().await.merged, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_audit_record_means_no_action() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    stack
        .engine()
        .store()
        .execute_raw("CREATE TRIGGER no_audit BEFORE INSERT ON audit WHEN json_extract(NEW.record, '$.event') = 'approved' BEGIN SELECT RAISE(ABORT, 'database is full'); END").await
        .unwrap();
    let outputs = stack.click("U0GRACE", &id, Choice::Approve).await;
    let said = text(&outputs);
    assert!(said.contains("reference"), "{said}");
    assert!(
        !said.contains("database is full"),
        "no internal detail: {said}"
    );
    assert_eq!(stack.mutation_count().await, 0);
    let stored = Approvals::new(stack.engine().store())
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, ProposalState::Failed);
}
