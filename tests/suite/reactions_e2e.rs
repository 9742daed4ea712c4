//! Emoji automations end to end: the real `okta-agent run` binary, the fake Slack (reaction
//! events as Slack sends them, `conversations.history` for the message), and the simulator.

use serde_json::Value;

use crate::common::fake_slack::{reaction, wait_until};
use crate::common::rig::{proposal_of, Rig, TRIAGE};

const SECURITY: &str = "C0SECURITY";

const RULES: &str = r#"
[[automations.reactions]]
emoji = "lock"
tool = "suspend_user"
channels = ["C0SECURITY"]
target = "mentioned"
mode = "confirm"
grace_seconds = 60

[[automations.reactions]]
emoji = "no_entry"
tool = "suspend_user"
channels = ["C0SECURITY"]
mode = "immediate"
grace_seconds = 60

[[automations.reactions]]
emoji = "skull"
tool = "deactivate_user"
channels = ["C0SECURITY"]
reactors_required = 2
"#;

/// A message in #security by Kate about `text`, as Slack holds it.
fn message(rig: &Rig, ts: &str, text: &str) {
    rig.fake.user_message("U0KATE", SECURITY, ts, ts, text);
}

async fn react(rig: &Rig, event: &str, user: &str, emoji: &str, ts: &str, added: bool) -> String {
    rig.post(
        event,
        reaction(user, emoji, SECURITY, ts, Some("U0KATE"), added),
    )
    .await
}

/// Waits until the reaction's work is done (its dedupe key, not an event id).
async fn handled(rig: &Rig, user: &str, emoji: &str, ts: &str, added: bool) {
    let key = format!(
        "reaction:{SECURITY}:{ts}:{emoji}:{user}:{}",
        if added { "added" } else { "removed" }
    );
    rig.until_key_done(&key).await;
}

fn thread(rig: &Rig, ts: &str) -> Vec<Value> {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["channel"] == SECURITY && m["thread_ts"] == ts && m["ts"] != ts)
        .collect()
}

