//! Automations in the terminal, so a newcomer can try them without Slack: `/react EMOJI` adds a
//! reaction (as the person typing) to the last message someone typed, under the configured
//! emoji rules (the demo's when none are); `/form` walks through the `/okta` form one field at
//! a time. Both are adapters over the engine calls Slack uses ([`Engine::reaction`],
//! [`Engine::form`]): the terminal only words what they return.
//!
//! [`Engine::reaction`]: crate::engine::Engine::reaction
//! [`Engine::form`]: crate::engine::Engine::form

use std::io::Write;

use super::ChatSession;
use crate::automations::forms;
use crate::engine::{
    Field, FormSubmission, Output, Proposed, ReactedMessage, Reaction, ReactionNews,
};
use crate::tools::{Risk, Tool};

/// A message someone typed, which a reaction can land on.
#[derive(Clone, Debug)]
pub(super) struct Typed {
    /// Its id in this conversation, as Slack's `ts` is in a channel.
    pub id: u64,
    pub author: String,
    /// As Slack would hold it (mentions as `<@U…>`).
    pub text: String,
    /// Who reacted with what, to say "already" here (the engine counts each once anyway).
    pub reacted: Vec<(String, String)>,
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
            .reacted
            .iter()
            .any(|(e, who)| *e == emoji && *who == me)
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
        message.reacted.push((emoji.clone(), me.clone()));
        let reaction = Reaction {
            reactor: me,
            rule,
            message: ReactedMessage {
                place: crate::automations::CHAT_CHANNEL.to_string(),
                ts: message.id.to_string(),
                text: message.text.clone(),
                author: Some(message.author.clone()),
                conversation: "chat".into(),
            },
            added: true,
            bot_user_id: String::new(),
        };
        self.last_typed = Some(message);
        let outcome = self.engine.reaction(reaction).await;
        // An approval Slack would make at the end of the grace window happens now: there is no
        // taking a reaction back here.
        let scheduled: Vec<String> = outcome
            .outputs
            .iter()
            .filter_map(|o| match o {
                Output::Reaction {
                    news: ReactionNews::Scheduled { job_id, .. },
                    ..
                } => Some(job_id.clone()),
                _ => None,
            })
            .collect();
        self.show(outcome.outputs, out)?;
        for job in scheduled {
            if let Some(delivery) = self.engine.run_job_now(&job, "chat").await {
                self.show(delivery.outputs, out)?;
            }
        }
        Ok(())
    }

    /// What a reaction did, in the terminal's words.
    pub(super) fn reaction_line(
        &self,
        reactor: &str,
        emoji: &str,
        news: &ReactionNews,
    ) -> Option<String> {
        let command = |tool: Tool| crate::agent::rules::command(tool, "@person", None);
        let said = |text: String| Some(format!("  okta-agent › {text}"));
        let private =
            |text: String| Some(format!("  (only {} sees this) {text}", self.name(reactor)));
        match news {
            ReactionNews::Refused { why } => {
                private(format!("Your :{emoji}: did nothing: {why}. Nothing was changed."))
            }
            ReactionNews::AlreadyRequested => private(format!(
                "This message already has a request from :{emoji}:; see the card above."
            )),
            ReactionNews::NoAuthor => {
                private("nobody is known to have written that message, so the reaction did nothing.".into())
            }
            ReactionNews::CannotApproveAlone => private("You can't approve this alone under the policy, so it waits on the card for someone who can.".into()),
            ReactionNews::WhichPerson { tool, mentioned } if mentioned.is_empty() => said(format!(
                ":{emoji}: means {} the person a message is about, but it mentions no one. Which person? Ask me, e.g. `{}`.",
                tool.verb().to_lowercase(), command(*tool)
            )),
            ReactionNews::WhichPerson { tool, mentioned } => said(format!(
                "That message mentions {} people, so :{emoji}: could mean any of them. Which person? Ask me, e.g. `{}`.",
                mentioned.len(), command(*tool)
            )),
            ReactionNews::NeedsSecondPerson { .. } => said(format!(
                "This needs a second authorized person to react :{emoji}: too (`/as U0GRACE` then `/react {emoji}`), or Approve on the card."
            )),
            ReactionNews::Scheduled { seconds, .. } => said(format!(
                "In Slack this waits {seconds} s, and removing your :{emoji}: in that time cancels it. Here it goes ahead now."
            )),
            // A reaction cannot be taken back here, so its window is not worth a line.
            ReactionNews::Waiting { .. } | ReactionNews::Cancelled | ReactionNews::Withdrawn => None,
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
            let group_tool = tool.subject_kind() == crate::tools::SubjectKind::Membership;
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
            .form(FormSubmission {
                requester: self.acting_as.clone(),
                tool,
                user: form.user.clone().unwrap_or_default(),
                group: form.group.clone().flatten(),
                access_seconds: form.access_seconds.flatten(),
                reason,
                conversation: "chat".into(),
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
