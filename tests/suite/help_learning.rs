//! The virtual assistant learns from IT admins, end to end: the real `okta-agent run`, the fake
//! Slack over Socket Mode and the starter documents. A question it stayed quiet on (or answered
//! badly) is taught by an admin, with a link in the thread or the escalation's menu; the next
//! person who asks the same gets the answer. Then the operator reviews, exports and forgets it
//! from the command line.

use serde_json::Value;

use crate::common::fake_slack::{channel_message, envelope_id, select, thread_reply, wait_until};
use crate::common::rig::{Rig, HELP};

/// The first reply in a question's thread in the help channel.
fn answer_in(rig: &Rig, thread_ts: &str) -> Option<Value> {
    rig.fake
        .messages()
        .into_iter()
        .find(|m| m["thread_ts"] == thread_ts && m["ts"] != thread_ts && m["channel"] == HELP)
}

fn cited(answer: &Value) -> String {
    answer["blocks"].to_string()
}

/// A top-level question in the help channel from `user`, handled.
async fn ask(rig: &Rig, event_id: &str, user: &str, text: &str, ts: &str) -> Option<Value> {
    rig.fake.user_message(user, HELP, ts, ts, text);
    rig.post(event_id, channel_message(user, HELP, text, ts))
        .await;
    rig.until_done(event_id).await;
    answer_in(rig, ts)
}

/// A reply in a help thread, handled.
async fn reply(rig: &Rig, event_id: &str, user: &str, text: &str, ts: &str, thread: &str) {
    rig.fake.user_message(user, HELP, ts, thread, text);
    rig.post(event_id, thread_reply(user, HELP, text, ts, thread))
        .await;
    rig.until_done(event_id).await;
}

const QUESTION: &str = "okta shows a purple screen with two digits on it";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_link_in_the_thread_teaches_the_assistant_and_the_next_person_gets_the_answer() {
    // A short lease: the running process reads the learned phrasings again every second.
    let rig =
        Rig::with_full_config("", "reload_seconds = 1\n", "[store]\nlease_seconds = 3\n").await;
    let first = "1700000900.000100";
    assert!(
        ask(&rig, "EvPurple", "U0ANA", QUESTION, first)
            .await
            .is_none(),
        "no document says 'purple screen': the assistant stays quiet"
    );
    // Kate (not an admin) helps with a link: colleagues' links teach nothing.
    reply(
        &rig,
        "EvKateLink",
        "U0KATE",
        "maybe https://intranet.example.com/it/wifi ?",
        "1700000900.000200",
        first,
    )
    .await;
    assert!(rig
        .store()
        .await
        .learned_phrasings()
        .await
        .unwrap()
        .is_empty());
    assert!(
        rig.ephemerals_to("U0KATE").is_empty(),
        "nobody is told anything"
    );
    // Leo (an admin) answers with the right page, at a section's anchor.
    reply(
        &rig,
        "EvLeoLink",
        "U0LEO",
        "That's Okta Verify number matching: https://intranet.example.com/it/mfa#push-notifications-dont-arrive",
        "1700000900.000300",
        first,
    )
    .await;
    let told = rig.ephemerals_to("U0LEO");
    assert!(
        told.iter().any(|t| t.contains("Learned (#1)") && t.contains("Set up multi-factor authentication")),
        "{told:?}"
    );
    let learned = rig.store().await.learned_phrasings().await.unwrap();
    assert_eq!(learned.len(), 1);
    assert_eq!(
        (
            learned[0].doc.as_str(),
            learned[0].phrasing.as_str(),
            learned[0].taught_by.as_str()
        ),
        ("mfa-setup.md", QUESTION, "U0LEO")
    );
    // Grace asks the same thing: the answer comes from the page Leo linked.
    let answer = ask(
        &rig,
        "EvPurple2",
        "U0GRACE",
        "Okta shows a purple screen with two digits on it?",
        "1700000901.000100",
    )
    .await
    .expect("the learned phrasing answers");
    assert!(
        cited(&answer).contains("intranet.example.com/it/mfa"),
        "{answer}"
    );
    // Teaching the same again changes nothing, and says so.
    reply(
        &rig,
        "EvLeoAgain",
        "U0LEO",
        "see https://intranet.example.com/it/mfa.",
        "1700000900.000400",
        first,
    )
    .await;
    assert!(rig
        .ephemerals_to("U0LEO")
        .iter()
        .any(|t| t.contains("already answers this") || t.contains("already has this question")));
    assert_eq!(
        rig.store().await.learned_phrasings().await.unwrap().len(),
        1
    );
    // A learned phrasing does not make the assistant answer chatter.
    assert!(ask(
        &rig,
        "EvChatter",
        "U0ANA",
        "two of us are going for a purple smoothie, anyone?",
        "1700000902.000100"
    )
    .await
    .is_none());
    // The audit says who taught what.
    let (ok, audit, _) = rig.cli(&["audit", "export"]).await;
    assert!(ok);
    assert!(
        audit.contains("help_learned") && audit.contains("U0LEO"),
        "{audit}"
    );

    // `help-docs --ask` explains as the service answers: with what was taught.
    let (ok, explained, err) = rig
        .cli(&[
            "help-docs",
            "--ask",
            "Okta shows a purple screen with two digits on it?",
        ])
        .await;
    assert!(ok, "{err}");
    assert!(
        explained.contains("matched learned phrasing #1")
            && explained.contains("intranet.example.com/it/mfa"),
        "{explained}"
    );
    // The operator reviews it, exports it as front matter, and forgets it.
    let (ok, listed, err) = rig.cli(&["help-docs", "--learned"]).await;
    assert!(ok, "{err}");
    assert!(
        listed.contains("mfa-setup.md") && listed.contains(QUESTION),
        "{listed}"
    );
    let (ok, patch, err) = rig.cli(&["help-docs", "--learned", "--export"]).await;
    assert!(ok, "{err}");
    let yaml = patch
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let doc = okta_agent::knowledge::doc::parse(
        "patched.md",
        &format!("---\ntitle: Patched\n{yaml}\n---\n# Patched\ntext\n"),
        okta_agent::knowledge::doc::Format::Markdown,
    )
    .unwrap_or_else(|e| panic!("{e}\n{patch}"));
    assert_eq!(doc.questions, vec![QUESTION.to_string()]);
    // A phrasing whose document is gone is listed as answering nothing.
    let mfa = rig.help_docs().join("mfa-setup.md");
    let text = std::fs::read_to_string(&mfa).unwrap();
    std::fs::remove_file(&mfa).unwrap();
    let (_, listed, _) = rig.cli(&["help-docs", "--learned"]).await;
    assert!(
        listed.contains("its document is no longer in the help docs"),
        "{listed}"
    );
    std::fs::write(&mfa, text).unwrap();
    let (_, listed, _) = rig.cli(&["help-docs", "--learned"]).await;
    assert!(!listed.contains("no longer in the help docs"), "{listed}");
    // The running process has the document back (it reloads the folder every second) and
    // answers from the phrasing again, so the silence below is the forgetting's alone.
    asks_until(
        &rig,
        "1700000904",
        true,
        "the restored document never answered again",
    )
    .await;
    let (ok, out, err) = rig.cli(&["help-docs", "--forget", "1"]).await;
    assert!(ok && out.contains("forgot #1"), "{out}{err}");
    let (ok, _, err) = rig.cli(&["help-docs", "--forget", "1"]).await;
    assert!(!ok && err.contains("no learned phrasing #1"), "{err}");
    assert!(rig
        .store()
        .await
        .learned_phrasings()
        .await
        .unwrap()
        .is_empty());
    let (_, audit, _) = rig.cli(&["audit", "export"]).await;
    assert!(audit.contains("help_forgotten") && audit.contains("command line (operator)"));
    // The running process stops using it: it reads the store again every lease interval.
    asks_until(
        &rig,
        "1700000903",
        false,
        "the forgotten phrasing still answers",
    )
    .await;
}

