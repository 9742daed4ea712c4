//! From Slack payloads to the engine and back: decide whether an event is a request, persist its
//! dedupe key and payload before the ack, do the work in a spawned task, and deliver the
//! engine's outputs as thread replies, cards, card updates, ephemerals and DMs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::task::TaskTracker;
use tracing::{info, info_span, warn, Instrument};

use super::blocks::{decided_card, escape_keeping_mentions, pending_card};
use super::web::SlackWeb;
use crate::agent::{HistoryMessage, Inbound};
use crate::engine::{Choice, Click, Engine, Output};
use crate::store::Store;

/// Work that was acknowledged: what the store keeps until it is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// A mention, DM or `/okta` command.
    Request {
        user: String,
        text: String,
        channel: String,
        /// The message's own ts (absent for slash commands).
        ts: Option<String>,
        /// Where replies go: the thread root.
        thread_ts: Option<String>,
    },
    /// A plain question in a help channel, for the help documents.
    HelpQuestion {
        user: String,
        text: String,
        channel: String,
        ts: String,
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
}

/// Why a delivery was not accepted (the listener then withholds the ack).
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("okta-agent is shutting down; Slack will redeliver")]
    ShuttingDown,
    #[error("could not record the delivery before acknowledging it: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The channels with a role: triage (approval notices, escalations) and help (the virtual
/// assistant answers plain questions there).
#[derive(Clone, Debug, Default)]
pub struct Channels {
    pub triage: Vec<String>,
    pub help: Vec<String>,
}

pub struct SlackApp {
    engine: Arc<Engine>,
    store: Arc<Store>,
    web: SlackWeb,
    bot_user_id: String,
    triage_channels: Vec<String>,
    help_channels: Vec<String>,
    tracker: TaskTracker,
    /// Where the work runs: its own threads, so planning, Okta and Web API calls never queue in
    /// front of the socket reader that sends the acks.
    work: tokio::runtime::Handle,
    shutting_down: AtomicBool,
}

/// Thread messages sent to the planner as context.
const HISTORY_LIMIT: usize = 20;

impl SlackApp {
    pub fn new(
        engine: Arc<Engine>,
        web: SlackWeb,
        bot_user_id: String,
        channels: Channels,
        work: tokio::runtime::Handle,
    ) -> Self {
        Self {
            work,
            triage_channels: channels.triage,
            help_channels: channels.help,
            store: engine.store().clone(),
            engine,
            web,
            bot_user_id,
            tracker: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
        }
    }

    pub fn bot_user_id(&self) -> &str {
        &self.bot_user_id
    }

    /// An `events_api` event: a request, or something to ignore. Returns whether it was new.
    pub fn accept_event(
        self: &Arc<Self>,
        event_id: &str,
        event: &Value,
    ) -> Result<bool, AcceptError> {
        let Some(work) = self.request_from_event(event) else {
            return Ok(false);
        };
        self.accept(&format!("event:{event_id}"), work)
    }

    /// A `block_actions` interaction.
    pub fn accept_interaction(self: &Arc<Self>, payload: &Value) -> Result<bool, AcceptError> {
        let Some(work) = click_from_interaction(payload).or_else(|| help_feedback(payload)) else {
            return Ok(false);
        };
        let action_ts = payload["actions"][0]["action_ts"]
            .as_str()
            .unwrap_or_default();
        let key = match &work {
            Work::HelpFeedback {
                user,
                message_ts,
                solved,
                ..
            } => format!("help:{user}:{message_ts}:{solved}:{action_ts}"),
            Work::Click {
                user,
                proposal_id,
                choice,
                ..
            } => format!("click:{user}:{proposal_id}:{choice:?}:{action_ts}"),
            Work::Request { .. } | Work::HelpQuestion { .. } => return Ok(false),
        };
        self.accept(&key, work)
    }

    /// A `/okta` slash command, treated like a mention.
    pub fn accept_command(
        self: &Arc<Self>,
        user: &str,
        channel: &str,
        text: &str,
        trigger_id: &str,
    ) -> Result<bool, AcceptError> {
        let work = Work::Request {
            user: user.to_string(),
            text: text.to_string(),
            channel: channel.to_string(),
            ts: None,
            thread_ts: None,
        };
        self.accept(&format!("command:{trigger_id}"), work)
    }

