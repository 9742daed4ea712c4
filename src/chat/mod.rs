//! `okta-agent chat`: a terminal conversation over the same engine Slack uses. Cards become
//! prompts answered by typing (`y`/`yes`/`approve`, `n`/`no`/`cancel`); `undo` offers the undo of
//! the last undoable action; `/as U…` switches who is typing. With `--script`, each line of the
//! file is typed input. Against a real org the engine runs dry: cards are shown, never stored or
//! approved here, and no secret is ever printed.

mod automations;

use std::io::{BufRead, Write};

use crate::agent::{Author, HistoryMessage, Inbound};
use crate::approvals::ProposalState;
use crate::clock::format_utc;
use crate::engine::{Card, Choice, Click, Engine, Output};
use crate::identity::StaticDirectory;

/// How the terminal session went, for the caller and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChatSummary {
    pub requests: usize,
    pub cards: usize,
    pub executed: usize,
}

pub struct ChatSession<'a> {
    engine: &'a Engine,
    directory: Option<&'a StaticDirectory>,
    acting_as: String,
    pending: Option<String>,
    undoable: Option<String>,
    /// The last time-bound access that can be ended now (`end access`).
    time_bound: Option<String>,
    /// Emoji rules for `/react`.
    automations: crate::automations::Automations,
    /// The last message someone typed (what `/react` lands on).
    last_typed: Option<automations::Typed>,
    /// Messages typed so far: each one's id.
    typed: u64,
    /// The form in progress (`/form`).
    form: Option<automations::FormState>,
    history: Vec<HistoryMessage>,
    echo: bool,
    summary: ChatSummary,
}

const HELP: &str = "Type a request the way you would in Slack (`unlock @bob`, `pls unlokc @bob`,
`@kate got a new phone`, `suspend @ana and @carol`, `add @ana to the zoom group`); type `help`
for more examples.
Answer a card with y / yes / approve or n / no / cancel.
`undo` proposes undoing the last undoable action; `end access` ends the last time-bound access.
`/say TEXT` posts a message in the channel (not to okta-agent); `/react lock` reacts to the last
message under the emoji rules (:lock: suspend, :no_entry: suspend at once, :skull: deactivate
with two people, in the demo); `/form` fills in the /okta form.
`/as U0GRACE` switches who is typing. `/quit` leaves.";

impl<'a> ChatSession<'a> {
    /// `echo` prints each input line (for scripts, so the output reads as a transcript).
    pub fn new(
        engine: &'a Engine,
        directory: Option<&'a StaticDirectory>,
        acting_as: &str,
        echo: bool,
    ) -> Self {
        Self {
            engine,
            directory,
            acting_as: acting_as.to_string(),
            pending: None,
            undoable: None,
            time_bound: None,
            automations: crate::automations::Automations::default(),
            last_typed: None,
            typed: 0,
            form: None,
            history: Vec::new(),
            echo,
            summary: ChatSummary::default(),
        }
    }

    /// The emoji rules `/react` uses.
    pub fn with_automations(mut self, automations: crate::automations::Automations) -> Self {
        self.automations = automations;
        self
    }

    /// Reads lines until the input ends or `/quit`.
    pub async fn run(
        mut self,
        input: &mut dyn BufRead,
        out: &mut dyn Write,
    ) -> std::io::Result<ChatSummary> {
        let mut line = String::new();
        loop {
            if !self.echo {
                write!(out, "{} › ", self.name(&self.acting_as))?;
                out.flush()?;
            }
            line.clear();
            if input.read_line(&mut line)? == 0 {
                break;
            }
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if self.echo {
                writeln!(out, "{} › {text}", self.name(&self.acting_as))?;
            }
            if matches!(text, "/quit" | "/exit") {
                break;
            }
            self.turn(text, out).await?;
            writeln!(out)?;
        }
        Ok(self.summary)
    }

