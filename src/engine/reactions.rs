//! Emoji reactions under `[[automations.reactions]]` rules, as engine data: the reactor is the
//! requester, and policy treats them exactly as it treats a typed request. The target is the
//! message's one mention (or its author): none or several is a question, never a guess.
//! `confirm` proposes the usual card; `immediate` makes the reaction the approval, after its
//! grace window, where the reactor may approve alone. Removing the reaction within the window
//! cancels what it started; a second distinct authorized reactor can be required. Each person's
//! reaction on a message is one trigger, however often it is added. Every deadline is the
//! engine's clock's. The front ends (Slack, the terminal) read the message and render the
//! [`Output`]s; what a reaction did is [`ReactionNews`], which they word as they need.

use tracing::{info, warn};

use super::{ActionRequest, Choice, Click, Engine, Mode, Output, Proposed};
use crate::approvals::{ProposalState, Trigger};
use crate::automations::{ReactionMode, ReactionRule, ReactionTarget};
use crate::store::{ReactionRole, ReactionRow};
use crate::tools::Tool;

/// The message a reaction landed on, as the front end read it.
#[derive(Clone, Debug)]
pub struct ReactedMessage {
    /// Where it is: a channel id, or `chat`.
    pub place: String,
    /// Its id there (Slack's `ts`).
    pub ts: String,
    /// Its text, with mentions as `<@U…>`; empty when it could not be read.
    pub text: String,
    /// Who wrote it, when known.
    pub author: Option<String>,
    /// Where replies go: `channel:thread` (or `chat`).
    pub conversation: String,
}

/// A reaction added or taken back, under `rule`.
#[derive(Clone, Debug)]
pub struct Reaction {
    pub reactor: String,
    pub rule: ReactionRule,
    pub message: ReactedMessage,
    pub added: bool,
    /// The bot's own user id, which a mention of does not make a target.
    pub bot_user_id: String,
}

/// What a reaction did, for its front end to word. People are Slack ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReactionNews {
    // For the reactor alone:
    /// Policy (or the target) refused; `why` is a sentence without its final stop.
    Refused { why: String },
    /// The message already carries this emoji's request.
    AlreadyRequested,
    /// Slack did not say who wrote the message.
    NoAuthor,
    /// `immediate`, but the reactor may not approve alone: the card waits.
    CannotApproveAlone,
    // In the message's thread:
    /// The message mentions no one (`mentioned` empty) or several people: which one?
    WhichPerson { tool: Tool, mentioned: Vec<String> },
    /// A second authorized person must react too (or approve on the card).
    NeedsSecondPerson {
        tool: Tool,
        target: String,
        grace_seconds: u64,
    },
    /// The reactor's approval happens at the end of the grace window.
    Scheduled {
        tool: Tool,
        /// The person it is about, when this reactor made the request.
        target: Option<String>,
        seconds: u64,
        job_id: String,
        /// This reactor is the second person a rule asks for.
        second_person: bool,
    },
    /// The card waits for an approver; the reaction can still be taken back.
    Waiting {
        tool: Tool,
        target: String,
        grace_seconds: u64,
    },
    /// Taken back in time: the request is cancelled.
    Cancelled,
    /// A second person's reaction taken back in time: their approval is withdrawn.
    Withdrawn,
}

impl ReactionNews {
    /// Whether only the reactor should see it.
    pub fn is_private(&self) -> bool {
        matches!(
            self,
            Self::Refused { .. }
                | Self::AlreadyRequested
                | Self::NoAuthor
                | Self::CannotApproveAlone
        )
    }
}

/// What the engine made of a reaction.
#[derive(Debug, Default)]
pub struct ReactionOutcome {
    pub outputs: Vec<Output>,
    /// okta-agent acted on the message: the front end marks it (Slack: 👀).
    pub acknowledge: bool,
}

impl Engine {
    /// A reaction added or taken back under its rule.
    pub async fn reaction(&self, reaction: Reaction) -> ReactionOutcome {
        if reaction.added {
            self.reaction_added(&reaction).await
        } else {
            ReactionOutcome {
                outputs: self.reaction_removed(&reaction).await,
                acknowledge: false,
            }
        }
    }

    fn news(reaction: &Reaction, news: ReactionNews) -> Output {
        Output::Reaction {
            reactor: reaction.reactor.clone(),
            emoji: reaction.rule.emoji.clone(),
            news,
        }
    }

