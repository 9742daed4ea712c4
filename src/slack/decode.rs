//! From Slack payloads to [`Work`]: pure functions, no I/O. An event or interaction becomes
//! work okta-agent must do, or nothing. Text is normalized here, once, before any planner sees
//! it ([`super::markup::normalize`]); edits are never requests; own and other bots' messages
//! are ignored. Anything malformed decodes to nothing rather than to a guess.
//!
//! Events are read from slack-morphism's typed models as the listener hands them over: the
//! messages, mentions and reactions that come in volume, without re-encoding them. Events the
//! typed models do not carry (a type they do not model, such as `subteam_members_changed`, or
//! a shape they refuse, which arrives as `Unknown`) and the rare ones are read from their JSON,
//! and both paths decide through the same functions (the fuzz tests check they agree).
//! Interactions are still read from their JSON: they come a click at a time, off the volume
//! path, and the form code reads a submission's state as JSON
//! (`automations::forms::read_submission`), so moving them waits for a change to that code.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use slack_morphism::prelude::{
    SlackChannelType, SlackEventCallbackBody, SlackReactionName, SlackReactionsItem, SlackUserId,
};

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

/// Decodes an `events_api` event as slack-morphism parsed it. Messages, mentions and
/// reactions, the events that come in volume, are read from the typed models; every other
/// event, and any the typed models did not take (`Unknown`: a type they do not model, such as
/// `subteam_members_changed`, or a shape they refused), from its JSON ([`event_json`]).
pub fn event(event: &SlackEventCallbackBody, context: &Context) -> EventAction {
    let work = match event {
        SlackEventCallbackBody::AppMention(mention) => message(
            &Message {
                kind: MessageKind::Mention,
                user: Some(&mention.user.0),
                from_a_bot: false,
                edited: mention.edited.is_some(),
                plain: true,
                channel: Some(&mention.channel.0),
                direct: is_direct(mention.origin.channel_type.as_ref()),
                text: mention.content.text.as_deref().unwrap_or_default(),
                ts: Some(&mention.origin.ts.0),
                thread_ts: mention.origin.thread_ts.as_ref().map(|t| t.0.as_str()),
                in_thread: mention.origin.thread_ts.is_some(),
            },
            context,
        ),
        SlackEventCallbackBody::Message(posted) => message(
            &Message {
                kind: MessageKind::Message,
                user: posted.sender.user.as_ref().map(|u| u.0.as_str()),
                from_a_bot: posted.sender.bot_id.is_some(),
                // Slack marks an edit with a subtype (`message_changed`) on a message event.
                edited: false,
                plain: posted.subtype.is_none(),
                channel: posted.origin.channel.as_ref().map(|c| c.0.as_str()),
                direct: is_direct(posted.origin.channel_type.as_ref()),
                text: posted
                    .content
                    .as_ref()
                    .and_then(|c| c.text.as_deref())
                    .unwrap_or_default(),
                ts: Some(&posted.origin.ts.0),
                thread_ts: posted.origin.thread_ts.as_ref().map(|t| t.0.as_str()),
                in_thread: posted.origin.thread_ts.is_some(),
            },
            context,
        ),
        SlackEventCallbackBody::ReactionAdded(added) => reaction(
            &typed_reaction(
                true,
                &added.user,
                &added.reaction,
                added.item_user.as_ref(),
                &added.item,
            ),
            context,
        ),
        SlackEventCallbackBody::ReactionRemoved(removed) => reaction(
            &typed_reaction(
                false,
                &removed.user,
                &removed.reaction,
                removed.item_user.as_ref(),
                &removed.item,
            ),
            context,
        ),
        // Rare events: their JSON, as Slack sent it or as slack-morphism re-encodes it.
        SlackEventCallbackBody::Unknown(json) => return event_json(json, context),
        other => return event_json(&serde_json::to_value(other).unwrap_or_default(), context),
    };
    work.map_or(EventAction::Ignore, EventAction::Work)
}

