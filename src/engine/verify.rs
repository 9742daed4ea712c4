//! Verifying the person with their own Okta Verify push before a sensitive action
//! (`[policy] verify_with_push`). A stolen Slack session can ask for "reset my MFA"; it cannot
//! answer a push on the person's phone. The verification belongs to one proposal and expires
//! with it; the claim that approves reads it in the same statement. The requester is pushed
//! at once when they act on themselves; when an admin acts for someone, the card offers
//! "Verify @them first". One push per proposal, ever: a person who gets several learns to
//! approve whatever arrives. The number to tap goes to the person by DM only. A rejected push
//! is reported to IT as a possible takeover. Without a push factor, two admins must approve
//! and the card suggests a live check. An admin may approve without verification only with a
//! reason, which is audited.

use tracing::{info, warn};

use super::{card_for, jobs::Delivery, record_for, Card, Engine, EngineError, Output};
use crate::approvals::{Approvals, Proposal};
use crate::audit::AuditRecord;
use crate::okta::{FactorResult, OktaError};
use crate::policy::{Actor, PersonKind};
use crate::secret::Secret;
use crate::store::{JobKind, JobRow, JobState, VerificationRow, VerificationState};

/// The first poll of a push comes this soon; later ones back off to `MAX_POLL_GAP`.
const FIRST_POLL: i64 = 2;
const MAX_POLL_GAP: i64 = 5;
/// Shortest reason accepted for approving without verification.
const MIN_REASON_CHARS: usize = 8;

/// A card's verification, as it shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub state: VerificationState,
    /// The person pushed: their Slack id when they are in Slack.
    pub person: Option<String>,
    pub login: String,
    /// When the push was sent, or when it ended.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Two admins approve (no push factor); the first who did.
    pub needs_second: bool,
    pub first_approver: Option<String>,
    pub overridden_by: Option<String>,
    pub reason: Option<String>,
    /// For a live check when there is no push factor.
    pub manager: Option<String>,
}

impl Verification {
    fn from_row(row: VerificationRow) -> Self {
        Self {
            state: row.state,
            person: row.person,
            login: row.login,
            started_at: row.started_at,
            finished_at: row.finished_at,
            needs_second: row.needs_second != 0,
            first_approver: row.first_approver,
            overridden_by: row.overridden_by,
            reason: row.reason,
            manager: row.manager,
        }
    }

    /// Whether the Approve button belongs on the card now.
    pub fn lets_approve(&self) -> bool {
        self.state.lets_approve()
    }

    /// Whether "Approve without verification" belongs on the card.
    pub fn may_override(&self) -> bool {
        matches!(
            self.state,
            VerificationState::Ready
                | VerificationState::Waiting
                | VerificationState::Rejected
                | VerificationState::Timeout
        )
    }
}

/// What the person is asked for, in words for the DM and the alert.
fn asked_for(proposal: &Proposal) -> String {
    proposal.call.tool.verb().to_lowercase()
}

impl Engine {
    /// The card of `proposal` with its verification, if it has one.
    pub(super) async fn verified_card(&self, card: Card) -> Card {
        let verification = match self.store.verification(&card.proposal_id).await {
            Ok(row) => row.map(Verification::from_row),
            Err(e) => {
                warn!(error = %e, proposal = %card.proposal_id, "could not read the verification; the card shows none");
                None
            }
        };
        Card {
            verification,
            ..card
        }
    }

    /// Sets a new proposal's verification up when the policy asks for one: `ready` (pushed at
    /// once when the requester acts on themselves) or, without a push factor, two admins.
    /// Returns what to send besides the card.
    pub(super) async fn begin_verification(
        &self,
        proposal: &Proposal,
        requester: &Actor,
    ) -> Result<Vec<Output>, EngineError> {
        if !self.policy.verifies_with_push(proposal.call.tool) {
            return Ok(Vec::new());
        }
        let okta = self.resolver.okta();
        let target = &proposal.target;
        let factors = okta
            .user_factors(&target.id)
            .await
            .map_err(crate::identity::ResolveError::from)?
            .value;
        let push = factors.into_iter().find(|f| {
            f.factor_type.as_deref() == Some("push")
                && f.provider.as_deref() == Some("OKTA")
                && f.status.as_deref() == Some("ACTIVE")
        });
        let on_themselves = requester.okta_user_id.as_deref() == Some(target.id.as_str());
        let person = if on_themselves {
            Some(requester.slack_id.clone())
        } else {
            self.slack_person_of(target.email.as_deref()).await
        };
        let manager = match &push {
            Some(_) => None,
            None => self.manager_of(&target.id).await,
        };
        let admin_requester = self.policy.is_admin(&requester.slack_id);
        let row = VerificationRow {
            proposal_id: proposal.id.clone(),
            okta_user: target.id.clone(),
            login: target.login.clone(),
            person,
            factor_id: push.as_ref().map(|f| f.id.clone()),
            state: if push.is_some() {
                VerificationState::Ready
            } else {
                VerificationState::NoFactor
            },
            poll_link: None,
            started_by: None,
            started_at: None,
            deadline: None,
            finished_at: None,
            needs_second: i64::from(push.is_none()),
            // An admin who asks is the first of the two admins.
            first_approver: (push.is_none() && admin_requester).then(|| requester.slack_id.clone()),
            overridden_by: None,
            reason: None,
            manager,
        };
        self.store.insert_verification(&row).await?;
        if let Some(first) = &row.first_approver {
            self.store.first_approval(&proposal.id, first).await?;
        }
        if push.is_none() {
            self.audit(self.verification_record(
                proposal,
                "verification_unavailable",
                None,
                "no active Okta Verify push factor: two admins must approve",
            ))
            .await?;
            return Ok(Vec::new());
        }
        if on_themselves {
            return self.send_push(proposal, &requester.slack_id).await;
        }
        Ok(Vec::new())
    }

