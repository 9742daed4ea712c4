//! Verifying the person with Okta Verify before a sensitive action, end to end: the real
//! `okta-agent run`, the fake Slack, and the simulator's push factors (number matching, a
//! control API for the person's answer). Approve waits for the push; a rejection changes
//! nothing and alerts IT; without a push factor two admins approve; an admin may approve
//! without verification only with a reason, which is audited. Every refusal changes nothing.

use serde_json::{json, Value};

use crate::common::fake_slack::{click, envelope_id, interactive, wait_until};
use crate::common::rig::{card_text, Rig, TRIAGE};

const VERIFY: &str = "verify_with_push = [\"reset_password\", \"reset_factors\", \"unlock_user\"]";
/// The same, with okta-agent giving up on a push sooner than Okta does.
const VERIFY_BRIEFLY: &str = "verify_with_push = [\"reset_password\", \"reset_factors\", \"unlock_user\"]\npush_timeout_seconds = 10";

/// The DMs the bot sent `user` that carry a push's number.
fn push_dms(rig: &Rig, user: &str) -> Vec<String> {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["channel"] == user)
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .filter(|t| t.contains("Okta Verify"))
        .collect()
}

/// `user` asks for `text` on themselves; returns the proposal once the push's number reached
/// them (by DM: their first).
async fn ask_for_myself(rig: &Rig, user: &str, text: &str, ts: &str) -> String {
    let (id, _) = rig.request(user, text, ts).await;
    rig.wait("the push's number", || push_dms(rig, user).len() == 1)
        .await;
    id
}

