//! The one orchestrator between a request and Okta: plan (agent) → authorize (policy) → store
//! a pending proposal → render a card; and click → re-authorize the clicker → single claim →
//! execute → read back → audit → update the card. It knows no Slack types: it takes an
//! [`Inbound`] or a [`Click`] and returns [`Output`]s for the front end (Slack or the terminal).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{info, info_span, warn, Instrument};

use crate::agent::{Agent, Inbound, Plan};
use crate::approvals::{
    ApprovalError, Approvals, ClaimRefusal, Draft, NewProposal, Outcome, Proposal, ProposalState,
    TargetSnapshot,
};
use crate::audit::{self, AuditRecord};
use crate::clock::{format_utc, WallClock};
use crate::executor;
use crate::identity::{ResolveError, Resolver};
use crate::okta::OktaError;
use crate::policy::{Act, ActionFacts, Actor, Approvers, Decision, PersonKind, Policy};
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Approve,
    Cancel,
    Undo,
}

/// A confirmation card's content: what, on whom, asked by whom, who may approve, until when,
/// and (once decided) how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub proposal_id: String,
    pub tool: Tool,
    pub target: TargetSnapshot,
    pub requester: String,
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
}

/// What the front end must show, and to whom.
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
    /// A notice for the triage channel that a card needs an approver.
    TriageNotice { proposal_id: String, text: String },
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

pub struct Engine {
    agent: Agent,
    resolver: Resolver,
    policy: Arc<Policy>,
    store: Arc<Store>,
    clock: Arc<dyn WallClock>,
}

