//! Who may do what: one [`Policy::authorize`] function, deny by default. It answers for a
//! request (may this person ask for this action on this target?), an approval click and a cancel
//! click; [`Policy::scope`] answers the earlier question "may this person ask for this kind of
//! action at all, and about whom?", so nobody learns anything about other people before policy
//! has spoken. It knows nothing about Slack or the model; callers pass plain facts.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::approvals::GroupRef;
use crate::tools::{Risk, Tool};

/// `[policy]` in the config file. Every list defaults to empty, which allows nothing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Who may request and approve any action (two-person actions excepted): Slack user ids,
    /// Slack user groups (`S…`), and Okta groups (`okta:Group Name` or a `00g…` id) whose
    /// members are found in Slack by their confirmed email. Groups are re-read while running.
    #[serde(default)]
    pub admins: Vec<String>,
    /// How often the groups in `admins` are re-read, in seconds (and at once when Slack says a
    /// user group changed).
    #[serde(default = "default_admins_refresh")]
    pub admins_refresh_seconds: u64,
    /// Actions a person may do to themselves, approved by their own click.
    #[serde(default)]
    pub self_service: Vec<Tool>,
    /// Actions a person may ask for on themselves; an admin approves.
    #[serde(default)]
    pub self_service_with_approval: Vec<Tool>,
    /// Actions whose approver must be a different admin from the requester.
    #[serde(default)]
    pub two_person: Vec<Tool>,
    /// Okta groups (ids, or exact names resolved to ids at start) whose members, and which
    /// themselves, are never changed from chat.
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
    /// The longest time-bound access ("add @ana to Zoom for 8 hours") may last.
    #[serde(default = "default_max_access_hours")]
    pub max_access_hours: u32,
    /// Actions after which the affected person is told by DM, when someone else made the
    /// change. Suspend and deactivate are not in the default: offboarding is often confidential.
    #[serde(default = "default_notify_target")]
    pub notify_target: Vec<Tool>,
    /// Actions that wait for the person to confirm with an Okta Verify push before anyone may
    /// approve them: the requester when they act on themselves, the target when an admin acts
    /// for them. Without a push factor the action needs two admins instead.
    #[serde(default)]
    pub verify_with_push: Vec<Tool>,
    /// How long a push waits for the person's answer (Okta's own expiry is five minutes).
    #[serde(default = "default_push_timeout")]
    pub push_timeout_seconds: u64,
}

/// The actions `init` and the example config verify with a push.
pub const SUGGESTED_VERIFY_WITH_PUSH: [Tool; 3] =
    [Tool::ResetPassword, Tool::ResetFactors, Tool::UnlockUser];

fn default_admins_refresh() -> u64 {
    300
}

/// A group named in `[policy] admins`, whose members are admins while they are in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AdminGroup {
    /// A Slack user group (`S…`), read with `usergroups.users.list`.
    Slack(String),
    /// An Okta group, by exact name (`okta:Name`) or id (`00g…`).
    Okta(String),
}

impl PolicyConfig {
    /// Whether the approver must be a second person, whatever the lists say: configured
    /// two-person actions, and password resets whose link goes to the approver.
    pub fn needs_second_person(&self, tool: Tool) -> bool {
        self.two_person.contains(&tool)
            || (tool == Tool::ResetPassword
                && self.reset_password_delivery == ResetDelivery::DmApprover)
    }
}

impl AdminGroup {
    /// The entry's group, or `None` for a Slack user id (or anything else).
    pub fn parse(entry: &str) -> Option<Self> {
        if let Some(name) = entry.strip_prefix("okta:") {
            return (!name.trim().is_empty()).then(|| Self::Okta(name.trim().to_string()));
        }
        if entry.starts_with("00g")
            && entry.len() >= 15
            && entry.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Some(Self::Okta(entry.to_string()));
        }
        (entry.len() >= 3
            && entry.starts_with('S')
            && entry
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .then(|| Self::Slack(entry.to_string()))
    }

    /// The rule, in words for the audit and `check`.
    pub fn describe(&self) -> String {
        match self {
            Self::Slack(id) => format!("member of the Slack user group {id}"),
            Self::Okta(group) => format!("member of the Okta group {group}"),
        }
    }
}

