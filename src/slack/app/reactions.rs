//! Emoji reactions under `[[automations.reactions]]` rules. The reactor is the requester, and
//! policy treats them exactly as it treats a typed request: a refused reaction does nothing in
//! Okta, and only the reactor is told why. The target is the message's one mention (or its
//! author): none or several is a question in the thread, never a guess. `confirm` posts the
//! usual card; `immediate` makes the reaction the approval, after its grace window, where the
//! reactor may approve alone. Removing the reaction within the window cancels; a second
//! distinct authorized reactor can be required. Each person's reaction on a message is one
//! trigger, however often it is added.

use tracing::{info, warn};

use super::SlackApp;
use crate::approvals::{ProposalState, Trigger};
use crate::automations::{ReactionMode, ReactionRule, ReactionTarget};
use crate::engine::{ActionRequest, Choice, Click, Output, Proposed};
use crate::slack::markup::untrusted;
use crate::store::ReactionRow;

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
        if added {
            self.reaction_added(&rule, user, channel, message_ts, author)
                .await;
        } else {
            self.reaction_removed(&rule, user, channel, message_ts)
                .await;
        }
    }

    async fn reaction_added(
        &self,
        rule: &ReactionRule,
        user: &str,
        channel: &str,
        message_ts: &str,
        author: Option<&str>,
    ) {
        let now = self.engine.now();
        let mut row = ReactionRow {
            channel: channel.to_string(),
            message_ts: message_ts.to_string(),
            emoji: rule.emoji.clone(),
            reactor: user.to_string(),
            added_at: now,
            role: "extra".into(),
            proposal_id: None,
            job_id: None,
        };
        let earlier = self
            .store
            .reactions_on(channel, message_ts, &rule.emoji)
            .unwrap_or_default();
        match self.store.remember_reaction(&row) {
            Ok(true) => {}
            Ok(false) => return, // this person's reaction here was already a trigger
            Err(e) => {
                warn!(error = %e, "could not record a reaction; it does nothing");
                return;
            }
        }
        let message = self.web.message(channel, message_ts).await.ok().flatten();
        let thread = message
            .as_ref()
            .and_then(|m| m["thread_ts"].as_str())
            .unwrap_or(message_ts)
            .to_string();
        let via = Trigger::Reaction {
            emoji: rule.emoji.clone(),
        };
        // A proposal this emoji already made on this message: a second reactor approves it.
        let open = earlier.iter().find_map(|r| {
            let id = r.proposal_id.as_ref().filter(|_| r.role == "requester")?;
            let proposal = crate::approvals::Approvals::new(&self.store)
                .get(id)
                .ok()??;
            (proposal.state == ProposalState::Pending).then_some(proposal)
        });
        if let Some(proposal) = open {
            if rule.reactors_required < 2 {
                self.note(
                    channel,
                    user,
                    &thread,
                    &format!(
                        "This message already has a request from :{}:; see the card in the thread.",
                        rule.emoji
                    ),
                )
                .await;
                return;
            }
            row.role = "approver".into();
            row.proposal_id = Some(proposal.id.clone());
            if rule.grace_seconds > 0 {
                match self.engine.schedule_approval(
                    &proposal.id,
                    user,
                    via,
                    now + rule.grace_seconds as i64,
                ) {
                    Ok(job) => row.job_id = Some(job),
                    Err(e) => warn!(error = %e, "could not schedule a reaction's approval"),
                }
                self.remember(&row);
                self.say(channel, &thread, &format!(
                    "{} added :{}: as the second person: the request is approved in {} s. Remove your :{}: within {} s to take it back.",
                    mention(user), rule.emoji, rule.grace_seconds, rule.emoji, rule.grace_seconds
                ))
                .await;
            } else {
                self.remember(&row);
                let outputs = self.engine.approve_as(&proposal.id, user, via).await;
                self.deliver_quietly(outputs, channel, &thread).await;
            }
            return;
        }
        // The person this is about: the one mention, or the author. Never a guess.
        let target = match rule.target {
            ReactionTarget::Author => author.map(str::to_string).or_else(|| {
                message
                    .as_ref()
                    .and_then(|m| m["user"].as_str())
                    .map(str::to_string)
            }),
            ReactionTarget::Mentioned => {
                let text = message
                    .as_ref()
                    .and_then(|m| m["text"].as_str())
                    .unwrap_or_default();
                let people =
                    crate::automations::reactions::mentioned_people(text, self.bot_user_id());
                match people.as_slice() {
                    [one] => Some(one.clone()),
                    [] => {
                        row.role = "asked".into();
                        self.remember(&row);
                        self.say(channel, &thread, &format!(
                            "{}: :{}: means {} the person this message is about, but it mentions no one. Which person? Ask me in this thread, e.g. `@okta-agent {}`.",
                            mention(user), rule.emoji, rule.tool.verb().to_lowercase(),
                            crate::agent::rules::command(rule.tool, "@person", None)
                        ))
                        .await;
                        return;
                    }
                    several => {
                        row.role = "asked".into();
                        self.remember(&row);
                        let names: Vec<String> = several.iter().map(|p| mention(p)).collect();
                        self.say(channel, &thread, &format!(
                            "{}: this message mentions {} people ({}), so :{}: could mean any of them. Which person? Ask me in this thread, e.g. `@okta-agent {}`.",
                            mention(user), several.len(), names.join(", "), rule.emoji,
                            crate::agent::rules::command(rule.tool, "@person", None)
                        ))
                        .await;
                        return;
                    }
                }
            }
        };
        let Some(target) = target else {
            row.role = "asked".into();
            self.remember(&row);
            self.note(
                channel,
                user,
                &thread,
                "Slack did not say who wrote this message, so the reaction did nothing.",
            )
            .await;
            return;
        };
        let proposed = self
            .engine
            .request_action(ActionRequest {
                requester: user.to_string(),
                tool: rule.tool,
                user: format!("<@{target}>"),
                group: None,
                access_seconds: None,
                reason: None,
                conversation: format!("{channel}:{thread}"),
                trigger: via.clone(),
            })
            .await;
        let (proposal_id, outputs, may_approve) = match proposed {
            Proposed::Refused { why, .. } => {
                row.role = "refused".into();
                self.remember(&row);
                info!(user, emoji = %rule.emoji, "a reaction was refused");
                self.note(
                    channel,
                    user,
                    &thread,
                    &format!(
                        "Your :{}: did nothing: {}. Nothing was changed.",
                        rule.emoji,
                        why.trim_end_matches('.')
                    ),
                )
                .await;
                return;
            }
            Proposed::Card {
                proposal_id,
                outputs,
                requester_may_approve,
            } => (proposal_id, outputs, requester_may_approve),
        };
        row.role = "requester".into();
        row.proposal_id = Some(proposal_id.clone());
        if let Err(e) = self
            .web
            .add_reaction(channel, message_ts, ACK_REACTION)
            .await
        {
            warn!(error = %e, "could not acknowledge the reaction");
        }
        self.deliver_quietly(outputs, channel, &thread).await;
        let grace = rule.grace_seconds;
        let what = format!("{} {}", rule.tool.verb().to_lowercase(), mention(&target));
        if rule.reactors_required >= 2 {
            self.remember(&row);
            self.say(channel, &thread, &format!(
                ":{}: from {}: {what} needs a second authorized person to add :{}: too (or Approve on the card).{}",
                rule.emoji, mention(user), rule.emoji,
                cancel_hint(&rule.emoji, grace)
            ))
            .await;
        } else if rule.mode == ReactionMode::Immediate && may_approve {
            if grace > 0 {
                match self
                    .engine
                    .schedule_approval(&proposal_id, user, via, now + grace as i64)
                {
                    Ok(job) => row.job_id = Some(job),
                    Err(e) => warn!(error = %e, "could not schedule a reaction's approval"),
                }
                self.remember(&row);
                self.say(
                    channel,
                    &thread,
                    &format!(
                        ":{}: from {}: {what} in {grace} s.{}",
                        rule.emoji,
                        mention(user),
                        cancel_hint(&rule.emoji, grace)
                    ),
                )
                .await;
            } else {
                self.remember(&row);
                let outputs = self.engine.approve_as(&proposal_id, user, via).await;
                self.deliver_quietly(outputs, channel, &thread).await;
            }
        } else {
            self.remember(&row);
            if rule.mode == ReactionMode::Immediate {
                self.note(channel, user, &thread, "You can't approve this alone under the policy, so it waits on the card for someone who can.").await;
            }
            if grace > 0 {
                self.say(
                    channel,
                    &thread,
                    &format!(
                        ":{}: from {}: {what} is waiting for approval on the card.{}",
                        rule.emoji,
                        mention(user),
                        cancel_hint(&rule.emoji, grace)
                    ),
                )
                .await;
            }
        }
    }

    /// A reaction taken back: within the rule's grace window it cancels what it started
    /// (the request, or a second reactor's approval); after it, nothing is undone.
    async fn reaction_removed(
        &self,
        rule: &ReactionRule,
        user: &str,
        channel: &str,
        message_ts: &str,
    ) {
        let now = self.engine.now();
        let rows = self
            .store
            .reactions_on(channel, message_ts, &rule.emoji)
            .unwrap_or_default();
        let Some(row) = rows.into_iter().find(|r| r.reactor == user) else {
            return;
        };
        let Some(proposal_id) = row.proposal_id.clone() else {
            return;
        };
        if now - row.added_at > rule.grace_seconds as i64 {
            info!(user, proposal = %proposal_id, "a reaction was removed after its grace window; nothing is undone");
            return;
        }
        let thread = self
            .web
            .message(channel, message_ts)
            .await
            .ok()
            .flatten()
            .and_then(|m| m["thread_ts"].as_str().map(str::to_string))
            .unwrap_or_else(|| message_ts.to_string());
        let taken_back = match &row.job_id {
            Some(job) => self.engine.cancel_job(job).unwrap_or(false),
            None => false,
        };
        match row.role.as_str() {
            "requester" => {
                let outputs = self
                    .engine
                    .click(Click {
                        proposal_id,
                        clicker: user.to_string(),
                        choice: Choice::Cancel,
                        via: Some(Trigger::Reaction {
                            emoji: rule.emoji.clone(),
                        }),
                    })
                    .await;
                let cancelled = outputs.iter().any(|o| matches!(o, Output::CardUpdate(card) if card.state == ProposalState::Rejected));
                self.deliver_quietly(outputs, channel, &thread).await;
                if cancelled {
                    self.say(
                        channel,
                        &thread,
                        &format!(
                            "{} removed their :{}: in time: cancelled, nothing was changed.",
                            mention(user),
                            rule.emoji
                        ),
                    )
                    .await;
                }
            }
            "approver" if taken_back => {
                self.say(channel, &thread, &format!(
                    "{} removed their :{}: in time: their approval is withdrawn, and the request waits for another.",
                    mention(user), rule.emoji
                ))
                .await;
            }
            _ => {}
        }
    }

    fn remember(&self, row: &ReactionRow) {
        if let Err(e) = self.store.set_reaction_role(row) {
            warn!(error = %e, "could not record what a reaction became");
        }
    }

    async fn say(&self, channel: &str, thread: &str, text: &str) {
        if let Err(e) = self
            .web
            .post_message(channel, Some(thread), text, None)
            .await
        {
            warn!(error = %e, "could not post in the thread");
        }
    }

    /// An ephemeral note for the reactor alone.
    async fn note(&self, channel: &str, user: &str, thread: &str, text: &str) {
        if let Err(e) = self
            .web
            .post_ephemeral(channel, user, Some(thread), &untrusted(text))
            .await
        {
            warn!(error = %e, "could not post an ephemeral note");
        }
    }

    /// Delivers engine outputs in the thread; refusals stay ephemeral (the engine makes them so).
    async fn deliver_quietly(&self, outputs: Vec<Output>, channel: &str, thread: &str) {
        self.deliver(outputs, channel, Some(thread), None).await;
    }
}

fn mention(id: &str) -> String {
    super::mention(id)
}

fn cancel_hint(emoji: &str, grace: u64) -> String {
    if grace == 0 {
        String::new()
    } else {
        format!(" Remove your :{emoji}: within {grace} s to cancel.")
    }
}
