//! Work due later, run by whichever process claims it first: the end of time-bound access
//! (the scheduled half of an approved proposal, so no second approval) and an approval at the
//! end of a reaction's grace window. Jobs live in the store, so they survive restarts; a
//! process that stops mid-job loses its lease and another takes over. A failed removal is
//! retried with backoff and reported in the thread.

use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::{card_for, reference, Access, Card, Engine, EngineError, Output};
use crate::approvals::{Approvals, Proposal, ProposalState, Trigger};
use crate::audit::AuditRecord;
use crate::clock::format_utc;
use crate::executor;
use crate::store::{JobKind, JobRow, JobState};
use crate::tools::{Call, Tool};

/// A removal that has failed this often is left to a person.
const MAX_ATTEMPTS: i64 = 12;

/// What a job produced, for the conversation its proposal came from.
#[derive(Debug)]
pub struct Delivery {
    /// `channel:thread` (or `chat`).
    pub conversation: String,
    pub proposal_id: String,
    pub outputs: Vec<Output>,
}

#[derive(Serialize, Deserialize)]
struct ApproveDetail {
    approver: String,
    via: Trigger,
}

/// Seconds before retry `attempt` (1-based): 30 s, doubling, at most an hour.
fn backoff(attempt: i64) -> i64 {
    (30_i64 << (attempt - 1).clamp(0, 7)).min(3_600)
}

impl Engine {
    /// Schedules the end of an executed time-bound membership; returns when it ends.
    pub(super) async fn schedule_end_access(
        &self,
        proposal: &Proposal,
        executed_at: i64,
    ) -> Result<Option<i64>, EngineError> {
        let Some(seconds) = proposal.access_seconds else {
            return Ok(None);
        };
        let ends_at = executed_at + seconds;
        self.store
            .add_job(JobKind::EndAccess, &proposal.id, ends_at, "{}")
            .await?;
        info!(proposal = %proposal.id, ends_at, "time-bound access scheduled to end");
        Ok(Some(ends_at))
    }

    /// Schedules `approver`'s approval of a proposal at `at` (the end of a grace window).
    pub async fn schedule_approval(
        &self,
        proposal_id: &str,
        approver: &str,
        via: Trigger,
        at: i64,
    ) -> Result<String, EngineError> {
        let detail = serde_json::to_string(&ApproveDetail {
            approver: approver.to_string(),
            via,
        })
        .unwrap_or_else(|_| "{}".into());
        Ok(self
            .store
            .add_job(JobKind::Approve, proposal_id, at, &detail)
            .await?)
    }

