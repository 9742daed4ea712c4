//! Requests that are not typed: a reaction under an emoji rule, or the `/okta` form. They go
//! through the same toolbox, policy, proposal, card and audit as a typed request; only the
//! answers differ, because a refusal goes to the person alone (an ephemeral note), and a form
//! wants to know which field was wrong.

use tracing::{error, info_span, Instrument};

use super::{reference, Engine, EngineError, Origin, Output};
use crate::agent::toolbox::{Hints, Step};
use crate::approvals::Trigger;
use crate::policy::{Approvers, Decision, PersonKind};
use crate::tools::{Call, Subject, SubjectKind, Tool};

/// An action asked for by a reaction or a form.
#[derive(Clone, Debug)]
pub(super) struct ActionRequest {
    /// The Slack user id who reacted or submitted.
    pub requester: String,
    pub tool: Tool,
    /// The person: `<@U…>`, a login or an email.
    pub user: String,
    /// The group, by name or id, for group actions.
    pub group: Option<String>,
    pub access_seconds: Option<i64>,
    pub reason: Option<String>,
    /// `channel:thread` where the card goes.
    pub conversation: String,
    pub trigger: Trigger,
}

/// Which part of a request was wrong (a form shows the error on that field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Action,
    User,
    Group,
    Duration,
}

/// What became of an [`ActionRequest`].
#[derive(Debug)]
pub enum Proposed {
    /// A pending proposal: its card (and a triage notice when someone else must approve).
    Card {
        proposal_id: String,
        outputs: Vec<Output>,
        /// Whether the requester may approve it alone.
        requester_may_approve: bool,
    },
    /// Nothing was proposed; why, for the requester alone, and which part was wrong.
    Refused { field: Field, why: String },
}

/// What the `/okta` form (or its terminal walk-through) submitted.
#[derive(Clone, Debug)]
pub struct FormSubmission {
    /// The Slack user id who submitted it.
    pub requester: String,
    pub tool: Tool,
    /// The person: `<@U…>`, a login or an email.
    pub user: String,
    pub group: Option<String>,
    pub access_seconds: Option<i64>,
    pub reason: Option<String>,
    /// `channel:thread` where the card goes.
    pub conversation: String,
}

impl Engine {
    /// A submitted `/okta` form: the same proposal, policy and card as a typed request, with
    /// refusals naming the field that was wrong.
    pub async fn form(&self, form: FormSubmission) -> Proposed {
        self.request_action(ActionRequest {
            requester: form.requester,
            tool: form.tool,
            user: form.user,
            group: form.group,
            access_seconds: form.access_seconds,
            reason: form.reason,
            conversation: form.conversation,
            trigger: Trigger::Form,
        })
        .await
    }

