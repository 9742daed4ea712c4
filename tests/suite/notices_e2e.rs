//! Telling people what was done to their account, end to end: the real `okta-agent run`, the
//! fake Slack and the Okta simulator. A change someone else made is DMed to the person it
//! changed; a reply to that DM reaches the triage channel; a suspend, and a person's own
//! self-service, send nothing.

use serde_json::{json, Value};

use crate::common::fake_slack::{envelope_id, event_envelope, wait_until};
use crate::common::rig::{card_text, Rig, TRIAGE};

/// The messages the bot posted in its DM with `user` (a user id as the channel opens it).
fn dms_to(rig: &Rig, user: &str) -> Vec<Value> {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["channel"] == user)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_an_admin_changed_is_told_and_their_reply_reaches_it() {
    let rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700001001.000100")
        .await;
    assert!(
        dms_to(&rig, "U0BOB").is_empty(),
        "nothing before the change"
    );
    rig.click("U0GRACE", "approve", &id, &card).await;
    rig.wait("Bob's notice", || !dms_to(&rig, "U0BOB").is_empty())
        .await;
    assert!(card_text(&rig.fake, &id).contains("Done: Unlock"));
    let notices = dms_to(&rig, "U0BOB");
    assert_eq!(notices.len(), 1, "one notice: {notices:?}");
    let notice = &notices[0];
    let text = notice["text"].as_str().unwrap();
    for expected in [
        "IT made a change to your Okta account: Unlock",
        "UTC",
        &format!("reference {id}"),
        "Requested by <@U0LEO>, approved by <@U0GRACE>",
        "If you did not expect this",
        "reply to this message",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let mutations = rig.harness.mutations().await.len();
    let messages = rig.fake.messages().len();
    // Bob did not expect it, and says so in the notice's thread.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvBobReply",
            0,
            json!({"type": "message", "channel": "D0DM", "channel_type": "im", "user": "U0BOB",
                   "text": "I didn't ask for this, was it really IT?", "ts": "1700001002.000100",
                   "thread_ts": notice["ts"], "event_ts": "1700001002.000100"}),
        ))
        .await;
    rig.until_done("EvBobReply").await;
    let alert = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| {
            m["channel"] == TRIAGE
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("replied to the notice")
        })
        .expect("the reply reaches triage");
    let alert = alert["text"].as_str().unwrap();
    assert!(
        alert.starts_with("<@U0BOB> replied to the notice about Unlock on bob.smith@example.com"),
        "{alert}"
    );
    assert!(alert.contains("was it really IT?"), "{alert}");
    let told = rig.fake.messages().into_iter().any(|m| {
        m["channel"] == "D0DM"
            && m["thread_ts"] == notice["ts"]
            && m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("passed this to IT")
    });
    assert!(
        told,
        "Bob is told IT will follow up, in the notice's thread"
    );
    assert_eq!(
        rig.harness.mutations().await.len(),
        mutations,
        "a reply changes nothing in Okta"
    );
    assert_eq!(
        rig.fake.messages().len(),
        messages + 2,
        "a reply is not read as a request: the alert and the thanks, nothing else"
    );
    let (ok, audit, _) = rig.cli(&["audit", "export"]).await;
    assert!(ok && audit.contains("notice_reply"), "{audit}");

    // A thread reply in a DM that is not a notice's thread is a request as before.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvBobOther",
            0,
            json!({"type": "message", "channel": "D0DM", "channel_type": "im", "user": "U0BOB",
                   "text": "what apps do I have?", "ts": "1700001003.000200",
                   "thread_ts": "1700001003.000100", "event_ts": "1700001003.000200"}),
        ))
        .await;
    rig.until_done("EvBobOther").await;
    assert_eq!(
        rig.fake
            .messages()
            .iter()
            .filter(|m| m["channel"] == TRIAGE
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("replied to the notice"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspend_and_a_persons_own_unlock_send_no_notice() {
    let rig = Rig::new().await;
    // Suspend is not in notify_target by default: offboarding is often confidential.
    let (id, card) = rig
        .request("U0LEO", "suspend <@U0JAMAL>", "1700001101.000100")
        .await;
    rig.click("U0GRACE", "approve", &id, &card).await;
    let fake = rig.fake.clone();
    wait_until("the suspend", || {
        card_text(&fake, &id).contains("Done: Suspend")
    })
    .await;
    // Kate unlocks herself (self-service): she asked, so there is nothing to tell her.
    let (own, own_card) = rig
        .request("U0KATE", "unlock me", "1700001102.000100")
        .await;
    rig.click("U0KATE", "approve", &own, &own_card).await;
    wait_until("Kate's unlock", || {
        card_text(&fake, &own).contains("Done: Unlock")
    })
    .await;
    // And a change that is notified, so the test sees notices do arrive in this rig.
    let (bob, bob_card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700001103.000100")
        .await;
    rig.click("U0LEO", "approve", &bob, &bob_card).await;
    wait_until("Bob's notice", || !dms_to(&rig, "U0BOB").is_empty()).await;
    assert!(
        dms_to(&rig, "U0JAMAL").is_empty(),
        "no notice after a suspend"
    );
    assert!(
        dms_to(&rig, "U0KATE").is_empty(),
        "no notice for one's own self-service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_bound_access_is_told_when_it_begins_and_when_it_ends() {
    let rig = Rig::new().await;
    let (id, card) = rig
        .request(
            "U0LEO",
            "add <@U0KATE> to Zoom Users for 8 hours",
            "1700001201.000100",
        )
        .await;
    rig.click("U0GRACE", "approve", &id, &card).await;
    wait_until("Kate's first notice", || dms_to(&rig, "U0KATE").len() == 1).await;
    assert!(dms_to(&rig, "U0KATE")[0]["text"]
        .as_str()
        .unwrap()
        .contains("Add to group Zoom Users"));
    // Grace ends it early: Kate hears that too.
    let decided = rig.fake.card_for(&id).unwrap();
    rig.click("U0GRACE", "end_access", &id, &decided).await;
    wait_until("Kate's second notice", || dms_to(&rig, "U0KATE").len() == 2).await;
    let ended = dms_to(&rig, "U0KATE")[1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ended.contains("Remove from group Zoom Users"), "{ended}");
    assert!(ended.contains("approved by <@U0GRACE>"), "{ended}");
}
