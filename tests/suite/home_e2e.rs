//! The App Home, end to end: the real `okta-agent run` and the fake Slack's `views.publish`
//! and `app_home_opened`. An admin sees what waits for them, the time-bound access running,
//! the latest actions and the service's health; an employee sees their own account, their
//! self-service and questions to ask, and never an Approve button. Approving from the Home is
//! the same claim as in the thread; a click forged from an employee's Home is refused.

use serde_json::{json, Value};

use crate::common::fake_slack::{envelope_id, interactive};
use crate::common::rig::{card_text, Rig};

async fn open_home(rig: &Rig, user: &str) -> Value {
    let before = rig.fake.home_publishes(user);
    rig.post(
        &format!("EvHome{user}{before}"),
        json!({"type": "app_home_opened", "user": user, "channel": format!("D{user}"), "tab": "home",
               "event_ts": "1700009000.000100"}),
    )
    .await;
    rig.wait("the Home to be drawn", || {
        rig.fake.home_publishes(user) > before
    })
    .await;
    rig.fake.home_of(user).unwrap()
}

/// `user` presses a button on their Home.
async fn press_on_home(rig: &Rig, user: &str, action: &str, value: &str) {
    rig.fake
        .send(interactive(
            &envelope_id(),
            rig.fake.home_click(user, action, value),
            false,
        ))
        .await;
}

/// Whether the bot DMed `user` something containing `text`.
fn dm_says(rig: &Rig, user: &str, text: &str) -> bool {
    rig.fake
        .messages()
        .iter()
        .any(|m| m["channel"] == user && m["text"].as_str().unwrap_or_default().contains(text))
}

fn action_ids(view: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for block in view["blocks"].as_array().unwrap() {
        if let Some(id) = block["accessory"]["action_id"].as_str() {
            ids.push(id.to_string());
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(id) = element["action_id"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_and_an_employee_each_see_their_own_home() {
    let rig = Rig::new().await;
    let (waiting, _) = rig
        .request("U0LEO", "reset mfa for <@U0BOB>", "1700009000.000100")
        .await;
    let (access, card) = rig
        .request(
            "U0LEO",
            "add <@U0JAMAL> to Engineering for 8 hours",
            "1700009000.000200",
        )
        .await;
    rig.click("U0GRACE", "approve", &access, &card).await;
    rig.until_mutations(1).await;
    // The outcome is recorded after Okta answers, and the card says so after that.
    rig.wait("the access card to say it is done", || {
        card_text(&rig.fake, &access).contains("Done:")
    })
    .await;

    let home = open_home(&rig, "U0GRACE").await;
    let text = home.to_string();
    for expected in [
        "Waiting for your approval",
        "Reset MFA factors",
        "bob.smith@example.com",
        "Time-bound access",
        "jamal.reed@example.com in Engineering",
        "End now",
        "Recent actions",
        "executed add_user_to_group on jamal.reed@example.com, approved by <@U0GRACE> · <https://acme.slack.com/archives/C0HELPDESK/p",
        "Okta rate limit:",
        "Planner: the built-in command engine",
        "Socket Mode connections open: 1",
        "System Log: not read",
        "Your account",
        "grace.kim@example.com",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from Grace's Home: {text}"
        );
    }
    let ids = action_ids(&home);
    assert!(ids.contains(&"approve".to_string()), "{ids:?}");
    assert!(ids.contains(&"end_access".to_string()), "{ids:?}");
    assert!(text.contains(&format!("decision:{waiting}")));

    // Leo asked for the MFA reset himself; it is two-person, so it does not wait for him.
    let leo = open_home(&rig, "U0LEO").await;
    assert!(
        !leo.to_string().contains(&format!("decision:{waiting}")),
        "{leo}"
    );

    let bob = open_home(&rig, "U0BOB").await;
    let text = bob.to_string();
    for expected in [
        "Your account",
        "Bob Smith (bob.smith@example.com)",
        "Okta status: LOCKED_OUT",
        "Last sign-in:",
        "Password last changed:",
        "Unlock my account",
        "Ask IT",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from Bob's Home: {text}"
        );
    }
    for hidden in [
        "Waiting for your approval",
        "Recent actions",
        "Health",
        &waiting,
    ] {
        assert!(!text.contains(hidden), "{hidden:?} on Bob's Home: {text}");
    }
    let ids = action_ids(&bob);
    assert!(!ids.contains(&"approve".to_string()), "{ids:?}");
    assert!(ids.contains(&"home_self_service".to_string()), "{ids:?}");
    assert!(ids.contains(&"home_ask".to_string()), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_from_the_home_is_the_same_claim_and_a_forged_click_is_refused() {
    let rig = Rig::new().await;
    let (id, _) = rig
        .request("U0LEO", "reset mfa for <@U0ANA>", "1700009100.000100")
        .await;
    open_home(&rig, "U0GRACE").await;
    open_home(&rig, "U0BOB").await;

    // Bob's Home has no Approve; he sends one anyway.
    press_on_home(&rig, "U0BOB", "approve", &id).await;
    rig.wait("Bob told no, by DM", || {
        dm_says(&rig, "U0BOB", "You can't do that")
    })
    .await;
    assert!(rig.harness.mutations().await.is_empty());

    // Grace approves from her Home: the change is made once, the card in the thread says so,
    // and her Home is drawn again without it.
    let drawn = rig.fake.home_publishes("U0GRACE");
    press_on_home(&rig, "U0GRACE", "approve", &id).await;
    rig.until_mutations(1).await;
    rig.wait("the card in the thread", || {
        card_text(&rig.fake, &id).contains("Done: Reset MFA")
    })
    .await;
    rig.wait("Grace's Home drawn again", || {
        rig.fake.home_publishes("U0GRACE") > drawn
            && !rig
                .fake
                .home_of("U0GRACE")
                .unwrap()
                .to_string()
                .contains(&id)
    })
    .await;
    // A second press from a stale Home changes nothing.
    press_on_home(&rig, "U0GRACE", "approve", &id).await;
    rig.wait("Grace told it was decided", || {
        dm_says(&rig, "U0GRACE", "already")
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 1);

    // Bob's own self-service from his Home: the usual card in his DM.
    press_on_home(&rig, "U0BOB", "home_self_service", "unlock_user").await;
    rig.wait("Bob's card in his DM", || {
        rig.cards().iter().any(|c| c["channel"] == "U0BOB")
    })
    .await;
    // And a starter question is answered in his DM.
    let question = rig.fake.home_of("U0BOB").unwrap()["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "ask")
        .unwrap()["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    press_on_home(&rig, "U0BOB", "home_ask", &question).await;
    rig.wait("the answer in Bob's DM", || {
        rig.fake
            .messages()
            .iter()
            .any(|m| m["channel"] == "U0BOB" && m["blocks"].to_string().contains("help_solved"))
    })
    .await;
}
