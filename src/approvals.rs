//! The proposal lifecycle: create, approve (a single atomic claim), cancel, expire, finish.
//! A proposal freezes the decoded call and a snapshot of its target; a binding hash over the
//! action, arguments, target, requester, policy version, id and expiry is checked again at the
//! claim, so a row edited in the database, or a proposal made under another policy, cannot be
//! executed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::okta::{Group, User, UserStatus};
pub use crate::store::ProposalState;
use crate::store::{ProposalRow, Store, StoreError, Transition};
use crate::tools::{Call, Tool};

/// The person (and group) an action is about, as they were when it was proposed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSnapshot {
    /// The Okta user id: the executor acts on this id only.
    pub id: String,
    pub login: String,
    pub email: Option<String>,
    pub name: String,
    pub status: UserStatus,
    pub group: Option<GroupRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

impl TargetSnapshot {
    pub fn of(user: &User, group: Option<&Group>) -> Self {
        Self {
            id: user.id.clone(),
            login: user.profile.login.clone(),
            email: user.profile.email.clone(),
            name: user.display_name(),
            status: user.status,
            group: group.map(|g| GroupRef {
                id: g.id.clone(),
                name: g.name().to_string(),
            }),
        }
    }
}

/// A planned change, before policy and the store have seen it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub call: Call,
    pub target: TargetSnapshot,
    /// When the request adopts someone else's words from the thread ("do that"): whose.
    pub worded_by: Option<String>,
    /// The action word as typed, when it was misspelt or a paraphrase of a destructive
    /// action ("offboard" for deactivate): the card shows it.
    pub as_written: Option<String>,
    /// Time-bound access: a group membership that ends this many seconds after it is made.
    pub access_seconds: Option<i64>,
    /// Why, in the requester's words (forms ask for it on destructive actions).
    pub reason: Option<String>,
}

/// What set a request off, for the card and the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A mention, a DM, `/okta <text>` or `chat`.
    Message,
    /// An emoji reaction under an `[[automations.reactions]]` rule.
    Reaction { emoji: String },
    /// The `/okta` form (slash command or shortcut).
    Form,
    /// A help answer's self-service button.
    SelfService,
}

impl Trigger {
    /// In a sentence: "a :lock: reaction", "the form".
    pub fn describe(&self) -> String {
        match self {
            Trigger::Message => "a message".into(),
            Trigger::Reaction { emoji } => format!("a :{emoji}: reaction"),
            Trigger::Form => "the /okta form".into(),
            Trigger::SelfService => "a self-service button".into(),
        }
    }
}

/// How a decided proposal ended, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub state: ProposalState,
    /// What happened: the resulting Okta state, Okta's error in plain words, or why not.
    pub summary: String,
    /// The target's status read back after the action.
    pub status_after: Option<UserStatus>,
    pub okta_request_ids: Vec<String>,
}

/// A stored proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub id: String,
    pub call: Call,
    pub target: TargetSnapshot,
    pub requester: String,
    pub policy_version: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub binding_hash: String,
    pub state: ProposalState,
    pub approver: Option<String>,
    pub decided_at: Option<i64>,
    pub outcome: Option<Outcome>,
    pub conversation: String,
    pub undo_of: Option<String>,
    /// Whose words from the thread the requester adopted, if not their own.
    pub worded_by: Option<String>,
    /// The action word as typed, when it was misspelt or a paraphrase.
    pub as_written: Option<String>,
    /// Time-bound access, in seconds after execution.
    pub access_seconds: Option<i64>,
    pub reason: Option<String>,
    /// What set it off (absent on proposals made before triggers were recorded: a message).
    pub trigger: Trigger,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored proposal {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("proposal {id} cannot take an outcome: it is {state}, not executing")]
    WrongState { id: String, state: String },
}

/// Why a click did not claim a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimRefusal {
    Missing,
    Expired,
    /// Already approved, cancelled, or finished.
    AlreadyDecided(ProposalState),
    /// The stored record no longer matches its binding hash, or policy changed since.
    Tampered(String),
    /// The person has not been verified (or a second admin is still needed).
    Unverified,
}

