//! Typed calls to the Okta Management API with the retry rules that keep mutations exactly-once.
//!
//! * Every call has a timeout and records `X-Okta-Request-Id` in its span and its result.
//! * `X-Rate-Limit-*` is read on every response; a 429 waits until the reset (measured against
//!   the server's `Date`) and retries, because a 429 was not executed.
//! * Reads also retry on 5xx and timeouts with backoff. A mutation is retried only when it
//!   provably was not applied (429, 401, connection refused); a timeout or 5xx on a mutation
//!   is reported as [`OktaError::OutcomeUnknown`] and never resent.

use std::sync::Arc;

use reqwest::Method;
use url::Url;

use super::error::OktaError;
use super::token::TokenSource;
use super::transport::{decode, ClientOptions, RateLimitStatus, RawResponse, Reply, Transport};
use super::types::{
    AppLink, Factor, Group, GroupType, LogEvent, PasswordReset, PushTransaction, Reactivation,
    RoleAssignment, User, UserStatus,
};
use crate::secret::Secret;

/// Outcome of looking a group up by name.
#[derive(Debug)]
pub enum GroupMatch {
    /// The one group whose name equals the query (case-insensitively).
    Found(Group),
    /// No exact match: these groups' names start with the query (one or more); ask.
    Ambiguous(Vec<Group>),
    NotFound,
}

/// A group named in configuration (an id, or an exact name), as Okta has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedGroup {
    /// Its id.
    Found(String),
    /// It was given as an id (`00g…`) that Okta does not have.
    NoSuchId,
    /// No group is named exactly so (case included).
    NoneNamed,
    /// Several groups are named so: only the id can tell them apart.
    SeveralNamed,
}

/// A client for one Okta org: the typed calls okta-agent makes, over one [`Transport`].
#[derive(Debug)]
pub struct OktaClient {
    transport: Transport,
}

/// Where a System Log poll starts.
#[derive(Clone, Copy, Debug)]
pub enum LogPoll<'a> {
    /// The first poll: events of this type since this time (ISO 8601).
    Since { since: &'a str, event_type: &'a str },
    /// The `next` link the previous poll returned.
    Next(&'a str),
}

impl OktaClient {
    pub fn new(
        org: Url,
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        options: ClientOptions,
    ) -> Self {
        Self {
            transport: Transport::new(org, http, tokens, options),
        }
    }

    pub fn org_url(&self) -> &Url {
        &self.transport.org
    }

    pub fn tokens(&self) -> &TokenSource {
        &self.transport.tokens
    }

