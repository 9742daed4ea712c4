//! The tool catalogue: every action the model (or the rules planner) may name, with one args
//! struct per tool, its risk class, and the OpenAI strict-mode schema sent to the model. The
//! files under the top-level `tools/` are exactly [`Tool::wire_definition`]; a test keeps them in
//! step and `okta-agent tools --write tools` rewrites them.

mod schema;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use schema::strict_schema;

/// How much harm a tool can do. Reads run inside the agent loop; writes and destructive actions
/// only ever become proposals that a person approves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Read,
    Write,
    Destructive,
}

/// Every tool, by its wire name (the same name in `tools/`, the policy file and the audit log).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    FindUser,
    DiagnoseUser,
    ListUserApps,
    ListUserGroups,
    FindGroup,
    SearchHelpDocs,
    ResetPassword,
    UnlockUser,
    SuspendUser,
    UnsuspendUser,
    DeactivateUser,
    ReactivateUser,
    AddUserToGroup,
    RemoveUserFromGroup,
    ResetFactors,
    ClearSessions,
    ExpirePassword,
}

macro_rules! user_args {
    ($name:ident) => {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The person: an Okta login or email (ana@acme.com), an Okta user id (00u…), or a Slack mention such as <@U012AB3CD>. Never a guess.
            pub user: String,
        }
    };
}

macro_rules! membership_args {
    ($name:ident) => {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The person: an Okta login or email (ana@acme.com), an Okta user id (00u…), or a Slack mention such as <@U012AB3CD>. Never a guess.
            pub user: String,
            /// The Okta group's name as the requester wrote it (e.g. "Zoom Users" or "zoom").
            pub group: String,
        }
    };
}

/// `find_user` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindUserArgs {
    /// A name, email or login to search for.
    pub query: String,
}

/// `find_group` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindGroupArgs {
    /// The group's name or the start of it.
    pub name: String,
}

/// `search_help_docs` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchHelpDocsArgs {
    /// The question, in the asker's words.
    pub query: String,
}

user_args!(DiagnoseUserArgs);
user_args!(ListUserAppsArgs);
user_args!(ListUserGroupsArgs);
user_args!(ResetPasswordArgs);
user_args!(UnlockUserArgs);
user_args!(SuspendUserArgs);
user_args!(UnsuspendUserArgs);
user_args!(DeactivateUserArgs);
user_args!(ReactivateUserArgs);
user_args!(ResetFactorsArgs);
user_args!(ClearSessionsArgs);
user_args!(ExpirePasswordArgs);
membership_args!(AddUserToGroupArgs);
membership_args!(RemoveUserFromGroupArgs);

/// What a call is about, after its arguments were decoded and checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Query(String),
    User(String),
    Group(String),
    Membership { user: String, group: String },
}

impl Subject {
    /// The person this call is about, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Subject::User(user) | Subject::Membership { user, .. } => Some(user),
            _ => None,
        }
    }

    pub fn group(&self) -> Option<&str> {
        match self {
            Subject::Group(group) | Subject::Membership { group, .. } => Some(group),
            _ => None,
        }
    }
}

/// A decoded tool call: which tool, about what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub tool: Tool,
    pub subject: Subject,
}

/// Why a tool call from the model could not be used. The text goes back to the model once.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    #[error("there is no tool named '{0}'; use one of the tools listed")]
    UnknownTool(String),
    #[error("the arguments for {tool} are not valid: {reason}")]
    BadArguments { tool: &'static str, reason: String },
}

/// The longest name, login or query accepted from a model or a message.
const MAX_ARG_CHARS: usize = 200;