    /// Persist, then (the caller) ack, then process in the background.
    fn accept(self: &Arc<Self>, key: &str, work: Work) -> Result<bool, AcceptError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(AcceptError::ShuttingDown);
        }
        let payload = serde_json::to_string(&work).unwrap_or_default();
        let now = crate::okta::unix_now() as i64;
        if !self.store.remember_inbound(key, &payload, now)? {
            info!(key, "duplicate delivery ignored");
            return Ok(false);
        }
        self.spawn(key.to_string(), work);
        Ok(true)
    }

    fn spawn(self: &Arc<Self>, key: String, work: Work) {
        let app = self.clone();
        let span = info_span!("slack_work", key = %key);
        self.tracker.spawn_on(
            async move {
                app.process(&work).await;
                if let Err(e) = app.store.finish_inbound(&key) {
                    warn!(error = %e, "could not mark the delivery done");
                }
            }
            .instrument(span),
            &self.work,
        );
    }

    /// Work acknowledged before the last stop but never finished: done now. A click that had
    /// already been claimed is refused by the engine with its reason, so nothing runs twice.
    pub fn resume_unfinished(self: &Arc<Self>) -> Result<usize, crate::store::StoreError> {
        let pending = self.store.unfinished_inbound()?;
        for (key, payload) in &pending {
            match serde_json::from_str::<Work>(payload) {
                Ok(work) => {
                    info!(key, "resuming work acknowledged before the last stop");
                    self.spawn(key.clone(), work);
                }
                Err(e) => {
                    warn!(key, error = %e, "unreadable stored delivery; marking it done");
                    self.store.finish_inbound(key)?;
                }
            }
        }
        Ok(pending.len())
    }

    /// Stops taking new work and waits for what is in flight.
    pub async fn drain(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.tracker.close();
        self.tracker.wait().await;
    }

    pub fn in_flight(&self) -> usize {
        self.tracker.len()
    }

    fn request_from_event(&self, event: &Value) -> Option<Work> {
        let kind = event["type"].as_str()?;
        let user = event["user"].as_str()?;
        if user == self.bot_user_id || event.get("bot_id").is_some_and(|b| !b.is_null()) {
            return None;
        }
        let plain = event.get("subtype").is_none_or(Value::is_null);
        let channel = event["channel"].as_str()?;
        let text = event["text"].as_str().unwrap_or_default();
        let is_request = match kind {
            "app_mention" => true,
            // Mentions in channels also arrive as `message`; only DMs are requests here.
            "message" => event["channel_type"] == "im" && plain,
            _ => false,
        };
        if !is_request {
            // A new question (not a thread reply, not a mention) in a help channel.
            let question = kind == "message"
                && plain
                && self.help_channels.iter().any(|c| c == channel)
                && event.get("thread_ts").is_none_or(Value::is_null)
                && !text.contains(&format!("<@{}>", self.bot_user_id));
            return question.then(|| Work::HelpQuestion {
                user: user.to_string(),
                text: text.to_string(),
                channel: channel.to_string(),
                ts: event["ts"].as_str().unwrap_or_default().to_string(),
            });
        }
        let ts = event["ts"].as_str()?.to_string();
        let text = strip_mention(
            event["text"].as_str().unwrap_or_default(),
            &self.bot_user_id,
        );
        Some(Work::Request {
            user: user.to_string(),
            text,
            channel: event["channel"].as_str()?.to_string(),
            thread_ts: Some(event["thread_ts"].as_str().unwrap_or(&ts).to_string()),
            ts: Some(ts),
        })
    }

    async fn process(&self, work: &Work) {
        match work {
            Work::Request {
                user,
                text,
                channel,
                ts,
                thread_ts,
            } => {
                if let Some(ts) = ts {
                    if let Err(e) = self.web.add_reaction(channel, ts, "eyes").await {
                        warn!(error = %e, "could not show the working reaction");
                    }
                }
                if text.trim().is_empty() {
                    let hint = format!("Hi <@{user}>! {}", crate::agent::CAPABILITIES);
                    self.deliver(
                        vec![Output::Reply(hint)],
                        channel,
                        thread_ts.as_deref(),
                        None,
                    )
                    .await;
                    return;
                }
                let history = match (ts, thread_ts) {
                    (Some(ts), Some(root)) if ts != root => self.history(channel, root, ts).await,
                    _ => Vec::new(),
                };
                let outputs = self
                    .engine
                    .handle(Inbound {
                        requester: user.clone(),
                        text: text.clone(),
                        history,
                        conversation: format!("{channel}:{}", thread_ts.as_deref().unwrap_or("-")),
                    })
                    .await;
                self.deliver(outputs, channel, thread_ts.as_deref(), None)
                    .await;
            }
            Work::HelpQuestion {
                text, channel, ts, ..
            } => {
                // Only answer when a document fits; otherwise people are left to each other.
                if let Some(answer) = self.engine.agent().help_answer(text) {
                    let blocks = help_answer_blocks(&answer);
                    let fallback = escape_keeping_mentions(&answer);
                    if let Err(e) = self
                        .web
                        .post_message(channel, Some(ts), &fallback, Some(blocks))
                        .await
                    {
                        warn!(error = %e, "could not post a help answer");
                    }
                }
            }
            Work::HelpFeedback {
                user,
                solved,
                channel,
                message_ts,
                thread_ts,
            } => {
                self.help_feedback(user, *solved, channel, message_ts, thread_ts)
                    .await;
            }
            Work::Click {
                user,
                proposal_id,
                choice,
                channel,
                message_ts,
                thread_ts,
            } => {
                let outputs = self
                    .engine
                    .click(Click {
                        proposal_id: proposal_id.clone(),
                        clicker: user.clone(),
                        choice: *choice,
                    })
                    .await;
                let thread = thread_ts.as_deref().or(Some(message_ts.as_str()));
                self.deliver(outputs, channel, thread, Some(message_ts))
                    .await;
            }
        }
    }

    async fn help_feedback(
        &self,
        user: &str,
        solved: bool,
        channel: &str,
        message_ts: &str,
        thread_ts: &str,
    ) {
        let result = if solved {
            self.web
                .post_message(
                    channel,
                    Some(thread_ts),
                    &format!("✅ <@{user}> marked this solved."),
                    None,
                )
                .await
                .map(drop)
        } else {
            let link = match self.web.permalink(channel, thread_ts).await {
                Ok(url) if !url.is_empty() => format!(" <{url}|Open the thread>"),
                _ => String::new(),
            };
            let escalated = match self.triage_channels.first() {
                Some(triage) => self
                    .web
                    .post_message(
                        triage,
                        None,
                        &format!("<@{user}> still needs help after the help docs' answer.{link}"),
                        None,
                    )
                    .await
                    .map(drop),
                None => Ok(()),
            };
            let told = self
                .web
                .post_message(
                    channel,
                    Some(thread_ts),
                    &format!("<@{user}>, I've asked IT to take a look."),
                    None,
                )
                .await
                .map(drop);
            escalated.and(told)
        };
        if let Err(e) = result {
            warn!(error = %e, message_ts, "could not handle help feedback");
        }
    }

    async fn history(&self, channel: &str, root: &str, current_ts: &str) -> Vec<HistoryMessage> {
        match self.web.replies(channel, root, HISTORY_LIMIT + 1).await {
            Ok(messages) => messages
                .iter()
                .filter(|m| m["ts"].as_str() != Some(current_ts))
                .map(|m| HistoryMessage {
                    from_bot: m.get("bot_id").is_some_and(|b| !b.is_null())
                        || m["user"].as_str() == Some(self.bot_user_id.as_str()),
                    text: strip_mention(m["text"].as_str().unwrap_or_default(), &self.bot_user_id),
                })
                .collect(),
            Err(e) => {
                warn!(error = %e, "could not read the thread; answering without it");
                Vec::new()
            }
        }
    }

    /// Sends the engine's outputs. `card_ts` is the card a click came from (updated in place).
    async fn deliver(
        &self,
        outputs: Vec<Output>,
        channel: &str,
        thread_ts: Option<&str>,
        card_ts: Option<&str>,
    ) {
        let mut last_card: Option<String> = None;
        for output in outputs {
            let result = match &output {
                Output::Reply(text) => self
                    .web
                    .post_message(channel, thread_ts, &escape_keeping_mentions(text), None)
                    .await
                    .map(drop),
                Output::Card(card) => {
                    let (text, blocks) = pending_card(card);
                    self.web
                        .post_message(channel, thread_ts, &text, Some(blocks))
                        .await
                        .map(|ts| last_card = Some(ts))
                }
                Output::CardUpdate(card) => {
                    let (text, blocks) = decided_card(card);
                    match card_ts {
                        Some(ts) => self.web.update_message(channel, ts, &text, blocks).await,
                        None => self
                            .web
                            .post_message(channel, thread_ts, &text, Some(blocks))
                            .await
                            .map(drop),
                    }
                }
                Output::Ephemeral { to, text } => {
                    self.web
                        .post_ephemeral(channel, to, thread_ts, &escape_keeping_mentions(text))
                        .await
                }
                // A user id as the channel posts in the app's DM with that person, and only there.
                Output::DirectMessage { to, text } => self
                    .web
                    .post_message(to, None, text.expose(), None)
                    .await
                    .map(drop),
                Output::TriageNotice { text, .. } => {
                    self.notify_triage(channel, last_card.as_deref(), text)
                        .await
                }
            };
            if let Err(e) = result {
                warn!(error = %e, "could not deliver a message to Slack");
            }
        }
    }

    async fn notify_triage(
        &self,
        channel: &str,
        card_ts: Option<&str>,
        text: &str,
    ) -> Result<(), super::web::SlackError> {
        let Some(triage) = self.triage_channels.first() else {
            return Ok(());
        };
        if triage == channel {
            // The card is already in the triage channel.
            return Ok(());
        }
        let link = match card_ts {
            Some(ts) => match self.web.permalink(channel, ts).await {
                Ok(url) if !url.is_empty() => format!(" <{url}|Open the card>"),
                _ => String::new(),
            },
            None => String::new(),
        };
        self.web
            .post_message(
                triage,
                None,
                &format!("{}{link}", escape_keeping_mentions(text)),
                None,
            )
            .await
            .map(drop)
    }
}

