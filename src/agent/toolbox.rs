//! Runs one decoded tool call for the planners: read tools are answered now (after the read
//! policy), change tools are resolved to exactly one target and frozen into a [`Draft`]. Both
//! planners share it, so the model and the command engine can do exactly the same things.
//! Policy's [`Scope`] is asked first: a person who may act only on themselves is resolved only
//! as themselves, so they learn nothing about anyone else and cost no lookup of anyone else.

use std::sync::Arc;

use crate::agent::rules::command;
use crate::approvals::{Draft, TargetSnapshot};
use crate::identity::{parse_mention, Lookup, ResolveError, Resolver};
use crate::knowledge::{Knowledge, Reply};
use crate::okta::{OktaError, User, UserStatus};
use crate::policy::{Act, ActionFacts, Actor, AdminRoles, Decision, Policy, Scope, TargetFacts};
use crate::tools::{Answer, Call, Observed, Subject, Tool};

/// What one call produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A read tool's answer (goes back to the model, or to the person).
    Answer(String),
    /// A change, frozen, for policy and approval.
    Propose(Box<Draft>),
    /// The target is ambiguous or missing: ask.
    Clarify(String),
    /// Not allowed, or nothing to act on.
    Refuse(String),
}

/// What the command engine knows about a call beyond its arguments.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// The group was written as a plural ("the engineering groups"): several may be meant.
    pub group_plural: bool,
    /// The action word as typed, when it was misspelt or a paraphrase of a destructive action.
    pub as_written: Option<String>,
    /// Time-bound access: the membership ends this many seconds after it is made.
    pub access_seconds: Option<i64>,
    /// Why, in the requester's words (the form).
    pub reason: Option<String>,
}

#[derive(Clone)]
pub struct Toolbox {
    resolver: Resolver,
    policy: Arc<Policy>,
    knowledge: Arc<Knowledge>,
}

const MAX_LISTED: usize = 25;

impl Toolbox {
    pub fn new(resolver: Resolver, policy: Arc<Policy>, knowledge: Arc<Knowledge>) -> Self {
        Self {
            resolver,
            policy,
            knowledge,
        }
    }

    pub fn knowledge(&self) -> &Arc<Knowledge> {
        &self.knowledge
    }

    pub async fn run(&self, call: &Call, actor: &Actor) -> Result<Step, ResolveError> {
        self.run_with(call, actor, &Hints::default()).await
    }

    pub async fn run_with(
        &self,
        call: &Call,
        actor: &Actor,
        hints: &Hints,
    ) -> Result<Step, ResolveError> {
        let step = self.run_hinted(call, actor, hints).await?;
        // "Did you mean: add ana to "Zoom Users"?" keeps the duration, so "yes" keeps it too.
        Ok(match (step, hints.access_seconds) {
            (Step::Clarify(text), Some(seconds))
                if text.starts_with("Did you mean: ") && text.ends_with('?') =>
            {
                Step::Clarify(format!(
                    "{} for {}?",
                    &text[..text.len() - 1],
                    crate::agent::rules::duration::phrase(seconds)
                ))
            }
            (step, _) => step,
        })
    }

