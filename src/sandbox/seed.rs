//! The simulator's seed file (TOML): users, groups, apps, memberships, admin roles and the
//! registered service app. The built-in demo org is `demo_org.toml` next to this file.

use serde::Deserialize;

use crate::okta::UserStatus;

/// The built-in demo org used by `sandbox` without `--seed` and by `chat` without `OKTA_ORG_URL`.
pub const DEMO_ORG: &str = include_str!("demo_org.toml");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file: {0}")]
    Parse(String),
    #[error("seed file: {0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub apps: Vec<SeedApp>,
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub client: Option<SeedClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApp {
    /// Okta's app name, e.g. `zoomus`.
    pub name: String,
    pub label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `OKTA_GROUP` (default), `APP_GROUP` or `BUILT_IN`.
    #[serde(default = "default_group_type", rename = "type")]
    pub group_type: String,
    /// Apps assigned to every member.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Admin role types assigned to the group; every member holds them too.
    #[serde(default)]
    pub roles: Vec<String>,
}

fn default_group_type() -> String {
    "OKTA_GROUP".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    #[serde(default = "default_status")]
    pub status: String,
    /// Set when the password has expired; unlock and unsuspend return such users to PASSWORD_EXPIRED.
    #[serde(default)]
    pub password_expired: bool,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Apps assigned directly.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Admin role types, e.g. `SUPER_ADMIN`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Enrolled factor types, e.g. `push`, `token:software:totp`.
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub last_login: Option<String>,
    #[serde(default)]
    pub password_changed: Option<String>,
    /// `profile.managerId`: the manager's login here.
    #[serde(default)]
    pub manager_id: Option<String>,
}

fn default_status() -> String {
    "ACTIVE".into()
}

/// The service app registered with the simulator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub dpop_required: bool,
    /// The custom admin role's permissions; absent: a role that covers everything.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// Public keys (JWKs) accepted for client assertions.
    #[serde(default)]
    pub jwks: Vec<serde_json::Value>,
}

impl Seed {
    pub fn parse(text: &str) -> Result<Self, SeedError> {
        let seed: Seed = toml::from_str(text).map_err(|e| SeedError::Parse(e.to_string()))?;
        seed.validate()?;
        Ok(seed)
    }

    pub fn demo() -> Result<Self, SeedError> {
        Self::parse(DEMO_ORG)
    }

    fn validate(&self) -> Result<(), SeedError> {
        let mut logins = std::collections::HashSet::new();
        for user in &self.users {
            if !logins.insert(user.login.to_ascii_lowercase()) {
                return Err(SeedError::Invalid(format!(
                    "user '{}' appears twice",
                    user.login
                )));
            }
            if UserStatus::parse(&user.status).is_none() {
                return Err(SeedError::Invalid(format!(
                    "user '{}' has unknown status '{}'",
                    user.login, user.status
                )));
            }
            for group in &user.groups {
                if !self.groups.iter().any(|g| &g.name == group) {
                    return Err(SeedError::Invalid(format!(
                        "user '{}' is in group '{group}', which is not declared under [[groups]]",
                        user.login
                    )));
                }
            }
            for app in &user.apps {
                self.check_app(app, &user.login)?;
            }
        }
        for group in &self.groups {
            if !matches!(
                group.group_type.as_str(),
                "OKTA_GROUP" | "APP_GROUP" | "BUILT_IN"
            ) {
                return Err(SeedError::Invalid(format!(
                    "group '{}' has type '{}'; use OKTA_GROUP, APP_GROUP or BUILT_IN",
                    group.name, group.group_type
                )));
            }
            for app in &group.apps {
                self.check_app(app, &group.name)?;
            }
        }
        Ok(())
    }

    fn check_app(&self, app: &str, owner: &str) -> Result<(), SeedError> {
        if self.apps.iter().any(|a| a.name == app) {
            Ok(())
        } else {
            Err(SeedError::Invalid(format!(
                "'{owner}' is assigned app '{app}', which is not declared under [[apps]]"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_org_covers_every_interesting_status() {
        let seed = Seed::demo().unwrap();
        assert!(seed.users.len() >= 12);
        for status in [
            "ACTIVE",
            "LOCKED_OUT",
            "SUSPENDED",
            "DEPROVISIONED",
            "PASSWORD_EXPIRED",
            "PROVISIONED",
            "STAGED",
            "RECOVERY",
        ] {
            assert!(
                seed.users.iter().any(|u| u.status == status),
                "no {status} user"
            );
        }
        assert!(seed
            .users
            .iter()
            .any(|u| u.roles.iter().any(|r| r == "SUPER_ADMIN")));
        assert!(seed.groups.iter().any(|g| g.group_type == "APP_GROUP"));
    }

    #[test]
    fn undeclared_group_is_named() {
        let err =
            Seed::parse("[[users]]\nlogin='a@x'\nfirst_name='A'\nlast_name='B'\ngroups=['Nope']\n")
                .unwrap_err();
        assert!(err.to_string().contains("'Nope'"));
    }
}
