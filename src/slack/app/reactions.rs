//! Emoji reactions in Slack: an adapter. It reads the message the reaction landed on (its
//! text, author and thread), hands the reaction to [`Engine::reaction`], marks the message 👀
//! when okta-agent acted on it, and words what the engine says it did: news for the reactor
//! alone as an ephemeral note, the rest in the message's thread.

use tracing::warn;

use super::{mention, SlackApp};
use crate::engine::{ReactedMessage, Reaction, ReactionNews};
use crate::slack::markup::untrusted;

/// The reaction okta-agent adds to a message it acted on.
const ACK_REACTION: &str = "eyes";

impl SlackApp {
    pub(super) async fn reaction(
        &self,
        user: &str,
        emoji: &str,
        channel: &str,
        message_ts: &str,
        author: Option<&str>,
        added: bool,
    ) {
        let Some(rule) = self
            .context
            .automations
            .reaction_rule(emoji, channel)
            .cloned()
        else {
            return;
        };
        let message = self.web.message(channel, message_ts).await.ok().flatten();
        let thread = message
            .as_ref()
            .and_then(|m| m["thread_ts"].as_str())
            .unwrap_or(message_ts)
            .to_string();
        let text = message
            .as_ref()
            .and_then(|m| m["text"].as_str())
            .unwrap_or_default()
            .to_string();
        let author = author.map(str::to_string).or_else(|| {
            message
                .as_ref()
                .and_then(|m| m["user"].as_str())
                .map(str::to_string)
        });
        let outcome = self
            .engine
            .reaction(Reaction {
                reactor: user.to_string(),
                rule: rule.clone(),
                message: ReactedMessage {
                    place: channel.to_string(),
                    ts: message_ts.to_string(),
                    text,
                    author,
                    conversation: format!("{channel}:{thread}"),
                },
                added,
                bot_user_id: self.bot_user_id().to_string(),
            })
            .await;
        if outcome.acknowledge {
            if let Err(e) = self
                .web
                .add_reaction(channel, message_ts, ACK_REACTION)
                .await
            {
                warn!(error = %e, "could not acknowledge the reaction");
            }
        }
        self.deliver(outcome.outputs, channel, Some(&thread), None)
            .await;
    }

    /// Says what a reaction did: privately to the reactor, or in the thread.
    pub(super) async fn reaction_news(
        &self,
        channel: &str,
        thread: Option<&str>,
        reactor: &str,
        emoji: &str,
        news: &ReactionNews,
    ) -> Result<(), crate::slack::web::SlackError> {
        let text = reaction_text(reactor, emoji, news);
        if news.is_private() {
            self.web
                .post_ephemeral(channel, reactor, thread, &untrusted(&text))
                .await
        } else {
            self.web
                .post_message(channel, thread, &text, None)
                .await
                .map(drop)
        }
    }
}

/// What a reaction did, in Slack's words: people as mentions (from Slack ids only).
pub(super) fn reaction_text(reactor: &str, emoji: &str, news: &ReactionNews) -> String {
    let command = |tool: crate::tools::Tool| crate::agent::rules::command(tool, "@person", None);
    let verb = |tool: crate::tools::Tool| tool.verb().to_lowercase();
    match news {
        ReactionNews::Refused { why } => {
            format!("Your :{emoji}: did nothing: {why}. Nothing was changed.")
        }
        ReactionNews::AlreadyRequested => format!(
            "This message already has a request from :{emoji}:; see the card in the thread."
        ),
        ReactionNews::NoAuthor => {
            "Slack did not say who wrote this message, so the reaction did nothing.".into()
        }
        ReactionNews::CannotApproveAlone => "You can't approve this alone under the policy, so it waits on the card for someone who can.".into(),
        ReactionNews::WhichPerson { tool, mentioned } if mentioned.is_empty() => format!(
            "{}: :{emoji}: means {} the person this message is about, but it mentions no one. Which person? Ask me in this thread, e.g. `@okta-agent {}`.",
            mention(reactor), verb(*tool), command(*tool)
        ),
        ReactionNews::WhichPerson { tool, mentioned } => {
            let names: Vec<String> = mentioned.iter().map(|p| mention(p)).collect();
            format!(
                "{}: this message mentions {} people ({}), so :{emoji}: could mean any of them. Which person? Ask me in this thread, e.g. `@okta-agent {}`.",
                mention(reactor), mentioned.len(), names.join(", "), command(*tool)
            )
        }
        ReactionNews::NeedsSecondPerson {
            tool,
            target,
            grace_seconds,
        } => format!(
            ":{emoji}: from {}: {} {} needs a second authorized person to add :{emoji}: too (or Approve on the card).{}",
            mention(reactor), verb(*tool), mention(target), cancel_hint(emoji, *grace_seconds)
        ),
        ReactionNews::Scheduled {
            seconds,
            second_person: true,
            ..
        } => format!(
            "{} added :{emoji}: as the second person: the request is approved in {seconds} s. Remove your :{emoji}: within {seconds} s to take it back.",
            mention(reactor)
        ),
        ReactionNews::Scheduled {
            tool,
            target,
            seconds,
            second_person: false,
            ..
        } => format!(
            ":{emoji}: from {}: {} {} in {seconds} s.{}",
            mention(reactor),
            verb(*tool),
            target.as_deref().map_or_else(|| "the person".to_string(), mention),
            cancel_hint(emoji, *seconds)
        ),
        ReactionNews::Waiting {
            tool,
            target,
            grace_seconds,
        } => format!(
            ":{emoji}: from {}: {} {} is waiting for approval on the card.{}",
            mention(reactor), verb(*tool), mention(target), cancel_hint(emoji, *grace_seconds)
        ),
        ReactionNews::Cancelled => format!(
            "{} removed their :{emoji}: in time: cancelled, nothing was changed.",
            mention(reactor)
        ),
        ReactionNews::Withdrawn => format!(
            "{} removed their :{emoji}: in time: their approval is withdrawn, and the request waits for another.",
            mention(reactor)
        ),
    }
}

fn cancel_hint(emoji: &str, grace: u64) -> String {
    if grace == 0 {
        String::new()
    } else {
        format!(" Remove your :{emoji}: within {grace} s to cancel.")
    }
}