impl Engine {
    pub fn new(
        agent: Agent,
        resolver: Resolver,
        policy: Arc<Policy>,
        store: Arc<Store>,
        clock: Arc<dyn WallClock>,
    ) -> Self {
        Self {
            agent,
            resolver,
            policy,
            store,
            clock,
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

    /// One inbound request. Never fails: problems become a reply that says what went wrong.
    pub async fn handle(&self, inbound: Inbound) -> Vec<Output> {
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let span = info_span!("request", request_id = %request_id, requester = %inbound.requester);
        async {
            match self.handle_inner(&inbound).await {
                Ok(outputs) => outputs,
                Err(e) => {
                    warn!(error = %e, "request failed");
                    vec![Output::Reply(format!(
                        "Something went wrong and nothing was changed: {e}"
                    ))]
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn handle_inner(&self, inbound: &Inbound) -> Result<Vec<Output>, EngineError> {
        let actor = self.resolver.actor(&inbound.requester).await?;
        // Bots, guests, deactivated and unknown Slack accounts never request anything.
        if actor.kind != PersonKind::Member {
            let reason = match actor.kind {
                PersonKind::Bot => "bots cannot make requests",
                PersonKind::Deleted => "deactivated Slack accounts cannot make requests",
                _ => "only full members of this Slack workspace can make requests (guests and unknown accounts cannot)",
            };
            info!(kind = ?actor.kind, "request from a non-member refused");
            return Ok(vec![Output::Reply(format!(
                "Sorry, {reason}. Nothing was changed."
            ))]);
        }
        let today = format_utc(self.clock.now());
        let report = self.agent.plan(inbound, &actor, &today[..10]).await?;
        info!(
            model_calls = report.model_calls,
            fallback = report.fallback.is_some(),
            "planned"
        );
        let mut outputs = Vec::new();
        let note = report.fallback.as_ref().map(|why| {
            format!("(The language model is unavailable — {why} — so I used the built-in command parser.)")
        });
        if let Some(note) = &note {
            outputs.push(Output::Reply(note.clone()));
        }
        match report.plan {
            Plan::Reply(text) | Plan::Clarify(text) => outputs.push(Output::Reply(text)),
            Plan::Propose(draft) => outputs.extend(
                self.propose(draft, &actor, &inbound.conversation, None)
                    .await?,
            ),
        }
        Ok(outputs)
    }

    /// Policy, then a pending proposal and its card; or a refusal.
    async fn propose(
        &self,
        draft: Draft,
        actor: &Actor,
        conversation: &str,
        undo_of: Option<&str>,
    ) -> Result<Vec<Output>, EngineError> {
        let now = self.clock.now();
        // The draft's target was read from Okta a moment ago; roles and groups are read now.
        let target = &draft.target;
        let facts = self
            .resolver
            .target_facts(&target.id, &target.login, target.email.as_deref())
            .await?;
        let since = now - 3_600;
        let requester_recent = self
            .store
            .proposals_by_requester_since(&actor.slack_id, since)
            .map_err(ApprovalError::from)?;
        let target_recent = self
            .store
            .proposals_about_since(&draft.target.id, since)
            .map_err(ApprovalError::from)?;
        let action = ActionFacts {
            tool: draft.call.tool,
            requester: actor,
            target: Some(&facts),
            group: draft.target.group.as_ref().map(|g| g.name.as_str()),
            requester_recent,
            target_recent,
        };
        let approvers = match self.policy.authorize(actor, Act::Request, &action) {
            Decision::NeedsApproval(approvers) => approvers,
            Decision::Denied(reason) => {
                self.audit(AuditRecord {
                    event: "denied".into(),
                    requester: Some(actor.slack_id.clone()),
                    detail: reason.clone(),
                    ..record_for(&draft.call, &draft.target, now)
                })?;
                return Ok(vec![Output::Reply(format!(
                    "I can't {} {}: {reason}. Nothing was changed.",
                    draft.call.tool.verb().to_lowercase(),
                    draft.target.login
                ))]);
            }
            Decision::Allowed => {
                return Ok(vec![Output::Reply("Nothing to approve.".into())]);
            }
        };
        let proposal = Approvals::new(&self.store).create(NewProposal {
            draft,
            requester: &actor.slack_id,
            policy_version: self.policy.version(),
            now,
            ttl_secs: self.policy.approval_ttl_secs(),
            conversation,
            undo_of,
        })?;
        self.audit(AuditRecord {
            event: "requested".into(),
            requester: Some(actor.slack_id.clone()),
            proposal_id: Some(proposal.id.clone()),
            detail: format!("approval by {}", approvers.describe()),
            ..record_for(&proposal.call, &proposal.target, now)
        })?;
        let card = card_for(&proposal, Some(approvers));
        let mut outputs = vec![Output::Card(card)];
        let requester_can_approve = match approvers {
            Approvers::RequesterOrAdmin => true,
            Approvers::AnyAdmin => self.policy.is_admin(&actor.slack_id),
            Approvers::AnotherAdmin => false,
        };
        if !requester_can_approve {
            outputs.push(Output::TriageNotice {
                proposal_id: proposal.id.clone(),
                text: format!(
                    "<@{}> asked for: {} — {} ({}). It needs {}.",
                    actor.slack_id,
                    proposal.call.tool.verb(),
                    proposal.target.name,
                    proposal.target.login,
                    approvers.describe()
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
                    warn!(error = %e, "click failed");
                    vec![Output::Ephemeral {
                        to: click.clicker.clone(),
                        text: format!("That did not work: {e}"),
                    }]
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn click_inner(&self, click: &Click) -> Result<Vec<Output>, EngineError> {
        let approvals = Approvals::new(&self.store);
        let refuse = |text: String| {
            Ok(vec![Output::Ephemeral {
                to: click.clicker.clone(),
                text,
            }])
        };
        let Some(proposal) = approvals.get(&click.proposal_id)? else {
            return refuse(ClaimRefusal::Missing.explain());
        };
        if click.choice == Choice::Undo {
            return self.undo(&proposal, &click.clicker).await;
        }
        let now = self.clock.now();
        if proposal.state != ProposalState::Pending {
            return refuse(ClaimRefusal::AlreadyDecided(proposal.state).explain());
        }
        let clicker = self.resolver.actor(&click.clicker).await?;
        let requester = self.resolver.actor(&proposal.requester).await?;
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
                let action = ActionFacts {
                    tool: proposal.call.tool,
                    requester: &requester,
                    target: Some(&facts),
                    group: proposal.target.group.as_ref().map(|g| g.name.as_str()),
                    requester_recent: 0,
                    target_recent: 0,
                };
                self.policy.authorize(&clicker, act, &action)
            }
            Err(OktaError::NotFound { .. }) if act == Act::Cancel => Decision::Allowed,
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
            })?;
            return refuse(format!("You can't do that: {reason}. Nothing was changed."));
        }
        if act == Act::Cancel {
            return match approvals.cancel(&proposal.id, &click.clicker, now)? {
                Ok(()) => {
                    let outcome = Outcome {
                        state: ProposalState::Rejected,
                        summary: format!("Cancelled by <@{}>. Nothing was changed.", click.clicker),
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
                    })?;
                    Ok(vec![Output::CardUpdate(Card {
                        state: ProposalState::Rejected,
                        decided_by: Some(click.clicker.clone()),
                        decided_at: Some(now),
                        outcome: Some(outcome),
                        ..card_for(&proposal, None)
                    })])
                }
                Err(refusal) => self.refused_claim(&proposal, click, refusal, now),
            };
        }
        let claimed =
            match approvals.claim(&proposal.id, &click.clicker, self.policy.version(), now)? {
                Ok(claimed) => claimed,
                Err(refusal) => return self.refused_claim(&proposal, click, refusal, now),
            };
        self.audit(AuditRecord {
            event: "approved".into(),
            requester: Some(claimed.requester.clone()),
            approver: Some(click.clicker.clone()),
            proposal_id: Some(claimed.id.clone()),
            ..record_for(&claimed.call, &claimed.target, now)
        })?;
        let execution =
            executor::execute(self.resolver.okta(), &claimed, self.policy.reset_delivery()).await;
        let outcome = execution.outcome;
        approvals.finish(&claimed.id, &outcome)?;
        let finished_at = self.clock.now();
        self.audit(AuditRecord {
            event: outcome.state.as_str().into(),
            requester: Some(claimed.requester.clone()),
            approver: Some(click.clicker.clone()),
            proposal_id: Some(claimed.id.clone()),
            outcome: Some(outcome.state.as_str().into()),
            detail: outcome.summary.clone(),
            okta_request_ids: outcome.okta_request_ids.clone(),
            ..record_for(&claimed.call, &claimed.target, finished_at)
        })?;
        info!(state = outcome.state.as_str(), "executed");
        let undo_available =
            outcome.state == ProposalState::Executed && claimed.call.tool.inverse().is_some();
        let mut outputs = vec![Output::CardUpdate(Card {
            state: outcome.state,
            decided_by: Some(click.clicker.clone()),
            decided_at: Some(now),
            undo_available,
            outcome: Some(outcome),
            ..card_for(&claimed, None)
        })];
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

    fn refused_claim(
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
            })?;
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
            })?;
        }
        Ok(outputs)
    }

    /// Offers the inverse of an executed action as a new proposal (it needs its own approval).
    async fn undo(&self, proposal: &Proposal, clicker: &str) -> Result<Vec<Output>, EngineError> {
        let Some(inverse) = proposal.call.tool.inverse() else {
            return Ok(vec![Output::Ephemeral {
                to: clicker.into(),
                text: format!("{} has no clean undo.", proposal.call.tool),
            }]);
        };
        if proposal.state != ProposalState::Executed {
            return Ok(vec![Output::Ephemeral {
                to: clicker.into(),
                text: "Only a carried-out action can be undone.".into(),
            }]);
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
        };
        self.propose(draft, &actor, &proposal.conversation, Some(&proposal.id))
            .await
    }

    /// After a restart: proposals caught between claim and outcome are settled as `unknown`
    /// (never re-executed) and audited. Returns how many there were.
    pub fn recover(&self) -> Result<usize, EngineError> {
        let approvals = Approvals::new(&self.store);
        let stuck = self.store.executing().map_err(ApprovalError::from)?;
        for id in &stuck {
            let Some(proposal) = approvals.get(id)? else {
                continue;
            };
            let outcome = Outcome {
                state: ProposalState::Unknown,
                summary: "okta-agent stopped while carrying this out, so it may or may not have reached Okta. It was not retried; check the user in Okta.".into(),
                status_after: None,
                okta_request_ids: Vec::new(),
            };
            approvals.finish(id, &outcome)?;
            self.audit(AuditRecord {
                event: "unknown".into(),
                requester: Some(proposal.requester.clone()),
                approver: proposal.approver.clone(),
                proposal_id: Some(id.clone()),
                outcome: Some("unknown".into()),
                detail: outcome.summary.clone(),
                ..record_for(&proposal.call, &proposal.target, self.clock.now())
            })?;
        }
        Ok(stuck.len())
    }

    fn audit(&self, record: AuditRecord) -> Result<(), EngineError> {
        audit::append(&self.store, &record)?;
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
        approvers,
        expires_at: proposal.expires_at,
        state: proposal.state,
        outcome: proposal.outcome.clone(),
        decided_by: proposal.approver.clone(),
        decided_at: proposal.decided_at,
        undo_available: false,
        undo_of: proposal.undo_of.clone(),
    }
}
