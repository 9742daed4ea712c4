//! The command engine's planner: turns what [`super::rules`] recognised into calls, runs them
//! through the shared toolbox, and decides what to say. Several actions in one message are all
//! proposed, one card each, or none are: if any part needs an answer or is refused, nothing is
//! proposed and the reply says what each part needs. "Do that" adopts the thread's latest
//! request; "yes" confirms okta-agent's own "Did you mean …?"; a reply to "Which one?" or
//! "Which group?" continues the request it answers.

use super::rules::{self, Action, GroupName, Intent, Parsed, Target, MAX_ACTIONS};
use super::toolbox::{Hints, Step};
use super::{Agent, Author, HistoryMessage, Inbound, Plan, CAPABILITIES};
use crate::approvals::Draft;
use crate::identity::ResolveError;
use crate::knowledge::Reply;
use crate::okta::UserStatus;
use crate::policy::Actor;
use crate::tools::{Call, Subject, SubjectKind, Tool};

/// How one action ended before approval.
enum Outcome {
    Draft(Box<Draft>),
    Answer(String),
    /// A question or a refusal: nothing may be proposed alongside it.
    Stop(String),
}

const DID_YOU_MEAN: &str = "Did you mean: ";
/// Said to a message that reads as one for another team, or small talk.
pub const NOT_FOR_IT: &str = "That reads like a question for another team, or small talk, rather than one for IT, so no IT help document answers it.";
const WHICH_GROUP: &str = "Which group did you mean?";

impl Agent {
    /// The deterministic command engine.
    pub async fn plan_with_rules(
        &self,
        inbound: &Inbound,
        actor: &Actor,
    ) -> Result<Plan, ResolveError> {
        let history = &inbound.history;
        if let Some(plan) = self.group_answer(inbound) {
            return self.run_actions(plan.0, plan.1, inbound, actor).await;
        }
        let (actions, worded_by) = match rules::parse(&inbound.text) {
            Parsed::Actions(actions) => (actions, None),
            // "maria.rossi@example.com" after "which Maria?": the question's request, with
            // this person.
            Parsed::TargetOnly(target) => match answered_request(history) {
                Some((actions, author)) => (
                    with_person(actions, target, last_bot_message(history)),
                    other_than(author, &inbound.requester),
                ),
                None => return Ok(self.not_understood(&inbound.text).await),
            },
            // "@okta-agent do that": the latest request in the thread, whoever wrote it.
            Parsed::Refer => match last_request(history) {
                Some((actions, author)) => (
                    speaking_for(actions, &author),
                    other_than(author, &inbound.requester),
                ),
                None => {
                    return Ok(Plan::Reply(
                        "I don't see an earlier request in this thread to act on. Say what you need, for example `unlock @bob`.".into(),
                    ))
                }
            },
            // "yes" to okta-agent's own "Did you mean: …?".
            Parsed::Confirm => match offered_reading(history) {
                Some(Parsed::Actions(actions)) => (actions, None),
                _ => {
                    return Ok(Plan::Reply(
                        "There's no question of mine waiting for a yes here. Say what you need, for example `unlock @bob`.".into(),
                    ))
                }
            },
            Parsed::Deny if offered_reading(history).is_some() => {
                return Ok(Plan::Reply(
                    "OK, I won't do that. Nothing was changed.".into(),
                ))
            }
            Parsed::Help => return Ok(Plan::Reply(CAPABILITIES.into())),
            Parsed::Deny | Parsed::HelpQuestion | Parsed::Unknown => {
                return Ok(self.not_understood(&inbound.text).await)
            }
        };
        self.run_actions(actions, worded_by, inbound, actor).await
    }