    /// Proposes an action from a reaction or a form.
    pub(super) async fn request_action(&self, request: ActionRequest) -> Proposed {
        let reference = reference();
        let span = info_span!("automation", request_id = %reference, requester = %request.requester, tool = %request.tool);
        async {
            match self.request_action_inner(&request).await {
                Ok(proposed) => proposed,
                Err(e) => {
                    error!(error = %e, reference, "an automation request failed");
                    Proposed::Refused {
                        field: Field::Action,
                        why: format!(
                            "that did not work, and nothing was changed (reference {reference})"
                        ),
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn request_action_inner(&self, request: &ActionRequest) -> Result<Proposed, EngineError> {
        let refuse = |field: Field, why: String| Ok(Proposed::Refused { field, why });
        let actor = self.resolver.actor(&request.requester).await?;
        if actor.kind != PersonKind::Member {
            return refuse(
                Field::Action,
                "only members of this workspace can ask okta-agent for changes".into(),
            );
        }
        let subject = match (request.tool.subject_kind(), &request.group) {
            (SubjectKind::Membership, Some(group)) => Subject::Membership {
                user: request.user.clone(),
                group: group.clone(),
            },
            (SubjectKind::Membership, None) => {
                return refuse(Field::Group, "choose the group".into())
            }
            (SubjectKind::User, _) => Subject::User(request.user.clone()),
            (SubjectKind::Query | SubjectKind::Group, _) => {
                return refuse(
                    Field::Action,
                    format!("{} is not an action on a person", request.tool),
                )
            }
        };
        let call = match Call::new(request.tool, subject) {
            Ok(call) => call,
            Err(e) => return refuse(Field::User, e.to_string()),
        };
        let hints = Hints {
            access_seconds: request.access_seconds,
            reason: request.reason.clone(),
            ..Hints::default()
        };
        let draft = match self.agent.toolbox().run_with(&call, &actor, &hints).await? {
            Step::Propose(draft) => *draft,
            Step::Answer(text) | Step::Refuse(text) | Step::Clarify(text) => {
                let text = text
                    .strip_prefix("I can't do that: ")
                    .map(str::to_string)
                    .unwrap_or(text);
                let field = if text.contains("time-bound") {
                    Field::Duration
                } else if text.to_lowercase().contains("group") && request.group.is_some() {
                    Field::Group
                } else if text.starts_with("I can't do that") {
                    Field::Action
                } else {
                    Field::User
                };
                return refuse(field, text);
            }
        };
        match self.decide(&draft, &actor, 0).await? {
            Decision::NeedsApproval(approvers) => {
                let requester_may_approve = match approvers {
                    Approvers::RequesterOrAdmin => true,
                    Approvers::AnyAdmin => self.policy.is_admin(&actor.slack_id),
                    Approvers::AnotherAdmin => false,
                };
                let origin = Origin::new(&request.conversation, request.trigger.clone());
                let outputs = self.create(draft, &actor, approvers, &origin).await?;
                let proposal_id = outputs
                    .iter()
                    .find_map(|o| match o {
                        Output::Card(card) => Some(card.proposal_id.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                Ok(Proposed::Card {
                    proposal_id,
                    outputs,
                    requester_may_approve,
                })
            }
            Decision::Denied(reason) => {
                self.audit_denied(&draft, &actor, &reason).await?;
                let field = if reason.contains("group") && request.group.is_some() {
                    Field::Group
                } else if draft.target.id.is_empty() {
                    Field::Action
                } else {
                    Field::User
                };
                refuse(
                    field,
                    format!(
                        "you can't {} {}: {reason}",
                        draft.call.tool.verb().to_lowercase(),
                        draft.target.login
                    ),
                )
            }
            Decision::Allowed => refuse(Field::Action, "there is nothing to approve".into()),
        }
    }

    /// The actions `requester` may ask for at all under the policy (the form lists only these).
    pub async fn requestable_tools(&self, requester: &str) -> Result<Vec<Tool>, EngineError> {
        let actor = self.resolver.actor(requester).await?;
        if actor.kind != PersonKind::Member {
            return Ok(Vec::new());
        }
        Ok(Tool::ALL
            .iter()
            .copied()
            .filter(|tool| tool.changes_okta())
            .filter(|tool| {
                !matches!(
                    self.policy.scope(&actor, *tool),
                    crate::policy::Scope::Nobody(_)
                )
            })
            .collect())
    }
}

impl Engine {
    /// `approver`'s approval by something other than a button (a reaction, the end of a grace
    /// window): exactly a click, audited with what stood in for it.
    pub async fn approve_as(&self, proposal_id: &str, approver: &str, via: Trigger) -> Vec<Output> {
        self.click(super::Click {
            proposal_id: proposal_id.to_string(),
            clicker: approver.to_string(),
            choice: super::Choice::Approve,
            via: Some(via),
        })
        .await
    }

    /// Okta groups whose names start with `query`, for the form's group field: Okta-mastered
    /// groups only (memberships of app or built-in groups cannot be changed here), never a
    /// protected group, at most 50.
    pub async fn group_suggestions(
        &self,
        query: &str,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let groups = self
            .resolver
            .okta()
            .groups_starting(query)
            .await
            .map_err(crate::identity::ResolveError::from)?
            .value;
        Ok(groups
            .into_iter()
            .filter(|g| g.group_type == crate::okta::GroupType::OktaGroup)
            .filter(|g| !self.policy.is_protected_group_id(&g.id))
            .take(50)
            .map(|g| (g.name().to_string(), g.id))
            .collect())
    }
}