    async fn run_hinted(
        &self,
        call: &Call,
        actor: &Actor,
        hints: &Hints,
    ) -> Result<Step, ResolveError> {
        let scope = self.policy.scope(actor, call.tool);
        if let Scope::Nobody(why) = &scope {
            return Ok(Step::Refuse(format!("I can't do that: {why}.")));
        }
        let about_person = |tool: Tool| match call.subject.user() {
            Some(who) => Ok(who),
            None => Err(Step::Refuse(format!("{tool} needs a person"))),
        };
        let Some(answer) = call.tool.answers() else {
            let who = match about_person(call.tool) {
                Ok(who) => who,
                Err(step) => return Ok(step),
            };
            return match self.person(who, actor, call).await? {
                Ok(user) => self.draft(call, user, hints).await,
                Err(step) => Ok(step),
            };
        };
        let asked = match &call.subject {
            Subject::Query(text) | Subject::Group(text) => text.as_str(),
            Subject::User(user) | Subject::Membership { user, .. } => user.as_str(),
        };
        match answer {
            Answer::HelpDocs => Ok(Step::Answer(match self.knowledge.reply_async(asked).await {
                Reply::Answer(answer) => answer.plain(),
                Reply::OffTopic => format!(
                    "No help document answers \"{asked}\": it reads like a question for another team, or small talk, rather than one for IT."
                ),
                // The model reads them and decides, as it does for a help-channel question.
                Reply::Unsure(closest) => format!(
                    "No help document answers \"{asked}\" for sure. The closest sections follow; use one only if it really answers the question, and cite it.\n\n{}",
                    closest
                        .sections
                        .iter()
                        .map(|(citation, text)| match &citation.link {
                            Some(link) => format!("{} ({link})\n{text}", citation.title),
                            None => format!("{}\n{text}", citation.title),
                        })
                        .collect::<Vec<_>>()
                        .join("\n\n")
                ),
                Reply::Nothing => format!("No help document answers \"{asked}\"."),
            })),
            Answer::People => self.find_user(asked, actor).await,
            Answer::Group => {
                if let Some(refusal) = self.read_refusal(call.tool, actor, None) {
                    return Ok(Step::Refuse(refusal));
                }
                Ok(Step::Answer(
                    match self.resolver.group(asked, false).await? {
                        Lookup::Found(g) | Lookup::Likely(g) => format!(
                            "Okta group \"{}\" ({:?}, id {}).",
                            g.name(),
                            g.group_type,
                            g.id
                        ),
                        Lookup::Ambiguous(groups) => format!(
                            "Several groups match \"{asked}\": {}.",
                            groups
                                .iter()
                                .map(|g| format!("\"{}\"", g.name()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Lookup::NotFound(why) | Lookup::Refused(why) => {
                            format!("Not found: {why}.")
                        }
                    },
                ))
            }
            Answer::Apps | Answer::Groups | Answer::Diagnosis => {
                let who = match about_person(call.tool) {
                    Ok(who) => who,
                    Err(step) => return Ok(step),
                };
                let user = match self.person(who, actor, call).await? {
                    Ok(user) => user,
                    Err(step) => return Ok(step),
                };
                if let Some(refusal) = self.read_refusal(call.tool, actor, Some(&user)) {
                    return Ok(Step::Refuse(refusal));
                }
                self.read_about(answer, &user).await.map(Step::Answer)
            }
        }
    }

    /// The one Okta user `who` names, within what policy lets `actor` ask about; or the step
    /// that says why not (a question for a loose or ambiguous name, a refusal otherwise).
    pub async fn person(
        &self,
        who: &str,
        actor: &Actor,
        call: &Call,
    ) -> Result<Result<User, Step>, ResolveError> {
        match self.policy.scope(actor, call.tool) {
            Scope::Nobody(why) => return Ok(Err(Step::Refuse(format!("I can't do that: {why}.")))),
            Scope::OnlySelf => {
                return Ok(self.own_account(who, actor).await?.map_err(Step::Refuse))
            }
            Scope::Anyone => {}
        }
        Ok(match self.resolver.user(who).await? {
            Lookup::Found(user) => Ok(user),
            Lookup::Likely(user) => Err(Step::Clarify(format!(
                "Did you mean: {}?",
                command(call.tool, &user.profile.login, call.subject.group())
            ))),
            Lookup::Ambiguous(users) => Err(Step::Clarify(which_person(who, &users))),
            Lookup::NotFound(why) => {
                Err(Step::Refuse(format!("I couldn't find that person: {why}.")))
            }
            Lookup::Refused(why) => {
                Err(Step::Refuse(format!("I can't act on that person: {why}.")))
            }
        })
    }

    /// For someone who may only act on themselves: the request must name them (a mention of
    /// themselves, "me", their Okta login, email or id). Only their own account is read.
    async fn own_account(
        &self,
        who: &str,
        actor: &Actor,
    ) -> Result<Result<User, String>, ResolveError> {
        const ONLY_SELF: &str = "I can only do that for your own account (only IT admins can act for other people). Ask about yourself, for example “unlock me”.";
        let who = who.trim().trim_start_matches('@');
        let mentions_self = parse_mention(who).is_some_and(|id| id == actor.slack_id);
        if !mentions_self && parse_mention(who).is_some() {
            return Ok(Err(ONLY_SELF.into()));
        }
        let Some(own_id) = &actor.okta_user_id else {
            return Ok(Err(format!(
                "I can't match your Slack account to one Okta user ({}), so I can't act on your account; ask IT in the triage channel.",
                actor.unlinked.as_deref().unwrap_or("no Okta user has your Slack email")
            )));
        };
        let user = self.resolver.okta().get_user(own_id).await?.value;
        let names_self = mentions_self
            || who == own_id
            || who.eq_ignore_ascii_case(&user.profile.login)
            || user
                .profile
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(who));
        Ok(if names_self {
            Ok(user)
        } else {
            Err(ONLY_SELF.into())
        })
    }

    async fn find_user(&self, query: &str, actor: &Actor) -> Result<Step, ResolveError> {
        if let Some(refusal) = self.read_refusal(Tool::FindUser, actor, None) {
            return Ok(Step::Refuse(refusal));
        }
        let users = match self.resolver.user(query).await? {
            Lookup::Found(user) | Lookup::Likely(user) => vec![user],
            Lookup::Ambiguous(users) => users,
            Lookup::NotFound(why) | Lookup::Refused(why) => {
                return Ok(Step::Answer(format!("Nobody found: {why}.")))
            }
        };
        Ok(Step::Answer(people_list(&users)))
    }

    async fn draft(&self, call: &Call, user: User, hints: &Hints) -> Result<Step, ResolveError> {
        if let Some(why) = gate_refusal(call.tool, &user, None, None) {
            return Ok(Step::Refuse(why));
        }
        if let Some(seconds) = hints.access_seconds {
            if call.tool != Tool::AddUserToGroup {
                return Ok(Step::Refuse(format!(
                    "only group memberships can be time-bound, not {}",
                    call.tool.verb().to_lowercase()
                )));
            }
            let max_hours = self.policy.max_access_hours();
            if seconds <= 0 || seconds > i64::from(max_hours) * 3_600 {
                return Ok(Step::Refuse(format!(
                    "time-bound access can last from a minute to {max_hours} hours (policy max_access_hours)"
                )));
            }
        }
        let group = match call.subject.group() {
            Some(name) => match self.resolver.group(name, hints.group_plural).await? {
                Lookup::Found(group) => Some(group),
                Lookup::Likely(group) => {
                    return Ok(Step::Clarify(format!(
                        "Did you mean: {}?",
                        command(call.tool, &user.profile.login, Some(group.name()))
                    )))
                }
                Lookup::Ambiguous(groups) => {
                    return Ok(Step::Clarify(format!(
                        "Which group did you mean? Several match \"{name}\": {}. Reply with the exact name.",
                        groups.iter().map(|g| format!("\"{}\"", g.name())).collect::<Vec<_>>().join(", ")
                    )))
                }
                Lookup::NotFound(why) | Lookup::Refused(why) => return Ok(Step::Refuse(format!("I couldn't find that group: {why}."))),
            },
            None => None,
        };
        if let Some(group) = &group {
            let groups = self.resolver.okta().user_groups(&user.id).await?.value;
            let member = groups.iter().any(|g| g.id == group.id);
            if let Some(why) = gate_refusal(call.tool, &user, Some(group.name()), Some(member)) {
                return Ok(Step::Refuse(why));
            }
        }
        Ok(Step::Propose(Box::new(Draft {
            call: call.clone(),
            target: TargetSnapshot::of(&user, group.as_ref()),
            worded_by: None,
            as_written: hints.as_written.clone(),
            access_seconds: hints.access_seconds,
            reason: hints.reason.clone(),
        })))
    }

    /// Reads are authorized like everything else: with a policy, non-admins may only read
    /// about themselves.
    fn read_refusal(&self, tool: Tool, actor: &Actor, user: Option<&User>) -> Option<String> {
        let target = user.map(|u| TargetFacts {
            okta_user_id: u.id.clone(),
            login: u.profile.login.clone(),
            email: u.profile.email.clone(),
            admin_roles: AdminRoles::None,
            groups: Vec::new(),
        });
        let facts = ActionFacts {
            tool,
            requester: actor,
            target: target.as_ref(),
            group: None,
            requester_recent: 0,
            target_recent: 0,
        };
        match self.policy.authorize(actor, Act::Request, &facts) {
            Decision::Allowed => None,
            Decision::Denied(reason) => Some(format!("I can't do that: {reason}.")),
            Decision::NeedsApproval(_) => Some("that needs approval".into()),
        }
    }

    async fn read_about(&self, answer: Answer, user: &User) -> Result<String, ResolveError> {
        let okta = self.resolver.okta();
        let who = format!("{} ({})", user.display_name(), user.profile.login);
        Ok(match answer {
            Answer::Apps => {
                let apps = okta.user_app_links(&user.id).await?.value;
                if apps.is_empty() {
                    format!("{who} has no apps assigned.")
                } else {
                    let mut labels: Vec<&str> = apps.iter().map(|a| a.label.as_str()).collect();
                    labels.sort_unstable();
                    labels.dedup();
                    format!("{who} has {} app(s): {}.", labels.len(), labels.join(", "))
                }
            }
            Answer::Groups => {
                let groups = okta.user_groups(&user.id).await?.value;
                let mut names: Vec<&str> = groups.iter().map(|g| g.name()).collect();
                names.sort_unstable();
                format!(
                    "{who} is in {} group(s): {}.",
                    names.len(),
                    names.join(", ")
                )
            }
            Answer::Diagnosis => diagnose(okta, user, &who).await?,
            Answer::HelpDocs | Answer::People | Answer::Group => {
                format!("{answer:?} is not an answer about one person.")
            }
        })
    }
}

async fn diagnose(
    okta: &crate::okta::OktaClient,
    user: &User,
    who: &str,
) -> Result<String, ResolveError> {
    let mut lines = vec![format!("{who}: status {}.", user.status)];
    lines.push(format!(
        "Locked out: {}.",
        if user.status == UserStatus::LockedOut {
            "yes"
        } else {
            "no"
        }
    ));
    lines.push(format!(
        "Last sign-in: {}.",
        user.last_login.as_deref().unwrap_or("never")
    ));
    lines.push(format!(
        "Password last changed: {}.",
        user.password_changed.as_deref().unwrap_or("never")
    ));
    let why = match user.status {
        UserStatus::LockedOut => "Too many failed sign-ins locked the account. Unlocking it (unlock_user) fixes this; if it recurs, a device may have an old password saved.".to_string(),
        UserStatus::Suspended => "An admin suspended the account, so sign-in is blocked until it is unsuspended (unsuspend_user).".into(),
        UserStatus::Deprovisioned => "The account is deactivated (usually offboarding). Only reactivate_user brings it back, and that is a deliberate decision.".into(),
        UserStatus::PasswordExpired => "The password expired: they must choose a new one at the sign-in page, or IT can send a reset link (reset_password).".into(),
        UserStatus::Recovery => "A password reset is in progress: they need to follow the reset link Okta emailed them.".into(),
        UserStatus::Provisioned => "They never finished activating the account; reactivate_user resends the activation email.".into(),
        UserStatus::Staged => "The account was created but never activated; it cannot sign in until activated (reactivate_user).".into(),
        UserStatus::Active => {
            let factors = match okta.user_factors(&user.id).await {
                Ok(reply) => reply.value,
                Err(OktaError::MissingScope { .. } | OktaError::NotPermitted { .. }) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            if factors.is_empty() {
                "Nothing in Okta blocks sign-in. They have no MFA factor enrolled, so Okta will ask them to enrol one.".into()
            } else {
                format!(
                    "Nothing in Okta blocks sign-in. They have {} MFA factor(s); if they changed phones, resetting MFA (reset_factors) lets them enrol again.",
                    factors.len()
                )
            }
        }
        UserStatus::Unknown => "Okta reports a status okta-agent does not know; check the user in the Okta admin console.".into(),
    };
    lines.push(format!("Why they may not get in: {why}"));
    Ok(lines.join("\n"))
}

/// The tool's declared gate (Okta's lifecycle rules, and whether a membership change has
/// anything to do), checked before a card is shown, so nobody approves an action Okta would
/// refuse or that would change nothing.
fn gate_refusal(
    tool: Tool,
    user: &User,
    group: Option<&str>,
    member: Option<bool>,
) -> Option<String> {
    let observed = Observed {
        status: user.status,
        member,
    };
    let why = tool.refusal(&observed)?;
    let who = format!("{} ({})", user.display_name(), user.profile.login);
    Some(crate::tools::fill(
        why,
        &[
            ("who", &who),
            ("status", user.status.as_str()),
            ("group", group.unwrap_or_default()),
        ],
    ))
}

fn people_list(users: &[User]) -> String {
    let mut lines: Vec<String> = users
        .iter()
        .take(MAX_LISTED)
        .map(|u| {
            format!(
                "• {} — {} — {}",
                u.display_name(),
                u.profile.login,
                u.status
            )
        })
        .collect();
    if users.len() > MAX_LISTED {
        lines.push(format!(
            "…and {} more; be more specific.",
            users.len() - MAX_LISTED
        ));
    }
    lines.join("\n")
}

fn which_person(asked: &str, users: &[User]) -> String {
    format!(
        "More than one person matches \"{asked}\":\n{}\nWhich one? Reply with their email or Okta login.",
        people_list(users)
    )
}
