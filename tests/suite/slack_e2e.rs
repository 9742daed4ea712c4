//! The real `okta-agent run` binary against a fake Slack (tokio-tungstenite Socket Mode plus an
//! HTTP Web API) and the Okta simulator, all on loopback.

use serde_json::{json, Value};

use crate::common::fake_slack::{
    self, click, direct_message, envelope_id, event_envelope, mention, wait_until,
};
use crate::common::rig::{card_text, cards, Rig, CHANNEL, HELP, TRIAGE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_becomes_a_card_and_approve_changes_okta_once() {
    let mut rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700000001.000100")
        .await;
    assert_eq!(card["channel"], CHANNEL);
    assert_eq!(
        card["thread_ts"], "1700000001.000100",
        "cards go in the requester's thread"
    );
    let blocks = card["blocks"].to_string();
    for expected in [
        "Approval needed: Unlock",
        "Bob Smith",
        "bob.smith@example.com",
        "LOCKED_OUT",
        "<@U0LEO>",
        "Expires",
    ] {
        assert!(blocks.contains(expected), "card lacks {expected}: {blocks}");
    }
    // The buttons carry only the proposal id.
    for element in card["blocks"][2]["elements"].as_array().unwrap() {
        assert_eq!(element["value"], id.as_str());
    }
    assert!(
        rig.fake
            .calls("reactions.add")
            .iter()
            .any(|c| c.body["name"] == "eyes"),
        "the requester sees the bot working"
    );

    rig.click("U0LEO", "approve", &id, &card).await;
    let fake = rig.fake.clone();
    rig.wait("the card to be updated", || {
        card_text(&fake, &id).contains("Done: Unlock")
    })
    .await;
    let updated = card_text(&rig.fake, &id);
    assert!(
        updated.contains("status now ACTIVE (was LOCKED_OUT)"),
        "{updated}"
    );
    assert!(updated.contains("Approved by <@U0LEO>"), "{updated}");
    assert!(
        !updated.contains("\"action_id\":\"approve\""),
        "no buttons left on a decided card"
    );
    assert_eq!(rig.harness.mutations().await.len(), 1);
    assert_eq!(
        rig.stop().await.code(),
        Some(0),
        "SIGTERM stops cleanly:\n{}",
        rig.logs()
    );
    assert!(rig.logs().contains("stopped cleanly"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_deliveries_and_double_clicks_execute_once() {
    let rig = Rig::new().await;
    // The same event twice: a duplicate envelope, then Slack's retry with retry_attempt = 1.
    let event = mention("U0LEO", "suspend <@U0JAMAL>", CHANNEL, "1700000002.000100");
    let first = envelope_id();
    rig.fake
        .send(event_envelope(&first, "EvDup", 0, event.clone()))
        .await;
    rig.fake
        .send(event_envelope(&envelope_id(), "EvDup", 0, event.clone()))
        .await;
    let retry = envelope_id();
    rig.fake
        .send(event_envelope(&retry, "EvDup", 1, event))
        .await;
    let fake = rig.fake.clone();
    wait_until("all three deliveries to be acked", || {
        fake.acked(&first) && fake.acked(&retry) && fake.ack_count() >= 3
    })
    .await;
    wait_until("a card", || !cards(&fake).is_empty()).await;
    let (id, card) = rig.fake.newest_card().unwrap();
    // A second, unrelated request is answered after the duplicates were processed.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvApps",
            0,
            mention(
                "U0LEO",
                "what apps does <@U0ANA> have?",
                CHANNEL,
                "1700000002.000200",
            ),
        ))
        .await;
    rig.wait("the second answer", || {
        rig.reply_in("1700000002.000200").is_some()
    })
    .await;
    assert_eq!(
        cards(&rig.fake).len(),
        1,
        "one card for the three deliveries"
    );

    // Two clicks on Approve (a double click), then a third by another admin.
    rig.click("U0LEO", "approve", &id, &card).await;
    rig.click("U0LEO", "approve", &id, &card).await;
    rig.click("U0GRACE", "approve", &id, &card).await;
    rig.wait("the card to be updated", || {
        card_text(&fake, &id).contains("Done: Suspend")
    })
    .await;
    assert!(
        card_text(&fake, &id).contains("\"action_id\":\"undo\""),
        "suspend offers Undo"
    );
    wait_until("the other clicks to be answered", || {
        fake.calls("chat.postEphemeral").len() >= 2
    })
    .await;
    assert_eq!(
        rig.harness.mutations().await.len(),
        1,
        "exactly one execution"
    );
    let refusals: Vec<String> = rig
        .fake
        .calls("chat.postEphemeral")
        .iter()
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        refusals.iter().all(|t| t.contains("already")),
        "{refusals:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_approvers_are_refused_and_nothing_changes() {
    let rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "suspend <@U0JAMAL>", "1700000003.000100")
        .await;
    rig.click("U0BOB", "approve", &id, &card).await;
    rig.click("U0GUEST", "approve", &id, &card).await;
    let fake = rig.fake.clone();
    wait_until("two refusals", || {
        fake.calls("chat.postEphemeral").len() >= 2
    })
    .await;
    let refusal_to = |user: &str| {
        rig.fake
            .calls("chat.postEphemeral")
            .into_iter()
            .find(|c| c.body["user"] == user)
            .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
    };
    assert!(
        refusal_to("U0BOB").unwrap().contains("You can't do that"),
        "the refusal goes only to the clicker"
    );
    assert!(refusal_to("U0GUEST").unwrap().contains("guest"));
    assert!(
        rig.fake.calls("chat.update").is_empty(),
        "the card is unchanged"
    );
    assert_eq!(rig.harness.mutations().await.len(), 0);
    // A non-admin's own request for someone else is refused in the thread, with no card.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvBob",
            0,
            mention("U0BOB", "deactivate <@U0ANA>", CHANNEL, "1700000003.000200"),
        ))
        .await;
    wait_until("a refusal in the thread", || {
        fake.calls("chat.postMessage").iter().any(|c| {
            c.body["thread_ts"] == "1700000003.000200"
                && c.body["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("only IT admins")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_refresh_and_carries_on() {
    let rig = Rig::new().await;
    let opens = rig.fake.opens();
    rig.fake.disconnect("refresh_requested").await;
    let fake = rig.fake.clone();
    wait_until("a new apps.connections.open", || fake.opens() > opens).await;
    wait_until("the new socket", || fake.connections() > 1).await;
    let (id, _) = rig
        .request("U0LEO", "unlock <@U0KATE>", "1700000004.000100")
        .await;
    assert!(id.starts_with("p-"));
    rig.fake.disconnect("warning").await;
    wait_until("another reconnect", || fake.opens() > opens + 1).await;
    rig.request("U0LEO", "reset password for <@U0ANA>", "1700000004.000200")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_card_and_click_still_works_once() {
    let mut rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "unlock <@U0KATE>", "1700000005.000100")
        .await;
    assert_eq!(rig.stop().await.code(), Some(0));
    rig.start().await;
    rig.click("U0GRACE", "approve", &id, &card).await;
    let fake = rig.fake.clone();
    rig.wait("the card to be updated", || {
        card_text(&fake, &id).contains("Done: Unlock")
    })
    .await;
    rig.click("U0GRACE", "approve", &id, &card).await;
    wait_until("the second click's refusal", || {
        !fake.calls("chat.postEphemeral").is_empty()
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hygiene_bots_edits_escaping_rate_limits_dms_and_triage_notices() {
    let rig = Rig::new().await;
    let fake = rig.fake.clone();
    // Its own messages, other bots and edits are ignored.
    rig.fake.send(event_envelope(&envelope_id(), "EvSelf", 0, json!({"type": "message", "channel": "D0DM", "user": fake_slack::BOT_USER, "text": "unlock <@U0BOB>", "ts": "1700000006.000001", "channel_type": "im"}))).await;
    rig.fake.send(event_envelope(&envelope_id(), "EvBot", 0, json!({"type": "message", "channel": "D0DM", "user": "U0OTHERBOT", "bot_id": "B9", "text": "unlock <@U0BOB>", "ts": "1700000006.000002", "channel_type": "im"}))).await;
    rig.fake.send(event_envelope(&envelope_id(), "EvEdit", 0, json!({"type": "message", "subtype": "message_changed", "channel": "D0DM", "user": "U0LEO", "ts": "1700000006.000003", "channel_type": "im", "message": {"text": "unlock <@U0BOB>"}}))).await;
    // A rate-limited reply is retried after Retry-After and not lost; user text cannot broadcast.
    rig.fake.rate_limit("chat.postMessage", 2);
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvDm",
            0,
            direct_message(
                "U0LEO",
                "unlock <!channel> <https://evil.example|click>",
                "1700000006.000004",
            ),
        ))
        .await;
    rig.wait("the DM reply", || {
        rig.reply_in("1700000006.000004").is_some()
    })
    .await;
    assert_eq!(
        fake.calls("chat.postMessage").len(),
        3,
        "two 429s, then the reply"
    );
    let text = rig.reply_in("1700000006.000004").unwrap();
    assert!(
        !text.contains("<!channel>") && !text.contains("<https://"),
        "{text}"
    );
    assert!(
        cards(&fake).is_empty(),
        "ignored events made no cards: {:?}",
        fake.messages()
    );

    // A self-service password reset by a non-admin: a card in the thread and a triage notice
    // linking to it.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvSelfReset",
            0,
            mention("U0BOB", "reset my password", CHANNEL, "1700000006.000005"),
        ))
        .await;
    wait_until("a triage notice", || {
        fake.calls("chat.postMessage")
            .iter()
            .any(|c| c.body["channel"] == TRIAGE)
    })
    .await;
    let notice = fake
        .calls("chat.postMessage")
        .into_iter()
        .find(|c| c.body["channel"] == TRIAGE)
        .unwrap();
    let notice_text = notice.body["text"].as_str().unwrap();
    assert!(
        notice_text.contains("<@U0BOB> asked for: Reset password")
            && notice_text.contains("|Open the card>"),
        "{notice_text}"
    );

    // The one-time link goes by DM to the approving admin, and nowhere else.
    let (id, card) = rig.fake.newest_card().unwrap();
    rig.click("U0GRACE", "approve", &id, &card).await;
    rig.wait("the DM to the approver", || {
        fake.messages().iter().any(|m| m["channel"] == "U0GRACE")
    })
    .await;
    let dm = fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == "U0GRACE")
        .unwrap();
    let dm_text = dm["text"].as_str().unwrap();
    // Shown as code, so it is copied rather than clicked by accident.
    let link = dm_text.split_whitespace().last().unwrap().trim_matches('`');
    assert!(link.contains("/reset_password/"), "{dm_text}");
    rig.wait("the card update", || {
        card_text(&fake, &id).contains("Done: Reset password")
    })
    .await;
    for message in fake.messages().iter().filter(|m| m["channel"] != "U0GRACE") {
        assert!(
            !message.to_string().contains(link),
            "the link leaked into {message}"
        );
    }
    assert!(!rig.logs().contains(link), "the link leaked into the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_acknowledged_before_a_crash_is_resumed_at_start() {
    let mut rig = Rig::new().await;
    assert_eq!(rig.stop().await.code(), Some(0));
    // As if the process died right after persisting and acking a mention.
    let store = rig.store().await;
    let work = okta_agent::slack::decode::Work::Request {
        user: "U0LEO".into(),
        text: "unlock <@U0BOB>".into(),
        channel: CHANNEL.into(),
        ts: Some("1700000007.000100".into()),
        thread_ts: Some("1700000007.000100".into()),
        response_url: None,
    };
    assert!(store
        .remember_inbound("event:EvCrash", &serde_json::to_string(&work).unwrap(), 1)
        .await
        .unwrap());
    rig.start().await;
    let fake = rig.fake.clone();
    rig.wait("the resumed request's card", || {
        cards(&fake)
            .iter()
            .any(|c| c["thread_ts"] == "1700000007.000100")
    })
    .await;
    // Slack's own redelivery of that event after the restart is a duplicate.
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvCrash",
            1,
            mention("U0LEO", "unlock <@U0BOB>", CHANNEL, "1700000007.000100"),
        ))
        .await;
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvAfter",
            0,
            mention(
                "U0LEO",
                "what apps does <@U0ANA> have?",
                CHANNEL,
                "1700000007.000200",
            ),
        ))
        .await;
    rig.wait("a later answer", || {
        rig.reply_in("1700000007.000200").is_some()
    })
    .await;
    assert_eq!(cards(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_slack_tokens_and_scopes() {
    let rig = Rig::new().await;
    let (api_url, org, client_id) = (
        rig.fake.api_url.clone(),
        rig.harness.sandbox.url(),
        rig.harness.client_id.clone(),
    );
    let (pem, config) = (
        rig.dir.path().join("okta.pem"),
        rig.dir.path().join("okta-agent.toml"),
    );
    let check = move |bot_token: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
            .arg("check")
            .env_clear()
            .env("SLACK_APP_TOKEN", fake_slack::APP_TOKEN)
            .env("SLACK_BOT_TOKEN", bot_token)
            .env("SLACK_API_URL", &api_url)
            .env("OKTA_ORG_URL", &org)
            .env("OKTA_CLIENT_ID", &client_id)
            .env("OKTA_PRIVATE_KEY_FILE", &pem)
            .env("OKTA_AGENT_CONFIG", &config)
            .output()
            .unwrap()
    };
    let out =
        tokio::task::spawn_blocking(move || (check(fake_slack::BOT_TOKEN), check("xoxb-revoked")))
            .await
            .unwrap();
    let good = String::from_utf8_lossy(&out.0.stdout).to_string();
    assert!(
        good.contains("✓ Slack bot token: auth.test ok: bot user UBOT in workspace Acme"),
        "{good}"
    );
    assert!(
        good.contains("✓ Slack scopes: all 13 required scopes granted"),
        "{good}"
    );
    assert!(
        good.contains("✓ Slack app token: apps.connections.open ok"),
        "{good}"
    );
    assert!(out.0.status.success(), "{good}");
    let bad = String::from_utf8_lossy(&out.1.stdout).to_string();
    assert!(
        bad.contains("✗ Slack bot token: auth.test failed (Slack auth.test failed: invalid_auth)"),
        "{bad}"
    );
    assert!(!out.1.status.success());
}

/// `check` confirms the bot is in every configured channel (triage, help, reaction rules), and
/// for one it is not in says how to invite it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_channels_the_bot_is_not_in() {
    let rig = Rig::new().await;
    let config = rig.dir.path().join("channels.toml");
    std::fs::write(
        &config,
        "[policy]\nadmins = [\"U0LEO\"]\n[slack]\ntriage_channels = [\"C0TRIAGE\"]\nhelp_channels = [\"C0RANDOM\"]\n[[automations.reactions]]\nemoji = \"lock\"\ntool = \"suspend_user\"\nchannels = [\"G0PRIVATE\", \"C0SECURITY\"]\n",
    )
    .unwrap();
    let command = std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
        .arg("check")
        .env_clear()
        .env("SLACK_APP_TOKEN", fake_slack::APP_TOKEN)
        .env("SLACK_BOT_TOKEN", fake_slack::BOT_TOKEN)
        .env("SLACK_API_URL", &rig.fake.api_url)
        .env("OKTA_ORG_URL", rig.harness.sandbox.url())
        .env("OKTA_CLIENT_ID", &rig.harness.client_id)
        .env("OKTA_PRIVATE_KEY_FILE", rig.dir.path().join("okta.pem"))
        .env("OKTA_AGENT_CONFIG", &config)
        .current_dir(rig.dir.path())
        .output();
    let out = tokio::task::spawn_blocking(move || command.unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("✓ Slack channel C0TRIAGE: #it-triage (triage): the bot is a member"),
        "{text}"
    );
    assert!(
        text.contains(
            "✓ Slack channel C0SECURITY: #security (:lock: reactions): the bot is a member"
        ),
        "{text}"
    );
    assert!(
        text.contains("✗ Slack channel C0RANDOM: #random (help): the bot is not a member, so it sees nothing there. In Slack, open #random and type /invite @okta-agent"),
        "{text}"
    );
    assert!(
        text.contains("✗ Slack channel G0PRIVATE: (:lock: reactions): Slack knows no channel G0PRIVATE the bot can see"),
        "{text}"
    );
}

