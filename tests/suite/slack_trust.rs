//! The trust boundary end to end: the real `okta-agent run` binary, its slack-morphism
//! listener, the fake Slack (which formats text as Slack does) and the Okta simulator.

use serde_json::json;

use crate::common::fake_slack::{
    channel_message, click, direct_message, edited_mention, envelope_id, event_envelope, mention,
    user_change, wait_until,
};
use crate::common::rig::{cards, Rig, CHANNEL, HELP, TRIAGE};

async fn store(rig: &Rig) -> &okta_agent::store::Store {
    rig.store().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_email_finds_the_person() {
    let rig = Rig::new().await;
    // Slack delivers this as `unlock <mailto:bob.smith@example.com|bob.smith@example.com>`.
    let (_, card) = rig
        .request(
            "U0LEO",
            "unlock bob.smith@example.com please",
            "1700000020.000100",
        )
        .await;
    let blocks = card["blocks"].to_string();
    assert!(blocks.contains("bob.smith@example.com"), "{blocks}");
    assert!(blocks.contains("Approval needed: Unlock"), "{blocks}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_never_requests() {
    let rig = Rig::new().await;
    // An edit that adds a mention to a message that had no request.
    let edit = envelope_id();
    rig.fake
        .send(event_envelope(
            &edit,
            "EvEdit1",
            0,
            edited_mention("U0LEO", "suspend <@U0JAMAL>", CHANNEL, "1700000021.000100"),
        ))
        .await;
    wait_until("the edit's ack", || rig.fake.acked(&edit)).await;
    // Work is recorded before the ack, so an ignored event has no row once it is acked.
    assert_eq!(
        store(&rig)
            .await
            .inbound_state("event:EvEdit1")
            .await
            .unwrap(),
        None
    );
    // An edit of a message whose card is already out.
    let (_, _) = rig
        .request("U0LEO", "suspend <@U0JAMAL>", "1700000021.000200")
        .await;
    let edit = envelope_id();
    rig.fake
        .send(event_envelope(
            &edit,
            "EvEdit2",
            0,
            edited_mention(
                "U0LEO",
                "suspend <@U0JAMAL> now",
                CHANNEL,
                "1700000021.000200",
            ),
        ))
        .await;
    wait_until("the second edit's ack", || rig.fake.acked(&edit)).await;
    assert_eq!(
        store(&rig)
            .await
            .inbound_state("event:EvEdit2")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cards(&rig.fake).len(),
        1,
        "one card, for the original message only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_connect_strangers_get_a_short_refusal_and_cost_no_okta_call() {
    let rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "suspend <@U0JAMAL>", "1700000022.000100")
        .await;
    let before = rig.harness.requests().await.len();
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvStranger",
            0,
            mention("U0PARTNER", "unlock me", CHANNEL, "1700000022.000200"),
        ))
        .await;
    rig.wait("the refusal", || {
        rig.reply_in("1700000022.000200").is_some()
    })
    .await;
    let reply = rig.reply_in("1700000022.000200").unwrap();
    assert!(
        reply.contains("only takes requests from people of this organisation"),
        "{reply}"
    );
    assert_eq!(
        rig.harness.requests().await.len(),
        before,
        "no Okta call for a stranger"
    );
    // The stranger's click on someone else's card is refused too.
    rig.click("U0PARTNER", "approve", &id, &card).await;
    rig.wait("the ephemeral refusal", || {
        !rig.ephemerals_to("U0PARTNER").is_empty()
    })
    .await;
    assert!(rig.ephemerals_to("U0PARTNER")[0].contains("Slack Connect"));
    assert_eq!(rig.harness.mutations().await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_deactivated_in_slack_loses_access_at_once() {
    let rig = Rig::new().await;
    // Bob asks for his own password reset (an admin must approve); he is cached as a member.
    let (id, card) = rig
        .request("U0BOB", "reset my password", "1700000023.000100")
        .await;
    // Bob is deactivated in Slack; Slack says so with user_change.
    rig.fake
        .update_user("U0BOB", |u| u["deleted"] = json!(true));
    let user = rig.fake.user("U0BOB");
    let change = envelope_id();
    rig.fake
        .send(event_envelope(&change, "EvChange", 0, user_change(user)))
        .await;
    wait_until("the user_change ack", || rig.fake.acked(&change)).await;
    // His next request is refused at once, not after a cache expiry...
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvBobAgain",
            0,
            mention("U0BOB", "unlock me", CHANNEL, "1700000023.000200"),
        ))
        .await;
    rig.wait("the refusal", || {
        rig.reply_in("1700000023.000200").is_some()
    })
    .await;
    assert!(rig
        .reply_in("1700000023.000200")
        .unwrap()
        .contains("deactivated"));
    // ...and his pending request can no longer be approved.
    rig.click("U0GRACE", "approve", &id, &card).await;
    rig.wait("the refusal to approve", || {
        !rig.ephemerals_to("U0GRACE").is_empty()
    })
    .await;
    assert!(
        rig.ephemerals_to("U0GRACE")[0].contains("can no longer make requests"),
        "{:?}",
        rig.ephemerals_to("U0GRACE")
    );
    assert_eq!(rig.harness.mutations().await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_cannot_be_stored_is_not_acknowledged() {
    let rig = Rig::new().await;
    // Deliveries are recorded in the inbound journal, a file of its own.
    store(&rig).await
        .execute_raw("CREATE TRIGGER journal.full_disk BEFORE INSERT ON inbound BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END").await
        .unwrap();
    let first = envelope_id();
    let event = mention("U0LEO", "suspend <@U0JAMAL>", CHANNEL, "1700000024.000100");
    rig.fake
        .send(event_envelope(&first, "EvFull", 0, event.clone()))
        .await;
    rig.wait("the log to say why", || {
        rig.logs().contains("not acknowledged")
    })
    .await;
    store(&rig)
        .await
        .execute_raw("DROP TRIGGER journal.full_disk")
        .await
        .unwrap();
    // Frames on one socket are handled in order: once a later one is acked, the first one's
    // fate is settled.
    let marker = envelope_id();
    rig.fake
        .send(event_envelope(
            &marker,
            "EvMarker",
            0,
            direct_message("U0LEO", "help", "1700000024.000050"),
        ))
        .await;
    wait_until("the marker's ack", || rig.fake.acked(&marker)).await;
    assert!(
        !rig.fake.acked(&first),
        "an unrecorded delivery must not be acked"
    );
    // Slack redelivers it; now it is recorded, acked and handled, once.
    let again = envelope_id();
    rig.fake
        .send(event_envelope(&again, "EvFull", 1, event))
        .await;
    rig.wait("the card", || !cards(&rig.fake).is_empty()).await;
    assert!(rig.fake.acked(&again));
    assert_eq!(cards(&rig.fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_has_an_inbound_rate_limit() {
    let rig = Rig::with_slack_config("max_requests_per_person_per_minute = 3").await;
    let send = |i: usize| {
        rig.fake.send(event_envelope(
            &envelope_id(),
            &format!("EvFast{i}"),
            0,
            direct_message("U0KATE", "help", &format!("1700000025.00010{i}")),
        ))
    };
    for i in 0..4 {
        send(i).await;
    }
    rig.wait("the slow-down note", || {
        !rig.ephemerals_to("U0KATE").is_empty()
    })
    .await;
    assert!(rig.ephemerals_to("U0KATE")[0].contains("faster than I take them"));
    // Kate was told this minute: two more are recorded done at their ack, untold and unlogged.
    for i in 4..6 {
        send(i).await;
    }
    rig.wait("three answers", || {
        (0..6)
            .filter(|i| rig.reply_in(&format!("1700000025.00010{i}")).is_some())
            .count()
            == 3
    })
    .await;
    for i in 0..6 {
        rig.until_done(&format!("EvFast{i}")).await;
    }
    assert_eq!(rig.ephemerals_to("U0KATE").len(), 1);
    assert_eq!(
        rig.logs().matches("request throttled").count(),
        1,
        "one line a minute per person: {}",
        rig.logs()
    );
    // Someone else is not slowed down by Kate.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvOther",
            0,
            direct_message("U0ANA", "help", "1700000025.000200"),
        ))
        .await;
    rig.wait("Ana's answer", || {
        rig.reply_in("1700000025.000200").is_some()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_feedback_is_for_the_asker_or_an_admin_and_only_once() {
    let rig = Rig::new().await;
    let ts = "1700000026.000100";
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvHelpQ",
            0,
            channel_message(
                "U0ANA",
                HELP,
                "I got a new phone, how do I set up Okta Verify again?",
                ts,
            ),
        ))
        .await;
    rig.wait("the answer", || rig.reply_in(ts).is_some()).await;
    // The answer is remembered once Slack has given it a ts, just after it appears.
    rig.until_done("EvHelpQ").await;
    let answer = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| m["thread_ts"] == ts)
        .unwrap();
    let escalate = |user: &str| click(&envelope_id(), user, "help_escalate", "escalate", &answer);
    rig.fake.send(escalate("U0KATE")).await;
    rig.wait("Kate's refusal", || !rig.ephemerals_to("U0KATE").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0KATE")[0].contains("Only the person who asked"));
    rig.fake.send(escalate("U0ANA")).await;
    rig.wait("the escalation", || {
        rig.fake.messages().iter().any(|m| m["channel"] == TRIAGE)
    })
    .await;
    rig.fake.send(escalate("U0ANA")).await;
    rig.wait("the second click's refusal", || {
        !rig.ephemerals_to("U0ANA").is_empty()
    })
    .await;
    assert!(rig.ephemerals_to("U0ANA")[0].contains("already"));
    assert_eq!(
        rig.fake
            .messages()
            .iter()
            .filter(|m| m["channel"] == TRIAGE)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_crashes_and_crashed_work_is_never_replayed() {
    let mut rig = Rig::new().await;
    // The input that once panicked the command engine gets an ordinary answer.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvIstanbul",
            0,
            mention("U0LEO", "add İİİİİİİİ to x", CHANNEL, "1700000027.000100"),
        ))
        .await;
    rig.wait("an answer", || rig.reply_in("1700000027.000100").is_some())
        .await;
    assert_eq!(rig.stop().await.code(), Some(0));
    // A delivery whose task crashed before the last stop is marked failed: never replayed.
    let work = okta_agent::slack::decode::Work::Request {
        user: "U0LEO".into(),
        text: "suspend <@U0JAMAL>".into(),
        channel: CHANNEL.into(),
        ts: Some("1700000027.000200".into()),
        thread_ts: Some("1700000027.000200".into()),
        response_url: None,
    };
    let db = store(&rig).await;
    db.remember_inbound(
        "event:EvCrashed",
        &serde_json::to_string(&work).unwrap(),
        okta_agent::okta::unix_now() as i64,
    )
    .await
    .unwrap();
    db.fail_inbound("event:EvCrashed").await.unwrap();
    rig.start().await;
    assert!(!rig.logs().contains("EvCrashed"), "{}", rig.logs());
    assert_eq!(
        store(&rig)
            .await
            .inbound_state("event:EvCrashed")
            .await
            .unwrap(),
        Some(okta_agent::store::InboundState::Failed)
    );
    assert!(cards(&rig.fake).is_empty());
}
