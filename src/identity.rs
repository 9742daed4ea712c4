//! Who is who: Slack people (from a [`Directory`]) mapped to Okta users, and the targets a
//! request names resolved to exactly one Okta user or group, or to a question. Identity always
//! comes from the Slack user id on the event. The mapping trusts a Slack email only when Slack
//! says it is confirmed, and only when exactly one Okta user has it as login or email; two
//! matches are refused, never picked from. Nothing here guesses.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::approvals::GroupRef;
use crate::okta::{Group, OktaClient, OktaError, User};
use crate::policy::{Actor, AdminRoles, GroupFacts, PersonKind, TargetFacts};

/// A Slack account, as `users.info` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackPerson {
    pub id: String,
    /// The handle people type after `@` (used by the terminal chat to write mentions).
    pub handle: String,
    pub email: Option<String>,
    /// Slack's `is_email_confirmed`; `true` where Slack does not say.
    pub email_confirmed: bool,
    pub kind: PersonKind,
}

#[derive(Debug, thiserror::Error)]
#[error("could not look up Slack user {id}: {reason}")]
pub struct DirectoryError {
    pub id: String,
    pub reason: String,
    /// Slack did not answer (unreachable, rate-limited past every retry, unreadable), as
    /// opposed to answering with an error: the first may be said to the person as it is.
    pub unavailable: bool,
}

/// Looks up Slack people by user id (Slack's `users.info` in production).
#[async_trait]
pub trait Directory: Send + Sync {
    /// The person, possibly from a cache.
    async fn person(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError>;

    /// The person as Slack says now, bypassing any cache: used for approvals, so a person
    /// deactivated a moment ago cannot approve.
    async fn fresh(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        self.person(slack_id).await
    }

    /// Drops what is cached about a person (Slack sent `user_change`).
    fn forget(&self, _slack_id: &str) {}

    /// The workspace's person with this email (Slack's `users.lookupByEmail`), if any.
    async fn by_email(&self, email: &str) -> Result<Option<SlackPerson>, DirectoryError>;

    /// The members of a Slack user group (`usergroups.users.list`); `None` where there is no
    /// Slack to ask (the terminal's demo workspace).
    async fn usergroup_members(
        &self,
        _group_id: &str,
    ) -> Result<Option<Vec<String>>, DirectoryError> {
        Ok(None)
    }
}

/// A fixed directory: the demo org's Slack workspace, and tests.
#[derive(Clone, Debug, Default)]
pub struct StaticDirectory {
    people: HashMap<String, SlackPerson>,
}

impl StaticDirectory {
    pub fn new(people: impl IntoIterator<Item = SlackPerson>) -> Self {
        Self {
            people: people.into_iter().map(|p| (p.id.clone(), p)).collect(),
        }
    }

    /// The demo workspace that goes with the built-in demo org: one Slack member per demo Okta
    /// user, plus a bot and a guest.
    pub fn demo() -> Self {
        let member = |id: &str, handle: &str, login: &str, kind| SlackPerson {
            id: id.into(),
            handle: handle.into(),
            email: Some(format!("{login}@example.com")),
            email_confirmed: true,
            kind,
        };
        use PersonKind::*;
        Self::new([
            member("U0ANA", "ana", "ana.lopez", Member),
            member("U0BOB", "bob", "bob.smith", Member),
            member("U0CAROL", "carol", "carol.chen", Member),
            member("U0DAN", "dan", "dan.okafor", Deleted),
            member("U0ERIN", "erin", "erin.walsh", Member),
            member("U0FRANK", "frank", "frank.mueller", Member),
            member("U0GRACE", "grace", "grace.kim", Member),
            member("U0HIRO", "hiro", "hiro.tanaka", Member),
            member("U0INES", "ines", "ines.garcia", Member),
            member("U0JAMAL", "jamal", "jamal.reed", Member),
            member("U0KATE", "kate", "kate.nguyen", Member),
            member("U0LEO", "leo", "leo.martin", Member),
            member("U0MARIAR", "maria.rossi", "maria.rossi", Member),
            member("U0MARIAS", "maria.rossini", "maria.rossini", Member),
            // Someone whose Slack email (Ana's) Slack has not confirmed: never mapped.
            SlackPerson {
                email_confirmed: false,
                ..member("U0NEWBIE", "newbie", "ana.lopez", Member)
            },
            member("U0GUEST", "guest", "contractor", Guest),
            SlackPerson {
                id: "U0BOT".into(),
                handle: "deploybot".into(),
                email: None,
                email_confirmed: true,
                kind: Bot,
            },
            // A vendor's engineer in a Slack Connect channel: same email domain tricks or not,
            // never a member here.
            SlackPerson {
                id: "U0PARTNER".into(),
                handle: "partner".into(),
                email: Some("leo.martin@example.com".into()),
                email_confirmed: true,
                kind: External,
            },
        ])
    }