fn buttons(rig: &Rig, id: &str) -> Vec<String> {
    let card = rig.fake.card_for(id).expect("the card");
    card["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .filter_map(|e| e["action_id"].as_str().map(str::to_string))
        .collect()
}

/// How many pushes okta-agent asked Okta to send.
async fn pushes_sent(rig: &Rig) -> usize {
    rig.harness
        .requests()
        .await
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/verify"))
        .count()
}

async fn audit(rig: &Rig) -> String {
    let (ok, out, err) = rig.cli(&["audit", "export", "--format", "jsonl"]).await;
    assert!(ok, "{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_service_reset_waits_for_the_push_and_runs_once_approved() {
    let rig = Rig::with_policy(VERIFY).await;
    // Ana asked for herself: the push went out at once, and the number only to her, by DM.
    let id = ask_for_myself(&rig, "U0ANA", "reset my password", "1700007000.000100").await;
    let text = card_text(&rig.fake, &id);
    assert!(text.contains("Waiting for <@U0ANA>"), "{text}");
    assert_eq!(buttons(&rig, &id), ["approve_unverified", "cancel"]);
    assert!(!text.contains("Tap "), "the number is never on the card");

    // An admin's Approve before she answers (a forged click: the card has no such button).
    rig.click("U0LEO", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.wait("the refusal", || !rig.ephemerals_to("U0LEO").is_empty())
        .await;
    assert!(
        rig.ephemerals_to("U0LEO")[0].contains("waits for ana.lopez@example.com to answer"),
        "{:?}",
        rig.ephemerals_to("U0LEO")
    );

    let answered = rig
        .harness
        .answer_push("ana.lopez@example.com", "approve")
        .await;
    let number = answered["correctAnswer"].as_u64().expect("number matching");
    let dm = push_dms(&rig, "U0ANA").remove(0);
    assert!(dm.contains(&format!("Tap {number} in Okta Verify")), "{dm}");
    assert!(dm.contains(&format!("reference {id}")), "{dm}");
    rig.wait("the card to say she is verified", || {
        card_text(&rig.fake, &id).contains("Verified")
    })
    .await;
    assert_eq!(buttons(&rig, &id), ["approve", "cancel"]);
    assert!(rig.harness.mutations().await.is_empty());

    rig.click("U0LEO", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.until_mutations(1).await;
    rig.wait("the executed card", || {
        card_text(&rig.fake, &id).contains("Done: Reset password")
    })
    .await;
    assert!(card_text(&rig.fake, &id).contains("Verified"));
    assert_eq!(pushes_sent(&rig).await, 1, "one push per proposal");
    let audit = audit(&rig).await;
    for event in ["verification_sent", "verified", "approved", "executed"] {
        assert!(
            audit.contains(&format!("\"event\":\"{event}\"")),
            "{event} missing: {audit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_push_changes_nothing_and_alerts_it_and_a_silent_one_times_out() {
    let rig = Rig::with_policy(VERIFY_BRIEFLY).await;
    let id = ask_for_myself(&rig, "U0ANA", "reset my password", "1700007100.000100").await;
    rig.harness
        .answer_push("ana.lopez@example.com", "reject")
        .await;
    rig.wait("the card to say she rejected it", || {
        card_text(&rig.fake, &id).contains("Rejected")
    })
    .await;
    let alert = || {
        rig.fake
            .messages()
            .into_iter()
            .filter(|m| m["channel"] == TRIAGE)
            .filter_map(|m| m["text"].as_str().map(str::to_string))
            .find(|t| t.contains("rejected a verification push"))
    };
    rig.wait("the alert in the triage channel", || alert().is_some())
        .await;
    let alert = alert().unwrap();
    assert!(
        alert.starts_with("<@U0ANA> rejected a verification push for reset password requested from their Slack account"),
        "{alert}"
    );
    assert!(alert.contains("possible account takeover"), "{alert}");
    assert_eq!(buttons(&rig, &id), ["approve_unverified", "cancel"]);
    rig.click("U0LEO", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.wait("the refusal", || !rig.ephemerals_to("U0LEO").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0LEO")[0].contains("did not confirm with Okta Verify"));

    // Jamal does not answer at all; Okta gives up on the push.
    let silent = ask_for_myself(&rig, "U0JAMAL", "reset my password", "1700007100.000200").await;
    rig.harness
        .answer_push("jamal.reed@example.com", "timeout")
        .await;
    rig.wait("the card to say there was no answer", || {
        card_text(&rig.fake, &silent).contains("No answer")
    })
    .await;
    // Bob's phone is off: Okta would wait five minutes, okta-agent waits its own ten seconds.
    let unanswered = ask_for_myself(&rig, "U0BOB", "unlock me", "1700007100.000300").await;
    rig.wait("the card to give up waiting", || {
        card_text(&rig.fake, &unanswered).contains("No answer")
    })
    .await;
    assert!(rig.harness.mutations().await.is_empty(), "nothing changed");
    assert_eq!(pushes_sent(&rig).await, 3);
    let audit = audit(&rig).await;
    assert!(audit.contains("\"event\":\"verification_rejected\""));
    assert_eq!(
        audit.matches("\"event\":\"verification_timeout\"").count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_push_factor_two_admins_must_approve() {
    let rig = Rig::with_policy(VERIFY).await;
    // Kate is locked out and has no push factor. Unlocking someone else is normally one
    // admin's call; without a way to verify her it takes two.
    let (id, _) = rig
        .request("U0LEO", "unlock <@U0KATE>", "1700007200.000100")
        .await;
    let text = card_text(&rig.fake, &id);
    assert!(text.contains("No Okta Verify push factor"), "{text}");
    assert!(
        text.contains("two IT admins must approve (approved so far by <@U0LEO>)"),
        "{text}"
    );
    assert!(
        text.contains("a video call, or with their manager, Grace Kim (grace.kim@example.com)"),
        "the manager comes from Okta's managerId: {text}"
    );
    rig.click("U0LEO", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.wait("Leo's refusal", || !rig.ephemerals_to("U0LEO").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0LEO")[0].contains("a second admin must approve"));
    assert!(rig.harness.mutations().await.is_empty());
    assert_eq!(pushes_sent(&rig).await, 0);
    rig.click("U0GRACE", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.until_mutations(1).await;

    // Erin asks for her own reset and has no push factor either: two admins, neither her.
    let (id, _) = rig
        .request("U0ERIN", "reset my password", "1700007200.000200")
        .await;
    assert!(card_text(&rig.fake, &id).contains("two IT admins must approve."));
    rig.click("U0LEO", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.wait("the first approval on the card", || {
        card_text(&rig.fake, &id).contains("approved so far by <@U0LEO>")
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 1, "only Kate's unlock");
    rig.click("U0GRACE", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.until_mutations(2).await;

    // An admin-requested MFA reset for Kate (no push factor) is no different.
    let (id, _) = rig
        .request("U0LEO", "reset mfa for <@U0KATE>", "1700007200.000300")
        .await;
    assert!(card_text(&rig.fake, &id)
        .contains("two IT admins must approve (approved so far by <@U0LEO>)"));
    rig.click("U0GRACE", "approve", &id, &rig.fake.card_for(&id).unwrap())
        .await;
    rig.until_mutations(3).await;
    let audit = audit(&rig).await;
    assert_eq!(
        audit
            .matches("\"event\":\"verification_unavailable\"")
            .count(),
        3
    );
    assert!(audit.contains("\"event\":\"first_approval\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_verifies_first_or_approves_without_verification_with_a_reason() {
    let rig = Rig::with_policy(VERIFY).await;
    // Leo resets Ana's MFA (two-person): the card offers to verify her first.
    let (id, _) = rig
        .request("U0LEO", "reset mfa for <@U0ANA>", "1700007300.000100")
        .await;
    assert_eq!(
        buttons(&rig, &id),
        ["verify_first", "approve_unverified", "cancel"]
    );
    let card = rig.fake.card_for(&id).unwrap();
    assert!(card["blocks"].to_string().contains("Verify Ana first"));
    assert!(
        push_dms(&rig, "U0ANA").is_empty(),
        "nothing is sent unasked"
    );

    // An employee cannot send pushes to people.
    rig.fake
        .send(click(&envelope_id(), "U0BOB", "verify_first", &id, &card))
        .await;
    rig.wait("Bob's refusal", || !rig.ephemerals_to("U0BOB").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0BOB")[0].contains("Only an IT admin"));
    // Grace sends it; a second press sends nothing more.
    rig.fake
        .send(click(&envelope_id(), "U0GRACE", "verify_first", &id, &card))
        .await;
    rig.wait("Ana's number", || push_dms(&rig, "U0ANA").len() == 1)
        .await;
    rig.fake
        .send(click(&envelope_id(), "U0GRACE", "verify_first", &id, &card))
        .await;
    rig.wait("the second press refused", || {
        rig.ephemerals_to("U0GRACE")
            .iter()
            .any(|t| t.contains("never sends a second one"))
    })
    .await;
    assert_eq!(pushes_sent(&rig).await, 1);

    // Ana is on a video call with Grace and cannot find her phone: Grace approves without
    // verification, with a reason.
    let opened = rig.fake.calls("views.open").len();
    let card = rig.fake.card_for(&id).unwrap();
    rig.fake
        .send(click(
            &envelope_id(),
            "U0GRACE",
            "approve_unverified",
            &id,
            &card,
        ))
        .await;
    let fake = rig.fake.clone();
    wait_until("the reason form", || {
        fake.calls("views.open").len() > opened
    })
    .await;
    let view = rig.fake.last_view().expect("the form");
    assert_eq!(view["callback_id"], "okta_override");
    let view_id = view["id"].as_str().unwrap().to_string();
    // Too short a reason is refused in the form.
    let short = json!({"reason": {"reason": {"type": "plain_text_input", "value": "ok"}}});
    let envelope = envelope_id();
    rig.fake
        .send(interactive(
            &envelope,
            rig.fake.view_submission("U0GRACE", &view_id, short),
            true,
        ))
        .await;
    wait_until("the form's answer", || fake.acked(&envelope)).await;
    let answer: Value = rig.fake.ack_payload(&envelope).unwrap();
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(rig.harness.mutations().await.is_empty());

    let reason = "verified on a video call with Ana and her manager";
    let values = json!({"reason": {"reason": {"type": "plain_text_input", "value": reason}}});
    rig.fake
        .send(interactive(
            &envelope_id(),
            rig.fake.view_submission("U0GRACE", &view_id, values),
            true,
        ))
        .await;
    rig.until_mutations(1).await;
    rig.wait("the executed card", || {
        card_text(&rig.fake, &id).contains("Done: Reset MFA")
    })
    .await;
    let text = card_text(&rig.fake, &id);
    assert!(text.contains("Approved without verification"), "{text}");
    assert!(text.contains(reason), "{text}");
    let audit = audit(&rig).await;
    let overridden = audit
        .lines()
        .find(|l| l.contains("\"event\":\"verification_overridden\""))
        .expect("the override is audited");
    assert!(overridden.contains(reason), "{overridden}");
    assert!(overridden.contains("U0GRACE"), "{overridden}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requester_cannot_override_a_two_person_action() {
    let rig = Rig::with_policy(VERIFY).await;
    let (id, card) = rig
        .request("U0LEO", "reset mfa for <@U0ANA>", "1700007400.000100")
        .await;
    let opened = rig.fake.calls("views.open").len();
    rig.fake
        .send(click(
            &envelope_id(),
            "U0LEO",
            "approve_unverified",
            &id,
            &card,
        ))
        .await;
    let fake = rig.fake.clone();
    wait_until("the reason form", || {
        fake.calls("views.open").len() > opened
    })
    .await;
    let view_id = rig.fake.last_view().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let values = json!({"reason": {"reason": {"type": "plain_text_input", "value": "I am sure it is her, trust me"}}});
    rig.fake
        .send(interactive(
            &envelope_id(),
            rig.fake.view_submission("U0LEO", &view_id, values),
            true,
        ))
        .await;
    rig.wait("Leo's refusal", || !rig.ephemerals_to("U0LEO").is_empty())
        .await;
    assert!(
        rig.ephemerals_to("U0LEO")[0].contains("You can't do that"),
        "{:?}",
        rig.ephemerals_to("U0LEO")
    );
    // The verification is as it was: still waiting to be sent, not overridden.
    assert_eq!(
        buttons(&rig, &id),
        ["verify_first", "approve_unverified", "cancel"]
    );
    assert!(rig.harness.mutations().await.is_empty());
    assert!(!audit(&rig).await.contains("verification_overridden"));
}