    async fn not_understood(&self, text: &str) -> Plan {
        if is_thanks(text) {
            return Plan::Reply("You're welcome!".into());
        }
        match self.toolbox.knowledge().reply_async(text).await {
            Reply::Answer(answer) => Plan::Reply(answer.plain()),
            Reply::OffTopic => Plan::Reply(format!("{NOT_FOR_IT}\n{CAPABILITIES}")),
            // Without a model nobody can judge the closest documents: no answer.
            Reply::Unsure(_) | Reply::Nothing => {
                Plan::Reply(format!("Sorry, I didn't understand that.\n{CAPABILITIES}"))
            }
        }
    }

    /// A reply naming one of the groups okta-agent just listed ("Which group did you mean?
    /// …"): the answered request, with that group.
    fn group_answer(&self, inbound: &Inbound) -> Option<(Vec<Action>, Option<String>)> {
        let question = last_bot_message(&inbound.history)?;
        if !question.starts_with(WHICH_GROUP) {
            return None;
        }
        let answer = inbound
            .text
            .trim()
            .trim_matches(|c| matches!(c, '"' | '“' | '”' | '\'' | '‘' | '’'))
            .trim();
        let listed: Vec<&str> = question.split('"').skip(1).step_by(2).collect();
        let chosen = listed
            .iter()
            .find(|name| name.eq_ignore_ascii_case(answer))?;
        let (actions, author) = answered_request(&inbound.history)?;
        let actions = actions
            .into_iter()
            .map(|a| Action {
                group: Some(GroupName {
                    name: chosen.to_string(),
                    plural: false,
                }),
                ..a
            })
            .collect();
        Some((actions, other_than(author, &inbound.requester)))
    }

