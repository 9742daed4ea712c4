//! The tools: every action the model (or the command engine) may name. Each tool is declared
//! once, in `catalogue.rs` (name, words, risk, argument struct, scopes, permissions, inverse,
//! status gate, read-back and the Okta call); `declaration.rs` turns the declarations into the
//! [`Tool`] enum and its methods, every one an exhaustive `match`. This module holds what the
//! declarations share: argument structs, subjects, checked calls, and the wire definitions.
//! The files under the top-level `tools/` are exactly [`Tool::wire_definition`]; a test keeps
//! them in step and `okta-agent tools --write tools` rewrites them.

#[macro_use]
mod declaration;
mod catalogue;
mod schema;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalogue::Tool;
pub use declaration::{Answer, Change, Done, Observed};
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

/// Arguments that name one person.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// The person: an Okta login or email (ana@acme.com), an Okta user id (00u…), or a Slack mention such as <@U012AB3CD>. Never a guess.
    pub user: String,
}

/// Arguments that name a person and a group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipArgs {
    /// The person: an Okta login or email (ana@acme.com), an Okta user id (00u…), or a Slack mention such as <@U012AB3CD>. Never a guess.
    pub user: String,
    /// The Okta group's name as the requester wrote it (e.g. "Zoom Users" or "zoom").
    pub group: String,
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

/// An argument struct: the schema the model sees, and what a decoded call is about.
pub trait Arguments: DeserializeOwned + JsonSchema {
    /// The kind of subject every call with these arguments has.
    const KIND: SubjectKind;
    fn into_subject(self) -> Subject;
}

impl Arguments for UserArgs {
    const KIND: SubjectKind = SubjectKind::User;
    fn into_subject(self) -> Subject {
        Subject::User(self.user)
    }
}

impl Arguments for MembershipArgs {
    const KIND: SubjectKind = SubjectKind::Membership;
    fn into_subject(self) -> Subject {
        Subject::Membership {
            user: self.user,
            group: self.group,
        }
    }
}

impl Arguments for FindUserArgs {
    const KIND: SubjectKind = SubjectKind::Query;
    fn into_subject(self) -> Subject {
        Subject::Query(self.query)
    }
}

impl Arguments for FindGroupArgs {
    const KIND: SubjectKind = SubjectKind::Group;
    fn into_subject(self) -> Subject {
        Subject::Group(self.name)
    }
}

impl Arguments for SearchHelpDocsArgs {
    const KIND: SubjectKind = SubjectKind::Query;
    fn into_subject(self) -> Subject {
        Subject::Query(self.query)
    }
}

/// The kinds of [`Subject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    Query,
    User,
    Group,
    Membership,
}

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
    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::Query(_) => SubjectKind::Query,
            Subject::User(_) => SubjectKind::User,
            Subject::Group(_) => SubjectKind::Group,
            Subject::Membership { .. } => SubjectKind::Membership,
        }
    }

    /// The person this call is about, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Subject::User(user) | Subject::Membership { user, .. } => Some(user),
            Subject::Query(_) | Subject::Group(_) => None,
        }
    }

    pub fn group(&self) -> Option<&str> {
        match self {
            Subject::Group(group) | Subject::Membership { group, .. } => Some(group),
            Subject::Query(_) | Subject::User(_) => None,
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
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub fn changes_okta(self) -> bool {
        self.risk() != Risk::Read
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

    fn parse<T: DeserializeOwned>(self, arguments: &str) -> Result<T, CallError> {
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
        if subject.kind() != tool.subject_kind() {
            return Err(CallError::BadArguments {
                tool: tool.name(),
                reason: format!("wrong kind of subject {subject:?}"),
            });
        }
        let subject = match subject {
            Subject::Query(q) => Subject::Query(check("query", q)?),
            Subject::Group(g) => Subject::Group(check("name", g)?),
            Subject::User(user) => Subject::User(check("user", user)?),
            Subject::Membership { user, group } => Subject::Membership {
                user: check("user", user)?,
                group: check("group", group)?,
            },
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

/// Fills a declared text's `{name}` placeholders in one pass, so a value that itself contains
/// a placeholder (a name typed as "{group}") is never filled again. Unknown ones stay as they are.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        rest = &rest[open..];
        let value = values.iter().find_map(|(name, value)| {
            let after = rest
                .strip_prefix('{')?
                .strip_prefix(*name)?
                .strip_prefix('}')?;
            Some((*value, after))
        });
        match value {
            Some((value, after)) => {
                filled.push_str(value);
                rest = after;
            }
            None => {
                filled.push('{');
                rest = &rest[1..];
            }
        }
    }
    filled.push_str(rest);
    filled
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
    fn placeholders_are_filled_once() {
        assert_eq!(
            fill(
                "add {user} to \"{group}\"",
                &[("user", "{group}"), ("group", "Zoom")]
            ),
            "add {group} to \"Zoom\""
        );
        assert_eq!(fill("{other} {user", &[("user", "ana")]), "{other} {user");
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