/// Admins by group membership, as last read: Slack user id → the rule that makes them one.
/// Shared by every clone of the policy, so a refresh is seen everywhere at once.
#[derive(Clone, Debug, Default)]
struct GroupAdmins(std::sync::Arc<std::sync::RwLock<BTreeMap<String, String>>>);

fn default_push_timeout() -> u64 {
    120
}

/// The actions whose target is told by default.
pub fn default_notify_target() -> Vec<Tool> {
    vec![
        Tool::UnlockUser,
        Tool::ResetPassword,
        Tool::ResetFactors,
        Tool::ClearSessions,
        Tool::AddUserToGroup,
        Tool::RemoveUserFromGroup,
    ]
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
fn default_max_access_hours() -> u32 {
    72
}

/// Where a password reset's one-time link goes. Set by policy, never by the model.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
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
    /// Someone from another workspace or organisation, reached through Slack Connect.
    External,
}

/// Someone acting: always identified by the Slack user id on the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub slack_id: String,
    pub kind: PersonKind,
    /// Their Okta user id, when their confirmed Slack email maps to exactly one Okta user.
    pub okta_user_id: Option<String>,
    /// Why there is no Okta user id, in words for the person.
    pub unlinked: Option<String>,
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
    /// The Okta groups the target belongs to.
    pub groups: Vec<GroupRef>,
}

/// The group an action is about (group membership tools).
#[derive(Clone, Debug)]
pub struct GroupFacts {
    pub id: String,
    pub name: String,
    /// Admin roles assigned to the group itself: adding someone grants them.
    pub admin_roles: AdminRoles,
}

/// Everything `authorize` looks at besides the actor.
#[derive(Clone, Debug)]
pub struct ActionFacts<'a> {
    pub tool: Tool,
    pub requester: &'a Actor,
    /// The person acted on; `None` for reads about no one (help docs, group lookups).
    pub target: Option<&'a TargetFacts>,
    /// The group acted on (group membership tools).
    pub group: Option<&'a GroupFacts>,
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

/// About whom a person may ask for a kind of action, decided before anyone is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Any target (IT admins; reads when no policy is configured).
    Anyone,
    /// Only the person asking.
    OnlySelf,
    /// Nobody: the reason says why.
    Nobody(String),
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
    /// `protected_groups` as Okta group ids, once matched against Okta (see
    /// [`Policy::with_protected_group_ids`]). Until then, every change is refused.
    protected_group_ids: Option<Vec<String>>,
    group_admins: GroupAdmins,
}

impl Policy {
    /// No policy configured: only read tools and help docs work.
    pub fn read_only() -> Self {
        Self {
            config: None,
            version: "read-only".into(),
            protected_group_ids: Some(Vec::new()),
            group_admins: GroupAdmins::default(),
        }
    }

