//! Who may do what: one [`Policy::authorize`] function, deny by default. It answers for a
//! request (may this person ask for this action on this target?), an approval click and a cancel
//! click. It knows nothing about Slack or the model; callers pass plain facts.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tools::{Risk, Tool};

/// `[policy]` in the config file. Every list defaults to empty, which allows nothing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Slack user ids who may request and approve any action (two-person actions excepted).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Actions a person may do to themselves, approved by their own click.
    #[serde(default)]
    pub self_service: Vec<Tool>,
    /// Actions a person may ask for on themselves; an admin approves.
    #[serde(default)]
    pub self_service_with_approval: Vec<Tool>,
    /// Actions whose approver must be a different admin from the requester.
    #[serde(default)]
    pub two_person: Vec<Tool>,
    /// Okta group names whose members, and which themselves, are never changed from chat.
    #[serde(default)]
    pub protected_groups: Vec<String>,
    /// Okta logins or emails never changed from chat.
    #[serde(default)]
    pub protected_users: Vec<String>,
    #[serde(default)]
    pub reset_password_delivery: ResetDelivery,
    #[serde(default = "default_ttl")]
    pub approval_ttl_seconds: u64,
    #[serde(default = "default_per_requester")]
    pub max_actions_per_requester_per_hour: u32,
    #[serde(default = "default_per_target")]
    pub max_actions_per_target_per_hour: u32,
}

fn default_ttl() -> u64 {
    900
}
fn default_per_requester() -> u32 {
    20
}
fn default_per_target() -> u32 {
    3
}

/// Where a password reset's one-time link goes. Set by policy, never by the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetDelivery {
    /// Okta emails the user (`sendEmail=true`); okta-agent never sees the link.
    #[default]
    Email,
    /// The link comes back to okta-agent and goes by DM to the approver only.
    DmApprover,
}

/// What kind of Slack account someone is. Only humans who are full members act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    Member,
    Guest,
    Bot,
    Deleted,
}

/// Someone acting: always identified by the Slack user id on the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub slack_id: String,
    pub kind: PersonKind,
    /// Their Okta user id, when their Slack email maps to exactly one Okta user.
    pub okta_user_id: Option<String>,
}

/// Whether the target holds Okta admin roles, as far as okta-agent could tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRoles {
    None,
    Held(Vec<String>),
    /// The roles API could not be read (usually the `okta.roles.read` scope is missing).
    Unknown(String),
}

/// The person an action is about.
#[derive(Clone, Debug)]
pub struct TargetFacts {
    pub okta_user_id: String,
    pub login: String,
    pub email: Option<String>,
    pub admin_roles: AdminRoles,
    /// Names of the Okta groups the target belongs to.
    pub groups: Vec<String>,
}

/// Everything `authorize` looks at besides the actor.
#[derive(Clone, Debug)]
pub struct ActionFacts<'a> {
    pub tool: Tool,
    pub requester: &'a Actor,
    /// The person acted on; `None` for reads about no one (help docs, group lookups).
    pub target: Option<&'a TargetFacts>,
    /// The group acted on (group membership tools and `find_group`).
    pub group: Option<&'a str>,
    /// Proposals this requester made in the last hour.
    pub requester_recent: u32,
    /// Proposals about this target in the last hour.
    pub target_recent: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Request,
    Approve,
    Cancel,
}

/// Who may click Approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approvers {
    /// The requester themselves (self-service), or any admin.
    RequesterOrAdmin,
    /// Any admin, the requester included when they are one.
    AnyAdmin,
    /// An admin other than the requester (two-person actions).
    AnotherAdmin,
}

impl Approvers {
    pub fn describe(self) -> &'static str {
        match self {
            Approvers::RequesterOrAdmin => "you, or an IT admin",
            Approvers::AnyAdmin => "an IT admin",
            Approvers::AnotherAdmin => "a second IT admin (not the requester)",
        }
    }
}

/// The answer. There is no default but [`Decision::Denied`]: anything not explicitly allowed is
/// refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Denied(String),
    /// A read may run now; an approval or cancel click may proceed.
    Allowed,
    /// A change may be proposed; these people may approve it.
    NeedsApproval(Approvers),
}