impl Tool {
    pub const ALL: [Tool; 17] = [
        Tool::FindUser,
        Tool::DiagnoseUser,
        Tool::ListUserApps,
        Tool::ListUserGroups,
        Tool::FindGroup,
        Tool::SearchHelpDocs,
        Tool::ResetPassword,
        Tool::UnlockUser,
        Tool::SuspendUser,
        Tool::UnsuspendUser,
        Tool::DeactivateUser,
        Tool::ReactivateUser,
        Tool::AddUserToGroup,
        Tool::RemoveUserFromGroup,
        Tool::ResetFactors,
        Tool::ClearSessions,
        Tool::ExpirePassword,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::FindUser => "find_user",
            Tool::DiagnoseUser => "diagnose_user",
            Tool::ListUserApps => "list_user_apps",
            Tool::ListUserGroups => "list_user_groups",
            Tool::FindGroup => "find_group",
            Tool::SearchHelpDocs => "search_help_docs",
            Tool::ResetPassword => "reset_password",
            Tool::UnlockUser => "unlock_user",
            Tool::SuspendUser => "suspend_user",
            Tool::UnsuspendUser => "unsuspend_user",
            Tool::DeactivateUser => "deactivate_user",
            Tool::ReactivateUser => "reactivate_user",
            Tool::AddUserToGroup => "add_user_to_group",
            Tool::RemoveUserFromGroup => "remove_user_from_group",
            Tool::ResetFactors => "reset_factors",
            Tool::ClearSessions => "clear_sessions",
            Tool::ExpirePassword => "expire_password",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub fn risk(self) -> Risk {
        match self {
            Tool::FindUser
            | Tool::DiagnoseUser
            | Tool::ListUserApps
            | Tool::ListUserGroups
            | Tool::FindGroup
            | Tool::SearchHelpDocs => Risk::Read,
            Tool::ResetPassword
            | Tool::UnlockUser
            | Tool::UnsuspendUser
            | Tool::ReactivateUser
            | Tool::AddUserToGroup
            | Tool::ClearSessions
            | Tool::ExpirePassword => Risk::Write,
            Tool::SuspendUser
            | Tool::DeactivateUser
            | Tool::RemoveUserFromGroup
            | Tool::ResetFactors => Risk::Destructive,
        }
    }

    pub fn changes_okta(self) -> bool {
        self.risk() != Risk::Read
    }

    /// The OAuth scopes the service app needs for this tool: its own call, plus what every
    /// change reads first (the person, their groups, and their admin roles for protection).
    pub fn scopes(self) -> &'static [&'static str] {
        const CHANGE_USER: &[&str] = &[
            "okta.users.manage",
            "okta.users.read",
            "okta.groups.read",
            "okta.roles.read",
        ];
        const CHANGE_MEMBERSHIP: &[&str] = &[
            "okta.groups.manage",
            "okta.users.read",
            "okta.groups.read",
            "okta.roles.read",
        ];
        match self {
            Tool::FindUser | Tool::DiagnoseUser | Tool::ListUserApps => &["okta.users.read"],
            Tool::ListUserGroups => &["okta.users.read", "okta.groups.read"],
            Tool::FindGroup => &["okta.groups.read"],
            Tool::SearchHelpDocs => &[],
            Tool::ResetPassword
            | Tool::UnlockUser
            | Tool::SuspendUser
            | Tool::UnsuspendUser
            | Tool::DeactivateUser
            | Tool::ReactivateUser
            | Tool::ResetFactors
            | Tool::ClearSessions
            | Tool::ExpirePassword => CHANGE_USER,
            Tool::AddUserToGroup | Tool::RemoveUserFromGroup => CHANGE_MEMBERSHIP,
        }
    }

    /// The permissions a custom Okta admin role needs for this tool (Okta's permission
    /// catalog), on top of [`BASE_PERMISSIONS`] which every install needs.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Tool::FindUser
            | Tool::DiagnoseUser
            | Tool::ListUserApps
            | Tool::ListUserGroups
            | Tool::FindGroup
            | Tool::SearchHelpDocs => &[],
            Tool::ResetPassword => &["okta.users.credentials.resetPassword"],
            Tool::UnlockUser => &["okta.users.lifecycle.unlock"],
            Tool::SuspendUser => &["okta.users.lifecycle.suspend"],
            Tool::UnsuspendUser => &["okta.users.lifecycle.unsuspend"],
            Tool::DeactivateUser => &["okta.users.lifecycle.deactivate"],
            Tool::ReactivateUser => &["okta.users.lifecycle.activate"],
            Tool::ResetFactors => &["okta.users.credentials.resetFactors"],
            Tool::ClearSessions => &["okta.users.lifecycle.clearSessions"],
            Tool::ExpirePassword => &["okta.users.credentials.expirePassword"],
            Tool::AddUserToGroup | Tool::RemoveUserFromGroup => &[
                "okta.groups.members.manage",
                "okta.users.groupMembership.manage",
            ],
        }
    }
}

