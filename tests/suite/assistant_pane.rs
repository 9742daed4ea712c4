//! Slack's assistant pane, end to end: the real `okta-agent run` and the fake Slack. Opening a
//! thread offers starter prompts; a question there gets a cited answer under a "looking this
//! up" status; a request becomes the usual card; and a workspace without AI features loses the
//! niceties, not the answers.

use crate::common::fake_slack::{assistant_thread_started, dm_in_thread, wait_until};
use crate::common::rig::Rig;

const DM: &str = "D0DM";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pane_offers_prompts_answers_with_sources_and_turns_requests_into_cards() {
    let rig = Rig::new().await;
    let thread = "1700003000.000100";
    rig.post("EvPane", assistant_thread_started("U0KATE", DM, thread))
        .await;
    rig.until_done("EvPane").await;
    let offered = rig.fake.suggested_prompts(DM).expect("starter prompts");
    let titles: Vec<&str> = offered["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["I'm locked out", "Request access to an app", "Reset my MFA"]
    );

    // A question: a status while it is worked on, then an answer with its source, in the thread.
    rig.post(
        "EvPaneQ",
        dm_in_thread(
            "U0KATE",
            DM,
            "how do I set up okta verify?",
            "1700003000.000200",
            thread,
        ),
    )
    .await;
    rig.until_done("EvPaneQ").await;
    assert!(rig.fake.statuses().contains(&(
        DM.to_string(),
        thread.to_string(),
        "is looking this up…".to_string()
    )));
    let answer = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == DM && m["thread_ts"] == thread)
        .expect("an answer in the thread");
    assert!(
        answer["blocks"]
            .to_string()
            .contains("intranet.example.com/it/mfa"),
        "{answer}"
    );

    // A request: the same card as anywhere else.
    rig.post(
        "EvPaneUnlock",
        dm_in_thread("U0KATE", DM, "unlock me", "1700003000.000300", thread),
    )
    .await;
    rig.until_done("EvPaneUnlock").await;
    let card = rig
        .cards()
        .into_iter()
        .find(|m| m["channel"] == DM && m["thread_ts"] == thread)
        .expect("a card in the thread");
    assert!(card["blocks"].to_string().contains("Unlock"), "{card}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ai_features_nothing_breaks() {
    let rig = Rig::new().await;
    rig.fake.without_ai_features();
    let thread = "1700003100.000100";
    rig.post("EvPaneOff", assistant_thread_started("U0KATE", DM, thread))
        .await;
    rig.until_done("EvPaneOff").await;
    assert!(rig.fake.suggested_prompts(DM).is_none());
    rig.post(
        "EvPaneOffQ",
        dm_in_thread(
            "U0KATE",
            DM,
            "how do I set up okta verify?",
            "1700003100.000200",
            thread,
        ),
    )
    .await;
    rig.until_done("EvPaneOffQ").await;
    assert!(rig.fake.statuses().is_empty());
    let fake = rig.fake.clone();
    wait_until("the answer anyway", || {
        fake.messages()
            .iter()
            .any(|m| m["channel"] == DM && m["thread_ts"] == thread)
    })
    .await;
}