impl Default for Decision {
    fn default() -> Self {
        Decision::Denied("not allowed by policy".into())
    }
}

/// The policy in force. `config: None` means no `[policy]` was configured: reads only.
#[derive(Clone, Debug)]
pub struct Policy {
    config: Option<PolicyConfig>,
    version: String,
}

impl Policy {
    /// No policy configured: only read tools and help docs work.
    pub fn read_only() -> Self {
        Self {
            config: None,
            version: "read-only".into(),
        }
    }

    /// Checks a configured policy and fixes its version (a hash of its content, so a proposal made
    /// under an older policy cannot be approved under a newer one).
    pub fn new(config: PolicyConfig) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        for admin in &config.admins {
            if !is_slack_user_id(admin) {
                problems.push(format!(
                    "policy.admins: '{admin}' is not a Slack user id (they look like U0123ABCD; copy it from the person's Slack profile, ⋮ → Copy member ID)"
                ));
            }
        }
        for (key, list) in [
            ("self_service", &config.self_service),
            (
                "self_service_with_approval",
                &config.self_service_with_approval,
            ),
            ("two_person", &config.two_person),
        ] {
            for tool in list {
                if tool.risk() == Risk::Read {
                    problems.push(format!(
                        "policy.{key}: {tool} is a read-only tool; list only actions that change Okta"
                    ));
                }
            }
        }
        for tool in &config.self_service {
            if config.self_service_with_approval.contains(tool) {
                problems.push(format!(
                    "policy: {tool} is in both self_service and self_service_with_approval; keep one"
                ));
            }
        }
        if !(60..=86_400).contains(&config.approval_ttl_seconds) {
            problems.push(format!(
                "policy.approval_ttl_seconds: {} is out of range; use 60 to 86400",
                config.approval_ttl_seconds
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let canonical = serde_json::to_vec(&config).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            config: Some(config),
            version,
        })
    }