impl ClaimRefusal {
    pub fn explain(&self) -> String {
        match self {
            ClaimRefusal::Missing => {
                "there is no such request (it may belong to another okta-agent installation)".into()
            }
            ClaimRefusal::Expired => {
                "this request expired before anyone approved it; ask again if it is still needed"
                    .into()
            }
            ClaimRefusal::AlreadyDecided(ProposalState::Executing) => {
                "this request is already being carried out".into()
            }
            ClaimRefusal::AlreadyDecided(ProposalState::Rejected) => {
                "this request was cancelled".into()
            }
            ClaimRefusal::AlreadyDecided(
                state @ (ProposalState::Pending
                | ProposalState::Executed
                | ProposalState::Failed
                | ProposalState::Expired
                | ProposalState::Unknown),
            ) => {
                format!("this request was already decided ({})", state.as_str())
            }
            ClaimRefusal::Tampered(why) => {
                format!("this request cannot be approved: {why}; ask again")
            }
            ClaimRefusal::Unverified => {
                "this request waits for the person to confirm with Okta Verify (or for a second admin's approval)".into()
            }
        }
    }
}

/// What a proposal's binding hash covers.
struct Bound<'a> {
    id: &'a str,
    call: &'a Call,
    target: &'a TargetSnapshot,
    requester: &'a str,
    worded_by: Option<&'a str>,
    as_written: Option<&'a str>,
    access_seconds: Option<i64>,
    reason: Option<&'a str>,
    policy_version: &'a str,
    expires_at: i64,
}

fn binding_hash(b: Bound<'_>) -> String {
    let mut bound = serde_json::json!({
        "id": b.id,
        "tool": b.call.tool.name(),
        "arguments": b.call.arguments(),
        "target": { "id": b.target.id, "login": b.target.login, "group": b.target.group.as_ref().map(|g| &g.id) },
        "requester": b.requester,
        "policy_version": b.policy_version,
        "expires_at": b.expires_at,
    });
    // Only when present, so proposals stored before the fields existed keep their hash.
    if let Some(author) = b.worded_by {
        bound["worded_by"] = serde_json::json!(author);
    }
    if let Some(typed) = b.as_written {
        bound["as_written"] = serde_json::json!(typed);
    }
    if let Some(seconds) = b.access_seconds {
        bound["access_seconds"] = serde_json::json!(seconds);
    }
    if let Some(reason) = b.reason {
        bound["reason"] = serde_json::json!(reason);
    }
    Sha256::digest(bound.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Everything a new proposal is made of.
pub struct NewProposal<'a> {
    pub draft: Draft,
    /// The Slack user id who asked.
    pub requester: &'a str,
    pub policy_version: &'a str,
    pub now: i64,
    pub ttl_secs: i64,
    pub conversation: &'a str,
    /// The executed proposal this one undoes.
    pub undo_of: Option<&'a str>,
    pub trigger: Trigger,
}

/// Proposal lifecycle over the store.
pub struct Approvals<'a> {
    store: &'a Store,
}

