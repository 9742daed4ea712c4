//! From Slack payloads to [`Work`]: pure functions, no I/O. An event or interaction becomes
//! work okta-agent must do, or nothing. Text is normalized here, once, before any planner sees
//! it ([`super::markup::normalize`]); edits are never requests; own and other bots' messages
//! are ignored. Anything malformed decodes to nothing rather than to a guess.
//!
//! It reads the JSON form of the event or interaction, not slack-morphism's typed models: the
//! listener re-encodes the typed callback once (a few microseconds), and the fuzzer and the
//! trust-boundary tests feed these functions any JSON at all, including shapes the typed models
//! would refuse as a whole. Moving to the typed models field by field is a known next step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::markup::normalize;
use crate::engine::Choice;

/// Work that was acknowledged: what the store keeps until it is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// A mention, DM or `/okta` command.
    Request {
        user: String,
        /// Normalized text, without the bot's own mention.
        text: String,
        channel: String,
        /// The message's own ts (absent for slash commands).
        ts: Option<String>,
        /// Where replies go: the thread root.
        thread_ts: Option<String>,
        /// A slash command's `response_url`: answers go there when the bot cannot post in
        /// the conversation (it is not a member of it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_url: Option<String>,
    },
    /// A plain question in a help channel, for the help documents.
    HelpQuestion {
        user: String,
        text: String,
        channel: String,
        ts: String,
    },
    /// Someone opened a thread with okta-agent in Slack's assistant pane: offer starter prompts.
    AssistantStarted {
        user: String,
        /// The assistant DM and its thread.
        channel: String,
        thread_ts: String,
    },
    /// A reply with a link in a help-channel thread: an IT admin may be pointing at the help
    /// document that answers the question.
    HelpReply {
        user: String,
        /// The reply as Slack sent it (links in Slack's markup).
        text: String,
        channel: String,
        /// The question: the thread's root.
        thread_ts: String,
    },
    /// A pick from an escalation's "Which doc answers this?" menu.
    HelpTeach {
        user: String,
        /// The document's source, as the menu listed it.
        doc: String,
        /// The question: its help channel and ts.
        channel: String,
        question_ts: String,
        /// Where the menu is (the triage channel).
        menu_channel: String,
    },
    /// "Solved" or "I still need help" under a help answer.
    HelpFeedback {
        user: String,
        solved: bool,
        channel: String,
        /// The answer message.
        message_ts: String,
        /// The question it answered.
        thread_ts: String,
    },
    /// A button click on a card.
    Click {
        user: String,
        proposal_id: String,
        choice: Choice,
        channel: String,
        message_ts: String,
        thread_ts: Option<String>,
    },
    /// A help answer's self-service button ("Unlock my account").
    SelfService {
        user: String,
        /// The tool's name, as the button carries it.
        tool: String,
        channel: String,
        message_ts: String,
        thread_ts: Option<String>,
    },
    /// "Approve without verification" on a card: open the form asking why.
    OpenOverride {
        user: String,
        trigger_id: String,
        proposal_id: String,
    },
    /// The reason form submitted: approve without verification.
    Override {
        user: String,
        proposal_id: String,
        reason: String,
    },
    /// The person opened the app's Home tab: draw it for them.
    HomeOpened { user: String },
    /// A button on a person's Home: Approve, Cancel or End access now on a proposal.
    HomeClick {
        user: String,
        proposal_id: String,
        choice: Choice,
    },
    /// A self-service button on a person's Home.
    HomeSelfService { user: String, tool: String },
    /// A starter question on a person's Home: answered in their DM.
    HomeAsk { user: String, question: String },
    /// "Unlock me" under a lockout DM.
    UnlockMe {
        user: String,
        /// The lockout's System Log event id, as the button carries it.
        lockout_id: String,
        channel: String,
        message_ts: String,
    },
    /// An emoji added to or removed from a message, under an `[[automations.reactions]]` rule.
    Reaction {
        user: String,
        emoji: String,
        channel: String,
        /// The message reacted to.
        message_ts: String,
        /// The message's author, when Slack says.
        author: Option<String>,
        added: bool,
    },
    /// `/okta` with no text, or the "Okta action" shortcuts: open the form.
    OpenForm {
        user: String,
        trigger_id: String,
        /// Where the form was opened from (the message shortcut's channel).
        channel: Option<String>,
        /// The message shortcut's message: its text and author, to prefill the person.
        message: Option<FormMessage>,
    },
    /// The form's action changed: show or hide the group and duration fields.
    FormChanged {
        user: String,
        view_id: String,
        hash: String,
        tool: String,
        /// The form's `private_metadata`, carried through.
        metadata: String,
    },
    /// A request that came too fast, or while too much was in flight: the person is told to
    /// slow down, nothing else happens.
    Throttled {
        user: String,
        channel: String,
        thread_ts: Option<String>,
        busy: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_url: Option<String>,
    },
}

