//! The Slack directory: `users.info` for a user id, cached with a TTL, mapped to a
//! [`SlackPerson`] whose kind (member, guest, bot, deactivated, external) policy relies on.
//! Only people of the bot's own workspace (or, on Enterprise Grid, its organisation) are
//! members; Slack Connect people and strangers are external. `user_change` events drop a
//! person from the cache, and approvals read people fresh.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use std::sync::Mutex;

use super::web::{SlackError, SlackWeb};
use crate::identity::{Directory, DirectoryError, SlackPerson};
use crate::policy::PersonKind;

pub struct SlackDirectory {
    web: SlackWeb,
    ttl: Duration,
    home: Workspace,
    cache: Mutex<HashMap<String, (Instant, Option<SlackPerson>)>>,
}

/// The bot's own workspace and organisation, from `auth.test`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workspace {
    pub team_id: String,
    /// Set on Enterprise Grid: people of any workspace in the organisation are members.
    pub enterprise_id: Option<String>,
}

impl Workspace {
    /// Whether a person with these ids belongs here.
    fn includes(&self, team_id: Option<&str>, enterprise_id: Option<&str>) -> bool {
        match (&self.enterprise_id, enterprise_id) {
            (Some(home), Some(theirs)) => home == theirs,
            _ => team_id == Some(self.team_id.as_str()),
        }
    }
}

impl SlackDirectory {
    pub fn new(web: SlackWeb, ttl: Duration, home: Workspace) -> Self {
        Self {
            web,
            ttl,
            home,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<SlackPerson>)>> {
        // The map holds plain values; a panic elsewhere cannot leave it half-updated.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn lookup(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        let person = match self.web.user_info(slack_id).await {
            Ok(user) => Some(person_from(&user, &self.home)),
            Err(SlackError::Api { error, .. }) if error == "user_not_found" => None,
            Err(e) => {
                return Err(DirectoryError {
                    id: slack_id.to_string(),
                    unavailable: !matches!(e, SlackError::Api { .. }),
                    reason: e.to_string(),
                })
            }
        };
        self.cache()
            .insert(slack_id.to_string(), (Instant::now(), person.clone()));
        Ok(person)
    }
}

/// A `users.info` user object as okta-agent sees it, relative to the bot's workspace.
pub fn person_from(user: &Value, home: &Workspace) -> SlackPerson {
    let flag = |name: &str| user[name].as_bool().unwrap_or(false);
    let team = user["team_id"].as_str();
    let enterprise = user["enterprise_user"]["enterprise_id"]
        .as_str()
        .or(user["enterprise_id"].as_str());
    let kind = if flag("deleted") {
        PersonKind::Deleted
    } else if flag("is_bot") || user["id"] == "USLACKBOT" {
        PersonKind::Bot
    } else if flag("is_stranger") || !home.includes(team, enterprise) {
        PersonKind::External
    } else if flag("is_restricted") || flag("is_ultra_restricted") {
        PersonKind::Guest
    } else {
        PersonKind::Member
    };
    SlackPerson {
        id: user["id"].as_str().unwrap_or_default().to_string(),
        handle: user["name"].as_str().unwrap_or_default().to_string(),
        email: user["profile"]["email"]
            .as_str()
            .filter(|e| !e.is_empty())
            .map(str::to_string),
        // Slack omits the field for some accounts; only an explicit `false` withholds trust.
        email_confirmed: user["is_email_confirmed"].as_bool() != Some(false),
        kind,
    }
}

#[async_trait]
impl Directory for SlackDirectory {
    async fn person(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        if let Some((at, person)) = self.cache().get(slack_id) {
            if at.elapsed() < self.ttl {
                return Ok(person.clone());
            }
        }
        self.lookup(slack_id).await
    }

    async fn fresh(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        self.lookup(slack_id).await
    }

    fn forget(&self, slack_id: &str) {
        self.cache().remove(slack_id);
    }

    async fn by_email(&self, email: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        match self.web.user_by_email(email).await {
            Ok(user) => Ok(Some(person_from(&user, &self.home))),
            Err(SlackError::Api { error, .. }) if error == "users_not_found" => Ok(None),
            Err(e) => Err(DirectoryError {
                id: email.to_string(),
                unavailable: !matches!(e, SlackError::Api { .. }),
                reason: e.to_string(),
            }),
        }
    }

    async fn usergroup_members(
        &self,
        group_id: &str,
    ) -> Result<Option<Vec<String>>, DirectoryError> {
        self.web
            .usergroup_users(group_id)
            .await
            .map(Some)
            .map_err(|e| DirectoryError {
                id: group_id.to_string(),
                unavailable: !matches!(e, SlackError::Api { .. }),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_slack_flags_and_the_workspace() {
        let home = Workspace {
            team_id: "T1".into(),
            enterprise_id: None,
        };
        let kind = |user: Value| person_from(&user, &home).kind;
        let member = person_from(
            &json!({"id": "U1", "team_id": "T1", "name": "ana", "profile": {"email": "ana@x.com"}}),
            &home,
        );
        assert_eq!(member.kind, PersonKind::Member);
        assert_eq!(member.email.as_deref(), Some("ana@x.com"));
        assert!(member.email_confirmed);
        assert_eq!(
            kind(json!({"id": "U2", "team_id": "T1", "deleted": true})),
            PersonKind::Deleted
        );
        assert_eq!(
            kind(json!({"id": "U3", "team_id": "T1", "is_bot": true})),
            PersonKind::Bot
        );
        assert_eq!(
            kind(json!({"id": "U4", "team_id": "T1", "is_restricted": true})),
            PersonKind::Guest
        );
        assert_eq!(
            kind(json!({"id": "U5", "team_id": "T9"})),
            PersonKind::External
        );
        assert_eq!(
            kind(json!({"id": "U6", "team_id": "T1", "is_stranger": true})),
            PersonKind::External
        );
        assert_eq!(
            kind(json!({"id": "U7"})),
            PersonKind::External,
            "no team id: not ours"
        );
        let unconfirmed = person_from(
            &json!({"id": "U8", "team_id": "T1", "is_email_confirmed": false, "profile": {"email": "x@y.z"}}),
            &home,
        );
        assert!(!unconfirmed.email_confirmed);
        assert_eq!(
            person_from(
                &json!({"id": "U9", "team_id": "T1", "profile": {"email": ""}}),
                &home
            )
            .email,
            None
        );
        // Enterprise Grid: another workspace of the same organisation is home.
        let grid = Workspace {
            team_id: "T1".into(),
            enterprise_id: Some("E1".into()),
        };
        let other_workspace =
            json!({"id": "W1", "team_id": "T2", "enterprise_user": {"enterprise_id": "E1"}});
        assert_eq!(
            person_from(&other_workspace, &grid).kind,
            PersonKind::Member
        );
        let other_org =
            json!({"id": "W2", "team_id": "T3", "enterprise_user": {"enterprise_id": "E2"}});
        assert_eq!(person_from(&other_org, &grid).kind, PersonKind::External);
    }
}