impl<'a> Approvals<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores a new pending proposal.
    pub async fn create(&self, new: NewProposal<'_>) -> Result<Proposal, ApprovalError> {
        let NewProposal {
            draft,
            requester,
            policy_version,
            now,
            ttl_secs,
            conversation,
            undo_of,
            trigger,
        } = new;
        let id = format!("p-{}", uuid::Uuid::new_v4().simple());
        let expires_at = now + ttl_secs;
        let hash = binding_hash(Bound {
            id: &id,
            call: &draft.call,
            target: &draft.target,
            requester,
            worded_by: draft.worded_by.as_deref(),
            as_written: draft.as_written.as_deref(),
            access_seconds: draft.access_seconds,
            reason: draft.reason.as_deref(),
            policy_version,
            expires_at,
        });
        let proposal = Proposal {
            id,
            call: draft.call,
            target: draft.target,
            requester: requester.to_string(),
            policy_version: policy_version.to_string(),
            created_at: now,
            expires_at,
            binding_hash: hash,
            state: ProposalState::Pending,
            approver: None,
            decided_at: None,
            outcome: None,
            conversation: conversation.to_string(),
            undo_of: undo_of.map(str::to_string),
            worded_by: draft.worded_by,
            as_written: draft.as_written,
            access_seconds: draft.access_seconds,
            reason: draft.reason,
            trigger,
        };
        self.store.insert_proposal(&to_row(&proposal)?).await?;
        Ok(proposal)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Proposal>, ApprovalError> {
        self.store.proposal(id).await?.map(from_row).transpose()
    }

    /// The single claim: pending and unexpired → executing, for exactly one caller. The record
    /// must still match its binding hash and the policy version in force.
    pub async fn claim(
        &self,
        id: &str,
        approver: &str,
        policy_version: &str,
        now: i64,
    ) -> Result<Result<Proposal, ClaimRefusal>, ApprovalError> {
        let Some(stored) = self.get(id).await? else {
            return Ok(Err(ClaimRefusal::Missing));
        };
        let expected = binding_hash(Bound {
            id: &stored.id,
            call: &stored.call,
            target: &stored.target,
            requester: &stored.requester,
            worded_by: stored.worded_by.as_deref(),
            as_written: stored.as_written.as_deref(),
            access_seconds: stored.access_seconds,
            reason: stored.reason.as_deref(),
            policy_version: &stored.policy_version,
            expires_at: stored.expires_at,
        });
        if expected != stored.binding_hash {
            return Ok(Err(ClaimRefusal::Tampered(
                "its stored record was altered".into(),
            )));
        }
        if stored.policy_version != policy_version {
            return Ok(Err(ClaimRefusal::Tampered(
                "the policy changed since it was proposed".into(),
            )));
        }
        match self
            .store
            .decide(id, ProposalState::Executing, approver, now)
            .await?
        {
            Transition::Done => {}
            other => return Ok(Err(refusal(other))),
        }
        Ok(Ok(Proposal {
            state: ProposalState::Executing,
            approver: Some(approver.to_string()),
            decided_at: Some(now),
            ..stored
        }))
    }

    /// Cancels a pending proposal.
    pub async fn cancel(
        &self,
        id: &str,
        by: &str,
        now: i64,
    ) -> Result<Result<(), ClaimRefusal>, ApprovalError> {
        Ok(
            match self
                .store
                .decide(id, ProposalState::Rejected, by, now)
                .await?
            {
                Transition::Done => Ok(()),
                other => Err(refusal(other)),
            },
        )
    }

    /// Records the outcome of an executing proposal. Any other state is an error: an outcome
    /// never lands on a proposal that was not being carried out.
    pub async fn finish(&self, id: &str, outcome: &Outcome) -> Result<(), ApprovalError> {
        let text = serde_json::to_string(outcome).map_err(|e| ApprovalError::Corrupt {
            id: id.into(),
            reason: e.to_string(),
        })?;
        match self.store.finish(id, outcome.state, &text).await? {
            Transition::Done => Ok(()),
            Transition::WrongState(state) => Err(ApprovalError::WrongState {
                id: id.into(),
                state: state.as_str().into(),
            }),
            Transition::Missing | Transition::Expired | Transition::Unverified => {
                Err(ApprovalError::WrongState {
                    id: id.into(),
                    state: "missing".into(),
                })
            }
        }
    }

    /// Marks that an undo was offered for an executed proposal; true for exactly one caller.
    pub async fn take_undo(&self, id: &str, now: i64) -> Result<bool, ApprovalError> {
        Ok(self.store.mark_undo(id, now).await?)
    }
}

fn refusal(transition: Transition) -> ClaimRefusal {
    match transition {
        Transition::Done => ClaimRefusal::AlreadyDecided(ProposalState::Executing),
        Transition::Missing => ClaimRefusal::Missing,
        Transition::Expired => ClaimRefusal::Expired,
        Transition::Unverified => ClaimRefusal::Unverified,
        Transition::WrongState(ProposalState::Expired) => ClaimRefusal::Expired,
        Transition::WrongState(
            state @ (ProposalState::Pending
            | ProposalState::Executing
            | ProposalState::Executed
            | ProposalState::Failed
            | ProposalState::Rejected
            | ProposalState::Unknown),
        ) => ClaimRefusal::AlreadyDecided(state),
    }
}

fn to_row(p: &Proposal) -> Result<ProposalRow, ApprovalError> {
    let corrupt = |e: serde_json::Error| ApprovalError::Corrupt {
        id: p.id.clone(),
        reason: e.to_string(),
    };
    Ok(ProposalRow {
        id: p.id.clone(),
        created_at: p.created_at,
        expires_at: p.expires_at,
        requester: p.requester.clone(),
        tool: p.call.tool.name().to_string(),
        call: serde_json::to_string(&p.call).map_err(corrupt)?,
        target: serde_json::to_string(&p.target).map_err(corrupt)?,
        policy_version: p.policy_version.clone(),
        binding_hash: p.binding_hash.clone(),
        state: p.state,
        approver: p.approver.clone(),
        decided_at: p.decided_at,
        outcome: p
            .outcome
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?,
        conversation: p.conversation.clone(),
        undo_of: p.undo_of.clone(),
        worded_by: p.worded_by.clone(),
        as_written: p.as_written.clone(),
        access_seconds: p.access_seconds,
        reason: p.reason.clone(),
        trigger: Some(serde_json::to_string(&p.trigger).map_err(corrupt)?),
    })
}