#[test]
fn the_manifest_asks_for_exactly_the_scopes_the_code_needs() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.yml")).unwrap();
    let manifest: Value = serde_norway::from_str(&text).unwrap();
    let mut scopes: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    let mut needed = okta_agent::slack::REQUIRED_BOT_SCOPES.to_vec();
    needed.sort_unstable();
    assert_eq!(scopes, needed);
    assert_eq!(manifest["settings"]["socket_mode_enabled"], true);
    assert_eq!(manifest["settings"]["interactivity"]["is_enabled"], true);
    let events: Vec<&str> = manifest["settings"]["event_subscriptions"]["bot_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        okta_agent::slack::BOT_EVENTS,
        "the events the listener acts on"
    );
    assert!(
        !text.contains("request_url"),
        "Socket Mode needs no public URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_work_in_flight_before_exiting() {
    let mut rig = Rig::new().await;
    let (id, card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700000008.000100")
        .await;
    // Okta applies the unlock at once but answers slowly.
    rig.harness
        .inject(
            json!({"kind": "latency", "latency_ms": 1500, "path_contains": "/lifecycle/unlock"}),
        )
        .await;
    rig.click("U0LEO", "approve", &id, &card).await;
    let harness = &rig.harness;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while harness.mutations().await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the unlock never reached Okta"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Stop while the answer is still on its way.
    assert_eq!(rig.stop().await.code(), Some(0), "{}", rig.logs());
    let updated = card_text(&rig.fake, &id);
    assert!(
        updated.contains("Done: Unlock"),
        "the card was updated before exit: {updated}\n{}",
        rig.logs()
    );
    assert!(rig.logs().contains("finishing what is in flight"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_is_the_context_for_a_follow_up() {
    let rig = Rig::new().await;
    let root = "1700000009.000100";
    rig.fake.user_message(
        "U0LEO",
        CHANNEL,
        root,
        root,
        &format!("<@{}> suspend maria", fake_slack::BOT_USER),
    );
    rig.fake
        .send(event_envelope(
            &envelope_id(),
            "EvMaria",
            0,
            mention("U0LEO", "suspend maria", CHANNEL, root),
        ))
        .await;
    rig.wait("the question", || {
        rig.reply_in(root).is_some_and(|t| t.contains("Which one?"))
    })
    .await;
    // The answer, in the same thread, names only the person.
    let reply_ts = "1700000009.000300";
    let mut event = mention("U0LEO", "maria.rossini@example.com", CHANNEL, reply_ts);
    event["thread_ts"] = json!(root);
    rig.fake.user_message(
        "U0LEO",
        CHANNEL,
        reply_ts,
        root,
        "maria.rossini@example.com",
    );
    rig.fake
        .send(event_envelope(&envelope_id(), "EvMaria2", 0, event))
        .await;
    let fake = rig.fake.clone();
    rig.wait("a card for the chosen person", || {
        cards(&fake).iter().any(|c| {
            c["blocks"]
                .to_string()
                .contains("maria.rossini@example.com")
        })
    })
    .await;
    let card = cards(&fake).into_iter().next().unwrap();
    assert_eq!(card["thread_ts"], root, "the card stays in the thread");
    assert!(card["blocks"]
        .to_string()
        .contains("Approval needed: Suspend"));
    assert!(!fake.calls("conversations.replies").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_channels_get_answers_from_the_docs_and_can_escalate() {
    let rig = Rig::new().await;
    let fake = rig.fake.clone();
    let question = |event_id: &str, ts: &str, text: &str| {
        event_envelope(
            &envelope_id(),
            event_id,
            0,
            json!({"type": "message", "channel": HELP, "channel_type": "channel", "user": "U0ANA", "text": text, "ts": ts, "event_ts": ts}),
        )
    };
    // No document fits: the bot stays quiet. Then one that fits gets an answer in its thread.
    rig.fake
        .send(question(
            "EvQ1",
            "1700000010.000100",
            "anyone up for lunch at noon?",
        ))
        .await;
    rig.fake
        .send(question(
            "EvQ2",
            "1700000010.000200",
            "I got a new phone, how do I set up Okta Verify again?",
        ))
        .await;
    rig.wait("a help answer", || {
        rig.reply_in("1700000010.000200").is_some()
    })
    .await;
    // The answer is remembered once Slack has given it a ts, just after it appears.
    rig.until_done("EvQ2").await;
    assert!(
        rig.reply_in("1700000010.000100").is_none(),
        "no answer without a fitting document"
    );
    let answer = fake
        .messages()
        .into_iter()
        .find(|m| m["thread_ts"] == "1700000010.000200")
        .unwrap();
    assert!(
        answer["blocks"]
            .to_string()
            .contains("Source: new-phone-mfa.md")
            || answer["blocks"].to_string().contains("New phone"),
        "{answer}"
    );
    // "I still need help" escalates to the triage channel with a link to the thread.
    let mut escalate = click(
        &envelope_id(),
        "U0ANA",
        "help_escalate",
        "escalate",
        &answer,
    );
    escalate["payload"]["actions"][0]["value"] = json!("escalate");
    rig.fake.send(escalate).await;
    rig.wait("an escalation in triage", || {
        fake.messages().iter().any(|m| m["channel"] == TRIAGE)
    })
    .await;
    let notice = fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == TRIAGE)
        .unwrap();
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("<@U0ANA> still needs help"),
        "{notice}"
    );
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("|Open the thread>"),
        "{notice}"
    );
    assert_eq!(rig.harness.mutations().await.len(), 0);
}

/// `/okta unlock @bob` works where the bot is a member (the card in that conversation) and
/// where it is not: the answer comes through the command's `response_url`, which only the
/// person sees, and the card goes to the triage channel, where Approve executes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_answer_where_the_bot_is_not_a_member() {
    let rig = Rig::new().await;
    let fake = rig.fake.clone();
    let command = |channel: &str, text: &str, url: &str| {
        fake_slack::slash_command(&envelope_id(), "U0LEO", channel, text, url)
    };

    // Where the bot is: the card in that conversation, nothing through the response_url.
    let url = rig.fake.response_url();
    rig.fake
        .send(command(CHANNEL, "suspend <@U0JAMAL>", &url))
        .await;
    rig.wait("the card in the channel", || !cards(&fake).is_empty())
        .await;
    assert_eq!(cards(&fake)[0]["channel"], CHANNEL);

    // Where it is not (#random): Slack refuses the post; the response_url answers.
    let url = rig.fake.response_url();
    rig.fake
        .send(command("C0RANDOM", "unlock <@U0BOB>", &url))
        .await;
    rig.wait("the card in triage", || cards(&fake).len() == 2)
        .await;
    let (id, card) = rig.fake.newest_card().unwrap();
    assert_eq!(card["channel"], TRIAGE, "approvers work in triage");
    rig.wait("the answer through the response_url", || {
        !fake.responses().is_empty()
    })
    .await;
    let responses = rig.fake.responses();
    let said = responses[0].1["text"].as_str().unwrap_or_default();
    assert!(
        said.contains(&format!("I'm not in this conversation, so your request (proposal {id}) is waiting for approval in <#{TRIAGE}>: <https://acme.slack.com/archives/{TRIAGE}/p")),
        "{said}"
    );
    assert_eq!(responses[0].1["response_type"], "ephemeral");
    assert!(
        rig.fake
            .messages()
            .iter()
            .all(|m| m["channel"] != "C0RANDOM"),
        "nothing was posted where the bot is not"
    );
    rig.click("U0LEO", "approve", &id, &card).await;
    rig.until_status("bob.smith@example.com", "ACTIVE").await;
    rig.wait("the card to show the outcome", || {
        card_text(&fake, &id).contains("Done: Unlock")
    })
    .await;

    // A plain answer (a question back) goes through the response_url too.
    let url = rig.fake.response_url();
    rig.fake
        .send(command("C0RANDOM", "suspend maria", &url))
        .await;
    rig.wait("the question through the response_url", || {
        fake.responses().len() == 2
    })
    .await;
    let said = rig.fake.responses()[1].1["text"].to_string();
    assert!(said.contains("More than one person matches"), "{said}");
    assert_eq!(rig.harness.mutations().await.len(), 1);
}

/// When Slack will not say who someone is (`users.info` rate-limited past every retry), the
/// person is told Slack did not answer, not "something went wrong", and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_not_answering_is_said_plainly() {
    let rig = Rig::new().await;
    rig.fake.rate_limit("users.info", 5);
    rig.post(
        "EvSlackDown",
        mention("U0LEO", "unlock <@U0BOB>", CHANNEL, "1700000031.000100"),
    )
    .await;
    rig.wait("the answer", || rig.reply_in("1700000031.000100").is_some())
        .await;
    let said = rig.reply_in("1700000031.000100").unwrap();
    assert!(
        said.contains(
            "I couldn't reach Slack to look up the people involved, so nothing was changed"
        ),
        "{said}"
    );
    assert!(rig.harness.mutations().await.is_empty());
}
