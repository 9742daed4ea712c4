//! The one orchestrator between a request and Okta: plan (agent) → authorize (policy) → store
//! a pending proposal → render a card; and click → re-authorize the clicker and the requester
//! with what Slack and Okta say now → single claim → execute → read back → record the outcome
//! (never lost: a write that fails after Okta acted goes to the recovery file) → audit → update
//! the card. It knows no Slack types: it takes an [`Inbound`] or a [`Click`] and returns
//! [`Output`]s for the front end (Slack or the terminal). People see short sentences and a
//! reference id; the details go to the log under that id.

mod admins;
pub use admins::{read_group_admins, GroupAdminReading};
mod automation;
mod home;
pub use home::{Home, HomeAccess, RecentAction};
mod jobs;
pub mod learning;
mod lockouts;
mod notices;
mod reactions;
mod records;
mod verify;
use automation::ActionRequest;
pub use automation::{Field, FormSubmission, Proposed};
pub use jobs::Delivery;
pub use learning::{AskedQuestion, Teaching};
pub use lockouts::LOCKOUT_POLLER;
pub use reactions::{ReactedMessage, Reaction, ReactionNews, ReactionOutcome};
pub use records::HelpFeedback;
pub use verify::Verification;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{error, info, info_span, warn, Instrument};

use crate::agent::{Agent, Inbound, Plan};
use crate::approvals::{
    ApprovalError, Approvals, ClaimRefusal, Draft, NewProposal, Outcome, Proposal, ProposalState,
    TargetSnapshot, Trigger,
};
use crate::audit::{self, AuditKeys, AuditRecord};
use crate::clock::{format_utc, WallClock};
use crate::executor;
use crate::identity::{ResolveError, Resolver};
use crate::okta::OktaError;
use crate::policy::{Act, ActionFacts, Actor, Approvers, Decision, GroupFacts, PersonKind, Policy};
use crate::secret::Secret;
use crate::store::Store;
use crate::tools::{Call, Tool};

/// A person's click on a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    pub proposal_id: String,
    /// The Slack user id on the interaction payload.
    pub clicker: String,
    pub choice: Choice,
    /// What stood in for the button, when it was not one (a second reaction, a grace window
    /// ending): audited with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Trigger>,
}

impl Click {
    /// A button pressed by `clicker` on the card of `proposal_id`.
    pub fn button(proposal_id: &str, clicker: &str, choice: Choice) -> Self {
        Self {
            proposal_id: proposal_id.to_string(),
            clicker: clicker.to_string(),
            choice,
            via: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Approve,
    Cancel,
    Undo,
    /// End time-bound access now (the approver or the person it is for).
    EndAccess,
    /// Send the Okta Verify push to the person ("Verify @bob first").
    VerifyFirst,
}

/// Whether this engine may change Okta. `chat` against a real org runs `DryRun`: it shows what
/// would be proposed and what policy decides, stores nothing and executes nothing, because a
/// terminal cannot prove it is a Slack admin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Live,
    DryRun,
}

/// A confirmation card's content: what, on whom, asked by whom, who may approve, until when,
/// and (once decided) how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub proposal_id: String,
    pub tool: Tool,
    pub target: TargetSnapshot,
    pub requester: String,
    /// The person whose words the requester adopted ("as asked by @eve above").
    pub worded_by: Option<String>,
    /// The action word as typed, when it was misspelt or a paraphrase ("Deactivate (you
    /// wrote 'offboard')").
    pub as_written: Option<String>,
    pub approvers: Option<Approvers>,
    pub expires_at: i64,
    pub state: ProposalState,
    pub outcome: Option<Outcome>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// An Undo button belongs on the card.
    pub undo_available: bool,
    /// The proposal this one undoes.
    pub undo_of: Option<String>,
    /// Shown only: nothing was stored and nothing can be approved (`chat` on a real org).
    pub dry_run: bool,
    /// What set the request off (a reaction, the form…).
    pub trigger: Trigger,
    /// Why, in the requester's words (the form).
    pub reason: Option<String>,
    /// Time-bound access, when the request is one.
    pub access: Option<Access>,
    /// The Okta Verify push verification, when the policy asks for one.
    pub verification: Option<Verification>,
}

/// A time-bound membership as a card shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// How long it lasts once made.
    pub seconds: i64,
    /// When it ends (once the membership is made).
    pub ends_at: Option<i64>,
    /// The membership has been removed (at `ends_at`).
    pub ended: bool,
    /// What went wrong ending it, while it is failing or after it failed.
    pub note: Option<String>,
    /// An "End access now" button belongs on the card.
    pub can_end_now: bool,
}