    /// The most recent rate-limit headers Okta sent.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.transport.rate_limit()
    }

    fn api(&self, segments: &[&str]) -> Result<Url, OktaError> {
        let mut url = self.transport.org.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| OktaError::Refused("OKTA_ORG_URL cannot be a base URL".into()))?;
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        Ok(url)
    }

    // ----- users -------------------------------------------------------------------------

    /// A user by id, login or unambiguous login shortname.
    pub async fn get_user(&self, id_or_login: &str) -> Result<Reply<User>, OktaError> {
        let url = self.api(&["users", id_or_login])?;
        self.transport.get_json(url).await
    }

    /// Users whose `profile.email` equals `email` (case-insensitive in Okta's `search`).
    pub async fn users_with_email(&self, email: &str) -> Result<Reply<Vec<User>>, OktaError> {
        self.search_users(&format!(
            "profile.email eq \"{}\"",
            escape_search_value(email)
        ))
        .await
    }

    /// Users matching an Okta `search` expression, all pages.
    pub async fn search_users(&self, expression: &str) -> Result<Reply<Vec<User>>, OktaError> {
        let mut url = self.api(&["users"])?;
        url.query_pairs_mut()
            .append_pair("search", expression)
            .append_pair("limit", "200");
        self.transport.get_all(url).await
    }

    /// A page of the System Log for polling (`okta.logs.read`): from `since` (ISO 8601) with
    /// an `eventType eq` filter, or the next page a previous poll linked. Returns the events
    /// and the link to poll next, which Okta sends even when the page is empty. A link that
    /// leads away from the org is not followed (the access token would go with it).
    pub async fn system_log(
        &self,
        from: LogPoll<'_>,
    ) -> Result<(Reply<Vec<LogEvent>>, Option<String>), OktaError> {
        let url = match from {
            LogPoll::Since { since, event_type } => {
                let mut url = self.api(&["logs"])?;
                url.query_pairs_mut()
                    .append_pair("since", since)
                    .append_pair("filter", &format!("eventType eq \"{event_type}\""))
                    .append_pair("limit", "100");
                url
            }
            LogPoll::Next(link) => url::Url::parse(link)
                .map_err(|e| OktaError::Unexpected(format!("bad stored System Log link: {e}")))?,
        };
        let (reply, next) = self.transport.get_page(url).await?;
        Ok((reply, next.map(String::from)))
    }

    /// People whose first name, last name, email or login starts with `text`.
    pub async fn find_users(&self, text: &str) -> Result<Reply<Vec<User>>, OktaError> {
        let v = escape_search_value(text.trim());
        let expr = format!(
            "profile.login sw \"{v}\" or profile.email sw \"{v}\" or profile.firstName sw \"{v}\" or profile.lastName sw \"{v}\""
        );
        self.search_users(&expr).await
    }

    pub async fn user_groups(&self, user_id: &str) -> Result<Reply<Vec<Group>>, OktaError> {
        self.transport
            .get_all(self.api(&["users", user_id, "groups"])?)
            .await
    }

    pub async fn user_app_links(&self, user_id: &str) -> Result<Reply<Vec<AppLink>>, OktaError> {
        self.transport
            .get_all(self.api(&["users", user_id, "appLinks"])?)
            .await
    }

    /// Admin roles held by the user (needs `okta.roles.read`).
    pub async fn user_roles(&self, user_id: &str) -> Result<Reply<Vec<RoleAssignment>>, OktaError> {
        self.transport
            .get_all(self.api(&["users", user_id, "roles"])?)
            .await
    }

    /// Admin roles assigned to a group (`okta.roles.read`): members of such a group are admins.
    pub async fn group_roles(
        &self,
        group_id: &str,
    ) -> Result<Reply<Vec<RoleAssignment>>, OktaError> {
        self.transport
            .get_all(self.api(&["groups", group_id, "roles"])?)
            .await
    }

    pub async fn user_factors(&self, user_id: &str) -> Result<Reply<Vec<Factor>>, OktaError> {
        self.transport
            .get_all(self.api(&["users", user_id, "factors"])?)
            .await
    }

    // ----- groups ------------------------------------------------------------------------

    /// The group configuration names: `00g…` taken as an id (it must exist), anything else as
    /// a name that must equal exactly one group's name. A look-alike never matches.
    pub async fn group_named(&self, given: &str) -> Result<NamedGroup, OktaError> {
        if given.starts_with("00g") && given.chars().all(|c| c.is_ascii_alphanumeric()) {
            return match self.get_group(given).await {
                Ok(group) => Ok(NamedGroup::Found(group.value.id)),
                Err(OktaError::NotFound { .. }) => Ok(NamedGroup::NoSuchId),
                Err(e) => Err(e),
            };
        }
        let candidates = match self.find_group(given).await?.value {
            GroupMatch::Found(group) => vec![group],
            GroupMatch::Ambiguous(groups) => groups,
            GroupMatch::NotFound => Vec::new(),
        };
        let exact: Vec<_> = candidates
            .into_iter()
            .filter(|g| g.name() == given)
            .collect();
        Ok(match exact.as_slice() {
            [group] => NamedGroup::Found(group.id.clone()),
            [] => NamedGroup::NoneNamed,
            _ => NamedGroup::SeveralNamed,
        })
    }

    /// The members of a group, all pages.
    pub async fn group_members(&self, group_id: &str) -> Result<Reply<Vec<User>>, OktaError> {
        let mut url = self.api(&["groups", group_id, "users"])?;
        url.query_pairs_mut().append_pair("limit", "200");
        self.transport.get_all(url).await
    }

    pub async fn get_group(&self, group_id: &str) -> Result<Reply<Group>, OktaError> {
        self.transport
            .get_json(self.api(&["groups", group_id])?)
            .await
    }

    /// Finds a group by name: an exact (case-insensitive) match wins; otherwise one candidate
    /// is taken, and several are returned as ambiguous.
    /// Groups whose names start with `prefix` (Okta's `q` search on groups).
    pub async fn groups_starting(&self, prefix: &str) -> Result<Reply<Vec<Group>>, OktaError> {
        let mut url = self.api(&["groups"])?;
        url.query_pairs_mut().append_pair("q", prefix.trim());
        self.transport.get_all(url).await
    }

    pub async fn find_group(&self, name: &str) -> Result<Reply<GroupMatch>, OktaError> {
        let name = name.trim();
        let reply = self.groups_starting(name).await?;
        let exact: Vec<&Group> = reply
            .value
            .iter()
            .filter(|g| g.name().eq_ignore_ascii_case(name))
            .collect();
        // Only an exact name is a match; a single loose candidate is still only a candidate.
        let found = match (exact.as_slice(), reply.value.len()) {
            ([one], _) => GroupMatch::Found((*one).clone()),
            ([], 0) => GroupMatch::NotFound,
            ([], _) => GroupMatch::Ambiguous(reply.value.clone()),
            (many, _) => GroupMatch::Ambiguous(many.iter().map(|g| (*g).clone()).collect()),
        };
        Ok(Reply {
            value: found,
            request_id: reply.request_id,
        })
    }

    pub async fn add_user_to_group(
        &self,
        group: &Group,
        user_id: &str,
    ) -> Result<Reply<()>, OktaError> {
        Self::ensure_okta_group(group)?;
        let url = self.api(&["groups", &group.id, "users", user_id])?;
        self.transport
            .mutate(Method::PUT, url)
            .await
            .map(Self::discard)
    }

    pub async fn remove_user_from_group(
        &self,
        group: &Group,
        user_id: &str,
    ) -> Result<Reply<()>, OktaError> {
        Self::ensure_okta_group(group)?;
        let url = self.api(&["groups", &group.id, "users", user_id])?;
        self.transport
            .mutate(Method::DELETE, url)
            .await
            .map(Self::discard)
    }

    fn ensure_okta_group(group: &Group) -> Result<(), OktaError> {
        match group.group_type {
            GroupType::OktaGroup => Ok(()),
            GroupType::AppGroup => Err(OktaError::Refused(format!(
                "'{}' is imported from an app or directory (APP_GROUP); change its membership in the source directory, not in Okta",
                group.name()
            ))),
            GroupType::BuiltIn => Err(OktaError::Refused(format!(
                "'{}' is a built-in Okta group whose membership Okta manages itself",
                group.name()
            ))),
            GroupType::Unknown => Err(OktaError::Refused(format!(
                "'{}' is not an Okta-mastered group, so its membership cannot be changed here",
                group.name()
            ))),
        }
    }

    // ----- lifecycle ---------------------------------------------------------------------

    /// Starts a password reset. With `send_email` Okta emails the user; without, the one-time
    /// link comes back as a [`Secret`].
    pub async fn reset_password(
        &self,
        user_id: &str,
        send_email: bool,
    ) -> Result<Reply<PasswordReset>, OktaError> {
        let mut url = self.lifecycle(user_id, "reset_password")?;
        url.query_pairs_mut()
            .append_pair("sendEmail", if send_email { "true" } else { "false" });
        let raw = self.transport.mutate(Method::POST, url).await?;
        if send_email {
            return Ok(Reply {
                value: PasswordReset::Emailed,
                request_id: raw.request_id,
            });
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            reset_password_url: String,
        }
        let body: Body = decode(&raw.body)?;
        Ok(Reply {
            value: PasswordReset::Link(Secret::new(body.reset_password_url)),
            request_id: raw.request_id,
        })
    }

    pub async fn unlock(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "unlock").await
    }

    pub async fn suspend(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "suspend").await
    }

    pub async fn unsuspend(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "unsuspend").await
    }

    /// Deactivates the user (destructive: app assignments are deprovisioned). The admin
    /// notification email is not sent.
    pub async fn deactivate(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        let mut url = self.lifecycle(user_id, "deactivate")?;
        url.query_pairs_mut().append_pair("sendEmail", "false");
        self.transport
            .mutate(Method::POST, url)
            .await
            .map(Self::discard)
    }

    pub async fn reset_factors(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        self.lifecycle_call(user_id, "reset_factors").await
    }

    /// Expires the password; the user must choose a new one at next sign-in.
    pub async fn expire_password(&self, user_id: &str) -> Result<Reply<User>, OktaError> {
        let raw = self
            .transport
            .mutate(Method::POST, self.lifecycle(user_id, "expire_password")?)
            .await?;
        Ok(Reply {
            value: decode(&raw.body)?,
            request_id: raw.request_id,
        })
    }

    /// Ends all of the user's Okta sessions.
    pub async fn clear_sessions(&self, user_id: &str) -> Result<Reply<()>, OktaError> {
        let url = self.api(&["users", user_id, "sessions"])?;
        self.transport
            .mutate(Method::DELETE, url)
            .await
            .map(Self::discard)
    }

    /// DEPROVISIONED → activate; PROVISIONED or RECOVERY → reactivate (resend activation).
    /// Okta emails the user either way, so no activation link is returned.
    pub async fn activate_or_reactivate(
        &self,
        user_id: &str,
    ) -> Result<Reply<Reactivation>, OktaError> {
        let user = self.get_user(user_id).await?.value;
        let (operation, result) = match user.status {
            UserStatus::Deprovisioned | UserStatus::Staged => ("activate", Reactivation::Activated),
            UserStatus::Provisioned | UserStatus::Recovery => ("reactivate", Reactivation::ActivationResent),
            other => {
                return Err(OktaError::WrongStatus {
                    code: "E0000038".into(),
                    summary: format!(
                        "{} is {other}; only deactivated, staged or not-yet-activated users can be reactivated",
                        user.profile.login
                    ),
                    request_id: None,
                })
            }
        };
        let mut url = self.lifecycle(&user.id, operation)?;
        url.query_pairs_mut().append_pair("sendEmail", "true");
        let raw = self.transport.mutate(Method::POST, url).await?;
        Ok(Reply {
            value: result,
            request_id: raw.request_id,
        })
    }

    fn lifecycle(&self, user_id: &str, operation: &str) -> Result<Url, OktaError> {
        self.api(&["users", user_id, "lifecycle", operation])
    }

    /// Sends an Okta Verify push to the person's phone (`factorId` an active push factor), with
    /// number matching: the challenge's number is in the reply, for the person alone.
    pub async fn verify_push(
        &self,
        user_id: &str,
        factor_id: &str,
    ) -> Result<Reply<PushTransaction>, OktaError> {
        let url = self.api(&["users", user_id, "factors", factor_id, "verify"])?;
        let raw = self
            .transport
            .mutate_with(
                Method::POST,
                url,
                &serde_json::json!({"useNumberMatchingChallenge": true}),
            )
            .await?;
        Ok(Reply {
            value: decode(&raw.body)?,
            request_id: raw.request_id,
        })
    }

    /// Where a push stands, from the `poll` link its challenge returned. A link that leads
    /// away from the org is not followed (the access token would go with it).
    pub async fn push_result(&self, poll_link: &str) -> Result<Reply<PushTransaction>, OktaError> {
        let url = url::Url::parse(poll_link)
            .map_err(|e| OktaError::Unexpected(format!("bad push poll link: {e}")))?;
        if url.origin() != self.transport.org.origin() {
            return Err(OktaError::Unexpected(format!(
                "a push poll link pointed away from the org (to {}); it was not followed",
                url.origin().ascii_serialization()
            )));
        }
        self.transport.get_json(url).await
    }

    async fn lifecycle_call(&self, user_id: &str, operation: &str) -> Result<Reply<()>, OktaError> {
        let url = self.lifecycle(user_id, operation)?;
        self.transport
            .mutate(Method::POST, url)
            .await
            .map(Self::discard)
    }

    fn discard(raw: RawResponse) -> Reply<()> {
        Reply {
            value: (),
            request_id: raw.request_id,
        }
    }
}

/// Escapes a value for use inside double quotes in an Okta `search` expression.
pub fn escape_search_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_values_are_escaped() {
        assert_eq!(escape_search_value(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