    async fn turn(&mut self, text: &str, out: &mut dyn Write) -> std::io::Result<()> {
        // Jobs that came due while you typed (a short time-bound access ending) come first.
        for delivery in self.engine.run_due_jobs("chat").await {
            self.show(delivery.outputs, out)?;
        }
        if let Some(id) = text.strip_prefix("/as ") {
            self.acting_as = self.mention_to_id(id.trim());
            return writeln!(
                out,
                "  (now typing as {} {})",
                self.name(&self.acting_as),
                self.acting_as
            );
        }
        if text == "/help" {
            return writeln!(out, "{}", indent(HELP));
        }
        if self.form.is_some() {
            return self.form_answer(text, out).await;
        }
        if let Some(said) = text.strip_prefix("/say ") {
            // A message in the channel, not to okta-agent: something to react to.
            self.typed += 1;
            self.last_typed = Some(automations::Typed {
                id: self.typed,
                author: self.acting_as.clone(),
                text: self.write_mentions(said),
                reacted: Vec::new(),
            });
            return writeln!(
                out,
                "  ({} posts in the channel: “{said}”)",
                self.name(&self.acting_as)
            );
        }
        if let Some(emoji) = text.strip_prefix("/react ") {
            return self.react(emoji, out).await;
        }
        if text == "/form" {
            return self.start_form(out).await;
        }
        let answer = text.to_lowercase();
        if let Some(id) = self.pending.clone() {
            let choice = match answer.as_str() {
                "y" | "yes" | "approve" => Some(Choice::Approve),
                "n" | "no" | "cancel" => Some(Choice::Cancel),
                _ => None,
            };
            if let Some(choice) = choice {
                let outputs = self
                    .engine
                    .click(Click {
                        proposal_id: id,
                        clicker: self.acting_as.clone(),
                        choice,
                        via: None,
                    })
                    .await;
                return self.show(outputs, out);
            }
        }
        // With no card waiting, "yes" and "no" go to the engine: they may answer its own
        // "Did you mean …?".
        if answer == "end access" {
            let Some(id) = self.time_bound.take() else {
                return writeln!(out, "  okta-agent › There is no time-bound access to end.");
            };
            let outputs = self
                .engine
                .click(Click {
                    proposal_id: id,
                    clicker: self.acting_as.clone(),
                    choice: Choice::EndAccess,
                    via: None,
                })
                .await;
            return self.show(outputs, out);
        }
        if answer == "undo" {
            let Some(id) = self.undoable.take() else {
                return writeln!(out, "  okta-agent › There is nothing to undo.");
            };
            let outputs = self
                .engine
                .click(Click {
                    proposal_id: id,
                    clicker: self.acting_as.clone(),
                    choice: Choice::Undo,
                    via: None,
                })
                .await;
            return self.show(outputs, out);
        }
        let slack_text = self.write_mentions(text);
        self.typed += 1;
        self.last_typed = Some(automations::Typed {
            id: self.typed,
            author: self.acting_as.clone(),
            text: slack_text.clone(),
            reacted: Vec::new(),
        });
        self.summary.requests += 1;
        let outputs = self
            .engine
            .handle(Inbound {
                requester: self.acting_as.clone(),
                text: slack_text.clone(),
                history: self.history.clone(),
                conversation: "chat".into(),
            })
            .await;
        self.history.push(HistoryMessage {
            author: Author::Person(self.acting_as.clone()),
            text: slack_text,
        });
        for output in &outputs {
            if let Output::Reply(reply) = output {
                self.history.push(HistoryMessage {
                    author: Author::ThisBot,
                    text: reply.clone(),
                });
            }
        }
        self.show(outputs, out)
    }