/// The message a message shortcut was used on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormMessage {
    pub channel: String,
    pub ts: String,
    pub text: String,
    pub author: Option<String>,
}

/// What decoding needs to know about this installation.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub bot_user_id: String,
    pub help_channels: Vec<String>,
    /// Reactions matter only where a rule is active for their emoji.
    pub automations: crate::automations::Automations,
}

/// What an `events_api` event asks of okta-agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventAction {
    Work(Work),
    /// `user_change`: forget what is cached about this person.
    PersonChanged(String),
    /// `subteam_members_changed`: a Slack user group changed; re-read the admins.
    UserGroupChanged(String),
    Ignore,
}

/// Decodes an `events_api` event.
pub fn event(event: &Value, context: &Context) -> EventAction {
    let Some(kind) = event["type"].as_str() else {
        return EventAction::Ignore;
    };
    if kind == "user_change" {
        return match event["user"]["id"].as_str() {
            Some(id) => EventAction::PersonChanged(id.to_string()),
            None => EventAction::Ignore,
        };
    }
    if kind == "app_home_opened" {
        return match (event["user"].as_str(), event["tab"].as_str()) {
            (Some(user), Some("home")) => EventAction::Work(Work::HomeOpened {
                user: user.to_string(),
            }),
            _ => EventAction::Ignore,
        };
    }
    if kind == "subteam_members_changed" {
        return match event["subteam_id"].as_str() {
            Some(id) => EventAction::UserGroupChanged(id.to_string()),
            None => EventAction::Ignore,
        };
    }
    if kind == "assistant_thread_started" {
        let thread = &event["assistant_thread"];
        return match (
            thread["user_id"].as_str(),
            thread["channel_id"].as_str(),
            thread["thread_ts"].as_str(),
        ) {
            (Some(user), Some(channel), Some(thread_ts)) => {
                EventAction::Work(Work::AssistantStarted {
                    user: user.to_string(),
                    channel: channel.to_string(),
                    thread_ts: thread_ts.to_string(),
                })
            }
            _ => EventAction::Ignore,
        };
    }
    if matches!(kind, "reaction_added" | "reaction_removed") {
        return match reaction(kind == "reaction_added", event, context) {
            Some(work) => EventAction::Work(work),
            None => EventAction::Ignore,
        };
    }
    match work_from_message(kind, event, context) {
        Some(work) => EventAction::Work(work),
        None => EventAction::Ignore,
    }
}