/// Removes the leading `<@BOT>` mention and surrounding space.
pub fn strip_mention(text: &str, bot_user_id: &str) -> String {
    text.replace(&format!("<@{bot_user_id}>"), " ")
        .trim()
        .to_string()
}

/// A help answer with "Solved" and "I still need help" buttons.
fn help_answer_blocks(answer: &str) -> Value {
    serde_json::json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": escape_keeping_mentions(answer)}},
        {"type": "actions", "block_id": "help_feedback", "elements": [
            {"type": "button", "action_id": "help_solved", "text": {"type": "plain_text", "text": "Solved"}, "value": "solved", "style": "primary"},
            {"type": "button", "action_id": "help_escalate", "text": {"type": "plain_text", "text": "I still need help"}, "value": "escalate"}
        ]}
    ])
}

fn help_feedback(payload: &Value) -> Option<Work> {
    if payload["type"] != "block_actions" {
        return None;
    }
    let solved = match payload["actions"][0]["action_id"].as_str()? {
        "help_solved" => true,
        "help_escalate" => false,
        _ => return None,
    };
    let container = &payload["container"];
    Some(Work::HelpFeedback {
        user: payload["user"]["id"].as_str()?.to_string(),
        solved,
        channel: container["channel_id"].as_str()?.to_string(),
        message_ts: container["message_ts"].as_str()?.to_string(),
        thread_ts: payload["message"]["thread_ts"]
            .as_str()
            .or(container["message_ts"].as_str())?
            .to_string(),
    })
}