/// Decodes an `events_api` event from its JSON: the path for events the typed models do not
/// carry. It reads what [`event`] reads from the typed models, and decides the same way (the
/// fuzz tests check that both agree on every event the typed models take).
pub fn event_json(event: &Value, context: &Context) -> EventAction {
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
    let present = |key: &str| event.get(key).is_some_and(|v| !v.is_null());
    let work = if matches!(kind, "reaction_added" | "reaction_removed") {
        let item = &event["item"];
        reaction(
            &Reaction {
                added: kind == "reaction_added",
                user: event["user"].as_str(),
                emoji: event["reaction"].as_str(),
                on_a_message: item["type"] == "message",
                channel: item["channel"].as_str(),
                message_ts: item["ts"].as_str(),
                author: event["item_user"].as_str(),
            },
            context,
        )
    } else {
        message(
            &Message {
                kind: match kind {
                    "app_mention" => MessageKind::Mention,
                    "message" => MessageKind::Message,
                    _ => MessageKind::Other,
                },
                user: event["user"].as_str(),
                from_a_bot: present("bot_id"),
                edited: present("edited"),
                plain: !present("subtype"),
                channel: event["channel"].as_str(),
                direct: event["channel_type"] == "im",
                text: event["text"].as_str().unwrap_or_default(),
                ts: event["ts"].as_str(),
                thread_ts: event["thread_ts"].as_str(),
                in_thread: present("thread_ts"),
            },
            context,
        )
    };
    work.map_or(EventAction::Ignore, EventAction::Work)
}

/// What a message or mention event says, from the typed models or from JSON.
struct Message<'a> {
    kind: MessageKind,
    user: Option<&'a str>,
    /// Posted by a bot (`bot_id`), whatever user it carries.
    from_a_bot: bool,
    edited: bool,
    /// No subtype: a person's plain post, not a join, an edit or a deletion.
    plain: bool,
    channel: Option<&'a str>,
    /// In a DM with okta-agent (`channel_type` `im`).
    direct: bool,
    /// As Slack sent it, in its markup.
    text: &'a str,
    ts: Option<&'a str>,
    thread_ts: Option<&'a str>,
    /// `thread_ts` is there at all (even in a shape that is not a string).
    in_thread: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MessageKind {
    Mention,
    Message,
    /// Any other event type: never work.
    Other,
}

fn is_direct(channel_type: Option<&SlackChannelType>) -> bool {
    channel_type.is_some_and(|t| t.0 == "im")
}

fn message(event: &Message, context: &Context) -> Option<Work> {
    let user = event.user?;
    if user == context.bot_user_id || event.from_a_bot {
        return None;
    }
    // An edit is never a request: `message_changed` has a subtype, and an edit that adds a
    // mention arrives as an `app_mention` carrying `edited`.
    if event.edited {
        return None;
    }
    let channel = event.channel?;
    let raw = event.text;
    let ts = event.ts?;
    let is_request = match event.kind {
        MessageKind::Mention => true,
        // Mentions in channels also arrive as `message`; only DMs are requests here.
        MessageKind::Message => event.direct && event.plain,
        MessageKind::Other => false,
    };
    if !is_request {
        let in_help_channel = event.kind == MessageKind::Message
            && event.plain
            && context.help_channels.iter().any(|c| c == channel)
            && !mentions(raw, &context.bot_user_id);
        // A reply with a link in a help-channel thread: perhaps an admin naming the document
        // that answers the question. Replies without a link are conversation, not work.
        if let Some(thread_ts) = event.thread_ts.filter(|t| *t != ts) {
            return (in_help_channel && raw.contains("http")).then(|| Work::HelpReply {
                user: user.to_string(),
                text: raw.to_string(),
                channel: channel.to_string(),
                thread_ts: thread_ts.to_string(),
            });
        }
        // A new question (not a thread reply, not a mention) in a help channel.
        let question = in_help_channel && !event.in_thread;
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
        thread_ts: Some(event.thread_ts.unwrap_or(ts).to_string()),
        ts: Some(ts.to_string()),
        response_url: None,
    })
}

/// What a reaction event says, from the typed models or from JSON.
struct Reaction<'a> {
    added: bool,
    user: Option<&'a str>,
    emoji: Option<&'a str>,
    /// On a message (not a file).
    on_a_message: bool,
    channel: Option<&'a str>,
    message_ts: Option<&'a str>,
    /// Who wrote the message.
    author: Option<&'a str>,
}