fn work_from_message(kind: &str, event: &Value, context: &Context) -> Option<Work> {
    let user = event["user"].as_str()?;
    if user == context.bot_user_id || event.get("bot_id").is_some_and(|b| !b.is_null()) {
        return None;
    }
    // An edit is never a request: `message_changed` has a subtype, and an edit that adds a
    // mention arrives as an `app_mention` carrying `edited`.
    if event.get("edited").is_some_and(|e| !e.is_null()) {
        return None;
    }
    let plain = event.get("subtype").is_none_or(Value::is_null);
    let channel = event["channel"].as_str()?;
    let raw = event["text"].as_str().unwrap_or_default();
    let ts = event["ts"].as_str()?;
    let is_request = match kind {
        "app_mention" => true,
        // Mentions in channels also arrive as `message`; only DMs are requests here.
        "message" => event["channel_type"] == "im" && plain,
        _ => false,
    };
    if !is_request {
        let in_help_channel = kind == "message"
            && plain
            && context.help_channels.iter().any(|c| c == channel)
            && !mentions(raw, &context.bot_user_id);
        // A reply with a link in a help-channel thread: perhaps an admin naming the document
        // that answers the question. Replies without a link are conversation, not work.
        if let Some(thread_ts) = event["thread_ts"].as_str().filter(|t| *t != ts) {
            return (in_help_channel && raw.contains("http")).then(|| Work::HelpReply {
                user: user.to_string(),
                text: raw.to_string(),
                channel: channel.to_string(),
                thread_ts: thread_ts.to_string(),
            });
        }
        // A new question (not a thread reply, not a mention) in a help channel.
        let question = in_help_channel && event.get("thread_ts").is_none_or(Value::is_null);
        return question.then(|| Work::HelpQuestion {
            user: user.to_string(),
            text: normalize(raw),
            channel: channel.to_string(),
            ts: ts.to_string(),
        });
    }
    Some(Work::Request {
        user: user.to_string(),
        text: strip_mention(&normalize(raw), &context.bot_user_id),
        channel: channel.to_string(),
        thread_ts: Some(event["thread_ts"].as_str().unwrap_or(ts).to_string()),
        ts: Some(ts.to_string()),
        response_url: None,
    })
}

/// A reaction on a message, where a rule is active for its emoji; the bot's own reactions and
/// reactions on files are nothing.
fn reaction(added: bool, event: &Value, context: &Context) -> Option<Work> {
    let user = event["user"].as_str()?;
    let emoji = event["reaction"].as_str()?;
    let item = &event["item"];
    if item["type"] != "message" || user == context.bot_user_id {
        return None;
    }
    let channel = item["channel"].as_str()?;
    context.automations.reaction_rule(emoji, channel)?;
    Some(Work::Reaction {
        user: user.to_string(),
        emoji: emoji.to_string(),
        channel: channel.to_string(),
        message_ts: item["ts"].as_str()?.to_string(),
        author: event["item_user"].as_str().map(str::to_string),
        added,
    })
}

/// Whether Slack text mentions `user` (`<@U1>` or `<@U1|name>`).
fn mentions(raw: &str, user: &str) -> bool {
    raw.contains(&format!("<@{user}>")) || raw.contains(&format!("<@{user}|"))
}

/// Removes the bot's own mention from normalized text.
pub fn strip_mention(text: &str, bot_user_id: &str) -> String {
    text.replace(&format!("<@{bot_user_id}>"), " ")
        .trim()
        .to_string()
}

