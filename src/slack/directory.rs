//! The Slack directory: `users.info` for a user id, cached with a TTL, mapped to a
//! [`SlackPerson`] whose kind (member, guest, bot, deactivated) policy relies on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Mutex;

use super::web::{SlackError, SlackWeb};
use crate::identity::{Directory, DirectoryError, SlackPerson};
use crate::policy::PersonKind;

pub struct SlackDirectory {
    web: SlackWeb,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Option<SlackPerson>)>>,
}

impl SlackDirectory {
    pub fn new(web: SlackWeb, ttl: Duration) -> Self {
        Self {
            web,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// A `users.info` user object as okta-agent sees it.
pub fn person_from(user: &Value) -> SlackPerson {
    let flag = |name: &str| user[name].as_bool().unwrap_or(false);
    let kind = if flag("deleted") {
        PersonKind::Deleted
    } else if flag("is_bot") || user["id"] == "USLACKBOT" {
        PersonKind::Bot
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
        kind,
    }
}

#[async_trait]
impl Directory for SlackDirectory {
    async fn person(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        if let Some((at, person)) = self.cache.lock().await.get(slack_id) {
            if at.elapsed() < self.ttl {
                return Ok(person.clone());
            }
        }
        let person = match self.web.user_info(slack_id).await {
            Ok(user) => Some(person_from(&user)),
            Err(SlackError::Api { error, .. }) if error == "user_not_found" => None,
            Err(e) => {
                return Err(DirectoryError {
                    id: slack_id.to_string(),
                    reason: e.to_string(),
                })
            }
        };
        self.cache
            .lock()
            .await
            .insert(slack_id.to_string(), (Instant::now(), person.clone()));
        Ok(person)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_slack_flags() {
        let member =
            person_from(&json!({"id": "U1", "name": "ana", "profile": {"email": "ana@x.com"}}));
        assert_eq!(member.kind, PersonKind::Member);
        assert_eq!(member.email.as_deref(), Some("ana@x.com"));
        assert_eq!(
            person_from(&json!({"id": "U2", "deleted": true})).kind,
            PersonKind::Deleted
        );
        assert_eq!(
            person_from(&json!({"id": "U3", "is_bot": true})).kind,
            PersonKind::Bot
        );
        assert_eq!(
            person_from(&json!({"id": "U4", "is_restricted": true})).kind,
            PersonKind::Guest
        );
        assert_eq!(
            person_from(&json!({"id": "U5", "profile": {"email": ""}})).email,
            None
        );
    }
}