    fn show(&mut self, outputs: Vec<Output>, out: &mut dyn Write) -> std::io::Result<()> {
        for output in outputs {
            match output {
                Output::Reply(text) => writeln!(
                    out,
                    "  okta-agent › {}",
                    self.read_mentions(&indent_rest(&text))
                )?,
                Output::Card(card) => {
                    self.summary.cards += 1;
                    // A dry-run card's "y" still goes to the engine, which refuses it.
                    self.pending = Some(card.proposal_id.clone());
                    writeln!(out, "{}", self.render_card(&card))?;
                }
                Output::CardUpdate(card) => {
                    if card.state.is_final()
                        && self.pending.as_deref() == Some(card.proposal_id.as_str())
                    {
                        self.pending = None;
                    }
                    if card.state == ProposalState::Executed {
                        self.summary.executed += 1;
                    }
                    if card.undo_available {
                        self.undoable = Some(card.proposal_id.clone());
                    }
                    if card.access.as_ref().is_some_and(|a| a.can_end_now) {
                        self.time_bound = Some(card.proposal_id.clone());
                    }
                    writeln!(out, "{}", self.render_outcome(&card))?;
                }
                Output::Ephemeral { to, text } => writeln!(
                    out,
                    "  (only {} sees this) {}",
                    self.name(&to),
                    self.read_mentions(&text)
                )?,
                // Only the demo org's simulated links are ever printed; a real one never is.
                Output::DirectMessage { to, text } if self.directory.is_some() => writeln!(
                    out,
                    "  (direct message to {}) {}",
                    self.name(&to),
                    text.expose()
                )?,
                Output::DirectMessage { to, .. } => writeln!(
                    out,
                    "  (a direct message went to {} in Slack; it is not shown here)",
                    self.name(&to)
                )?,
                Output::Notice {
                    to,
                    requester,
                    approver,
                    text,
                    ..
                } => writeln!(
                    out,
                    "  (direct message to {}) {} Requested by {}, approved by {}.",
                    self.name(&to),
                    text,
                    self.name(&requester),
                    self.name(&approver)
                )?,
                Output::TriageAlert { about, text } => writeln!(
                    out,
                    "  (to the triage channel) {} {}",
                    self.name(&about),
                    self.read_mentions(&text)
                )?,
                Output::TriageIncident { text } => {
                    writeln!(out, "  (to the triage channel) {text}")?
                }
                Output::LockoutNotice { to, text, .. } => writeln!(
                    out,
                    "  (direct message to {}) {text} [Unlock me]",
                    self.name(&to)
                )?,
                Output::Help { answer, offer, .. } => {
                    writeln!(out, "  okta-agent › {}", indent_rest(&answer.plain()))?;
                    if let Some((tool, label)) = offer {
                        writeln!(
                            out,
                            "    [{label}] — to press it here, type `{}`",
                            crate::agent::rules::command(tool, "me", None)
                        )?;
                    }
                    writeln!(out, "    [That solved it] [I still need help]")?;
                }
                Output::TriageNotice {
                    requester, summary, ..
                } => writeln!(
                    out,
                    "  (posted in the triage channel) {} asked for: {summary}",
                    self.name(&requester)
                )?,
                Output::Reaction {
                    reactor,
                    emoji,
                    news,
                } => {
                    if let Some(line) = self.reaction_line(&reactor, &emoji, &news) {
                        writeln!(out, "{line}")?;
                    }
                }
            }
        }
        Ok(())
    }

    fn render_card(&self, card: &Card) -> String {
        let target = &card.target;
        let heading = if card.dry_run {
            "Would ask for approval (dry run)"
        } else {
            "Approval needed"
        };
        let mut lines = vec![
            format!(
                "  ┌ {heading}: {}{}{}",
                card.tool.verb(),
                card.as_written
                    .as_deref()
                    .map(|typed| format!(" (you wrote '{typed}')"))
                    .unwrap_or_default(),
                if card.undo_of.is_some() {
                    " (undo)"
                } else {
                    ""
                }
            ),
            format!(
                "  │ Target:    {} · {} · {}",
                target.name, target.login, target.status
            ),
        ];
        if let Some(group) = &target.group {
            lines.push(format!("  │ Group:     {}", group.name));
        }
        if let Some(access) = &card.access {
            lines.push(format!(
                "  │ For:       {}, then removed automatically",
                crate::clock::format_duration(access.seconds)
            ));
        }
        if let Some(reason) = &card.reason {
            lines.push(format!("  │ Reason:    {reason}"));
        }
        let trigger = match &card.trigger {
            crate::approvals::Trigger::Message => String::new(),
            other => format!(" (with {})", other.describe()),
        };
        lines.push(match &card.worded_by {
            Some(author) => format!(
                "  │ Requested: {}{trigger} (as asked by {} above)",
                self.name(&card.requester),
                self.name(author)
            ),
            None => format!("  │ Requested: {}{trigger}", self.name(&card.requester)),
        });
        if let Some(approvers) = card.approvers {
            lines.push(format!("  │ Approver:  {}", approvers.describe()));
        }
        if card.dry_run {
            lines.push("  └ Nothing was stored or changed: against a real org, approval happens only in Slack.".into());
            return lines.join("\n");
        }
        lines.push(format!("  │ Expires:   {}", format_utc(card.expires_at)));
        if let Some(v) = &card.verification {
            lines.push(format!(
                "  │ Verified:  {:?} (Okta Verify push for {})",
                v.state, v.login
            ));
        }
        lines.push("  └ Approve? [y = Approve / n = Cancel]".into());
        lines.join("\n")
    }

