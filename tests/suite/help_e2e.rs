//! The virtual assistant end to end: the real `okta-agent run` binary, the fake Slack over
//! Socket Mode, the Okta simulator, and the starter help documents in a real folder.

use serde_json::{json, Value};

use crate::common::fake_slack::{
    channel_message, click, direct_message, envelope_id, mention, wait_until,
};
use crate::common::rig::{Rig, HELP};

fn answer_in(rig: &Rig, thread_ts: &str) -> Option<Value> {
    rig.fake
        .messages()
        .into_iter()
        .find(|m| m["thread_ts"] == thread_ts && m["ts"] != thread_ts && m["channel"] == HELP)
}

fn answers_in(rig: &Rig, thread_ts: &str) -> usize {
    rig.fake
        .messages()
        .iter()
        .filter(|m| m["thread_ts"] == thread_ts && m["ts"] != thread_ts)
        .count()
}

/// Ana's top-level message in the help channel, handled: the answer in its thread, if any.
async fn ask(rig: &Rig, event_id: &str, text: &str, ts: &str) -> Option<Value> {
    rig.post(event_id, channel_message("U0ANA", HELP, text, ts))
        .await;
    rig.until_done(event_id).await;
    answer_in(rig, ts)
}

fn buttons(message: &Value) -> Vec<(String, String)> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["action_id"].as_str().unwrap_or_default().to_string(),
                e["text"]["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_question_gets_one_cited_answer_and_chatter_gets_none() {
    let rig = Rig::new().await;
    rig.post(
        "EvLunch",
        channel_message(
            "U0ANA",
            HELP,
            "anyone up for lunch at noon?",
            "1700000100.000100",
        ),
    )
    .await;
    rig.post(
        "EvThanks",
        channel_message(
            "U0KATE",
            HELP,
            "thank you so much, that worked",
            "1700000100.000150",
        ),
    )
    .await;
    rig.post(
        "EvReset",
        channel_message(
            "U0ANA",
            HELP,
            "How do I reset my password?",
            "1700000100.000200",
        ),
    )
    .await;
    for event in ["EvLunch", "EvThanks", "EvReset"] {
        rig.until_done(event).await;
    }
    assert!(
        answer_in(&rig, "1700000100.000100").is_none(),
        "chatter is left alone"
    );
    assert!(
        answer_in(&rig, "1700000100.000150").is_none(),
        "thanks are left alone"
    );
    let answer = answer_in(&rig, "1700000100.000200").expect("an answer in the question's thread");
    let blocks = answer["blocks"].to_string();
    assert!(
        blocks.contains("Forgot password?"),
        "the best section is quoted: {blocks}"
    );
    assert!(
        blocks.contains("Source: <https://intranet.example.com/it/reset-password#"),
        "the citation links to the section: {blocks}"
    );
    assert!(blocks.contains("See also"), "{blocks}");
    let shown: String = answer["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] != "actions")
        .map(|b| b.to_string())
        .collect();
    for leaked in ["title:", "tags:", "self_service:", "link:", "---"] {
        assert!(
            !shown.contains(leaked),
            "front matter {leaked:?} is never shown: {shown}"
        );
    }
    // Ana may reset her own password with an admin's approval, so the answer offers it.
    let offered = buttons(&answer);
    assert_eq!(
        offered,
        vec![
            ("self_service".to_string(), "Reset my password".to_string()),
            ("help_solved".to_string(), "That solved it".to_string()),
            ("help_escalate".to_string(), "I still need help".to_string()),
        ]
    );

    // The same message delivered again under another event id is not answered twice.
    rig.post(
        "EvResetAgain",
        channel_message(
            "U0ANA",
            HELP,
            "How do I reset my password?",
            "1700000100.000200",
        ),
    )
    .await;
    rig.until_done("EvResetAgain").await;
    assert_eq!(answers_in(&rig, "1700000100.000200"), 1);

    // People talking in a thread are left alone; a mention in the thread is answered.
    let mut in_thread = channel_message(
        "U0KATE",
        HELP,
        "how do I reset my password too?",
        "1700000100.000300",
    );
    in_thread["thread_ts"] = json!("1700000100.000200");
    let envelope = rig.post("EvThreadTalk", in_thread).await;
    rig.until_acked(&envelope).await;
    // Work is recorded before it is acknowledged: nothing recorded means nothing to answer.
    assert_eq!(rig.inbound_state("EvThreadTalk").await, None);
    assert_eq!(answers_in(&rig, "1700000100.000200"), 1);
    let mut asked = mention(
        "U0KATE",
        "how do I reset my password?",
        HELP,
        "1700000100.000400",
    );
    asked["thread_ts"] = json!("1700000100.000200");
    rig.post("EvThreadMention", asked).await;
    rig.until_done("EvThreadMention").await;
    assert_eq!(
        answers_in(&rig, "1700000100.000200"),
        2,
        "the mention is answered"
    );

    // A direct message that is not an Okta action is a help question too.
    rig.post(
        "EvDm",
        direct_message(
            "U0KATE",
            "how do I connect to the VPN?",
            "1700000100.000500",
        ),
    )
    .await;
    rig.until_done("EvDm").await;
    let reply = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == "D0DM" && m["ts"] != "1700000100.000500")
        .expect("a reply in the DM");
    assert!(
        reply["blocks"].to_string().contains("Connect to the VPN"),
        "{reply}"
    );
    assert_eq!(rig.harness.mutations().await.len(), 0);
}