    /// Records what a reaction became (a dry run records nothing).
    async fn remember_reaction(&self, row: &ReactionRow) {
        if self.mode == Mode::DryRun {
            return;
        }
        if let Err(e) = self.store.set_reaction_role(row).await {
            warn!(error = %e, "could not record what a reaction became");
        }
    }

    async fn reaction_added(&self, reaction: &Reaction) -> ReactionOutcome {
        let rule = &reaction.rule;
        let message = &reaction.message;
        let user = reaction.reactor.as_str();
        let now = self.clock.now();
        let mut outcome = ReactionOutcome::default();
        let mut row = ReactionRow {
            channel: message.place.clone(),
            message_ts: message.ts.clone(),
            emoji: rule.emoji.clone(),
            reactor: user.to_string(),
            added_at: now,
            role: ReactionRole::Extra,
            proposal_id: None,
            job_id: None,
        };
        let earlier = self
            .store
            .reactions_on(&message.place, &message.ts, &rule.emoji)
            .await
            .unwrap_or_default();
        if self.mode == Mode::Live {
            match self.store.remember_reaction(&row).await {
                Ok(true) => {}
                // This person's reaction here was already a trigger.
                Ok(false) => return outcome,
                Err(e) => {
                    warn!(error = %e, "could not record a reaction; it does nothing");
                    return outcome;
                }
            }
        }
        let via = Trigger::Reaction {
            emoji: rule.emoji.clone(),
        };
        // A proposal this emoji already made on this message: a second reactor approves it.
        let mut open = None;
        for earlier_row in &earlier {
            let Some(id) = earlier_row
                .proposal_id
                .as_ref()
                .filter(|_| earlier_row.role == ReactionRole::Requester)
            else {
                continue;
            };
            let proposal = crate::approvals::Approvals::new(&self.store)
                .get(id)
                .await
                .ok()
                .flatten();
            if let Some(proposal) = proposal.filter(|p| p.state == ProposalState::Pending) {
                open = Some(proposal);
                break;
            }
        }
        if let Some(proposal) = open {
            if rule.reactors_required < 2 {
                outcome
                    .outputs
                    .push(Self::news(reaction, ReactionNews::AlreadyRequested));
                return outcome;
            }
            row.role = ReactionRole::Approver;
            row.proposal_id = Some(proposal.id.clone());
            if rule.grace_seconds > 0 {
                match self
                    .schedule_approval(&proposal.id, user, via, now + rule.grace_seconds as i64)
                    .await
                {
                    Ok(job) => {
                        row.job_id = Some(job.clone());
                        outcome.outputs.push(Self::news(
                            reaction,
                            ReactionNews::Scheduled {
                                tool: rule.tool,
                                target: None,
                                seconds: rule.grace_seconds,
                                job_id: job,
                                second_person: true,
                            },
                        ));
                    }
                    Err(e) => warn!(error = %e, "could not schedule a reaction's approval"),
                }
                self.remember_reaction(&row).await;
            } else {
                self.remember_reaction(&row).await;
                outcome
                    .outputs
                    .extend(self.approve_as(&proposal.id, user, via).await);
            }
            return outcome;
        }
        // The person this is about: the one mention, or the author. Never a guess.
        let target = match rule.target {
            ReactionTarget::Author => message.author.clone(),
            ReactionTarget::Mentioned => {
                let people = crate::automations::reactions::mentioned_people(
                    &message.text,
                    &reaction.bot_user_id,
                );
                match people.as_slice() {
                    [one] => Some(one.clone()),
                    _ => {
                        row.role = ReactionRole::Asked;
                        self.remember_reaction(&row).await;
                        outcome.outputs.push(Self::news(
                            reaction,
                            ReactionNews::WhichPerson {
                                tool: rule.tool,
                                mentioned: people,
                            },
                        ));
                        return outcome;
                    }
                }
            }
        };
        let Some(target) = target else {
            row.role = ReactionRole::Asked;
            self.remember_reaction(&row).await;
            outcome
                .outputs
                .push(Self::news(reaction, ReactionNews::NoAuthor));
            return outcome;
        };
        let proposed = self
            .request_action(ActionRequest {
                requester: user.to_string(),
                tool: rule.tool,
                user: format!("<@{target}>"),
                group: None,
                access_seconds: None,
                reason: None,
                conversation: message.conversation.clone(),
                trigger: via.clone(),
            })
            .await;
        let (proposal_id, outputs, may_approve) = match proposed {
            Proposed::Refused { why, .. } => {
                row.role = ReactionRole::Refused;
                self.remember_reaction(&row).await;
                info!(user, emoji = %rule.emoji, "a reaction was refused");
                outcome.outputs.push(Self::news(
                    reaction,
                    ReactionNews::Refused {
                        why: why.trim_end_matches('.').to_string(),
                    },
                ));
                return outcome;
            }
            Proposed::Card {
                proposal_id,
                outputs,
                requester_may_approve,
            } => (proposal_id, outputs, requester_may_approve),
        };
        row.role = ReactionRole::Requester;
        row.proposal_id = Some(proposal_id.clone());
        outcome.acknowledge = true;
        outcome.outputs.extend(outputs);
        let grace = rule.grace_seconds;
        if rule.reactors_required >= 2 {
            self.remember_reaction(&row).await;
            outcome.outputs.push(Self::news(
                reaction,
                ReactionNews::NeedsSecondPerson {
                    tool: rule.tool,
                    target,
                    grace_seconds: grace,
                },
            ));
        } else if rule.mode == ReactionMode::Immediate && may_approve {
            if grace > 0 {
                match self
                    .schedule_approval(&proposal_id, user, via, now + grace as i64)
                    .await
                {
                    Ok(job) => {
                        row.job_id = Some(job.clone());
                        outcome.outputs.push(Self::news(
                            reaction,
                            ReactionNews::Scheduled {
                                tool: rule.tool,
                                target: Some(target),
                                seconds: grace,
                                job_id: job,
                                second_person: false,
                            },
                        ));
                    }
                    Err(e) => warn!(error = %e, "could not schedule a reaction's approval"),
                }
                self.remember_reaction(&row).await;
            } else {
                self.remember_reaction(&row).await;
                outcome
                    .outputs
                    .extend(self.approve_as(&proposal_id, user, via).await);
            }
        } else {
            self.remember_reaction(&row).await;
            if rule.mode == ReactionMode::Immediate {
                outcome
                    .outputs
                    .push(Self::news(reaction, ReactionNews::CannotApproveAlone));
            }
            if grace > 0 {
                outcome.outputs.push(Self::news(
                    reaction,
                    ReactionNews::Waiting {
                        tool: rule.tool,
                        target,
                        grace_seconds: grace,
                    },
                ));
            }
        }
        outcome
    }