    fn render_outcome(&self, card: &Card) -> String {
        let mark = match card.state {
            ProposalState::Executed => "✓ Executed",
            ProposalState::Failed => "✗ Failed",
            ProposalState::Rejected => "✗ Cancelled",
            ProposalState::Expired => "⌛ Expired",
            ProposalState::Unknown => "? Outcome unknown",
            ProposalState::Pending | ProposalState::Executing => "…",
        };
        let summary = card
            .outcome
            .as_ref()
            .map_or(String::new(), |o| o.summary.clone());
        let mut lines = vec![format!("  {mark}: {}", self.read_mentions(&summary))];
        if let (Some(by), Some(at)) = (&card.decided_by, card.decided_at) {
            lines.push(format!("    by {} at {}", self.name(by), format_utc(at)));
        }
        if let Some(outcome) = &card.outcome {
            if !outcome.okta_request_ids.is_empty() {
                lines.push(format!(
                    "    Okta request ids: {}",
                    outcome.okta_request_ids.join(", ")
                ));
            }
        }
        if card.undo_available {
            lines.push("    Undo is available: type `undo`.".into());
        }
        if let Some(access) = &card.access {
            match access.ends_at {
                Some(at) if access.ended => {
                    lines.push(format!("    Access ended: {}", format_utc(at)))
                }
                Some(at) => lines.push(format!("    Access ends: {}", format_utc(at))),
                None => {}
            }
            if let Some(note) = &access.note {
                lines.push(format!("    {note}"));
            }
            if access.can_end_now {
                lines.push("    [End access now] — type `end access`".into());
            }
        }
        lines.join("\n")
    }

    /// `@bob` → `<@U0BOB>`, as Slack's composer does when you pick a person.
    fn write_mentions(&self, text: &str) -> String {
        let Some(directory) = self.directory else {
            return text.to_string();
        };
        text.split(' ')
            .map(|word| {
                let Some(handle) = word.strip_prefix('@') else {
                    return word.to_string();
                };
                let end = handle
                    .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
                    .unwrap_or(handle.len());
                // A trailing full stop ends the sentence, not the handle.
                let name = handle[..end].trim_end_matches('.');
                match directory.id_for_handle(name) {
                    Some(id) => format!("<@{id}>{}", &handle[name.len()..]),
                    None => word.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `<@U0BOB>` → `@bob` for display.
    fn read_mentions(&self, text: &str) -> String {
        let Some(directory) = self.directory else {
            return text.to_string();
        };
        let mut shown = text.to_string();
        for person in directory.people() {
            shown = shown.replace(&format!("<@{}>", person.id), &format!("@{}", person.handle));
        }
        shown
    }

    fn mention_to_id(&self, text: &str) -> String {
        let bare = text.trim_start_matches('@');
        self.directory
            .and_then(|d| d.id_for_handle(bare))
            .map_or_else(|| bare.to_string(), str::to_string)
    }

    fn name(&self, slack_id: &str) -> String {
        self.read_mentions(&format!("<@{slack_id}>"))
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Indents every line after the first, under the speaker's prefix.
fn indent_rest(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n    ")
}
