//! What a person's App Home shows, with what they may see: for IT admins, the approvals
//! waiting for them, the time-bound accesses to end, the latest actions and the service's
//! health; for everyone, their own Okta account, the self-service actions the policy allows
//! them and questions to ask. Plain data: the front end draws it. Buttons on it lead to the
//! same engine calls as in threads (the same claim, the same policy), so a forged click from
//! anyone's Home is refused as it would be anywhere.

use tracing::warn;

use super::{card_for, Card, Engine};
use crate::approvals::{Approvals, ProposalState};
use crate::audit::AuditRecord;
use crate::clock::format_utc;
use crate::policy::Approvers;
use crate::store::JobKind;
use crate::tools::Tool;

/// Recent actions shown.
const RECENT: i64 = 20;
/// Starter questions offered under "Ask IT".
const STARTERS: usize = 3;
/// Events that are actions, for "recent actions".
const ACTION_EVENTS: [&str; 6] = [
    "executed", "failed", "rejected", "expired", "unknown", "denied",
];

/// One person's Home.
#[derive(Clone, Debug, Default)]
pub struct Home {
    pub person: String,
    pub admin: bool,
    /// Cards waiting for a decision this person may give (admins only).
    pub approvals: Vec<Card>,
    /// Time-bound accesses still running, with their end (admins only).
    pub accesses: Vec<HomeAccess>,
    /// The latest actions, newest first (admins only).
    pub recent: Vec<RecentAction>,
    /// How the service is doing (admins only).
    pub health: Vec<String>,
    /// Their own Okta account, in lines; `None` when they have no Okta account okta-agent can
    /// find.
    pub account: Option<Vec<String>>,
    /// Self-service actions the policy allows them, with the button's label.
    pub self_service: Vec<(Tool, String)>,
    /// Questions the help documents answer.
    pub starters: Vec<String>,
}

/// A time-bound access on the Home.
#[derive(Clone, Debug)]
pub struct HomeAccess {
    pub proposal_id: String,
    pub summary: String,
    pub ends_at: i64,
}

/// One recent action.
#[derive(Clone, Debug)]
pub struct RecentAction {
    pub time: i64,
    /// "executed unlock_user on bob@example.com".
    pub text: String,
    pub approver: Option<String>,
    pub proposal_id: Option<String>,
    /// Where its card is (channel, ts), for a link to the thread.
    pub card: Option<(String, String)>,
}

impl Engine {
    /// The Home of `person`.
    pub async fn home_for(&self, person: &str) -> Home {
        let actor = match self.resolver.actor(person).await {
            Ok(actor) => Some(actor),
            Err(e) => {
                warn!(error = %e, person, "could not look the person up for their Home");
                None
            }
        };
        let admin = self.policy.is_admin(person);
        let mut home = Home {
            person: person.to_string(),
            admin,
            ..Home::default()
        };
        if let Some(actor) = &actor {
            if let Some(id) = &actor.okta_user_id {
                home.account = self.account_lines(id).await;
            }
            for tool in Tool::ALL {
                if self.policy.allows_self_service(actor, tool) {
                    home.self_service
                        .push((tool, self.self_service_label(tool)));
                }
            }
        }
        let docs = self.agent.knowledge().current();
        home.starters = docs
            .docs()
            .iter()
            .filter_map(|d| d.questions.first().cloned())
            .take(STARTERS)
            .collect();
        if admin {
            home.approvals = self.approvals_for(person).await;
            home.accesses = self.running_accesses().await;
            home.recent = self.recent_actions().await;
            home.health = self.health_lines().await;
        }
        home
    }

    /// Lines about an Okta account: status, last sign-in, password last changed.
    async fn account_lines(&self, okta_id: &str) -> Option<Vec<String>> {
        let user = self.resolver.okta().get_user(okta_id).await.ok()?.value;
        Some(vec![
            format!("{} ({})", user.display_name(), user.profile.login),
            format!("Okta status: {}", user.status.as_str()),
            format!(
                "Last sign-in: {}",
                user.last_login.as_deref().unwrap_or("never")
            ),
            format!(
                "Password last changed: {}",
                user.password_changed.as_deref().unwrap_or("never")
            ),
        ])
    }

