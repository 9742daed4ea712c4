//! Property-based fuzzing on stable Rust (proptest): arbitrary and adversarial input for every
//! parser that takes outside text. A panic anywhere fails the case. `FUZZ_CASES` sets the
//! cases per target (CI: the default 512; the long run in the README: 200,000 per target,
//! over 1,000,000 executions in all).
//!
//! Targets: the command engine (after Slack normalization), Slack envelope and interaction
//! decoding (through slack-morphism's own types, as the listener does), tool-argument decoding
//! and checking, config parsing, and help-document parsing and search.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

use okta_agent::agent::rules;
use okta_agent::config::Settings;
use okta_agent::knowledge::doc::{parse, Format};
use okta_agent::knowledge::index::Synonyms;
use okta_agent::knowledge::HelpDocs;
use okta_agent::slack::decode::{self, Context};
use okta_agent::slack::markup;
use okta_agent::tools::Tool;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text people type in a hurry, with Slack's markup, emoji, odd Unicode and sometimes a lot of
/// it.
fn typed() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "\\PC{0,12}",
        2 => Just("unlock ".to_string()),
        1 => Just("add ".to_string()),
        1 => Just(" to ".to_string()),
        1 => Just(" from ".to_string()),
        1 => Just("reset mfa for ".to_string()),
        1 => Just("<@U0BOB>".to_string()),
        1 => Just("<@U0BOB|bob>".to_string()),
        1 => Just("<mailto:a@b.co|a@b.co>".to_string()),
        1 => Just("<https://x.io|x>".to_string()),
        1 => Just("<!channel>".to_string()),
        1 => Just("<#C0123|it>".to_string()),
        1 => Just("<!subteam^S1|@it>".to_string()),
        1 => Just("&amp;&lt;&gt;".to_string()),
        1 => Just("İİİİ".to_string()),
        1 => Just("ẞ🔒👀\u{200b}\u{202e}".to_string()),
        1 => Just("\"Zoom Users\"".to_string()),
        1 => Just("'s".to_string()),
        1 => Just("<".to_string()),
        1 => Just(">".to_string()),
    ];
    prop_oneof![
        9 => proptest::collection::vec(piece, 0..16).prop_map(|p| p.concat()),
        1 => "\\PC{2000,6000}",
    ]
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("U0LEO")),
        Just(json!("app_mention")),
        Just(json!("block_actions")),
        Just(json!("approve")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("user".to_string()),
                    Just("text".to_string()),
                    Just("channel".to_string()),
                    Just("ts".to_string()),
                    Just("thread_ts".to_string()),
                    Just("edited".to_string()),
                    Just("subtype".to_string()),
                    Just("actions".to_string()),
                    Just("container".to_string()),
                    Just("id".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A real-shaped event or interaction with some fields replaced by arbitrary values.
/// Values Slack really puts in those fields, so that mutations also make events the typed
/// models take, not only shapes they refuse.
fn plausible_value() -> impl Strategy<Value = Value> {
    proptest::sample::select(vec![
        Value::Null,
        json!("UBOT"),
        json!("U0BOB"),
        json!("C0HELP"),
        json!("C0SECURITY"),
        json!("D1"),
        json!("im"),
        json!("channel"),
        json!("1.1"),
        json!("1.0"),
        json!("message"),
        json!("app_mention"),
        json!("message_changed"),
        json!("bot_message"),
        json!("B1"),
        json!("lock"),
        json!("see <https://intranet.example.com/vpn|the VPN page>"),
        json!("<@UBOT> unlock <@U0BOB>"),
        json!({"user": "U0BOB", "ts": "1.2"}),
        json!({"type": "message", "channel": "C0SECURITY", "ts": "1.4"}),
        json!({"type": "file", "file": {"id": "F1"}}),
    ])
}

fn mutated_payload() -> impl Strategy<Value = Value> {
    let bases = vec![
        json!({"type": "app_mention", "user": "U0LEO", "channel": "C1", "ts": "1.1", "text": "<@UBOT> unlock <@U0BOB>"}),
        json!({"type": "message", "user": "U0BOB", "channel": "D1", "channel_type": "im", "ts": "1.2", "text": "reset my password"}),
        json!({"type": "message", "user": "U0ANA", "channel": "C0HELP", "ts": "1.3", "text": "how do I set up the VPN?"}),
        json!({"type": "user_change", "user": {"id": "U0BOB", "deleted": true}}),
        json!({"type": "block_actions", "user": {"id": "U0LEO"}, "container": {"message_ts": "1.1", "channel_id": "C1"}, "message": {"ts": "1.1"}, "actions": [{"action_id": "approve", "value": "p-1", "action_ts": "2.2"}]}),
        json!({"type": "reaction_added", "user": "U0LEO", "reaction": "lock", "item_user": "U0KATE", "item": {"type": "message", "channel": "C0SECURITY", "ts": "1.4"}, "event_ts": "1.5"}),
        json!({"type": "reaction_removed", "user": "U0LEO", "reaction": "lock", "item": {"type": "message", "channel": "C0SECURITY", "ts": "1.4"}, "event_ts": "1.6"}),
        json!({"type": "shortcut", "callback_id": "okta_action", "trigger_id": "1.2", "user": {"id": "U0LEO"}, "team": {"id": "T1"}}),
        json!({"type": "message_action", "callback_id": "okta_action_message", "trigger_id": "1.2", "user": {"id": "U0LEO"}, "team": {"id": "T1"}, "channel": {"id": "C1"}, "message": {"ts": "1.1", "user": "U0KATE", "text": "<@U0BOB> hi"}, "response_url": "https://hooks.slack.com/x"}),
        json!({"type": "block_actions", "user": {"id": "U0LEO"}, "container": {"type": "view", "view_id": "V1"}, "view": {"type": "modal", "hash": "1.1", "private_metadata": "{}"}, "actions": [{"type": "static_select", "action_id": "tool", "selected_option": {"value": "add_user_to_group"}}]}),
    ];
    (
        proptest::sample::select(bases),
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("type"),
                    Just("user"),
                    Just("text"),
                    Just("channel"),
                    Just("ts"),
                    Just("thread_ts"),
                    Just("edited"),
                    Just("subtype"),
                    Just("actions"),
                    Just("container"),
                    Just("bot_id"),
                    Just("channel_type"),
                    Just("reaction"),
                    Just("item"),
                    Just("callback_id"),
                    Just("message"),
                ],
                prop_oneof![any_json(), plausible_value()],
            ),
            0..4,
        ),
    )
        .prop_map(|(mut base, changes)| {
            for (key, value) in changes {
                base[key] = value;
            }
            base
        })
}