    /// The policy the built-in demo org runs with (see `okta-agent chat`).
    pub fn demo() -> Self {
        let config = PolicyConfig {
            admins: vec!["U0LEO".into(), "U0GRACE".into()],
            self_service: vec![Tool::UnlockUser],
            self_service_with_approval: vec![Tool::ResetPassword],
            two_person: vec![Tool::DeactivateUser, Tool::ResetFactors],
            protected_groups: vec!["Okta Administrators".into()],
            protected_users: vec![],
            reset_password_delivery: ResetDelivery::Email,
            approval_ttl_seconds: default_ttl(),
            max_actions_per_requester_per_hour: default_per_requester(),
            max_actions_per_target_per_hour: default_per_target(),
        };
        // The demo policy is a constant that passes every check above.
        Self::new(config).unwrap_or_else(|_| Self::read_only())
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn config(&self) -> Option<&PolicyConfig> {
        self.config.as_ref()
    }

    pub fn is_configured(&self) -> bool {
        self.config.is_some()
    }

    pub fn is_admin(&self, slack_id: &str) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.admins.iter().any(|a| a == slack_id))
    }

    pub fn approval_ttl_secs(&self) -> i64 {
        self.config
            .as_ref()
            .map_or(default_ttl(), |c| c.approval_ttl_seconds) as i64
    }

    pub fn reset_delivery(&self) -> ResetDelivery {
        self.config
            .as_ref()
            .map_or(ResetDelivery::Email, |c| c.reset_password_delivery)
    }

    /// The one authorization function.
    pub fn authorize(&self, actor: &Actor, act: Act, facts: &ActionFacts) -> Decision {
        if let Some(refusal) = refuse_non_member(actor) {
            return Decision::Denied(refusal);
        }
        match act {
            Act::Request => self.authorize_request(actor, facts),
            Act::Approve => self.authorize_click(actor, facts, "approve"),
            Act::Cancel => {
                if actor.slack_id == facts.requester.slack_id {
                    Decision::Allowed
                } else {
                    self.authorize_click(actor, facts, "cancel")
                }
            }
        }
    }

    fn authorize_request(&self, actor: &Actor, facts: &ActionFacts) -> Decision {
        let on_self = is_self(actor, facts.target);
        if facts.tool.risk() == Risk::Read {
            return match &self.config {
                None => Decision::Allowed,
                Some(_) if facts.tool == Tool::SearchHelpDocs => Decision::Allowed,
                Some(_) if self.is_admin(&actor.slack_id) || on_self => Decision::Allowed,
                Some(_) => Decision::Denied(format!(
                    "only IT admins may use {} on other people; you may ask about yourself",
                    facts.tool
                )),
            };
        }
        let Some(config) = &self.config else {
            return Decision::Denied(
                "no policy is configured, so okta-agent only answers questions and looks things up. An administrator must add a [policy] section naming the admins".into(),
            );
        };
        if let Some(refusal) = self.protection(facts) {
            return Decision::Denied(refusal);
        }
        if facts.requester_recent >= config.max_actions_per_requester_per_hour {
            return Decision::Denied(format!(
                "you have asked for {} changes in the last hour, the most policy allows; try again later or ask another admin",
                facts.requester_recent
            ));
        }
        if facts.target_recent >= config.max_actions_per_target_per_hour {
            return Decision::Denied(format!(
                "this person has had {} changes proposed in the last hour, the most policy allows; check with your security team",
                facts.target_recent
            ));
        }
        if self.is_admin(&actor.slack_id) {
            return if config.two_person.contains(&facts.tool) {
                Decision::NeedsApproval(Approvers::AnotherAdmin)
            } else {
                Decision::NeedsApproval(Approvers::AnyAdmin)
            };
        }
        if on_self && config.self_service.contains(&facts.tool) {
            return Decision::NeedsApproval(Approvers::RequesterOrAdmin);
        }
        if on_self && config.self_service_with_approval.contains(&facts.tool) {
            return Decision::NeedsApproval(Approvers::AnyAdmin);
        }
        let mut own: Vec<&str> = config
            .self_service
            .iter()
            .chain(&config.self_service_with_approval)
            .map(|t| t.name())
            .collect();
        own.sort_unstable();
        let hint = if own.is_empty() {
            "ask IT in the triage channel".to_string()
        } else {
            format!("for yourself you may ask for: {}", own.join(", "))
        };
        Decision::Denied(format!(
            "only IT admins may {} {}; {hint}",
            facts.tool.verb().to_lowercase(),
            if on_self {
                "for themselves"
            } else {
                "other people"
            },
        ))
    }

    /// An approve or cancel click: allowed when the clicker is one of the approvers the request
    /// would need now (so policy changes and revoked admins take effect at once).
    fn authorize_click(&self, actor: &Actor, facts: &ActionFacts, verb: &str) -> Decision {
        // Velocity was counted when the proposal was made; counting again would count it twice.
        let at_request = ActionFacts {
            requester_recent: 0,
            target_recent: 0,
            ..facts.clone()
        };
        let approvers = match self.authorize_request(facts.requester, &at_request) {
            Decision::NeedsApproval(approvers) => approvers,
            Decision::Denied(reason) => return Decision::Denied(reason),
            Decision::Allowed => return Decision::Denied("there is nothing to approve".into()),
        };
        let is_admin = self.is_admin(&actor.slack_id);
        let is_requester = actor.slack_id == facts.requester.slack_id;
        let allowed = match approvers {
            Approvers::RequesterOrAdmin => is_requester || is_admin,
            Approvers::AnyAdmin => is_admin,
            Approvers::AnotherAdmin => is_admin && !is_requester,
        };
        if allowed {
            Decision::Allowed
        } else if approvers == Approvers::AnotherAdmin && is_requester {
            Decision::Denied(format!(
                "{} is a two-person action: a different admin must {verb} it",
                facts.tool
            ))
        } else {
            Decision::Denied(format!(
                "you are not allowed to {verb} this; it needs {}",
                approvers.describe()
            ))
        }
    }

    fn protection(&self, facts: &ActionFacts) -> Option<String> {
        let config = self.config.as_ref()?;
        if let Some(group) = facts.group {
            if config
                .protected_groups
                .iter()
                .any(|p| p.eq_ignore_ascii_case(group))
            {
                return Some(format!(
                    "the group '{group}' is protected; its membership is never changed from chat"
                ));
            }
        }
        let target = facts.target?;
        let named = |text: &str| {
            text.eq_ignore_ascii_case(&target.login)
                || target
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(text))
        };
        if config.protected_users.iter().any(|p| named(p)) {
            return Some(format!(
                "{} is a protected user; changes to them are never made from chat",
                target.login
            ));
        }
        if let Some(group) = target.groups.iter().find(|g| {
            config
                .protected_groups
                .iter()
                .any(|p| p.eq_ignore_ascii_case(g))
        }) {
            return Some(format!(
                "{} is in the protected group '{group}'; changes to them are never made from chat",
                target.login
            ));
        }
        match &target.admin_roles {
            AdminRoles::None => None,
            AdminRoles::Held(roles) => Some(format!(
                "{} holds the Okta admin role {}; admins are never changed from chat",
                target.login,
                roles.join(", ")
            )),
            AdminRoles::Unknown(why) if facts.tool.risk() == Risk::Destructive => Some(format!(
                "okta-agent cannot tell whether {} is an Okta admin ({why}), so destructive actions are refused; grant the okta.roles.read scope",
                target.login
            )),
            AdminRoles::Unknown(_) => None,
        }
    }
}