    /// Pending cards `admin` may approve (not their own when a second person must: the
    /// policy's rule, so a card the claim would refuse is never offered).
    async fn approvals_for(&self, admin: &str) -> Vec<Card> {
        let now = self.clock.now();
        let rows = match self.store.open_proposals(now).await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "could not read open proposals for a Home");
                return Vec::new();
            }
        };
        let approvals = Approvals::new(&self.store);
        let mut cards = Vec::new();
        for row in rows {
            let Ok(Some(proposal)) = approvals.get(&row.id).await else {
                continue;
            };
            if proposal.state != ProposalState::Pending {
                continue;
            }
            let two_person = self
                .policy
                .config()
                .is_some_and(|c| c.needs_second_person(proposal.call.tool));
            if two_person && proposal.requester == admin {
                continue;
            }
            let approvers = if two_person {
                Approvers::AnotherAdmin
            } else {
                Approvers::AnyAdmin
            };
            cards.push(
                self.verified_card(card_for(&proposal, Some(approvers)))
                    .await,
            );
        }
        cards
    }

    /// Time-bound accesses whose end is scheduled and not yet done.
    async fn running_accesses(&self) -> Vec<HomeAccess> {
        let jobs = self.store.scheduled_jobs().await.unwrap_or_default();
        let approvals = Approvals::new(&self.store);
        let mut accesses = Vec::new();
        for job in jobs.into_iter().filter(|j| j.kind == JobKind::EndAccess) {
            let Ok(Some(proposal)) = approvals.get(&job.proposal_id).await else {
                continue;
            };
            let group = proposal
                .target
                .group
                .as_ref()
                .map_or("a group", |g| g.name.as_str())
                .to_string();
            accesses.push(HomeAccess {
                proposal_id: proposal.id.clone(),
                summary: format!("{} in {group}", proposal.target.login),
                ends_at: job.run_at,
            });
        }
        accesses
    }

    /// The latest actions from the audit, newest first.
    async fn recent_actions(&self) -> Vec<RecentAction> {
        let rows = self
            .store
            .audit_latest(RECENT * 3)
            .await
            .unwrap_or_default();
        let records: Vec<AuditRecord> = rows
            .into_iter()
            .filter_map(|row| serde_json::from_str::<AuditRecord>(&row.record).ok())
            .filter(|r| ACTION_EVENTS.contains(&r.event.as_str()))
            .take(RECENT as usize)
            .collect();
        let mut recent = Vec::new();
        for r in records {
            let card = match &r.proposal_id {
                Some(id) => self.card_location(id).await,
                None => None,
            };
            recent.push(RecentAction {
                time: r.time,
                text: format!(
                    "{} {} on {}",
                    r.event,
                    r.action.as_deref().unwrap_or("an action"),
                    r.target.as_deref().unwrap_or("someone"),
                ),
                approver: r.approver,
                proposal_id: r.proposal_id,
                card,
            });
        }
        recent
    }

    /// Health lines an admin sees: Okta's rate-limit headroom, the planner, the System Log.
    pub async fn health_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        lines.push(match self.resolver.okta().rate_limit() {
            Some(limit) => format!(
                "Okta rate limit: {} of {} requests left until {}",
                limit.remaining,
                limit.limit,
                format_utc(i64::try_from(limit.reset_epoch).unwrap_or(0))
            ),
            None => "Okta rate limit: no call made yet".into(),
        });
        lines.push(if self.agent.uses_model() {
            let calls = |result| {
                crate::metrics::metrics()
                    .model_calls
                    .get_or_create(&crate::metrics::label("result", result))
                    .get()
            };
            format!(
                "Planner: a model is configured; since start it answered {} calls and failed {}",
                calls("ok"),
                calls("error")
            )
        } else {
            "Planner: the built-in command engine (no model configured)".into()
        });
        lines.push(format!(
            "Socket Mode connections open: {}",
            crate::metrics::metrics().socket_connections.get()
        ));
        lines.push(
            match self
                .store
                .log_cursor(super::LOCKOUT_POLLER)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.polled_at)
            {
                Some(at) => format!("System Log: last read {}", format_utc(at)),
                None => {
                    "System Log: not read (okta.logs.read is not among the scopes, or no poll yet)"
                        .into()
                }
            },
        );
        lines
    }
}