    /// Checks a configured policy and fixes its version (a hash of its content, so a proposal made
    /// under an older policy cannot be approved under a newer one).
    pub fn new(config: PolicyConfig) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        for admin in &config.admins {
            if !is_slack_user_id(admin) && AdminGroup::parse(admin).is_none() {
                problems.push(format!(
                    "policy.admins: '{admin}' is not a Slack user id (U0123ABCD: the person's Slack profile, ⋮ → Copy member ID), a Slack user group id (S0123ABCD) or an Okta group (\"okta:Group Name\" or its 00g… id)"
                ));
            }
        }
        if !(10..=86_400).contains(&config.admins_refresh_seconds) {
            problems.push(format!(
                "policy.admins_refresh_seconds: {} is out of range; use 10 to 86400",
                config.admins_refresh_seconds
            ));
        }
        for (key, list) in [
            ("self_service", &config.self_service),
            (
                "self_service_with_approval",
                &config.self_service_with_approval,
            ),
            ("two_person", &config.two_person),
            ("notify_target", &config.notify_target),
            ("verify_with_push", &config.verify_with_push),
        ] {
            for tool in list {
                if tool.risk() == Risk::Read {
                    problems.push(format!(
                        "policy.{key}: {tool} is a read-only tool; list only actions that change Okta"
                    ));
                }
            }
        }
        if config.self_service.contains(&Tool::AddUserToGroup) {
            problems.push("policy.self_service: add_user_to_group cannot be approved by the person being added; put it in self_service_with_approval so an admin approves".into());
        }
        for tool in &config.self_service {
            if config.self_service_with_approval.contains(tool) {
                problems.push(format!(
                    "policy: {tool} is in both self_service and self_service_with_approval; keep one"
                ));
            }
        }
        if !(1..=8_760).contains(&config.max_access_hours) {
            problems.push(format!(
                "policy.max_access_hours: {} is out of range; use 1 to 8760 (a year)",
                config.max_access_hours
            ));
        }
        if !(10..=300).contains(&config.push_timeout_seconds) {
            problems.push(format!(
                "policy.push_timeout_seconds: {} is out of range; use 10 to 300 (Okta stops waiting after five minutes)",
                config.push_timeout_seconds
            ));
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
        let protected_group_ids = config.protected_groups.is_empty().then(Vec::new);
        Ok(Self {
            config: Some(config),
            version,
            protected_group_ids,
            group_admins: GroupAdmins::default(),
        })
    }

    /// The configured protected groups that still need matching to Okta group ids.
    pub fn protected_group_names(&self) -> &[String] {
        self.config
            .as_ref()
            .map_or(&[][..], |c| c.protected_groups.as_slice())
    }

    /// Sets the Okta ids of the protected groups (matched at start by id or exact name).
    pub fn with_protected_group_ids(mut self, ids: Vec<String>) -> Self {
        self.protected_group_ids = Some(ids);
        self
    }