    /// A reaction taken back: within the rule's grace window it cancels what it started (the
    /// request, or a second reactor's approval); after it, nothing is undone.
    async fn reaction_removed(&self, reaction: &Reaction) -> Vec<Output> {
        let rule = &reaction.rule;
        let user = reaction.reactor.as_str();
        let now = self.clock.now();
        let rows = self
            .store
            .reactions_on(&reaction.message.place, &reaction.message.ts, &rule.emoji)
            .await
            .unwrap_or_default();
        let Some(row) = rows.into_iter().find(|r| r.reactor == user) else {
            return Vec::new();
        };
        let Some(proposal_id) = row.proposal_id.clone() else {
            return Vec::new();
        };
        if now - row.added_at > rule.grace_seconds as i64 {
            info!(user, proposal = %proposal_id, "a reaction was removed after its grace window; nothing is undone");
            return Vec::new();
        }
        let taken_back = match &row.job_id {
            Some(job) => self.cancel_job(job).await.unwrap_or(false),
            None => false,
        };
        match row.role {
            ReactionRole::Requester => {
                let mut outputs = self
                    .click(Click {
                        proposal_id: proposal_id.clone(),
                        clicker: user.to_string(),
                        choice: Choice::Cancel,
                        via: Some(Trigger::Reaction {
                            emoji: rule.emoji.clone(),
                        }),
                    })
                    .await;
                let cancelled = crate::approvals::Approvals::new(&self.store)
                    .get(&proposal_id)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|p| p.state == ProposalState::Rejected);
                if cancelled {
                    outputs.push(Self::news(reaction, ReactionNews::Cancelled));
                }
                outputs
            }
            ReactionRole::Approver if taken_back => {
                vec![Self::news(reaction, ReactionNews::Withdrawn)]
            }
            ReactionRole::Approver
            | ReactionRole::Asked
            | ReactionRole::Refused
            | ReactionRole::Extra => Vec::new(),
        }
    }
}