fn thread_text(rig: &Rig, ts: &str) -> String {
    thread(rig, ts)
        .iter()
        .map(|m| format!("{} {}", m["text"], m["blocks"]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_reaction_leads_to_a_card_and_approve_executes_it() {
    let rig = Rig::with_automations(RULES).await;
    let ts = "1700001000.000100";
    message(
        &rig,
        ts,
        "<@U0JAMAL> is sending phishing links from his account",
    );
    react(&rig, "EvLock1", "U0LEO", "lock", ts, true).await;
    handled(&rig, "U0LEO", "lock", ts, true).await;
    let card = thread(&rig, ts)
        .into_iter()
        .find(|m| m["blocks"].to_string().contains("Approval needed: Suspend"))
        .unwrap_or_else(|| panic!("a card in the thread: {}", thread_text(&rig, ts)));
    let blocks = card["blocks"].to_string();
    assert!(blocks.contains("jamal.reed@example.com"), "{blocks}");
    assert!(blocks.contains("with a :lock: reaction"), "{blocks}");
    assert!(thread_text(&rig, ts).contains("Remove your :lock: within 60 s to cancel"));
    assert!(
        rig.fake
            .calls("reactions.add")
            .iter()
            .any(|c| c.body["timestamp"] == ts),
        "acknowledged with a reaction"
    );
    assert_eq!(
        rig.harness.mutations().await.len(),
        0,
        "nothing before approval"
    );
    rig.click("U0GRACE", "approve", &proposal_of(&card), &card)
        .await;
    rig.until_status("jamal.reed@example.com", "SUSPENDED")
        .await;
    assert_eq!(rig.harness.mutations().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthorized_reaction_changes_nothing_and_only_the_reactor_is_told() {
    let rig = Rig::with_automations(RULES).await;
    let ts = "1700001100.000100";
    message(&rig, ts, "<@U0JAMAL> left his laptop unlocked");
    react(&rig, "EvBobLock", "U0BOB", "lock", ts, true).await;
    handled(&rig, "U0BOB", "lock", ts, true).await;
    let notes = rig.ephemerals_to("U0BOB");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("Your :lock: did nothing"), "{notes:?}");
    assert!(
        thread(&rig, ts).is_empty(),
        "nothing in the channel: {}",
        thread_text(&rig, ts)
    );
    assert!(rig
        .fake
        .calls("chat.postEphemeral")
        .iter()
        .all(|c| c.body["user"] == "U0BOB"));
    assert!(rig.fake.messages().iter().all(|m| m["channel"] != TRIAGE));
    assert_eq!(rig.harness.mutations().await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_reaction_within_its_grace_window_cancels_and_after_it_undoes_nothing() {
    let rig = Rig::with_automations(RULES).await;
    // Within the window: the immediate rule's approval is withdrawn, the card cancelled.
    let ts = "1700001200.000100";
    message(&rig, ts, "<@U0JAMAL> account looks compromised");
    react(&rig, "EvNo1", "U0LEO", "no_entry", ts, true).await;
    handled(&rig, "U0LEO", "no_entry", ts, true).await;
    assert!(
        thread_text(&rig, ts).contains("suspend <@U0JAMAL> in 60 s"),
        "{}",
        thread_text(&rig, ts)
    );
    react(&rig, "EvNo1Off", "U0LEO", "no_entry", ts, false).await;
    handled(&rig, "U0LEO", "no_entry", ts, false).await;
    assert!(
        thread_text(&rig, ts).contains("removed their :no_entry: in time: cancelled"),
        "{}",
        thread_text(&rig, ts)
    );
    assert!(thread_text(&rig, ts).contains("Cancelled"));
    // Added again: the same person's reaction is one trigger.
    react(&rig, "EvNo1Again", "U0LEO", "no_entry", ts, true).await;
    let db = rig.store().await;
    wait_until("the repeat to be seen", || rig.fake.ack_count() >= 3).await;
    assert_eq!(
        db.reactions_on(SECURITY, ts, "no_entry")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(rig.harness.mutations().await.len(), 0);

    // After the window: the approval ran, and taking the reaction back undoes nothing.
    let ts2 = "1700001300.000100";
    message(&rig, ts2, "<@U0JAMAL> again");
    react(&rig, "EvNo2", "U0LEO", "no_entry", ts2, true).await;
    handled(&rig, "U0LEO", "no_entry", ts2, true).await;
    // Sixty seconds pass: the grace window's end, as the store sees it.
    db.execute_raw(
        "UPDATE jobs SET run_at = run_at - 61 WHERE kind = 'approve' AND state = 'pending'",
    )
    .await
    .unwrap();
    db.execute_raw("UPDATE reactions SET added_at = added_at - 61")
        .await
        .unwrap();
    rig.until_status("jamal.reed@example.com", "SUSPENDED")
        .await;
    react(&rig, "EvNo2Off", "U0LEO", "no_entry", ts2, false).await;
    handled(&rig, "U0LEO", "no_entry", ts2, false).await;
    assert_eq!(rig.status("jamal.reed@example.com").await, "SUSPENDED");
    assert_eq!(rig.harness.mutations().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reactors_means_two_distinct_authorized_people() {
    let rig = Rig::with_automations(RULES).await;
    let ts = "1700001400.000100";
    message(&rig, ts, "<@U0JAMAL> has left the company today");
    react(&rig, "EvSkull1", "U0LEO", "skull", ts, true).await;
    handled(&rig, "U0LEO", "skull", ts, true).await;
    assert!(
        thread_text(&rig, ts).contains("needs a second authorized person"),
        "{}",
        thread_text(&rig, ts)
    );
    // The same person again is not two (one trigger).
    react(&rig, "EvSkull1b", "U0LEO", "skull", ts, true).await;
    // A guest and a bot do not count.
    react(&rig, "EvSkullGuest", "U0GUEST", "skull", ts, true).await;
    handled(&rig, "U0GUEST", "skull", ts, true).await;
    react(&rig, "EvSkullBot", "U0ALERTS", "skull", ts, true).await;
    handled(&rig, "U0ALERTS", "skull", ts, true).await;
    assert_eq!(rig.status("jamal.reed@example.com").await, "ACTIVE");
    assert!(
        rig.ephemerals_to("U0GUEST")
            .iter()
            .any(|n| n.contains("You can't do that")),
        "{:?}",
        rig.ephemerals_to("U0GUEST")
    );
    // A second admin: approved, and carried out once.
    react(&rig, "EvSkull2", "U0GRACE", "skull", ts, true).await;
    handled(&rig, "U0GRACE", "skull", ts, true).await;
    rig.until_status("jamal.reed@example.com", "DEPROVISIONED")
        .await;
    assert_eq!(rig.harness.mutations().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_no_mention_or_two_gets_a_question_not_an_action() {
    let rig = Rig::with_automations(RULES).await;
    let none = "1700001500.000100";
    message(&rig, none, "someone is sending phishing links");
    react(&rig, "EvNone", "U0LEO", "lock", none, true).await;
    handled(&rig, "U0LEO", "lock", none, true).await;
    assert!(
        thread_text(&rig, none).contains("mentions no one. Which person?"),
        "{}",
        thread_text(&rig, none)
    );
    let two = "1700001600.000100";
    message(&rig, two, "<@U0JAMAL> and <@U0ANA> clicked the link");
    react(&rig, "EvTwo", "U0LEO", "lock", two, true).await;
    handled(&rig, "U0LEO", "lock", two, true).await;
    let said = thread_text(&rig, two);
    assert!(
        said.contains("mentions 2 people") && said.contains("Which person?"),
        "{said}"
    );
    assert!(!said.contains("Approval needed"));
    assert_eq!(rig.harness.mutations().await.len(), 0);
    let db = rig.store().await;
    assert_eq!(
        db.proposals_by_requester_since("U0LEO", 0).await.unwrap(),
        0,
        "no proposal"
    );
}
