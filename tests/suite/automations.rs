//! Automations in the engine, over the simulator with a test clock: time-bound access (the
//! card, the scheduled removal as the second half of the approved proposal, exactly once across
//! engines sharing a store, retries, "End access now").

use okta_agent::engine::{Choice, Output};
use serde_json::json;

use crate::common::{card, text, Stack};

fn is_member(stack: &Stack, login: &str, group: &str) -> bool {
    let state = stack.harness.sandbox.state.lock();
    let user = state
        .org
        .users
        .iter()
        .find(|u| u.login == login)
        .unwrap()
        .id
        .clone();
    state
        .org
        .groups
        .iter()
        .find(|g| g.name == group)
        .unwrap()
        .members
        .contains(&user)
}

fn card_update(outputs: &[Output]) -> okta_agent::engine::Card {
    outputs
        .iter()
        .find_map(|o| match o {
            Output::CardUpdate(card) => Some(card.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no card update: {}", text(outputs)))
}

const KATE: &str = "kate.nguyen@example.com";

/// Leo asks for Kate in Zoom Users for `how_long`, and Grace approves: the proposal's id.
async fn kate_in_zoom_for(stack: &Stack, how_long: &str) -> String {
    let id = stack
        .propose(
            "U0LEO",
            &format!("add kate.nguyen@example.com to \"Zoom Users\" for {how_long}"),
        )
        .await;
    stack.click("U0GRACE", &id, Choice::Approve).await;
    id
}

#[tokio::test]
async fn time_bound_access_is_removed_at_its_end_as_the_second_half_of_the_approval() {
    let stack = Stack::new().await;
    let outputs = stack
        .ask(
            "U0LEO",
            "add kate.nguyen@example.com to \"Zoom Users\" for 8 hours",
        )
        .await;
    let pending = card(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(pending.access.as_ref().unwrap().seconds, 8 * 3_600);
    let done = card_update(
        &stack
            .click("U0GRACE", &pending.proposal_id, Choice::Approve)
            .await,
    );
    assert!(is_member(&stack, KATE, "Zoom Users"));
    let access = done.access.unwrap();
    let approved_at = okta_agent::clock::WallClock::now(stack.clock.as_ref());
    assert_eq!(access.ends_at, Some(approved_at + 8 * 3_600));
    assert!(
        access.can_end_now && !done.undo_available,
        "ended by schedule, not Undo"
    );

    // Not yet.
    stack.clock.advance(8 * 3_600 - 1);
    assert!(stack.engine().run_due_jobs("a").await.is_empty());
    assert!(is_member(&stack, KATE, "Zoom Users"));
    // Now: removed once, with no second approval, and said in the thread.
    stack.clock.advance(1);
    let deliveries = stack.engine().run_due_jobs("a").await;
    assert_eq!(deliveries.len(), 1);
    assert!(!is_member(&stack, KATE, "Zoom Users"));
    let said = text(&deliveries[0].outputs);
    assert!(
        said.contains("Time-bound access to Zoom Users ended for Kate Nguyen"),
        "{said}"
    );
    let ended = card_update(&deliveries[0].outputs).access.unwrap();
    assert!(ended.ended && !ended.can_end_now);
    assert!(
        stack.engine().run_due_jobs("a").await.is_empty(),
        "exactly once"
    );
    let removals = stack
        .harness
        .mutations()
        .await
        .into_iter()
        .filter(|m| m.method == "DELETE")
        .count();
    assert_eq!(removals, 1);
    // The audit trail says what set it off and ties it to the approved proposal.
    let export = audit_lines(&stack).await;
    let scheduled = export
        .iter()
        .find(|r| r["action"] == "remove_user_from_group")
        .expect("the removal is audited");
    assert_eq!(scheduled["trigger"], "schedule: end of time-bound access");
    assert_eq!(scheduled["approver"], "U0GRACE");
    assert_eq!(scheduled["proposal_id"], json!(pending.proposal_id));
}

async fn audit_lines(stack: &Stack) -> Vec<serde_json::Value> {
    let store = okta_agent::store::Store::open(&stack.db).await.unwrap();
    let mut out = Vec::new();
    okta_agent::audit::export(
        &store,
        stack.engine().audit_keys(),
        okta_agent::audit::ExportFormat::Jsonl,
        &okta_agent::audit::AuditFilter::default(),
        &mut out,
    )
    .await
    .unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn engines_sharing_a_store_remove_it_exactly_once_even_across_a_restart() {
    let mut stack = Stack::new().await;
    kate_in_zoom_for(&stack, "2 hours").await;
    stack.restart().await;
    stack.clock.advance(2 * 3_600);
    // A second process on the same database, racing the first.
    let other = stack.second_process().await;
    let (a, b) = tokio::join!(
        stack.engine().run_due_jobs("process-a"),
        other.engine.run_due_jobs("process-b")
    );
    assert_eq!(a.len() + b.len(), 1, "one process ran it");
    let removals = stack
        .harness
        .mutations()
        .await
        .into_iter()
        .filter(|m| m.method == "DELETE")
        .count();
    assert_eq!(removals, 1);
    assert!(!is_member(&stack, KATE, "Zoom Users"));
}

#[tokio::test]
async fn a_failed_removal_is_retried_with_backoff_and_reported() {
    let stack = Stack::new().await;
    kate_in_zoom_for(&stack, "1 hour").await;
    stack.clock.advance(3_600);
    stack
        .harness
        .inject(
            json!({"kind": "server_error", "status": 503, "count": 20, "path_contains": "/users/"}),
        )
        .await;
    let first = stack.engine().run_due_jobs("a").await;
    let said = text(&first[0].outputs);
    assert!(said.contains("failed"), "{said}");
    assert!(said.contains("will try again"), "{said}");
    assert!(is_member(&stack, KATE, "Zoom Users"));
    assert!(
        stack.engine().run_due_jobs("a").await.is_empty(),
        "not before its backoff"
    );
    stack.harness.sandbox.state.lock().faults.clear();
    stack.clock.advance(30);
    let second = stack.engine().run_due_jobs("a").await;
    assert!(
        text(&second[0].outputs).contains("ended"),
        "{}",
        text(&second[0].outputs)
    );
    assert!(!is_member(&stack, KATE, "Zoom Users"));
}

#[tokio::test]
async fn end_access_now_is_for_the_approver_or_the_person_it_is_for() {
    let stack = Stack::new().await;
    let id = kate_in_zoom_for(&stack, "8 hours").await;
    let refused = stack.click("U0BOB", &id, Choice::EndAccess).await;
    assert!(
        text(&refused).contains("Only the person who approved"),
        "{}",
        text(&refused)
    );
    assert!(is_member(&stack, KATE, "Zoom Users"));
    let ended = stack.click("U0KATE", &id, Choice::EndAccess).await;
    assert!(text(&ended).contains("ended"), "{}", text(&ended));
    assert!(!is_member(&stack, KATE, "Zoom Users"));
    let again = stack.click("U0GRACE", &id, Choice::EndAccess).await;
    assert!(text(&again).contains("already ended"), "{}", text(&again));
    stack.clock.advance(8 * 3_600);
    assert!(
        stack.engine().run_due_jobs("a").await.is_empty(),
        "nothing left to run"
    );
}

#[tokio::test]
async fn durations_are_bounded_by_policy_and_only_for_group_adds() {
    let stack = Stack::new().await;
    let too_long = stack
        .ask(
            "U0LEO",
            "add kate.nguyen@example.com to \"Zoom Users\" for 4 days",
        )
        .await;
    assert!(text(&too_long).contains("72 hours"), "{}", text(&too_long));
    let not_a_group = stack
        .ask("U0LEO", "suspend jamal.reed@example.com for 2 hours")
        .await;
    assert!(
        text(&not_a_group).contains("only group memberships can be time-bound"),
        "{}",
        text(&not_a_group)
    );
    assert_eq!(stack.harness.mutations().await.len(), 0);
}

#[tokio::test]
async fn a_reaction_request_is_audited_with_its_trigger_and_person() {
    use okta_agent::engine::{ReactedMessage, Reaction, ReactionNews};
    let stack = Stack::new().await;
    let rule = okta_agent::automations::Automations::demo()
        .reaction_rule_anywhere("lock")
        .cloned()
        .unwrap();
    let react = |reactor: &str, ts: &str| Reaction {
        reactor: reactor.into(),
        rule: rule.clone(),
        message: ReactedMessage {
            place: "C0SECURITY".into(),
            ts: ts.into(),
            text: "<@U0JAMAL> is sending phishing links".into(),
            author: Some("U0KATE".into()),
            conversation: format!("C0SECURITY:{ts}"),
        },
        added: true,
        bot_user_id: "UBOT".into(),
    };
    let outcome = stack.engine().reaction(react("U0LEO", "1.1")).await;
    let proposal_id = card(&outcome.outputs)
        .unwrap_or_else(|| panic!("{}", text(&outcome.outputs)))
        .proposal_id;
    let requested = audit_lines(&stack)
        .await
        .into_iter()
        .find(|r| r["event"] == "requested")
        .unwrap();
    assert_eq!(requested["trigger"], "a :lock: reaction by U0LEO");
    assert_eq!(requested["proposal_id"], json!(proposal_id));
    // A person who may not ask is refused, told alone, and nothing is stored.
    let refused = stack.engine().reaction(react("U0BOB", "1.2")).await;
    assert!(
        matches!(&refused.outputs[..], [Output::Reaction { reactor, news: ReactionNews::Refused { .. }, .. }] if reactor == "U0BOB"),
        "{}",
        text(&refused.outputs)
    );
    assert!(!refused.acknowledge);
    assert_eq!(stack.harness.mutations().await.len(), 0);
}

/// Two processes on one store: a claim in progress in a live process is never marked unknown
/// by the other; once its lease lapses, it is.
#[tokio::test]
async fn recovery_leaves_a_live_process_alone_and_takes_over_a_dead_ones_work() {
    let stack = Stack::new().await;
    let id = stack
        .propose("U0LEO", "suspend jamal.reed@example.com")
        .await;
    let now = okta_agent::clock::WallClock::now(stack.clock.as_ref());
    // Process A claims it and is carrying it out.
    let a = stack.engine().store();
    a.heartbeat(now).await.unwrap();
    assert_eq!(
        a.decide(
            &id,
            okta_agent::store::ProposalState::Executing,
            "U0GRACE",
            now
        )
        .await
        .unwrap(),
        okta_agent::store::Transition::Done
    );
    // Process B starts (a rolling restart's other half): it leaves A's work alone.
    let b = stack.second_process().await;
    b.engine.store().heartbeat(now).await.unwrap();
    assert_eq!(b.engine.recover().await.unwrap().unknown, 0);
    // A dies; its lease lapses; B takes its work over (it cannot know whether Okta acted).
    stack
        .clock
        .advance(okta_agent::store::DEFAULT_LEASE_SECS + 1);
    let later = okta_agent::clock::WallClock::now(stack.clock.as_ref());
    b.engine.store().heartbeat(later).await.unwrap();
    assert_eq!(b.engine.recover().await.unwrap().unknown, 1);
    assert_eq!(b.engine.recover().await.unwrap().unknown, 0, "once");
}

/// A reaction is an engine trigger: its grace window runs on the engine's clock, so a test
/// moves time. An `immediate` reaction is approved when its window ends, not before; one taken
/// back within its window is cancelled and never executes.
#[tokio::test]
async fn reactions_run_through_the_engine_on_its_clock() {
    use okta_agent::engine::{ReactedMessage, Reaction, ReactionNews};
    let stack = Stack::new().await;
    let rule = okta_agent::automations::Automations::demo()
        .reaction_rule_anywhere("no_entry")
        .cloned()
        .unwrap();
    let on = |ts: &str, text: &str| ReactedMessage {
        place: "C0SECURITY".into(),
        ts: ts.into(),
        text: text.into(),
        author: Some("U0KATE".into()),
        conversation: format!("C0SECURITY:{ts}"),
    };
    let react = |message: ReactedMessage, added: bool| Reaction {
        reactor: "U0LEO".into(),
        rule: rule.clone(),
        message,
        added,
        bot_user_id: "UBOT".into(),
    };
    let outcome = stack
        .engine()
        .reaction(react(on("1.1", "<@U0ANA> clicked the link"), true))
        .await;
    assert!(outcome.acknowledge);
    assert!(
        card(&outcome.outputs).is_some(),
        "{}",
        text(&outcome.outputs)
    );
    assert!(outcome.outputs.iter().any(|o| matches!(
        o,
        Output::Reaction {
            news: ReactionNews::Scheduled {
                seconds: 60,
                second_person: false,
                ..
            },
            ..
        }
    )));
    // The same reaction again is one trigger.
    let again = stack
        .engine()
        .reaction(react(on("1.1", "<@U0ANA> clicked the link"), true))
        .await;
    assert!(again.outputs.is_empty() && !again.acknowledge);
    stack.clock.advance(59);
    assert!(stack.engine().run_due_jobs("test").await.is_empty());
    assert_eq!(stack.status_of("ana.lopez@example.com").await, "ACTIVE");
    stack.clock.advance(2);
    let done = stack.engine().run_due_jobs("test").await;
    assert_eq!(done.len(), 1);
    assert_eq!(stack.status_of("ana.lopez@example.com").await, "SUSPENDED");

    // Taken back within the window: cancelled, never executed.
    let outcome = stack
        .engine()
        .reaction(react(on("2.1", "and <@U0JAMAL> too"), true))
        .await;
    assert!(card(&outcome.outputs).is_some());
    stack.clock.advance(30);
    let removed = stack
        .engine()
        .reaction(react(on("2.1", "and <@U0JAMAL> too"), false))
        .await;
    assert!(
        removed.outputs.iter().any(|o| matches!(
            o,
            Output::Reaction {
                news: ReactionNews::Cancelled,
                ..
            }
        )),
        "{}",
        text(&removed.outputs)
    );
    stack.clock.advance(60);
    assert!(stack.engine().run_due_jobs("test").await.is_empty());
    assert_eq!(stack.status_of("jamal.reed@example.com").await, "ACTIVE");

    // No one mentioned: a question, and nothing proposed.
    let asked = stack
        .engine()
        .reaction(react(on("3.1", "someone clicked it"), true))
        .await;
    assert!(matches!(
        &asked.outputs[..],
        [Output::Reaction { news: ReactionNews::WhichPerson { mentioned, .. }, .. }] if mentioned.is_empty()
    ));
}