    /// Whether a group (by Okta id) is protected; every group is, until the protected groups
    /// have been matched to ids.
    pub fn is_protected_group_id(&self, id: &str) -> bool {
        self.protected_group_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|g| g == id))
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
            max_access_hours: default_max_access_hours(),
            notify_target: default_notify_target(),
            admins_refresh_seconds: default_admins_refresh(),
            verify_with_push: Vec::new(),
            push_timeout_seconds: default_push_timeout(),
        };
        // The demo policy is a constant that passes every check above.
        Self::new(config).unwrap_or_else(|_| Self::read_only())
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the person an action changed is told of it (`notify_target`).
    pub fn notifies_target(&self, tool: Tool) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.notify_target.contains(&tool))
    }

    /// Whether `tool` waits for an Okta Verify push (`verify_with_push`).
    pub fn verifies_with_push(&self, tool: Tool) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.verify_with_push.contains(&tool))
    }

    /// How long a push waits for its answer, in seconds.
    pub fn push_timeout_secs(&self) -> i64 {
        self.config.as_ref().map_or(120, |c| {
            i64::try_from(c.push_timeout_seconds).unwrap_or(120)
        })
    }

    pub fn config(&self) -> Option<&PolicyConfig> {
        self.config.as_ref()
    }

    pub fn is_configured(&self) -> bool {
        self.config.is_some()
    }

    pub fn is_admin(&self, slack_id: &str) -> bool {
        self.admin_rule(slack_id).is_some()
    }

    /// What makes `slack_id` an admin: listed by id, or a member of a group named in
    /// `admins` (as last read); `None` when nothing does.
    pub fn admin_rule(&self, slack_id: &str) -> Option<String> {
        let config = self.config.as_ref()?;
        if config.admins.iter().any(|a| a == slack_id) {
            return Some("listed in policy.admins".into());
        }
        self.group_admins
            .0
            .read()
            .ok()
            .and_then(|admins| admins.get(slack_id).cloned())
    }

    /// The groups named in `admins`.
    pub fn admin_groups(&self) -> Vec<AdminGroup> {
        self.config
            .as_ref()
            .map(|c| {
                c.admins
                    .iter()
                    .filter_map(|a| AdminGroup::parse(a))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How often the groups in `admins` are re-read.
    pub fn admins_refresh_secs(&self) -> u64 {
        self.config
            .as_ref()
            .map_or(default_admins_refresh(), |c| c.admins_refresh_seconds)
    }

    /// Replaces the admins by group with a fresh reading; returns who was added and who
    /// removed.
    pub fn set_group_admins(&self, fresh: BTreeMap<String, String>) -> (Vec<String>, Vec<String>) {
        let Ok(mut admins) = self.group_admins.0.write() else {
            return (Vec::new(), Vec::new());
        };
        let added = fresh
            .keys()
            .filter(|k| !admins.contains_key(*k))
            .cloned()
            .collect();
        let removed = admins
            .keys()
            .filter(|k| !fresh.contains_key(*k))
            .cloned()
            .collect();
        *admins = fresh;
        (added, removed)
    }

    /// Everyone who is an admin now, with the rule that makes them one.
    pub fn admins_now(&self) -> BTreeMap<String, String> {
        let mut all = self
            .group_admins
            .0
            .read()
            .map(|a| a.clone())
            .unwrap_or_default();
        if let Some(config) = &self.config {
            for id in config.admins.iter().filter(|a| is_slack_user_id(a)) {
                all.insert(id.clone(), "listed in policy.admins".into());
            }
        }
        all
    }

    pub fn approval_ttl_secs(&self) -> i64 {
        self.config
            .as_ref()
            .map_or(default_ttl(), |c| c.approval_ttl_seconds) as i64
    }

    /// The longest time-bound access, in hours.
    pub fn max_access_hours(&self) -> u32 {
        self.config
            .as_ref()
            .map_or(default_max_access_hours(), |c| c.max_access_hours)
    }

    pub fn reset_delivery(&self) -> ResetDelivery {
        self.config
            .as_ref()
            .map_or(ResetDelivery::Email, |c| c.reset_password_delivery)
    }

    /// Whether `actor` may ask for `tool` at all, and about whom: answered before any target or
    /// group is looked up, so a refused person learns nothing about anyone and costs no Okta
    /// call.
    pub fn scope(&self, actor: &Actor, tool: Tool) -> Scope {
        if let Some(refusal) = refuse_non_member(actor) {
            return Scope::Nobody(refusal);
        }
        let admin = self.is_admin(&actor.slack_id);
        if tool.risk() == Risk::Read {
            return match &self.config {
                None => Scope::Anyone,
                Some(_) if tool == Tool::SearchHelpDocs || admin => Scope::Anyone,
                Some(_) if matches!(tool, Tool::FindUser | Tool::FindGroup) => Scope::Nobody(
                    format!("only IT admins may use {tool}; you may ask about yourself"),
                ),
                Some(_) => Scope::OnlySelf,
            };
        }
        let Some(config) = &self.config else {
            return Scope::Nobody(NO_POLICY.into());
        };
        if admin {
            return Scope::Anyone;
        }
        if config.self_service.contains(&tool) || config.self_service_with_approval.contains(&tool)
        {
            return Scope::OnlySelf;
        }
        Scope::Nobody(format!(
            "only IT admins may {} people; {}",
            tool.verb().to_lowercase(),
            self.own_hint(config)
        ))
    }

    fn own_hint(&self, config: &PolicyConfig) -> String {
        let mut own: Vec<&str> = config
            .self_service
            .iter()
            .chain(&config.self_service_with_approval)
            .map(|t| t.name())
            .collect();
        own.sort_unstable();
        if own.is_empty() {
            "ask IT in the triage channel".to_string()
        } else {
            format!("for yourself you may ask for: {}", own.join(", "))
        }
    }

    /// Whether `actor` may ask for `tool` on themselves (so a help answer may offer it).
    pub fn allows_self_service(&self, actor: &Actor, tool: Tool) -> bool {
        if refuse_non_member(actor).is_some() || actor.okta_user_id.is_none() {
            return false;
        }
        self.config.as_ref().is_some_and(|c| {
            self.is_admin(&actor.slack_id)
                || c.self_service.contains(&tool)
                || c.self_service_with_approval.contains(&tool)
        })
    }

    /// The one authorization function.
    pub fn authorize(&self, actor: &Actor, act: Act, facts: &ActionFacts) -> Decision {
        if let Some(refusal) = refuse_non_member(actor) {
            return Decision::Denied(refusal);
        }
        match act {
            Act::Request => self.authorize_request(actor, facts),
            Act::Approve => self.authorize_click(actor, facts, "approve"),
            // Cancelling changes nothing in Okta: the requester or any admin may.
            Act::Cancel => {
                if actor.slack_id == facts.requester.slack_id || self.is_admin(&actor.slack_id) {
                    Decision::Allowed
                } else {
                    Decision::Denied(
                        "only the person who asked for this, or an IT admin, can cancel it".into(),
                    )
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
            return Decision::Denied(NO_POLICY.into());
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
        // Nobody approves their own way into a group, or their own two-person action.
        let second_person = config.needs_second_person(facts.tool)
            || (on_self && facts.tool == Tool::AddUserToGroup);
        if self.is_admin(&actor.slack_id) {
            return if second_person {
                Decision::NeedsApproval(Approvers::AnotherAdmin)
            } else {
                Decision::NeedsApproval(Approvers::AnyAdmin)
            };
        }
        if on_self && config.self_service.contains(&facts.tool) {
            return Decision::NeedsApproval(if second_person {
                Approvers::AnyAdmin
            } else {
                Approvers::RequesterOrAdmin
            });
        }
        if on_self && config.self_service_with_approval.contains(&facts.tool) {
            return Decision::NeedsApproval(Approvers::AnyAdmin);
        }
        let hint = self.own_hint(config);
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
        // The requester is re-checked too: someone deactivated or turned guest since asking no
        // longer has a request anyone can approve.
        if let Some(refusal) = refuse_non_member(facts.requester) {
            return Decision::Denied(format!(
                "the person who asked for this can no longer make requests ({refusal})"
            ));
        }
        if facts.tool == Tool::AddUserToGroup && verb == "approve" {
            match (&actor.okta_user_id, facts.target) {
                (Some(own), Some(target)) if *own == target.okta_user_id => {
                    return Decision::Denied(
                        "nobody may approve adding themselves to a group; another admin must approve it".into(),
                    )
                }
                (None, _) => {
                    return Decision::Denied(format!(
                        "okta-agent cannot tell whether you are the person being added ({}), so another admin must approve it",
                        actor.unlinked.as_deref().unwrap_or("your Slack account is not linked to one Okta user")
                    ))
                }
                _ => {}
            }
        }
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
        let Some(protected_ids) = &self.protected_group_ids else {
            return Some(
                "the policy's protected groups have not been matched to Okta groups, so no change is allowed until okta-agent restarts and can reach Okta".into(),
            );
        };
        if let Some(group) = facts.group {
            if protected_ids.contains(&group.id) {
                return Some(format!(
                    "the group '{}' is protected; its membership is never changed from chat",
                    group.name
                ));
            }
            match &group.admin_roles {
                AdminRoles::None => {}
                AdminRoles::Held(roles) => {
                    return Some(format!(
                        "the group '{}' carries the Okta admin role {}, so joining it makes someone an admin; its membership is never changed from chat",
                        group.name,
                        roles.join(", ")
                    ))
                }
                AdminRoles::Unknown(why) => {
                    return Some(format!(
                        "okta-agent cannot tell whether the group '{}' carries an Okta admin role ({why}), so its membership is not changed from chat; grant the okta.roles.read scope",
                        group.name
                    ))
                }
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
        if let Some(group) = target.groups.iter().find(|g| protected_ids.contains(&g.id)) {
            return Some(format!(
                "{} is in the protected group '{}'; changes to them are never made from chat",
                target.login, group.name
            ));
        }
        match &target.admin_roles {
            AdminRoles::None => None,
            AdminRoles::Held(roles) => Some(format!(
                "{} holds the Okta admin role {}; admins are never changed from chat",
                target.login,
                roles.join(", ")
            )),
            // A reset or a group change on a possible admin is the classic help-desk takeover,
            // so not knowing refuses every change, not only destructive ones.
            AdminRoles::Unknown(why) => Some(format!(
                "okta-agent cannot tell whether {} is an Okta admin ({why}), so no change to them is made from chat; grant the okta.roles.read scope",
                target.login
            )),
        }
    }
}

const NO_POLICY: &str = "no policy is configured, so okta-agent only answers questions and looks things up. An administrator must add a [policy] section naming the admins";

fn refuse_non_member(actor: &Actor) -> Option<String> {
    match actor.kind {
        PersonKind::Member => None,
        PersonKind::Guest => Some("guest accounts cannot request or approve changes".into()),
        PersonKind::Bot => Some("bots cannot request or approve changes".into()),
        PersonKind::Deleted => Some("deactivated Slack accounts cannot act".into()),
        PersonKind::External => Some(
            "people from other organisations (Slack Connect) cannot request or approve changes"
                .into(),
        ),
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
            unlinked: None,
        }
    }

    const ADMINS_GROUP: &str = "00gadmins";

    /// The demo policy with "Okta Administrators" matched to an id, as start-up does.
    fn demo() -> Policy {
        Policy::demo().with_protected_group_ids(vec![ADMINS_GROUP.into()])
    }

    fn target(id: &str, roles: AdminRoles, groups: &[&str]) -> TargetFacts {
        TargetFacts {
            okta_user_id: id.into(),
            login: format!("{id}@example.com"),
            email: Some(format!("{id}@example.com")),
            admin_roles: roles,
            groups: groups
                .iter()
                .map(|g| GroupRef {
                    id: if *g == "Okta Administrators" {
                        ADMINS_GROUP.into()
                    } else {
                        format!("00g{g}")
                    },
                    name: g.to_string(),
                })
                .collect(),
        }
    }

    fn group(id: &str, name: &str, roles: AdminRoles) -> GroupFacts {
        GroupFacts {
            id: id.into(),
            name: name.into(),
            admin_roles: roles,
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
        let policy = demo();
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
        let policy = demo();
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
        // Roles that cannot be read refuse every change, not only destructive ones.
        let unknown = target(
            "y",
            AdminRoles::Unknown("scope okta.roles.read not granted".into()),
            &[],
        );
        for tool in [
            Tool::SuspendUser,
            Tool::UnlockUser,
            Tool::ResetPassword,
            Tool::AddUserToGroup,
        ] {
            assert!(
                matches!(
                    policy.authorize(&leo, Act::Request, &facts(tool, &leo, &unknown)),
                    Decision::Denied(r) if r.contains("okta.roles.read")
                ),
                "{tool}"
            );
        }
        let bob = target("bob", AdminRoles::None, &[]);
        // Protected by id: the configured group, even renamed; a look-alike name is not it.
        let renamed = group(ADMINS_GROUP, "Okta Admins (renamed)", AdminRoles::None);
        let mut into_admins = facts(Tool::AddUserToGroup, &leo, &bob);
        into_admins.group = Some(&renamed);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &into_admins),
            Decision::Denied(r) if r.contains("protected")
        ));
        let look_alike = group("00glookalike", "Okta Administrators", AdminRoles::None);
        into_admins.group = Some(&look_alike);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &into_admins),
            Decision::NeedsApproval(_)
        ));
        // A group carrying an admin role is protected, configured or not; unknown roles too.
        let help_desk = group(
            "00ghelp",
            "IT Help Desk",
            AdminRoles::Held(vec!["HELP_DESK_ADMIN".into()]),
        );
        into_admins.group = Some(&help_desk);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &into_admins),
            Decision::Denied(r) if r.contains("HELP_DESK_ADMIN")
        ));
        let unreadable = group("00gx", "X", AdminRoles::Unknown("no scope".into()));
        into_admins.group = Some(&unreadable);
        assert!(matches!(
            policy.authorize(&leo, Act::Request, &into_admins),
            Decision::Denied(r) if r.contains("okta.roles.read")
        ));
        // Until the protected groups are matched to ids, nothing may change.
        let unmatched = Policy::demo();
        assert!(matches!(
            unmatched.authorize(&leo, Act::Request, &facts(Tool::UnlockUser, &leo, &bob)),
            Decision::Denied(r) if r.contains("not been matched")
        ));
    }

    #[test]
    fn group_adds_and_dm_resets_need_a_second_person() {
        let leo = actor("U0LEO", "00uleo");
        let grace = actor("U0GRACE", "00ugrace");
        let mut no_okta = grace.clone();
        no_okta.okta_user_id = None;
        let policy = demo();
        let zoom = group("00gzoom", "Zoom Users", AdminRoles::None);
        // Leo adding himself: another admin approves.
        let leo_target = target("00uleo", AdminRoles::None, &[]);
        let mut self_add = facts(Tool::AddUserToGroup, &leo, &leo_target);
        self_add.group = Some(&zoom);
        assert_eq!(
            policy.authorize(&leo, Act::Request, &self_add),
            Decision::NeedsApproval(Approvers::AnotherAdmin)
        );
        // Leo adding Grace: Grace may not approve her own way in.
        let grace_target = target("00ugrace", AdminRoles::None, &[]);
        let mut add_grace = facts(Tool::AddUserToGroup, &leo, &grace_target);
        add_grace.group = Some(&zoom);
        assert!(matches!(
            policy.authorize(&grace, Act::Approve, &add_grace),
            Decision::Denied(r) if r.contains("themselves")
        ));
        assert!(matches!(
            policy.authorize(&no_okta, Act::Approve, &add_grace),
            Decision::Denied(r) if r.contains("cannot tell")
        ));
        assert_eq!(
            policy.authorize(&leo, Act::Approve, &add_grace),
            Decision::Allowed
        );
        // A reset whose link goes to the approver needs two people.
        let mut config = policy.config().unwrap().clone();
        config.reset_password_delivery = ResetDelivery::DmApprover;
        config.self_service = vec![Tool::UnlockUser, Tool::ResetPassword];
        config.self_service_with_approval = vec![];
        let dm = Policy::new(config)
            .unwrap()
            .with_protected_group_ids(vec![]);
        let bob_actor = actor("U0BOB", "00ubob");
        let bob = target("00ubob", AdminRoles::None, &[]);
        let dm_config = dm.config().unwrap();
        assert!(dm_config.needs_second_person(Tool::ResetPassword));
        assert!(!dm_config.needs_second_person(Tool::UnlockUser));
        assert!(!policy
            .config()
            .unwrap()
            .needs_second_person(Tool::ResetPassword));
        assert_eq!(
            dm.authorize(&leo, Act::Request, &facts(Tool::ResetPassword, &leo, &bob)),
            Decision::NeedsApproval(Approvers::AnotherAdmin)
        );
        let own_reset = facts(Tool::ResetPassword, &bob_actor, &bob);
        assert_eq!(
            dm.authorize(&bob_actor, Act::Request, &own_reset),
            Decision::NeedsApproval(Approvers::AnyAdmin)
        );
        assert!(matches!(
            dm.authorize(&bob_actor, Act::Approve, &own_reset),
            Decision::Denied(_)
        ));
        // add_user_to_group can never be approved by the person being added.
        let mut bad = Policy::demo().config().unwrap().clone();
        bad.self_service.push(Tool::AddUserToGroup);
        assert!(Policy::new(bad).unwrap_err()[0].contains("add_user_to_group"));
    }

    #[test]
    fn scope_is_decided_before_any_lookup_and_requesters_are_rechecked() {
        let policy = demo();
        let leo = actor("U0LEO", "00uleo");
        let bob = actor("U0BOB", "00ubob");
        let mut stranger = bob.clone();
        stranger.kind = PersonKind::External;
        assert_eq!(policy.scope(&leo, Tool::SuspendUser), Scope::Anyone);
        assert_eq!(policy.scope(&bob, Tool::UnlockUser), Scope::OnlySelf);
        assert_eq!(policy.scope(&bob, Tool::ListUserApps), Scope::OnlySelf);
        assert!(
            matches!(policy.scope(&bob, Tool::SuspendUser), Scope::Nobody(r) if r.contains("only IT admins"))
        );
        assert!(matches!(
            policy.scope(&bob, Tool::FindUser),
            Scope::Nobody(_)
        ));
        assert!(
            matches!(policy.scope(&stranger, Tool::UnlockUser), Scope::Nobody(r) if r.contains("Slack Connect"))
        );
        assert_eq!(policy.scope(&bob, Tool::SearchHelpDocs), Scope::Anyone);
        // A requester deactivated after asking: nobody can approve the request.
        let ana = target("00uana", AdminRoles::None, &[]);
        let mut gone = leo.clone();
        gone.kind = PersonKind::Deleted;
        let grace = actor("U0GRACE", "00ugrace");
        assert!(matches!(
            policy.authorize(&grace, Act::Approve, &facts(Tool::UnlockUser, &gone, &ana)),
            Decision::Denied(r) if r.contains("can no longer make requests")
        ));
        // Cancel: the requester or an admin; never a guest, a bot or another member.
        let bob_target = target("00ubob", AdminRoles::None, &[]);
        let request = facts(Tool::UnlockUser, &bob, &bob_target);
        assert_eq!(
            policy.authorize(&bob, Act::Cancel, &request),
            Decision::Allowed
        );
        assert_eq!(
            policy.authorize(&leo, Act::Cancel, &request),
            Decision::Allowed
        );
        let mut guest = actor("U0GUEST", "00uguest");
        guest.kind = PersonKind::Guest;
        assert!(matches!(
            policy.authorize(&guest, Act::Cancel, &request),
            Decision::Denied(_)
        ));
        let kate = actor("U0KATE", "00ukate");
        assert!(matches!(
            policy.authorize(&kate, Act::Cancel, &request),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn velocity_bots_and_config_checks() {
        let policy = demo();
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
            ..demo().config().unwrap().clone()
        };
        let problems = Policy::new(bad).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("'alice' is not a Slack user id"));
        assert_ne!(Policy::demo().version(), Policy::read_only().version());
    }

    #[test]
    fn notices_follow_notify_target_and_a_read_tool_is_refused_there() {
        let policy = Policy::demo();
        assert!(policy.notifies_target(Tool::UnlockUser));
        assert!(policy.notifies_target(Tool::AddUserToGroup));
        assert!(!policy.notifies_target(Tool::SuspendUser));
        assert!(!policy.notifies_target(Tool::DeactivateUser));
        assert!(!Policy::read_only().notifies_target(Tool::UnlockUser));
        let quiet = PolicyConfig {
            notify_target: vec![],
            ..policy.config().unwrap().clone()
        };
        assert!(!Policy::new(quiet)
            .unwrap()
            .notifies_target(Tool::UnlockUser));
        let bad = PolicyConfig {
            notify_target: vec![Tool::FindUser],
            ..policy.config().unwrap().clone()
        };
        let problems = Policy::new(bad).unwrap_err();
        assert!(
            problems[0].contains("policy.notify_target: find_user is a read-only tool"),
            "{problems:?}"
        );
    }

    #[test]
    fn push_verification_is_named_per_action_and_its_timeout_is_bounded() {
        let demo = Policy::demo();
        assert!(!demo.verifies_with_push(Tool::ResetPassword));
        assert!(!Policy::read_only().verifies_with_push(Tool::UnlockUser));
        assert_eq!(demo.push_timeout_secs(), 120);
        let verifying = PolicyConfig {
            verify_with_push: SUGGESTED_VERIFY_WITH_PUSH.to_vec(),
            push_timeout_seconds: 60,
            ..demo.config().unwrap().clone()
        };
        let policy = Policy::new(verifying.clone()).unwrap();
        for tool in SUGGESTED_VERIFY_WITH_PUSH {
            assert!(policy.verifies_with_push(tool));
        }
        assert!(!policy.verifies_with_push(Tool::SuspendUser));
        assert_eq!(policy.push_timeout_secs(), 60);
        assert_ne!(
            policy.version(),
            demo.version(),
            "verification is part of the policy's version"
        );
        let problems = Policy::new(PolicyConfig {
            verify_with_push: vec![Tool::FindUser],
            push_timeout_seconds: 600,
            ..verifying
        })
        .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("policy.verify_with_push: find_user is a read-only tool")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("policy.push_timeout_seconds: 600 is out of range")),
            "{problems:?}"
        );
    }
}
