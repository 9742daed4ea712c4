//! Telling people what was done to their account: after an action in `[policy] notify_target`
//! that someone else requested, the affected person gets a DM saying what was done, when, who
//! asked and who approved; a reply to that DM goes to the triage channel with what it was
//! about. The person is found in Slack by their Okta email, and only a member of the workspace
//! whose email Slack has confirmed is told: a notice to the wrong person would itself leak.

use super::{Engine, Output};
use crate::approvals::{Approvals, Proposal};
use crate::audit::AuditRecord;
use crate::policy::PersonKind;

/// A reply is quoted to IT up to this many characters.
const QUOTED_REPLY_CHARS: usize = 300;

impl Engine {
    /// The notice for the person an executed proposal changed, when the policy asks for one and
    /// they are not the one who asked.
    pub(super) async fn notice_for(&self, proposal: &Proposal, approver: &str) -> Option<Output> {
        let tool = proposal.call.tool;
        if !self.policy.notifies_target(tool) {
            return None;
        }
        let email = proposal.target.email.as_deref()?;
        let person = match self.resolver.directory().by_email(email).await {
            Ok(Some(person)) => person,
            Ok(None) => {
                tracing::info!(proposal = %proposal.id, "no Slack account has the target's email; no notice");
                return None;
            }
            Err(e) => {
                tracing::warn!(proposal = %proposal.id, error = %e, "could not look the target up in Slack; no notice");
                return None;
            }
        };
        if person.kind != PersonKind::Member || !person.email_confirmed {
            tracing::info!(proposal = %proposal.id, "the Slack account with the target's email is not a confirmed member; no notice");
            return None;
        }
        if person.id == proposal.requester {
            // They asked for it themselves; the card told them.
            return None;
        }
        let what = match &proposal.target.group {
            Some(group) => format!("{} {}", tool.verb(), group.name),
            None => tool.verb().to_string(),
        };
        let when = crate::clock::format_utc(self.clock.now());
        Some(Output::Notice {
            to: person.id,
            proposal_id: proposal.id.clone(),
            requester: proposal.requester.clone(),
            approver: approver.to_string(),
            text: format!(
                "IT made a change to your Okta account: {what}, at {when} (reference {}).",
                proposal.id
            ),
        })
    }

    /// A notice was posted to `person` as message `ts`: remembered, so a reply reaches IT.
    pub async fn remember_notice(&self, person: &str, ts: &str, proposal_id: &str) {
        if let Err(e) = self
            .store
            .insert_notice(person, ts, proposal_id, self.clock.now())
            .await
        {
            tracing::warn!(error = %e, proposal = proposal_id, "could not remember a notice; a reply to it will be read as a request");
        }
    }

    /// `person` replied in the thread of message `thread_ts` of their DM: when that was a
    /// notice, the reply goes to IT (audited) and `person` is told; `None` when it was not one.
    pub async fn notice_reply(
        &self,
        person: &str,
        thread_ts: &str,
        reply: &str,
    ) -> Option<Vec<Output>> {
        let proposal_id = match self.store.notice(person, thread_ts).await {
            Ok(Some(id)) => id,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "could not look up a notice; reading the reply as a request");
                return None;
            }
        };
        let proposal = Approvals::new(&self.store)
            .get(&proposal_id)
            .await
            .ok()
            .flatten();
        let about = proposal.as_ref().map_or_else(
            || format!("proposal {proposal_id}"),
            |p| {
                format!(
                    "{} on {} ({proposal_id})",
                    p.call.tool.verb(),
                    p.target.login
                )
            },
        );
        let quoted: String = reply.chars().take(QUOTED_REPLY_CHARS).collect();
        let record = AuditRecord {
            time: self.clock.now(),
            event: "notice_reply".into(),
            requester: Some(person.to_string()),
            proposal_id: Some(proposal_id.clone()),
            action: proposal.as_ref().map(|p| p.call.tool.name().into()),
            target: proposal.as_ref().map(|p| p.target.login.clone()),
            detail: format!("the person replied to the notice: {quoted:?}"),
            ..AuditRecord::default()
        };
        if let Err(e) = self.audit(record).await {
            tracing::error!(error = %e, "could not audit a reply to a notice");
        }
        Some(vec![
            Output::TriageAlert {
                about: person.to_string(),
                text: format!("replied to the notice about {about}: “{quoted}”"),
            },
            Output::Reply(
                "Thanks: I've passed this to IT, and a person will follow up with you.".into(),
            ),
        ])
    }
}