fn click_from_interaction(payload: &Value) -> Option<Work> {
    if payload["type"] != "block_actions" {
        return None;
    }
    let action = &payload["actions"][0];
    let choice = match action["action_id"].as_str()? {
        "approve" => Choice::Approve,
        "cancel" => Choice::Cancel,
        "undo" => Choice::Undo,
        _ => return None,
    };
    let container = &payload["container"];
    Some(Work::Click {
        user: payload["user"]["id"].as_str()?.to_string(),
        proposal_id: action["value"].as_str()?.to_string(),
        choice,
        channel: container["channel_id"]
            .as_str()
            .or(payload["channel"]["id"].as_str())?
            .to_string(),
        message_ts: container["message_ts"].as_str()?.to_string(),
        thread_ts: payload["message"]["thread_ts"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clicks_carry_only_what_the_core_needs() {
        let payload = json!({
            "type": "block_actions", "user": {"id": "U1"},
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1"},
            "message": {"ts": "1.2", "thread_ts": "1.0"},
            "actions": [{"action_id": "approve", "value": "p-1", "action_ts": "9.9"}]
        });
        assert_eq!(
            click_from_interaction(&payload),
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
        assert_eq!(click_from_interaction(&other), None);
        assert_eq!(
            strip_mention("<@UBOT> unlock <@U2>", "UBOT"),
            "unlock <@U2>"
        );
    }
}