fn context() -> Context {
    Context {
        bot_user_id: "UBOT".into(),
        help_channels: vec!["C0HELP".into()],
        automations: okta_agent::automations::Automations {
            reactions: vec![okta_agent::automations::ReactionRule {
                emoji: "lock".into(),
                tool: Tool::SuspendUser,
                channels: vec!["C0SECURITY".into()],
                target: Default::default(),
                mode: Default::default(),
                grace_seconds: 60,
                reactors_required: 1,
            }],
        },
    }
}

proptest! {
    #![proptest_config(config())]

    /// The command engine never panics, whatever people type.
    #[test]
    fn command_engine(text in typed()) {
        let plain = markup::normalize(&text);
        let _ = rules::parse(&plain);
        let _ = rules::parse(&text);
        let _ = markup::untrusted(&plain);
    }

    /// Slack deliveries, through slack-morphism's types as the listener sees them, then ours.
    #[test]
    fn slack_envelopes_and_interactions(payload in prop_oneof![mutated_payload(), any_json()], raw in "\\PC{0,200}") {
        let context = context();
        let _ = decode::event_json(&payload, &context);
        let _ = decode::interaction(&payload);
        // What slack-morphism accepts and hands over to `on_push`: the typed path decides as
        // the JSON path does on the same event.
        let envelope = json!({"team_id": "T1", "api_app_id": "A1", "event": payload, "event_id": "Ev1", "event_time": 1, "type": "event_callback"});
        if let Ok(callback) = serde_json::from_value::<slack_morphism::prelude::SlackPushEventCallback>(envelope) {
            let typed = decode::event(&callback.event, &context);
            let event = serde_json::to_value(&callback.event).unwrap_or_default();
            prop_assert_eq!(typed, decode::event_json(&event, &context), "{}", event);
        }
        if let Ok(interaction) = serde_json::from_value::<slack_morphism::prelude::SlackInteractionEvent>(payload.clone()) {
            let value = serde_json::to_value(&interaction).unwrap_or_default();
            let _ = decode::interaction(&value);
        }
        let _ = serde_json::from_str::<slack_morphism::prelude::SlackPushEventCallback>(&raw);
    }

    /// Form submissions: any state reads back to a checked request or named field errors.
    #[test]
    fn form_submissions(values in any_json(), text in typed()) {
        let mut values = values;
        if let Value::Object(map) = &mut values {
            map.insert("user_text".into(), json!({"text": {"value": text}}));
        }
        match okta_agent::automations::forms::read_submission(&values, &Tool::ALL, 72) {
            Ok(submission) => prop_assert!(Tool::ALL.contains(&submission.tool)),
            Err(errors) => prop_assert!(!errors.is_empty() && errors.iter().all(|(_, why)| !why.is_empty())),
        }
    }

    /// Tool arguments as a model might send them: decoded and checked, never trusted.
    #[test]
    fn tool_arguments(tool in proptest::sample::select(Tool::ALL.to_vec()), args in prop_oneof![
        any_json().prop_map(|v| v.to_string()),
        "\\PC{0,100}",
        typed().prop_map(|t| json!({"user": t, "group": t, "query": t}).to_string()),
    ]) {
        if let Ok(call) = tool.decode(&args) {
            // A decoded call is always one the checks accept.
            let _ = call.arguments();
        }
        let _ = Tool::from_name(&args);
    }

    /// Config files: arbitrary text, and real sections with arbitrary values.
    #[test]
    fn config_files(text in prop_oneof![
        "\\PC{0,300}",
        (proptest::sample::select(vec!["[policy]", "[slack]", "[okta]", "[llm]", "[store]", "[knowledge]", "[audit]", "[[automations.reactions]]", "[nope]"]),
         proptest::collection::vec((
             proptest::sample::select(vec!["admins", "self_service", "two_person", "protected_groups", "approval_ttl_seconds", "triage_channels", "socket_connections", "org_url", "database_url", "inbound_retention_days", "key_file", "path", "max_requests_in_flight", "reset_password_delivery"]),
             prop_oneof![Just("[\"U0LEO\"]".to_string()), Just("[\"unlock_user\", \"find_user\"]".to_string()), Just("0".to_string()), Just("-1".to_string()), Just("99999999999".to_string()), Just("\"sqlite://x\"".to_string()), Just("\"postgres://db\"".to_string()), "\"\\\\PC{0,20}\"", Just("{ a = 1 }".to_string())],
         ), 0..6))
            .prop_map(|(section, pairs)| format!("{section}\n{}", pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join("\n"))),
    ]) {
        let env = |_: &str| None;
        match Settings::load_text(&env, None, Some(&text)) {
            Ok(_) => {}
            // Every problem is a sentence naming what is wrong.
            Err(e) => prop_assert!(!e.problems.is_empty() && e.problems.iter().all(|p| !p.trim().is_empty())),
        }
    }

    /// Help documents: any file content parses and indexes; any question searches.
    #[test]
    fn help_documents(name in "[a-z.-]{0,12}", text in typed(), question in typed()) {
        let mut docs = vec![parse("vpn.md", "# VPN\nConnect with GlobalProtect.", Format::Markdown).unwrap()];
        for format in [Format::Markdown, Format::Text, Format::Html] {
            // A document either parses or names what is wrong with it.
            match parse(&name, &text, format) {
                Ok(doc) => docs.push(doc),
                Err(why) => prop_assert!(!why.trim().is_empty()),
            }
        }
        let docs = HelpDocs::new(docs, Synonyms::new(&[]));
        let _ = docs.search(&question, 3);
        let _ = docs.answer(&question);
    }
}
