//! Automations in the terminal, so a newcomer can try them without Slack: `/react EMOJI` adds a
//! reaction (as the person typing) to the last message someone typed, under the configured
//! emoji rules (the demo's when none are); `/form` walks through the `/okta` form one field at
//! a time. Both go through the same engine calls Slack uses.

use std::io::Write;

use super::ChatSession;
use crate::approvals::Trigger;
use crate::automations::{forms, reactions, ReactionMode, ReactionTarget};
use crate::engine::{ActionRequest, Field, Proposed};
use crate::tools::{Risk, Tool};

/// A message someone typed, which a reaction can land on.
#[derive(Clone, Debug)]
pub(super) struct Typed {
    pub author: String,
    /// As Slack would hold it (mentions as `<@U…>`).
    pub text: String,
    /// Reactions on it: emoji → (reactor, proposal it made or approved).
    pub reactions: Vec<(String, String, Option<String>)>,
}

/// The form, one question at a time.
#[derive(Clone, Debug, Default)]
pub(super) struct FormState {
    tools: Vec<Tool>,
    tool: Option<Tool>,
    user: Option<String>,
    group: Option<Option<String>>,
    access_seconds: Option<Option<i64>>,
}

impl ChatSession<'_> {
    pub(super) async fn react(&mut self, emoji: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let emoji = emoji.trim().trim_matches(':').to_string();
        let Some(rule) = self.automations.reaction_rule_anywhere(&emoji).cloned() else {
            let known: Vec<String> = self
                .automations
                .reactions
                .iter()
                .map(|r| format!(":{}: ({})", r.emoji, r.tool.verb().to_lowercase()))
                .collect();
            return writeln!(
                out,
                "  (no rule for :{emoji}:; the rules are: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            );
        };
        let Some(mut message) = self.last_typed.clone() else {
            return writeln!(
                out,
                "  (there is no message to react to yet: type one first)"
            );
        };
        let me = self.acting_as.clone();
        if message
            .reactions
            .iter()
            .any(|(e, who, _)| *e == emoji && *who == me)
        {
            return writeln!(
                out,
                "  (you already reacted with :{emoji}:; a reaction is one trigger)"
            );
        }
        writeln!(
            out,
            "  ({} reacts :{emoji}: to {}'s message)",
            self.name(&me),
            self.name(&message.author)
        )?;
        let via = Trigger::Reaction {
            emoji: emoji.clone(),
        };
        // A second reactor approves what the first one proposed.
        let open = message
            .reactions
            .iter()
            .find_map(|(e, _, id)| id.clone().filter(|_| *e == emoji));
        if let (Some(proposal_id), true) = (open, rule.reactors_required >= 2) {
            message
                .reactions
                .push((emoji.clone(), me.clone(), Some(proposal_id.clone())));
            self.last_typed = Some(message);
            let outputs = self.engine.approve_as(&proposal_id, &me, via).await;
            return self.show(outputs, out);
        }
        let target = match rule.target {
            ReactionTarget::Author => Some(message.author.clone()),
            ReactionTarget::Mentioned => {
                match reactions::mentioned_people(&message.text, "").as_slice() {
                    [one] => Some(one.clone()),
                    [] => None,
                    several => {
                        message.reactions.push((emoji.clone(), me, None));
                        self.last_typed = Some(message);
                        return writeln!(out, "  okta-agent › That message mentions {} people, so :{emoji}: could mean any of them. Which person? Ask me, e.g. `{}`.", several.len(), crate::agent::rules::command(rule.tool, "@person", None));
                    }
                }
            }
        };
        let Some(target) = target else {
            message.reactions.push((emoji.clone(), me, None));
            self.last_typed = Some(message);
            return writeln!(out, "  okta-agent › :{emoji}: means {} the person a message is about, but it mentions no one. Which person? Ask me, e.g. `{}`.", rule.tool.verb().to_lowercase(), crate::agent::rules::command(rule.tool, "@person", None));
        };
        let proposed = self
            .engine
            .request_action(ActionRequest {
                requester: me.clone(),
                tool: rule.tool,
                user: format!("<@{target}>"),
                group: None,
                access_seconds: None,
                reason: None,
                conversation: "chat".into(),
                trigger: via.clone(),
            })
            .await;
        match proposed {
            Proposed::Refused { why, .. } => {
                message.reactions.push((emoji.clone(), me.clone(), None));
                self.last_typed = Some(message);
                writeln!(
                    out,
                    "  (only {} sees this) Your :{emoji}: did nothing: {}. Nothing was changed.",
                    self.name(&me),
                    why.trim_end_matches('.')
                )
            }
            Proposed::Card {
                proposal_id,
                outputs,
                requester_may_approve,
            } => {
                message
                    .reactions
                    .push((emoji.clone(), me.clone(), Some(proposal_id.clone())));
                self.last_typed = Some(message);
                self.show(outputs, out)?;
                if rule.reactors_required >= 2 {
                    writeln!(out, "  okta-agent › This needs a second authorized person to react :{emoji}: too (`/as U0GRACE` then `/react {emoji}`), or Approve on the card.")
                } else if rule.mode == ReactionMode::Immediate && requester_may_approve {
                    if rule.grace_seconds > 0 {
                        writeln!(out, "  okta-agent › In Slack this waits {} s, and removing your :{emoji}: in that time cancels it. Here it goes ahead now.", rule.grace_seconds)?;
                    }
                    let outputs = self.engine.approve_as(&proposal_id, &me, via).await;
                    self.show(outputs, out)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// `/form`: what it looks like, then its first question.
    pub(super) async fn start_form(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let tools = self
            .engine
            .requestable_tools(&self.acting_as)
            .await
            .unwrap_or_default();
        if tools.is_empty() {
            return writeln!(
                out,
                "  okta-agent › You can't ask okta-agent for changes, so there is no form for you."
            );
        }
        writeln!(out, "{}", super::indent(&forms::describe(&tools)))?;
        let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
        writeln!(
            out,
            "  Action? ({}; `/cancel` leaves the form)",
            names.join(", ")
        )?;
        self.form = Some(FormState {
            tools,
            ..FormState::default()
        });
        Ok(())
    }

    /// One answer to the form's current question.
    pub(super) async fn form_answer(
        &mut self,
        text: &str,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let Some(mut form) = self.form.take() else {
            return Ok(());
        };
        if text == "/cancel" {
            return writeln!(out, "  (form closed; nothing was requested)");
        }
        let answer = text.trim();
        if form.tool.is_none() {
            match Tool::from_name(answer).filter(|t| form.tools.contains(t)) {
                Some(tool) => form.tool = Some(tool),
                None => {
                    writeln!(out, "  ✗ Action: choose one of the actions listed.")?;
                    self.form = Some(form);
                    return writeln!(out, "  Action?");
                }
            }
            self.form = Some(form);
            return writeln!(out, "  Person? (@handle, login or email)");
        }
        let Some(tool) = form.tool else { return Ok(()) };
        if form.user.is_none() {
            form.user = Some(self.write_mentions(answer));
            let group_tool = matches!(tool, Tool::AddUserToGroup | Tool::RemoveUserFromGroup);
            if !group_tool {
                form.group = Some(None);
                form.access_seconds = Some(None);
            }
            self.form = Some(form);
            return writeln!(
                out,
                "{}",
                if group_tool {
                    "  Group? (its exact name)"
                } else {
                    "  Reason? (required for destructive actions; empty to skip)"
                }
            );
        }
        if form.group.is_none() {
            form.group = Some(Some(answer.to_string()));
            if tool != Tool::AddUserToGroup {
                form.access_seconds = Some(None);
                self.form = Some(form);
                return writeln!(out, "  Reason? (empty to skip)");
            }
            self.form = Some(form);
            return writeln!(
                out,
                "  For how long? (e.g. 8 hours; empty to keep the membership)"
            );
        }
        if form.access_seconds.is_none() {
            if answer.is_empty() {
                form.access_seconds = Some(None);
            } else {
                match crate::agent::rules::duration::take_duration(&format!("for {answer}")) {
                    (rest, Some(seconds)) if rest.trim().is_empty() => {
                        form.access_seconds = Some(Some(seconds))
                    }
                    _ => {
                        self.form = Some(form);
                        return writeln!(out, "  ✗ For how long: write a length like “8 hours”, “90 minutes” or “2 days”.\n  For how long?");
                    }
                }
            }
            self.form = Some(form);
            return writeln!(out, "  Reason? (empty to skip)");
        }
        // The reason: the last field; then the request.
        let reason = (!answer.is_empty()).then(|| answer.to_string());
        if tool.risk() == Risk::Destructive && reason.is_none() {
            self.form = Some(form);
            return writeln!(
                out,
                "  ✗ Reason: a reason is required for this action.\n  Reason?"
            );
        }
        let proposed = self
            .engine
            .request_action(ActionRequest {
                requester: self.acting_as.clone(),
                tool,
                user: form.user.clone().unwrap_or_default(),
                group: form.group.clone().flatten(),
                access_seconds: form.access_seconds.flatten(),
                reason,
                conversation: "chat".into(),
                trigger: Trigger::Form,
            })
            .await;
        match proposed {
            Proposed::Refused { field, why } => {
                let name = match field {
                    Field::Action => "Action",
                    Field::User => "Person",
                    Field::Group => "Group",
                    Field::Duration => "For how long",
                };
                writeln!(
                    out,
                    "  ✗ {name}: {}. Nothing was requested. (`/form` to start again)",
                    why.trim_end_matches('.')
                )
            }
            Proposed::Card {
                outputs,
                requester_may_approve,
                ..
            } => {
                self.show(outputs, out)?;
                if requester_may_approve {
                    writeln!(
                        out,
                        "  (you may approve this alone: the form's last step is this confirmation)"
                    )?;
                }
                Ok(())
            }
        }
    }
}