/// Grace asks [`QUESTION`] anew (each time a new message at `second.N`) until it is answered
/// (`answered`) or not, as the running process catches up with a change; `why` if it never does.
async fn asks_until(rig: &Rig, second: &str, answered: bool, why: &str) {
    for attempt in 0.. {
        let ts = format!("{second}.{attempt:06}");
        let event = format!("EvPurple{second}{attempt}");
        if ask(rig, &event, "U0GRACE", QUESTION, &ts).await.is_some() == answered {
            return;
        }
        assert!(attempt < 60, "{why}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_picks_the_answer_from_the_escalation_menu() {
    let rig = Rig::new().await;
    let ts = "1700000950.000100";
    let question = "my vpn keeps disconnecting";
    let answer = ask(&rig, "EvDrops", "U0ANA", question, ts)
        .await
        .expect("an answer");
    // It did not help: Ana escalates; triage gets the menu.
    let notice = rig.escalate("U0ANA", &answer).await;
    let block_id = format!("help_teach:{HELP}:{ts}");
    assert!(
        notice["blocks"]
            .to_string()
            .contains("Which doc answers this?"),
        "{notice}"
    );
    // Ana cannot teach from the menu (she is not an admin).
    let forged = envelope_id();
    rig.fake
        .send(select(&forged, "U0ANA", &block_id, "wifi.md", &notice))
        .await;
    wait_until("Ana to be refused", || {
        rig.ephemerals_to("U0ANA")
            .iter()
            .any(|t| t.contains("Only IT admins can teach"))
    })
    .await;
    assert!(rig
        .store()
        .await
        .learned_phrasings()
        .await
        .unwrap()
        .is_empty());
    // Leo picks the Wi-Fi page.
    rig.fake
        .send(select(
            &envelope_id(),
            "U0LEO",
            &block_id,
            "wifi.md",
            &notice,
        ))
        .await;
    wait_until("Leo to be told", || {
        rig.ephemerals_to("U0LEO")
            .iter()
            .any(|t| t.contains("Learned (#1)") && t.contains("Office Wi-Fi"))
    })
    .await;
    let learned = rig.store().await.learned_phrasings().await.unwrap();
    assert_eq!(learned[0].doc, "wifi.md");
    assert_eq!(learned[0].phrasing, question);
    // Kate asks the same: the Wi-Fi page answers first.
    let kate = ask(&rig, "EvDrops2", "U0KATE", question, "1700000951.000100")
        .await
        .expect("an answer");
    let blocks = cited(&kate);
    let wifi = blocks.find("intranet.example.com/it/wifi");
    let vpn = blocks.find("intranet.example.com/it/vpn");
    assert!(
        wifi.is_some() && vpn.is_none_or(|v| wifi < Some(v)),
        "the Wi-Fi page is cited first: {kate}"
    );
}
