//! Carries out one claimed proposal: the frozen call on the frozen Okta ids, nothing else, then
//! reads the user back and reports the real resulting state. A call whose answer never came is
//! never resent; reading the user back settles it where the state shows it, and otherwise the
//! outcome is `unknown` and says to check Okta.

use crate::approvals::{Outcome, Proposal, ProposalState};
use crate::okta::{OktaClient, OktaError, UserStatus};
use crate::policy::ResetDelivery;
use crate::secret::Secret;
use crate::tools::{Change, Observed};

/// The outcome, plus a reset link when policy sends it to the approver (never stored, never
/// logged, never posted in a channel).
#[derive(Debug)]
pub struct Execution {
    pub outcome: Outcome,
    pub reset_link: Option<Secret<String>>,
}

/// Runs the proposal's action against Okta.
pub async fn execute(okta: &OktaClient, proposal: &Proposal, delivery: ResetDelivery) -> Execution {
    let target = &proposal.target;
    let mut request_ids = Vec::new();
    let mut reset_link = None;
    let mut note = String::new();
    let result = run(
        okta,
        proposal,
        delivery,
        &mut request_ids,
        &mut reset_link,
        &mut note,
    )
    .await;
    let read_back = read_back(okta, proposal, &mut request_ids).await;
    let who = format!("{} ({})", target.name, target.login);
    let outcome = match result {
        Ok(()) => {
            let state_text = match &read_back {
                Some(Observed { status, member }) => describe(proposal, *status, *member),
                None => "okta-agent could not read the user back to confirm".into(),
            };
            Outcome {
                state: ProposalState::Executed,
                summary: format!(
                    "{} done for {who}: {state_text}.{note}",
                    proposal.call.tool.verb()
                ),
                status_after: read_back.as_ref().map(|o| o.status),
                okta_request_ids: request_ids,
            }
        }
        Err(e) if e.outcome_unknown() => {
            let settled = read_back
                .as_ref()
                .and_then(|o| proposal.call.tool.reached(o));
            match (settled, &read_back) {
                (Some(true), Some(observed)) => Outcome {
                    state: ProposalState::Executed,
                    summary: format!(
                        "{} done for {who}: no answer came from Okta, but reading the user back shows it took effect ({}).",
                        proposal.call.tool.verb(),
                        describe(proposal, observed.status, observed.member)
                    ),
                    status_after: Some(observed.status),
                    okta_request_ids: request_ids,
                },
                _ => Outcome {
                    state: ProposalState::Unknown,
                    summary: format!(
                        "{} for {who}: {e}. Reading the user back {}. It was not retried; check the user in Okta before asking again.",
                        proposal.call.tool.verb(),
                        read_back.as_ref().map_or("failed too".to_string(), |o| format!("shows {}", o.status))
                    ),
                    status_after: read_back.as_ref().map(|o| o.status),
                    okta_request_ids: request_ids,
                },
            }
        }
        Err(e) => Outcome {
            state: ProposalState::Failed,
            summary: format!("{} failed for {who}: {e}", proposal.call.tool.verb()),
            status_after: read_back.as_ref().map(|o| o.status),
            okta_request_ids: request_ids,
        },
    };
    Execution {
        outcome,
        reset_link,
    }
}

async fn run(
    okta: &OktaClient,
    proposal: &Proposal,
    delivery: ResetDelivery,
    request_ids: &mut Vec<String>,
    reset_link: &mut Option<Secret<String>>,
    note: &mut String,
) -> Result<(), OktaError> {
    let mut change = Change {
        okta,
        user: &proposal.target.id,
        group: proposal.target.group.as_ref().map(|g| g.id.as_str()),
        email_reset: delivery == ResetDelivery::Email,
        request_ids: Vec::new(),
    };
    let result = proposal.call.tool.execute(&mut change).await;
    request_ids.append(&mut change.request_ids);
    let done = result?;
    *reset_link = done.reset_link;
    *note = done.note.to_string();
    Ok(())
}

async fn read_back(
    okta: &OktaClient,
    proposal: &Proposal,
    request_ids: &mut Vec<String>,
) -> Option<Observed> {
    let user = okta.get_user(&proposal.target.id).await.ok()?;
    request_ids.extend(user.request_id);
    let member = match &proposal.target.group {
        Some(group) => {
            let groups = okta.user_groups(&proposal.target.id).await.ok()?;
            request_ids.extend(groups.request_id);
            Some(groups.value.iter().any(|g| g.id == group.id))
        }
        None => None,
    };
    Some(Observed {
        status: user.value.status,
        member,
    })
}

fn describe(proposal: &Proposal, status: UserStatus, member: Option<bool>) -> String {
    let before = proposal.target.status;
    let status_text = if status == before {
        format!("status {status} (unchanged)")
    } else {
        format!("status now {status} (was {before})")
    };
    match (&proposal.target.group, member) {
        (Some(group), Some(true)) => format!("member of {} — {status_text}", group.name),
        (Some(group), Some(false)) => format!("not a member of {} — {status_text}", group.name),
        _ => status_text,
    }
}