fn typed_reaction<'a>(
    added: bool,
    user: &'a SlackUserId,
    emoji: &'a SlackReactionName,
    author: Option<&'a SlackUserId>,
    item: &'a SlackReactionsItem,
) -> Reaction<'a> {
    let on = match item {
        SlackReactionsItem::Message(message) => Some(&message.origin),
        SlackReactionsItem::File(_) => None,
    };
    Reaction {
        added,
        user: Some(&user.0),
        emoji: Some(&emoji.0),
        on_a_message: on.is_some(),
        channel: on.and_then(|o| o.channel.as_ref()).map(|c| c.0.as_str()),
        message_ts: on.map(|o| o.ts.0.as_str()),
        author: author.map(|a| a.0.as_str()),
    }
}

/// A reaction on a message, where a rule is active for its emoji; the bot's own reactions and
/// reactions on files are nothing.
fn reaction(event: &Reaction, context: &Context) -> Option<Work> {
    let user = event.user?;
    let emoji = event.emoji?;
    if !event.on_a_message || user == context.bot_user_id {
        return None;
    }
    let channel = event.channel?;
    context.automations.reaction_rule(emoji, channel)?;
    Some(Work::Reaction {
        user: user.to_string(),
        emoji: emoji.to_string(),
        channel: channel.to_string(),
        message_ts: event.message_ts?.to_string(),
        author: event.author.map(str::to_string),
        added: event.added,
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

    /// Decodes an event as the listener does: through slack-morphism's typed models (or its
    /// `Unknown` when they refuse it), checking that the JSON path decides the same.
    fn decoded(json: &Value) -> EventAction {
        let typed: SlackEventCallbackBody = serde_json::from_value(json.clone()).unwrap();
        let action = event(&typed, &context());
        let reencoded = serde_json::to_value(&typed).unwrap();
        assert_eq!(event_json(&reencoded, &context()), action, "{reencoded}");
        action
    }

    #[test]
    fn mentions_become_requests_with_plain_text() {
        let event_json = json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1",
            "text": "<@UBOT> unlock <mailto:jane@acme.com|jane@acme.com> &amp; tell <@U0ANA|ana>"});
        assert_eq!(
            decoded(&event_json),
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

    /// Events as Slack really sends them (its Events API examples): rich-text blocks beside the
    /// text, `team`, `client_msg_id`, emoji and links in the blocks. The typed models take them,
    /// so they go through the typed path, not the JSON fallback.
    #[test]
    fn real_shaped_events_take_the_typed_path() {
        let blocks = json!([{"type": "rich_text", "block_id": "a1B2", "elements": [
            {"type": "rich_text_section", "elements": [
                {"type": "user", "user_id": "UBOT"},
                {"type": "text", "text": " unlock "},
                {"type": "user", "user_id": "U0BOB"},
                {"type": "text", "text": " please "},
                {"type": "emoji", "name": "pray", "unicode": "1f64f"},
                {"type": "link", "url": "https://acme.okta.com/admin", "text": "admin"}]}]}]);
        let mention = json!({"type": "app_mention", "client_msg_id": "8f0e4c2a-1b2c-4d5e-9f00-0a1b2c3d4e5f",
            "text": "<@UBOT> unlock <@U0BOB> please :pray: <https://acme.okta.com/admin|admin>",
            "user": "U0LEO", "ts": "1700000000.000100", "team": "T0ACME", "blocks": blocks,
            "channel": "C0IT", "event_ts": "1700000000.000100"});
        let typed: SlackEventCallbackBody = serde_json::from_value(mention.clone()).unwrap();
        assert!(
            matches!(typed, SlackEventCallbackBody::AppMention(_)),
            "{typed:?}"
        );
        assert!(matches!(
            decoded(&mention),
            EventAction::Work(Work::Request { ref user, ref text, .. })
                if user == "U0LEO" && text.starts_with("unlock <@U0BOB> please")
        ));
        let direct = json!({"type": "message", "client_msg_id": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
            "text": "reset my password", "user": "U0ANA", "ts": "1700000001.000200",
            "team": "T0ACME", "user_team": "T0ACME", "source_team": "T0ACME", "blocks": blocks,
            "channel": "D0DM", "event_ts": "1700000001.000200", "channel_type": "im"});
        let typed: SlackEventCallbackBody = serde_json::from_value(direct.clone()).unwrap();
        assert!(
            matches!(typed, SlackEventCallbackBody::Message(_)),
            "{typed:?}"
        );
        assert!(matches!(
            decoded(&direct),
            EventAction::Work(Work::Request { .. })
        ));
        let reaction = json!({"type": "reaction_added", "user": "U0LEO", "reaction": "lock",
            "item_user": "U0KATE", "item": {"type": "message", "channel": "C0SECURITY",
            "ts": "1700000002.000300"}, "event_ts": "1700000003.000400"});
        let typed: SlackEventCallbackBody = serde_json::from_value(reaction.clone()).unwrap();
        assert!(
            matches!(typed, SlackEventCallbackBody::ReactionAdded(_)),
            "{typed:?}"
        );
        // No reaction rule in this context: nothing to do, on either path.
        assert_eq!(decoded(&reaction), EventAction::Ignore);
    }

    #[test]
    fn edits_bots_and_others_are_ignored() {
        let edited = json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1",
            "text": "<@UBOT> unlock <@U2>", "edited": {"user": "U1", "ts": "1.2"}});
        assert_eq!(decoded(&edited), EventAction::Ignore);
        let changed = json!({"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
            "message": {"user": "U1", "text": "unlock me", "ts": "1.1"}, "ts": "1.3"});
        assert_eq!(decoded(&changed), EventAction::Ignore);
        let own = json!({"type": "app_mention", "user": "UBOT", "channel": "C1", "ts": "1.1", "text": "x"});
        assert_eq!(decoded(&own), EventAction::Ignore);
        let bot = json!({"type": "message", "user": "U9", "bot_id": "B9", "channel": "C0HELP", "ts": "1.1", "text": "how do I reset my password"});
        assert_eq!(decoded(&bot), EventAction::Ignore);
        let person = json!({"type": "user_change", "user": {"id": "U7", "deleted": true}});
        assert_eq!(decoded(&person), EventAction::PersonChanged("U7".into()));
    }

    #[test]
    fn help_questions_are_new_top_level_messages_in_help_channels() {
        let question = json!({"type": "message", "user": "U1", "channel": "C0HELP", "ts": "1.1", "text": "how do I reset my &lt;password&gt;?"});
        assert_eq!(
            decoded(&question),
            EventAction::Work(Work::HelpQuestion {
                user: "U1".into(),
                text: "how do I reset my <password>?".into(),
                channel: "C0HELP".into(),
                ts: "1.1".into()
            })
        );
        let mut reply = question.clone();
        reply["thread_ts"] = json!("1.0");
        assert_eq!(decoded(&reply), EventAction::Ignore);
        // A reply with a link may be an admin naming the document that answers; it is kept raw.
        reply["text"] = json!("see <https://intranet.example.com/it/vpn|the VPN page>");
        assert_eq!(
            decoded(&reply),
            EventAction::Work(Work::HelpReply {
                user: "U1".into(),
                text: "see <https://intranet.example.com/it/vpn|the VPN page>".into(),
                channel: "C0HELP".into(),
                thread_ts: "1.0".into()
            })
        );
        let mut bot_link = reply.clone();
        bot_link["bot_id"] = json!("B1");
        assert_eq!(decoded(&bot_link), EventAction::Ignore);
        let mut elsewhere = question.clone();
        elsewhere["channel"] = json!("C0OTHER");
        assert_eq!(decoded(&elsewhere), EventAction::Ignore);
    }

    #[test]
    fn an_assistant_thread_opened_is_work_and_a_malformed_one_is_nothing() {
        let started = json!({"type": "assistant_thread_started", "event_ts": "1.1",
            "assistant_thread": {"user_id": "U0KATE", "channel_id": "D0DM", "thread_ts": "1.1",
                                 "context": {"channel_id": "C1"}}});
        assert_eq!(
            decoded(&started),
            EventAction::Work(Work::AssistantStarted {
                user: "U0KATE".into(),
                channel: "D0DM".into(),
                thread_ts: "1.1".into(),
            })
        );
        let mut malformed = started.clone();
        malformed["assistant_thread"]["channel_id"] = json!(null);
        assert_eq!(decoded(&malformed), EventAction::Ignore);
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