/// What the front end must show, and to whom. All text is plain: the front end escapes it.
/// People are named by Slack id in their own fields, never inside text, so nothing the model,
/// Okta or a person wrote can become a mention.
#[derive(Clone, Debug)]
pub enum Output {
    /// A reply in the conversation (thread).
    Reply(String),
    /// A new confirmation card in the conversation.
    Card(Card),
    /// The existing card for this proposal, updated in place.
    CardUpdate(Card),
    /// A message only `to` sees.
    Ephemeral { to: String, text: String },
    /// A direct message to `to` holding a secret (a one-time reset link). Never in a channel.
    DirectMessage { to: String, text: Secret<String> },
    /// A DM to `to`, the person an action changed, saying what was done, who asked
    /// (`requester`) and who approved (`approver`), with `text` the what and when. The front end
    /// adds the names, says how to reply, and remembers it ([`Engine::remember_notice`]).
    Notice {
        to: String,
        proposal_id: String,
        requester: String,
        approver: String,
        text: String,
    },
    /// A message for the triage channel about `about` (a Slack user id, named by the front
    /// end before `text`).
    TriageAlert { about: String, text: String },
    /// A message for the triage channel about no one person (a lockout storm).
    TriageIncident { text: String },
    /// A DM to `to`, whose Okta account was locked (`text` says when), with an "Unlock me"
    /// button that carries `lockout_id` ([`Engine::unlock_me`]).
    LockoutNotice {
        to: String,
        lockout_id: String,
        text: String,
    },
    /// A notice for the triage channel that `requester`'s card needs an approver.
    TriageNotice {
        proposal_id: String,
        requester: String,
        summary: String,
    },
    /// What `reactor`'s `emoji` reaction did; private news goes to the reactor alone.
    Reaction {
        reactor: String,
        emoji: String,
        news: ReactionNews,
    },
    /// An answer from the help documents for `asker`, with its sources, and the self-service
    /// action (and its button label) the asker may take on themselves, if one fits.
    Help {
        asker: String,
        answer: Box<crate::knowledge::HelpAnswer>,
        offer: Option<(Tool, String)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Knowledge(#[from] crate::knowledge::KnowledgeError),
}

impl EngineError {
    /// What went wrong, for the person, when the cause is known and safe to say: Okta's rate
    /// limit (and when to try again), Okta out of reach, okta-agent's Okta credentials
    /// refused, a scope missing, Slack not answering. `None` for everything else, which gets
    /// a reference to quote instead. Nothing was changed in any of these cases: each happens
    /// before a claim (an action that reached Okta ends in an outcome, never here).
    pub fn plain_words(&self, now: i64) -> Option<String> {
        use crate::okta::TokenError;
        let okta = match self {
            EngineError::Resolve(ResolveError::Okta(e)) => e,
            EngineError::Resolve(ResolveError::Directory(e)) => {
                return e.unavailable.then(|| "I couldn't reach Slack to look up the people involved, so nothing was changed. Try again in a minute.".into())
            }
            EngineError::Approval(_)
            | EngineError::Audit(_)
            | EngineError::Store(_)
            | EngineError::Knowledge(_) => return None,
        };
        let retry_at = |secs: u64| {
            let secs = secs.max(1);
            let at = format_utc(now + secs as i64);
            format!("Try again in about {secs} s (after {}).", &at[11..])
        };
        match okta {
            OktaError::RateLimited {
                retry_after_secs, ..
            }
            | OktaError::Token(TokenError::RateLimited { retry_after_secs }) => Some(format!(
                "Okta's rate limit for okta-agent is used up for the moment, so nothing was changed. {}",
                retry_at(*retry_after_secs)
            )),
            OktaError::Transient { .. } | OktaError::Token(TokenError::Unreachable { .. }) => {
                Some("okta-agent cannot reach Okta right now (or Okta is having trouble), so nothing was changed. Try again in a few minutes; if it lasts, tell IT.".into())
            }
            OktaError::Unauthorized { .. }
            | OktaError::Token(
                TokenError::InvalidClient { .. }
                | TokenError::Scopes { .. }
                | TokenError::Dpop { .. }
                | TokenError::Other { .. }
                | TokenError::Signing(_),
            ) => Some("Okta refused okta-agent's credentials, so nothing was changed. IT needs to look at okta-agent's Okta app (`okta-agent check` says what is wrong).".into()),
            OktaError::MissingScope { scope, .. } => Some(format!(
                "okta-agent's Okta app is not allowed to do that (it lacks the scope {scope}), so nothing was changed. IT can grant it."
            )),
            OktaError::NotFound { .. }
            | OktaError::WrongStatus { .. }
            | OktaError::NotPermitted { .. }
            | OktaError::OutcomeUnknown { .. }
            | OktaError::Rejected { .. }
            | OktaError::Refused(_)
            | OktaError::Unexpected(_) => None,
        }
    }
}

/// Where a proposal comes from: its conversation, the proposal it undoes, and its trigger.
pub struct Origin<'a> {
    pub conversation: &'a str,
    pub undo_of: Option<&'a str>,
    pub trigger: Trigger,
}

impl<'a> Origin<'a> {
    pub fn new(conversation: &'a str, trigger: Trigger) -> Self {
        Self {
            conversation,
            undo_of: None,
            trigger,
        }
    }
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Outcomes and audit records merged from the recovery file.
    pub merged: usize,
    /// Proposals caught between claim and outcome, settled as `unknown`.
    pub unknown: usize,
    /// Their cards, to update where they are.
    pub cards: Vec<Delivery>,
}

/// Writes that failed after Okta acted, kept in the recovery file until the next start.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Unrecorded {
    proposal_id: String,
    /// The outcome, when it could not be stored on the proposal.
    outcome: Option<Outcome>,
    /// Audit records that could not be appended.
    audit: Vec<AuditRecord>,
}

pub struct Engine {
    agent: Agent,
    resolver: Resolver,
    policy: Arc<Policy>,
    store: Arc<Store>,
    audit_keys: Arc<AuditKeys>,
    clock: Arc<dyn WallClock>,
    mode: Mode,
}

/// The parts an [`Engine`] is made of.
pub struct Parts {
    pub agent: Agent,
    pub resolver: Resolver,
    pub policy: Arc<Policy>,
    pub store: Arc<Store>,
    pub audit_keys: Arc<AuditKeys>,
    pub clock: Arc<dyn WallClock>,
    pub mode: Mode,
}