    /// The Slack id whose handle is `handle`, if exactly one person has it.
    pub fn id_for_handle(&self, handle: &str) -> Option<&str> {
        let mut found = self
            .people
            .values()
            .filter(|p| p.handle.eq_ignore_ascii_case(handle));
        match (found.next(), found.next()) {
            (Some(person), None) => Some(&person.id),
            _ => None,
        }
    }

    pub fn people(&self) -> impl Iterator<Item = &SlackPerson> {
        self.people.values()
    }
}

#[async_trait]
impl Directory for StaticDirectory {
    async fn person(&self, slack_id: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        Ok(self.people.get(slack_id).cloned())
    }

    async fn by_email(&self, email: &str) -> Result<Option<SlackPerson>, DirectoryError> {
        let mut matching: Vec<&SlackPerson> = self
            .people
            .values()
            .filter(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .collect();
        matching.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(matching.first().map(|p| (*p).clone()))
    }
}

/// The result of looking a person or group up.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup<T> {
    Found(T),
    /// One candidate that only resembles what was written: ask "Did you mean …?".
    Likely(T),
    /// More than one match; the request must say which.
    Ambiguous(Vec<T>),
    /// No match; the text says what was looked for and how.
    NotFound(String),
    /// A match okta-agent will not use (two Okta users share an email, an unconfirmed Slack
    /// email, a person from another organisation); the text says why.
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// Resolves Slack people and named targets against Okta.
#[derive(Clone)]
pub struct Resolver {
    okta: Arc<OktaClient>,
    directory: Arc<dyn Directory>,
}

/// `<@U123>` or `<@U123|name>` → `U123`.
pub fn parse_mention(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    crate::policy::is_slack_user_id(id).then_some(id)
}

/// A group name as people write it: lower case, single spaces, without a trailing "group" or
/// "team".
pub fn group_key(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    while words.len() > 1 && matches!(words.last(), Some(&("group" | "team" | "grp"))) {
        words.pop();
    }
    words.join(" ")
}

/// Okta user ids: `00u` followed by letters and digits.
pub fn is_okta_user_id(text: &str) -> bool {
    text.len() >= 15 && text.starts_with("00u") && text.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Resolver {
    pub fn new(okta: Arc<OktaClient>, directory: Arc<dyn Directory>) -> Self {
        Self { okta, directory }
    }

    pub fn okta(&self) -> &Arc<OktaClient> {
        &self.okta
    }

    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// The acting person: their kind comes from Slack, their Okta id from their confirmed
    /// Slack email. Someone the directory does not know is treated as a guest (never allowed to
    /// act); nobody but a member is looked up in Okta.
    pub async fn actor(&self, slack_id: &str) -> Result<Actor, ResolveError> {
        let person = self.directory.person(slack_id).await?;
        self.actor_from(slack_id, person).await
    }

    /// [`Resolver::actor`] with what Slack says now (approvals, cancels).
    pub async fn actor_fresh(&self, slack_id: &str) -> Result<Actor, ResolveError> {
        let person = self.directory.fresh(slack_id).await?;
        self.actor_from(slack_id, person).await
    }

    async fn actor_from(
        &self,
        slack_id: &str,
        person: Option<SlackPerson>,
    ) -> Result<Actor, ResolveError> {
        let Some(person) = person else {
            return Ok(Actor {
                slack_id: slack_id.to_string(),
                kind: PersonKind::Guest,
                okta_user_id: None,
                unlinked: Some("Slack does not know this account".into()),
            });
        };
        if person.kind != PersonKind::Member {
            return Ok(Actor {
                slack_id: person.id,
                kind: person.kind,
                okta_user_id: None,
                unlinked: None,
            });
        }
        let (okta_user_id, unlinked) = match self.person_to_okta(&person).await? {
            Lookup::Found(user) => (Some(user.id), None),
            Lookup::Likely(_) => (
                None,
                Some("your Slack email only resembles an Okta user's".into()),
            ),
            Lookup::Ambiguous(users) => (
                None,
                Some(format!("{} Okta users match your Slack email", users.len())),
            ),
            Lookup::NotFound(why) | Lookup::Refused(why) => (None, Some(why)),
        };
        Ok(Actor {
            slack_id: person.id,
            kind: person.kind,
            okta_user_id,
            unlinked,
        })
    }

    /// A Slack person's Okta user, through their email, if Slack vouches for it.
    async fn person_to_okta(&self, person: &SlackPerson) -> Result<Lookup<User>, ResolveError> {
        let handle = &person.handle;
        match person.kind {
            PersonKind::Bot => {
                return Ok(Lookup::Refused(format!(
                    "@{handle} is a bot, not a person with an Okta account"
                )))
            }
            PersonKind::External => {
                return Ok(Lookup::Refused(format!(
                    "@{handle} belongs to another organisation (Slack Connect); okta-agent only acts on this organisation's people"
                )))
            }
            PersonKind::Member | PersonKind::Guest | PersonKind::Deleted => {}
        }
        let Some(email) = &person.email else {
            return Ok(Lookup::NotFound(format!(
                "@{handle}'s Slack profile has no email, so okta-agent cannot match them to Okta; use their Okta login instead"
            )));
        };
        if !person.email_confirmed {
            return Ok(Lookup::Refused(format!(
                "Slack has not confirmed @{handle}'s email, so okta-agent will not match it to an Okta user; use their Okta login instead"
            )));
        }
        self.by_email(email).await
    }

    /// A person named by a Slack mention, an Okta id, an email or login, or a name.
    pub async fn user(&self, text: &str) -> Result<Lookup<User>, ResolveError> {
        let text = text.trim().trim_start_matches('@');
        if let Some(slack_id) = parse_mention(text) {
            let Some(person) = self.directory.person(slack_id).await? else {
                return Ok(Lookup::NotFound(format!("Slack has no user {slack_id}")));
            };
            return self.person_to_okta(&person).await;
        }
        if is_okta_user_id(text) {
            return match self.okta.get_user(text).await {
                Ok(reply) => Ok(Lookup::Found(reply.value)),
                Err(OktaError::NotFound { .. }) => {
                    Ok(Lookup::NotFound(format!("Okta has no user with id {text}")))
                }
                Err(e) => Err(e.into()),
            };
        }
        if text.contains('@') {
            return self.by_email(text).await;
        }
        self.by_name(text).await
    }

    /// The one Okta user whose login or email is `email`. Two different users with it (one's
    /// login, another's email, say) are refused: whoever set the second one could otherwise
    /// borrow the first one's identity.
    async fn by_email(&self, email: &str) -> Result<Lookup<User>, ResolveError> {
        let mut found: Vec<User> = Vec::new();
        match self.okta.get_user(email).await {
            Ok(reply) if reply.value.profile.login.eq_ignore_ascii_case(email) => {
                found.push(reply.value)
            }
            Ok(_) | Err(OktaError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        for user in self.okta.users_with_email(email).await?.value {
            if !found.iter().any(|u| u.id == user.id) {
                found.push(user);
            }
        }
        Ok(match found.len() {
            0 => Lookup::NotFound(format!("no Okta user has the login or email {email}")),
            1 => Lookup::Found(found.remove(0)),
            n => Lookup::Refused(format!(
                "{n} Okta users have the login or email {email} ({}), so okta-agent will not pick one; fix the duplicate in Okta, or name the person by their exact Okta login",
                found.iter().map(|u| u.profile.login.as_str()).collect::<Vec<_>>().join(", ")
            )),
        })
    }

    /// A name: a login's local part, a first or last name, or "first last", written exactly,
    /// and held by one person, is a match; anything looser is a candidate to ask about.
    async fn by_name(&self, text: &str) -> Result<Lookup<User>, ResolveError> {
        let first_word = text.split_whitespace().next().unwrap_or(text);
        let users = self.okta.find_users(first_word).await?.value;
        let wanted = text.to_lowercase();
        let exact: Vec<&User> = users
            .iter()
            .filter(|u| {
                let p = &u.profile;
                let login = p.login.to_lowercase();
                let local = login.split('@').next().unwrap_or(&login).to_string();
                let first = p.first_name.as_deref().unwrap_or_default().to_lowercase();
                let last = p.last_name.as_deref().unwrap_or_default().to_lowercase();
                local == wanted
                    || first == wanted
                    || last == wanted
                    || format!("{first} {last}") == wanted
            })
            .collect();
        Ok(match exact.as_slice() {
            [one] => Lookup::Found((*one).clone()),
            [_, _, ..] => Lookup::Ambiguous(exact.into_iter().cloned().collect()),
            [] => {
                let mut candidates: Vec<User> = users
                    .into_iter()
                    .filter(|u| {
                        text.split_whitespace().count() == 1
                            || u.display_name().to_lowercase().starts_with(&wanted)
                    })
                    .collect();
                match candidates.len() {
                    0 => {
                        Lookup::NotFound(format!("no Okta user's name, login or email is '{text}'"))
                    }
                    1 => Lookup::Likely(candidates.remove(0)),
                    _ => Lookup::Ambiguous(candidates),
                }
            }
        })
    }

    /// An Okta group by name. Only an exact name (case, spacing and a trailing "group" aside)
    /// is a match; a name that several groups start with, a plural ("the engineering groups"),
    /// or a misspelling gives candidates to ask about, never a pick.
    pub async fn group(&self, name: &str, plural: bool) -> Result<Lookup<Group>, ResolveError> {
        // An Okta group id (the form's group field carries one) is that group, or none.
        let trimmed = name.trim();
        if trimmed.starts_with("00g")
            && trimmed.len() >= 15
            && trimmed.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Ok(match self.okta.get_group(trimmed).await {
                Ok(reply) => Lookup::Found(reply.value),
                Err(OktaError::NotFound { .. }) => {
                    Lookup::NotFound(format!("Okta has no group with id {trimmed}"))
                }
                Err(e) => return Err(e.into()),
            });
        }
        let wanted = group_key(name);
        let mut candidates = self.okta.groups_starting(&wanted).await?.value;
        if candidates.is_empty() {
            // A misspelling: groups starting like it, within the edits the engine allows.
            let prefix: String = wanted.chars().take(2).collect();
            if !prefix.is_empty() {
                let by_prefix = self.okta.groups_starting(&prefix).await?.value;
                let limit = crate::fuzzy::allowed_edits(&wanted);
                let close = |a: &str| crate::fuzzy::distance(a, &wanted, limit).is_some();
                candidates = by_prefix
                    .into_iter()
                    .filter(|c| {
                        let key = group_key(c.name());
                        close(&key) || key.split_whitespace().any(close)
                    })
                    .collect();
            }
        }
        let exact: Vec<&Group> = candidates
            .iter()
            .filter(|g| group_key(g.name()) == wanted)
            .collect();
        Ok(match (exact.as_slice(), candidates.len()) {
            (_, 0) => Lookup::NotFound(format!("no Okta group is named '{name}'")),
            ([one], 1) => Lookup::Found((*one).clone()),
            ([one], _) if !plural => Lookup::Found((*one).clone()),
            (_, 1) if !plural => Lookup::Likely(candidates.remove(0)),
            _ => Lookup::Ambiguous(candidates),
        })
    }

    /// What policy needs to know about a group: its admin role assignments, fresh from Okta.
    pub async fn group_facts(&self, group: &GroupRef) -> Result<GroupFacts, ResolveError> {
        let admin_roles = match self.okta.group_roles(&group.id).await {
            Ok(reply) if reply.value.is_empty() => AdminRoles::None,
            Ok(reply) => AdminRoles::Held(reply.value.into_iter().map(|r| r.role_type).collect()),
            Err(e @ (OktaError::MissingScope { .. } | OktaError::NotPermitted { .. })) => {
                AdminRoles::Unknown(e.to_string())
            }
            Err(e) => return Err(e.into()),
        };
        Ok(GroupFacts {
            id: group.id.clone(),
            name: group.name.clone(),
            admin_roles,
        })
    }

    /// What policy needs to know about a target: admin roles and groups, fresh from Okta.
    pub async fn target_facts(
        &self,
        user_id: &str,
        login: &str,
        email: Option<&str>,
    ) -> Result<TargetFacts, ResolveError> {
        let admin_roles = match self.okta.user_roles(user_id).await {
            Ok(reply) if reply.value.is_empty() => AdminRoles::None,
            Ok(reply) => AdminRoles::Held(reply.value.into_iter().map(|r| r.role_type).collect()),
            Err(e @ (OktaError::MissingScope { .. } | OktaError::NotPermitted { .. })) => {
                AdminRoles::Unknown(e.to_string())
            }
            Err(e) => return Err(e.into()),
        };
        let groups = self
            .okta
            .user_groups(user_id)
            .await?
            .value
            .iter()
            .map(|g| GroupRef {
                id: g.id.clone(),
                name: g.name().to_string(),
            })
            .collect();
        Ok(TargetFacts {
            okta_user_id: user_id.to_string(),
            login: login.to_string(),
            email: email.map(str::to_string),
            admin_roles,
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_ids() {
        assert_eq!(parse_mention("<@U0BOB>"), Some("U0BOB"));
        assert_eq!(parse_mention("<@U0BOB|bob>"), Some("U0BOB"));
        assert_eq!(parse_mention("<!channel>"), None);
        assert_eq!(parse_mention("<@bob>"), None);
        assert!(is_okta_user_id("00u1abcdefghijklmnop"));
        assert!(!is_okta_user_id("00g1abcdefghijklmnop"));
        let demo = StaticDirectory::demo();
        assert_eq!(demo.id_for_handle("Bob"), Some("U0BOB"));
        assert_eq!(demo.id_for_handle("maria"), None);
    }
}
