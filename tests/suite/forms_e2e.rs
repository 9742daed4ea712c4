//! The `/okta` form end to end: the real binary, the fake Slack holding modals as Slack does
//! (with its limits), and the simulator. Submissions and suggestions are answered in the ack.

use serde_json::{json, Value};

use crate::common::fake_slack::{
    envelope_id, interactive, message_shortcut, shortcut, slash_command, wait_until,
};
use crate::common::rig::{Rig, TRIAGE};

/// `/okta` alone by `user`; returns the modal Slack opened.
async fn open_form(rig: &Rig, user: &str) -> Value {
    let before = rig.fake.calls("views.open").len();
    rig.fake
        .send(slash_command(
            &envelope_id(),
            user,
            "C0HELPDESK",
            "",
            &rig.fake.response_url(),
        ))
        .await;
    let fake = rig.fake.clone();
    wait_until("the form to open", || {
        fake.calls("views.open").len() > before
    })
    .await;
    rig.fake.last_view().expect("an open modal")
}

fn actions_offered(view: &Value) -> Vec<String> {
    view["blocks"][0]["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap().to_string())
        .collect()
}

fn block_ids(view: &Value) -> Vec<String> {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["block_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Sends an interactive payload that is answered in the ack; returns the answer.
async fn answered(rig: &Rig, payload: Value) -> Value {
    let envelope = envelope_id();
    rig.fake.send(interactive(&envelope, payload, true)).await;
    let fake = rig.fake.clone();
    wait_until("the answer in the ack", || fake.acked(&envelope)).await;
    rig.fake.ack_payload(&envelope).unwrap_or(json!({}))
}

/// Submits the form as `user` with these values; returns what the ack answered.
async fn submit(rig: &Rig, user: &str, view_id: &str, values: Value) -> Value {
    answered(rig, rig.fake.view_submission(user, view_id, values)).await
}

fn values(
    tool: &str,
    user: Option<&str>,
    text: Option<&str>,
    group: Option<&str>,
    duration: Option<&str>,
    reason: Option<&str>,
) -> Value {
    let mut values = json!({
        "action": {"tool": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": tool}, "value": tool}}},
        "user": {"user": {"type": "users_select", "selected_user": user}},
        "user_text": {"text": {"type": "plain_text_input", "value": text}},
        "reason": {"text": {"type": "plain_text_input", "value": reason}},
    });
    if let Some(group) = group {
        values["group"] = json!({"group": {"type": "external_select", "selected_option": {"text": {"type": "plain_text", "text": "g"}, "value": group}}});
    }
    if duration.is_some() {
        values["duration"] = json!({"text": {"type": "plain_text_input", "value": duration}});
    }
    values
}

async fn proposals(rig: &Rig, requester: &str) -> i64 {
    rig.store()
        .await
        .proposals_by_requester_since(requester, 0)
        .await
        .unwrap() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_form_shows_field_errors_and_changes_nothing() {
    let rig = Rig::new().await;
    let view = open_form(&rig, "U0LEO").await;
    let view_id = view["id"].as_str().unwrap().to_string();
    assert_eq!(
        block_ids(&view),
        vec!["action", "user", "user_text", "reason"]
    );
    assert!(
        actions_offered(&view).contains(&"deactivate_user".to_string()),
        "an admin sees every action"
    );
    // No person, and a destructive action without a reason.
    let answer = submit(
        &rig,
        "U0LEO",
        &view_id,
        values("suspend_user", None, None, None, None, None),
    )
    .await;
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(
        answer["errors"]["user"]
            .as_str()
            .unwrap()
            .contains("Pick a person"),
        "{answer}"
    );
    assert!(
        answer["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("reason is required"),
        "{answer}"
    );
    // Someone Okta does not know.
    let answer = submit(
        &rig,
        "U0LEO",
        &view_id,
        values(
            "suspend_user",
            None,
            Some("nobody@example.com"),
            None,
            None,
            Some("test"),
        ),
    )
    .await;
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(answer["errors"]["user"].is_string(), "{answer}");
    // A protected target: Grace is an Okta administrator.
    let answer = submit(
        &rig,
        "U0LEO",
        &view_id,
        values(
            "suspend_user",
            Some("U0GRACE"),
            None,
            None,
            None,
            Some("test"),
        ),
    )
    .await;
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(
        answer["errors"]["user"]
            .as_str()
            .unwrap()
            .contains("protected"),
        "{answer}"
    );
    // An ambiguous or unknown group id, and a duration that is not one.
    let answer = submit(
        &rig,
        "U0LEO",
        &view_id,
        values(
            "add_user_to_group",
            Some("U0ANA"),
            None,
            Some("00gnosuchgroup"),
            Some("forever"),
            None,
        ),
    )
    .await;
    assert_eq!(
        answer["errors"]["duration"].as_str().unwrap(),
        "Write a length like “8 hours”, “90 minutes” or “2 days”.",
        "{answer}"
    );
    assert_eq!(proposals(&rig, "U0LEO").await, 0, "nothing stored");
    assert_eq!(rig.harness.mutations().await.len(), 0, "nothing in Okta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_suggestions_come_from_okta_search_and_only_okta_groups() {
    let rig = Rig::new().await;
    let view = open_form(&rig, "U0LEO").await;
    let view_id = view["id"].as_str().unwrap().to_string();
    // Choosing a group action shows the group and duration fields.
    rig.fake
        .send(interactive(
            &envelope_id(),
            rig.fake
                .view_select("U0LEO", &view_id, "action", "tool", "add_user_to_group"),
            false,
        ))
        .await;
    let fake = rig.fake.clone();
    wait_until("the form to show the group field", || {
        fake.calls("views.update").len() == 1
    })
    .await;
    let updated = rig.fake.view(&view_id).unwrap();
    assert_eq!(
        block_ids(&updated),
        vec!["action", "user", "user_text", "group", "duration", "reason"]
    );
    let options = |answer: &Value| -> Vec<String> {
        answer["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["text"]["text"].as_str().unwrap().to_string())
            .collect()
    };
    let zoom = answered(
        &rig,
        rig.fake
            .block_suggestion("U0LEO", &view_id, "group", "group", "Zo"),
    )
    .await;
    assert_eq!(options(&zoom), vec!["Zoom Users"], "{zoom}");
    assert_eq!(
        zoom["options"][0]["value"],
        rig.harness.group_id("Zoom Users")
    );
    let imported = answered(
        &rig,
        rig.fake
            .block_suggestion("U0LEO", &view_id, "group", "group", "AD"),
    )
    .await;
    assert!(
        options(&imported).is_empty(),
        "an APP_GROUP is not offered: {imported}"
    );
    let admins = answered(
        &rig,
        rig.fake
            .block_suggestion("U0LEO", &view_id, "group", "group", "Okta"),
    )
    .await;
    assert!(
        options(&admins).is_empty(),
        "a protected group is not offered: {admins}"
    );
    let searches = rig
        .harness
        .requests()
        .await
        .into_iter()
        .filter(|r| r.path.contains("/api/v1/groups"))
        .count();
    assert!(
        searches >= 3,
        "answered from Okta, not a list kept in okta-agent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_confirms_in_the_form_and_time_bound_access_ends_once_across_a_restart() {
    let mut rig = Rig::new().await;
    let view = open_form(&rig, "U0LEO").await;
    let view_id = view["id"].as_str().unwrap().to_string();
    let zoom = rig.harness.group_id("Zoom Users");
    let answer = submit(
        &rig,
        "U0LEO",
        &view_id,
        values(
            "add_user_to_group",
            Some("U0KATE"),
            None,
            Some(&zoom),
            Some("8 hours"),
            Some("Q4 all-hands"),
        ),
    )
    .await;
    // Leo may approve this alone: the modal's last step is the confirmation.
    assert_eq!(answer["response_action"], "update", "{answer}");
    let confirm = &answer["view"];
    assert_eq!(confirm["callback_id"], "okta_form_confirm");
    assert!(
        confirm["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("Add to group* Kate Nguyen"),
        "{confirm}"
    );
    assert!(
        confirm["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("for 8 hours"),
        "{confirm}"
    );
    // The card is in triage, with the reason and the length, and Leo got a link to it.
    let fake = rig.fake.clone();
    wait_until("the card in triage", || {
        fake.messages()
            .iter()
            .any(|m| m["channel"] == TRIAGE && m["blocks"].to_string().contains("Approval needed"))
    })
    .await;
    let card = rig
        .fake
        .messages()
        .into_iter()
        .find(|m| m["channel"] == TRIAGE)
        .unwrap();
    let text = card["blocks"].to_string();
    assert!(
        text.contains("Q4 all-hands") && text.contains("8 hours") && text.contains("/okta form"),
        "{text}"
    );
    wait_until("Leo's link", || {
        fake.messages().iter().any(|m| {
            m["channel"] == "U0LEO"
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("see the card")
        })
    })
    .await;
    // Confirm: done, once.
    let slack_view_id = view_id.clone();
    let mut confirm_view = confirm.clone();
    confirm_view["id"] = json!(slack_view_id);
    confirm_view["team_id"] = json!("T1");
    confirm_view["hash"] = json!("9.h9");
    let submission = json!({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U0LEO", "name": "leo"}, "api_app_id": "A1", "token": "t", "trigger_id": "1.2.3", "view": confirm_view});
    let answer = answered(&rig, submission).await;
    assert_eq!(answer["response_action"], "clear", "{answer}");
    wait_until("the membership", || {
        fake.messages()
            .iter()
            .any(|m| m["channel"] == TRIAGE && m["blocks"].to_string().contains("Access ends"))
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 1);

    // okta-agent stops; while it is down the eight hours pass; at the next start the removal
    // runs once, in the card's thread.
    assert_eq!(rig.stop().await.code(), Some(0));
    let db = rig.store().await;
    db.execute_raw("UPDATE jobs SET run_at = run_at - 8 * 3600 WHERE kind = 'end_access'")
        .await
        .unwrap();
    rig.start().await;
    // The add, then its removal.
    rig.until_mutations(2).await;
    let removed = rig
        .harness
        .mutations()
        .await
        .iter()
        .filter(|m| m.method == "DELETE")
        .count();
    assert_eq!(removed, 1, "{}", rig.logs());
    let card_ts = card["ts"].clone();
    wait_until("the news in the card's thread", || {
        fake.messages().iter().any(|m| {
            m["thread_ts"] == card_ts
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Time-bound access to Zoom Users ended")
        })
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        rig.harness
            .mutations()
            .await
            .iter()
            .filter(|m| m.method == "DELETE")
            .count(),
        1,
        "exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_form_offers_only_what_policy_allows_and_sends_the_rest_to_approval() {
    let rig = Rig::new().await;
    let view = open_form(&rig, "U0BOB").await;
    let view_id = view["id"].as_str().unwrap().to_string();
    assert_eq!(
        actions_offered(&view),
        vec!["reset_password", "unlock_user"],
        "only Bob's self-service actions"
    );
    // A forged submission for an action he may not ask for is refused on the action field.
    let answer = submit(
        &rig,
        "U0BOB",
        &view_id,
        values("suspend_user", Some("U0JAMAL"), None, None, None, Some("x")),
    )
    .await;
    assert!(answer["errors"]["action"].is_string(), "{answer}");
    // His own password reset needs an admin: the form closes, the card waits in triage.
    let answer = submit(
        &rig,
        "U0BOB",
        &view_id,
        values("reset_password", Some("U0BOB"), None, None, None, None),
    )
    .await;
    assert_eq!(answer["response_action"], "clear", "{answer}");
    let fake = rig.fake.clone();
    wait_until("the card in triage", || {
        fake.messages()
            .iter()
            .any(|m| m["channel"] == TRIAGE && m["blocks"].to_string().contains("Reset password"))
    })
    .await;
    assert_eq!(rig.harness.mutations().await.len(), 0);
    // Unlocking himself he may approve alone: the confirmation step, then done.
    let view = open_form(&rig, "U0BOB").await;
    let view_id = view["id"].as_str().unwrap().to_string();
    let answer = submit(
        &rig,
        "U0BOB",
        &view_id,
        values("unlock_user", Some("U0BOB"), None, None, None, None),
    )
    .await;
    assert_eq!(answer["response_action"], "update", "{answer}");
    let mut confirm_view = answer["view"].clone();
    confirm_view["id"] = json!(view_id);
    confirm_view["team_id"] = json!("T1");
    confirm_view["hash"] = json!("99.h99");
    let submission = json!({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U0BOB", "name": "bob"}, "api_app_id": "A1", "token": "t", "trigger_id": "1.2.3", "view": confirm_view});
    assert_eq!(answered(&rig, submission).await["response_action"], "clear");
    rig.until_status("bob.smith@example.com", "ACTIVE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shortcuts_open_the_form_and_the_message_shortcut_fills_in_the_person() {
    let rig = Rig::new().await;
    let before = rig.fake.calls("views.open").len();
    rig.fake
        .send(interactive(
            &envelope_id(),
            shortcut("U0LEO", "okta_action"),
            false,
        ))
        .await;
    let fake = rig.fake.clone();
    wait_until("the form from the global shortcut", || {
        fake.calls("views.open").len() > before
    })
    .await;
    let message = json!({"type": "message", "user": "U0KATE", "ts": "1700002000.000100", "text": "<@U0JAMAL> shared his password in a public channel"});
    rig.fake
        .send(interactive(
            &envelope_id(),
            message_shortcut("U0LEO", "okta_action_message", "C0SECURITY", message),
            false,
        ))
        .await;
    wait_until("the form from the message shortcut", || {
        fake.calls("views.open").len() > before + 1
    })
    .await;
    let view = rig.fake.last_view().unwrap();
    assert_eq!(
        view["blocks"][1]["element"]["initial_user"], "U0JAMAL",
        "{view}"
    );
}
