//! Typed shapes of the Okta objects okta-agent reads: users, groups, app links, roles, factors.
//!
//! Only the fields the agent uses are typed; unknown fields are ignored so that new Okta
//! releases do not break decoding. Field names follow the recordings under `tests/fixtures/okta`.

use serde::{Deserialize, Serialize};

/// Okta user statuses (`UserStatus` in the Management API spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    Deprovisioned,
    /// A status this build does not know yet; treated as "cannot act safely".
    #[serde(other)]
    Unknown,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Provisioned => "PROVISIONED",
            Self::Active => "ACTIVE",
            Self::Recovery => "RECOVERY",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::LockedOut => "LOCKED_OUT",
            Self::Suspended => "SUSPENDED",
            Self::Deprovisioned => "DEPROVISIONED",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))
            .ok()
            .filter(|s| *s != Self::Unknown)
    }
}

impl std::fmt::Display for UserStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The manager's name, when the profile has one.
    #[serde(default)]
    pub manager: Option<String>,
    /// The manager's id (Okta's `managerId`: often their Okta id or login).
    #[serde(default)]
    pub manager_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub status: UserStatus,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub activated: Option<String>,
    #[serde(default)]
    pub status_changed: Option<String>,
    #[serde(default)]
    pub last_login: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub password_changed: Option<String>,
    #[serde(default)]
    pub transitioning_to_status: Option<String>,
    pub profile: UserProfile,
}

impl User {
    /// "Ana Lopez", falling back to the login when the profile has no name.
    pub fn display_name(&self) -> String {
        if let Some(name) = self
            .profile
            .display_name
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            return name.to_string();
        }
        let full = [
            self.profile.first_name.as_deref(),
            self.profile.last_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        if full.is_empty() {
            self.profile.login.clone()
        } else {
            full
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupType {
    OktaGroup,
    AppGroup,
    BuiltIn,
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupProfile {
    pub name: String,
    /// Real orgs send `null` here although the spec says string.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    #[serde(rename = "type")]
    pub group_type: GroupType,
    pub profile: GroupProfile,
}

impl Group {
    pub fn name(&self) -> &str {
        &self.profile.name
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppLink {
    #[serde(default)]
    pub id: Option<String>,
    pub label: String,
    #[serde(default)]
    pub link_url: Option<String>,
    #[serde(default)]
    pub app_name: Option<String>,
    #[serde(default)]
    pub app_instance_id: Option<String>,
    #[serde(default)]
    pub app_assignment_id: Option<String>,
    #[serde(default)]
    pub hidden: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub role_type: String,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    pub id: String,
    #[serde(default)]
    pub factor_type: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// Where an Okta Verify push stands (`factorResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FactorResult {
    Waiting,
    Success,
    Rejected,
    Timeout,
    /// Anything else Okta may say (`CANCELLED`, `ERROR`…): not a success.
    #[serde(other)]
    Other,
}

/// A push challenge or its transaction, as `verify` and the poll link return it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushTransaction {
    pub factor_result: FactorResult,
    /// When Okta stops waiting for the answer (ISO 8601).
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default, rename = "_links")]
    links: serde_json::Value,
    #[serde(default, rename = "_embedded")]
    embedded: serde_json::Value,
}

impl PushTransaction {
    /// The transaction to poll (`_links.poll.href`), while the push waits.
    pub fn poll_link(&self) -> Option<&str> {
        self.links["poll"]["href"].as_str()
    }

    /// With number matching, the number the person must tap.
    pub fn correct_answer(&self) -> Option<u64> {
        self.embedded["challenge"]["correctAnswer"].as_u64()
    }
}

/// What a reset-password call gave back. The URL exists only with `sendEmail=false` and is a
/// secret: it lets whoever holds it set the user's password.
#[derive(Debug)]
pub enum PasswordReset {
    /// Okta emailed the user.
    Emailed,
    /// The one-time reset link, for the approver only.
    Link(crate::secret::Secret<String>),
}

/// The result of activate-or-reactivate, chosen by the user's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reactivation {
    /// DEPROVISIONED → `lifecycle/activate`.
    Activated,
    /// PROVISIONED or RECOVERY → `lifecycle/reactivate` (a new activation email).
    ActivationResent,
}

/// A System Log event (`LogEvent`), as far as okta-agent reads it: lockouts and their source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub uuid: String,
    /// When it happened (ISO 8601).
    pub published: String,
    pub event_type: String,
    #[serde(default)]
    pub client: Option<LogClient>,
    #[serde(default)]
    pub target: Vec<LogTarget>,
}

/// Where an event came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogClient {
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub geographical_context: Option<LogGeography>,
}

/// The client's location, as Okta guesses it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGeography {
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
}

/// What an event was about: for a lockout, the user (`type: "User"`, `alternateId` the login).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTarget {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub alternate_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_decodes_instead_of_failing() {
        let s: UserStatus = serde_json::from_str("\"ACTIVATING\"").unwrap();
        assert_eq!(s, UserStatus::Unknown);
        assert_eq!(UserStatus::parse("locked_out"), Some(UserStatus::LockedOut));
        assert_eq!(UserStatus::parse("nope"), None);
    }

    #[test]
    fn group_with_null_description_decodes() {
        let g: Group = serde_json::from_str(
            r#"{"id":"00g1","type":"OKTA_GROUP","profile":{"name":"Zoom","description":null}}"#,
        )
        .unwrap();
        assert_eq!(g.name(), "Zoom");
        assert_eq!(g.profile.description, None);
    }
}