    async fn run_actions(
        &self,
        actions: Vec<Action>,
        worded_by: Option<String>,
        inbound: &Inbound,
        actor: &Actor,
    ) -> Result<Plan, ResolveError> {
        if actions.len() > MAX_ACTIONS {
            return Ok(Plan::Clarify(format!(
                "That's {} actions in one message; I take at most {MAX_ACTIONS} at a time, so nothing was proposed. Please split it up.",
                actions.len()
            )));
        }
        let mut drafts = Vec::new();
        let mut answers = Vec::new();
        let mut stops = Vec::new();
        for action in &actions {
            match self.run_action(action, inbound, actor).await? {
                Outcome::Draft(draft) => drafts.push(Draft {
                    worded_by: worded_by.clone(),
                    ..*draft
                }),
                Outcome::Answer(text) => answers.push(text),
                Outcome::Stop(text) => stops.push(text),
            }
        }
        let answers = (!answers.is_empty()).then(|| answers.join("\n\n"));
        if stops.is_empty() {
            return Ok(match (drafts.is_empty(), answers) {
                (true, Some(text)) => Plan::Reply(text),
                (true, None) => Plan::Reply(CAPABILITIES.into()),
                (false, note) => Plan::Propose { drafts, note },
            });
        }
        // Never part of a request: nothing is proposed until every part can be.
        let mut text = match stops.as_slice() {
            [only] if drafts.is_empty() => only.clone(),
            _ => format!(
                "I haven't proposed anything yet, because part of this needs sorting out first:\n{}",
                stops
                    .iter()
                    .map(|s| format!("• {s}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        if let Some(answers) = answers {
            text = format!("{answers}\n\n{text}");
        }
        Ok(Plan::Clarify(text))
    }

    async fn run_action(
        &self,
        action: &Action,
        inbound: &Inbound,
        actor: &Actor,
    ) -> Result<Outcome, ResolveError> {
        let user = action.user.as_ref().map(|t| match t {
            Target::Requester => format!("<@{}>", inbound.requester),
            Target::Named(name) => name.clone(),
        });
        let tool = match action.intent {
            Intent::Tool(tool) => tool,
            Intent::Delete => {
                return Ok(Outcome::Stop(match &user {
                    Some(user) => format!(
                        "okta-agent does not delete accounts; it can deactivate them. {DID_YOU_MEAN}{}?",
                        rules::command(Tool::DeactivateUser, user, None)
                    ),
                    None => "okta-agent does not delete accounts; it can deactivate them. Who should I deactivate?".into(),
                }))
            }
            Intent::ResetWhich => {
                let who = user.as_deref().unwrap_or("@name");
                return Ok(Outcome::Stop(format!(
                    "Reset what: the password or the MFA factors? Say `{}` or `{}`.",
                    rules::command(Tool::ResetPassword, who, None),
                    rules::command(Tool::ResetFactors, who, None)
                )));
            }
            Intent::Reenable => match &user {
                Some(user) => match self.reenable_tool(user, actor).await? {
                    Ok(tool) => tool,
                    Err(outcome) => return Ok(outcome),
                },
                None => {
                    return Ok(Outcome::Stop(
                        "Who should I re-enable? Mention them (@name), or give their email or Okta login.".into(),
                    ))
                }
            },
        };
        let group = action.group.as_ref().map(|g| g.name.clone());
        let subject = match (tool.subject_kind(), user, group) {
            (SubjectKind::Group, _, Some(group)) => Subject::Group(group),
            (SubjectKind::Group, _, None) => {
                return Ok(Outcome::Stop("Which group should I look for?".into()))
            }
            (SubjectKind::Query, Some(user), _) => Subject::Query(user),
            (SubjectKind::Query | SubjectKind::User | SubjectKind::Membership, None, _) => {
                return Ok(Outcome::Stop(format!(
                    "Who should I {} for? Mention them (@name), or give their email or Okta login.",
                    tool.verb().to_lowercase()
                )))
            }
            (SubjectKind::Membership, Some(_), None) => {
                return Ok(Outcome::Stop(
                    "Which group? For example: `add @ana to the Zoom Users group`.".into(),
                ))
            }
            (SubjectKind::Membership, Some(user), Some(group)) => {
                Subject::Membership { user, group }
            }
            (SubjectKind::User, Some(user), _) => Subject::User(user),
        };
        let call = match Call::new(tool, subject) {
            Ok(call) => call,
            Err(e) => return Ok(Outcome::Stop(format!("I couldn't use that request: {e}."))),
        };
        let hints = Hints {
            group_plural: action.group.as_ref().is_some_and(|g| g.plural),
            as_written: action.as_written.clone(),
            access_seconds: action.access_seconds,
            reason: None,
        };
        Ok(match self.toolbox.run_with(&call, actor, &hints).await? {
            Step::Answer(text) => Outcome::Answer(text),
            Step::Refuse(text) | Step::Clarify(text) => Outcome::Stop(text),
            Step::Propose(draft) => Outcome::Draft(draft),
        })
    }

    /// "re-enable", "restore", "unblock": what the account's status calls for.
    async fn reenable_tool(
        &self,
        who: &str,
        actor: &Actor,
    ) -> Result<Result<Tool, Outcome>, ResolveError> {
        let probe = match Call::new(Tool::UnsuspendUser, Subject::User(who.to_string())) {
            Ok(call) => call,
            Err(e) => {
                return Ok(Err(Outcome::Stop(format!(
                    "I couldn't use that request: {e}."
                ))))
            }
        };
        let user = match self.toolbox.person(who, actor, &probe).await? {
            Ok(user) => user,
            Err(Step::Answer(t) | Step::Refuse(t) | Step::Clarify(t)) => {
                return Ok(Err(Outcome::Stop(t)))
            }
            Err(Step::Propose(_)) => {
                return Ok(Err(Outcome::Stop(
                    "I couldn't work out who that is.".into(),
                )))
            }
        };
        let name = format!("{} ({})", user.display_name(), user.profile.login);
        Ok(match user.status {
            UserStatus::Suspended => Ok(Tool::UnsuspendUser),
            UserStatus::LockedOut => Ok(Tool::UnlockUser),
            UserStatus::Deprovisioned | UserStatus::Staged | UserStatus::Provisioned => {
                Ok(Tool::ReactivateUser)
            }
            UserStatus::Active => Err(Outcome::Stop(format!(
                "{name} is already active; there is nothing to re-enable."
            ))),
            UserStatus::PasswordExpired | UserStatus::Recovery => Err(Outcome::Stop(format!(
                "{name}'s account is on, but they need a new password. {DID_YOU_MEAN}{}?",
                rules::command(Tool::ResetPassword, &user.profile.login, None)
            ))),
            UserStatus::Unknown => Err(Outcome::Stop(format!(
                "Okta reports a status okta-agent does not know for {name}; check them in the Okta admin console."
            ))),
        })
    }
}

/// okta-agent's latest message in the thread.
fn last_bot_message(history: &[HistoryMessage]) -> Option<&str> {
    history
        .iter()
        .rev()
        .find(|m| m.author == Author::ThisBot)
        .map(|m| m.text.as_str())
}

/// The reading okta-agent offered in its latest message ("Did you mean: suspend @dana?").
/// Only okta-agent's own words are read this way.
fn offered_reading(history: &[HistoryMessage]) -> Option<Parsed> {
    let text = last_bot_message(history)?;
    let start = text.find(DID_YOU_MEAN)? + DID_YOU_MEAN.len();
    let reading = text[start..].trim_end().trim_end_matches('?');
    Some(rules::parse(reading))
}

/// The latest request a person made in the thread, and who made it. Other bots' posts are
/// never adopted.
fn last_request(history: &[HistoryMessage]) -> Option<(Vec<Action>, String)> {
    history.iter().rev().find_map(|m| match &m.author {
        Author::Person(id) => match rules::parse(&m.text) {
            Parsed::Actions(actions) => Some((actions, id.clone())),
            _ => None,
        },
        Author::ThisBot | Author::OtherBot => None,
    })
}

/// The latest request that okta-agent answered with a question (a reply after it).
fn answered_request(history: &[HistoryMessage]) -> Option<(Vec<Action>, String)> {
    let asked = history.iter().rposition(|m| m.author == Author::ThisBot)?;
    // Only an answer to okta-agent's own question ("Which one?", "Who should I unlock?"):
    // a name typed after a refusal or a result is not a reply to anything.
    if !history[asked].text.contains('?') {
        return None;
    }
    last_request(&history[..asked])
}

/// The answered request with `target` in place of the person the question was about: the
/// one whose name the question quoted ("More than one person matches \"maria\""), else the
/// actions that named no one ("Who should I unlock?"), else (a one-person request) everyone.
fn with_person(actions: Vec<Action>, target: Target, question: Option<&str>) -> Vec<Action> {
    let quoted = |a: &Action| match (&a.user, question) {
        (Some(Target::Named(name)), Some(q)) => q.contains(&format!("\"{name}\"")),
        _ => false,
    };
    let replace: Vec<bool> = if actions.iter().any(quoted) {
        actions.iter().map(quoted).collect()
    } else if actions.iter().any(|a| a.user.is_none()) {
        actions.iter().map(|a| a.user.is_none()).collect()
    } else {
        vec![true; actions.len()]
    };
    actions
        .into_iter()
        .zip(replace)
        .map(|(a, replace)| {
            if replace {
                Action {
                    user: Some(target.clone()),
                    ..a
                }
            } else {
                a
            }
        })
        .collect()
}

/// `Some(author)` when the words were someone else's.
fn other_than(author: String, requester: &str) -> Option<String> {
    (author != requester).then_some(author)
}

/// Someone else's "I'm locked out" is about them, not about whoever adopts it.
fn speaking_for(actions: Vec<Action>, author: &str) -> Vec<Action> {
    actions
        .into_iter()
        .map(|a| match a.user {
            Some(Target::Requester) => Action {
                user: Some(Target::Named(format!("<@{author}>"))),
                ..a
            },
            _ => a,
        })
        .collect()
}

/// A short thank-you ("thanks!", "ty", "thank you so much"): it deserves a reply, not the list
/// of what okta-agent can do.
fn is_thanks(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.len() <= 5
        && words
            .iter()
            .any(|w| matches!(*w, "thanks" | "thank" | "thx" | "ty" | "cheers" | "ta"))
}