    /// An audit record about `proposal`'s verification: who asked, on whom, what for.
    fn verification_record(
        &self,
        proposal: &Proposal,
        event: &str,
        approver: Option<&str>,
        detail: &str,
    ) -> AuditRecord {
        AuditRecord {
            event: event.into(),
            requester: Some(proposal.requester.clone()),
            approver: approver.map(str::to_string),
            proposal_id: Some(proposal.id.clone()),
            detail: detail.into(),
            ..record_for(&proposal.call, &proposal.target, self.clock.now())
        }
    }

    /// "Verify @bob first" on a card, pressed by `by`: sends the one push of the proposal.
    pub async fn verify_first(&self, proposal_id: &str, by: &str) -> Vec<Output> {
        let refuse = |text: &str| {
            vec![Output::Ephemeral {
                to: by.to_string(),
                text: text.to_string(),
            }]
        };
        let proposal = match Approvals::new(&self.store).get(proposal_id).await {
            Ok(Some(proposal)) => proposal,
            _ => return refuse("There is no such request. Nothing was sent."),
        };
        if proposal.state != crate::approvals::ProposalState::Pending {
            return refuse("This request was already decided. Nothing was sent.");
        }
        // Only someone who may decide the request may send a push to the person.
        let clicker = match self.resolver.actor_fresh(by).await {
            Ok(actor) => actor,
            Err(e) => {
                return refuse(&format!(
                    "I could not check who you are ({e}). Nothing was sent."
                ))
            }
        };
        if clicker.kind != PersonKind::Member || !self.policy.is_admin(by) {
            return refuse("Only an IT admin can send a verification push. Nothing was sent.");
        }
        match self.send_push(&proposal, by).await {
            Ok(outputs) => outputs,
            Err(e) => {
                warn!(error = %e, proposal = proposal_id, "could not send a verification push");
                refuse("The push could not be sent just now; try again in a moment.")
            }
        }
    }

    /// Sends the proposal's one push (by `by`), schedules its polling, and returns the card
    /// and the DM with the number to tap.
    async fn send_push(&self, proposal: &Proposal, by: &str) -> Result<Vec<Output>, EngineError> {
        let Some(row) = self.store.verification(&proposal.id).await? else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let deadline = now + self.policy.push_timeout_secs();
        let Some(factor) = row.factor_id.clone() else {
            return Ok(Vec::new());
        };
        if !self
            .store
            .start_verification(&proposal.id, by, now, deadline)
            .await?
        {
            return Ok(vec![Output::Ephemeral {
                to: by.to_string(),
                text: "A push was already sent for this request; okta-agent never sends a second one. Nothing else was sent.".into(),
            }]);
        }
        let challenge = match self
            .resolver
            .okta()
            .verify_push(&row.okta_user, &factor)
            .await
        {
            Ok(reply) => reply.value,
            Err(e) => {
                // Nothing reached the phone: the push may be sent again.
                self.store
                    .settle_verification(
                        &proposal.id,
                        VerificationState::Waiting,
                        VerificationState::Ready,
                        now,
                    )
                    .await?;
                warn!(error = %e, proposal = %proposal.id, "Okta refused the verification push");
                return Ok(vec![Output::Ephemeral {
                    to: by.to_string(),
                    text: format!(
                        "Okta did not send the push ({e}). Nothing was changed; you can try again."
                    ),
                }]);
            }
        };
        if let Some(link) = challenge.poll_link() {
            self.store.set_poll_link(&proposal.id, link).await?;
        }
        self.store
            .add_job(JobKind::VerifyPush, &proposal.id, now + FIRST_POLL, "{}")
            .await?;
        self.audit(self.verification_record(
            proposal,
            "verification_sent",
            Some(by).filter(|by| *by != proposal.requester),
            "an Okta Verify push was sent to the person's phone",
        ))
        .await?;
        info!(proposal = %proposal.id, "verification push sent");
        let mut outputs = vec![Output::CardUpdate(
            self.verified_card(card_for(proposal, None)).await,
        )];
        let tap = match challenge.correct_answer() {
            Some(number) => format!("Tap {number} in Okta Verify on your phone"),
            None => "Approve the Okta Verify push on your phone".to_string(),
        };
        let text = format!(
            "{tap} to confirm it is really you asking for: {} on {} (reference {}). If you did not ask for this, tap \"No, it's not me\" and tell IT.",
            asked_for(proposal),
            row.login,
            proposal.id
        );
        match &row.person {
            Some(person) => outputs.push(Output::DirectMessage {
                to: person.clone(),
                text: Secret::new(text),
            }),
            // Not in Slack: the admin who sent it reads the number to them on their call.
            None => outputs.push(Output::DirectMessage {
                to: by.to_string(),
                text: Secret::new(format!(
                    "{} is not in Slack, so tell them on your call: {text}",
                    row.login
                )),
            }),
        }
        Ok(outputs)
    }