    /// Cancels a job that has not started; true when it had not.
    pub async fn cancel_job(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self.store.cancel_job(id).await?)
    }

    /// The time-bound access of a proposal as its card shows it now.
    pub(super) async fn access_of(&self, proposal: &Proposal) -> Option<Access> {
        let seconds = proposal.access_seconds?;
        let jobs = self.store.jobs_of(&proposal.id).await.unwrap_or_default();
        let Some(job) = jobs.iter().rev().find(|j| j.kind == JobKind::EndAccess) else {
            return Some(Access {
                seconds,
                ends_at: None,
                ended: false,
                note: None,
                can_end_now: false,
            });
        };
        let ended = job.state == JobState::Done;
        let (note, can_end_now) = match job.state {
            JobState::Done | JobState::Cancelled => (None, false),
            JobState::Failed => (
                Some(format!(
                    "Access could not be removed: {}. A person must remove it in Okta.",
                    job.last_error.as_deref().unwrap_or("unknown error")
                )),
                false,
            ),
            JobState::Pending | JobState::Running if job.attempts > 0 => (
                Some(format!(
                    "Removing access failed ({}); retrying {}.",
                    job.last_error.as_deref().unwrap_or("unknown error"),
                    format_utc(job.run_at)
                )),
                true,
            ),
            JobState::Pending | JobState::Running => (None, true),
        };
        Some(Access {
            seconds,
            ends_at: Some(job.run_at),
            ended,
            note,
            can_end_now,
        })
    }

    /// A card for a stored proposal, with its access as it stands.
    pub(super) async fn card(&self, proposal: &Proposal) -> Card {
        Card {
            access: self.access_of(proposal).await,
            undo_available: proposal.state == ProposalState::Executed
                && proposal.call.tool.inverse().is_some()
                && proposal.access_seconds.is_none(),
            ..card_for(proposal, None)
        }
    }

    /// Runs every job that is due, claiming each first; returns what to post.
    pub async fn run_due_jobs(&self, owner: &str) -> Vec<Delivery> {
        let now = self.clock.now();
        let due = match self.store.due_jobs(now, 20).await {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "could not read due jobs");
                return Vec::new();
            }
        };
        let mut deliveries = Vec::new();
        for job in due {
            match self.store.claim_job(&job.id, owner, now).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    warn!(error = %e, job = %job.id, "could not claim a job");
                    continue;
                }
            }
            if let Some(delivery) = self.run_job(&job, owner, None).await {
                deliveries.push(delivery);
            }
        }
        deliveries
    }

    /// Runs one pending job at once rather than at its time (`chat`, where a reaction cannot
    /// be taken back, so its grace window is moot); `None` when it is not pending or another
    /// process holds it.
    pub async fn run_job_now(&self, id: &str, owner: &str) -> Option<Delivery> {
        let now = self.clock.now();
        match self.store.run_job_now(id, now).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                warn!(error = %e, job = %id, "could not bring a job forward");
                return None;
            }
        }
        if !self.store.claim_job(id, owner, now).await.unwrap_or(false) {
            return None;
        }
        let job = self.store.job(id).await.ok().flatten()?;
        self.run_job(&job, owner, None).await
    }

    /// Settles a job this owner holds; a failure is logged (the lease lapses and another
    /// process takes the job over).
    async fn settle(
        &self,
        job: &JobRow,
        owner: &str,
        state: JobState,
        retry_at: Option<i64>,
        why: Option<&str>,
    ) {
        if let Err(e) = self
            .store
            .settle_job(&job.id, owner, state, retry_at, why)
            .await
        {
            error!(error = %e, job = %job.id, "could not settle a job");
        }
    }

    async fn run_job(&self, job: &JobRow, owner: &str, by: Option<&str>) -> Option<Delivery> {
        let proposal = match Approvals::new(&self.store).get(&job.proposal_id).await {
            Ok(Some(proposal)) => proposal,
            Ok(None) => {
                self.settle(
                    job,
                    owner,
                    JobState::Failed,
                    None,
                    Some("its proposal is missing"),
                )
                .await;
                return None;
            }
            Err(e) => {
                warn!(error = %e, job = %job.id, "could not read a job's proposal; retrying");
                let retry_at = self.clock.now() + backoff(job.attempts);
                self.settle(
                    job,
                    owner,
                    JobState::Pending,
                    Some(retry_at),
                    Some(&e.to_string()),
                )
                .await;
                return None;
            }
        };
        match job.kind {
            JobKind::Approve => {
                let detail: Option<ApproveDetail> = serde_json::from_str(&job.detail).ok();
                let Some(detail) = detail else {
                    self.settle(job, owner, JobState::Failed, None, Some("unreadable job"))
                        .await;
                    return None;
                };
                let outputs = self
                    .approve_as(&proposal.id, &detail.approver, detail.via)
                    .await;
                self.settle(job, owner, JobState::Done, None, None).await;
                Some(Delivery {
                    conversation: proposal.conversation.clone(),
                    proposal_id: proposal.id.clone(),
                    outputs,
                })
            }
            JobKind::EndAccess => Some(self.end_access(job, &proposal, owner, by).await),
            JobKind::VerifyPush => self.poll_push(job, &proposal, owner).await,
        }
    }

    /// The scheduled half of a time-bound membership: remove it, audit it against the approved
    /// proposal, and say so in the thread; a failure is retried with backoff.
    async fn end_access(
        &self,
        job: &JobRow,
        proposal: &Proposal,
        owner: &str,
        by: Option<&str>,
    ) -> Delivery {
        let now = self.clock.now();
        let mut outputs = Vec::new();
        let delivery = |outputs: Vec<Output>| Delivery {
            conversation: proposal.conversation.clone(),
            proposal_id: proposal.id.clone(),
            outputs,
        };
        if proposal.state != ProposalState::Executed || proposal.call.tool != Tool::AddUserToGroup {
            let why = Some("the membership was never made");
            self.settle(job, owner, JobState::Cancelled, None, why)
                .await;
            return delivery(outputs);
        }
        let removal = Proposal {
            call: Call {
                tool: Tool::RemoveUserFromGroup,
                subject: proposal.call.subject.clone(),
            },
            ..proposal.clone()
        };
        let execution =
            executor::execute(self.resolver.okta(), &removal, self.policy.reset_delivery()).await;
        let outcome = execution.outcome;
        let trigger = match by {
            Some(person) => format!("button: end access now, by {person}"),
            None => "schedule: end of time-bound access".to_string(),
        };
        let group = proposal
            .target
            .group
            .as_ref()
            .map_or_else(|| "the group".to_string(), |g| g.name.clone());
        let record = AuditRecord {
            event: outcome.state.as_str().into(),
            requester: Some(proposal.requester.clone()),
            approver: proposal.approver.clone(),
            proposal_id: Some(proposal.id.clone()),
            outcome: Some(outcome.state.as_str().into()),
            detail: format!(
                "the scheduled half of approved proposal {}: time-bound access ended. {}",
                proposal.id, outcome.summary
            ),
            okta_request_ids: outcome.okta_request_ids.clone(),
            trigger: Some(trigger),
            ..super::record_for(&removal.call, &removal.target, now)
        };
        if outcome.state == ProposalState::Executed {
            self.settle(job, owner, JobState::Done, None, None).await;
            if let Err(e) = self.audit(record).await {
                error!(error = %e, reference = %reference(), "the end of time-bound access could not be audited");
            }
            info!(proposal = %proposal.id, "time-bound access ended");
            outputs.push(Output::Reply(format!(
                "⏹ Time-bound access to {group} ended for {} ({}): {}",
                proposal.target.name, proposal.target.login, outcome.summary
            )));
            // The person is told their access ended, as they were told it began.
            let approver = proposal.approver.as_deref().unwrap_or("okta-agent");
            if let Some(notice) = self.notice_for(&removal, approver).await {
                outputs.push(notice);
            }
        } else if job.attempts >= MAX_ATTEMPTS {
            self.settle(job, owner, JobState::Failed, None, Some(&outcome.summary))
                .await;
            if let Err(e) = self.audit(record).await {
                error!(error = %e, "a failed removal could not be audited");
            }
            outputs.push(Output::Reply(format!(
                "❌ okta-agent could not end {}'s time-bound access to {group} after {} tries: {} A person must remove it in Okta.",
                proposal.target.login, job.attempts, outcome.summary
            )));
        } else {
            let retry_at = now + backoff(job.attempts);
            let why = Some(outcome.summary.as_str());
            self.settle(job, owner, JobState::Pending, Some(retry_at), why)
                .await;
            warn!(proposal = %proposal.id, attempts = job.attempts, "ending time-bound access failed; retrying");
            outputs.push(Output::Reply(format!(
                "⚠️ Ending {}'s time-bound access to {group} failed: {} okta-agent will try again {}.",
                proposal.target.login,
                outcome.summary,
                format_utc(retry_at)
            )));
        }
        let card = self.card(proposal).await;
        outputs.insert(0, Output::CardUpdate(card));
        delivery(outputs)
    }

    /// "End access now": for the person who approved it, or the person it is for.
    pub(super) async fn end_access_now(
        &self,
        proposal: &Proposal,
        clicker: &str,
    ) -> Result<Vec<Output>, EngineError> {
        let refuse = |text: &str| {
            Ok(vec![Output::Ephemeral {
                to: clicker.to_string(),
                text: text.to_string(),
            }])
        };
        let actor = self.resolver.actor_fresh(clicker).await?;
        let is_target = actor.okta_user_id.as_deref() == Some(proposal.target.id.as_str());
        if proposal.approver.as_deref() != Some(clicker) && !is_target {
            return refuse("Only the person who approved this access, or the person it is for, can end it early. Nothing was changed.");
        }
        let now = self.clock.now();
        let job = self
            .store
            .jobs_of(&proposal.id)
            .await?
            .into_iter()
            .rev()
            .find(|j| j.kind == JobKind::EndAccess && j.state == JobState::Pending);
        let Some(job) = job else {
            return refuse("This access has already ended (or is ending right now).");
        };
        let owner = format!("button-{}", reference());
        self.store.run_job_now(&job.id, now).await?;
        if !self.store.claim_job(&job.id, &owner, now).await? {
            return refuse("This access is ending right now.");
        }
        let job = JobRow {
            attempts: job.attempts + 1,
            ..job
        };
        Ok(self
            .end_access(&job, proposal, &owner, Some(clicker))
            .await
            .outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(
            (1..=9).map(backoff).collect::<Vec<_>>(),
            vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
        );
    }
}