fn from_row(row: ProposalRow) -> Result<Proposal, ApprovalError> {
    let corrupt = |reason: String| ApprovalError::Corrupt {
        id: row.id.clone(),
        reason,
    };
    let call: Call = serde_json::from_str(&row.call).map_err(|e| corrupt(e.to_string()))?;
    let trigger = match row.trigger.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?,
        None => Trigger::Message,
    };
    if call.tool.name() != row.tool || Tool::from_name(&row.tool).is_none() {
        return Err(corrupt(format!(
            "tool column '{}' does not match its call",
            row.tool
        )));
    }
    Ok(Proposal {
        call,
        target: serde_json::from_str(&row.target).map_err(|e| corrupt(e.to_string()))?,
        state: row.state,
        outcome: row
            .outcome
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?,
        id: row.id,
        requester: row.requester,
        policy_version: row.policy_version,
        created_at: row.created_at,
        expires_at: row.expires_at,
        binding_hash: row.binding_hash,
        approver: row.approver,
        decided_at: row.decided_at,
        conversation: row.conversation,
        undo_of: row.undo_of,
        worded_by: row.worded_by,
        as_written: row.as_written,
        access_seconds: row.access_seconds,
        reason: row.reason,
        trigger,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Subject;

    fn draft() -> Draft {
        Draft {
            call: Call::new(Tool::SuspendUser, Subject::User("bob".into())).unwrap(),
            target: TargetSnapshot {
                id: "00ubob".into(),
                login: "bob@example.com".into(),
                email: None,
                name: "Bob".into(),
                status: UserStatus::Active,
                group: None,
            },
            worded_by: None,
            as_written: None,
            access_seconds: None,
            reason: None,
        }
    }

    fn new(draft: Draft) -> NewProposal<'static> {
        NewProposal {
            draft,
            requester: "U1",
            policy_version: "v1",
            now: 1000,
            ttl_secs: 900,
            conversation: "chat",
            undo_of: None,
            trigger: Trigger::Message,
        }
    }

    #[tokio::test]
    async fn claim_once_then_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let approvals = Approvals::new(&store);
        let p = approvals.create(new(draft())).await.unwrap();
        assert_eq!(approvals.get(&p.id).await.unwrap().unwrap(), p);
        assert_eq!(
            approvals.claim(&p.id, "U2", "v2", 1001).await.unwrap(),
            Err(ClaimRefusal::Tampered(
                "the policy changed since it was proposed".into()
            ))
        );
        let claimed = approvals
            .claim(&p.id, "U2", "v1", 1001)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.state, ProposalState::Executing);
        assert_eq!(
            approvals.claim(&p.id, "U2", "v1", 1002).await.unwrap(),
            Err(ClaimRefusal::AlreadyDecided(ProposalState::Executing))
        );
        assert_eq!(
            approvals.cancel(&p.id, "U1", 1002).await.unwrap(),
            Err(ClaimRefusal::AlreadyDecided(ProposalState::Executing))
        );
    }

    #[tokio::test]
    async fn an_outcome_on_a_proposal_that_is_not_executing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let approvals = Approvals::new(&store);
        let p = approvals.create(new(draft())).await.unwrap();
        let outcome = Outcome {
            state: ProposalState::Executed,
            summary: "done".into(),
            status_after: None,
            okta_request_ids: vec![],
        };
        assert!(matches!(
            approvals.finish(&p.id, &outcome).await,
            Err(ApprovalError::WrongState { ref state, .. }) if state == "pending"
        ));
        assert!(matches!(
            approvals.finish("p-missing", &outcome).await,
            Err(ApprovalError::WrongState { .. })
        ));
        approvals
            .claim(&p.id, "U2", "v1", 1001)
            .await
            .unwrap()
            .unwrap();
        approvals.finish(&p.id, &outcome).await.unwrap();
        assert!(
            approvals.finish(&p.id, &outcome).await.is_err(),
            "only once"
        );
    }

    #[tokio::test]
    async fn edited_rows_and_expiry_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let approvals = Approvals::new(&store);
        let p = approvals.create(new(draft())).await.unwrap();
        store
            .execute_raw(&format!(
                "UPDATE proposals SET target = replace(target, '00ubob', '00uceo') WHERE id = '{}'",
                p.id
            ))
            .await
            .unwrap();
        assert!(matches!(
            approvals.claim(&p.id, "U2", "v1", 1001).await.unwrap(),
            Err(ClaimRefusal::Tampered(_))
        ));
        let q = approvals.create(new(draft())).await.unwrap();
        assert_eq!(
            approvals.claim(&q.id, "U2", "v1", 1900).await.unwrap(),
            Err(ClaimRefusal::Expired)
        );
        assert_eq!(
            approvals.cancel(&q.id, "U1", 1901).await.unwrap(),
            Err(ClaimRefusal::Expired)
        );
    }
}