/// A short id people can quote; the log carries the details under it.
fn reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl Engine {
    pub fn new(parts: Parts) -> Self {
        Self {
            agent: parts.agent,
            resolver: parts.resolver,
            policy: parts.policy,
            store: parts.store,
            audit_keys: parts.audit_keys,
            clock: parts.clock,
            mode: parts.mode,
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    pub fn audit_keys(&self) -> &AuditKeys {
        &self.audit_keys
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Now, by the engine's clock: the one every deadline is computed and checked with, so
    /// tests can move time for the front ends too.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A failure in words: its cause when known and safe to say, else a reference to quote
    /// (the log has the details under it).
    fn failure_words(&self, error: &EngineError, reference: &str) -> String {
        match error.plain_words(self.clock.now()) {
            Some(words) => format!("{words} (Reference {reference}.)"),
            None => format!(
                "Something went wrong and nothing was changed (reference {reference}). Try again in a moment; if it keeps happening, give IT the reference."
            ),
        }
    }

    /// Slack said this person changed (`user_change`): forget what is cached about them.
    pub fn forget_person(&self, slack_id: &str) {
        self.resolver.directory().forget(slack_id);
    }

    /// One inbound request. Never fails: problems become a reply with a reference id.
    pub async fn handle(&self, inbound: Inbound) -> Vec<Output> {
        crate::metrics::metrics()
            .requests
            .get_or_create(&crate::metrics::label(
                "planner",
                if self.agent.uses_model() {
                    "model"
                } else {
                    "command_engine"
                },
            ))
            .inc();
        let reference = reference();
        let span = info_span!("request", request_id = %reference, requester = %inbound.requester);
        async {
            match self.handle_inner(&inbound).await {
                Ok(outputs) => outputs,
                Err(e) => {
                    error!(error = %e, reference, "request failed");
                    vec![Output::Reply(self.failure_words(&e, &reference))]
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn handle_inner(&self, inbound: &Inbound) -> Result<Vec<Output>, EngineError> {
        let actor = self.resolver.actor(&inbound.requester).await?;
        // Bots, guests, strangers, deactivated and unknown accounts never request anything,
        // and nothing is looked up in Okta for them.
        if actor.kind != PersonKind::Member {
            let reason = match actor.kind {
                PersonKind::Bot => "bots cannot make requests",
                PersonKind::Deleted => "deactivated Slack accounts cannot make requests",
                PersonKind::External => {
                    "okta-agent only takes requests from people of this organisation's Slack (not from Slack Connect guests of other organisations)"
                }
                PersonKind::Guest | PersonKind::Member => "only full members of this Slack workspace can make requests (guests and unknown accounts cannot)",
            };
            info!(kind = ?actor.kind, "request from a non-member refused");
            return Ok(vec![Output::Reply(format!(
                "Sorry, {reason}. Nothing was changed."
            ))]);
        }
        // A how-to question goes to the help documents first.
        if crate::agent::rules::parse(&inbound.text) == crate::agent::rules::Parsed::HelpQuestion {
            if let Some(answer) = self.agent.help(&inbound.text).await {
                return Ok(vec![self.help_output(&actor, answer)]);
            }
        }
        let today = format_utc(self.clock.now());
        let report = self.agent.plan(inbound, &actor, &today[..10]).await?;
        info!(
            model_calls = report.model_calls,
            fallback = report.fallback.is_some(),
            "planned"
        );
        let mut outputs = Vec::new();
        if let Some(why) = &report.fallback {
            let reference = reference();
            warn!(reference, reason = %why, "model unavailable; the command engine answered");
            outputs.push(Output::Reply(format!(
                "(The language model is unavailable right now, so I used the built-in command parser. Reference {reference}.)"
            )));
        }
        match report.plan {
            Plan::Reply(text) | Plan::Clarify(text) => outputs.push(Output::Reply(text)),
            Plan::Propose { drafts, note } => {
                outputs.extend(note.map(Output::Reply));
                outputs.extend(
                    self.propose_all(drafts, &actor, &inbound.conversation)
                        .await?,
                );
            }
        }
        Ok(outputs)
    }

    /// A question in a help channel: an answer from the documents, or nothing (chatter,
    /// off-topic, nothing fits). People from other organisations and bots get nothing.
    pub async fn help_question(&self, asker: &str, question: &str) -> Vec<Output> {
        let actor = match self.resolver.actor(asker).await {
            Ok(actor) => actor,
            Err(e) => {
                warn!(error = %e, "could not look up the asker of a help question");
                return Vec::new();
            }
        };
        if matches!(
            actor.kind,
            PersonKind::External | PersonKind::Bot | PersonKind::Deleted
        ) {
            return Vec::new();
        }
        match self.agent.help(question).await {
            Some(answer) => vec![self.help_output(&actor, answer)],
            None => Vec::new(),
        }
    }

    fn help_output(&self, actor: &Actor, answer: crate::knowledge::HelpAnswer) -> Output {
        let offer = answer
            .self_service
            .filter(|tool| self.policy.allows_self_service(actor, *tool))
            .map(|tool| (tool, self.self_service_label(tool)));
        Output::Help {
            asker: actor.slack_id.clone(),
            answer: Box::new(answer),
            offer,
        }
    }

    /// The button's words for a self-service action.
    fn self_service_label(&self, tool: Tool) -> String {
        if tool == Tool::ResetPassword
            && self.policy.reset_delivery() == crate::policy::ResetDelivery::Email
        {
            return "Send me a reset email".into();
        }
        tool.for_me().into()
    }

    /// A self-service button: the same proposal, policy and approval as the typed request
    /// "`tool` for me", with the person who clicked as requester and target.
    pub async fn self_service(
        &self,
        requester: &str,
        tool: Tool,
        conversation: &str,
    ) -> Vec<Output> {
        let reference = reference();
        let span = info_span!("self_service", request_id = %reference, requester, tool = %tool);
        async {
            let result: Result<Vec<Output>, EngineError> = async {
                let actor = self.resolver.actor(requester).await?;
                if actor.kind != PersonKind::Member {
                    return Ok(vec![Output::Ephemeral {
                        to: requester.to_string(),
                        text: "Only members of this workspace can use self-service. Nothing was changed.".into(),
                    }]);
                }
                let call = match Call::new(tool, crate::tools::Subject::User(format!("<@{requester}>"))) {
                    Ok(call) => call,
                    Err(e) => return Ok(vec![Output::Reply(format!("I couldn't do that: {e}."))]),
                };
                match self.agent.toolbox().run(&call, &actor).await? {
                    crate::agent::toolbox::Step::Propose(draft) => {
                        self.propose(*draft, &actor, &Origin::new(conversation, Trigger::SelfService))
                            .await
                    }
                    crate::agent::toolbox::Step::Answer(text)
                    | crate::agent::toolbox::Step::Refuse(text)
                    | crate::agent::toolbox::Step::Clarify(text) => Ok(vec![Output::Ephemeral {
                        to: requester.to_string(),
                        text,
                    }]),
                }
            }
            .await;
            result.unwrap_or_else(|e| {
                error!(error = %e, reference, "self-service failed");
                vec![Output::Ephemeral {
                    to: requester.to_string(),
                    text: self.failure_words(&e, &reference),
                }]
            })
        }
        .instrument(span)
        .await
    }

    /// The group's facts, fresh from Okta, when the action is about a group.
    async fn group_facts(
        &self,
        target: &TargetSnapshot,
    ) -> Result<Option<GroupFacts>, ResolveError> {
        match &target.group {
            Some(group) => Ok(Some(self.resolver.group_facts(group).await?)),
            None => Ok(None),
        }
    }

    /// Several drafts from one message: each gets its own card and its own approval, or, if
    /// policy refuses any of them, none is proposed and the reply says why.
    async fn propose_all(
        &self,
        drafts: Vec<Draft>,
        actor: &Actor,
        conversation: &str,
    ) -> Result<Vec<Output>, EngineError> {
        if drafts.len() == 1 {
            let mut drafts = drafts;
            return self
                .propose(
                    drafts.remove(0),
                    actor,
                    &Origin::new(conversation, Trigger::Message),
                )
                .await;
        }
        let mut decided = Vec::new();
        for (already, draft) in drafts.into_iter().enumerate() {
            let decision = self.decide(&draft, actor, already as u32).await?;
            decided.push((draft, decision));
        }
        let refusals: Vec<String> = decided
            .iter()
            .filter_map(|(draft, decision)| match decision {
                Decision::Denied(reason) => Some(format!(
                    "• {} {}: {reason}",
                    draft.call.tool.verb(),
                    draft.target.login
                )),
                Decision::Allowed | Decision::NeedsApproval(_) => None,
            })
            .collect();
        if !refusals.is_empty() {
            for (draft, decision) in &decided {
                if let Decision::Denied(reason) = decision {
                    self.audit_denied(draft, actor, reason).await?;
                }
            }
            return Ok(vec![Output::Reply(format!(
                "I can't do all of that, so I proposed none of it. Nothing was changed.\n{}",
                refusals.join("\n")
            ))]);
        }
        let mut outputs = Vec::new();
        for (draft, decision) in decided {
            let Decision::NeedsApproval(approvers) = decision else {
                continue;
            };
            outputs.extend(
                self.create(
                    draft,
                    actor,
                    approvers,
                    &Origin::new(conversation, Trigger::Message),
                )
                .await?,
            );
        }
        Ok(outputs)
    }

    /// What policy says about a draft now: target and group facts read fresh from Okta,
    /// velocity counted with `already` proposals from the same message.
    async fn decide(
        &self,
        draft: &Draft,
        actor: &Actor,
        already: u32,
    ) -> Result<Decision, EngineError> {
        let now = self.clock.now();
        let target = &draft.target;
        let facts = self
            .resolver
            .target_facts(&target.id, &target.login, target.email.as_deref())
            .await?;
        let group = self.group_facts(target).await?;
        let since = now - 3_600;
        let requester_recent = self
            .store
            .proposals_by_requester_since(&actor.slack_id, since)
            .await
            .map_err(ApprovalError::from)?
            + already;
        let target_recent = self
            .store
            .proposals_about_since(&draft.target.id, since)
            .await
            .map_err(ApprovalError::from)?;
        let action = ActionFacts {
            tool: draft.call.tool,
            requester: actor,
            target: Some(&facts),
            group: group.as_ref(),
            requester_recent,
            target_recent,
        };
        Ok(self.policy.authorize(actor, Act::Request, &action))
    }

    /// Policy, then a pending proposal and its card; or a refusal.
    async fn propose(
        &self,
        draft: Draft,
        actor: &Actor,
        origin: &Origin<'_>,
    ) -> Result<Vec<Output>, EngineError> {
        match self.decide(&draft, actor, 0).await? {
            Decision::NeedsApproval(approvers) => {
                self.create(draft, actor, approvers, origin).await
            }
            Decision::Denied(reason) => {
                self.audit_denied(&draft, actor, &reason).await?;
                Ok(vec![Output::Reply(format!(
                    "I can't {} {}: {reason}. Nothing was changed.",
                    draft.call.tool.verb().to_lowercase(),
                    draft.target.login
                ))])
            }
            Decision::Allowed => Ok(vec![Output::Reply("Nothing to approve.".into())]),
        }
    }

    /// A refused request, audited (a dry run writes nothing).
    async fn audit_denied(
        &self,
        draft: &Draft,
        actor: &Actor,
        reason: &str,
    ) -> Result<(), EngineError> {
        if self.mode == Mode::DryRun {
            return Ok(());
        }
        self.audit(AuditRecord {
            event: "denied".into(),
            requester: Some(actor.slack_id.clone()),
            detail: reason.to_string(),
            ..record_for(&draft.call, &draft.target, self.clock.now())
        })
        .await
    }

    /// Stores an authorized draft as a pending proposal (or, dry, only shows it) and returns
    /// its card, and a triage notice when the requester cannot approve it.
    async fn create(
        &self,
        draft: Draft,
        actor: &Actor,
        approvers: Approvers,
        origin: &Origin<'_>,
    ) -> Result<Vec<Output>, EngineError> {
        let Origin {
            conversation,
            undo_of,
            ref trigger,
        } = *origin;
        let now = self.clock.now();
        if self.mode == Mode::DryRun {
            return Ok(vec![Output::Card(Card {
                proposal_id: "dry-run".into(),
                tool: draft.call.tool,
                target: draft.target,
                requester: actor.slack_id.clone(),
                worded_by: draft.worded_by,
                as_written: draft.as_written,
                approvers: Some(approvers),
                expires_at: now + self.policy.approval_ttl_secs(),
                state: ProposalState::Pending,
                outcome: None,
                decided_by: None,
                decided_at: None,
                undo_available: false,
                undo_of: undo_of.map(str::to_string),
                dry_run: true,
                trigger: trigger.clone(),
                reason: draft.reason,
                access: draft.access_seconds.map(|seconds| Access {
                    seconds,
                    ends_at: None,
                    ended: false,
                    note: None,
                    can_end_now: false,
                }),
                verification: None,
            })]);
        }
        let proposal = Approvals::new(&self.store)
            .create(NewProposal {
                draft,
                requester: &actor.slack_id,
                policy_version: self.policy.version(),
                now,
                ttl_secs: self.policy.approval_ttl_secs(),
                conversation,
                undo_of,
                trigger: trigger.clone(),
            })
            .await?;
        self.audit(AuditRecord {
            event: "requested".into(),
            requester: Some(actor.slack_id.clone()),
            proposal_id: Some(proposal.id.clone()),
            detail: {
                let mut detail = format!("approval by {}", approvers.describe());
                if let Some(author) = &proposal.worded_by {
                    detail.push_str(&format!("; worded by {author} earlier in the thread"));
                }
                if let Some(seconds) = proposal.access_seconds {
                    detail.push_str(&format!("; time-bound: ends {seconds} s after it is made"));
                }
                if let Some(reason) = &proposal.reason {
                    detail.push_str(&format!("; reason: {reason}"));
                }
                detail
            },
            trigger: (proposal.trigger != Trigger::Message)
                .then(|| format!("{} by {}", proposal.trigger.describe(), actor.slack_id)),
            ..record_for(&proposal.call, &proposal.target, now)
        })
        .await?;
        // Fails closed: a proposal whose verification could not be set up is cancelled.
        let verifying = match self.begin_verification(&proposal, actor).await {
            Ok(outputs) => outputs,
            Err(e) => {
                if let Err(cancel) = Approvals::new(&self.store)
                    .cancel(&proposal.id, "okta-agent", now)
                    .await
                {
                    error!(error = %cancel, "could not cancel a proposal whose verification failed");
                }
                return Err(e);
            }
        };
        let card = self
            .verified_card(card_for(&proposal, Some(approvers)))
            .await;
        let two_admins = card.verification.as_ref().is_some_and(|v| v.needs_second);
        let mut outputs = vec![Output::Card(card)];
        // The push went out with the card: its DM follows, and the card is shown as sent.
        outputs.extend(verifying);
        let requester_can_approve = !two_admins
            && match approvers {
                Approvers::RequesterOrAdmin => true,
                Approvers::AnyAdmin => self.policy.is_admin(&actor.slack_id),
                Approvers::AnotherAdmin => false,
            };
        if !requester_can_approve {
            outputs.push(Output::TriageNotice {
                proposal_id: proposal.id.clone(),
                requester: actor.slack_id.clone(),
                summary: format!(
                    "{} — {} ({}). It needs {}.",
                    proposal.call.tool.verb(),
                    proposal.target.name,
                    proposal.target.login,
                    if two_admins {
                        "two IT admins (no Okta Verify push factor to confirm it is them)"
                            .to_string()
                    } else {
                        approvers.describe().to_string()
                    }
                ),
            });
        }
        Ok(outputs)
    }

    /// A click on a card.
    pub async fn click(&self, click: Click) -> Vec<Output> {
        let span = info_span!("click", proposal = %click.proposal_id, clicker = %click.clicker, choice = ?click.choice);
        async {
            match self.click_inner(&click).await {
                Ok(outputs) => outputs,
                Err(e) => {
                    let reference = reference();
                    error!(error = %e, reference, "click failed");
                    vec![Output::Ephemeral {
                        to: click.clicker.clone(),
                        text: self.failure_words(&e, &reference),
                    }]
                }
            }
        }
        .instrument(span)
        .await
    }

    /// "Approve without verification", with the admin's reason: the same click as Approve,
    /// policy and claim included, with the verification overridden (and audited) first.
    pub async fn approve_without_verification(&self, click: Click, reason: &str) -> Vec<Output> {
        let span = info_span!("override", proposal = %click.proposal_id, clicker = %click.clicker);
        async {
            match self.click_with(&click, Some(reason)).await {
                Ok(outputs) => outputs,
                Err(e) => {
                    let reference = reference();
                    error!(error = %e, reference, "approval without verification failed");
                    vec![Output::Ephemeral {
                        to: click.clicker.clone(),
                        text: self.failure_words(&e, &reference),
                    }]
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn click_inner(&self, click: &Click) -> Result<Vec<Output>, EngineError> {
        self.click_with(click, None).await
    }

    async fn click_with(
        &self,
        click: &Click,
        override_reason: Option<&str>,
    ) -> Result<Vec<Output>, EngineError> {
        let refuse = |text: String| {
            Ok(vec![Output::Ephemeral {
                to: click.clicker.clone(),
                text,
            }])
        };
        if self.mode == Mode::DryRun {
            return refuse(
                "okta-agent chat never approves or executes changes against a real Okta org: a terminal cannot prove who you are in Slack. Ask in Slack, where the card can be approved.".into(),
            );
        }
        let approvals = Approvals::new(&self.store);
        let Some(proposal) = approvals.get(&click.proposal_id).await? else {
            return refuse(ClaimRefusal::Missing.explain());
        };
        if click.choice == Choice::Undo {
            return self.undo(&proposal, &click.clicker).await;
        }
        if click.choice == Choice::EndAccess {
            return self.end_access_now(&proposal, &click.clicker).await;
        }
        if click.choice == Choice::VerifyFirst {
            return Ok(self.verify_first(&proposal.id, &click.clicker).await);
        }
        let now = self.clock.now();
        if proposal.state != ProposalState::Pending {
            return refuse(ClaimRefusal::AlreadyDecided(proposal.state).explain());
        }
        // Both people as Slack says now: someone deactivated a moment ago cannot approve,
        // and nobody can approve a request from someone who no longer may make one.
        let clicker = self.resolver.actor_fresh(&click.clicker).await?;
        let requester = self.resolver.actor_fresh(&proposal.requester).await?;
        let act = if click.choice == Choice::Approve {
            Act::Approve
        } else {
            Act::Cancel
        };
        // Fresh facts: a target who became an admin since the card was posted is protected now.
        let decision = match self.resolver.okta().get_user(&proposal.target.id).await {
            Ok(user) => {
                let profile = &user.value.profile;
                let facts = self
                    .resolver
                    .target_facts(&user.value.id, &profile.login, profile.email.as_deref())
                    .await?;
                let group = self.group_facts(&proposal.target).await?;
                let action = ActionFacts {
                    tool: proposal.call.tool,
                    requester: &requester,
                    target: Some(&facts),
                    group: group.as_ref(),
                    requester_recent: 0,
                    target_recent: 0,
                };
                self.policy.authorize(&clicker, act, &action)
            }
            // The target is gone from Okta: there is nothing to approve, but cancelling still
            // follows policy (the requester or an admin; never a guest or a bot).
            Err(OktaError::NotFound { .. }) => {
                let action = ActionFacts {
                    tool: proposal.call.tool,
                    requester: &requester,
                    target: None,
                    group: None,
                    requester_recent: 0,
                    target_recent: 0,
                };
                match act {
                    Act::Cancel => self.policy.authorize(&clicker, act, &action),
                    Act::Approve | Act::Request => Decision::Denied(format!(
                        "{} no longer exists in Okta, so there is nothing to approve",
                        proposal.target.login
                    )),
                }
            }
            Err(e) => return Err(ResolveError::from(e).into()),
        };
        if let Decision::Denied(reason) = decision {
            self.audit(AuditRecord {
                event: "refused".into(),
                requester: Some(proposal.requester.clone()),
                approver: Some(click.clicker.clone()),
                proposal_id: Some(proposal.id.clone()),
                detail: format!(
                    "{} refused: {reason}",
                    if act == Act::Approve {
                        "approval"
                    } else {
                        "cancel"
                    }
                ),
                ..record_for(&proposal.call, &proposal.target, now)
            })
            .await?;
            return refuse(format!("You can't do that: {reason}. Nothing was changed."));
        }
        if act == Act::Cancel {
            return match approvals.cancel(&proposal.id, &click.clicker, now).await? {
                Ok(()) => {
                    let outcome = Outcome {
                        state: ProposalState::Rejected,
                        summary: "Cancelled. Nothing was changed.".into(),
                        status_after: None,
                        okta_request_ids: Vec::new(),
                    };
                    self.audit(AuditRecord {
                        event: "rejected".into(),
                        requester: Some(proposal.requester.clone()),
                        approver: Some(click.clicker.clone()),
                        proposal_id: Some(proposal.id.clone()),
                        outcome: Some("rejected".into()),
                        detail: outcome.summary.clone(),
                        ..record_for(&proposal.call, &proposal.target, now)
                    })
                    .await?;
                    Ok(vec![Output::CardUpdate(Card {
                        state: ProposalState::Rejected,
                        decided_by: Some(click.clicker.clone()),
                        decided_at: Some(now),
                        outcome: Some(outcome),
                        ..card_for(&proposal, None)
                    })])
                }
                Err(refusal) => self.refused_claim(&proposal, click, refusal, now).await,
            };
        }
        if let Some(instead) = self
            .verification_gate(&proposal, &click.clicker, override_reason)
            .await?
        {
            return Ok(instead);
        }
        let claimed = match approvals
            .claim(&proposal.id, &click.clicker, self.policy.version(), now)
            .await?
        {
            Ok(claimed) => claimed,
            Err(refusal) => return self.refused_claim(&proposal, click, refusal, now).await,
        };
        crate::metrics::metrics()
            .approval_seconds
            .observe((now - claimed.created_at).max(0) as f64);
        // No audit record, no action: if "approved" cannot be written, Okta is not touched.
        if let Err(e) = self
            .audit(AuditRecord {
                event: "approved".into(),
                requester: Some(claimed.requester.clone()),
                approver: Some(click.clicker.clone()),
                proposal_id: Some(claimed.id.clone()),
                detail: match self.policy.admin_rule(&click.clicker) {
                    Some(rule) => format!("the approver is an IT admin: {rule}"),
                    None => "the approver is the requester, on themselves".into(),
                },
                trigger: click
                    .via
                    .as_ref()
                    .map(|via| format!("{} by {}", via.describe(), click.clicker)),
                ..record_for(&claimed.call, &claimed.target, now)
            })
            .await
        {
            let not_done = Outcome {
                state: ProposalState::Failed,
                summary: "Not carried out: okta-agent could not write the audit record, so it did not touch Okta.".into(),
                status_after: None,
                okta_request_ids: Vec::new(),
            };
            if let Err(finish) = approvals.finish(&claimed.id, &not_done).await {
                error!(error = %finish, "could not mark the unexecuted proposal failed");
            }
            return Err(e);
        }
        let execution =
            executor::execute(self.resolver.okta(), &claimed, self.policy.reset_delivery()).await;
        let mut outcome = execution.outcome;
        let finished_at = self.clock.now();
        let record = AuditRecord {
            event: outcome.state.as_str().into(),
            requester: Some(claimed.requester.clone()),
            approver: Some(click.clicker.clone()),
            proposal_id: Some(claimed.id.clone()),
            outcome: Some(outcome.state.as_str().into()),
            detail: outcome.summary.clone(),
            okta_request_ids: outcome.okta_request_ids.clone(),
            ..record_for(&claimed.call, &claimed.target, finished_at)
        };
        if let Some(note) = self.record_outcome(&claimed.id, &outcome, record).await {
            outcome.summary.push(' ');
            outcome.summary.push_str(&note);
        }
        info!(state = outcome.state.as_str(), "executed");
        // Time-bound access ends by schedule (or its button), not by Undo.
        let mut access = None;
        if outcome.state == ProposalState::Executed && claimed.access_seconds.is_some() {
            match self.schedule_end_access(&claimed, finished_at).await {
                Ok(_) => access = self.access_of(&claimed).await,
                Err(e) => {
                    error!(error = %e, "the end of time-bound access could not be scheduled");
                    outcome.summary.push_str(" (okta-agent could not schedule the end of this access: remove it by hand when it is due.)");
                }
            }
        }
        let outcome_executed = outcome.state == ProposalState::Executed;
        let undo_available = outcome.state == ProposalState::Executed
            && claimed.call.tool.inverse().is_some()
            && claimed.access_seconds.is_none();
        let decided = Card {
            state: outcome.state,
            decided_by: Some(click.clicker.clone()),
            decided_at: Some(now),
            undo_available,
            outcome: Some(outcome),
            access: access.or_else(|| card_for(&claimed, None).access),
            ..card_for(&claimed, None)
        };
        let mut outputs = vec![Output::CardUpdate(self.verified_card(decided).await)];
        if outcome_executed {
            if let Some(notice) = self.notice_for(&claimed, &click.clicker).await {
                outputs.push(notice);
            }
        }
        if let Some(link) = execution.reset_link {
            outputs.push(Output::DirectMessage {
                to: click.clicker.clone(),
                text: Secret::new(format!(
                    "One-time password reset link for {} ({}). Give it to them over a trusted channel; it works once: {}",
                    claimed.target.name,
                    claimed.target.login,
                    link.expose()
                )),
            });
        }
        Ok(outputs)
    }

    /// Stores the outcome and its audit record after Okta acted. Retried; what still fails
    /// goes to the recovery file, merged at the next start. Returns a note for the card when
    /// the database could not take it: the action still happened, and the card says so.
    async fn record_outcome(
        &self,
        id: &str,
        outcome: &Outcome,
        record: AuditRecord,
    ) -> Option<String> {
        let approvals = Approvals::new(&self.store);
        let (mut finished, mut audited) = (false, false);
        for attempt in 0..3u32 {
            if !finished {
                match approvals.finish(id, outcome).await {
                    Ok(()) => finished = true,
                    Err(e @ ApprovalError::WrongState { .. }) => {
                        // Another process settled it meanwhile; the outcome here is still true.
                        error!(error = %e, "the proposal was settled elsewhere while it ran");
                        finished = true;
                    }
                    Err(e) => warn!(attempt, error = %e, "could not store the outcome; retrying"),
                }
            }
            if finished && !audited {
                match self.audit(record.clone()).await {
                    Ok(()) => audited = true,
                    Err(e) => {
                        warn!(attempt, error = %e, "could not append the audit record; retrying")
                    }
                }
            }
            if finished && audited {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50 * 4u64.pow(attempt))).await;
        }
        let reference = reference();
        let unrecorded = Unrecorded {
            proposal_id: id.to_string(),
            outcome: (!finished).then(|| outcome.clone()),
            audit: if audited { Vec::new() } else { vec![record] },
        };
        let kept = match serde_json::to_string(&unrecorded) {
            Ok(line) => self
                .store
                .append_recovery(&line)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match kept {
            Ok(()) => {
                error!(
                    reference,
                    file = %self.store.recovery_path().display(),
                    "the outcome could not be stored; kept in the recovery file for the next start"
                );
                Some(format!(
                    "(okta-agent could not save this to its database, so it is kept in a recovery file and will be recorded at the next start; reference {reference}.)"
                ))
            }
            Err(e) => {
                error!(reference, error = %e, proposal = id, state = outcome.state.as_str(), summary = %outcome.summary, "an outcome could not be recorded anywhere");
                Some(format!(
                    "(okta-agent could not record this anywhere; tell your okta-agent administrator, reference {reference}.)"
                ))
            }
        }
    }

    async fn refused_claim(
        &self,
        proposal: &Proposal,
        click: &Click,
        refusal: ClaimRefusal,
        now: i64,
    ) -> Result<Vec<Output>, EngineError> {
        let mut outputs = vec![Output::Ephemeral {
            to: click.clicker.clone(),
            text: refusal.explain(),
        }];
        if refusal == ClaimRefusal::Expired {
            self.audit(AuditRecord {
                event: "expired".into(),
                requester: Some(proposal.requester.clone()),
                approver: Some(click.clicker.clone()),
                proposal_id: Some(proposal.id.clone()),
                outcome: Some("expired".into()),
                detail: format!("expired at {}", format_utc(proposal.expires_at)),
                ..record_for(&proposal.call, &proposal.target, now)
            })
            .await?;
            outputs.push(Output::CardUpdate(Card {
                state: ProposalState::Expired,
                outcome: Some(Outcome {
                    state: ProposalState::Expired,
                    summary: "Expired before anyone approved it. Nothing was changed.".into(),
                    status_after: None,
                    okta_request_ids: Vec::new(),
                }),
                ..card_for(proposal, None)
            }));
        } else if let ClaimRefusal::Tampered(why) = &refusal {
            self.audit(AuditRecord {
                event: "refused".into(),
                requester: Some(proposal.requester.clone()),
                approver: Some(click.clicker.clone()),
                proposal_id: Some(proposal.id.clone()),
                detail: why.clone(),
                ..record_for(&proposal.call, &proposal.target, now)
            })
            .await?;
        }
        Ok(outputs)
    }

    /// Offers the inverse of an executed action as a new proposal (it needs its own approval).
    /// Only the person who asked for the action, or an admin, may, and only once.
    async fn undo(&self, proposal: &Proposal, clicker: &str) -> Result<Vec<Output>, EngineError> {
        let refuse = |text: String| {
            Ok(vec![Output::Ephemeral {
                to: clicker.into(),
                text,
            }])
        };
        let Some(inverse) = proposal.call.tool.inverse() else {
            return refuse(format!("{} has no clean undo.", proposal.call.tool));
        };
        if proposal.state != ProposalState::Executed {
            return refuse("Only a carried-out action can be undone.".into());
        }
        if clicker != proposal.requester && !self.policy.is_admin(clicker) {
            return refuse(
                "Only the person who asked for this, or an IT admin, can undo it.".into(),
            );
        }
        let approvals = Approvals::new(&self.store);
        if !approvals.take_undo(&proposal.id, self.clock.now()).await? {
            return refuse("An undo was already offered for this action.".into());
        }
        let actor = self.resolver.actor(clicker).await?;
        let user = self
            .resolver
            .okta()
            .get_user(&proposal.target.id)
            .await
            .map_err(ResolveError::from)?
            .value;
        let group = match &proposal.target.group {
            Some(g) => Some(
                self.resolver
                    .okta()
                    .get_group(&g.id)
                    .await
                    .map_err(ResolveError::from)?
                    .value,
            ),
            None => None,
        };
        let call = Call {
            tool: inverse,
            subject: proposal.call.subject.clone(),
        };
        let draft = Draft {
            call,
            target: TargetSnapshot::of(&user, group.as_ref()),
            worded_by: None,
            as_written: None,
            access_seconds: None,
            reason: None,
        };
        let outputs = self
            .propose(
                draft,
                &actor,
                &Origin {
                    conversation: &proposal.conversation,
                    undo_of: Some(&proposal.id),
                    trigger: Trigger::Message,
                },
            )
            .await?;
        if !outputs.iter().any(|o| matches!(o, Output::Card(_))) {
            // Refused (velocity, protection): the undo stays available for a later try.
            self.store.release_undo(&proposal.id).await?;
        }
        Ok(outputs)
    }

    /// After a restart: first the recovery file (outcomes and audit records that could not be
    /// stored after Okta acted) is merged; then proposals still caught between claim and
    /// outcome are settled as `unknown` (never re-executed) and audited.
    pub async fn recover(&self) -> Result<Recovered, EngineError> {
        let merged = self.merge_recovery_file().await?;
        let approvals = Approvals::new(&self.store);
        // Only work of a process whose lease lapsed: another replica's claim in progress, or
        // this process's own, is alive.
        let stuck = self
            .store
            .orphaned_executing(self.clock.now())
            .await
            .map_err(ApprovalError::from)?;
        let mut cards = Vec::new();
        for id in &stuck {
            let Some(proposal) = approvals.get(id).await? else {
                continue;
            };
            let outcome = Outcome {
                state: ProposalState::Unknown,
                summary: "okta-agent stopped while carrying this out, so it may or may not have reached Okta. It was not retried; check the user in Okta.".into(),
                status_after: None,
                okta_request_ids: Vec::new(),
            };
            approvals.finish(id, &outcome).await?;
            cards.push(Delivery {
                conversation: proposal.conversation.clone(),
                proposal_id: id.clone(),
                outputs: vec![Output::CardUpdate(Card {
                    state: ProposalState::Unknown,
                    outcome: Some(outcome.clone()),
                    ..card_for(&proposal, None)
                })],
            });
            self.audit(AuditRecord {
                event: "unknown".into(),
                requester: Some(proposal.requester.clone()),
                approver: proposal.approver.clone(),
                proposal_id: Some(id.clone()),
                outcome: Some("unknown".into()),
                detail: outcome.summary.clone(),
                ..record_for(&proposal.call, &proposal.target, self.clock.now())
            })
            .await?;
        }
        Ok(Recovered {
            merged,
            unknown: stuck.len(),
            cards,
        })
    }

    async fn merge_recovery_file(&self) -> Result<usize, EngineError> {
        let Some(recovery) = self.store.take_recovery().await? else {
            return Ok(0);
        };
        let approvals = Approvals::new(&self.store);
        for line in recovery.lines() {
            let unrecorded: Unrecorded = match serde_json::from_str(line) {
                Ok(u) => u,
                Err(e) => {
                    error!(error = %e, "an unreadable line in the recovery file was skipped");
                    continue;
                }
            };
            if let Some(outcome) = &unrecorded.outcome {
                match approvals.finish(&unrecorded.proposal_id, outcome).await {
                    Ok(()) | Err(ApprovalError::WrongState { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for record in &unrecorded.audit {
                let already = self
                    .store
                    .has_audit_event(&unrecorded.proposal_id, &record.event)
                    .await?;
                if !already {
                    self.audit(record.clone()).await?;
                }
            }
            info!(proposal = %unrecorded.proposal_id, "merged an outcome from the recovery file");
        }
        Ok(recovery.merged().await?)
    }

    async fn audit(&self, record: AuditRecord) -> Result<(), EngineError> {
        audit::append(&self.store, &self.audit_keys, &record).await?;
        if matches!(
            record.event.as_str(),
            "executed" | "failed" | "rejected" | "expired" | "unknown" | "denied"
        ) {
            crate::metrics::metrics()
                .proposals
                .get_or_create(&crate::metrics::label("outcome", record.event.clone()))
                .inc();
        }
        Ok(())
    }
}

fn record_for(call: &Call, target: &TargetSnapshot, time: i64) -> AuditRecord {
    AuditRecord {
        time,
        action: Some(call.tool.name().into()),
        target: Some(target.login.clone()),
        target_id: Some(target.id.clone()),
        arguments: Some(call.arguments()),
        ..AuditRecord::default()
    }
}

fn card_for(proposal: &Proposal, approvers: Option<Approvers>) -> Card {
    Card {
        proposal_id: proposal.id.clone(),
        tool: proposal.call.tool,
        target: proposal.target.clone(),
        requester: proposal.requester.clone(),
        worded_by: proposal.worded_by.clone(),
        as_written: proposal.as_written.clone(),
        approvers,
        expires_at: proposal.expires_at,
        state: proposal.state,
        outcome: proposal.outcome.clone(),
        decided_by: proposal.approver.clone(),
        decided_at: proposal.decided_at,
        undo_available: false,
        undo_of: proposal.undo_of.clone(),
        dry_run: false,
        trigger: proposal.trigger.clone(),
        reason: proposal.reason.clone(),
        access: proposal.access_seconds.map(|seconds| Access {
            seconds,
            ends_at: None,
            ended: false,
            note: None,
            can_end_now: false,
        }),
        verification: None,
    }
}