    /// A `verify_push` job: polls the transaction once; reschedules while it waits; settles it
    /// and updates the card (and alerts IT on a rejection) when it ends.
    pub(super) async fn poll_push(
        &self,
        job: &JobRow,
        proposal: &Proposal,
        owner: &str,
    ) -> Option<Delivery> {
        let settle_job = |state: JobState, retry_at: Option<i64>, why: Option<String>| async move {
            if let Err(e) = self
                .store
                .settle_job(&job.id, owner, state, retry_at, why.as_deref())
                .await
            {
                warn!(error = %e, job = %job.id, "could not settle a push poll");
            }
        };
        let row = match self.store.verification(&proposal.id).await {
            Ok(Some(row)) if row.state == VerificationState::Waiting => row,
            Ok(_) => {
                settle_job(JobState::Done, None, None).await;
                return None;
            }
            Err(e) => {
                let retry = self.clock.now() + MAX_POLL_GAP;
                settle_job(JobState::Pending, Some(retry), Some(e.to_string())).await;
                return None;
            }
        };
        let now = self.clock.now();
        let gap = (FIRST_POLL + job.attempts).min(MAX_POLL_GAP);
        let result = match row.poll_link.as_deref() {
            Some(link) => match self.resolver.okta().push_result(link).await {
                Ok(reply) => reply.value.factor_result,
                Err(OktaError::NotFound { .. }) => FactorResult::Timeout,
                Err(e) => {
                    warn!(error = %e, proposal = %proposal.id, "could not read the push; trying again");
                    let state = if row.deadline.is_some_and(|d| now >= d) {
                        FactorResult::Timeout
                    } else {
                        settle_job(JobState::Pending, Some(now + gap), Some(e.to_string())).await;
                        return None;
                    };
                    state
                }
            },
            None => FactorResult::Timeout,
        };
        let to = match result {
            FactorResult::Waiting if row.deadline.is_some_and(|d| now < d) => {
                settle_job(JobState::Pending, Some(now + gap), None).await;
                return None;
            }
            FactorResult::Success => VerificationState::Success,
            FactorResult::Rejected => VerificationState::Rejected,
            FactorResult::Waiting | FactorResult::Timeout | FactorResult::Other => {
                VerificationState::Timeout
            }
        };
        settle_job(JobState::Done, None, None).await;
        match self
            .store
            .settle_verification(&proposal.id, VerificationState::Waiting, to, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                warn!(error = %e, proposal = %proposal.id, "could not record the push's answer");
                return None;
            }
        }
        let (event, detail) = match to {
            VerificationState::Success => ("verified", "the person approved the Okta Verify push"),
            VerificationState::Rejected => (
                "verification_rejected",
                "the person rejected the Okta Verify push: possible account takeover",
            ),
            _ => (
                "verification_timeout",
                "no answer to the Okta Verify push in time",
            ),
        };
        if let Err(e) = self
            .audit(self.verification_record(proposal, event, None, detail))
            .await
        {
            warn!(error = %e, "could not audit a push's answer");
        }
        let mut outputs = vec![Output::CardUpdate(
            self.verified_card(card_for(proposal, None)).await,
        )];
        if to == VerificationState::Rejected {
            let about = row
                .person
                .clone()
                .unwrap_or_else(|| proposal.requester.clone());
            let whose = if row.person.as_deref() == Some(proposal.requester.as_str()) {
                "requested from their Slack account".to_string()
            } else {
                format!("on {} requested by <@{}>", row.login, proposal.requester)
            };
            outputs.push(Output::TriageAlert {
                about,
                text: format!(
                    "rejected a verification push for {} {whose} (reference {}): possible account takeover. Nothing was changed.",
                    asked_for(proposal),
                    proposal.id
                ),
            });
        }
        Some(Delivery {
            conversation: proposal.conversation.clone(),
            proposal_id: proposal.id.clone(),
            outputs,
        })
    }

    /// The verification gate of an approval by `clicker`, after policy allowed it: `None` to
    /// go on to the claim, or what to say instead (a first of two approvals is recorded here).
    pub(super) async fn verification_gate(
        &self,
        proposal: &Proposal,
        clicker: &str,
        override_reason: Option<&str>,
    ) -> Result<Option<Vec<Output>>, EngineError> {
        let Some(row) = self.store.verification(&proposal.id).await? else {
            return Ok(None);
        };
        let refuse = |text: String| {
            Ok(Some(vec![Output::Ephemeral {
                to: clicker.to_string(),
                text,
            }]))
        };
        let now = self.clock.now();
        if let Some(reason) = override_reason {
            let reason = reason.trim();
            if reason.chars().count() < MIN_REASON_CHARS {
                return refuse("Approving without verification needs a reason (a sentence, for the audit). Nothing was changed.".into());
            }
            if !self
                .store
                .override_verification(&proposal.id, clicker, reason, now)
                .await?
            {
                return refuse("This request does not wait for a verification that can be overridden. Nothing was changed.".into());
            }
            self.audit(self.verification_record(
                proposal,
                "verification_overridden",
                Some(clicker),
                &format!("approved without verification; reason: {reason}"),
            ))
            .await?;
            return Ok(None);
        }
        match row.state {
            VerificationState::Success | VerificationState::Overridden => Ok(None),
            VerificationState::NoFactor if row.needs_second == 0 => Ok(None),
            VerificationState::NoFactor => match row.first_approver.as_deref() {
                Some(first) if first == clicker => refuse(
                    "You have approved already: without a verified push, a second admin must approve too. Nothing was changed.".into(),
                ),
                Some(_) => Ok(None),
                None => {
                    if !self.store.first_approval(&proposal.id, clicker).await? {
                        return refuse("Someone approved at the same moment; try again. Nothing was changed.".into());
                    }
                    self.audit(self.verification_record(
                        proposal,
                        "first_approval",
                        Some(clicker),
                        "the first of two admins approved (no Okta Verify push factor)",
                    ))
                    .await?;
                    let card = self.verified_card(card_for(proposal, None)).await;
                    Ok(Some(vec![Output::CardUpdate(card)]))
                }
            },
            VerificationState::Ready => refuse(format!(
                "This request waits for {} to confirm with Okta Verify: press \"Verify first\" to send the push, or approve without verification with a reason. Nothing was changed.",
                row.login
            )),
            VerificationState::Waiting => refuse(format!(
                "This request waits for {} to answer the Okta Verify push. Nothing was changed.",
                row.login
            )),
            VerificationState::Rejected | VerificationState::Timeout => refuse(format!(
                "{} did not confirm with Okta Verify, so this cannot be approved as it is. An admin may approve without verification, with a reason. Nothing was changed.",
                row.login
            )),
        }
    }

    /// A request in a few words, for a form about it: "Reset password on ana@example.com".
    pub async fn describe_request(&self, proposal_id: &str) -> String {
        match Approvals::new(&self.store).get(proposal_id).await {
            Ok(Some(p)) => format!(
                "{} on {} (request {})",
                p.call.tool.verb(),
                p.target.login,
                p.id
            ),
            _ => format!("request {proposal_id}"),
        }
    }

    /// The Slack member with this confirmed email, if any.
    async fn slack_person_of(&self, email: Option<&str>) -> Option<String> {
        let email = email?;
        match self.resolver.directory().by_email(email).await {
            Ok(Some(person)) if person.kind == PersonKind::Member && person.email_confirmed => {
                Some(person.id)
            }
            Ok(_) => None,
            Err(e) => {
                warn!(error = %e, "could not look a person up in Slack by email");
                None
            }
        }
    }

    /// The person's manager from their Okta profile (`manager`, or `managerId` looked up).
    async fn manager_of(&self, user_id: &str) -> Option<String> {
        let user = self.resolver.okta().get_user(user_id).await.ok()?.value;
        if let Some(name) = user.profile.manager.filter(|m| !m.trim().is_empty()) {
            return Some(name);
        }
        let id = user.profile.manager_id.filter(|m| !m.trim().is_empty())?;
        match self.resolver.okta().get_user(&id).await {
            Ok(manager) => Some(format!(
                "{} ({})",
                manager.value.display_name(),
                manager.value.profile.login
            )),
            Err(_) => Some(format!("manager id {id}")),
        }
    }
}