/// A question in words no rule knows ("verification method") is answered through Slack from
/// the document it is spelled like, with no model configured; a longer message sharing one
/// word with a document ("locked my keys in the car") stays a coincidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_the_rules_leave_silent_is_answered_from_its_spelling() {
    let rig = Rig::new().await;
    let answer = ask(
        &rig,
        "EvSpelled",
        "okta keeps asking me to add a second verification method on login, how?",
        "1700000150.000100",
    )
    .await
    .expect("an answer in the question's thread");
    let blocks = answer["blocks"].to_string();
    assert!(
        blocks.contains("Source: <https://intranet.example.com/it/mfa#"),
        "{blocks}"
    );
    assert!(ask(
        &rig,
        "EvKeys",
        "locked my keys in the car, does anyone have a coat hanger lol",
        "1700000150.000200",
    )
    .await
    .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_answers_per_channel_are_rate_limited() {
    let rig = Rig::with_slack_config("help_answers_per_channel_per_hour = 2").await;
    for (i, text) in [
        "how do I connect to the VPN?",
        "what are the password requirements?",
        "how do I report phishing?",
    ]
    .iter()
    .enumerate()
    {
        let event = format!("EvRate{i}");
        rig.post(
            &event,
            channel_message("U0ANA", HELP, text, &format!("1700000200.00010{i}")),
        )
        .await;
        rig.until_done(&event).await;
    }
    assert!(answer_in(&rig, "1700000200.000100").is_some());
    assert!(answer_in(&rig, "1700000200.000101").is_some());
    assert!(
        answer_in(&rig, "1700000200.000102").is_none(),
        "the third answer in the hour waits for a person"
    );
    assert!(rig.logs().contains("over their hourly limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_service_button_leads_to_the_usual_card_and_execution() {
    let rig = Rig::new().await;
    // Bob is locked out in the demo org, and unlocking yourself needs no approval.
    rig.post(
        "EvLocked",
        channel_message("U0BOB", HELP, "I'm locked out of okta", "1700000300.000100"),
    )
    .await;
    rig.until_done("EvLocked").await;
    let answer = answer_in(&rig, "1700000300.000100").expect("an answer");
    assert!(answer["blocks"]
        .to_string()
        .contains("My account is locked out"));
    assert_eq!(
        buttons(&answer)[0],
        ("self_service".into(), "Unlock my account".into())
    );

    // Someone else's click does nothing for them or for Bob.
    rig.fake
        .send(click(
            &envelope_id(),
            "U0KATE",
            "self_service",
            "unlock_user",
            &answer,
        ))
        .await;
    rig.wait("Kate's refusal", || !rig.ephemerals_to("U0KATE").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0KATE")[0].contains("for the person who asked"));
    assert!(rig.cards().is_empty());

    // Bob's click is the typed request "unlock me": the same card, then the same execution.
    rig.fake
        .send(click(
            &envelope_id(),
            "U0BOB",
            "self_service",
            "unlock_user",
            &answer,
        ))
        .await;
    rig.wait("Bob's card", || !rig.cards().is_empty()).await;
    let card = rig.cards().remove(0);
    assert_eq!(
        card["thread_ts"], "1700000300.000100",
        "the card is in the question's thread"
    );
    let text = card["blocks"].to_string();
    assert!(text.contains("Unlock"), "{text}");
    assert!(text.contains("bob.smith@example.com"), "{text}");
    let id = crate::common::rig::proposal_of(&card);
    rig.click("U0BOB", "approve", &id, &card).await;
    let harness = &rig.harness;
    wait_until("the unlock in Okta", || {
        harness.sandbox.state.lock().org.users.iter().any(|u| {
            u.login == "bob.smith@example.com" && u.status == okta_agent::okta::UserStatus::Active
        })
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 1, "exactly one change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_edited_on_disk_is_served_without_a_restart() {
    let rig = Rig::new().await;
    let question = "the office printer says offline, how do I fix it?";
    assert!(
        ask(&rig, "EvPrinter1", question, "1700000400.000100")
            .await
            .is_none(),
        "no document fits yet"
    );

    // IT adds a document, and a broken one next to it.
    let reloads = rig.reloads();
    std::fs::write(
        rig.help_docs().join("printers.md"),
        "---\ntitle: Printers\nlink: https://intranet.example.com/it/printers\ntags: [printer, printing, offline]\n---\n# Printers\n\n## Printer offline\nTurn the printer off and on, then remove and re-add it under Settings → Printers.\n",
    )
    .unwrap();
    std::fs::write(
        rig.help_docs().join("broken.md"),
        "---\ntitle: [oops\n---\nText\n",
    )
    .unwrap();
    rig.wait("a reload", || rig.reloads() > reloads).await;
    assert!(
        rig.logs().contains("broken.md: front matter"),
        "the broken file is named in the log"
    );
    let answer = ask(&rig, "EvPrinter2", question, "1700000400.000200")
        .await
        .expect("the new document answers");
    assert!(answer["blocks"]
        .to_string()
        .contains("remove and re-add it"));
    assert!(answer["blocks"].to_string().contains(
        "<https://intranet.example.com/it/printers#printer-offline|Printers › Printer offline>"
    ));
    // The rest are still served.
    assert!(ask(&rig, "EvVpn", "vpn won't connect", "1700000400.000300")
        .await
        .is_some());

    // An edit is served too.
    let reloads = rig.reloads();
    std::fs::write(
        rig.help_docs().join("printers.md"),
        "---\ntitle: Printers\ntags: [printer, printing, offline]\n---\n# Printers\n\n## Printer offline\nCall the front desk on extension 100.\n",
    )
    .unwrap();
    rig.wait("a reload", || rig.reloads() > reloads).await;
    let answer = ask(&rig, "EvPrinter3", question, "1700000400.000400")
        .await
        .expect("the edited document answers");
    assert!(answer["blocks"].to_string().contains("extension 100"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_documents_at_once() {
    // The folder is checked only hourly here, so only the SIGHUP can bring the change in.
    let rig = Rig::with_config("", "reload_seconds = 3600\n").await;
    std::fs::write(
        rig.help_docs().join("printers.md"),
        "# Printers\n\n## Printer offline\nTurn the printer off and on.\n",
    )
    .unwrap();
    let reloads = rig.reloads();
    rig.sighup();
    rig.wait("the SIGHUP reload", || rig.reloads() > reloads)
        .await;
    assert!(rig.logs().contains("SIGHUP: reloading help documents"));
    rig.post(
        "EvPrinter",
        channel_message(
            "U0ANA",
            HELP,
            "printer is offline, any idea?",
            "1700000500.000100",
        ),
    )
    .await;
    rig.until_done("EvPrinter").await;
    assert!(answer_in(&rig, "1700000500.000100").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intranet_pages_are_fetched_cached_and_served_after_an_offline_restart() {
    use axum::routing::get;
    let page = "<html><head><title>Printing at the office</title><style>p{}</style></head><body><nav>Home · IT</nav><h1>Printing at the office</h1><h2>Printer offline</h2><p>Turn the printer <b>off and on</b>, then re-add it.</p><script>track()</script></body></html>";
    let app = axum::Router::new().route(
        "/wiki/printing",
        get(move || async move { axum::response::Html(page) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wiki/printing", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut rig = Rig::with_config(
        "",
        &format!("reload_seconds = 1\npages = [{{ url = \"{url}\", refresh_minutes = 60 }}]\n"),
    )
    .await;
    let question = "the printer is offline, how do I fix it?";
    rig.wait("the page in the cache", || rig.reloads() > 0)
        .await;
    let answer = ask(&rig, "EvPage1", question, "1700000600.000100")
        .await
        .expect("the page answers");
    let blocks = answer["blocks"].to_string();
    assert!(blocks.contains("off and on"), "{blocks}");
    assert!(
        !blocks.contains("track()"),
        "scripts are not text: {blocks}"
    );
    assert!(
        blocks.contains(&format!("<{url}|Printing at the office")),
        "the page is cited: {blocks}"
    );

    // The intranet goes away; a restart still answers from the cache.
    server.abort();
    assert_eq!(rig.stop().await.code(), Some(0));
    rig.start().await;
    assert!(
        ask(&rig, "EvPage2", question, "1700000600.000200")
            .await
            .is_some(),
        "served from the cache"
    );
    let logs = rig.logs();
    let second_run = logs.rsplit("\n---\n").next().unwrap();
    assert!(!second_run.contains("not fetched yet"), "{second_run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_solved_by_an_admin_becomes_a_draft_document_for_them() {
    let rig = Rig::new().await;
    let ts = "1700000700.000100";
    let question = "wifi: the guest password doesn't work for visitors";
    rig.fake.user_message("U0ANA", HELP, ts, ts, question);
    rig.post("EvGuest", channel_message("U0ANA", HELP, question, ts))
        .await;
    rig.until_done("EvGuest").await;
    let answer = answer_in(&rig, ts).expect("an answer from the Wi-Fi page");
    // It did not help: Ana escalates, and triage hears about it with a link to the thread.
    rig.escalate("U0ANA", &answer).await;
    // Triage is told first, then Ana: wait for hers rather than look once.
    rig.wait("Ana to be told a person will follow up", || {
        rig.fake
            .calls("chat.postEphemeral")
            .into_iter()
            .chain(rig.fake.calls("chat.postMessage"))
            .any(|c| {
                c.body["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("person will follow up")
            })
    })
    .await;
    // Leo answers in the thread and marks it solved.
    rig.fake.user_message(
        "U0LEO",
        HELP,
        "1700000700.000900",
        ts,
        "The guest code changes every Monday; reception has this week's card.",
    );
    rig.fake
        .send(click(
            &envelope_id(),
            "U0LEO",
            "help_solved",
            "solved",
            &answer,
        ))
        .await;
    rig.wait("the draft document for Leo", || {
        rig.fake.messages().iter().any(|m| m["channel"] == "U0LEO")
    })
    .await;
    let draft = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == "U0LEO")
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(draft.contains("Nothing is added automatically"), "{draft}");
    assert!(draft.contains("reception has this week's card"), "{draft}");
    // The draft is a document the store would accept as written (its title has a colon).
    let body = draft
        .split_once("---\n")
        .map(|(_, rest)| format!("---\n{rest}"))
        .unwrap();
    let doc = okta_agent::knowledge::doc::parse(
        "draft.md",
        &body,
        okta_agent::knowledge::doc::Format::Markdown,
    )
    .unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(
        doc.title.starts_with("wifi: the guest password"),
        "{}",
        doc.title
    );
    assert_eq!(
        std::fs::read_dir(rig.help_docs()).unwrap().count(),
        okta_agent::knowledge::STARTER.len(),
        "nothing was added to the folder"
    );
}

/// A model on a fake OpenAI-compatible endpoint that reads the sections it is sent, as a
/// real one does: it cites the section titled `cite` when the question is `asked`, and calls
/// anything else not an IT question. Returns the base URL and the requests it saw.
async fn judging_model(
    asked: &'static str,
    cite: &'static str,
    answer: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                let system = body["messages"][0]["content"].as_str().unwrap_or_default().to_string();
                let question = body["messages"][1]["content"].as_str().unwrap_or_default().to_string();
                log.lock().unwrap().push(body);
                let cited = system
                    .lines()
                    .find_map(|line| {
                        let (number, title) = line.strip_prefix('[')?.split_once("] ")?;
                        title.starts_with(cite).then(|| number.to_string())
                    });
                let content = match cited {
                    Some(number) if question == asked => format!("{answer} [{number}]"),
                    _ => "NOT_IT".to_string(),
                };
                axum::Json(json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "fake",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// With a model, a help-channel question that no document answers for sure gets the model's
/// cited answer from the closest documents, through the real binary and the fake Slack; the
/// same question without a model, and chatter with one, get nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_model_a_question_no_document_answers_for_sure_is_judged() {
    const ASKED: &str = "the verify thing wants a code every time, normal?";
    let mut rig = Rig::new().await;
    assert!(
        ask(&rig, "EvBare", ASKED, "1700000900.000100")
            .await
            .is_none(),
        "without a model, no document answers it for sure: silence"
    );
    let (url, seen) = judging_model(
        ASKED,
        "Set up multi-factor authentication",
        "Install Okta Verify from your phone's app store.",
    )
    .await;
    assert_eq!(rig.stop().await.code(), Some(0));
    rig.env = vec![
        ("OPENAI_BASE_URL".into(), url),
        ("OPENAI_MODEL".into(), "fake".into()),
    ];
    rig.start().await;

    let answer = ask(&rig, "EvJudged", ASKED, "1700000900.000200")
        .await
        .expect("the model's answer in the question's thread");
    let blocks = answer["blocks"].to_string();
    assert!(
        blocks.contains("Install Okta Verify from your phone"),
        "{blocks}"
    );
    assert!(
        blocks.contains("https://intranet.example.com/it/mfa"),
        "it cites the section the model named: {blocks}"
    );
    assert!(
        ask(
            &rig,
            "EvLunch",
            "anyone up for lunch at noon? which place?",
            "1700000900.000300"
        )
        .await
        .is_none(),
        "chatter stays unanswered"
    );
    let seen = seen.lock().unwrap();
    let system = seen[0]["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        system.contains("using only the numbered help-document sections"),
        "{system}"
    );
    assert!(
        system.contains("[2] "),
        "the closest documents to judge: {system}"
    );
}