/// Admin-role permissions every install needs: reading people and groups, and reading admin
/// role assignments, without which every change to a person is refused (protection fails
/// closed).
pub const BASE_PERMISSIONS: &[&str] = &["okta.users.read", "okta.groups.read", "okta.iam.read"];

/// The custom admin role for `tools`: [`BASE_PERMISSIONS`] and each tool's own, in order,
/// without repeats.
pub fn role_permissions(tools: &[Tool]) -> Vec<&'static str> {
    let mut permissions: Vec<&'static str> = BASE_PERMISSIONS.to_vec();
    for tool in tools {
        for permission in tool.permissions() {
            if !permissions.contains(permission) {
                permissions.push(permission);
            }
        }
    }
    permissions
}

impl Tool {
    /// What the model reads about the tool.
    pub fn description(self) -> &'static str {
        match self {
            Tool::FindUser => "Search Okta users by name, email or login. Read-only.",
            Tool::DiagnoseUser => "Explain why a person may not be able to sign in: status, locked out or not, last login, password changed. Read-only.",
            Tool::ListUserApps => "List the apps assigned to a person. Read-only.",
            Tool::ListUserGroups => "List the Okta groups a person belongs to. Read-only.",
            Tool::FindGroup => "Find an Okta group by name. Read-only.",
            Tool::SearchHelpDocs => "Search the IT help documents for an answer to a question. Read-only.",
            Tool::ResetPassword => "Propose a password reset. Okta emails the person a reset link unless policy says otherwise. Needs approval.",
            Tool::UnlockUser => "Propose unlocking a locked-out account. Needs approval.",
            Tool::SuspendUser => "Propose suspending an account: the person cannot sign in until unsuspended. Needs approval.",
            Tool::UnsuspendUser => "Propose unsuspending a suspended account. Needs approval.",
            Tool::DeactivateUser => "Propose deactivating an account (offboarding). Destructive. Needs approval.",
            Tool::ReactivateUser => "Propose reactivating a deactivated account. Needs approval.",
            Tool::AddUserToGroup => "Propose adding a person to an Okta group. Needs approval.",
            Tool::RemoveUserFromGroup => "Propose removing a person from an Okta group. Needs approval.",
            Tool::ResetFactors => "Propose resetting all of a person's MFA factors so they enrol again. Needs approval.",
            Tool::ClearSessions => "Propose signing a person out of all Okta sessions. Needs approval.",
            Tool::ExpirePassword => "Propose expiring a person's password so they must change it at next sign-in. Needs approval.",
        }
    }

    /// A short verb phrase for cards and replies ("unlock", "add to group").
    pub fn verb(self) -> &'static str {
        match self {
            Tool::FindUser => "find user",
            Tool::DiagnoseUser => "diagnose sign-in",
            Tool::ListUserApps => "list apps",
            Tool::ListUserGroups => "list groups",
            Tool::FindGroup => "find group",
            Tool::SearchHelpDocs => "search help docs",
            Tool::ResetPassword => "Reset password",
            Tool::UnlockUser => "Unlock",
            Tool::SuspendUser => "Suspend",
            Tool::UnsuspendUser => "Unsuspend",
            Tool::DeactivateUser => "Deactivate",
            Tool::ReactivateUser => "Reactivate",
            Tool::AddUserToGroup => "Add to group",
            Tool::RemoveUserFromGroup => "Remove from group",
            Tool::ResetFactors => "Reset MFA factors",
            Tool::ClearSessions => "Clear sessions",
            Tool::ExpirePassword => "Expire password",
        }
    }

    /// The action that cleanly undoes this one, where there is one.
    pub fn inverse(self) -> Option<Tool> {
        match self {
            Tool::SuspendUser => Some(Tool::UnsuspendUser),
            Tool::UnsuspendUser => Some(Tool::SuspendUser),
            Tool::AddUserToGroup => Some(Tool::RemoveUserFromGroup),
            Tool::RemoveUserFromGroup => Some(Tool::AddUserToGroup),
            _ => None,
        }
    }

    /// The Okta scope the tool's own calls need.
    pub fn scope(self) -> &'static str {
        match self {
            Tool::FindUser | Tool::DiagnoseUser | Tool::ListUserGroups => "okta.users.read",
            Tool::ListUserApps => "okta.apps.read",
            Tool::FindGroup => "okta.groups.read",
            Tool::SearchHelpDocs => "",
            Tool::AddUserToGroup | Tool::RemoveUserFromGroup => "okta.groups.manage",
            _ => "okta.users.manage",
        }
    }

    /// The strict JSON schema of the tool's arguments.
    pub fn parameters(self) -> Value {
        match self {
            Tool::FindUser => strict_schema::<FindUserArgs>(),
            Tool::DiagnoseUser => strict_schema::<DiagnoseUserArgs>(),
            Tool::ListUserApps => strict_schema::<ListUserAppsArgs>(),
            Tool::ListUserGroups => strict_schema::<ListUserGroupsArgs>(),
            Tool::FindGroup => strict_schema::<FindGroupArgs>(),
            Tool::SearchHelpDocs => strict_schema::<SearchHelpDocsArgs>(),
            Tool::ResetPassword => strict_schema::<ResetPasswordArgs>(),
            Tool::UnlockUser => strict_schema::<UnlockUserArgs>(),
            Tool::SuspendUser => strict_schema::<SuspendUserArgs>(),
            Tool::UnsuspendUser => strict_schema::<UnsuspendUserArgs>(),
            Tool::DeactivateUser => strict_schema::<DeactivateUserArgs>(),
            Tool::ReactivateUser => strict_schema::<ReactivateUserArgs>(),
            Tool::AddUserToGroup => strict_schema::<AddUserToGroupArgs>(),
            Tool::RemoveUserFromGroup => strict_schema::<RemoveUserFromGroupArgs>(),
            Tool::ResetFactors => strict_schema::<ResetFactorsArgs>(),
            Tool::ClearSessions => strict_schema::<ClearSessionsArgs>(),
            Tool::ExpirePassword => strict_schema::<ExpirePasswordArgs>(),
        }
    }

    /// Exactly what is sent to the model for this tool, and what `tools/<name>.json` holds.
    pub fn wire_definition(self) -> Value {
        serde_json::json!({
            "type": "function",
            "function": {
                "name": self.name(),
                "description": self.description(),
                "parameters": self.parameters(),
                "strict": true,
            }
        })
    }

    /// Decodes and checks a call's JSON arguments. The schema is only a hint to the model, so
    /// everything is checked again here.
    pub fn decode(self, arguments: &str) -> Result<Call, CallError> {
        let subject = match self {
            Tool::FindUser => Subject::Query(self.parse::<FindUserArgs>(arguments)?.query),
            Tool::SearchHelpDocs => {
                Subject::Query(self.parse::<SearchHelpDocsArgs>(arguments)?.query)
            }
            Tool::FindGroup => Subject::Group(self.parse::<FindGroupArgs>(arguments)?.name),
            Tool::AddUserToGroup => {
                let args = self.parse::<AddUserToGroupArgs>(arguments)?;
                Subject::Membership {
                    user: args.user,
                    group: args.group,
                }
            }
            Tool::RemoveUserFromGroup => {
                let args = self.parse::<RemoveUserFromGroupArgs>(arguments)?;
                Subject::Membership {
                    user: args.user,
                    group: args.group,
                }
            }
            // Every other tool takes exactly one person; their structs share that shape.
            _ => Subject::User(self.parse::<UnlockUserArgs>(arguments)?.user),
        };
        Call::new(self, subject)
    }

    fn parse<T: serde::de::DeserializeOwned>(self, arguments: &str) -> Result<T, CallError> {
        serde_json::from_str(arguments).map_err(|e| CallError::BadArguments {
            tool: self.name(),
            reason: e.to_string(),
        })
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Call {
    /// Builds a call, trimming and checking every text argument.
    pub fn new(tool: Tool, subject: Subject) -> Result<Call, CallError> {
        let check = |field: &str, value: String| -> Result<String, CallError> {
            let value = value.trim().to_string();
            let bad = |reason: String| CallError::BadArguments {
                tool: tool.name(),
                reason,
            };
            if value.is_empty() {
                return Err(bad(format!("'{field}' is empty")));
            }
            if value.chars().count() > MAX_ARG_CHARS {
                return Err(bad(format!(
                    "'{field}' is longer than {MAX_ARG_CHARS} characters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(bad(format!("'{field}' contains control characters")));
            }
            Ok(value)
        };
        let subject = match (tool, subject) {
            (Tool::FindUser | Tool::SearchHelpDocs, Subject::Query(q)) => {
                Subject::Query(check("query", q)?)
            }
            (Tool::FindGroup, Subject::Group(g)) => Subject::Group(check("name", g)?),
            (
                Tool::AddUserToGroup | Tool::RemoveUserFromGroup,
                Subject::Membership { user, group },
            ) => Subject::Membership {
                user: check("user", user)?,
                group: check("group", group)?,
            },
            (
                Tool::FindUser
                | Tool::SearchHelpDocs
                | Tool::FindGroup
                | Tool::AddUserToGroup
                | Tool::RemoveUserFromGroup,
                other,
            ) => {
                return Err(CallError::BadArguments {
                    tool: tool.name(),
                    reason: format!("wrong kind of subject {other:?}"),
                })
            }
            (_, Subject::User(user)) => Subject::User(check("user", user)?),
            (_, other) => {
                return Err(CallError::BadArguments {
                    tool: tool.name(),
                    reason: format!("wrong kind of subject {other:?}"),
                })
            }
        };
        Ok(Call { tool, subject })
    }

    /// The call's arguments as the model would send them (used in audit records and history).
    pub fn arguments(&self) -> Value {
        match &self.subject {
            Subject::Query(q) => serde_json::json!({ "query": q }),
            Subject::Group(g) => serde_json::json!({ "name": g }),
            Subject::User(u) => serde_json::json!({ "user": u }),
            Subject::Membership { user, group } => {
                serde_json::json!({ "user": user, "group": group })
            }
        }
    }
}

/// Writes `tools/<name>.json` for every tool into `dir`; returns the files written.
pub fn write_definitions(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for tool in Tool::ALL {
        let path = dir.join(format!("{}.json", tool.name()));
        let mut text =
            serde_json::to_string_pretty(&tool.wire_definition()).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
            let json = serde_json::to_value(tool).unwrap();
            assert_eq!(json, tool.name());
        }
        assert_eq!(Tool::from_name("drop_tables"), None);
    }

    #[test]
    fn arguments_are_checked_again() {
        assert!(Tool::UnlockUser
            .decode(r#"{"user":"bob@example.com"}"#)
            .is_ok());
        for bad in [
            r#"{"user":""}"#,
            r#"{"user":"   "}"#,
            r#"{"login":"bob"}"#,
            r#"{"user":"bob","extra":1}"#,
            r#"{"user":42}"#,
            "not json",
            r#"{"user":"a\u0007b"}"#,
        ] {
            let err = Tool::UnlockUser.decode(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    CallError::BadArguments {
                        tool: "unlock_user",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        let long = format!(r#"{{"user":"{}"}}"#, "a".repeat(201));
        assert!(Tool::SuspendUser.decode(&long).is_err());
        let call = Tool::AddUserToGroup
            .decode(r#"{"user":" ana ","group":"Zoom"}"#)
            .unwrap();
        assert_eq!(
            call.subject,
            Subject::Membership {
                user: "ana".into(),
                group: "Zoom".into()
            }
        );
    }

    #[test]
    fn every_tool_has_a_strict_object_schema() {
        for tool in Tool::ALL {
            let schema = tool.parameters();
            assert_eq!(schema["type"], "object", "{tool}");
            assert_eq!(schema["additionalProperties"], false, "{tool}");
            assert!(!schema.to_string().contains("$ref"), "{tool}");
            assert!(!schema.to_string().contains("$schema"), "{tool}");
        }
    }
}
