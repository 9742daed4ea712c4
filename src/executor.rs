//! Carries out one claimed proposal: the frozen call on the frozen Okta ids, nothing else, then
//! reads the user back and reports the real resulting state. A call whose answer never came is
//! never resent; reading the user back settles it where the state shows it, and otherwise the
//! outcome is `unknown` and says to check Okta.

use crate::approvals::{Outcome, Proposal, ProposalState};
use crate::okta::{OktaClient, OktaError, PasswordReset, UserStatus};
use crate::policy::ResetDelivery;
use crate::secret::Secret;
use crate::tools::Tool;

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
                .and_then(|o| reached(proposal.call.tool, o));
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
    let id = proposal.target.id.as_str();
    match proposal.call.tool {
        Tool::ResetPassword => {
            let reply = okta
                .reset_password(id, delivery == ResetDelivery::Email)
                .await?;
            request_ids.extend(reply.request_id);
            match reply.value {
                PasswordReset::Emailed => {
                    *note = " Okta emailed them a reset link.".into();
                }
                PasswordReset::Link(link) => {
                    *reset_link = Some(link);
                    *note =
                        " The one-time reset link went to the approver by direct message.".into();
                }
            }
        }
        Tool::UnlockUser => request_ids.extend(okta.unlock(id).await?.request_id),
        Tool::SuspendUser => request_ids.extend(okta.suspend(id).await?.request_id),
        Tool::UnsuspendUser => request_ids.extend(okta.unsuspend(id).await?.request_id),
        Tool::DeactivateUser => request_ids.extend(okta.deactivate(id).await?.request_id),
        Tool::ResetFactors => request_ids.extend(okta.reset_factors(id).await?.request_id),
        Tool::ClearSessions => request_ids.extend(okta.clear_sessions(id).await?.request_id),
        Tool::ExpirePassword => {
            request_ids.extend(okta.expire_password(id).await?.request_id);
        }
        Tool::ReactivateUser => {
            request_ids.extend(okta.activate_or_reactivate(id).await?.request_id);
            *note = " Okta emailed them an activation link.".into();
        }
        Tool::AddUserToGroup | Tool::RemoveUserFromGroup => {
            let Some(group) = &proposal.target.group else {
                return Err(OktaError::Refused(
                    "the proposal has no group; nothing was changed".into(),
                ));
            };
            // Read the group by its frozen id: the type check (only OKTA_GROUP) needs it fresh.
            let group = okta.get_group(&group.id).await?;
            request_ids.extend(group.request_id);
            if proposal.call.tool == Tool::AddUserToGroup {
                request_ids.extend(okta.add_user_to_group(&group.value, id).await?.request_id);
            } else {
                request_ids.extend(
                    okta.remove_user_from_group(&group.value, id)
                        .await?
                        .request_id,
                );
            }
        }
        read_only => {
            return Err(OktaError::Refused(format!(
                "{read_only} is read-only and is never executed as a proposal"
            )))
        }
    }
    Ok(())
}

/// What reading the target back showed.
#[derive(Clone, Copy, Debug)]
struct Observed {
    status: UserStatus,
    /// For group actions: whether the user is now in the group.
    member: Option<bool>,
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

/// Whether the observed state shows the action took effect; `None` when it cannot show it.
fn reached(tool: Tool, observed: &Observed) -> Option<bool> {
    use UserStatus::*;
    let status = observed.status;
    match tool {
        Tool::UnlockUser => Some(status != LockedOut),
        Tool::SuspendUser => Some(status == Suspended),
        Tool::UnsuspendUser => Some(status == Active),
        Tool::DeactivateUser => Some(status == Deprovisioned),
        Tool::ReactivateUser => Some(matches!(status, Active | Provisioned | Recovery)),
        Tool::ResetPassword => Some(status == Recovery),
        Tool::ExpirePassword => Some(status == PasswordExpired),
        Tool::AddUserToGroup => observed.member,
        Tool::RemoveUserFromGroup => observed.member.map(|m| !m),
        _ => None,
    }
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