/// Decodes an interaction: a shortcut (open the form), the form's action changing, a card
/// button or help feedback. Form submissions and group suggestions are answered in the ack
/// instead (see `SlackApp::submit_form`).
pub fn interaction(payload: &Value) -> Option<Work> {
    let user = payload["user"]["id"].as_str()?.to_string();
    match payload["type"].as_str()? {
        "shortcut" if payload["callback_id"] == crate::automations::forms::SHORTCUT => {
            return Some(Work::OpenForm {
                user,
                trigger_id: payload["trigger_id"].as_str()?.to_string(),
                channel: None,
                message: None,
            })
        }
        "message_action"
            if payload["callback_id"] == crate::automations::forms::MESSAGE_SHORTCUT =>
        {
            let channel = payload["channel"]["id"].as_str()?.to_string();
            let message = &payload["message"];
            return Some(Work::OpenForm {
                user,
                trigger_id: payload["trigger_id"].as_str()?.to_string(),
                channel: Some(channel.clone()),
                message: Some(FormMessage {
                    channel,
                    ts: message["ts"].as_str().unwrap_or_default().to_string(),
                    text: normalize(message["text"].as_str().unwrap_or_default()),
                    author: message["user"].as_str().map(str::to_string),
                }),
            });
        }
        "block_actions" => {}
        _ => return None,
    }
    if payload["view"]["type"] == "home" {
        let action = &payload["actions"][0];
        let value = action["value"].as_str()?.to_string();
        return match action["action_id"].as_str()? {
            "approve" | "cancel" | "end_access" => Some(Work::HomeClick {
                user,
                proposal_id: value,
                choice: match action["action_id"].as_str()? {
                    "approve" => Choice::Approve,
                    "cancel" => Choice::Cancel,
                    _ => Choice::EndAccess,
                },
            }),
            super::blocks::HOME_SELF_SERVICE => Some(Work::HomeSelfService { user, tool: value }),
            super::blocks::HOME_ASK => Some(Work::HomeAsk {
                user,
                question: value,
            }),
            _ => None,
        };
    }
    if payload["container"]["type"] == "view" {
        let action = &payload["actions"][0];
        if action["action_id"] != "tool" {
            return None;
        }
        let view = &payload["view"];
        return Some(Work::FormChanged {
            user,
            view_id: payload["container"]["view_id"].as_str()?.to_string(),
            hash: view["hash"].as_str().unwrap_or_default().to_string(),
            tool: action["selected_option"]["value"].as_str()?.to_string(),
            metadata: view["private_metadata"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        });
    }
    let action = &payload["actions"][0];
    let container = &payload["container"];
    let message_ts = container["message_ts"].as_str()?.to_string();
    let action_id = action["action_id"].as_str()?;
    if let Some(solved) = match action_id {
        "help_solved" => Some(true),
        "help_escalate" => Some(false),
        _ => None,
    } {
        return Some(Work::HelpFeedback {
            user,
            solved,
            channel: container["channel_id"].as_str()?.to_string(),
            thread_ts: payload["message"]["thread_ts"]
                .as_str()
                .unwrap_or(&message_ts)
                .to_string(),
            message_ts,
        });
    }
    if action_id == super::blocks::TEACH_ACTION {
        let block = action["block_id"].as_str()?;
        let (channel, question_ts) = block
            .strip_prefix(super::blocks::TEACH_ACTION)?
            .strip_prefix(':')?
            .split_once(':')?;
        return Some(Work::HelpTeach {
            user,
            doc: action["selected_option"]["value"].as_str()?.to_string(),
            channel: channel.to_string(),
            question_ts: question_ts.to_string(),
            menu_channel: container["channel_id"].as_str()?.to_string(),
        });
    }
    if action_id == super::blocks::OVERRIDE_ACTION {
        return Some(Work::OpenOverride {
            user,
            trigger_id: payload["trigger_id"].as_str()?.to_string(),
            proposal_id: action["value"].as_str()?.to_string(),
        });
    }
    if action_id == super::blocks::UNLOCK_ME_ACTION {
        return Some(Work::UnlockMe {
            user,
            lockout_id: action["value"].as_str()?.to_string(),
            channel: container["channel_id"].as_str()?.to_string(),
            message_ts,
        });
    }
    if action_id == "self_service" {
        return Some(Work::SelfService {
            user,
            tool: action["value"].as_str()?.to_string(),
            channel: container["channel_id"].as_str()?.to_string(),
            thread_ts: payload["message"]["thread_ts"].as_str().map(str::to_string),
            message_ts,
        });
    }
    let choice = match action_id {
        "approve" => Choice::Approve,
        "cancel" => Choice::Cancel,
        "undo" => Choice::Undo,
        "end_access" => Choice::EndAccess,
        "verify_first" => Choice::VerifyFirst,
        _ => return None,
    };
    Some(Work::Click {
        user,
        proposal_id: action["value"].as_str()?.to_string(),
        choice,
        channel: container["channel_id"]
            .as_str()
            .or(payload["channel"]["id"].as_str())?
            .to_string(),
        message_ts,
        thread_ts: payload["message"]["thread_ts"].as_str().map(str::to_string),
    })
}

/// The dedupe key of a reaction: one person's emoji on one message is one trigger, however
/// often it is added (and one removal).
pub fn reaction_key(work: &Work) -> Option<String> {
    match work {
        Work::Reaction {
            user,
            emoji,
            channel,
            message_ts,
            added,
            ..
        } => Some(format!(
            "reaction:{channel}:{message_ts}:{emoji}:{user}:{}",
            if *added { "added" } else { "removed" }
        )),
        _ => None,
    }
}

/// The dedupe key of an interaction's work: the same click delivered twice is one click.
pub fn interaction_key(work: &Work, payload: &Value) -> Option<String> {
    let action_ts = payload["actions"][0]["action_ts"]
        .as_str()
        .unwrap_or_default();
    match work {
        Work::HelpFeedback {
            user,
            message_ts,
            solved,
            ..
        } => Some(format!("help:{user}:{message_ts}:{solved}:{action_ts}")),
        Work::Click {
            user,
            proposal_id,
            choice,
            ..
        } => Some(format!("click:{user}:{proposal_id}:{choice:?}:{action_ts}")),
        Work::SelfService {
            user,
            tool,
            message_ts,
            ..
        } => Some(format!("self:{user}:{message_ts}:{tool}:{action_ts}")),
        Work::UnlockMe {
            user, lockout_id, ..
        } => Some(format!("unlock-me:{user}:{lockout_id}:{action_ts}")),
        Work::OpenOverride { trigger_id, .. } => Some(format!("override-form:{trigger_id}")),
        Work::HomeClick {
            user,
            proposal_id,
            choice,
        } => Some(format!(
            "home-click:{user}:{proposal_id}:{choice:?}:{action_ts}"
        )),
        Work::HomeSelfService { user, tool } => {
            Some(format!("home-self:{user}:{tool}:{action_ts}"))
        }
        Work::HomeAsk { user, .. } => Some(format!("home-ask:{user}:{action_ts}")),
        // Keyed by the form's view when it is accepted.
        Work::Override { .. } | Work::HomeOpened { .. } => None,
        Work::OpenForm { trigger_id, .. } => Some(format!("form:{trigger_id}")),
        Work::HelpTeach {
            user,
            channel,
            question_ts,
            doc,
            ..
        } => Some(format!(
            "teach:{user}:{channel}:{question_ts}:{doc}:{action_ts}"
        )),
        Work::FormChanged {
            view_id,
            hash,
            tool,
            ..
        } => Some(format!("form-change:{view_id}:{hash}:{tool}")),
        Work::Request { .. }
        | Work::HelpQuestion { .. }
        | Work::HelpReply { .. }
        | Work::AssistantStarted { .. }
        | Work::Throttled { .. }
        | Work::Reaction { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Context {
        Context {
            bot_user_id: "UBOT".into(),
            help_channels: vec!["C0HELP".into()],
            ..Context::default()
        }
    }

    #[test]
    fn mentions_become_requests_with_plain_text() {
        let event_json = json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1",
            "text": "<@UBOT> unlock <mailto:jane@acme.com|jane@acme.com> &amp; tell <@U0ANA|ana>"});
        assert_eq!(
            event(&event_json, &context()),
            EventAction::Work(Work::Request {
                user: "U1".into(),
                text: "unlock jane@acme.com & tell <@U0ANA>".into(),
                channel: "C1".into(),
                ts: Some("1.1".into()),
                thread_ts: Some("1.1".into()),
                response_url: None,
            })
        );
    }

    #[test]
    fn edits_bots_and_others_are_ignored() {
        let edited = json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1",
            "text": "<@UBOT> unlock <@U2>", "edited": {"user": "U1", "ts": "1.2"}});
        assert_eq!(event(&edited, &context()), EventAction::Ignore);
        let changed = json!({"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
            "message": {"user": "U1", "text": "unlock me", "ts": "1.1"}, "ts": "1.3"});
        assert_eq!(event(&changed, &context()), EventAction::Ignore);
        let own = json!({"type": "app_mention", "user": "UBOT", "channel": "C1", "ts": "1.1", "text": "x"});
        assert_eq!(event(&own, &context()), EventAction::Ignore);
        let bot = json!({"type": "message", "user": "U9", "bot_id": "B9", "channel": "C0HELP", "ts": "1.1", "text": "how do I reset my password"});
        assert_eq!(event(&bot, &context()), EventAction::Ignore);
        let person = json!({"type": "user_change", "user": {"id": "U7", "deleted": true}});
        assert_eq!(
            event(&person, &context()),
            EventAction::PersonChanged("U7".into())
        );
    }

    #[test]
    fn help_questions_are_new_top_level_messages_in_help_channels() {
        let question = json!({"type": "message", "user": "U1", "channel": "C0HELP", "ts": "1.1", "text": "how do I reset my &lt;password&gt;?"});
        assert_eq!(
            event(&question, &context()),
            EventAction::Work(Work::HelpQuestion {
                user: "U1".into(),
                text: "how do I reset my <password>?".into(),
                channel: "C0HELP".into(),
                ts: "1.1".into()
            })
        );
        let mut reply = question.clone();
        reply["thread_ts"] = json!("1.0");
        assert_eq!(event(&reply, &context()), EventAction::Ignore);
        // A reply with a link may be an admin naming the document that answers; it is kept raw.
        reply["text"] = json!("see <https://intranet.example.com/it/vpn|the VPN page>");
        assert_eq!(
            event(&reply, &context()),
            EventAction::Work(Work::HelpReply {
                user: "U1".into(),
                text: "see <https://intranet.example.com/it/vpn|the VPN page>".into(),
                channel: "C0HELP".into(),
                thread_ts: "1.0".into()
            })
        );
        let mut bot_link = reply.clone();
        bot_link["bot_id"] = json!("B1");
        assert_eq!(event(&bot_link, &context()), EventAction::Ignore);
        let mut elsewhere = question.clone();
        elsewhere["channel"] = json!("C0OTHER");
        assert_eq!(event(&elsewhere, &context()), EventAction::Ignore);
    }

    #[test]
    fn an_assistant_thread_opened_is_work_and_a_malformed_one_is_nothing() {
        let started = json!({"type": "assistant_thread_started", "event_ts": "1.1",
            "assistant_thread": {"user_id": "U0KATE", "channel_id": "D0DM", "thread_ts": "1.1",
                                 "context": {"channel_id": "C1"}}});
        assert_eq!(
            event(&started, &context()),
            EventAction::Work(Work::AssistantStarted {
                user: "U0KATE".into(),
                channel: "D0DM".into(),
                thread_ts: "1.1".into(),
            })
        );
        let mut malformed = started.clone();
        malformed["assistant_thread"]["channel_id"] = json!(null);
        assert_eq!(event(&malformed, &context()), EventAction::Ignore);
    }

    #[test]
    fn a_pick_from_the_escalation_menu_names_the_question_and_the_document() {
        let payload = json!({
            "type": "block_actions", "user": {"id": "U0LEO"},
            "container": {"type": "message", "message_ts": "5.5", "channel_id": "C0TRIAGE"},
            "message": {"ts": "5.5"},
            "actions": [{"type": "static_select", "action_id": "help_teach",
                         "block_id": "help_teach:C0HELP:1700000000.000100",
                         "selected_option": {"text": {"type": "plain_text", "text": "Wi-Fi"}, "value": "wifi.md"},
                         "action_ts": "9.9"}]
        });
        let work = interaction(&payload).unwrap();
        assert_eq!(
            work,
            Work::HelpTeach {
                user: "U0LEO".into(),
                doc: "wifi.md".into(),
                channel: "C0HELP".into(),
                question_ts: "1700000000.000100".into(),
                menu_channel: "C0TRIAGE".into(),
            }
        );
        assert_eq!(
            interaction_key(&work, &payload).unwrap(),
            "teach:U0LEO:C0HELP:1700000000.000100:wifi.md:9.9"
        );
        // A block id that is not the menu's carries nothing.
        let mut forged = payload.clone();
        forged["actions"][0]["block_id"] = json!("help_teach");
        assert_eq!(interaction(&forged), None);
    }

    #[test]
    fn clicks_carry_only_what_the_core_needs() {
        let payload = json!({
            "type": "block_actions", "user": {"id": "U1"},
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1"},
            "message": {"ts": "1.2", "thread_ts": "1.0"},
            "actions": [{"action_id": "approve", "value": "p-1", "action_ts": "9.9"}]
        });
        assert_eq!(
            interaction(&payload),
            Some(Work::Click {
                user: "U1".into(),
                proposal_id: "p-1".into(),
                choice: Choice::Approve,
                channel: "C1".into(),
                message_ts: "1.2".into(),
                thread_ts: Some("1.0".into())
            })
        );
        let mut other = payload.clone();
        other["actions"][0]["action_id"] = json!("something_else");
        assert_eq!(interaction(&other), None);
        assert_eq!(
            strip_mention("<@UBOT> unlock <@U2>", "UBOT"),
            "unlock <@U2>"
        );
    }
}