fn refuse_non_member(actor: &Actor) -> Option<String> {
    match actor.kind {
        PersonKind::Member => None,
        PersonKind::Guest => Some("guest accounts cannot request or approve changes".into()),
        PersonKind::Bot => Some("bots cannot request or approve changes".into()),
        PersonKind::Deleted => Some("deactivated Slack accounts cannot act".into()),
    }
}

fn is_self(actor: &Actor, target: Option<&TargetFacts>) -> bool {
    match (&actor.okta_user_id, target) {
        (Some(own), Some(target)) => *own == target.okta_user_id,
        _ => false,
    }
}

/// Slack user ids start with U or W followed by upper-case letters and digits.
pub fn is_slack_user_id(text: &str) -> bool {
    text.len() >= 3
        && text.starts_with(['U', 'W'])
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str, okta: &str) -> Actor {
        Actor {
            slack_id: id.into(),
            kind: PersonKind::Member,
            okta_user_id: Some(okta.into()),
        }
    }

    fn target(id: &str, roles: AdminRoles, groups: &[&str]) -> TargetFacts {
        TargetFacts {
            okta_user_id: id.into(),
            login: format!("{id}@example.com"),
            email: Some(format!("{id}@example.com")),
            admin_roles: roles,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn facts<'a>(tool: Tool, requester: &'a Actor, target: &'a TargetFacts) -> ActionFacts<'a> {
        ActionFacts {
            tool,
            requester,
            target: Some(target),
            group: None,
            requester_recent: 0,
            target_recent: 0,
        }
    }

    #[test]
    fn no_policy_allows_reads_only() {
        let policy = Policy::read_only();
        let anyone = actor("U1", "00u1");
        let bob = target("bob", AdminRoles::None, &[]);
        assert_eq!(
            policy.authorize(
                &anyone,
                Act::Request,
                &facts(Tool::ListUserApps, &anyone, &bob)
            ),
            Decision::Allowed
        );
        assert!(matches!(
            policy.authorize(&anyone, Act::Request, &facts(Tool::UnlockUser, &anyone, &bob)),
            Decision::Denied(r) if r.contains("no policy is configured")
        ));
    }

    #[test]
    fn admins_two_person_self_service_and_strangers() {
        let policy = Policy::demo();
        let leo = actor("U0LEO", "00uleo");
        let grace = actor("U0GRACE", "00ugrace");
        let bob_actor = actor("U0BOB", "bob");
        let bob = target("bob", AdminRoles::None, &[]);
        let ana = target("ana", AdminRoles::None, &[]);

        let unlock = facts(Tool::UnlockUser, &leo, &bob);
        assert_eq!(
            policy.authorize(&leo, Act::Request, &unlock),
            Decision::NeedsApproval(Approvers::AnyAdmin)
        );
        assert_eq!(
            policy.authorize(&leo, Act::Approve, &unlock),
            Decision::Allowed
        );
        assert!(matches!(
            policy.authorize(&bob_actor, Act::Approve, &unlock),
            Decision::Denied(_)
        ));

        let deactivate = facts(Tool::DeactivateUser, &leo, &bob);
        assert_eq!(
            policy.authorize(&leo, Act::Request, &deactivate),
            Decision::NeedsApproval(Approvers::AnotherAdmin)
        );
        assert!(matches!(
            policy.authorize(&leo, Act::Approve, &deactivate),
            Decision::Denied(r) if r.contains("two-person")
        ));
        assert_eq!(
            policy.authorize(&grace, Act::Approve, &deactivate),
            Decision::Allowed
        );

        let self_unlock = facts(Tool::UnlockUser, &bob_actor, &bob);
        assert_eq!(
            policy.authorize(&bob_actor, Act::Request, &self_unlock),
            Decision::NeedsApproval(Approvers::RequesterOrAdmin)
        );
        assert_eq!(
            policy.authorize(&bob_actor, Act::Approve, &self_unlock),
            Decision::Allowed
        );
        let self_reset = facts(Tool::ResetPassword, &bob_actor, &bob);
        assert_eq!(
            policy.authorize(&bob_actor, Act::Request, &self_reset),
            Decision::NeedsApproval(Approvers::AnyAdmin)
        );
        assert!(matches!(
            policy.authorize(&bob_actor, Act::Approve, &self_reset),
            Decision::Denied(_)
        ));
        assert_eq!(
            policy.authorize(&bob_actor, Act::Cancel, &self_reset),
            Decision::Allowed
        );

        let on_other = facts(Tool::UnlockUser, &bob_actor, &ana);
        assert!(matches!(
            policy.authorize(&bob_actor, Act::Request, &on_other),
            Decision::Denied(r) if r.contains("only IT admins")
        ));
        let read_other = facts(Tool::ListUserApps, &bob_actor, &ana);
        assert!(matches!(
            policy.authorize(&bob_actor, Act::Request, &read_other),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn protected_targets_and_unknown_roles() {
        let policy = Policy::demo();
        let leo = actor("U0LEO", "00uleo");
        let admin = target("grace", AdminRoles::Held(vec!["SUPER_ADMIN".into()]), &[]);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &facts(Tool::UnlockUser, &leo, &admin)),
            Decision::Denied(r) if r.contains("SUPER_ADMIN")
        ));
        let member = target("x", AdminRoles::None, &["Okta Administrators"]);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &facts(Tool::SuspendUser, &leo, &member)),
            Decision::Denied(r) if r.contains("protected group")
        ));
        let unknown = target(
            "y",
            AdminRoles::Unknown("scope okta.roles.read not granted".into()),
            &[],
        );
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &facts(Tool::SuspendUser, &leo, &unknown)),
            Decision::Denied(r) if r.contains("okta.roles.read")
        ));
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &facts(Tool::UnlockUser, &leo, &unknown)),
            Decision::NeedsApproval(_)
        ));
        let bob = target("bob", AdminRoles::None, &[]);
        let mut into_admins = facts(Tool::AddUserToGroup, &leo, &bob);
        into_admins.group = Some("okta administrators");
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &into_admins),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn velocity_bots_and_config_checks() {
        let policy = Policy::demo();
        let leo = actor("U0LEO", "00uleo");
        let bob = target("bob", AdminRoles::None, &[]);
        let mut busy = facts(Tool::UnlockUser, &leo, &bob);
        busy.target_recent = 3;
        assert!(
            matches!(policy.authorize(&leo, Act::Request, &busy), Decision::Denied(r) if r.contains("last hour"))
        );
        busy.target_recent = 0;
        busy.requester_recent = 20;
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &busy),
            Decision::Denied(_)
        ));

        let mut bot = leo.clone();
        bot.kind = PersonKind::Bot;
        assert!(
            matches!(policy.authorize(&bot, Act::Approve, &facts(Tool::UnlockUser, &leo, &bob)), Decision::Denied(r) if r.contains("bots"))
        );

        let bad = PolicyConfig {
            admins: vec!["alice".into()],
            self_service: vec![Tool::FindUser],
            ..Policy::demo().config().unwrap().clone()
        };
        let problems = Policy::new(bad).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("'alice' is not a Slack user id"));
        assert_ne!(Policy::demo().version(), Policy::read_only().version());
    }
}
